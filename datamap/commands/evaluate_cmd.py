"""``datamap evaluate MANIFESTS``: the manifests' fideslang Policies, judged as ``fides evaluate`` judges them."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from datamap.commands import app, one_line_errors
from datamap.errors import EXIT_FINDINGS, EXIT_OK


@app.command()
@one_line_errors
def evaluate(
    manifests: Path = typer.Argument(..., help="a folder of fideslang manifests (a Fides project, or a workspace), or one manifest file"),
    fides_key: Optional[str] = typer.Option(None, "--fides-key", "-k", help="evaluate only this policy"),
    message: str = typer.Option("", "--message", "-m", help="describe the context of this evaluation"),
    as_json: bool = typer.Option(False, "--json", help="print the evaluation as JSON"),
) -> None:
    """Evaluate every privacy declaration against the Policies, as fides evaluate does; exit 1 on violations.

    Needs no sources.yml, policy.yml or Fides server; prints Fides' own PASS/FAIL and violation wording.
    """
    from datamap import map as data_map

    evaluation = data_map.fides_evaluate(data_map.load_map(manifests), fides_key, message)
    if as_json:
        typer.echo(json.dumps(evaluation, indent=2, ensure_ascii=False))
    else:
        typer.echo(f"Loading resource manifests from: {manifests}\nTaxonomy successfully created.")
        typer.echo(data_map.as_text("evaluate", evaluation))
    if evaluation["datasets_not_evaluated"]:
        print(f"note: not evaluated, as in fides evaluate (no privacy declaration references them): "
              f"{', '.join(evaluation['datasets_not_evaluated'])}", file=sys.stderr)
    raise typer.Exit(EXIT_FINDINGS if evaluation["status"] == "FAIL" else EXIT_OK)
