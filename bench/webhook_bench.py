"""How fast does the webhook service acknowledge a burst, and does it validate each digest
once?

    python bench/webhook_bench.py [--events 500] [--digests 10] [--clients 16]

The real ASGI app runs under uvicorn on a loopback port with a SQLite file store, as
`validate-image-service serve` runs it; only the validator is replaced by a stand-in
that takes --validation-s seconds (a real validation takes 2-60 s and does not touch the
acknowledgement path). --clients threads send --events distribution envelopes, one
manifest push each, spread over --digests digests and as many tags. Reported: the
acknowledgement latency (p50, p95, p99, max) as the sender sees it, the throughput, and
how many validations ran once the queue drained.

Target (issue #7): every event acknowledged 2xx; 10 validations for 10 digests, not 500.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import service as w  # noqa: E402
from tests.support.registry import free_port  # noqa: E402
from validator.service.app import create_app  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--digests", type=int, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--validation-s", type=float, default=0.5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="jhiv-webhook-bench-"))
    config = w.settings(rate=0, concurrency=2)  # one sender address: no rate limit here
    runner = w.FakeRunner(delay_s=args.validation_s)
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
    requests.post(
        f"{base}/api/v1/watches",
        json={"registry": "registry.example.org", "repository": "lab/*", "profile": "z2jh"},
        headers=admin,
        timeout=10,
    ).raise_for_status()
    digests = [w.digest_of(f"bench-image-{i}") for i in range(args.digests)]
    bodies = [
        json.dumps(
            {"events": [w.distribution_event("lab/nb", f"t{i}", digests[i % args.digests])]}
        ).encode()
        for i in range(args.events)
    ]
    headers = {"Authorization": f"Bearer {w.HOOK}", "Content-Type": w.V2}
    local = threading.local()

    def send(body: bytes) -> tuple[float, int]:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        started = time.perf_counter()
        status = session.post(f"{base}/hooks/distribution", data=body, headers=headers,
                              timeout=30).status_code  # fmt: skip
        return time.perf_counter() - started, status

    burst_started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.clients) as pool:
        outcomes = list(pool.map(send, bodies))
    burst_s = time.perf_counter() - burst_started

    deadline = time.monotonic() + 120
    while not app.state.service.worker.idle() and time.monotonic() < deadline:
        time.sleep(0.1)
    drained_s = time.perf_counter() - burst_started
    server.should_exit = True
    thread.join(30)

    latencies_ms = [seconds * 1000 for seconds, _ in outcomes]
    statuses = sorted({status for _, status in outcomes})
    figures = {
        "events": args.events,
        "distinct_digests": args.digests,
        "clients": args.clients,
        "statuses": statuses,
        "ack_p50_ms": round(statistics.median(latencies_ms), 2),
        "ack_p95_ms": round(percentile(latencies_ms, 95), 2),
        "ack_p99_ms": round(percentile(latencies_ms, 99), 2),
        "ack_max_ms": round(max(latencies_ms), 2),
        "burst_s": round(burst_s, 2),
        "events_per_s": round(args.events / burst_s, 1),
        "validations": len(runner.validated),
        "queue_drained_s": round(drained_s, 2),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"{args.events} events, {args.digests} digests, {args.clients} senders: "
            f"HTTP {statuses}\n"
            f"ack latency  p50 {figures['ack_p50_ms']} ms  p95 {figures['ack_p95_ms']} ms  "
            f"p99 {figures['ack_p99_ms']} ms  max {figures['ack_max_ms']} ms\n"
            f"burst        {figures['burst_s']} s ({figures['events_per_s']} events/s)\n"
            f"validations  {figures['validations']} (queue drained after "
            f"{figures['queue_drained_s']} s)"
        )
    ok = statuses == [202] and len(runner.validated) == args.digests
    if not ok:
        print("FAILED: expected only 202 and one validation per digest", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
