#!/usr/bin/env bash
# Make this machine ready for the validator and its tests: a running Docker
# engine and a local root image (no registry can be reached here, so the root
# image is built with debootstrap and imported).
#
#   ROOT_IMAGE   name of the root image to create (default: jhiv/debian-root:bookworm)
#
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail

ROOT_IMAGE="${ROOT_IMAGE:-jhiv/debian-root:bookworm}"
SUITE="${DEBIAN_SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

log() { printf 'setup: %s\n' "$*" >&2; }

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
if [ "${#need_apt[@]}" -gt 0 ]; then
    log "installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    nohup dockerd >/var/log/dockerd.log 2>&1 &
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/dockerd.log"; exit 1; }
fi

if ! docker image inspect "$ROOT_IMAGE" >/dev/null 2>&1; then
    log "building root image $ROOT_IMAGE with debootstrap ($SUITE)"
    dir="$(mktemp -d)"
    trap 'rm -rf "$dir"' EXIT
    debootstrap --variant=minbase "$SUITE" "$dir" "$MIRROR" >/dev/null
    # Drop apt lists and caches: the image is a root for builds that run apt-get update.
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/archives/*.deb
    tar -C "$dir" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' - "$ROOT_IMAGE" >/dev/null
fi
log "ready: docker $(docker version --format '{{.Server.Version}}'), root image $ROOT_IMAGE"
