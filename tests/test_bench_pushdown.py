"""The benchmark's PostgreSQL pushdown path runs, and gives the SQLite audit's findings check by check.

``make bench`` is not part of the test run; this keeps its pushdown code from rotting unnoticed
(it once called an audit function with an old signature and failed only in a benchmark run).
"""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("postgres")]


def test_the_catalogue_pushed_down_to_postgresql_finds_what_the_sqlite_audit_found(audited_demo):
    from benchmarks.pushdown import run_pushdown

    ws, audit = audited_demo
    info = run_pushdown(ws, audit.parent / "pushdown")  # compares with the run in audit.parent / "audit"
    assert info["errors"] == {}
    assert info["checks"] >= 10
    assert info["differ"] == {}
    assert info["same_findings"] == info["checks"]
    assert info["findings"] > 0  # the demo's planted violations in these systems, found in PostgreSQL
