"""What make-compatible prints: the inspection, the remedies, the Dockerfile, and the
before/after table; and the JSON document. Pure: an Outcome in, text out."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from validator.compat.inspect import summary
from validator.compat.make import Outcome
from validator.findings import Report, Status
from validator.report.json import report_to_dict

# When a check ran under several command modes, the worst status is the one shown.
_RANK = {Status.ERROR: 4, Status.FAIL: 3, Status.WARN: 2, Status.PASS: 1, Status.SKIP: 0}


def statuses(report: Report) -> dict[str, Status]:
    out: dict[str, Status] = {}
    for f in report.findings:
        if f.check_id not in out or _RANK[f.status] > _RANK[out[f.check_id]]:
            out[f.check_id] = f.status
    return out


def table(before: Report, after: Report | None) -> list[str]:
    """One row per check: its status on the original image and on the made one."""
    old = statuses(before)
    new = statuses(after) if after is not None else {}
    ids = list(old) + [i for i in new if i not in old]
    width = max((len(i) for i in ids), default=5)
    lines = [f"{'check':<{width}}  {'before':<7} after", f"{'-' * width}  {'-' * 7} -----"]
    for check_id in ids:
        b = old.get(check_id)
        a = new.get(check_id)
        lines.append(f"{check_id:<{width}}  {b.value if b else '-':<7} {a.value if a else '-'}")
    return lines


def render_text(outcome: Outcome) -> str:
    before = outcome.before
    if outcome.already_passes:
        return (
            f"{before.reference} already passes {before.profile} "
            f"(hub {before.hub_version}): nothing to change, no image built.\n"
        )
    out: list[str] = []
    if outcome.inspection is not None:
        out += ["Found:", *(f"  {line}" for line in summary(outcome.inspection)), ""]
    made = outcome.plan
    if made is not None and made.chosen:
        out.append("Remedies:")
        for c in made.chosen:
            why = f"fixes {', '.join(c.answers)}" if c.answers else f"needed by {c.implied_by}"
            out.append(f"  {c.remedy.id}: {c.remedy.summary} ({why})")
        out.append("")
    if made is not None and made.unfixable:
        out.append("Cannot be made to pass:")
        out += [f"  {check}: {why}" for check, why in made.unfixable]
        out.append("")
    if made is not None and made.dockerfile:
        out += ["Dockerfile:", *(f"  {line}" for line in made.dockerfile.splitlines()), ""]
    if outcome.written is not None:
        out.append(f"Wrote the build context to {outcome.written} (not built).")
        return "\n".join(out) + "\n"
    if outcome.tag:
        out.append(f"Built {outcome.tag} in {outcome.build_s:.0f} s ({outcome.rounds} round(s)).")
    out += [
        "",
        f"Checks ({before.profile}, hub {before.hub_version}):",
        *table(before, outcome.after),
    ]
    warned = [] if outcome.after is None else outcome.after.by_status(Status.WARN)
    if warned:
        out += ["", "Warnings on the made image:"]
        out += [f"  {f.check_id}: {f.message}" for f in warned]
    failing = outcome.still_failing()
    if failing:
        out.append("")
        out.append("Still failing after the remedies:")
        out += [f"  {f.check_id}: {f.message}" for f in failing]
    elif outcome.after is not None:
        out += ["", f"{outcome.tag} passes {before.profile}."]
    return "\n".join(out) + "\n"


def to_dict(outcome: Outcome) -> dict[str, Any]:
    made = outcome.plan
    return {
        "reference": outcome.before.reference,
        "already_passes": outcome.already_passes,
        "exit_code": outcome.exit_code,
        "inspection": asdict(outcome.inspection) if outcome.inspection else None,
        "remedies": [
            {
                "id": c.remedy.id,
                "summary": c.remedy.summary,
                "fixes": list(c.answers),
                "implied_by": c.implied_by,
            }
            for c in (made.chosen if made else ())
        ],
        "unfixable": [{"check": c, "reason": r} for c, r in (made.unfixable if made else ())],
        "dockerfile": made.dockerfile if made else None,
        "tag": outcome.tag,
        "build_s": round(outcome.build_s, 1),
        "before": report_to_dict(outcome.before),
        "after": report_to_dict(outcome.after) if outcome.after else None,
    }


def render_json(outcome: Outcome) -> str:
    return json.dumps(to_dict(outcome), indent=2, default=sorted) + "\n"
