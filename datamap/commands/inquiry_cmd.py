"""``datamap inquiry WORKSPACE --topic ... --out DIR``: an evidence pack for a question of the AP."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from datamap.commands import app, one_line_errors, working


@app.command()
@one_line_errors
def inquiry(
    workspace: Path = typer.Argument(..., help="the workspace folder"),
    topic: str = typer.Option(..., "--topic", help="register, processors, retention, request or breach"),
    out: Path = typer.Option(Path("reports/inquiries"), "--out", help="folder the pack is written into"),
    audit: Optional[Path] = typer.Option(None, "--audit", help="audit output folder whose latest run is the evidence"),
    category: Optional[str] = typer.Option(None, "--category", help="retention: the data category asked about"),
    system: Optional[str] = typer.Option(None, "--system", help="breach: the system breached"),
    email: Optional[str] = typer.Option(None, "--email", help="request: the person the AP asks about"),
    request_id: Optional[str] = typer.Option(None, "--request-id", help="request: the request id in the log"),
    discovered: Optional[str] = typer.Option(None, "--discovered", help="breach: when it was discovered (2026-12-01T09:30, Dutch time unless a zone is given); starts the 72 hours"),
    store: Optional[str] = typer.Option(None, "--store", help="the folder of the audit store, or a PostgreSQL URL (postgresql://user:${PGPASSWORD}@host/db?schema=datamap) (default: sources.yml store:, else WORKSPACE/.datamap)"),
    lang: str = typer.Option("nl", "--lang", help="nl (default) or en; the files are named in that language too: brief-aan-de-AP.pdf, "
                             "controles.csv, meldformulier-datalek.csv, bijlage-*.csv, herkomst.json / letter-to-the-AP.pdf, checks.csv, "
                             "breach-notification-form.csv, annex-*.csv, provenance.json, so both can share one folder"),
) -> None:
    """Write a cover letter to the AP (HTML, PDF, DOCX), the register extract, check results and annexes, in Dutch or English; exit 0 when written.

    The breach log (breach-log.csv in the audit folder) stays Dutch whatever --lang: it is the controller's one register.
    """
    from datamap.inquiry import Question
    from datamap.workbench import inquiry_pack
    from datamap.workspace import load_workspace

    with working(f"writing the evidence pack ({topic})"):
        pack = inquiry_pack(load_workspace(workspace).with_store(store), Question(topic, category, system, email, request_id, discovered), out, audit, lang)
    typer.echo(f"evidence pack ({pack.topic}, audit run {pack.run_id or 'none'}): {pack.folder}")
    for path in pack.files:
        typer.echo(f"  {path.name}")
    if pack.breach_log:
        typer.echo(f"breach log (Art. 33(5)), one row added: {pack.breach_log}")
