#!/usr/bin/env bash
# What the hub page's browser tests need: Debian's Chromium and its chromedriver
# (/usr/bin/chromium, /usr/bin/chromedriver), and Selenium to drive them. Nothing here
# downloads a browser: the tests give Selenium the driver's path, so its manager never
# runs. Idempotent.
set -euo pipefail

log() { printf 'setup-browser: %s\n' "$*" >&2; }

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
if [ "${#need_apt[@]}" -gt 0 ]; then
    log "installing ${need_apt[*]}"
    # Another apt (a setup script of a parallel job) may hold the lock: wait for it.
    while fuser /var/lib/dpkg/lock-frontend >/dev/null 2>&1; do sleep 2; done
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! python3 -c 'import selenium' 2>/dev/null; then
    log "installing selenium"
    python3 -m pip install -q --disable-pip-version-check 'selenium>=4.15'
fi
log "ready: $(/usr/bin/chromium --version 2>/dev/null | head -1), $(/usr/bin/chromedriver --version | head -1)"
