"""Security and privacy of the auditor's outputs: read-only sources, bound SQL parameters, escaped
HTML, a pseudonym key that never leaves its file, and database passwords that never show.

Most claims are judged on one hardened ``datamap all`` run (tests/reliability_runs.py): SQL in
policy.yml, the key created as a file, networking blocked.
"""
from __future__ import annotations

import os
import re
import sqlite3
import stat
from pathlib import Path

import pytest

from reliability_runs import INJECTED_ADDRESS, INJECTED_DOMAIN, checksums, hardened_run, output_files

SCRIPT_TAG = "<script>alert('x')</script>"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory):
    return hardened_run(demo_workspace, tmp_path_factory)


@pytest.mark.slow
def test_the_hardened_full_run_completes_with_findings(run) -> None:
    assert run.result["exit_code"] == 1, (run.logs / "stderr.txt").read_text(errors="replace")[-3000:]


# --- sources are opened read-only ------------------------------------------------------------------


@pytest.mark.slow
def test_a_full_run_leaves_every_source_byte_for_byte_as_it_was(run) -> None:
    before, after = run.result["before"], run.result["after"]
    assert "portal/portal.db" in before and "exports/zoho_crm/Leads.csv" in before
    assert after == before


def test_a_write_through_the_sqlite_source_connection_is_refused(demo_workspace: Path, tmp_path: Path) -> None:
    import shutil

    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from datamap.sources import source_engine
    from datamap.workspace import load_workspace

    ws = tmp_path / "ws"
    shutil.copytree(demo_workspace, ws, ignore=shutil.ignore_patterns(".datamap"))
    before = checksums(ws / "portal")
    engine = source_engine(load_workspace(ws), "customer_portal")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM accounts")).scalar_one() > 0
            with pytest.raises(OperationalError, match="readonly database"):
                conn.execute(text("DELETE FROM accounts"))
                conn.commit()
    finally:
        engine.dispose()
    assert checksums(ws / "portal") == before


@pytest.mark.postgres
def test_a_write_through_the_postgresql_source_connection_is_refused(demo_workspace: Path, pg_server, tmp_path: Path) -> None:
    import shutil

    import psycopg
    from sqlalchemy import text
    from sqlalchemy.exc import InternalError, OperationalError, ProgrammingError

    from datamap.sources import source_engine
    from datamap.workspace import load_workspace
    from fixtures_pg import portal_to_postgres

    ws = tmp_path / "ws"
    shutil.copytree(demo_workspace, ws, ignore=shutil.ignore_patterns(".datamap"))
    database = portal_to_postgres(pg_server, ws / "portal" / "portal.db")
    sources = ws / "sources.yml"
    sources.write_text(sources.read_text(encoding="utf-8").replace(
        "url: sqlite:///portal/portal.db", f'url: "{pg_server.url(database)}"'), encoding="utf-8")
    engine = source_engine(load_workspace(ws), "customer_portal")
    try:
        with engine.connect() as conn:
            with pytest.raises((InternalError, OperationalError, ProgrammingError), match="read-only transaction"):
                conn.execute(text("DELETE FROM accounts"))
                conn.commit()
    finally:
        engine.dispose()
    with psycopg.connect(host=str(pg_server.socket_dir), user="postgres", dbname=database) as conn:
        rows = conn.execute("SELECT count(*) FROM accounts").fetchone()[0]
    with sqlite3.connect(ws / "portal" / "portal.db") as db:
        assert rows == db.execute("SELECT count(*) FROM accounts").fetchone()[0] > 0
    db.close()


# --- policy values reach SQL only as bound parameters --------------------------------------------------


@pytest.mark.slow
def test_sql_in_policy_values_is_treated_as_data(run) -> None:
    import json

    store = run.workspace / ".datamap" / "store.sqlite"
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        assert db.execute("SELECT count(*) FROM zoho_crm__leads").fetchone()[0] > 0
    db.close()
    checks = {c["check"]: c for c in json.loads((run.out / "audit" / "checks.json").read_text(encoding="utf-8"))}
    mail = checks["P03.mail_recipients_approved"]
    assert mail["status"] == "failed" and mail["findings"] > 0  # the planted undeclared recipients are still found
    assert [c["check"] for c in checks.values() if c["status"] == "not_run"] == []
    manifest = json.loads((run.out / "audit" / "run.json").read_text(encoding="utf-8"))
    assert manifest["checks"]["not_run"] == 0
    policy = (run.workspace / "policy.yml").read_text(encoding="utf-8")
    assert INJECTED_DOMAIN in policy and INJECTED_ADDRESS in policy


def test_policy_parameters_are_stored_verbatim_and_read_back_through_params(tmp_path: Path) -> None:
    from datamap.audit.params import put_params

    db = sqlite3.connect(tmp_path / "store.sqlite")
    db.execute("CREATE TABLE zoho_crm__leads (record_id TEXT)")
    db.execute("INSERT INTO zoho_crm__leads VALUES ('1')")
    put_params(db, {"recipients.approved_domains": ["zoho.eu", INJECTED_DOMAIN], "x": INJECTED_ADDRESS})
    assert db.execute("SELECT value FROM params WHERE name = 'x'").fetchall() == [(INJECTED_ADDRESS,)]
    assert db.execute("SELECT value FROM params WHERE name = 'recipients.approved_domains' ORDER BY value").fetchall() == [
        (INJECTED_DOMAIN,), ("zoho.eu",)]
    assert db.execute("SELECT count(*) FROM zoho_crm__leads").fetchone()[0] == 1
    db.close()


# --- values from the data are escaped in every HTML output ----------------------------------------------


@pytest.mark.slow
def test_the_script_tag_lead_is_never_a_live_tag_in_any_html_output(run) -> None:
    leads = (run.workspace / "exports" / "zoho_crm" / "Leads.csv").read_text(encoding="utf-8-sig")
    assert SCRIPT_TAG in leads  # the demo estate plants it
    pages = [p for p in output_files(run.out) if p.suffix in (".html", ".htm")]
    names = {p.name for p in pages}
    assert "audit-report.html" in names and any(n.startswith("ropa-") for n in names) and "index.html" in names
    live = [str(p.relative_to(run.out)) for p in pages if re.search(r"<script>\s*alert", p.read_text(errors="replace"))]
    assert live == []


# --- the pseudonym key -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_pseudonym_key_is_a_0600_file_outside_the_repository_and_workspace(run) -> None:
    keys = list((run.config / "datamap" / "keys").glob("*.key"))
    assert len(keys) == 1
    key = keys[0].resolve()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not key.is_relative_to(REPO) and not key.is_relative_to(run.workspace.resolve())
    assert len(key.read_text().strip()) >= 32


@pytest.mark.slow
def test_the_pseudonym_key_is_never_written_to_any_output(run) -> None:
    (key_file,) = (run.config / "datamap" / "keys").glob("*.key")
    key = key_file.read_bytes().strip()
    files = output_files(run.out, run.logs, run.workspace)
    assert len(files) > 50
    assert [str(p) for p in files if key in p.read_bytes()] == []


def test_a_key_from_the_environment_is_used_and_no_file_is_made(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from datamap.identity import Pseudonymizer, load_key

    monkeypatch.setenv("DATAMAP_KEY", "environment-key-for-this-test")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert load_key(tmp_path) == b"environment-key-for-this-test"
    assert not (tmp_path / "config").exists()
    ref = Pseudonymizer(load_key(tmp_path)).ref("jan@example.nl")
    assert re.fullmatch(r"subj-[0-9a-f]{12}", ref) and "environment-key" not in ref


# --- database passwords never show -----------------------------------------------------------------------


@pytest.mark.postgres
def test_a_database_password_is_redacted_in_provenance_errors_and_the_store(demo_workspace: Path, pg_server,
                                                                            tmp_path: Path, monkeypatch) -> None:
    import shutil

    from datamap.store import stage
    from fixtures_pg import portal_to_postgres

    password = "Pw-d0-not-show-7f3a"
    monkeypatch.setenv("DATAMAP_TEST_PORTAL_PASSWORD", password)
    ws = tmp_path / "ws"
    shutil.copytree(demo_workspace, ws, ignore=shutil.ignore_patterns(".datamap"))
    database = portal_to_postgres(pg_server, ws / "portal" / "portal.db")
    sources = ws / "sources.yml"
    url = pg_server.url(database, password_env="DATAMAP_TEST_PORTAL_PASSWORD")
    text = sources.read_text(encoding="utf-8").replace("url: sqlite:///portal/portal.db", f'url: "{url}"')
    text = text.replace("cookie_log: {table: cookie_log}", "cookie_log: {table: no_such_table}")
    sources.write_text(text, encoding="utf-8")

    store = stage(ws, collections=[("customer_portal", "accounts"), ("customer_portal", "cookie_log")])
    try:
        provenance = store.provenance()
        errors = store.errors()
    finally:
        store.close()
    (shown,) = [p["url"] for p in provenance if p["tbl"] == "customer_portal__accounts"]
    assert shown.startswith(f"postgresql+psycopg://postgres:***@/{database}?host=") and password not in shown
    (line,) = errors.values()
    assert "***" in line and password not in line
    assert password.encode() not in (ws / ".datamap" / "store.sqlite").read_bytes()
    assert all(password.encode() not in p.read_bytes() for p in (ws / ".datamap").rglob("*") if p.is_file())


# --- no network --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_full_run_with_networking_blocked_completes_and_tries_no_connection(run) -> None:
    assert run.result["exit_code"] == 1
    assert Path(f"{run.net_log}.loaded").is_file()
    assert run.net_log.read_text(encoding="utf-8") == ""
    assert (run.out / "audit-report.html").is_file() and (run.out / "audit" / "findings.json").is_file()
