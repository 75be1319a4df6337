#!/usr/bin/env bash
# Everything the test suite needs, then the suite: Docker engine, root image, the
# referee hub (JupyterHub + DockerSpawner + configurable-http-proxy), the package.
# Extra arguments go to pytest (e.g. -m "not referee", -k kernel). Without any, the
# referee suite runs in a second pytest process beside the rest (JHIV_TEST_SPLIT=0: one).
set -euo pipefail
cd "$(dirname "$0")/.."

export JHIV_ROOT_IMAGE="${JHIV_ROOT_IMAGE:-jhiv/debian-root:bookworm}"
# On this kind of machine a missing engine is a failure, not a reason to skip.
export JHIV_REQUIRE_DOCKER=1

ROOT_IMAGE="$JHIV_ROOT_IMAGE" bash scripts/setup-docker.sh
bash scripts/setup-referee.sh
bash scripts/setup-registry.sh
bash scripts/setup-postgres.sh
python3 -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v -i warning || true

if [ "$#" -gt 0 ] || [ "${JHIV_TEST_SPLIT:-1}" = 0 ]; then
    exec python3 -m pytest -q "$@"
fi

# The referee's cases are nearly all waiting for a real hub's spawns (tests/referee/pool.py);
# beside the rest of the suite they cost little wall time, after it a quarter of the run.
referee_log="$(mktemp)"
python3 -m pytest -q --durations=15 -p no:cacheprovider tests/referee >"$referee_log" 2>&1 &
referee=$!
trap 'kill -INT "$referee" 2>/dev/null || true' INT TERM
rest=0
python3 -m pytest -q --durations=25 --ignore=tests/referee || rest=$?
referee_rc=0
wait "$referee" || referee_rc=$?
printf '\n== tests/referee (run beside the rest) ==\n'
cat "$referee_log"
rm -f "$referee_log"
[ "$rest" -eq 0 ] && [ "$referee_rc" -eq 0 ]
