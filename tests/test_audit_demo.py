"""The audit on generated demo estates: exactly the planted violations, none of the near-misses.

Matched on (rule, system, record_key) against the demo's ``expected_findings.json``, at two sizes
and two seeds; and the honest third state when a source cannot be read.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from datamap.audit import run_audit
from datamap.cli import main


def planted(workspace: Path) -> set[tuple[str, str, str]]:
    cases = json.loads((workspace / "expected_findings.json").read_text(encoding="utf-8"))
    return {(c["rule"], c["system"], str(c["record_key"])) for c in cases}


@pytest.mark.slow
@pytest.mark.parametrize("subjects,seed", [(300, 7), (1500, 11)])
def test_audit_finds_every_planted_violation_and_nothing_else(make_demo, tmp_path, subjects, seed):
    workspace = make_demo(subjects, seed)
    run = run_audit(workspace, tmp_path / "out", progress=False, store_path=tmp_path / "store.sqlite")
    found = {f.key for f in run.findings}
    expected = planted(workspace)
    assert sorted(expected - found) == []   # recall 1.0: every planted case found
    assert sorted(found - expected) == []   # precision 1.0: no near-miss and nothing else
    assert [c.check for c in run.checks if c.status == "not_run"] == []
    assert run.exit_code == 1


@pytest.mark.slow
def test_a_source_that_cannot_be_read_turns_exactly_its_checks_to_not_run(demo_workspace, tmp_path):
    workspace = tmp_path / "ws"
    shutil.copytree(demo_workspace, workspace, ignore=shutil.ignore_patterns(".datamap"))
    (workspace / "hr" / "roster.csv").unlink()
    run = run_audit(workspace, tmp_path / "out", progress=False, store_path=tmp_path / "store.sqlite")
    not_run = {c.check for c in run.checks if c.status == "not_run"}
    assert not_run == {f"P01.{rule}.{system}"
                       for rule in ("non_employee_account", "departed_employee_active", "role_not_authorized")
                       for system in ("zoho_crm", "zoho_books", "zoho_desk", "zoho_salesiq", "zoho_mail",
                                      "customer_portal")}
    assert all(c.reason.startswith("source hr.roster could not be read: hr/roster.csv")
               for c in run.checks if c.status == "not_run")
    assert run.exit_code == 2
    assert {f.claim for f in run.findings} == {f"P{n:02d}" for n in range(2, 17)} - {"P12"}  # the rest still ran
    assert {f.key for f in run.findings} <= planted(workspace)
    checks = json.loads((tmp_path / "out" / "checks.json").read_text())
    assert sum(c["status"] == "not_run" for c in checks) == 18


@pytest.mark.slow
def test_datamap_audit_prints_the_claim_summary_and_where_the_findings_are(demo_workspace, tmp_path, capsys):
    workspace = tmp_path / "ws"
    shutil.copytree(demo_workspace, workspace, ignore=shutil.ignore_patterns(".datamap"))
    code = main(["audit", str(workspace), "--out", str(tmp_path / "out"), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 1
    for claim in (f"P{n:02d}" for n in range(1, 17)):
        assert claim in out
    assert str(tmp_path / "out" / "findings.json") in out.replace("\n", "")
    assert (tmp_path / "out" / "data_docs" / "index.html").is_file()


def test_bad_as_of_is_one_line_and_exit_code_two(tmp_path, capsys):
    code = main(["audit", str(tmp_path), "--out", str(tmp_path / "out"), "--as-of", "24-11-2026"])
    assert code == 2
    assert capsys.readouterr().err.strip() == "error: --as-of: not a date like 2026-11-24: '24-11-2026'"
