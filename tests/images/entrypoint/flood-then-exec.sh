#!/bin/sh
# A working server behind a log flood: 2000-character lines on stdout, as fast as the
# engine takes them, from before the server starts until the container ends; niced, so
# the server still gets the CPU it needs (a flood that starves it tests something else).
line=$(head -c 2000 /dev/zero | tr '\0' x)
nice -n 19 yes "$line" &
exec "$@"
