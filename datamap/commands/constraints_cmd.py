"""``datamap constraints RUN_DIR``: the pip constraints that re-create the software an archived run recorded."""
from __future__ import annotations

from pathlib import Path

import typer

from datamap.commands import app, one_line_errors


@app.command()
@one_line_errors
def constraints(
    run_dir: Path = typer.Argument(..., help="an archived run folder, e.g. reports/audit/runs/20261124T090000.000000Z"),
) -> None:
    """Print a pip constraints file with the versions the run recorded (docs/reproduce.md re-runs it with them)."""
    from datamap.provenance import constraints as pins, run_record

    typer.echo(pins(run_record(run_dir)), nl=False)
