#!/usr/bin/env bash
# What the private-registry tests need: CNCF distribution (Debian's docker-registry,
# started by the tests themselves on loopback), htpasswd for its bcrypt logins and
# openssl for the test CA.
# Idempotent. The Debian package's own service is not used (and not started here).
set -euo pipefail

log() { printf 'setup: %s\n' "$*" >&2; }

need_apt=()
command -v docker-registry >/dev/null 2>&1 || need_apt+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || need_apt+=(apache2-utils)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
if [ "${#need_apt[@]}" -gt 0 ]; then
    log "installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
log "ready: $(docker-registry --version 2>/dev/null | head -1), $(command -v htpasswd)"
