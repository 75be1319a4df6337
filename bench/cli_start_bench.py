"""CLI start-up: median wall time of ``validate-image --version``/``--help`` (issue #13).

Compared in the same run with an interpreter that does nothing (the floor) and with one
that imports the libraries a validation needs (what every command paid before the
imports became lazy). Run from the checkout: ``python3 bench/cli_start_bench.py [--before /work/main]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.25

CASES: dict[str, list[str]] = {
    "python3 -c pass (floor)": ["-c", "pass"],
    "import docker, requests, pydantic, testcontainers": [
        "-c",
        "import docker, requests, pydantic, testcontainers.core.container",
    ],
    "validate-image --version": ["-m", "validator", "--version"],
    "validate-image --help": ["-m", "validator", "--help"],
    "build-images --help": ["-m", "validator.images.cli", "--help"],
    "validate-image-service --help": ["-m", "validator.service.cli", "--help"],
}


def _wall(args: list[str], root: Path = ROOT) -> float:
    env = {**os.environ, "PYTHONPATH": str(root)}
    start = time.perf_counter()
    # cwd too: ``-m`` puts the working directory first on sys.path.
    subprocess.run([sys.executable, *args], env=env, cwd=root, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--before", type=Path, help="Another checkout (e.g. main) to time --version from too."
    )
    opts = parser.parse_args()
    runs = opts.runs
    cases = {name: (args, ROOT) for name, args in CASES.items()}
    if opts.before is not None:
        cases[f"validate-image --version from {opts.before}"] = (
            ["-m", "validator", "--version"],
            opts.before.resolve(),
        )
    # Interleaved so a busy neighbour on the shared machine slows every case alike.
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, (args, root) in cases.items():
            samples[name].append(_wall(args, root))
    floor = statistics.median(samples["python3 -c pass (floor)"])
    print(f"CLI start-up, median of {runs} (wall seconds; ratio to the bare interpreter)")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"  {name:<52} {median:6.3f} s  {median / floor:5.1f}x")
    version = statistics.median(samples["validate-image --version"])
    verdict = "met" if version <= TARGET else "NOT met"
    print(f"  target --version <= {TARGET} s: {verdict}")


if __name__ == "__main__":
    main()
