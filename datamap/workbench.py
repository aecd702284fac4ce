"""The whole job in one call: map, discovery, audit, audit report and register for one workspace.

This is what ``make audit`` runs (``datamap all WORKSPACE --out DIR``). Each step is the same
library call its own command makes; this module only orders them and says where things landed.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from datamap.workspace import Workspace, load_workspace

REGISTER_OUTPUTS = (("xlsx", "en"), ("xlsx", "nl"), ("html", "en"), ("html", "nl"))


@dataclass
class Outputs:
    """Where each result of a full run was written, and the audit's exit code."""

    map_summary: Path
    discovery: Path
    audit_dir: Path
    findings: Path
    run_dir: Path
    data_docs: Path | None
    report: Path
    registers: list[Path] = field(default_factory=list)
    exit_code: int = 0
    audit: Any = None

    @property
    def report_pdf(self) -> Path | None:
        return report_pdf(self.report)

    def paths(self) -> list[tuple[str, Path]]:
        rows = [("map summary and drawings", self.map_summary), ("discovery table", self.discovery),
                ("findings", self.findings), ("run archive", self.run_dir)]
        if self.data_docs:
            rows.append(("Great Expectations Data Docs", self.data_docs))
        rows.append(("audit report", self.report))
        if self.report_pdf is not None:
            rows.append(("audit report (PDF)", self.report_pdf))
        rows += [("register of processing activities", p) for p in self.registers]
        return [(label, path) for label, path in rows if path.exists()]  # discovery.csv only when discovery ran


def report_pdf(html: Path) -> Path | None:
    """The PDF printed with this report; None when Chromium did not print one (an older PDF does not count)."""
    pdf = html.with_suffix(".pdf")
    fresh = pdf.is_file() and html.is_file() and pdf.stat().st_mtime_ns >= html.stat().st_mtime_ns
    return pdf if fresh else None


def why_no_pdf() -> str:
    """Why the report has no PDF, in words a reader can act on."""
    from datamap.report import pdf_converter

    if pdf_converter() is None:
        return ("Chromium is not installed; install the distribution's chromium package "
                "(make audit does so when it runs as root) and run again")
    return "Chromium is installed but could not print it; run again, or print the HTML from a browser"


def run_everything(workspace: Workspace | str | os.PathLike[str], out: str | os.PathLike[str],
                   progress: bool = True) -> Outputs:
    """Run every step on ``workspace`` and write the results under ``out``."""
    from datamap.audit import run_audit
    from datamap.draw import write_map_summary
    from datamap.map import load_map
    from datamap.register.ropa import write_register
    from datamap.report import write_report

    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    base = Path(out)
    with _step(progress, "the map: its summary page and drawings"):
        dm = load_map(ws)
        map_page = write_map_summary(dm, base / "map", ws.policy)
    audit_dir = base / "audit"
    run = run_audit(ws, audit_dir, progress=progress)  # its discovery check keeps the column table; its own progress bar
    with _step(progress, "the audit report (HTML, and PDF when Chromium is installed)"):
        report = write_report(ws, run.run_dir, base / "audit-report.html")
    with _step(progress, f"the register of processing activities ({len(REGISTER_OUTPUTS)} files)"):
        registers = [write_register(ws, base / "register", fmt, lang, audit_dir)[0] for fmt, lang in REGISTER_OUTPUTS]
    return Outputs(map_summary=map_page, discovery=audit_dir / "discovery.csv", audit_dir=audit_dir,
                   findings=audit_dir / "findings.json", run_dir=run.run_dir, data_docs=run.docs_index,
                   report=report, registers=registers, exit_code=run.exit_code, audit=run)


@contextlib.contextmanager
def _step(progress: bool, what: str) -> Iterator[None]:
    """A spinner on stderr while a step runs, then one line saying it is done and how long it took."""
    if not progress:
        yield
        return
    from rich.console import Console

    console = Console(file=sys.stderr)
    start = time.monotonic()
    with console.status(f"writing {what} ..."):
        yield
    console.print(f"[green]wrote[/] {what} in {time.monotonic() - start:.1f} s", highlight=False)
