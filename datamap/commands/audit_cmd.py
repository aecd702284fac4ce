"""``datamap audit WORKSPACE --out DIR``: verify every claim of the notice against the map and the data."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import typer

from datamap.commands import app, one_line_errors, working


@app.command()
@one_line_errors
def audit(
    workspace: Path = typer.Argument(..., help="the workspace folder"),
    out: Path = typer.Option(Path("audit"), "--out", help="where findings, checks, Data Docs and the run archive go"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="reference date YYYY-MM-DD (default: policy.yml as_of, else today)"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show a progress line per check"),
    store: Optional[str] = typer.Option(None, "--store", help="the folder of the audit store, or a PostgreSQL URL (postgresql://user:${PGPASSWORD}@host/db?schema=datamap) (default: sources.yml store:, else WORKSPACE/.datamap)"),
    report: bool = typer.Option(False, "--report", help="also write the audit report (OUT/audit-report.html, and PDF when Chromium is there)"),
    engine: str = typer.Option("sql", "--engine", help="where the SQL checks run: sql (the store's database: SQLite, or PostgreSQL with a store URL) or spark"),
    spark_master: Optional[str] = typer.Option(None, "--spark-master", envvar="DATAMAP_SPARK_MASTER",
                                               help="with --engine spark: the cluster (spark://host:7077, yarn, k8s://..., sc://host:15002); default local[2]"),
) -> None:
    """Run the checks of checks/P01.yml ... P16.yml; exit 0 no findings, 1 findings, 2 a check could not run."""
    from datamap.audit import run_audit
    from datamap.audit.summary import print_summary
    from datamap.errors import BadInput
    from datamap.workspace import load_workspace

    day = None
    if as_of:
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            raise BadInput(None, "--as-of", f"not a date like 2026-11-24: {as_of!r}") from None
    ws = load_workspace(workspace).with_store(store)
    run = run_audit(ws, out, as_of=day, progress=progress, engine=engine, spark_master=spark_master)
    print_summary(run)
    if report:
        from datamap.report import write_report
        from datamap.workbench import report_pdf, why_no_pdf

        with working("writing the audit report (HTML, and PDF when Chromium is installed)"):
            html = write_report(workspace, run.run_dir, out / "audit-report.html")
        pdf = report_pdf(html)
        typer.echo(f"report: {html}")
        typer.echo(f"report (PDF): {pdf}" if pdf else f"report (PDF): not written: {why_no_pdf()}")
    raise typer.Exit(run.exit_code)
