"""How long does the spawn-time guard hold a spawn when the verdict is already known?

    python bench/guard_bench.py [--spawns 50] [--validation-s 0.5]

The real ASGI app runs under uvicorn on a loopback port with a SQLite file store, as
`validate-image-service serve` runs it, the validator replaced by a stand-in taking
--validation-s seconds. One image is validated once through the API (as the operator or
a webhook would); then the guard (`validator.hubguard`, its real tornado client) is
called --spawns times for that image by as many users, each call a POST and its polls.
Reported: the hook's latency (p50, p95, max) and how many validations ran.

Target (issue #17): a known verdict refuses the spawn "at once": well under a second a
spawn, and one validation in all (every spawn reuses it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import requests
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import service as w  # noqa: E402
from tests.support.registry import free_port  # noqa: E402
from validator.findings import Status  # noqa: E402
from validator.hubguard import Guard, ImageRefused, guard  # noqa: E402
from validator.service.app import create_app  # noqa: E402

IMAGE = "registry.example.org/lab/broken:v1"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


async def spawns(hook: Guard, count: int) -> tuple[list[float], int]:
    latencies, refused = [], 0
    for n in range(count):
        spawner = SimpleNamespace(
            user_options={"image": IMAGE},
            image="",
            user=SimpleNamespace(name=f"user-{n}"),
            log=logging.getLogger("bench"),
        )
        started = time.perf_counter()
        try:
            await hook(spawner)
        except ImageRefused:
            refused += 1
        latencies.append(time.perf_counter() - started)
    return latencies, refused


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spawns", type=int, default=50)
    parser.add_argument("--validation-s", type=float, default=0.5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="jhiv-guard-bench-"))
    config = w.settings(rate=0, concurrency=2)
    runner = w.FakeRunner(delay_s=args.validation_s)
    runner.verdicts[w.digest_of(IMAGE)] = Status.FAIL
    app = create_app(config, w.store(workdir / "service.sqlite3", config), runner)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    while not server.started:
        time.sleep(0.05)
    admin = {"Authorization": f"Bearer {w.ADMIN}"}
    first = requests.post(
        f"{base}/api/v1/validations", json={"image": IMAGE}, headers=admin, timeout=10
    )
    first.raise_for_status()
    while requests.get(f"{base}{first.headers['Location']}", headers=admin, timeout=10).json()[
        "status"
    ] not in ("done", "failed"):
        time.sleep(0.05)

    token = workdir / "token"
    token.write_text(w.ADMIN)
    hook = guard(base, str(token), profile="jupyter4nfdi", budget=15)
    logging.basicConfig(level=logging.WARNING)
    latencies, refused = asyncio.run(spawns(hook, args.spawns))
    server.should_exit = True
    thread.join(10)

    figures = {
        "spawns": args.spawns,
        "refused": refused,
        "validations_run": len(runner.validated),
        "hook_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "hook_p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "hook_max_ms": round(max(latencies) * 1000, 1),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"{refused}/{args.spawns} spawns refused, {len(runner.validated)} validation run; "
            f"hook latency p50 {figures['hook_p50_ms']} ms, p95 {figures['hook_p95_ms']} ms, "
            f"max {figures['hook_max_ms']} ms"
        )
    if refused != args.spawns or len(runner.validated) != 1:
        print("FAILED: expected every spawn refused and one validation", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
