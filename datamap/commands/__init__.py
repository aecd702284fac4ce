"""The command line's subcommands: one module each, one library call per command, no logic.

Heavy libraries (Great Expectations, pandas, matplotlib) are imported inside the command
functions so that ``datamap --help`` answers at once.
"""
from __future__ import annotations

import difflib
import functools
import sys
from typing import Any, Callable

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from datamap.errors import EXIT_CANNOT_RUN, BadInput

# What each command is in a privacy officer's words, and the words they may type for it, so that a
# misspelt or guessed command ('invetory') gets a suggestion ('ropa', the register).
WORDS = {
    "demo": ("a demo workspace to start from", ("init", "new", "example", "template", "start", "create")),
    "map": ("the data map and its questions", ("datamap", "graph", "flows", "where", "recipients", "breach", "draw")),
    "scan": ("personal data the map forgot", ("discover", "discovery", "detect", "columns", "find")),
    "audit": ("the notice's claims checked against the data", ("check", "checks", "verify", "findings", "claims", "report")),
    "ropa": ("the register of processing activities, Art. 30",
             ("register", "inventory", "records", "processing", "article30", "art30", "verwerkingsregister")),
    "subject": ("one person's records, export and erasure check",
                ("dsar", "request", "requests", "access", "erasure", "person", "portability", "export")),
    "inquiry": ("an evidence pack for the regulator", ("regulator", "authority", "evidence", "pack", "ap")),
    "notice": ("the privacy notice against Art. 13", ("privacy-notice", "privacyverklaring", "privacybeleid", "lint")),
    "all": ("everything make audit runs", ("everything", "run", "full")),
}


def _plain_help(params: list[Any]) -> list[Any]:
    """Flags shown as flags (no ``<bool>`` that invites ``--report true``), arguments by their upper-case name."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = ""
        elif isinstance(param, TyperArgument) and param.metavar is None:
            param.metavar = (param.name or "").upper()
    return params


class Command(TyperCommand):
    """A subcommand whose help and usage line read like the README: ``datamap audit [OPTIONS] WORKSPACE``."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_help(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = param.metavar + ("..." if param.nargs != 1 else "")
                pieces.append(name if param.required else f"[{name}]")
        return pieces


class Workbench(TyperGroup):
    """The ``datamap`` command: plain help, and a suggestion for a misspelt or guessed command."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_help(super().get_params(ctx))

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            ctx.fail(f"No such command {name!r}.{self.suggestion(ctx, name)}")
        return super().resolve_command(ctx, args)

    def suggestion(self, ctx: Any, typed: str) -> str:
        """`` Did you mean 'ropa' (the register ...)?`` for a name close to a command or to one of its :data:`WORDS`."""
        typed = typed.lower()
        names = [n for n in self.list_commands(ctx) if not getattr(self.get_command(ctx, n), "hidden", False)]
        words = {w: n for n in names for w in WORDS.get(n, ("", ()))[1]}
        close = difflib.get_close_matches(typed, names, n=2, cutoff=0.6)
        close += [words[w] for w in difflib.get_close_matches(typed, list(words), n=2, cutoff=0.75)]
        close = list(dict.fromkeys(close))[:2]
        if not close:
            return f" The commands are {', '.join(names)}; datamap --help says what each does."
        said = " or ".join(f"'{n}' ({WORDS[n][0]})" if n in WORDS else f"'{n}'" for n in close)
        return f" Did you mean {said}?"


class Datamap(typer.Typer):
    """The app: every ``@app.command()`` gets :class:`Command` unless it names its own class."""

    def command(self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or Command, **kwargs)


app = Datamap(
    name="datamap",
    cls=Workbench,
    help="GDPR audit and data-mapping workbench: map, scan, audit and report on a workspace.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    suggest_commands=False,  # Workbench.suggestion also knows the words a privacy officer uses
)


def working(what: str) -> Any:
    """A spinner on stderr while a step that can take seconds runs (silent when stderr is not a terminal)."""
    from rich.console import Console

    return Console(stderr=True).status(f"{what} ...")


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
