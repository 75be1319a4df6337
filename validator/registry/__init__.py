"""Asking a registry about an image and pulling it, as a hub's node would."""
