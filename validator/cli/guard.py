"""How every command of this package ends: one line on stderr and a distinct exit code.

0/1 come from the work itself; 2 is a usage or tool error (ValidatorError), 130 an
interrupt, and an unexpected exception is reported in one line (its traceback only
with ``debug``). Whatever happens, the Docker objects of the run are removed.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import NoReturn

import click

from validator import exit_codes
from validator.errors import ValidatorError
from validator.runtime.sandbox import close_all


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM (docker stop, CI cancel) unwinds like Ctrl-C so every finally block runs.
    raise KeyboardInterrupt


def exit_with(prog: str, action: Callable[[], int], *, debug: bool = False) -> NoReturn:
    """Run ``action`` and exit with its code, or with the code of what stopped it."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        code = action()
    except ValidatorError as exc:
        click.echo(f"{prog}: error: {exc.one_line()}", err=True)
        code = exc.exit_code
    except KeyboardInterrupt:
        click.echo(f"{prog}: error: interrupted; removed what this run created", err=True)
        code = exit_codes.INTERRUPTED
    except Exception as exc:  # a bug: say so in one line, the traceback only on request
        if debug:
            raise
        click.echo(
            f"{prog}: internal error: {type(exc).__name__}: {exc} "
            "(run with --debug for the traceback)",
            err=True,
        )
        code = exit_codes.TOOL_ERROR
    finally:
        close_all()
    sys.exit(code)
