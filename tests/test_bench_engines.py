"""The benchmark's PostgreSQL run works and compares honestly (``make bench`` is not part of the test run;
this keeps its code from rotting unnoticed, as it once did)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("postgres")]


def test_the_postgresql_bench_run_finds_what_the_sqlite_audit_found(audited_demo, tmp_path):
    from benchmarks.engines import run_postgres

    ws, audit = audited_demo
    work = tmp_path / "work"
    shutil.copytree(audit, work / "audit")  # the SQLite run the bench compares with
    info = run_postgres(Path(shutil.copytree(ws, tmp_path / "ws")), work)
    assert info["differ"] == {} and info["same"] == info["checks"] > 40
    assert info["findings"] == len(json.loads((audit / "findings.json").read_text()))
    assert info["load_seconds"] > 0 and "checks the same as SQLite" in info["summary"]


def test_the_comparison_names_a_check_that_differs(audited_demo, tmp_path):
    from benchmarks.engines import compare

    _, audit = audited_demo
    other = Path(shutil.copytree(audit, tmp_path / "other"))
    checks = json.loads((other / "checks.json").read_text())
    failed = next(c for c in checks if c["status"] == "failed")
    failed["status"], failed["findings"] = "passed", 0
    (other / "checks.json").write_text(json.dumps(checks))
    findings = [f for f in json.loads((other / "findings.json").read_text()) if f["check"] != failed["check"]]
    (other / "findings.json").write_text(json.dumps(findings))
    assert list(compare(audit, other)["differ"]) == [failed["check"]]
