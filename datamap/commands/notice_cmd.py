"""``datamap notice WORKSPACE``: lint the privacy notice against Art. 13 GDPR and the data map."""
from __future__ import annotations

from pathlib import Path

import typer

from datamap.commands import app, one_line_errors
from datamap.errors import EXIT_FINDINGS, EXIT_OK


@app.command()
@one_line_errors
def notice(workspace: Path = typer.Argument(..., help="the workspace folder")) -> None:
    """Check the notice (policy.yml notice.file) for what Art. 13 requires; exit 1 on findings."""
    from datamap.notice import lint
    from datamap.workspace import load_workspace

    ws = load_workspace(workspace)
    findings = lint(ws)
    for f in findings:
        typer.echo(f"{f.severity:<6} {f.rule:<40} {f.record_key:<38} {f.detail}")
    typer.echo(f"{len(findings)} finding(s) in {ws.policy.notice.file}" if findings else "the notice states every Art. 13 element")
    raise typer.Exit(EXIT_FINDINGS if findings else EXIT_OK)
