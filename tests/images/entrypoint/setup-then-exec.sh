#!/bin/sh
# Start-up work a real image might do, written so it cannot stop the server
# from starting (an unknown uid may have HOME=/ or a read-only home).
set -eu
umask 0002
mkdir -p "${HOME:-/tmp}/work" 2>/dev/null || true
echo "entrypoint: starting $* as uid $(id -u)" >&2
exec "$@"
