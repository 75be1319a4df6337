"""What does each execution engine cost per job, and how fast does it drain a burst?

    python bench/engine_bench.py [--jobs 200] [--concurrency 2] [--modes local,celery-1,celery-2]

Orchestration only, stated plainly: every job is a real on-demand request
(``POST /api/v1/validations``) through the real service, store and engine, for a distinct
image on a registry that refuses the connection (``127.0.0.1:1/bench/img<i>:v1``), so
the validator's real code fails the job at its first step, in milliseconds, without
Docker. What is left is the engine's own cost: store writes, publishing, Redis, the
worker's claim, lease and result. The store is a private PostgreSQL cluster (the
production database, Debian's server binaries, scripts/setup-postgres.sh); the broker a
private ``redis-server`` (scripts/setup-redis.sh).

Modes: ``local`` (``serve`` without a broker: its threads, ``JHIV_SERVICE_CONCURRENCY``),
``celery-1`` and ``celery-2`` (``serve`` with a broker and one or two
``validate-image-service worker`` processes, each of ``--concurrency`` pool processes,
on this host). Reported per mode: jobs per second from the first request stored to the
last result written, and time in queue (stored -> claimed) p50 and p99.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import service as w  # noqa: E402
from tests.support.celery_cluster import RedisServer, WorkerProcess  # noqa: E402
from tests.support.registry import free_port  # noqa: E402
from tests.support.service_process import ServiceProcess  # noqa: E402
from tests.support.stores import Cluster, _pg_bin  # noqa: E402
from validator.service.secretbox import generate_key  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def postgres(workdir: Path) -> Cluster:
    pg_bin = _pg_bin()
    if pg_bin is None:
        raise SystemExit("PostgreSQL is missing: run scripts/setup-postgres.sh")
    root = Path(tempfile.mkdtemp(prefix="jhiv-engine-bench-pg-"))
    cluster = Cluster(pg_bin, root, free_port(), secrets.token_urlsafe(18), os.geteuid() == 0)
    cluster._own(root)
    cluster.init()
    cluster.start()
    return cluster


def run_mode(
    mode: str, jobs: int, concurrency: int, cluster: Cluster, workdir: Path
) -> dict[str, Any]:
    url = cluster.url(cluster.create_database())
    env = {
        "JHIV_SERVICE_ADMIN_TOKEN": w.ADMIN,
        "JHIV_SERVICE_SECRET_KEYS": generate_key(),
        "JHIV_SERVICE_DATABASE_URL": url,
        "JHIV_SERVICE_RATE": "0",
        "JHIV_SERVICE_CONCURRENCY": str(concurrency),
        "JHIV_SERVICE_WORKER_CONCURRENCY": str(concurrency),
    }
    redis: RedisServer | None = None
    workers: list[WorkerProcess] = []
    n_workers = int(mode.split("-")[1]) if mode.startswith("celery-") else 0
    if n_workers:
        redis = RedisServer(workdir / mode / "redis").start()
        env["JHIV_SERVICE_BROKER_URL"] = redis.url
    service = ServiceProcess(workdir / mode, env)
    try:
        service.start()
        workers = [WorkerProcess(workdir / mode, f"w{i}", env).start() for i in range(n_workers)]
        if n_workers:
            w.wait_for(
                lambda: (
                    sum(
                        x.get("live", False)
                        for x in requests.get(service.url + "/healthz", timeout=5).json()["workers"]
                    )
                    == n_workers
                ),
                timeout=60,
                what="the workers",
            )

        def post(i: int) -> int:
            answer = requests.post(
                service.url + "/api/v1/validations",
                json={"image": f"127.0.0.1:1/bench/img{i}:v1"},
                headers=w.admin_headers(),
                timeout=30,
            )
            return answer.status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(post, range(jobs)))
        assert codes == [202] * jobs, sorted(set(codes))
        db = create_engine(url)

        def finished() -> bool:
            with db.connect() as conn:
                left = conn.execute(
                    text("SELECT count(*) FROM requests WHERE status IN ('queued', 'running')")
                ).scalar_one()
            return int(left) == 0

        w.wait_for(finished, timeout=600, what="every job")
        with db.connect() as conn:
            rows = list(
                conn.execute(text("SELECT created_at, started_at, finished_at FROM requests"))
            )
        db.dispose()
    finally:
        for proc in workers:
            proc.stop()
        service.stop()
        problems = [
            line
            for log in (service.log, *(p.log for p in workers))
            if log.exists()
            for line in log.read_text(errors="replace").splitlines()
            if " ERROR " in line or (" WARNING " in line and "On-demand validation" not in line)
        ]
        if redis is not None:
            redis.stop()
    waits = [(r.started_at - r.created_at).total_seconds() for r in rows]
    span = (max(r.finished_at for r in rows) - min(r.created_at for r in rows)).total_seconds()
    return {
        "mode": mode,
        "jobs": len(rows),
        "concurrency_per_worker": concurrency,
        "jobs_per_s": round(len(rows) / span, 1) if span > 0 else None,
        "drain_s": round(span, 2),
        "queue_p50_s": round(statistics.median(waits), 3),
        "queue_p99_s": round(percentile(waits, 99), 3),
        "queue_max_s": round(max(waits), 3),
        "problems": problems[:20],
        "run_max_s": round(max((r.finished_at - r.started_at).total_seconds() for r in rows), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--modes", default="local,celery-1,celery-2")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="jhiv-engine-bench-"))
    cluster = postgres(workdir)
    results = []
    try:
        for mode in args.modes.split(","):
            results.append(run_mode(mode, args.jobs, args.concurrency, cluster, workdir))
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(
        f"{'mode':<10} {'jobs':>5} {'jobs/s':>8} {'drain s':>8} {'queue p50 s':>12} "
        f"{'p99 s':>8} {'max s':>8} {'run max s':>10}"
    )
    for r in results:
        print(
            f"{r['mode']:<10} {r['jobs']:>5} {r['jobs_per_s']!s:>8} {r['drain_s']:>8} "
            f"{r['queue_p50_s']:>12} {r['queue_p99_s']:>8} {r['queue_max_s']:>8} {r['run_max_s']:>10}"
        )
    for r in results:
        for line in r["problems"]:
            print(f"  {r['mode']}: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
