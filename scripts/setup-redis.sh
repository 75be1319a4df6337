#!/usr/bin/env bash
# What the Celery engine's tests need: Debian's redis-server (the tests start a private
# server of their own on a free loopback port, in a temporary directory; the package's
# own service is neither used nor started here) and the Python side, celery[redis].
# Idempotent.
set -euo pipefail

log() { printf 'setup-redis: %s\n' "$*" >&2; }

if ! command -v redis-server >/dev/null 2>&1; then
    log "installing redis-server"
    while fuser /var/lib/dpkg/lock-frontend >/dev/null 2>&1; do sleep 2; done
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
if ! python3 -c 'import celery, redis' >/dev/null 2>&1; then
    log "installing celery[redis]"
    python3 -m pip install -q --disable-pip-version-check 'celery[redis]>=5.3'
fi
log "ready: $(redis-server --version | cut -d' ' -f1-3), celery $(python3 -c 'import celery; print(celery.__version__)')"
