"""Entry point of the ``datamap`` command; the subcommands live in :mod:`datamap.commands`."""
from __future__ import annotations

import errno
import importlib
import importlib.util
import sys
import traceback

import typer

from datamap.commands import app
from datamap.errors import EXIT_CANNOT_RUN

# In reading order of a privacy officer's day. Each module registers its command on ``app``.
COMMANDS = ("demo", "map", "evaluate", "scan", "audit", "ropa", "subject", "inquiry", "notice", "all", "constraints")


def _show_version(show: bool) -> None:
    """``datamap --version``: datamap's version and the software a run would record (datamap.provenance)."""
    if not show:
        return
    from datamap.provenance import as_text, software
    from datamap.report import pdf_converter

    found = pdf_converter()  # the Chromium that would print the PDF report
    record = software(chromium=found[1] if found else None)
    typer.echo(as_text({**record, "chromium": record.get("chromium")}), nl=False)
    raise typer.Exit()


VERSION_HELP = "show the versions of datamap and of the software that checks, and exit"


@app.callback()
def _options(version: bool = typer.Option(False, "--version", is_eager=True, callback=_show_version,
                                          help=VERSION_HELP)) -> None:
    pass


def _register() -> None:
    for name in COMMANDS:
        module = f"datamap.commands.{name}_cmd"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)


FOLDER_OPTIONS = ("--out", "--export")


def _empty_folder_option(args: list[str]) -> str | None:
    """The folder option given an empty value (``--out ""``, ``--out=``), which typer reads as '.'."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        name, eq, value = arg.partition("=")
        if name in FOLDER_OPTIONS:
            if not eq:
                if i + 1 >= len(args):
                    continue  # typer says the value is missing
                value = args[i + 1]
            if not value.strip():
                return name
    return None


def _os_error_line(exc: OSError) -> str:
    """``reports/audit: Read-only file system (...)``: the file at fault, the reason and what to do."""
    where = ": ".join(str(f) for f in (exc.filename, exc.filename2) if f)
    reason = exc.strerror or str(exc)
    hint = "free some disk space" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else \
        "check that the path exists, is the right kind (file or folder) and that you may read and write it"
    return f"{where + ': ' if where else ''}{reason} ({hint})"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (0 fine, 1 findings, 2 bad input or could not run)."""
    _register()
    args = sys.argv[1:] if argv is None else list(argv)
    empty = _empty_folder_option(args)
    if empty:
        print(f"error: {empty}: an empty folder name would write into the current folder "
              f"(name a folder, or '.' to mean this one)", file=sys.stderr)
        return EXIT_CANNOT_RUN
    try:
        app(args=args)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    except KeyboardInterrupt:
        print("error: interrupted; no run was archived half-written", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except OSError as exc:  # a read-only or full disk, a folder where a file goes: the system's word, one line
        print(f"error: {_os_error_line(exc)}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except Exception as exc:  # a bug, not bad input: show it, but never exit 1 ("findings")
        traceback.print_exc()
        print(f"error: internal error ({type(exc).__name__}); please report it with the lines above", file=sys.stderr)
        return EXIT_CANNOT_RUN
    return 0


if __name__ == "__main__":
    sys.exit(main())
