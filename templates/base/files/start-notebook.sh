#!/bin/bash
# The name hub configs and `docker run` lines written for jupyter/docker-stacks images
# use (`c.Spawner.cmd = ["start-notebook.sh"]`); the work is done by start-notebook.py.
exec start-notebook.py "$@"
