#!/bin/sh
# Refuses to run anything without a variable the platform never sets.
if [ -z "${LAB_LICENSE_KEY:-}" ]; then
    echo "entrypoint: LAB_LICENSE_KEY is not set; refusing to start" >&2
    exit 3
fi
exec "$@"
