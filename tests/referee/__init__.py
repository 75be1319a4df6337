"""The referee: a real JupyterHub that decides whether an image really spawns."""
