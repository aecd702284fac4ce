"""The workbench orders the steps: it decides when to audit or stage, the report stages only read.

The whole job in one call (:func:`run_everything`, what ``make audit`` and ``datamap all WORKSPACE
--out DIR`` run): map, discovery, audit, audit report and register, each the same library call its
own command makes. Whether the latest archived run may still be cited or a new audit is due
(:func:`current_run`, :func:`current_or_new_run`), and the staging an evidence pack about a
person needs (:func:`inquiry_pack`), are decided here too.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from datamap.audit.archive import ArchivedRun, latest_run
from datamap.workspace import Workspace, load_workspace

if TYPE_CHECKING:
    from datamap.inquiry import Pack, Question

REGISTER_OUTPUTS = (("xlsx", "en"), ("xlsx", "nl"), ("html", "en"), ("html", "nl"))
REGISTER_FOR_AP = (("xlsx", "nl"), ("html", "nl"))  # the copy a regulator receives: no internal notes or marks


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
    report_nl: Path | None = None
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
        if self.report_nl is not None:
            rows.append(("auditrapport (Nederlands)", self.report_nl))
            if report_pdf(self.report_nl) is not None:
                rows.append(("auditrapport (PDF)", report_pdf(self.report_nl)))
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
    from datamap.map.page import write_map_summary
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
    with _step(progress, "the audit report in English and Dutch (HTML, and PDF when Chromium is installed)"):
        report = write_report(ws, run.run_dir, base / "audit-report.html")
        report_nl = write_report(ws, run.run_dir, base / "auditrapport.html", lang="nl")
    with _step(progress, f"the register of processing activities ({len(REGISTER_OUTPUTS) + len(REGISTER_FOR_AP)} files)"):
        registers = [write_register(ws, base / "register", fmt, lang, audit_dir)[0] for fmt, lang in REGISTER_OUTPUTS]
        registers += [write_register(ws, base / "register", fmt, lang, audit_dir, for_ap=True)[0] for fmt, lang in REGISTER_FOR_AP]
    return Outputs(map_summary=map_page, discovery=audit_dir / "discovery.csv", audit_dir=audit_dir,
                   findings=audit_dir / "findings.json", run_dir=run.run_dir, data_docs=run.docs_index,
                   report=report, report_nl=report_nl, registers=registers, exit_code=run.exit_code, audit=run)


def _inputs_now(ws: Workspace) -> dict[str, dict[str, str]] | None:
    """The sha256 of what an audit of ``ws`` would judge now, keyed as run.json's ``sha256`` (store aside).

    None when a source is a database server: its content has no file hash, so no run can be shown current.
    """
    from datamap.audit.run import default_catalogue_dirs, input_hashes  # what run_audit hashes, hashed the same way

    if any(d.url and not d.url.startswith("sqlite:///") for d in ws.sources.datasets.values()):
        return None
    return input_hashes(ws, default_catalogue_dirs(ws))


def current_run(workspace: Workspace | str | os.PathLike[str], audit_dir: str | os.PathLike[str]) -> ArchivedRun | None:
    """The latest finished run under ``audit_dir`` if it judged this workspace as it is now, else None.

    Current means: same workspace folder, reference date and pseudonym key, and every input the run
    recorded (manifests, policy, sources.yml, check catalogue, source files) has the same sha256
    today, with none added or removed. Evidence and reports must describe the data as it is, not
    as it was, and name people by the pseudonyms the officer's other outputs use.
    """
    from datamap.identity import Pseudonymizer, load_key

    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    if not Path(audit_dir).is_dir():
        return None
    run = latest_run(audit_dir, ws.root)
    if run is None:
        return None
    recorded = run.meta.get("sha256")
    if not isinstance(recorded, dict):
        return None
    if run.meta.get("workspace") != str(ws.root.resolve()) or run.meta.get("as_of") != ws.policy.reference_date().isoformat():
        return None
    if run.meta.get("pseudonym_key") != Pseudonymizer(load_key(ws.root)).key_id():
        return None
    now = _inputs_now(ws)
    if now is None or any(recorded.get(key) != hashes for key, hashes in now.items()):
        return None
    return run


def current_or_new_run(workspace: Workspace | str | os.PathLike[str], audit_dir: str | os.PathLike[str]) -> ArchivedRun:
    """The current run under ``audit_dir`` (see :func:`current_run`), else a new audit run archived there.

    An older run judged other bytes: evidence citing it would describe data that no longer exists.
    """
    from datamap.audit import run_audit

    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    found = current_run(ws, audit_dir)
    if found is not None:
        return found
    return run_audit(ws, audit_dir, progress=False).archived()


def inquiry_pack(workspace: Workspace | str | os.PathLike[str], question: "Question", out_dir: str | os.PathLike[str],
                 audit_dir: str | os.PathLike[str] | None = None, lang: str = "nl") -> "Pack":
    """Write the evidence pack for one question of the AP, in ``lang`` (:func:`datamap.inquiry.build_pack`).

    A pack about a person's request reads the audit store: it is staged here (reused when no source
    changed) and refused when a source could not be read, so the pack itself only reads.
    """
    from datamap.inquiry import build_pack

    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    question.validate()
    if question.topic != "request":
        return build_pack(ws, question, out_dir, audit_dir, lang=lang)
    from datamap.subject.store import open_store

    con = open_store(ws)
    try:
        return build_pack(ws, question, out_dir, audit_dir, store=con, lang=lang)
    finally:
        con.close()


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
