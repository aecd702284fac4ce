"""The command line's subcommands: one module each, one library call per command, no logic.

Heavy libraries (Great Expectations, pandas, matplotlib) are imported inside the command
functions so that ``datamap --help`` answers at once.
"""
from __future__ import annotations

import functools
import sys
from typing import Any, Callable

import typer

from datamap.errors import EXIT_CANNOT_RUN, BadInput

app = typer.Typer(
    name="datamap",
    help="GDPR audit and data-mapping workbench: map, scan, audit and report on a workspace.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def one_line_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn BadInput into one line on stderr and exit code 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BadInput as exc:
            print(f"error: {exc.line()}", file=sys.stderr)
            raise typer.Exit(EXIT_CANNOT_RUN) from None

    return wrapper
