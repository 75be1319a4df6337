#!/usr/bin/env bash
# Everything the test suite needs, then the suite: Docker engine, root image, the
# referee hub (JupyterHub + DockerSpawner + configurable-http-proxy), Chromium for the
# hub page's browser tests, the package.
# Extra arguments go to pytest (e.g. -m "not referee", -k kernel).
set -euo pipefail
cd "$(dirname "$0")/.."

export JHIV_ROOT_IMAGE="${JHIV_ROOT_IMAGE:-jhiv/debian-root:bookworm}"
# On this kind of machine a missing engine is a failure, not a reason to skip.
export JHIV_REQUIRE_DOCKER=1

ROOT_IMAGE="$JHIV_ROOT_IMAGE" bash scripts/setup-docker.sh
bash scripts/setup-referee.sh
bash scripts/setup-registry.sh
bash scripts/setup-postgres.sh
bash scripts/setup-redis.sh
bash scripts/setup-browser.sh
python3 -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v -i warning || true

# Selenium brings trio, whose "hypothesis" entry point does not load with every
# hypothesis release; the suite registers no strategies through plugins.
export HYPOTHESIS_NO_PLUGINS=1
python3 -m pytest -q --durations=25 "$@"
