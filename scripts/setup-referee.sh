#!/usr/bin/env bash
# Install the "referee": a real JupyterHub + DockerSpawner + configurable-http-proxy,
# kept apart from the project's own environment, so tests/referee/ can ask a real
# hub whether it can spawn an image and compare that with the validator's verdict.
#
#   REFEREE_VENV        where to install (default: /opt/jhiv-referee)
#   REFEREE_HUB_VERSION hub release to match (default: 5.4.6, the profiles' hub_version)
#   REFEREE_PYTHON      interpreter for the venv (default: python3)
#
# Layout afterwards:
#   $REFEREE_VENV/bin/jupyterhub
#   $REFEREE_VENV/node/bin/configurable-http-proxy
#   $REFEREE_VENV/versions.txt     what was installed, one "name version" a line
#
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail

REFEREE_VENV="${REFEREE_VENV:-/opt/jhiv-referee}"
HUB_VERSION="${REFEREE_HUB_VERSION:-5.4.6}"
PYTHON="${REFEREE_PYTHON:-python3}"
NODE_PREFIX="$REFEREE_VENV/node"
CHP="$NODE_PREFIX/bin/configurable-http-proxy"

log() { printf 'setup-referee: %s\n' "$*" >&2; }

installed_version() {
    "$REFEREE_VENV/bin/python" - "$1" <<'EOF' 2>/dev/null || true
import sys
from importlib.metadata import PackageNotFoundError, version
try:
    print(version(sys.argv[1]))
except PackageNotFoundError:
    pass
EOF
}

# pip's own chatter (and this machine's index warnings) would drown the one line
# per step; keep it in a file and show it only when the step fails.
pip_install() {
    local out
    out="$(mktemp)"
    if "$REFEREE_VENV/bin/pip" install --quiet "$@" >"$out" 2>&1; then
        rm -f "$out"
        return 0
    fi
    grep -v "^WARNING: Location 'file:" "$out" >&2 || true
    rm -f "$out"
    return 1
}

for tool in "$PYTHON" node npm docker; do
    command -v "$tool" >/dev/null 2>&1 || { log "missing $tool on PATH; install it first"; exit 1; }
done

if [ -x "$REFEREE_VENV/bin/python" ]; then
    log "venv $REFEREE_VENV already there"
else
    log "creating venv $REFEREE_VENV"
    "$PYTHON" -m venv "$REFEREE_VENV"
fi

hub="$(installed_version jupyterhub)"
if [ "$hub" = "$HUB_VERSION" ]; then
    log "jupyterhub $hub already installed"
else
    # The exact release keeps the referee's version header equal to the profiles';
    # if PyPI ever lacks it, the newest release of the same minor series is the
    # closest stand-in (the singleuser contract only changes across majors).
    log "installing jupyterhub==$HUB_VERSION"
    if ! pip_install "jupyterhub==$HUB_VERSION" 2>/dev/null; then
        log "jupyterhub==$HUB_VERSION not on the index; installing the newest jupyterhub==${HUB_VERSION%.*}.*"
        pip_install "jupyterhub==${HUB_VERSION%.*}.*"
    fi
fi

spawner="$(installed_version dockerspawner)"
if [ -n "$spawner" ]; then
    log "dockerspawner $spawner already installed"
else
    log "installing dockerspawner"
    pip_install dockerspawner
fi

if [ -x "$CHP" ]; then
    log "configurable-http-proxy already at $CHP"
else
    log "installing configurable-http-proxy into $NODE_PREFIX"
    npm install --global --silent --no-fund --no-audit --prefix "$NODE_PREFIX" \
        configurable-http-proxy >/dev/null
fi

chp_version="$("$CHP" --version)"
{
    printf 'jupyterhub %s\n' "$(installed_version jupyterhub)"
    printf 'dockerspawner %s\n' "$(installed_version dockerspawner)"
    printf 'configurable-http-proxy %s\n' "$chp_version"
} >"$REFEREE_VENV/versions.txt"
log "ready: $(paste -sd ',' "$REFEREE_VENV/versions.txt" | sed 's/,/, /g')"
