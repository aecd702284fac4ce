"""``datamap scan WORKSPACE``: find personal data in the sources and compare it with the map (P13)."""
from __future__ import annotations

import sys
from pathlib import Path

import typer

from datamap.commands import app, one_line_errors, working
from datamap.errors import EXIT_CANNOT_RUN, EXIT_FINDINGS, EXIT_OK


@app.command()
@one_line_errors
def scan(
    workspace: Path = typer.Argument(..., help="the workspace folder"),
    sample: int = typer.Option(2000, help="rows sampled per collection"),
    show_all: bool = typer.Option(False, "--all", help="list every column, not only the personal ones"),
) -> None:
    """Detect personal data per column; exit 1 on undeclared personal data, 2 when a source cannot be read."""
    from datamap.discovery import scan as run_scan

    with working("reading a sample of every source and judging each column"):
        result = run_scan(workspace, sample_rows=sample)
    table = result.table()
    shown = table if show_all else table[table["category"].notna() | (table["status"] == "undeclared")]
    for row in shown.itertuples(index=False):
        key = f"{row.dataset}.{row.collection}.{row.field}"
        typer.echo(f"{key:<48} {row.category or '-':<40} "
                   f"{row.confidence:>4.2f} {row.basis or '-':<13} {row.status}")
    for f in result.findings:
        typer.echo(f"\n{f.severity:<8} {f.rule} {f.system} {f.record_key}\n  {f.detail}\n  paste into the "
                   f"dataset's collection:\n" + "".join(f"    {line}\n" for line in f.evidence["snippet"].splitlines()),
                   nl=False)
    for n in result.notes:
        typer.echo(f"note     {n.dataset}.{n.collection}.{n.field}: {n.kind}: {n.detail}")
    for line in dict.fromkeys(result.errors.values()):  # a database that fails fails once, not per table
        print(f"error: {line}", file=sys.stderr)
    typer.echo(f"{len(table)} column(s) in {len(table.groupby(['dataset', 'collection']))} collection(s); "
               f"{int(table['category'].notna().sum())} personal, {len(result.findings)} undeclared, "
               f"{len(result.notes)} note(s), {len(result.errors)} source(s) not read")
    if result.errors:
        raise typer.Exit(EXIT_CANNOT_RUN)
    raise typer.Exit(EXIT_FINDINGS if result.findings else EXIT_OK)
