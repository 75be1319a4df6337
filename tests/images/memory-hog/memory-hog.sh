#!/bin/sh
echo "memory-hog: allocating 8 GB" >&2
# bytes * n touches every page at once, unlike a calloc'ed bytearray.
exec python3 -c "data = b'x' * (8 << 30)"
