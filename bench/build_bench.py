"""Benchmark of the image pipeline: build time (cold and no-change) and image sizes.

    python bench/build_bench.py                       # base for hub 5.4.6, twice
    python bench/build_bench.py --cold                # first run without the layer cache
    python bench/build_bench.py minimal scientific --hub 5.4.6 --hub 6.1.1

The first run builds what is asked (from the layer cache unless --cold); the second,
with nothing changed, measures what a no-change rebuild costs: lint, cache hits,
validation and manifests. The size table compares every image built against
docker-stacks' base-notebook, 828 MB since docker-stacks #2172 (jupyterhub-singleuser
instead of the full hub, no nodejs). Markdown goes to stdout, JSON to --json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import docker

from validator.images.engine import BuildInputs
from validator.images.paths import default_dir
from validator.images.pipeline import Config, Outcome, Pipeline, TargetResult
from validator.images.render import RenderSettings

DOCKER_STACKS_BASE_NOTEBOOK_MB = 828


@dataclass(frozen=True)
class Run:
    label: str
    seconds: float
    build_seconds: float
    validate_seconds: float
    results: list[TargetResult]


def _say(message: str) -> None:
    if not message.startswith("  "):  # step lines of the build stay quiet
        print(message, file=sys.stderr, flush=True)


def run_once(config: Config, names: list[str], label: str) -> Run:
    client = docker.from_env()
    try:
        started = time.monotonic()
        results = Pipeline(config, client, _say).run(names)
        seconds = time.monotonic() - started
    finally:
        client.close()
    failed = [r.target.key for r in results if r.outcome is not Outcome.PASSED]
    if failed:
        raise SystemExit(f"build_bench: {label}: failed images {failed}")
    return Run(
        label,
        round(seconds, 1),
        round(sum(r.build_seconds for r in results), 1),
        round(sum(r.validate_seconds for r in results), 1),
        results,
    )


def size_table(results: list[TargetResult]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for r in results:
        mb = round(r.size_bytes / 1e6)
        rows.append(
            {
                "image": r.references[0] if r.references else r.target.key,
                "size_mb": mb,
                "vs_base_notebook": f"{mb / DOCKER_STACKS_BASE_NOTEBOOK_MB:.0%}",
            }
        )
    rows.append(
        {
            "image": "quay.io/jupyter/base-notebook (docker-stacks, after #2172)",
            "size_mb": DOCKER_STACKS_BASE_NOTEBOOK_MB,
            "vs_base_notebook": "100%",
        }
    )
    return rows


def markdown(runs: list[Run], rows: list[dict[str, object]]) -> str:
    lines = ["| Run | Total | Build steps | Validation |", "|---|---:|---:|---:|"]
    lines += [
        f"| {r.label} | {r.seconds} s | {r.build_seconds} s | {r.validate_seconds} s |"
        for r in runs
    ]
    lines += ["", "| Image | Size | vs. base-notebook |", "|---|---:|---:|"]
    lines += [
        f"| {row['image']} | {row['size_mb']} MB | {row['vs_base_notebook']} |" for row in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", default=["base"])
    parser.add_argument("--hub", action="append", default=[], help="default: 5.4.6")
    parser.add_argument("--root-image", default="jhiv/debian-root:bookworm")
    parser.add_argument("--ca-cert", type=Path, default=Path("/etc/ssl/certs/ca-certificates.crt"))
    parser.add_argument("--out", type=Path, default=Path("build/bench"))
    parser.add_argument("--cold", action="store_true", help="first run without the cache")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    def config(no_cache: bool) -> Config:
        return Config(
            templates=default_dir("templates"),
            catalogue=default_dir("base-images"),
            out=args.out,
            settings=RenderSettings(root_image=args.root_image),
            inputs=BuildInputs(
                ca_cert=args.ca_cert if args.ca_cert.is_file() else None, no_cache=no_cache
            ),
            hubs=tuple(args.hub or ["5.4.6"]),
            repository_prefix="jhiv-bench",
            hadolint_config=default_dir(".hadolint.yaml"),
        )

    first = run_once(config(args.cold), args.images, "cold build" if args.cold else "first build")
    second = run_once(config(False), args.images, "no-change rebuild")
    rows = size_table(second.results)
    print(markdown([first, second], rows))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "runs": [{k: v for k, v in vars(r).items() if k != "results"} for r in (first, second)],
            "sizes": rows,
        }
        args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
