"""The audit on generated demo estates: exactly the planted violations, none of the near-misses.

Matched on (rule, system, record_key) against the demo's ``expected_findings.json``, at two sizes
and two seeds (300 subjects seed 7 through the CLI, 1500 subjects seed 11 through the library);
the honest third state when a source cannot be read; the portal checks pushed down to PostgreSQL.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from datamap.audit import run_audit
from datamap.cli import main


def planted(workspace: Path) -> set[tuple[str, str, str]]:
    """The planted cases, a record key as findings show it (a mailbox or Message-ID by its pseudonym)."""
    from datamap.identity import Pseudonymizer
    from datamap.workspace import load_workspace

    pseudo = Pseudonymizer.of(load_workspace(workspace))
    cases = json.loads((workspace / "expected_findings.json").read_text(encoding="utf-8"))
    return {(c["rule"], c["system"], pseudo.record_key(str(c["record_key"]))) for c in cases}


def found(out: Path) -> set[tuple[str, str, str]]:
    return {(f["rule"], f["system"], f["record_key"]) for f in json.loads((out / "findings.json").read_text())}


def copy_of(workspace: Path, tmp: Path) -> Path:
    target = tmp / "ws"
    shutil.copytree(workspace, target, ignore=shutil.ignore_patterns(".datamap"))
    return target


@pytest.fixture(scope="module")
def cli_run(demo_workspace, tmp_path_factory):
    """``datamap audit`` once on a copy of the shared demo workspace (300 subjects, seed 7)."""
    tmp = tmp_path_factory.mktemp("audit-cli")
    workspace = copy_of(demo_workspace, tmp)
    out = tmp / "out"
    proc = subprocess.run([sys.executable, "-m", "datamap.cli", "audit", str(workspace), "--out", str(out),
                           "--no-progress"], capture_output=True, text=True, timeout=600)
    return workspace, out, proc


@pytest.mark.slow
def test_cli_audit_of_the_demo_finds_exactly_the_planted_cases(cli_run):
    workspace, out, proc = cli_run
    expected = planted(workspace)
    assert sorted(expected - found(out)) == []   # recall 1.0: every planted case, the subtle ones too
    assert sorted(found(out) - expected) == []   # precision 1.0: none of the near-misses, nothing else
    assert proc.returncode == 1


@pytest.mark.slow
def test_cli_prints_the_claim_summary_and_where_the_findings_are(cli_run):
    _, out, proc = cli_run
    text = proc.stdout
    for claim in (f"P{n:02d}" for n in range(1, 17)):
        assert claim in text
    assert str(out / "findings.json") in text.replace("\n", "")
    assert (out / "data_docs" / "index.html").is_file()
    checks = json.loads((out / "checks.json").read_text())
    assert [c["check"] for c in checks if c["status"] == "not_run"] == []


@pytest.mark.slow
def test_library_audit_of_a_larger_estate_finds_exactly_the_planted_cases(make_demo, tmp_path):
    workspace = make_demo(1500, 11)
    run = run_audit(workspace, tmp_path / "out", progress=False, store_path=tmp_path / "store.sqlite")
    keys = {f.key for f in run.findings}
    expected = planted(workspace)
    assert sorted(expected - keys) == []
    assert sorted(keys - expected) == []
    assert run.exit_code == 1
    erasure = next(c for c in run.checks if c.check == "P08.erasure_propagated")
    assert erasure.restricted and {r["tbl"] for r in erasure.restricted} == {"zoho_books__invoices"}


@pytest.mark.slow
def test_a_source_that_cannot_be_read_turns_exactly_its_checks_to_not_run(demo_workspace, tmp_path):
    workspace = copy_of(demo_workspace, tmp_path)
    (workspace / "hr" / "roster.csv").unlink()
    run = run_audit(workspace, tmp_path / "out", progress=False, store_path=tmp_path / "store.sqlite")
    not_run = {c.check for c in run.checks if c.status == "not_run"}
    access = {f"P01.{rule}.{system}"
              for rule in ("non_employee_account", "departed_employee_active", "role_not_authorized")
              for system in ("zoho_crm", "zoho_books", "zoho_desk", "zoho_salesiq", "zoho_mail", "customer_portal")}
    assert not_run == access | {"P13.discovery_declared"}   # discovery reads every source, the roster too
    assert all(c.reason.startswith("source hr.roster could not be read: hr/roster.csv")
               for c in run.checks if c.check in access)
    discovery = next(c for c in run.checks if c.check == "P13.discovery_declared")
    assert "hr/roster.csv: file not found" in discovery.reason
    assert run.exit_code == 2
    assert {f.claim for f in run.findings} == {f"P{n:02d}" for n in range(2, 17)} - {"P12"}  # the rest still ran
    assert {f.key for f in run.findings} <= planted(workspace)
    checks = json.loads((tmp_path / "out" / "checks.json").read_text())
    assert sum(c["status"] == "not_run" for c in checks) == 19


def test_bad_as_of_is_one_line_and_exit_code_two(tmp_path, capsys):
    code = main(["audit", str(tmp_path), "--out", str(tmp_path / "out"), "--as-of", "24-11-2026"])
    assert code == 2
    assert capsys.readouterr().err.strip() == "error: --as-of: not a date like 2026-11-24: '24-11-2026'"


@pytest.mark.slow
@pytest.mark.postgres
def test_portal_checks_push_down_to_postgresql(demo_workspace, pg_server, tmp_path):
    """In production the portal is PostgreSQL: the column checks run in it, with the same findings."""
    from fixtures_pg import portal_to_postgres

    workspace = copy_of(demo_workspace, tmp_path)
    database = portal_to_postgres(pg_server, workspace / "portal" / "portal.db")
    sources = (workspace / "sources.yml").read_text()
    (workspace / "sources.yml").write_text(sources.replace("sqlite:///portal/portal.db", f'"{pg_server.url(database)}"'))
    (workspace / "portal" / "portal.db").unlink()
    run = run_audit(workspace, tmp_path / "out", progress=False, store_path=tmp_path / "store.sqlite")
    status = {c.check: c.status for c in run.checks}
    assert status["P11.credentials_hashed"] == "failed"
    assert status["P14.portal_numbers_unique"] == "failed"
    portal = {k for k in planted(workspace) if k[1] == "customer_portal"}
    assert {f.key for f in run.findings if f.system == "customer_portal"} == portal
    assert [c.check for c in run.checks if c.status == "not_run"] == []
