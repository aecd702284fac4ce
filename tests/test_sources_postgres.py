"""The portal's read paths work the same against a real PostgreSQL server as against SQLite, read-only."""
from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from datamap.sources import read_collection, source_engine
from datamap.store import stage
from datamap.workspace import load_workspace
from fixtures_pg import portal_to_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres")]  # one server, one worker

PORTAL_TABLES = ("accounts", "trials", "cookie_log", "portal_users")


@pytest.fixture
def pg_workspace(sources_workspace, pg_server, monkeypatch):
    """The fixture workspace with its portal moved into PostgreSQL, the password given as ${VAR}."""
    monkeypatch.setenv("DATAMAP_TEST_PG_PASSWORD", "pg-s3cret")
    name = portal_to_postgres(pg_server, sources_workspace / "portal" / "portal.db")
    sources = sources_workspace / "sources.yml"
    url = pg_server.url(name, password_env="DATAMAP_TEST_PG_PASSWORD")
    sources.write_text(sources.read_text().replace("url: sqlite:///portal/portal.db", f'url: "{url}"'))
    return sources_workspace


def frame(ws_root, table: str, chunksize: int = 1) -> pd.DataFrame:
    ws = load_workspace(ws_root)
    return pd.concat(list(read_collection(ws, "customer_portal", table, chunksize=chunksize)), ignore_index=True)


@pytest.mark.parametrize("table", PORTAL_TABLES)
def test_a_portal_table_reads_the_same_from_postgresql_as_from_sqlite(sources_workspace, pg_workspace, table):
    sqlite_copy = sources_workspace.parent / "sqlite"
    from fixtures_sources import build_sources_workspace

    from_sqlite = frame(build_sources_workspace(sqlite_copy), table)
    from_pg = frame(pg_workspace, table)
    assert from_pg.to_dict("records") == from_sqlite.to_dict("records")


def test_postgresql_timestamps_become_iso_text_in_the_store_shape(pg_workspace):
    accounts = frame(pg_workspace, "accounts")
    assert list(accounts["created_at"]) == ["2023-01-05 10:00:00", "2022-06-01 08:30:00"]
    assert list(accounts["closed_at"]) == [None, "2024-02-29 17:00:00"]
    assert list(accounts["account_id"]) == [1, 2]


def test_a_postgresql_session_is_read_only_so_a_write_is_refused(pg_workspace):
    engine = source_engine(load_workspace(pg_workspace), "customer_portal")
    try:
        with pytest.raises(DBAPIError, match="read-only transaction"):
            with engine.begin() as conn:
                conn.execute(text("UPDATE accounts SET email = 'x@example.org'"))
        with engine.connect() as conn:
            assert conn.execute(text("SHOW default_transaction_read_only")).scalar_one() == "on"
            assert conn.execute(text("SELECT count(*) FROM accounts WHERE email = 'x@example.org'")).scalar_one() == 0
    finally:
        engine.dispose()


def table_checksums(pg_workspace) -> dict[str, str]:
    """md5 of every portal table's rows, read through a plain (not our) connection."""
    import psycopg

    url = load_workspace(pg_workspace).sources.datasets["customer_portal"].url
    host, database = url.split("host=")[1], url.split("@/")[1].split("?")[0]
    with psycopg.connect(host=host, user="postgres", dbname=database) as conn:
        return {t: conn.execute(f'SELECT md5(coalesce(string_agg(x::text, \'|\' ORDER BY x::text), \'\')) FROM "{t}" x')
                .fetchone()[0] for t in PORTAL_TABLES}


def test_staging_from_postgresql_records_the_url_without_its_password(pg_workspace, pg_server):
    before = table_checksums(pg_workspace)
    store = stage(pg_workspace, collections=[("customer_portal", t) for t in PORTAL_TABLES])
    assert table_checksums(pg_workspace) == before
    assert store.errors() == {}
    assert {k[1]: s.rows for k, s in store.status.items()} == {"accounts": 2, "trials": 1, "cookie_log": 2, "portal_users": 1}
    prov = {p["tbl"]: p for p in store.provenance()}
    url = prov["customer_portal__accounts"]["url"]
    assert url.startswith("postgresql+psycopg://postgres:***@/portal_")
    assert "pg-s3cret" not in str(store.provenance())
    assert prov["customer_portal__accounts"]["sha256"] is None  # a server cannot be hashed: restaged each run
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT trial_id, started_at, ended_at FROM customer_portal__trials")).all() == [
            (10, "2025-01-01 09:00:00", "2025-01-20 09:00:00")]


def test_the_read_only_connection_string_refuses_writes_in_an_engine_built_elsewhere(pg_workspace):
    from sqlalchemy import create_engine

    from datamap.sources import source_url

    url = source_url(load_workspace(pg_workspace), "customer_portal")
    engine = create_engine(url)  # as Great Expectations would: no event listeners of ours
    try:
        with pytest.raises(DBAPIError, match="read-only transaction"):
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM trials"))
    finally:
        engine.dispose()


@pytest.mark.slow
def test_the_demo_portal_reads_the_same_from_postgresql_as_from_sqlite(demo_workspace, pg_server, tmp_path):
    import shutil

    copy = tmp_path / "demo"
    shutil.copytree(demo_workspace, copy, ignore=shutil.ignore_patterns(".datamap"))
    name = portal_to_postgres(pg_server, copy / "portal" / "portal.db")
    from_sqlite = {t: frame(copy, t, chunksize=100) for t in PORTAL_TABLES}
    sources = copy / "sources.yml"
    sources.write_text(sources.read_text().replace("url: sqlite:///portal/portal.db", f'url: "{pg_server.url(name)}"'))
    for table in PORTAL_TABLES:
        from_pg = frame(copy, table, chunksize=100)
        assert len(from_pg) == len(from_sqlite[table]) > 0, table
        assert from_pg.to_dict("records") == from_sqlite[table].to_dict("records"), table
