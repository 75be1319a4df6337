#!/bin/bash
# The name z2jh examples and hub configs written for jupyter/docker-stacks images use;
# the work is done by start-singleuser.py.
exec start-singleuser.py "$@"
