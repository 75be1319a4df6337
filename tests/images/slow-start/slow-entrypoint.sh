#!/bin/sh
# Stands in for a heavy start-up step (chown -R of a big home, conda
# activation, data sync) that delays the server.
set -eu
echo "slow-start: sleeping ${SLOW_START_SECONDS}s before $*" >&2
sleep "${SLOW_START_SECONDS}"
exec "$@"
