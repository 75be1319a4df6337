#!/usr/bin/env python3
"""The image's default command: a Jupyter server on its own, or the hub's server.

Spawned by a JupyterHub (JUPYTERHUB_API_TOKEN is set), it hands over to
start-singleuser.py, so DockerSpawner and KubeSpawner work with the image CMD as is.
Otherwise it runs ``jupyter $DOCKER_STACKS_JUPYTER_CMD`` (lab by default) with
$NOTEBOOK_ARGS and its own arguments.

Design after jupyter/docker-stacks (BSD-3-Clause); see NOTICE.md.
"""

import os
import shlex
import sys


def main() -> None:
    args = sys.argv[1:]
    if os.environ.get("JUPYTERHUB_API_TOKEN"):
        print(
            "start-notebook.py: JUPYTERHUB_API_TOKEN is set, starting start-singleuser.py",
            file=sys.stderr,
            flush=True,
        )
        os.execvp("start-singleuser.py", ["start-singleuser.py", *args])
    command = ["jupyter", os.environ.get("DOCKER_STACKS_JUPYTER_CMD", "lab")]
    command += shlex.split(os.environ.get("NOTEBOOK_ARGS", ""))
    command += args
    print("Executing:", shlex.join(command), file=sys.stderr, flush=True)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
