"""The run archive: every audit run kept whole under ``DIR/runs/<UTC timestamp>/``, and read back.

A run is written into a temporary folder beside the archive and renamed into place in one step,
so a killed audit leaves no half run and two concurrent audits never write into the same folder.
Each run records the sha256 of what it judged (manifests, policy, catalogue, sources), the software
that judged it (``datamap.provenance``), and how its findings, inputs and software compare with the
previous run's. :class:`ArchivedRun` is a run read back from its folder (``checks.json``,
``findings.json``, ``run.json``, ``comparison.json`` and the audit store's ``_provenance``): what
the register, the report, the charts and the evidence packs read; they never open a source.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from datamap.errors import BadInput
from datamap.findings import Finding
from datamap.outputs import safe_row, write_atomic
from datamap.store import open_read_only, sha256_file

if TYPE_CHECKING:
    from datamap.warehouse.postgres import PgStore

FINDING_COLUMNS = ("id", "claim", "rule", "check", "severity", "system", "dataset", "collection",
                   "record_key", "subject_ref", "detail", "evidence")  # id first: what actions.yml names


def hashes(paths: Iterable[Path], root: Path) -> dict[str, str]:
    """sha256 of each existing file, keyed by its path relative to root (or absolute outside it)."""
    out = {}
    for path in sorted(set(paths)):
        if path.is_file():
            key = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
            out[key] = sha256_file(path)
    return out


def run_stamp(now: dt.datetime | None = None) -> str:
    """The run folder's name: the UTC time to the microsecond, sortable as text."""
    moment = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return moment.strftime("%Y%m%dT%H%M%S.%fZ")


INCOMPLETE = ".incomplete-"


def new_run_folder(out_dir: Path) -> Path:
    """A private temporary folder for a run in progress (same file system as the archive).

    Its name carries the writer's process id, so that the next run can sweep away the folders of
    runs that were killed (SIGKILL leaves no chance to clean up) without touching a live one.
    """
    runs = out_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    sweep_abandoned(runs)
    sweep_stale_temps(out_dir)
    return Path(tempfile.mkdtemp(prefix=f"{INCOMPLETE}{os.getpid()}-", dir=runs))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def sweep_abandoned(runs: Path) -> list[Path]:
    """Remove the temporary folders of runs whose process is gone; return what was removed."""
    removed = []
    for folder in runs.glob(f"{INCOMPLETE}*"):
        pid = folder.name[len(INCOMPLETE):].split("-", 1)[0]
        if folder.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


# ``.data_docs.<pid>-xxxx``, ``.data_docs.old-<pid>-...``, ``.findings.json.<pid>-xxxx``: what
# replace_tree and replace_file leave behind when their run is killed between two steps.
_TEMP = re.compile(r"^\.(?P<name>data_docs|[\w-]+\.(?:json|csv|html|pdf))\.(?:old-)?(?:(?P<pid>\d+)-)?")
LEGACY_TEMP_AGE = 24 * 3600  # a temporary without its writer's pid (older versions): swept when a day old


def sweep_stale_temps(out_dir: Path) -> list[Path]:
    """Remove the temporary copies (``.data_docs.*`` and the like) of runs whose process is gone.

    Swept at the start of every run, as :func:`sweep_abandoned` sweeps run folders; one of a live
    run (its writer's pid is alive) is left alone. Returns what was removed.
    """
    import time

    removed = []
    if not out_dir.is_dir():
        return removed
    for entry in out_dir.iterdir():
        match = _TEMP.match(entry.name)
        if not match:
            continue
        pid = match.group("pid")
        try:
            stale = not _alive(int(pid)) if pid else time.time() - entry.lstat().st_mtime > LEGACY_TEMP_AGE
        except OSError:
            continue
        if not stale:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def publish_run(tmp: Path, out_dir: Path, stamp: str) -> Path:
    """Move a finished run into ``runs/<stamp>`` whole; a name already taken gets a suffix."""
    runs = out_dir / "runs"
    for n in range(1000):
        target = runs / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            os.rename(tmp, target)  # atomic; fails if another run took the name
            return target
        except OSError:
            if not target.exists():
                raise
    raise RuntimeError(f"could not place run {stamp} in {runs}")


def finished_runs(out_dir: Path) -> list[Path]:
    """Completed runs in time order (temporary folders of runs in progress are not runs)."""
    runs = out_dir / "runs"
    if not runs.is_dir():
        return []
    return sorted(p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and (p / "findings.json").is_file())


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def findings_csv(findings: list[Finding]) -> str:
    """The findings as CSV: one row each, its id first, the evidence as compact JSON."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FINDING_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for finding in findings:
        row = finding.to_dict()
        row["evidence"] = json.dumps(row["evidence"], ensure_ascii=False, sort_keys=True, default=str)
        writer.writerow(safe_row({k: row.get(k) for k in FINDING_COLUMNS}))
    return buf.getvalue()


def compare(previous: list[dict[str, Any]] | None, current: list[Finding]) -> dict[str, Any]:
    """New, resolved and persisting findings against the previous run, matched on (rule, system, record_key).

    Both runs' record keys are pseudonymised with the workspace's key (a keyed hash, the same in every
    run), so a mailbox's finding matches itself across runs as long as the key is kept.
    """
    now = {f.key: f for f in current}
    if previous is None:
        return {"previous_run": None, "new": sorted(map(list, now)), "resolved": [], "persisting": []}
    before = {(d["rule"], d["system"], d["record_key"]) for d in previous}
    return {
        "new": sorted(list(k) for k in now if k not in before),
        "resolved": sorted(list(k) for k in before if k not in now),
        "persisting": sorted(list(k) for k in now if k in before),
    }


def latest_findings(out_dir: Path, started: str | None = None) -> tuple[str | None, list[dict[str, Any]] | None]:
    """The previous run's name and findings, if there is one.

    ``started``: this run's start stamp (:func:`run_stamp`). The previous run is then the latest one
    that FINISHED before this one started (its run.json ``finished_utc``; a record without it counts
    by its name, its start): with runs side by side, a run that started later, or was still running
    when this one started, is not the one this run is compared with.
    """
    runs = finished_runs(out_dir)
    if started is not None:
        def finished(run: Path) -> str:
            record = run_record(out_dir, run.name) or {}
            return str(record.get("finished_utc") or run.name)

        runs = sorted((r for r in runs if finished(r) < started), key=lambda r: (finished(r), r.name))
    if not runs:
        return None, None
    last = runs[-1]
    return last.name, json.loads((last / "findings.json").read_text(encoding="utf-8"))


def run_record(out_dir: Path, name: str | None) -> dict[str, Any] | None:
    """The ``run.json`` of the archived run ``name`` (None for no name, or an unreadable record)."""
    if name is None:
        return None
    try:
        data = json.loads((out_dir / "runs" / name / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def what_changed(before: dict[str, Any] | None, now: dict[str, Any]) -> dict[str, Any]:
    """The software and the inputs that changed since the previous run: its ``run.json`` against this run's.

    Told next to the new findings, so that a finding an upgrade caused is not taken for a new
    violation. ``software_changed`` holds ``{name: [before, now]}`` for datamap, Python, the
    platform, SQLite and each deciding library; ``other_packages_changed`` the same for the rest of
    the environment; ``inputs_changed`` the files whose sha256 differs, was added or removed. A key
    is None when there is no previous run, or it did not record that.
    """
    from datamap import provenance

    before = before or {}
    software = provenance.changed(before.get("software"), now["software"])
    others = provenance.changed(before.get("installed"), now["installed"])
    if others is not None:
        others = {k: v for k, v in others.items() if k not in now["software"] and k not in (before.get("software") or {})}
    old_day, new_day = before.get("as_of"), now.get("as_of")
    return {
        "software_changed": software,
        "other_packages_changed": others,
        "inputs_changed": input_changes(before.get("sha256"), now["sha256"]),
        "as_of_changed": [old_day, new_day] if old_day and old_day != new_day else None,
    }


def input_changes(before: dict[str, Any] | None, now: dict[str, Any]) -> dict[str, list[str]] | None:
    """The files judged by both runs whose sha256 differs, and those added or removed (the store aside: it is derived)."""
    if not isinstance(before, dict):
        return None

    def flat(sha: dict[str, Any]) -> dict[str, str]:
        return {name: str(digest) for group, files in sha.items() if group != "store" and isinstance(files, dict)
                for name, digest in files.items()}

    old, new = flat(before), flat(now)
    return {"changed": sorted(n for n in new if n in old and old[n] != new[n]),
            "added": sorted(n for n in new if n not in old), "removed": sorted(n for n in old if n not in new)}


def replace_file(src: Path, dst: Path) -> None:
    """Copy a file over another in one step (readers see the old or the new one, never half)."""
    write_atomic(dst, src.read_bytes())  # its temporary is named .<name>.<pid>-: sweep_stale_temps


def replace_tree(src: Path, dst: Path) -> None:
    """Copy a folder over another: the new copy is renamed into place before the old one goes."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.{os.getpid()}-", dir=dst.parent))  # pid: sweep_stale_temps
    shutil.copytree(src, tmp, dirs_exist_ok=True)
    old = None
    if dst.exists():
        old = dst.parent / f".{dst.name}.old-{os.getpid()}-{tmp.name}"
        os.rename(dst, old)
    os.rename(tmp, dst)
    if old:
        shutil.rmtree(old, ignore_errors=True)


# --- reading a run back ---------------------------------------------------------------------------

STORE_NAMES = ("store.sqlite", "store.db", "audit.sqlite", "audit.db")


@dataclass(frozen=True)
class ArchivedRun:
    """One archived audit run (a folder under ``runs/``) as plain data, the way every reader sees it.

    ``run_audit`` returns the live :class:`datamap.audit.run.AuditRun` (typed findings, exit code,
    Data Docs); everything after the audit reads this.
    """

    folder: Path
    run_id: str
    checks: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    provenance: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    comparison: dict[str, Any] = field(default_factory=dict)
    store: Path | None = None
    data_sources: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # table -> (Data Source, records)
    pg: "PgStore | None" = None  # the PostgreSQL schema the store was published to, when it was

    @property
    def location(self) -> "Path | PgStore | None":
        """The store the register counts persons in: the PostgreSQL schema, else the SQLite file."""
        return self.pg or self.store

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


def _read_store(path: Path, sql: str) -> list[sqlite3.Row] | None:
    """Run one read-only query on the store; None when the table or column is not there."""
    con = open_read_only(path)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.DatabaseError:
        return None
    finally:
        con.close()


def find_store(folder: Path, workspace_root: str | Path | None = None) -> Path | None:
    """The audit store of a run: kept in the run folder, else the workspace's ``.datamap/store.sqlite``."""
    candidates = [folder / n for n in STORE_NAMES] + sorted(folder.glob("*.sqlite")) + sorted(folder.glob("*.db"))
    if workspace_root is not None:
        candidates.append(Path(workspace_root) / ".datamap" / "store.sqlite")
    for path in candidates:
        if path.is_file() and _read_store(path, "SELECT count(*) FROM _provenance") is not None:
            return path
    return None


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


def load_run(folder: str | Path, workspace_root: str | Path | None = None, store: Path | None = None,
             pg: "PgStore | None" = None) -> ArchivedRun:
    """Read one run folder (it holds ``checks.json``); row counts from ``store``, else its own store or the workspace's.

    ``pg``: the PostgreSQL schema the workspace's store is published to (it holds the same tables).
    """
    base = Path(folder)
    if not (base / "checks.json").exists():
        raise BadInput(str(base), None, "not an audit run folder: no checks.json", "run `datamap audit` first")
    meta = _read_json(base / "run.json", None)
    meta = meta if isinstance(meta, dict) else {}
    listed = meta.get("provenance") if isinstance(meta.get("provenance"), list) else []
    store = store if store is not None and store.is_file() else find_store(base, workspace_root)
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
        pg=pg,
    )


def run_folders(folder: str | Path) -> list[Path]:
    """The run folders under ``folder`` (itself, its ``runs/``, or a ``runs`` folder), oldest first."""
    base = Path(folder)
    if (base / "checks.json").exists() and not (base / "runs").is_dir():
        return [base]
    return finished_runs(base.parent if base.name == "runs" and not (base / "runs").is_dir() else base)


def latest_run(folder: str | Path | None, workspace_root: str | Path | None = None,
               pg: "PgStore | None" = None) -> ArchivedRun | None:
    """The newest run under ``folder`` (run ids are UTC timestamps, so names sort by time)."""
    if folder is None:
        return None
    found = run_folders(folder)
    return load_run(found[-1], workspace_root, pg=pg) if found else None
