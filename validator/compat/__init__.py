"""``make-compatible``: layer what a hub needs onto a user's image, build it, prove it.

inspect (what the image holds) -> remedies (what could be added, as data) -> plan
(which remedies the failing checks call for, rendered as a Dockerfile) -> make (build
and validate again). Only inspect and make touch the engine.
"""
