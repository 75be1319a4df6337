"""How every command of this package ends: one line on stderr and a distinct exit code.

0/1 come from the work itself; 2 is a usage or tool error (ValidatorError), 130 an
interrupt, and an unexpected exception is reported in one line (its traceback only
with ``debug``). Whatever happens, the Docker objects of the run are removed.

Ctrl-C and SIGTERM (docker stop, a CI cancel) cancel the whole process at once
(validator.runtime.cancel): the main thread unwinds, every worker's wait ends, the
sandboxes are removed. With ``prompt`` the process then exits without waiting for
worker threads still blocked in a call they cannot leave early (an HTTP request to a
server that no longer exists): their work is abandoned, not awaited.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import NoReturn

import click

from validator import exit_codes
from validator.errors import ValidatorError
from validator.runtime.cancel import cancel_all, cancelled


def _interrupt(signum: int, frame: FrameType | None) -> None:
    if cancelled():
        return  # a second signal while cleaning up: the first one is being handled
    cancel_all()
    # Unwinds like Ctrl-C so every finally block runs.
    raise KeyboardInterrupt


def _nothing() -> None:
    pass


def exit_with(
    prog: str, action: Callable[[], int], *, debug: bool = False, prompt: bool = False
) -> NoReturn:
    """Run ``action`` and exit with its code, or with the code of what stopped it."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        code = _outcome(prog, action, debug=debug)
    finally:
        # The sandbox needs docker; if it was never imported nothing was created, and a
        # usage error should not load docker only to find nothing to remove.
        sandbox = sys.modules.get("validator.runtime.sandbox")
        close_all = sandbox.close_all if sandbox is not None else _nothing

        try:
            close_all()
        except KeyboardInterrupt:  # the signal came after the work, during the removal
            close_all()  # later signals are ignored: this one ends
            code = _interrupted(prog)
    if prompt and code == exit_codes.INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _outcome(prog: str, action: Callable[[], int], *, debug: bool) -> int:
    try:
        return action()
    except ValidatorError as exc:
        click.echo(f"{prog}: error: {exc.one_line()}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return _interrupted(prog)
    except Exception as exc:  # a bug: say so in one line, the traceback only on request
        if debug:
            raise
        click.echo(
            f"{prog}: internal error: {type(exc).__name__}: {exc} "
            "(run with --debug for the traceback)",
            err=True,
        )
        return exit_codes.TOOL_ERROR


def _interrupted(prog: str) -> int:
    cancel_all()
    click.echo(f"{prog}: error: interrupted; removed what this run created", err=True)
    return exit_codes.INTERRUPTED
