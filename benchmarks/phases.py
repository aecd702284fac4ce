"""One benchmark phase per process: ``python -m benchmarks.phases PHASE --workspace W --work D --result R``.

Each phase is a plain library call of the workbench (what the matching CLI command runs), timed
in-process around the call and written as JSON to ``--result``; ``benchmarks.run`` starts each
phase in a fresh process and reads its peak resident memory from ``wait4`` (so one phase's
memory never counts against another's).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

PhaseFn = Callable[[argparse.Namespace], dict[str, Any]]


def generate(args: argparse.Namespace) -> dict[str, Any]:
    """Write the demo estate (what ``datamap demo`` does)."""
    from datamap.demo import generate as write, planted_counts

    tmp = args.workspace.with_name(args.workspace.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    write(tmp, subjects=args.subjects, seed=args.seed)
    tmp.rename(args.workspace)  # a killed run leaves no half estate in the cache
    size = sum(p.stat().st_size for p in args.workspace.rglob("*") if p.is_file())
    return {"bytes": size, "planted": sum(planted_counts(args.workspace).values())}


def floor(args: argparse.Namespace) -> dict[str, Any]:
    """Parse every input once (benchmarks.floor)."""
    from benchmarks.floor import parse_all

    parsed = parse_all(args.workspace)
    return {"rows": sum(v["rows"] for v in parsed.values()), "fields": sum(v["fields"] for v in parsed.values()),
            "collections": len(parsed)}


def stage(args: argparse.Namespace) -> dict[str, Any]:
    """Stage every source into a fresh audit store (the store is deleted first: a cold start)."""
    from datamap.store import DEFAULT_PATH
    from datamap.store import stage as stage_store

    shutil.rmtree((args.workspace / DEFAULT_PATH).parent, ignore_errors=True)
    started, timeline = time.perf_counter(), []
    store = stage_store(args.workspace, progress=lambda line: timeline.append((round(time.perf_counter() - started, 1), line)))
    try:
        errors = store.errors()
        rows = sum(s.rows for s in store.status.values())
    finally:
        store.close()
    size = sum(p.stat().st_size for p in store.path.parent.glob(store.path.name + "*"))
    return {"rows": rows, "errors": len(errors), "store_bytes": size, "workers": store.workers, "timeline": timeline}


def scan(args: argparse.Namespace) -> dict[str, Any]:
    """Discovery over every source (what ``datamap scan`` runs)."""
    from datamap.discovery import scan as run_scan

    result = run_scan(args.workspace)
    return {"columns": len(result.table()), "findings": len(result.findings), "errors": len(result.errors)}


def audit(args: argparse.Namespace) -> dict[str, Any]:
    """The whole audit on the staged store (reused after the hash check), archived under the work folder."""
    from datamap.audit import run_audit

    out = args.work / "audit"
    shutil.rmtree(out, ignore_errors=True)
    from datamap.identity import Pseudonymizer
    from datamap.workspace import load_workspace

    run = run_audit(args.workspace, out, progress=False)
    expected = json.loads((args.workspace / "expected_findings.json").read_text(encoding="utf-8"))
    found = {(f.rule, f.system, str(f.record_key)) for f in run.findings}
    shown = Pseudonymizer.of(load_workspace(args.workspace)).record_key  # findings show an address in a key (a Message-ID) by its pseudonym
    planted = {(c["rule"], c["system"], shown(str(c["record_key"]))) for c in expected}
    slowest = sorted(run.checks, key=lambda c: -c.seconds)[:5]
    return {
        "checks": {s: sum(1 for c in run.checks if c.status == s) for s in ("passed", "failed", "not_run")},
        "findings": len(run.findings),
        "planted_found": len(planted & found), "planted": len(planted),
        "not_run": {c.check: c.reason for c in run.checks if c.status == "not_run"},
        "slowest_checks": {c.check: c.seconds for c in slowest},
        "check_seconds": {c.check: c.seconds for c in run.checks},
    }


def rerun(args: argparse.Namespace) -> dict[str, Any]:
    """The quarterly rerun: the CRM exported again (its files' bytes changed), every other export as it was.

    Run after ``stage`` and ``audit``: staging restages only the CRM's collections and reuses the
    rest of the store, then the whole audit runs (its own staging finds everything current). The
    CRM files get a trailing blank line (a re-export's new bytes; no record changes) and are
    restored afterwards.
    """
    from datamap.audit import run_audit
    from datamap.sources import resolve
    from datamap.store import stage as stage_store
    from datamap.workspace import load_workspace

    ws = load_workspace(args.workspace)
    files = sorted({f for c in ws.sources.datasets["zoho_crm"].collections for f in resolve(ws, "zoho_crm", c).files()})
    backup = args.work / "crm-backup"
    shutil.rmtree(backup, ignore_errors=True)
    backup.mkdir(parents=True)
    for i, f in enumerate(files):
        shutil.copy2(f, backup / f"{i}-{f.name}")
    try:
        for f in files:
            with f.open("ab") as handle:
                handle.write(b"\n")
        started = time.perf_counter()
        store = stage_store(ws)
        staging = time.perf_counter() - started
        restaged = sorted(s.table for s in store.status.values() if s.ok and not s.reused)
        store.close()
        out = args.work / "rerun"
        shutil.rmtree(out, ignore_errors=True)
        run = run_audit(ws, out, progress=False)
    finally:
        for i, f in enumerate(files):
            shutil.copy2(backup / f"{i}-{f.name}", f)
        shutil.rmtree(backup, ignore_errors=True)
    return {"changed_files": [f.name for f in files], "stage_seconds": round(staging, 3), "restaged": restaged,
            "tables": len(store.status), "findings": len(run.findings)}


def register(args: argparse.Namespace) -> dict[str, Any]:
    """The Art. 30 register as XLSX, verified against the audit run of the previous phase."""
    from datamap.register.ropa import write_register

    path, reg = write_register(args.workspace, args.work / "register", "xlsx", "en", [args.work / "audit"])
    return {"activities": len(reg.rows), "gaps": len(reg.gaps), "bytes": path.stat().st_size}


def subject(args: argparse.Namespace) -> dict[str, Any]:
    """Find the demo's planted subject in every system: the store's hash check, then the lookup itself."""
    from datamap import subject as sr
    from datamap.store import open_read_only
    from datamap.store import stage as stage_store
    from datamap.workspace import load_workspace

    ws = load_workspace(args.workspace)
    expected = json.loads((args.workspace / "expected_subject.json").read_text(encoding="utf-8"))
    started = time.perf_counter()
    store = stage_store(ws)  # what sr.open_store does: reuse the store when no source changed
    reused = all(s.reused for s in store.status.values() if s.ok)
    store.close()
    con = open_read_only(store.path)
    data_map = sr.read_map(ws)
    opened = time.perf_counter()
    asked = expected["subject"]
    person = sr.Subject.of(email=[asked["email"]], name=[asked["name"]], city=asked.get("city"))  # the name search too
    matches = sr.find(con, data_map, person, own_domains=ws.policy.recipients.own_domains)
    found = time.perf_counter()
    con.close()
    want = {(r["system"], str(r["record_key"])) for r in expected.get("records", [])}
    got = {(m.system, str(m.record_key)) for m in matches}
    info = {"store_reused": reused, "open_seconds": round(opened - started, 3),
            "lookup_seconds": round(found - opened, 3), "matches": len(matches),
            "expected_found": len(want & got), "expected": len(want)}
    from benchmarks.matching import load_cases, run_cases

    if any(args.subjects in c["expected"] for c in load_cases()):  # the hand-checked matching set (10k, 100k)
        result = run_cases(args.workspace, store.path, args.subjects)
        info["matching"] = {k: result[k] for k in ("cases", "same", "seconds")}
        info["matching"]["differences"] = [d["id"] for d in result["differences"]]
    return info


def naive(args: argparse.Namespace) -> dict[str, Any]:
    """The naive reference: whole tables in pandas, checks with GE's pandas data source."""
    from benchmarks.naive import run_naive

    return run_naive(args.workspace, args.work / "audit" / "findings.json")


def notebooks(args: argparse.Namespace) -> dict[str, Any]:
    """Execute every notebook on a real kernel against the workspace, one after the other."""
    import nbformat
    from nbclient import NotebookClient

    root = Path(__file__).resolve().parents[1] / "notebooks"
    os.environ["DATAMAP_WORKSPACE"] = str(args.workspace.resolve())
    os.environ["DATAMAP_OUT"] = str((args.work / "notebooks").resolve())
    seconds = {}
    for path in sorted(root.glob("[0-9][0-9]_*.ipynb")):
        started = time.perf_counter()
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(root)}}).execute()
        seconds[path.name] = round(time.perf_counter() - started, 2)
    return {"notebooks": seconds}


def postgres(args: argparse.Namespace) -> dict[str, Any]:
    """The whole audit with its store in a real PostgreSQL server (after ``audit``: compared with it)."""
    from benchmarks.engines import run_postgres

    return run_postgres(args.workspace, args.work)


def spark(args: argparse.Namespace) -> dict[str, Any]:
    """The whole audit with the catalogue on local Spark (after ``audit``: compared with it)."""
    from benchmarks.engines import run_spark

    return run_spark(args.workspace, args.work)


PHASES: dict[str, PhaseFn] = {f.__name__: f for f in (generate, floor, stage, scan, audit, register, subject, naive,
                                                       notebooks, postgres, spark, rerun)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=sorted(PHASES))
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--subjects", type=int, default=0)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    info = PHASES[args.phase](args)
    seconds = time.perf_counter() - started
    args.result.write_text(json.dumps({"seconds": round(seconds, 3), "info": info}, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
