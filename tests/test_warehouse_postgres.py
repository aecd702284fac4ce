"""The audit store on PostgreSQL gives the demo's findings exactly, check by check, on a real server.

The demo workspace is audited once with its SQLite store (``audited_demo``) and once with
``store:`` naming a schema in the PostgreSQL server the test run starts; every check must end in
the same state with the same findings. The subject lookup and the register's person counts read
the PostgreSQL schema and agree with SQLite too.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from datamap.audit import run_audit
from datamap.warehouse.postgres import PgStore, publish
from datamap.workspace import load_workspace

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres")]  # one server, one worker


def _with_store(ws: Path, url: str) -> Path:
    sources = ws / "sources.yml"
    sources.write_text(sources.read_text(encoding="utf-8") + f'\nstore: "{url}"\n', encoding="utf-8")
    return ws


@pytest.fixture(scope="module")
def pg_demo(audited_demo, pg_server, tmp_path_factory):
    """(workspace with a PostgreSQL store, its audit folder, the SQLite audit folder)."""
    lite_ws, lite_audit = audited_demo
    base = tmp_path_factory.mktemp("pg-demo")
    ws = Path(shutil.copytree(lite_ws, base / "ws"))
    url = pg_server.url(pg_server.create_database("audit")) + "&schema=audit_store"
    _with_store(ws, url)
    run_audit(ws, base / "audit", progress=False)
    return ws, base / "audit", lite_audit


def _by_check(folder: Path) -> tuple[dict[str, dict], dict[str, list[str]]]:
    checks = {c["check"]: c for c in json.loads((folder / "checks.json").read_text())}
    findings: dict[str, list[str]] = {}
    for f in json.loads((folder / "findings.json").read_text()):
        findings.setdefault(f["check"], []).append(json.dumps(f, sort_keys=True))
    return checks, {k: sorted(v) for k, v in findings.items()}


def test_every_check_ends_the_same_on_postgresql_as_on_sqlite(pg_demo):
    _, pg_audit, lite_audit = pg_demo
    pg_checks, pg_findings = _by_check(pg_audit)
    lite_checks, lite_findings = _by_check(lite_audit)
    assert sorted(pg_checks) == sorted(lite_checks)
    for check, lite in lite_checks.items():
        pg = pg_checks[check]
        assert (pg["status"], pg["findings"], pg["reason"], pg["rows_examined"]) == \
            (lite["status"], lite["findings"], lite["reason"], lite["rows_examined"]), check
        assert pg_findings.get(check, []) == lite_findings.get(check, []), check
    assert sum(1 for c in pg_checks.values() if c["kind"] == "sql" and c["status"] == "failed") >= 10


def test_the_run_names_its_store_without_the_password_and_leaves_no_run_schema(pg_demo, pg_server):
    ws, pg_audit, _ = pg_demo
    run = json.loads((pg_audit / "run.json").read_text())
    assert "schema audit_store" in run["store"] and "postgresql" in run["store"]
    target = PgStore.parse(load_workspace(ws).store_url)
    with target.connect() as con:
        schemas = {r[0] for r in con.execute("SELECT nspname FROM pg_namespace").fetchall()}
    assert "audit_store" in schemas and "datamap_sql" in schemas
    assert not [s for s in schemas if s.startswith("run_")], "a run's own schema outlived the run"


def test_publishing_again_copies_nothing_when_no_source_changed(pg_demo):
    ws, _, _ = pg_demo
    w = load_workspace(ws)
    assert publish(w.store_folder / "store.sqlite", PgStore.parse(w.store_url)) == {}


def test_the_subject_lookup_reads_the_postgresql_store_and_finds_the_same(pg_demo):
    from datamap import subject
    from datamap.store import open_read_only

    ws_path, _, _ = pg_demo
    ws = load_workspace(ws_path)
    dm = subject.read_map(ws)
    own = ws.policy.recipients.own_domains
    lite = open_read_only(ws.store_folder / "store.sqlite")
    pg = subject.open_store(ws)
    assert type(pg).__module__ == "datamap.warehouse.postgres"
    people = lite.execute("SELECT DISTINCT value FROM identifiers WHERE kind = 'email' ORDER BY value LIMIT 25").fetchall()
    names = lite.execute("SELECT DISTINCT name FROM name_words ORDER BY name LIMIT 10").fetchall()
    requests = [{"email": [r[0]]} for r in people] + [{"name": r[0]} for r in names]
    for request in requests:
        person = subject.Subject.from_mapping(request)
        got = [subject.match_table(subject.find(con, dm, person, own_domains=own, include_candidates=True))
               for con in (lite, pg)]
        assert got[1] == got[0], request
    lite.close()
    pg.close()


def test_the_register_counts_persons_in_the_postgresql_store(pg_demo):
    from datamap.register.columns import persons_in
    from datamap.store import pg_store

    ws_path, _, _ = pg_demo
    ws = load_workspace(ws_path)
    lite = ws.store_folder / "store.sqlite"
    datasets = tuple(sorted(ws.sources.datasets))
    own = tuple(ws.policy.recipients.own_domains)
    for staff in (None, True, False):
        counted = persons_in(pg_store(ws), datasets, own, staff)
        assert counted == persons_in(lite, datasets, own, staff) and counted


def test_audit_with_store_url_on_the_command_line(pg_demo, pg_server, tmp_path):
    from datamap.cli import main

    ws_path, _, lite_audit = pg_demo
    url = pg_server.url(pg_server.create_database("cli")) + "&schema=from_cli"
    code = main(["audit", str(ws_path), "--store", url, "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == json.loads((lite_audit / "run.json").read_text())["exit_code"]
    assert json.loads((tmp_path / "out" / "findings.json").read_text()) == \
        json.loads((lite_audit / "findings.json").read_text())


def test_a_store_url_that_cannot_be_reached_is_bad_input(demo_workspace, tmp_path, capsys):
    from datamap.cli import main

    ws = Path(shutil.copytree(demo_workspace, tmp_path / "ws"))
    url = f"postgresql://nobody@/nowhere?host={tmp_path}&schema=datamap"
    assert main(["audit", str(ws), "--store", url, "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    assert "cannot connect to the store's database" in capsys.readouterr().err
    assert main(["audit", str(ws), "--store", "postgresql://x@/db?schema=Public;drop", "--no-progress"]) == 2
    assert "cannot be the store's schema" in capsys.readouterr().err


def test_the_register_of_a_workspace_with_a_postgresql_store_reads_its_schema(pg_demo, audited_demo):
    from datamap.register.ropa import find_latest_run, register_for_workspace

    ws_path, pg_audit, _ = pg_demo
    ws = load_workspace(ws_path)
    run = find_latest_run(ws, pg_audit)
    assert run is not None and run.location == PgStore.parse(ws.store_url)
    lite_ws, lite_audit = audited_demo
    on_pg = register_for_workspace(ws, pg_audit, lang="nl")
    on_lite = register_for_workspace(lite_ws, lite_audit, lang="nl")
    shown = [repr(r.rows).replace(r.run_id or "", "RUN") for r in (on_pg, on_lite)]
    assert shown[0] == shown[1]  # the persons counted in the schema among them
