"""``datamap ropa WORKSPACE --format xlsx|html|md --lang en|nl [--for ap]``: the register of processing activities."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from datamap.commands import app, one_line_errors, working


@app.command("ropa")
@one_line_errors
def ropa_command(
    workspace: Path = typer.Argument(..., help="workspace folder"),
    fmt: str = typer.Option("xlsx", "--format", help="xlsx, html or md"),
    lang: str = typer.Option("en", "--lang", help="en or nl (the Dutch register uses the AP's terms)"),
    out: Path = typer.Option(Path("reports"), "--out", help="folder to write ropa-<lang>.<format> into"),
    audit: Optional[Path] = typer.Option(
        None, "--audit", help="audit output folder (holding runs/) whose latest run verifies the register; "
                              "default: --out, then ./audit (datamap audit's default)"),
    audience: Optional[str] = typer.Option(
        None, "--for", help="ap: the copy for the Autoriteit Persoonsgegevens (answers only: no marks, provenance "
                            "or audit columns), written as ropa-<lang>-ap.<format>"),
) -> None:
    """Write the Art. 30 register (controller and processor), its gaps and the regulators' question coverage.

    Prints a short summary (gaps, and answers verified or contradicted by the latest audit run) and the file;
    the coverage per question group is in the register. Exit 0 when written, 2 on bad input.
    """
    from datamap.errors import BadInput
    from datamap.register.ropa import summary_lines, write_register

    if audience not in (None, "ap"):
        raise BadInput(None, "--for", f"unknown audience {audience!r}", "leave it out for the working copy, or say --for ap")
    with working(f"writing the register ({fmt}, {lang})"):
        path, reg = write_register(workspace, out, fmt, lang, [audit] if audit is not None else [out, Path("audit")],
                                   for_ap=audience == "ap")
    for line in summary_lines(reg):
        print(line)
    print(path)
