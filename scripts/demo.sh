#!/usr/bin/env bash
# The main job on a fresh machine: set up Docker and a root image, build the example
# image from examples/singleuser on it, and validate it for every built-in profile.
#
#   ROOT_IMAGE  root image to build on (default: a Debian image made with debootstrap)
#   CA_BUNDLE   extra CA for pip inside the build (default: this machine's bundle)
set -euo pipefail
cd "$(dirname "$0")/.."

export ROOT_IMAGE="${ROOT_IMAGE:-jhiv/debian-root:bookworm}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
IMAGE=jhiv-example/singleuser:latest

bash scripts/setup-docker.sh
python3 -m pip install -q --disable-pip-version-check -e . 2>&1 | grep -v -i warning || true

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp -r examples/singleuser/. "$context/"
if [ -r "$CA_BUNDLE" ]; then cp "$CA_BUNDLE" "$context/build-ca.pem"; else : >"$context/build-ca.pem"; fi
echo "demo: building $IMAGE on $ROOT_IMAGE" >&2
DOCKER_BUILDKIT=0 docker build -q --build-arg "ROOT_IMAGE=$ROOT_IMAGE" -t "$IMAGE" "$context" >/dev/null

status=0
for profile in jupyter4nfdi dockerspawner z2jh; do
    echo "demo: validate-image $IMAGE --profile $profile" >&2
    validate-image "$IMAGE" --profile "$profile" || status=$?
done
exit "$status"
