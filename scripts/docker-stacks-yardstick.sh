#!/bin/bash
# Run jupyter/docker-stacks' own test suite against our base images, as a yardstick
# (docs/base-images.md, "Differences from docker-stacks"). Nothing of that suite is in
# this repository: pass a checkout of it, at the commit templates/NOTICE.md names.
#
#   scripts/docker-stacks-yardstick.sh DOCKER_STACKS_CHECKOUT [PREFIX] [IMAGE...]
#
# PREFIX is the repository prefix the images were built with (build-images
# --repository-prefix, jhiv by default); IMAGE is foundation, base, minimal or
# scientific (all four by default). Each image is tagged with the name its docker-stacks
# counterpart has, and the tests of that image and of its parents run against it.
# The summary line per image is printed last; JUnit files go to build/yardstick/.
# The suite needs docker, requests, pytest and tabulate in the running Python.
set -euo pipefail

checkout="${1:?usage: $0 DOCKER_STACKS_CHECKOUT [PREFIX] [IMAGE...]}"
prefix="${2:-jhiv}"
shift $(($# < 2 ? $# : 2))
images=("$@")
if [ "${#images[@]}" -eq 0 ]; then images=(foundation base minimal scientific); fi

declare -A theirs=(
    [foundation]=docker-stacks-foundation
    [base]=base-notebook
    [minimal]=minimal-notebook
    [scientific]=scipy-notebook
)
declare -A parents=(
    [foundation]=""
    [base]=foundation
    [minimal]=base
    [scientific]=minimal
)

out="$(pwd)/build/yardstick"
mkdir -p "$out"
owner=jhiv-yardstick
summary=()
for image in "${images[@]}"; do
    name="${theirs[$image]:?unknown image $image}"
    docker tag "$prefix/$image:latest" "$owner/$name:latest"
    dirs=()
    at="$image"
    while [ -n "$at" ]; do
        dirs=("tests/by_image/${theirs[$at]}" "${dirs[@]}")
        at="${parents[$at]}"
    done
    echo "== $image as $name: ${dirs[*]}" >&2
    set +e
    (cd "$checkout" && python3 -m pytest -p no:cacheprovider -q --color=no -m "not info" -o log_cli=false \
        --junitxml="$out/$image.xml" "${dirs[@]}" \
        --registry docker.io --owner "$owner" --image "$name") >"$out/$image.log" 2>&1
    set -e
    docker rmi "$owner/$name:latest" >/dev/null
    summary+=("$image: $(tail -n 1 "$out/$image.log")")
done
printf '%s\n' "${summary[@]}"
