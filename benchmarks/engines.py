"""The same audit on three engines: the SQLite store, the PostgreSQL store and the catalogue on local Spark.

Run after the ``audit`` phase (the SQLite run, in ``<work>/audit``) on the same estate and machine:
- ``postgres``: a throwaway server starts (``tests/fixtures_pg.running_server``, larger buffers);
  staging finds every table current and publishes the store into a schema with COPY (timed as
  ``load_seconds``); then the whole audit runs with the store there (``audit_seconds``).
- ``spark``: the store is exported to Parquet beside it (``load_seconds``), then the whole audit runs
  with ``engine="spark"`` in a ``local[2]`` session (``audit_seconds``, the session's start included).
Each compares its checks with the SQLite run's, check by check: the same state and the same findings.
The numbers are a ratio on one machine, not a promise for a server or a cluster.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

SERVER_SETTINGS = "-c shared_buffers=512MB -c work_mem=64MB -c maintenance_work_mem=256MB -c max_connections=30"


def _checks(folder: Path) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    checks = {c["check"]: c for c in json.loads((folder / "checks.json").read_text(encoding="utf-8"))}
    found: dict[str, list[str]] = {}
    for f in json.loads((folder / "findings.json").read_text(encoding="utf-8")):
        found.setdefault(f["check"], []).append(json.dumps(f, sort_keys=True))
    return checks, {k: sorted(v) for k, v in found.items()}


def compare(reference: Path, other: Path) -> dict[str, Any]:
    """Check by check, whether ``other`` ended as ``reference`` did: state, reason, rows examined, findings."""
    ref_checks, ref_found = _checks(reference)
    checks, found = _checks(other)
    differ = {}
    for check, ref in ref_checks.items():
        got = checks.get(check, {})
        fields = ("status", "reason", "rows_examined", "findings")
        if any(got.get(k) != ref.get(k) for k in fields) or found.get(check, []) != ref_found.get(check, []):
            differ[check] = {"expected": [ref.get(k) for k in fields], "got": [got.get(k) for k in fields]}
    sql = [c for c, v in ref_checks.items() if v["kind"] == "sql"]
    return {"checks": len(ref_checks), "same": len(ref_checks) - len(differ), "differ": differ,
            "findings": sum(len(v) for v in found.values()),
            "sql_check_seconds": round(sum(checks[c]["seconds"] for c in sql if c in checks), 2),
            "sqlite_sql_check_seconds": round(sum(ref_checks[c]["seconds"] for c in sql), 2)}


def _audit(workspace: Any, out: Path, **options: Any) -> float:
    from datamap.audit import run_audit

    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    run_audit(workspace, out, progress=False, **options)
    return round(time.perf_counter() - started, 2)


def run_postgres(workspace: Path, work: Path) -> dict[str, Any]:
    """Publish the staged store into a fresh PostgreSQL schema, audit there, compare with SQLite."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.fixtures_pg import running_server

    from datamap.store import stage
    from datamap.workspace import load_workspace

    with running_server(SERVER_SETTINGS) as server:
        url = server.url(server.create_database("bench")) + "&schema=datamap"
        ws = load_workspace(workspace).with_store(url)
        started = time.perf_counter()
        stage(ws).close()  # every table current: only the COPY into the schema
        load = round(time.perf_counter() - started, 2)
        audit = _audit(ws, work / "audit-postgres")
    info = {"load_seconds": load, "audit_seconds": audit, **compare(work / "audit", work / "audit-postgres")}
    info["summary"] = _summary("PostgreSQL", info)
    return info


def run_spark(workspace: Path, work: Path) -> dict[str, Any]:
    """Export the staged store to Parquet, audit on local Spark, compare with SQLite."""
    from datamap.store import stage
    from datamap.warehouse.spark import export_tables

    staged = stage(workspace)
    staged.close()
    started = time.perf_counter()
    export_tables(staged.path, staged.path.parent / "parquet")
    load = round(time.perf_counter() - started, 2)
    audit = _audit(workspace, work / "audit-spark", engine="spark")
    info = {"load_seconds": load, "audit_seconds": audit, **compare(work / "audit", work / "audit-spark")}
    info["summary"] = _summary("Spark (local[2])", info)
    return info


def _summary(engine: str, info: dict[str, Any]) -> str:
    return (f"{engine}: load {info['load_seconds']:.1f} s, audit {info['audit_seconds']:.1f} s "
            f"(SQL checks {info['sql_check_seconds']:.1f} s against {info['sqlite_sql_check_seconds']:.1f} s on SQLite); "
            f"{info['same']}/{info['checks']} checks the same as SQLite, {info['findings']} findings")
