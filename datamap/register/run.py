"""What the register and the report read from an audit run folder: checks, findings, row counts.

The audit writes ``checks.json`` and ``findings.json`` (docs/design.md) into ``runs/<UTC ts>/``
and keeps the audit store's ``_provenance`` table (row counts and hashes per source). Reports
read these files only; they never open a source. ``current_run`` decides whether the latest run
may still be cited: only while every input it recorded has the same sha256 now.
"""
from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datamap.errors import BadInput
from datamap.workspace import Workspace, load_workspace

STORE_NAMES = ("store.sqlite", "store.db", "audit.sqlite", "audit.db")
META_NAMES = ("run.json",)  # what datamap.audit.run writes; no other name was ever written


@dataclass(frozen=True)
class ArchivedRun:
    """One archived audit run (a folder under runs/), as plain data; the in-memory run is datamap.audit.run.AuditRun."""

    folder: Path
    run_id: str
    checks: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    provenance: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    comparison: dict[str, Any] = field(default_factory=dict)
    store: Path | None = None
    data_sources: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # table -> (Data Source, records)

    def rows_of_dataset(self, dataset: str) -> int | None:
        """Rows read from a dataset's sources in this run; None when nothing was read."""
        rows = [p.get("rows") or 0 for p in self.provenance if p.get("dataset") == dataset]
        return sum(int(r) for r in rows) if rows else None

    def sources_of_dataset(self, dataset: str) -> list[dict[str, Any]]:
        return [p for p in self.provenance if p.get("dataset") == dataset]

    def check(self, check_id: str) -> dict[str, Any] | None:
        return next((c for c in self.checks if c.get("check") == check_id), None)


def _read_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadInput(str(path), f"line {exc.lineno}", f"invalid JSON: {exc.msg}") from None


def find_store(folder: Path, workspace_root: str | Path | None = None) -> Path | None:
    """The audit store of a run: kept in the run folder, else the workspace's ``.datamap/store.sqlite``."""
    candidates = [folder / n for n in STORE_NAMES] + sorted(folder.glob("*.sqlite")) + sorted(folder.glob("*.db"))
    if workspace_root is not None:
        candidates.append(Path(workspace_root) / ".datamap" / "store.sqlite")
    for path in candidates:
        if path.is_file() and _read_store(path, "SELECT count(*) FROM _provenance") is not None:
            return path
    return None


def _read_store(path: Path, sql: str) -> list[sqlite3.Row] | None:
    """Run one read-only query on the store; None when the table or column is not there."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        con.row_factory = sqlite3.Row
        return con.execute(sql).fetchall()
    except sqlite3.DatabaseError:
        return None
    finally:
        con.close()


def recorded_sources(store: Path) -> dict[str, list[tuple[str, int]]]:
    """Per store table, how records say they entered it (Zoho's GDPR field *Data Source*), most first."""
    out: dict[str, list[tuple[str, int]]] = {}
    for row in _read_store(store, "SELECT name FROM sqlite_master WHERE type = 'table'") or []:
        table = row[0]
        if not re.fullmatch(r"[a-z0-9_]+", table):
            continue
        counts = _read_store(store, f'SELECT data_source, count(*) FROM "{table}" WHERE data_source IS NOT NULL '
                                    "GROUP BY data_source ORDER BY count(*) DESC, data_source")
        if counts:
            out[table] = [(str(r[0]), int(r[1])) for r in counts]
    return out


def _meta(folder: Path) -> dict[str, Any]:
    for name in META_NAMES:
        data = _read_json(folder / name, None)
        if isinstance(data, dict):
            return data
    return {}


def load_run(folder: str | Path, workspace_root: str | Path | None = None) -> ArchivedRun:
    """Read one run folder (it holds ``checks.json``); row counts from its store or the workspace's."""
    base = Path(folder)
    if not (base / "checks.json").exists():
        raise BadInput(str(base), None, "not an audit run folder: no checks.json", "run `datamap audit` first")
    meta = _meta(base)
    listed = meta.get("provenance") if isinstance(meta.get("provenance"), list) else []
    store = find_store(base, workspace_root)
    provenance = listed or ([dict(r) for r in _read_store(store, "SELECT * FROM _provenance") or []] if store else [])
    return ArchivedRun(
        folder=base,
        run_id=str(meta.get("run") or meta.get("run_id") or base.name),
        checks=list(_read_json(base / "checks.json", [])),
        findings=list(_read_json(base / "findings.json", [])),
        provenance=provenance,
        meta=meta,
        comparison=dict(_read_json(base / "comparison.json", {}) or {}),
        store=store,
        data_sources=recorded_sources(store) if store else {},
    )


def run_folders(folder: str | Path) -> list[Path]:
    """The run folders under ``folder`` (itself, its ``runs/``, or a ``runs`` folder), oldest first.

    What counts as a finished run is the archive's decision (``datamap.audit.archive.finished_runs``).
    """
    from datamap.audit.archive import finished_runs

    base = Path(folder)
    if (base / "checks.json").exists() and not (base / "runs").is_dir():
        return [base]
    return finished_runs(base.parent if base.name == "runs" and not (base / "runs").is_dir() else base)


def latest_run(folder: str | Path | None, workspace_root: str | Path | None = None) -> ArchivedRun | None:
    """The newest run under ``folder`` (run ids are UTC timestamps, so names sort by time)."""
    if folder is None:
        return None
    found = run_folders(folder)
    return load_run(found[-1], workspace_root) if found else None


def _inputs_now(ws: Workspace) -> dict[str, dict[str, str]] | None:
    """The sha256 of what an audit of ``ws`` would judge now, keyed as run.json's ``sha256`` (store aside).

    None when a source is a database server: its content has no file hash, so no run can be shown current.
    """
    from datamap.audit.run import default_catalogue_dirs, input_hashes  # what run_audit hashes, hashed the same way

    if any(d.url and not d.url.startswith("sqlite:///") for d in ws.sources.datasets.values()):
        return None
    return input_hashes(ws, default_catalogue_dirs(ws))


def current_run(workspace: Workspace | str | Path, audit_dir: str | Path) -> ArchivedRun | None:
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


def current_or_new_run(workspace: Workspace | str | Path, audit_dir: str | Path) -> ArchivedRun:
    """The current run under ``audit_dir`` (see ``current_run``), else a new audit run archived there."""
    from datamap.audit import run_audit

    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    found = current_run(ws, audit_dir)
    if found is not None:
        return found
    return load_run(run_audit(ws, audit_dir, progress=False).run_dir, ws.root)
