#!/bin/bash
# Build-time only: runs in a builder stage, as the owner of the environment (NB_UID),
# and never reaches a final image.
#
#   env-install.sh pip|conda SPEC...
#
# Installs SPECs into the environment at $ENV_DIR, then leaves in /tmp/env-delta
# only what the install added or changed, plus a list of what it removed
# (.env-removed). The final stage copies the delta over its own environment: a
# copy of the whole environment would store every file of the parent's
# environment a second time.
#
# The build context's _build/ directory brings two optional inputs:
#   ca.pem      extra CA bundle for TLS-intercepting proxies (empty when unused);
#               it stays in the builder stage, which is why installs happen here
#   wheelhouse/ wheels to install from instead of the index (empty when unused)
set -euo pipefail

kind="$1"
shift
here="$(dirname "$0")"
ca="$here/ca.pem"
wheelhouse="$here/wheelhouse"
delta=/tmp/env-delta

listing() { find "$ENV_DIR" -mindepth 1 | LC_ALL=C sort; }

listing >/tmp/env-before
marker="$(mktemp)"

case "$kind" in
pip)
    args=(--no-cache-dir --no-input --disable-pip-version-check --no-warn-script-location)
    if [ -s "$ca" ]; then export PIP_CERT="$ca"; fi
    if [ -n "$(ls -A "$wheelhouse" 2>/dev/null)" ]; then
        # A wheelhouse means the index may be out of reach: use nothing else.
        args+=(--no-index --find-links "$wheelhouse")
    fi
    # The host's pip configuration does not apply inside the image.
    PIP_CONFIG_FILE=/dev/null "$ENV_DIR/bin/python" -m pip install "${args[@]}" "$@"
    ;;
conda)
    if [ -s "$ca" ]; then export MAMBA_SSL_VERIFY="$ca" SSL_CERT_FILE="$ca"; fi
    micromamba install --yes --prefix "$ENV_DIR" --override-channels --channel conda-forge "$@"
    micromamba clean --all --force-pkgs-dirs --yes
    ;;
*)
    echo "env-install.sh: unknown environment kind '$kind' (expected pip or conda)" >&2
    exit 2
    ;;
esac

mkdir -p "$delta"
cd "$ENV_DIR"
# ctime, not mtime: installers may give files the timestamp from the archive.
{
    find . \( -type f -o -type l \) -cnewer "$marker" -print0
    find . -type d -empty -cnewer "$marker" -print0
} | tar --null --no-recursion --files-from - --create --file - | tar --extract --file - --directory "$delta"
listing | LC_ALL=C comm -23 /tmp/env-before - >"$delta/.env-removed"
# Group-writable like the rest of the environment (see fix-permissions).
chmod -R g+rwX "$delta"
find "$delta" -type d -exec chmod g+s {} +
echo "env-install.sh: $(find "$delta" -type f | wc -l) files added or changed, $(wc -l <"$delta/.env-removed") removed" >&2
