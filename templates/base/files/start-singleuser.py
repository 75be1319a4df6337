#!/usr/bin/env python3
"""Start the hub-aware server: ``jupyterhub-singleuser`` with $NOTEBOOK_ARGS and the
arguments given. The hub passes address, port and URL prefix through
JUPYTERHUB_SERVICE_URL and friends, so nothing here pins them.

Design after jupyter/docker-stacks (BSD-3-Clause); see NOTICE.md.
"""

import os
import shlex
import sys


def main() -> None:
    command = ["jupyterhub-singleuser", *shlex.split(os.environ.get("NOTEBOOK_ARGS", ""))]
    command += sys.argv[1:]
    print("Executing:", shlex.join(command), file=sys.stderr, flush=True)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
