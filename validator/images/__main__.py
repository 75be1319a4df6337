"""``python -m validator.images``: the same as ``build-images``."""

from validator.images.cli import main

main()
