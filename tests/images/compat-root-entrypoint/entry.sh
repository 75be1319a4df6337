#!/bin/sh
# Setup, then the command as a child (no exec): the shell stays PID 1.
echo "entry.sh: preparing the lab environment"
"$@"
