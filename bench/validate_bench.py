"""How fast is a validation, against the raw limit and against a real hub?

    python bench/validate_bench.py [--runs 3] [--no-hub]

All figures come from one run on one machine, so the ratios compare like with like:

- full:    `validate-image IMAGE --profile dockerspawner` (every probe), wall clock;
- full0:   the same with `--stable-window 0`: the probes without the stability window;
- raw:     the least any check can cost: `docker run` the image with the hub's environment
           beside a stub hub, poll {prefix}api until 200, remove it;
- hub:     a real JupyterHub 5.4.6 + DockerSpawner: spawn request to "ready";
- nohub:   `validate-image` on an image without jupyterhub (Debian, no Python);
- parallel: 8 images with --parallel 4 against the same 8 one after another, both with
           `--stable-window 0` so the window's fixed wait does not hide the overlap.

Targets (issues #3, #13): full0 <= 1.3x raw, full < hub, nohub <= 2 s,
parallel <= 0.5x serial.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import docker
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import images as test_images  # noqa: E402
from validator.profiles import load_profile  # noqa: E402
from validator.runtime.hubstub import StubHub  # noqa: E402
from validator.runtime.spawn import hub_environment  # noqa: E402

EIGHT = [
    "good",
    "good-entrypoint",
    "port-hardcoded",
    "buggy-singleuser",
    "no-ipykernel",
    "root-no-allow",
    "home-not-writable",
    "hub-only",
]


def cli(*args: str) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "validator", *args], capture_output=True, check=False)
    return time.monotonic() - started


def raw_limit(client: docker.DockerClient, image: str) -> float:
    profile = load_profile("dockerspawner")
    network = client.networks.create(f"jhiv-bench-{secrets.token_hex(4)}", internal=True)
    try:
        network.reload()
        gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
        token = secrets.token_hex(16)
        with StubHub(profile.hub_version, profile.user_name, "", token, bind_host=gateway) as hub:
            env = hub_environment(profile, hub, token=token)
            started = time.monotonic()
            container = client.containers.run(
                image, detach=True, environment=env, network=network.name
            )
            try:
                container.reload()
                ip = container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
                url = f"http://{ip}:{profile.port}{profile.service_prefix}api"
                while True:
                    try:
                        if requests.get(url, timeout=(0.5, 5)).status_code == 200:
                            break
                    except requests.RequestException:
                        pass
                    time.sleep(0.05)
                elapsed = time.monotonic() - started
            finally:
                container.remove(force=True)
            return elapsed
    finally:
        network.remove()


def hub_spawns(image: str, runs: int) -> tuple[float, float]:
    """Median spawn-to-ready, and median spawn + probe (API, kernel) + stop, on a real hub."""
    from tests.referee.hub import RealHub

    ready, total = [], []
    with RealHub() as hub:
        for _ in range(runs):
            outcome = hub.spawn_outcome(image, "bench")
            if outcome.seconds_to_ready is None:
                raise SystemExit(f"the real hub could not spawn {image}: {outcome.failure}")
            ready.append(outcome.seconds_to_ready)
            total.append(outcome.seconds_total)
    return statistics.median(ready), statistics.median(total)


def median(fn: Callable[[], float], runs: int) -> float:
    return statistics.median(fn() for _ in range(runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-hub", action="store_true", help="skip the real-hub figure")
    args = parser.parse_args()
    client = docker.from_env()
    tags = test_images.build(
        client,
        [*EIGHT, "plain"],
        root_image=test_images.default_root_image(),
        ca_bundle=test_images.default_ca_bundle(),
    )
    good = tags["good"]
    cli(good, "--profile", "dockerspawner")  # warm the page cache and the engine

    full = median(lambda: cli(good, "--profile", "dockerspawner"), args.runs)
    full0 = median(
        lambda: cli(good, "--profile", "dockerspawner", "--stable-window", "0"), args.runs
    )
    raw = median(lambda: raw_limit(client, good), args.runs)
    nohub = median(lambda: cli(tags["plain"], "--profile", "dockerspawner"), args.runs)
    images = [tags[n] for n in EIGHT]
    window0 = ("--profile", "dockerspawner", "--stable-window", "0")
    serial = cli(*images, *window0, "--parallel", "1")
    parallel = cli(*images, *window0, "--parallel", "4")

    print(f"{'measure':<44}{'seconds':>9}")
    print(f"{'full validation (dockerspawner, all probes)':<44}{full:>9.2f}")
    print(f"{'full validation, --stable-window 0':<44}{full0:>9.2f}")
    print(f"{'raw limit (docker run + poll api until 200)':<44}{raw:>9.2f}")
    if not args.no_hub:
        hub, hub_total = hub_spawns(good, args.runs)
        print(f"{'real hub spawn-to-ready':<44}{hub:>9.2f}")
        print(f"{'real hub spawn + API + kernel + stop':<44}{hub_total:>9.2f}")
    print(f"{'image without jupyterhub':<44}{nohub:>9.2f}")
    print(f"{'8 images serial (--stable-window 0)':<44}{serial:>9.2f}")
    print(f"{'8 images --parallel 4 (--stable-window 0)':<44}{parallel:>9.2f}")
    print()
    print(f"full / raw      = {full / raw:5.2f}   (with the stability window)")
    print(f"full0 / raw     = {full0 / raw:5.2f}   (target <= 1.3; --stable-window 0)")
    if not args.no_hub:
        print(f"full / hub      = {full / hub:5.2f}   (target < 1; spawn-to-ready only)")
        print(f"full / hub all  = {full / hub_total:5.2f}   (spawn, probe and stop on the hub)")
    print(f"nohub           = {nohub:5.2f} s (target <= 2)")
    print(f"parallel/serial = {parallel / serial:5.2f}   (target <= 0.5)")
    print(f"speed-up        = {serial / parallel:5.2f}x  (--parallel 4 over 8 images)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
