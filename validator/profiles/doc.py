"""Render docs/profiles.md from the Profile model and the built-in profiles.

python -m validator.profiles.doc > docs/profiles.md
"""

from __future__ import annotations

import yaml

from validator.profiles import Profile, list_profiles


def render_doc() -> str:
    """docs/profiles.md, from the model and the built-in profiles: it cannot drift."""
    lines = [
        "# Profiles",
        "",
        "A profile describes how the target hub spawns an image. Built-in profiles live in "
        "`validator/profiles/`; `--profile FILE` loads a YAML file of your own, which may "
        "start with `extends: <built-in name>` and override any field. Unknown fields and bad "
        "values are reported together, each naming its field. Command-line flags override "
        "fields: `--hub-version`, `--mount-path`, `--uid`, `--port`, `--timeout` "
        "(http_timeout).",
        "",
        "This file is generated: `python -m validator.profiles.doc > docs/profiles.md`.",
        "",
        "## Fields",
        "",
        "| Field | Default | Meaning |",
        "|---|---|---|",
    ]
    for name, field in Profile.model_fields.items():
        default = (
            "required"
            if field.is_required()
            else f"`{field.get_default(call_default_factory=True)!r}`"
        )
        lines.append(f"| `{name}` | {default} | {field.description or ''} |")
    lines += ["", "## Built-in profiles", ""]
    for profile in list_profiles():
        lines += [f"### `{profile.name}`", "", profile.description, ""]
        lines += ["| Field | Value | Source |", "|---|---|---|"]
        data = profile.model_dump(mode="json", exclude={"name", "description", "sources"})
        for name, value in data.items():
            if name not in profile.model_fields_set:
                continue
            shown = yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
            shown = shown.removesuffix("...").strip().replace("|", "\\|")
            source = profile.sources.get(name, "").replace("|", "\\|")
            lines.append(f"| `{name}` | `{shown}` | {source} |")
        lines += ["", "Fields not listed keep their defaults.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_doc(), end="")
