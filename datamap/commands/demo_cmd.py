"""``datamap demo --out DIR``: write the Apora demo workspace with its planted violations."""
from __future__ import annotations

from pathlib import Path

import typer

from datamap.commands import app, one_line_errors, working

PROGRESS_FROM = 20_000  # below this the run takes a second or two: no bar needed


@app.command()
@one_line_errors
def demo(
    out: Path = typer.Option(..., "--out", help="folder to write the workspace into"),
    subjects: int = typer.Option(2000, "--subjects", help="number of data subjects (100 to 1,000,000)"),
    seed: int = typer.Option(42, "--seed", help="the same seed gives byte-identical files"),
    force: bool = typer.Option(False, "--force", help="write into a folder that is not empty; files you edited "
                                                     "there are kept as NAME.edited-TIME"),
) -> None:
    """Write a deterministic demo workspace for Apora B.V., with a known set of planted violations.

    Refuses a folder that is not empty (exit 2) unless --force; even then no edited file is lost.
    """
    from datamap.demo import generate, kept_files, planted_counts

    if subjects >= PROGRESS_FROM:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("writing subjects", total=subjects)
            generate(out, subjects=subjects, seed=seed, force=force,
                     progress=lambda done, _: bar.update(task, completed=done))
    else:
        with working(f"writing the demo workspace ({subjects:,} subjects)"):
            generate(out, subjects=subjects, seed=seed, force=force)
    counts = planted_counts(out)
    typer.echo(f"demo workspace written to {out} ({subjects:,} subjects, seed {seed})")
    for path in kept_files(out):
        typer.echo(f"kept your edited file as {path}")
    typer.echo(f"planted: {sum(counts.values())} cases of {len(counts)} rules (ground truth: expected_findings.json)")
    for rule, count in counts.items():
        typer.echo(f"  {count:>3}  {rule}")
