#!/bin/sh
echo "memory-hog: reading /dev/zero into memory" >&2
exec tail /dev/zero
