"""The catalogue on Spark: the audit store as Parquet, its SQL functions as pandas UDFs, its queries as Spark SQL.

The store stays the SQLite file staging writes; :func:`export_tables` copies its tables to Parquet
(only the datasets whose staging changed since the last export), :func:`register_views` makes
them Spark temp views under the store's names, with the ``identifiers`` and ``name_words`` unions
and the run's ``params`` and ``retention_due``, and :func:`to_spark` rewrites a catalogue query
(SQLite's dialect) into Spark SQL::

    spark = session()                        # local[2]; session("spark://host:7077") for a cluster
    register_functions(spark)
    export_tables(store_path, folder)        # <folder>/<table>.parquet, identifiers/tbl=<table>/...
    register_views(spark, folder, run_db)    # run_db: the run's params and retention_due
    spark.sql(to_spark(query).format(batch="zoho_crm__users")).collect()

Verified on the demo: every sql check of the catalogue returns SQLite's rows
(tests/test_warehouse_spark.py). Two Spark 4.1 defects shape :func:`register_views`: a pandas UDF
given two scalar subqueries over a local relation receives the first one's value for both, and a
cached table read in a scalar subquery beside a pandas UDF fails; so the run's tables are
checkpointed RDDs and nothing is cached.

Great Expectations (1.x) runs ``UnexpectedRowsExpectation`` on Spark by registering the batch's
dataframe as the temp view ``tmp_view`` and formatting ``{batch}`` to it, in the same session:
``context.data_sources.add_spark(name)`` (no ``spark_config``), then
``add_dataframe_asset(table).add_batch_definition_whole_dataframe(...)`` with
``batch_parameters={"dataframe": spark.table(table)}``. Its ``SparkDFExecutionEngine`` asks
``SparkSession.builder.getOrCreate()`` (after trying a Spark Connect session), which returns the
session :func:`session` made, so the views and functions registered here are the ones the checks
see. A ``spark_config`` that differs from this session's and cannot be set at run time makes GE
stop the session and start another without them: pass none.
"""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from datamap.errors import BadInput
from datamap.outputs import write_atomic

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession

LOCAL = "local[2]"
MANIFEST = "exported.json"  # what each Parquet file was exported from: the staging fingerprint of its dataset
LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")
_BATCH = 50_000  # rows per Parquet row group: memory stays one batch, whatever the table
# the store's views over every table's own identifiers and name words (datamap.store.unite_identifiers)
UNIONS = {"identifiers": ("tbl", "record_key", "kind", "value"), "name_words": ("word", "tbl", "record_key", "name")}


# --- the session -----------------------------------------------------------------------------------


def session(master: str | None = None) -> "SparkSession":
    """A Spark session for the catalogue: ``local[2]`` by default, or a cluster by URL.

    ``spark://host:7077`` (a standalone cluster; ``yarn`` and ``k8s://...`` work alike) runs the
    queries on its executors: each executor needs Python with datamap, pandas and pyarrow
    installed (the UDFs call datamap's own functions there), at the path ``PYSPARK_PYTHON`` or
    ``spark.pyspark.python`` names; this machine stays the driver and needs Java 17 or 21.
    ``sc://host:15002`` (Spark Connect) needs no Java here but ``pip install 'pyspark[connect]'``,
    and the server's Python needs datamap for the UDFs. On a cluster the Parquet folder
    (:func:`export_tables`) must be a path the executors read too (a shared file system). Runs are
    UTC, ANSI mode is off (SQLite never fails a query on a bad cell: a bad cast is NULL, not an
    error) and the logs say errors only. One session per process: a second call returns the first.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise BadInput(None, None, "the Spark engine needs pyspark", "pip install 'datamap[spark]'") from None
    url = master or LOCAL
    settings = {"spark.sql.session.timeZone": "UTC", "spark.sql.ansi.enabled": "false",
                "spark.sql.execution.arrow.pyspark.enabled": "true"}
    if url.startswith("sc://"):
        builder = SparkSession.builder.remote(url)
    else:
        _java_or_fail()
        local = url.startswith("local")
        if local:
            # the workers are this Python (the venv's pandas and datamap), bound to this machine only
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            settings.update({"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2",
                             "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"})
        settings.update({"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                         "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}"})
        builder = SparkSession.builder.master(url).appName("datamap")
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 -- the JVM or the cluster refused: one line saying what to do
        raise BadInput(None, None, f"Spark did not start at {url}: {str(exc).strip().splitlines()[0]}",
                       "Spark 4.1 needs Java 17 or 21 (apt-get install default-jre-headless, or set JAVA_HOME)") from None
    _quiet_python_logs()
    return spark


def _java_or_fail() -> None:
    """Refuse before Spark's launcher fails with 'Java gateway process exited' and a page of noise."""
    home = os.environ.get("JAVA_HOME")
    if (home and (Path(home) / "bin" / "java").exists()) or shutil.which("java"):
        return
    raise BadInput(None, None, "Spark needs a Java runtime and none is installed",
                   "install the distribution's (apt-get install default-jre-headless: Java 17) or set JAVA_HOME")


def _quiet_python_logs() -> None:
    """pyspark logs every failed query as JSON before raising it: the exception says it once."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel("CRITICAL")


# --- the store's SQL functions -----------------------------------------------------------------------


def register_functions(spark: "SparkSession") -> None:
    """Give the session the functions the catalogue calls, each with SQLite's results exactly.

    datamap's own (``datamap.audit.params.SQL_FUNCTIONS``: the calendar and the normalisers) as
    vectorised pandas UDFs calling the same Python; SQLite's ``date`` (as ``sqlite_date``, see
    :func:`to_spark`) and ``julianday``, which Spark lacks or means differently, computed by SQLite
    itself in the worker; ``ascii_lower``, SQLite's ``lower`` (ASCII only), as native Spark SQL.
    A calendar function fails on a text that is not a date, as in SQLite; but Spark computes a
    UDF for every row before the filters around it, so a bad date in a row SQLite's plan skipped
    fails the check on Spark (not_run, never a pass).
    """
    from datamap.audit.params import SQL_FUNCTIONS

    for name, (nargs, _) in SQL_FUNCTIONS.items():
        spark.udf.register(name, _pandas_udf(name, nargs, "string"))
    spark.udf.register("sqlite_date", _pandas_udf("date", 1, "string"))
    spark.udf.register("julianday", _pandas_udf("julianday", 1, "double"))
    spark.sql("CREATE OR REPLACE TEMPORARY FUNCTION ascii_lower(s STRING) RETURNS STRING "
              "RETURN translate(s, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')")


def _pandas_udf(name: str, nargs: int, returns: str) -> Any:
    """A pandas UDF of ``nargs`` columns calling :func:`_apply` (pyspark reads the arity from the signature)."""
    import inspect

    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    def udf(*columns: pd.Series) -> pd.Series:
        return _apply(name, columns)

    params = [inspect.Parameter(f"arg{i}", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=pd.Series)
              for i in range(nargs)]
    udf.__signature__ = inspect.Signature(params, return_annotation=pd.Series)  # type: ignore[attr-defined]
    udf.__annotations__ = {**{p.name: pd.Series for p in params}, "return": pd.Series}
    return pandas_udf(udf, returns)  # type: ignore[call-overload]


def _apply(name: str, columns: Sequence["pd.Series"]) -> "pd.Series":
    """One batch of a store function, row by row through the original (each memoised per distinct value)."""
    import pandas as pd

    fn = _function(name)
    rows = zip(*(_values(c) for c in columns))
    return pd.Series([fn(*row) for row in rows], dtype="float64" if name == "julianday" else object)


def _values(column: "pd.Series") -> list[Any]:
    """Python values with None for every kind of missing (pandas 3 hands strings over with NaN)."""
    import pandas as pd

    return [None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v for v in column.tolist()]


def _function(name: str) -> Any:
    """The Python original of a store function: datamap's, or SQLite's built-in called in SQLite."""
    if name in ("date", "julianday"):
        return functools.partial(_sqlite_builtin, name)
    from datamap.audit.params import SQL_FUNCTIONS

    return SQL_FUNCTIONS[name][1]


@functools.lru_cache(maxsize=1 << 16)
def _sqlite_builtin(name: str, value: Any) -> Any:
    """SQLite's own ``date(x)`` or ``julianday(x)``: its reading of every date and time format, exactly."""
    return _memory().execute(f"SELECT {name}(?)", (value,)).fetchone()[0]


@functools.lru_cache(maxsize=1)
def _memory() -> sqlite3.Connection:
    return sqlite3.connect(":memory:", check_same_thread=False)


# --- the catalogue's SQL ----------------------------------------------------------------------------

# Each rule rewrites one construct SQLite and Spark read differently; everything else the
# catalogue writes (CTEs, scalar and correlated subqueries one level deep, NOT IN, ||, instr,
# substr from position 1, coalesce, max/min) means the same in both. Left alone because the
# catalogue avoids them: substr from position 0 or with a negative length after position 1, LIKE
# on unlowered text (SQLite ignores ASCII case, Spark does not), a subquery that refers two levels
# out (Spark refuses it). Rules see the text, not a parse: a rule's word inside a string literal
# would be rewritten too (the catalogue has none).
RULES: list[tuple[re.Pattern[str], str]] = [
    # SQLite's hint to compute a CTE once; Spark plans CTEs itself and has no such keyword
    (re.compile(r"\bAS\s+MATERIALIZED\s*\(", re.I), "AS ("),
    # SQLite's TEXT is Spark's STRING; SQLite's INTEGER is 64 bits, Spark's 32 (BIGINT is 64)
    (re.compile(r"\bAS\s+TEXT\s*\)", re.I), "AS STRING)"),
    (re.compile(r"\bAS\s+INTEGER\s*\)", re.I), "AS BIGINT)"),
    # group_concat(x) reads as the values sorted and joined by ',' (datamap.audit.params.SortedConcat,
    # as on PostgreSQL); Spark has no group_concat. NULL when the group has no value, as in SQLite.
    (re.compile(r"\bgroup_concat\(\s*DISTINCT\s+([A-Za-z_][\w.]*)\s*\)", re.I),
     r"CASE WHEN count(\1) > 0 THEN array_join(array_sort(collect_set(CAST(\1 AS STRING))), ',') END"),
    (re.compile(r"\bgroup_concat\(\s*([A-Za-z_][\w.]*)\s*\)", re.I),
     r"CASE WHEN count(\1) > 0 THEN array_join(array_sort(collect_list(CAST(\1 AS STRING))), ',') END"),
    # SQLite's trim(x, chars) strips chars from both ends of x; Spark's two-argument trim takes
    # (chars, x), the other way round, and btrim(x, chars) is SQLite's. (x: a column, as the catalogue writes it)
    (re.compile(r"(?<![\w.])trim\(\s*([A-Za-z_][\w.]*)\s*,", re.I), r"btrim(\1,"),
    # SQLite's date(x) is text, the day of an ISO date or time (offsets applied) or NULL;
    # Spark's date(x) casts to a DATE: register_functions gives SQLite's as sqlite_date
    (re.compile(r"(?<![\w.])date\s*\(", re.I), "sqlite_date("),
    # SQLite's lower() folds ASCII letters only; Spark's folds all of Unicode ('É' stays 'É' in SQLite)
    (re.compile(r"(?<![\w.])lower\s*\(", re.I), "ascii_lower("),
]


def to_spark(query: str) -> str:
    """A catalogue query (SQLite's dialect) as Spark SQL, by the rewrites of :data:`RULES`; ``{batch}`` stays.

    >>> to_spark("WITH k AS MATERIALIZED (SELECT CAST(id AS TEXT) AS id FROM t) SELECT trim(id, '<> ') FROM k")
    "WITH k AS (SELECT CAST(id AS STRING) AS id FROM t) SELECT btrim(id, '<> ') FROM k"
    """
    for pattern, replacement in RULES:
        query = pattern.sub(replacement, query)
    return query


# --- the store as Parquet ------------------------------------------------------------------------------


def export_tables(store: Path, folder: Path, tables: list[str] | None = None) -> dict[str, Path]:
    """Write the store's tables as Parquet files under ``folder`` (:func:`parquet_path`); return them by table.

    A table is rewritten only when its dataset's staging fingerprint changed since the last export
    (the fingerprint the PostgreSQL store publishes by, :mod:`datamap.warehouse.postgres`), or its
    file is gone; a table the store no longer has is deleted. ``tables``: the store tables to
    export (default all of them). The folder is 0700 and the files 0600, as the store itself:
    they hold every raw identifier.
    """
    from datamap.warehouse.postgres import dataset_tables, dataset_fingerprints

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    manifest_path = folder / MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    done: dict[str, str] = dict(manifest.get("tables", {}))
    db = sqlite3.connect(f"{Path(store).absolute().as_uri()}?mode=ro", uri=True)
    try:
        families = dataset_tables(db)
        prints = dataset_fingerprints(db, families)
        dataset_of = {t: d for d, names in families.items() for t in names}
        wanted = list(dataset_of) if tables is None else tables
        unknown = [t for t in wanted if t not in dataset_of]
        if unknown:
            raise BadInput(str(store), None, f"the audit store has no table {unknown[0]}")
        for gone in [t for t in done if t not in dataset_of]:
            parquet_path(folder, gone).unlink(missing_ok=True)
            del done[gone]
        out = {}
        for table in wanted:
            path = parquet_path(folder, table)
            fingerprint = prints[dataset_of[table]]
            if done.get(table) != fingerprint or not path.exists():
                done.pop(table, None)
                _write_parquet(db, table, path)
                done[table] = fingerprint
            out[table] = path
        unions = {view: _united(db, view) for view in UNIONS}
    finally:
        db.close()
    write_atomic(manifest_path, json.dumps({"tables": done, "unions": unions}, indent=1, sort_keys=True), mode=0o600)
    return out


def parquet_path(folder: Path, table: str) -> Path:
    """``<table>.parquet``; a table's identifiers and name words in ``identifiers/tbl=<table>/``, ``name_words/tbl=<table>/``.

    Spark reads each of those two folders as one table whose ``tbl`` column is the folder name:
    the unions the checks read, in one scan, while each table's part is still rewritten alone.
    """
    for view in UNIONS:
        if table.endswith(f"__{view}"):
            return folder / view / f"tbl={table[:-len(view) - 2]}" / "part-0.parquet"
    return folder / f"{table}.parquet"


def _united(db: sqlite3.Connection, view: str) -> list[str]:
    """The tables the store's ``identifiers`` or ``name_words`` view unites, in its order (``datamap.store.unite_identifiers``)."""
    row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?", (view,)).fetchone()
    return re.findall(rf'FROM "([^"]+)__{view}"', row[0]) if row else []


def _write_parquet(db: sqlite3.Connection, table: str, path: Path) -> None:
    """One table, streamed in batches; INTEGER columns as int64 (text when a cell is not an integer), the rest as text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = [(c[1], (c[2] or "").upper()) for c in db.execute(f'PRAGMA table_info("{table}")')]
    integers = {name for name, declared in columns if declared.startswith("INT")}
    if integers:  # SQLite keeps a text cell in an INTEGER column as text: then the whole column is text
        probe = ", ".join(f"""sum(typeof("{n}") NOT IN ('integer', 'null'))""" for n in integers)
        mixed = db.execute(f'SELECT {probe} FROM "{table}"').fetchone()
        integers -= {n for n, bad in zip(integers, mixed) if bad}
    schema = pa.schema([(name, pa.int64() if name in integers else pa.string()) for name, _ in columns])
    select = ", ".join(f'"{name}"' for name, _ in columns)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle, pq.ParquetWriter(handle, schema) as writer:
            cursor = db.execute(f'SELECT {select} FROM "{table}"')
            while batch := cursor.fetchmany(_BATCH):
                arrays = [pa.array([_cell(row[i], name in integers) for row in batch], type=schema.field(i).type)
                          for i, (name, _) in enumerate(columns)]
                writer.write_batch(pa.record_batch(arrays, schema=schema))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _cell(value: Any, integer: bool) -> Any:
    """A cell as its Parquet column holds it: a REAL or a blob in a text column as SQLite's text of it."""
    if value is None or integer or isinstance(value, str):
        return value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# --- the views the checks read -------------------------------------------------------------------------


def register_views(spark: "SparkSession", folder: Path, run_db: Path | None = None) -> None:
    """Temp views for every exported table, the ``identifiers`` and ``name_words`` unions, and the run's tables.

    ``identifiers (tbl, record_key, kind, value)`` and ``name_words (word, tbl, record_key, name)``
    unite the tables the store's own views unite, in their order; each is one scan of the
    tables' files (:func:`parquet_path`), not a union of a scan per table. ``run_db``: the run's
    SQLite database (``datamap.audit.run.run_database``), whose ``params (name, value)`` and
    ``retention_due (tbl, record_key, kept_until, legal_duty)`` the checks read.
    """
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    for table in manifest["tables"]:
        path = parquet_path(folder, table)
        if path.exists():
            spark.read.parquet(str(path)).createOrReplaceTempView(table)
    for view, columns in UNIONS.items():
        parts = [parquet_path(folder, f"{t}__{view}").parent for t in manifest["unions"].get(view, [])]
        parts = [str(p) for p in parts if p.is_dir()]
        schema = ", ".join(f"{c} STRING" for c in columns)  # tbl from the folder name (tbl=<table>), never inferred
        frame = (spark.read.schema(schema).option("basePath", str(folder / view)).parquet(*parts) if parts
                 else spark.createDataFrame([], schema))
        frame.select(*columns).createOrReplaceTempView(view)
    if run_db is not None:
        _run_tables(spark, run_db)


def _run_tables(spark: "SparkSession", run_db: Path) -> None:
    """The run's ``params`` and ``retention_due``, read from its own small SQLite database."""
    import pandas as pd

    tables = {"params": "name STRING, value STRING",
              "retention_due": "tbl STRING, record_key STRING, kept_until STRING, legal_duty STRING"}
    db = sqlite3.connect(f"{Path(run_db).absolute().as_uri()}?mode=ro", uri=True)
    try:
        for name, schema in tables.items():
            columns = [c.split()[0] for c in schema.split(", ")]
            exists = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
            frame = pd.read_sql(f"SELECT {', '.join(columns)} FROM {name}", db) if exists else pd.DataFrame(columns=columns)
            # Checkpointed, as an RDD: Spark 4.1 gives a pandas UDF the same value for two different
            # scalar subqueries over a local relation (what a frame from pandas is), so
            # retention_start(day, (anchor), (fiscal_year_end)) got the anchor twice. A cached table
            # fails there too (NullPointerException in InMemoryTableScanExec); a scan of this one needs no Python.
            frame = frame.astype(object).where(frame.notna(), None)
            spark.createDataFrame(frame, schema).localCheckpoint().createOrReplaceTempView(name)
    finally:
        db.close()
