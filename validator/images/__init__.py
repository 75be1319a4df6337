"""The image pipeline behind ``build-images``: known-good JupyterHub images.

Data flows one way, one module per step:
catalogue (base-images/*.yaml) -> plan (targets, parents first) -> render
(templates/ -> build contexts) -> lint (hadolint) -> engine (docker build) -> verify
(the validator, under the profile of the image's hub version) -> manifest (what is in
the image) -> tags -> publish (tag, push). ``pipeline`` strings them together and
``cli`` is the command line.
"""
