# System-wide Jupyter Server settings of the image (/etc/jupyter). A hub's
# JUPYTERHUB_SERVICE_URL still decides address and port of jupyterhub-singleuser.
# Design after jupyter/docker-stacks (BSD-3-Clause); see NOTICE.md.
# ruff: noqa: F821 -- `c` is the config object Jupyter injects.

# "" listens on every IPv4 and IPv6 address: the server is reached from outside
# the container, never from its own localhost.
c.ServerApp.ip = ""
c.ServerApp.open_browser = False
