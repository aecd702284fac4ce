"""The catalogue on Spark (datamap.warehouse.spark) gives SQLite's answers: function by function on
edge values, and check by check on the demo estate (``datamap audit --engine spark``).

One local Spark session for the whole module (it takes seconds to start and a JVM of its own);
marked ``spark`` and kept on one xdist worker, so a test run starts it once, on the smallest demo.
Needs a Java runtime: ``bash .ci/system-deps`` installs the distribution's when there is none.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any, Iterator

import pytest

from datamap.audit.params import register_functions as sqlite_functions
from datamap.errors import BadInput
from datamap.warehouse import spark as engine

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.xdist_group("spark")]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = engine.session()
    engine.register_functions(session)
    yield session
    session.stop()


def as_text(rows: list[dict[str, Any]]) -> list[dict[str, str | None]]:
    """Rows compared as the findings read them: every value as text, in a fixed order."""
    shown = [{k: None if v is None else str(v) for k, v in row.items()} for row in rows]
    return sorted(shown, key=lambda row: json.dumps(row, sort_keys=True))


def sqlite_rows(con: sqlite3.Connection, query: str) -> list[dict[str, Any]]:
    cursor = con.execute(query)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def spark_rows(session: Any, query: str) -> list[dict[str, Any]]:
    return [row.asDict() for row in session.sql(engine.to_spark(query)).collect()]


# --- the functions ----------------------------------------------------------------------------------

# (day, period, month_day, anchor, text): the calendar reads day, period, month_day and anchor (its
# inputs are always dates or NULL: a bad date fails the query on both engines); text is anything.
CORPUS = [
    ("2024-01-31", "P1M", "12-31", "date", " Jan.de.Vries@Apora.NL "),
    ("2023-01-31", "P1M", "06-30", "fiscal_year_end", "mailto:Piet@Example.com"),
    ("2024-02-29", "P1Y", "06-30", "fiscal_year_end", "not an address"),
    ("2024-06-30", "P7Y", "06-30", "fiscal_year_end", "06-12345678"),
    ("2024-07-01", "P7Y", "06-30", "fiscal_year_end", "+31 (0)6 1234 5678"),
    ("2024-12-31", "P14D", None, "fiscal_year_end", "0031 20 123 4567"),
    ("2024-03-31T23:59:59Z", "P2M", "12-31", "date", "06 1234 567"),
    ("2024-08-31 08:00:00", "P6M", "02-28", "fiscal_year_end", "Émile  de  Vries"),
    ("2025-02-28", "P1Y6M", "12-31", "date", "ZOË O'Brien-Müller"),
    (None, "P1M", "12-31", "date", None),
    ("2024-05-01", None, "12-31", "date", "2024-03-01T00:30:00+01:00"),
    ("", "P1M", "12-31", "date", "2024-02-30"),
    ("2024-01-15", "P1M", "12-31", "date", "2024-03-01 10:00"),
    ("2024-01-15", "P1M", "12-31", "date", "ÉAbc DEF"),
]
PROBE = """SELECT n, add_period(day, period) AS add_period, fiscal_year_end(day, month_day) AS fiscal_year_end,
       retention_start(day, anchor, month_day) AS retention_start,
       norm_email(text) AS norm_email, norm_phone(text) AS norm_phone, norm_name(text) AS norm_name,
       date(text) AS day_of, julianday(date(text)) AS julian, lower(text) AS lowered, trim(text, ' .') AS trimmed
FROM corpus"""


def test_the_store_functions_on_spark_equal_sqlite_on_edge_values(spark):
    rows = [(n, *values) for n, values in enumerate(CORPUS)]
    con = sqlite3.connect(":memory:")
    sqlite_functions(con)
    con.execute("CREATE TABLE corpus (n INTEGER, day TEXT, period TEXT, month_day TEXT, anchor TEXT, text TEXT)")
    con.executemany("INSERT INTO corpus VALUES (?, ?, ?, ?, ?, ?)", rows)
    spark.createDataFrame(rows, "n BIGINT, day STRING, period STRING, month_day STRING, anchor STRING, text STRING") \
        .createOrReplaceTempView("corpus")
    expected = as_text(sqlite_rows(con, PROBE))
    assert as_text(spark_rows(spark, PROBE)) == expected
    by_n = {row["n"]: row for row in expected}  # and SQLite says what the calendar promises
    assert by_n["0"]["add_period"] == "2024-02-29" and by_n["2"]["add_period"] == "2025-02-28"
    assert by_n["4"]["retention_start"] == "2025-06-30" and by_n["3"]["retention_start"] == "2024-06-30"
    assert by_n["10"]["day_of"] == "2024-02-29" and by_n["12"]["day_of"] == "2024-03-01" and by_n["2"]["day_of"] is None
    assert by_n["13"]["lowered"] == "Éabc def"


def test_to_spark_rewrites_only_what_spark_reads_differently():
    query = ("WITH k AS MATERIALIZED (SELECT CAST(id AS TEXT) AS id, m.date FROM t AS m) "
             "SELECT group_concat(DISTINCT id), trim(id, '<> '), trim(coalesce(id, '')), date(m.date), "
             "lower(x), CAST(n AS INTEGER) FROM k")
    assert engine.to_spark(query) == (
        "WITH k AS (SELECT CAST(id AS STRING) AS id, m.date FROM t AS m) "
        "SELECT CASE WHEN count(id) > 0 THEN array_join(array_sort(collect_set(CAST(id AS STRING))), ',') END, "
        "btrim(id, '<> '), trim(coalesce(id, '')), sqlite_date(m.date), ascii_lower(x), CAST(n AS BIGINT) FROM k")


# --- the demo estate ----------------------------------------------------------------------------------


def test_the_spark_engine_ends_every_check_as_the_sqlite_store_does(spark, audited_demo, tmp_path):
    """``datamap audit --engine spark``: every check in the same state with the same findings, through
    Great Expectations' Spark data source in this module's session (getOrCreate finds it)."""
    from benchmarks.engines import compare
    from datamap.cli import main

    ws, lite_audit = audited_demo
    copy = Path(shutil.copytree(ws, tmp_path / "ws"))
    code = main(["audit", str(copy), "--engine", "spark", "--out", str(tmp_path / "audit"), "--no-progress"])
    assert code == json.loads((lite_audit / "run.json").read_text())["exit_code"]
    same = compare(lite_audit, tmp_path / "audit")
    assert same["differ"] == {}, same["differ"]
    assert same["same"] == same["checks"] > 40 and same["findings"] > 50
    assert json.loads((tmp_path / "audit" / "run.json").read_text())["engine"] == "spark (local[2])"


def test_an_unknown_engine_is_bad_input(demo_workspace, tmp_path, capsys):
    from datamap.cli import main

    assert main(["audit", str(demo_workspace), "--engine", "duckdb", "--out", str(tmp_path), "--no-progress"]) == 2
    assert "unknown engine 'duckdb'" in capsys.readouterr().err


@pytest.fixture
def demo_store(audited_demo, tmp_path) -> Path:
    """A copy of the audited demo's SQLite store."""
    return Path(shutil.copy(audited_demo[0] / ".datamap" / "store.sqlite", tmp_path / "store.sqlite"))


# --- the export --------------------------------------------------------------------------------------


def test_the_export_rewrites_only_the_datasets_whose_staging_changed(demo_store, tmp_path):
    store = demo_store
    folder = tmp_path / "parquet"
    first = engine.export_tables(store, folder)
    written = {t: p.stat().st_mtime_ns for t, p in first.items()}
    with contextlib.closing(sqlite3.connect(store)) as db:  # zoho_crm restaged from other bytes
        db.execute("UPDATE _staging SET fingerprint = 'changed' WHERE tbl LIKE 'zoho\\_crm\\_\\_%' ESCAPE '\\'")
        db.commit()
    again = engine.export_tables(store, folder)
    rewritten = sorted(t for t, p in again.items() if p.stat().st_mtime_ns != written[t])
    assert rewritten and all(t.startswith("zoho_crm__") for t in rewritten)
    assert "zoho_crm__users" in rewritten and "zoho_crm__leads__identifiers" in rewritten
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert {oct(p.stat().st_mode & 0o777) for p in again.values()} == {"0o600"}


def test_the_export_keeps_sqlite_integers_as_int64_and_the_rest_as_text(demo_store, tmp_path):
    import pyarrow.parquet as pq

    paths = engine.export_tables(demo_store, tmp_path / "parquet", ["governance__privacy_requests"])
    schema = pq.read_schema(paths["governance__privacy_requests"])
    assert str(schema.field("_row").type) == "int64" and str(schema.field("request_id").type) == "string"
    with pytest.raises(BadInput, match="has no table nowhere__else"):
        engine.export_tables(demo_store, tmp_path / "parquet", ["nowhere__else"])


def test_a_missing_java_is_one_line_saying_what_to_install(monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", os.devnull)
    with pytest.raises(BadInput, match="Spark needs a Java runtime.*default-jre-headless"):
        engine.session("local[1]")
