"""Names the command lines declare in their options, with nothing heavy behind them.

Click evaluates option defaults and choices when a CLI module is imported, so these live
apart from the modules that use them (profiles need pydantic, credentials need docker,
the renderers need the checks): ``validate-image --help`` must not load those.
"""

from __future__ import annotations

DEFAULT_PROFILE = "jupyter4nfdi"

# What build-images and make-compatible build on when no --root-image is given.
DEFAULT_ROOT_IMAGE = "ubuntu:24.04"

# What ``--format`` offers on stdout; junit and summary are written to their own files.
STDOUT_FORMATS: tuple[str, ...] = ("text", "json", "github", "sarif")

PASSWORD_ENV = "JHIV_REGISTRY_PASSWORD"
PLAIN_PASSWORD_REFUSED = (
    "--password is not accepted: a password on the command line is visible to every "
    "user of this machine (ps, /proc) and stays in the shell history"
)
PLAIN_PASSWORD_HINT = (
    f"pipe it in with --password-stdin (e.g. `validate-image IMAGE --username U --password-stdin"
    f" < token.txt`) or set {PASSWORD_ENV}"
)
