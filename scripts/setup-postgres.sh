#!/usr/bin/env bash
# What the webhook store's PostgreSQL tests need: Debian's server binaries (initdb,
# pg_ctl, pg_dump under /usr/lib/postgresql/*/bin) and runuser, because initdb refuses
# to run as root. The tests start a private cluster of their own on loopback; the
# package's own cluster and service are not used (and not started here).
# Idempotent.
set -euo pipefail

log() { printf 'setup-postgres: %s\n' "$*" >&2; }

find_initdb() { compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -1 || true; }

need_apt=()
[ -n "$(find_initdb)" ] || need_apt+=(postgresql)
command -v runuser >/dev/null 2>&1 || need_apt+=(util-linux)
if [ "${#need_apt[@]}" -gt 0 ]; then
    log "installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
initdb="$(find_initdb)"
[ -n "$initdb" ] || { log "no initdb after installing postgresql"; exit 1; }
log "ready: $("$initdb" --version), $(command -v runuser)"
