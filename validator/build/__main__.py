"""``python -m validator.build``: the same as ``build-images``."""

from validator.build.cli import main

main()
