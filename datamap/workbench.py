"""The whole job in one call: map, discovery, audit, audit report and register for one workspace.

This is what ``make audit`` runs (``datamap all WORKSPACE --out DIR``). Each step is the same
library call its own command makes; this module only orders them and says where things landed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

    def paths(self) -> list[tuple[str, Path]]:
        rows = [("map summary and drawings", self.map_summary), ("discovery table", self.discovery),
                ("findings", self.findings), ("run archive", self.run_dir)]
        if self.data_docs:
            rows.append(("Great Expectations Data Docs", self.data_docs))
        rows.append(("audit report", self.report))
        rows += [("register of processing activities", p) for p in self.registers]
        return [(label, path) for label, path in rows if path.exists()]  # discovery.csv only when discovery ran


def run_everything(workspace: Workspace | str | os.PathLike[str], out: str | os.PathLike[str],
                   progress: bool = True) -> Outputs:
    """Run every step on ``workspace`` and write the results under ``out``."""
    from datamap.audit import run_audit
    from datamap.map import load_map, write_map_summary
    from datamap.register.ropa import write_register
    from datamap.report import write_report

    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    base = Path(out)
    dm = load_map(ws)
    map_page = write_map_summary(dm, base / "map", ws.policy)
    audit_dir = base / "audit"
    run = run_audit(ws, audit_dir, progress=progress)  # its discovery check keeps the column table
    report = write_report(ws, run.run_dir, base / "audit-report.html")
    registers = [write_register(ws, base / "register", fmt, lang, audit_dir)[0] for fmt, lang in REGISTER_OUTPUTS]
    return Outputs(map_summary=map_page, discovery=audit_dir / "discovery.csv", audit_dir=audit_dir,
                   findings=audit_dir / "findings.json", run_dir=run.run_dir, data_docs=run.docs_index,
                   report=report, registers=registers, exit_code=run.exit_code, audit=run)
