"""The pushdown path: the catalogue's portal and CRM checks run as SQL inside a real PostgreSQL server.

What it proves: the same check definitions (``checks/P*.yml``), run by the same Great Expectations
code (``datamap.audit.validation.Validator``), give the same findings when the data lives in
PostgreSQL instead of the embedded SQLite store, with every row examined in the database.

1. A throwaway server starts with ``tests/fixtures_pg.running_server`` (the tests' launcher).
2. The staged store's portal and CRM tables (and the small tables those checks join: the HR roster,
   the notice versions and notifications, the params, the identifiers of those tables) are copied
   into a ``store`` database with ``COPY``, with the same indexes (``<col>__norm``, identifiers).
   The portal's own SQLite database is copied with its production types (``portal_to_postgres``)
   for the column checks, which GE pushes down to the source itself.
3. The few SQLite functions the catalogue's SQL uses (``add_period``, ``retention_start``,
   ``fiscal_year_end``, ``julianday``, ``date``) are defined as SQL functions in a schema searched
   before ``pg_catalog``; PostgreSQL reads ISO-8601 periods (``P2Y``) natively as intervals, with
   the same month-end clamping as ``relativedelta``.
4. Every catalogue check whose tables were all copied runs with GE's SQL data source on that
   database; its findings are compared with the SQLite audit run's findings of the same checks.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

SYSTEMS = ("zoho_crm", "customer_portal")
JOINED = ("hr__roster", "governance__notice_versions", "governance__notice_notifications")
SERVER_SETTINGS = "-c shared_buffers=256MB -c work_mem=64MB -c max_connections=30"

# SQLite's date functions and the store's calendar functions (datamap.audit.params) in PostgreSQL.
COMPAT_SQL = """
CREATE SCHEMA IF NOT EXISTS sqlite_compat;
CREATE FUNCTION sqlite_compat.date(value text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN nullif(trim(value), '') IS NULL THEN NULL ELSE left(trim(value), 10) END $$;
CREATE FUNCTION sqlite_compat.julianday(value text) RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
  SELECT extract(epoch FROM nullif(trim(value), '')::timestamp) / 86400.0 + 2440587.5 $$;
CREATE FUNCTION sqlite_compat.add_period(value text, period text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(left(trim(value), 10)::date + period::interval, 'YYYY-MM-DD')
  WHERE nullif(trim(value), '') IS NOT NULL AND period IS NOT NULL $$;
CREATE FUNCTION sqlite_compat.fiscal_year_end(value text, month_day text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(CASE WHEN d <= e THEN e ELSE (e + interval '1 year')::date END, 'YYYY-MM-DD')
  FROM (SELECT left(trim(value), 10)::date AS d,
               make_date(extract(year FROM left(trim(value), 10)::date)::int,
                         split_part(coalesce(month_day, '12-31'), '-', 1)::int,
                         split_part(coalesce(month_day, '12-31'), '-', 2)::int) AS e
        WHERE nullif(trim(value), '') IS NOT NULL) AS x $$;
CREATE FUNCTION sqlite_compat.retention_start(value text, anchor text, month_day text) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN anchor = 'fiscal_year_end' THEN sqlite_compat.fiscal_year_end(value, month_day)
              ELSE sqlite_compat.date(value) END $$;
"""


# PostgreSQL before 16 wants an alias on every subquery in FROM; for a query with a JOIN, GE puts
# the batch in as a bare "(SELECT ...)", so the catalogue's "(SELECT * FROM {batch}) AS u" becomes
# an unaliased subquery inside an aliased one. "{batch} AS u" means the same on every dialect.
_WRAPPED_BATCH = re.compile(r"\(\s*SELECT\s+\*\s+FROM\s+\{batch\}\s*\)\s+AS\s+(\w+)", re.IGNORECASE)


def portable(check: Any) -> Any:
    """The check with ``(SELECT * FROM {batch}) AS u`` written ``{batch} AS u`` where GE leaves aliasing to the query (joins)."""
    query = check.spec.query
    if not query or not _WRAPPED_BATCH.search(query) or not re.search(r"\bJOIN\b", query, re.IGNORECASE):
        return check
    spec = check.spec.model_copy(update={"query": _WRAPPED_BATCH.sub(r"{batch} AS \1", query)})
    return check.model_copy(update={"spec": spec})


def _pg_type(declared: str) -> str:
    return "bigint" if (declared or "").upper().startswith("INT") else "text"


def copy_table(db: sqlite3.Connection, pg: Any, table: str, where: str = "", args: tuple[Any, ...] = ()) -> int:
    """Copy one store table into PostgreSQL with COPY, same columns, INTEGER as bigint, the rest text."""
    info = db.execute(f'PRAGMA table_info("{table}")').fetchall()
    columns = [(c[1], _pg_type(c[2])) for c in info]
    names = ", ".join(f'"{n}"' for n, _ in columns)
    pg.execute(f'CREATE TABLE IF NOT EXISTS "{table}" (' + ", ".join(f'"{n}" {t}' for n, t in columns) + ")")
    rows = 0
    with pg.cursor() as cur, cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in db.execute(f'SELECT {names} FROM "{table}" {where}', args):
            copy.write_row(row)
            rows += 1
    for name, _ in columns:
        if name.endswith("__norm"):
            pg.execute(f'CREATE INDEX ON "{table}" ("{name}")')
    return rows


def load_store(store: Path, server: Any, tables: list[str]) -> tuple[str, int]:
    """Copy the chosen store tables and their identifiers into a new database, with the compat functions."""
    import psycopg

    name = server.create_database("store")
    rows = 0
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db, \
            psycopg.connect(host=str(server.socket_dir), user="postgres", dbname=name) as pg:
        pg.execute(COMPAT_SQL)
        for table in tables:
            rows += copy_table(db, pg, table)
        marks = ", ".join("?" for _ in tables)
        rows += copy_table(db, pg, "identifiers", f"WHERE tbl IN ({marks})", tuple(tables))
        pg.execute("CREATE INDEX ON identifiers (kind, value)")
        pg.execute("CREATE INDEX ON identifiers (tbl, record_key)")
        pg.execute("ANALYZE")
        pg.commit()
    return name, rows


def run_pushdown(workspace: Path, work: Path) -> dict[str, Any]:
    """Copy the portal and CRM tables into PostgreSQL, run their checks there, compare with SQLite."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.fixtures_pg import portal_to_postgres, running_server

    from datamap.audit.catalogue import fill, load_catalogue
    from datamap.audit.evidence import row_finding
    from datamap.audit.mapfacts import workspace_facts
    from datamap.audit.params import as_param, policy_value, standard_params
    from datamap.audit.params import put_params
    from datamap.audit.run import _column_kwargs, column_target, needed_tables, resolve_checks
    from datamap.audit.validation import Validator
    from datamap.identity import Pseudonymizer, load_key
    from datamap.map import load_map
    from datamap.store import stage
    from datamap.workspace import load_workspace

    ws = load_workspace(workspace)
    work.mkdir(parents=True, exist_ok=True)
    staged = stage(ws)  # reused: the audit phase staged it
    store = staged.path
    staged.close()
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        present = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    copied = sorted(t for t in present if t.split("__")[0] in SYSTEMS) + [t for t in JOINED if t in present]

    day = ws.policy.reference_date()
    checks = resolve_checks(ws, load_catalogue())
    params = standard_params(ws, day, workspace_facts(load_map(ws), ws))
    for check in checks:
        for name, ref in check.spec.params.items():
            if check.spec.kind == "sql":
                params[name] = as_param(policy_value(ws, ref[2:-1], check.file, f"checks.{check.spec.id}.params.{name}"))
    # identifiers are copied for the copied tables only, so a check may read them when it names no other table
    own = {k: v for k, v in params.items() if k != "identity.tables"}
    chosen = [c for c in checks if (c.spec.kind == "sql" and set(needed_tables(c, ws, own)) <= set(copied)
                                    and "retention_due" not in (c.spec.query or ""))
              or (c.spec.kind == "column" and column_target(c)[0] in SYSTEMS)]

    # the run's params, written as the audit writes them, on a private copy of the params table
    params_db = work / "params.sqlite"
    params_db.unlink(missing_ok=True)
    with sqlite3.connect(params_db) as db:
        put_params(db, params)
    pseudo = Pseudonymizer(load_key(ws.root))
    info: dict[str, Any] = {}
    with running_server(SERVER_SETTINGS) as server:
        started = time.perf_counter()
        name, rows = _load(store, params_db, server, copied)
        portal_db = portal_to_postgres(server, workspace / "portal" / "portal.db")
        info["load_seconds"] = round(time.perf_counter() - started, 2)
        info["rows_copied"] = rows
        validator = Validator(params_db, work / "data_docs", run_name="pushdown")
        search = "options=-csearch_path%3Dsqlite_compat,pg_catalog,public"
        with warnings.catch_warnings():  # GE suggests add_postgres, whose DSN model refuses a unix-socket URL
            warnings.simplefilter("ignore")
            validator.store = validator.context.data_sources.add_sql("pg_store", connection_string=f"{server.url(name)}&{search}")
        validator._sources["pg_store"] = validator.store
        portal_url = server.url(portal_db)
        found: dict[str, set[str]] = {}
        seconds: dict[str, float] = {}
        errors: dict[str, str] = {}
        started = time.perf_counter()
        for check in map(portable, chosen):
            t0 = time.perf_counter()
            try:
                if check.spec.kind == "sql":
                    outcome = validator.run_sql(check)
                else:
                    dataset, name = column_target(check)
                    collection = ws.sources.datasets[dataset].collections[name]
                    outcome = validator.run_column(check, "pg_portal", portal_url, collection.table or name,
                                                   _column_kwargs(check, ws))
            except Exception as exc:  # noqa: BLE001 -- reported per check, never a pass
                errors[check.check_id] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                continue
            seconds[check.check_id] = round(time.perf_counter() - t0, 3)
            found[check.check_id] = {str(row_finding(check, row, pseudo, {}).record_key) for row in outcome.rows}
        info["checks_seconds"] = round(time.perf_counter() - started, 2)
        validator.close()
    info.update(_compare(work.parent / "audit", found, seconds, errors))
    info["checks"] = len(chosen)
    info["rewritten"] = sorted(c.check_id for c in chosen if portable(c) is not c)
    info["tables"] = copied
    return info


def _load(store: Path, params_db: Path, server: Any, tables: list[str]) -> tuple[str, int]:
    """The store tables plus this run's params (from the private params copy)."""
    import psycopg

    name, rows = load_store(store, server, tables)
    with sqlite3.connect(params_db) as db, psycopg.connect(host=str(server.socket_dir), user="postgres", dbname=name) as pg:
        rows += copy_table(db, pg, "params")
        pg.execute("ANALYZE params")
        pg.commit()
    return name, rows


def _compare(audit_dir: Path, found: dict[str, set[str]], seconds: dict[str, float], errors: dict[str, str]) -> dict[str, Any]:
    """Findings and time of the same checks in the SQLite audit run (``checks.json``, ``findings.json``)."""
    out: dict[str, Any] = {"errors": errors, "findings": sum(len(v) for v in found.values())}
    if not (audit_dir / "findings.json").is_file():
        out["summary"] = f"{len(found)} checks in PostgreSQL, {out['findings']} findings (no SQLite run to compare)"
        return out
    sqlite_found: dict[str, set[str]] = {}
    for f in json.loads((audit_dir / "findings.json").read_text(encoding="utf-8")):
        sqlite_found.setdefault(f["check"], set()).add(str(f["record_key"]))
    sqlite_secs = {c["check"]: c["seconds"] for c in json.loads((audit_dir / "checks.json").read_text(encoding="utf-8"))}
    same = [c for c in found if found[c] == sqlite_found.get(c, set())]
    differ = {c: {"postgres": len(found[c]), "sqlite": len(sqlite_found.get(c, set()))} for c in found if c not in same}
    pg_total = sum(seconds.values())
    lite_total = sum(sqlite_secs.get(c, 0.0) for c in found)
    out.update({"same_findings": len(same), "differ": differ, "postgres_check_seconds": round(pg_total, 2),
                "sqlite_check_seconds": round(lite_total, 2), "per_check": {c: [seconds[c], sqlite_secs.get(c)] for c in found}})
    out["summary"] = (f"{len(found)} checks ran in PostgreSQL ({len(errors)} errors): {len(same)}/{len(found)} gave the "
                      f"same findings as SQLite ({out['findings']} findings); checks {pg_total:.1f} s in PostgreSQL vs "
                      f"{lite_total:.1f} s in SQLite")
    return out
