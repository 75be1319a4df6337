#!/bin/sh
# Starts its arguments in the background, then runs a post-start task that fails and
# takes the container down with it: the command runs and prints, yet the container
# exits 1 some seconds later.
"$@" &
sleep "${POST_START_SECONDS:-6}"
echo "entrypoint: post-start task failed" >&2
exit 1
