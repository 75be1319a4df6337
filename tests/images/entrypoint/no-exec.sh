#!/bin/sh
# Runs its arguments as a child instead of exec-ing them. As PID 1 this shell has no
# handler for SIGTERM, so the kernel drops the signal: every stop waits for SIGKILL.
echo "entrypoint: starting $*" >&2
"$@"
