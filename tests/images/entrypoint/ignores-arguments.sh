#!/bin/sh
# The mistake under test: "$@" is dropped, so the CMD (or a spawner's cmd
# override) never runs.
set -eu
exec jupyter lab --ip=0.0.0.0 --no-browser
