"""``datamap all WORKSPACE --out DIR``: everything `make audit` promises, in one command."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from datamap.commands import app, one_line_errors


@app.command("all")
@one_line_errors
def all_command(
    workspace: Path = typer.Argument(..., help="the workspace folder"),
    out: Path = typer.Option(Path("reports"), "--out", help="where the map, audit, report and register go"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show each step and each check as it runs"),
    store: Optional[str] = typer.Option(None, "--store", help="the folder of the audit store, or a PostgreSQL URL (postgresql://user:${PGPASSWORD}@host/db?schema=datamap) (default: sources.yml store:, else WORKSPACE/.datamap)"),
) -> None:
    """Map, discovery, audit (with report) and register; exit 0 no findings, 1 findings, 2 could not run."""
    from datamap.audit.summary import print_summary
    from datamap.workbench import run_everything, why_no_pdf
    from datamap.workspace import load_workspace

    outputs = run_everything(load_workspace(workspace).with_store(store), out, progress=progress)
    print_summary(outputs.audit)
    typer.echo("\nResults:")
    for label, path in outputs.paths():
        typer.echo(f"  {label:<36} {path}")
        if label == "audit report" and outputs.report_pdf is None:
            typer.echo(f"  {'audit report (PDF)':<36} not written: {why_no_pdf()}")
    raise typer.Exit(outputs.exit_code)
