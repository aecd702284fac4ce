"""Running one check with Great Expectations and returning its unexpected rows.

Cross-system checks are ``UnexpectedRowsExpectation`` queries over the audit store; single-table
checks on a SQL source are column expectations GE pushes down to that source as bound SQL.
Each check is validated as a one-check suite (plus the batch's row count, so every result says
how many rows were examined) and its result is kept for the run's Data Docs.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from datamap.audit.catalogue import ResolvedCheck, fill
from datamap.audit.params import register_functions
from datamap.warehouse.postgres import PgStore

# Set before Great Expectations is first imported: no usage analytics leave the machine.
os.environ["GX_ANALYTICS_ENABLED"] = "false"

PAGE = 200  # GE returns at most this many unexpected rows per query (great_expectations.constants)


@dataclass
class Outcome:
    """What GE said about one check: its unexpected rows and how many rows it examined."""

    rows: list[dict[str, Any]]
    rows_examined: int | None
    restricted: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False


class Validator:
    """One ephemeral GE context per run: the store as a data source, Data Docs under the run folder.

    The store is a SQLite file, a PostgreSQL schema (``datamap.warehouse.postgres``) or, with
    ``spark`` (a session whose temp views are the store's tables, ``datamap.warehouse.spark``),
    Spark dataframes. With ``run_db`` (an audit run) the store is opened read-only and the run's
    own ``params`` and ``retention_due`` are beside it: an attached database ``run``, the run's
    schema searched first, or temp views; without, the store holds them.
    """

    def __init__(self, store_path: "Path | PgStore", docs_dir: Path, run_name: str, mask: Callable[[str], Any] = str,
                 run_db: "Path | str | None" = None, spark: Any = None):
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.run_name = run_name
        import datetime as dt

        self.run_time = dt.datetime.now(dt.timezone.utc)
        self.mask = mask
        self.context = gx.get_context(mode="ephemeral")
        self.context.config.analytics_enabled = False
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        self.context.variables.data_docs_sites = {
            "audit": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir.resolve())},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        }
        self.pg = store_path if isinstance(store_path, PgStore) and spark is None else None
        self.spark = spark
        if spark is not None:
            self.store = self.context.data_sources.add_spark("audit_store")  # GE finds this session (getOrCreate)
        elif self.pg is not None:  # the run's schema (params, retention_due) searched first, then the store's
            self.store = self._sql_source("audit_store", self.pg.url_string([str(run_db)] if run_db else [], read_only=True))
        else:
            self.store = self._sqlite_source("audit_store", Path(store_path), read_only=run_db is not None,
                                             attach=Path(run_db) if run_db else None)
        self._assets: dict[tuple[str, str], Any] = {}
        self._sources: dict[str, Any] = {"audit_store": self.store}
        self.stored = 0

    def _sqlite_source(self, name: str, path: Path, read_only: bool = False, attach: Path | None = None) -> Any:
        url = f"sqlite:///file:{path}?mode=ro&uri=true" if read_only else f"sqlite:///{path}"
        source = self.context.data_sources.add_sqlite(name, connection_string=url)
        _with_functions(source.get_engine(), attach)
        _with_functions(source.get_execution_engine().engine, attach)  # GE keeps this engine for the batches
        return source

    def source(self, name: str, url: str) -> Any:
        """A SQL source by SQLAlchemy URL (SQLite files opened read-only)."""
        if name not in self._sources:
            if url.startswith("sqlite:///"):
                path = Path(url[len("sqlite:///"):].split("?")[0].removeprefix("file:"))
                self._sources[name] = self._sqlite_source(name, path, read_only=True)
            else:
                self._sources[name] = self._sql_source(name, url)
        return self._sources[name]

    def _sql_source(self, name: str, url: str) -> Any:
        import warnings

        with warnings.catch_warnings():
            # GE's PostgresDatasource rejects socket URLs (?host=/path); the generic one reads them
            warnings.filterwarnings("ignore", message="You are using a generic SQLDatasource")
            return self.context.data_sources.add_sql(name, connection_string=url)

    def _batch(self, source: Any, table: str) -> Any:
        key = (source.name, table)
        if self.spark is not None and source is self.store:
            if key not in self._assets:
                self._assets[key] = source.add_dataframe_asset(name=table).add_batch_definition_whole_dataframe("whole")
            return self._assets[key].get_batch(batch_parameters={"dataframe": self.spark.table(f"`{table}`")})
        if key not in self._assets:
            schema = self.pg.schema if self.pg is not None and source is self.store else None
            asset = source.add_table_asset(name=table, table_name=table, schema_name=schema)
            self._assets[key] = asset.add_batch_definition_whole_table("whole_table")
        return self._assets[key].get_batch()

    def run_sql(self, check: ResolvedCheck) -> Outcome:
        """Validate an UnexpectedRowsExpectation over the store; fetch the rest at once when GE truncates."""
        gx = self.gx
        spec = check.spec
        table = fill(spec.table or "", check.vars)
        query = self._dialect(fill(spec.query or "", check.vars))
        batch = self._batch(self.store, table)
        suite = gx.ExpectationSuite(name=check.check_id)
        suite.add_expectation(gx.expectations.UnexpectedRowsExpectation(
            unexpected_rows_query=query, description=docs_text(f"{check.name} ({spec.rule})"),
            meta={"claim": check.claim, "rule": spec.rule, "severity": spec.severity}))
        suite.add_expectation(gx.expectations.ExpectTableRowCountToBeBetween(
            min_value=0, description="rows examined"))
        result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
        by_type = {r.expectation_config.type: r for r in result.results}
        unexpected, count = by_type["unexpected_rows_expectation"], by_type["expect_table_row_count_to_be_between"]
        _raise_on_exception(unexpected)
        rows = [dict(r) for r in unexpected.result["details"]["unexpected_rows"]]
        if len(rows) < unexpected.result["observed_value"]:
            rows = self._all_rows(self.store, table, query)
        self._keep(check, result, batch)
        restricted: list[dict[str, Any]] = []
        if spec.restricted_query:
            restricted_query = self._dialect(fill(spec.restricted_query, check.vars))
            kept = batch.validate(gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query=restricted_query),
                                  result_format={"result_format": "COMPLETE"})
            _raise_on_exception(kept)
            restricted = [dict(r) for r in kept.result["details"]["unexpected_rows"]]
            if len(restricted) < kept.result["observed_value"]:
                restricted = self._all_rows(self.store, table, restricted_query)
        return Outcome(rows=rows, rows_examined=count.result.get("observed_value"), restricted=restricted)

    def _dialect(self, query: str) -> str:
        """The catalogue's SQL as the store's engine reads it (``datamap.warehouse``), its batch aliased."""
        query = aliased_batch(query)
        if self.spark is not None:
            from datamap.warehouse.spark import to_spark

            return to_spark(query)
        if self.pg is not None:
            from datamap.warehouse.postgres import translate

            return translate(query)
        return query

    def _all_rows(self, source: Any, table: str, query: str) -> list[dict[str, Any]]:
        """Every row of a query GE truncated to its first PAGE rows, in one more run of it.

        Paging with LIMIT/OFFSET through GE ran the query twice per page (GE counts, then
        fetches); the batch is the whole table, so ``{batch}`` is the table itself here.
        """
        if self.spark is not None and source is self.store:
            return [row.asDict() for row in self.spark.sql(query.format(batch=f"`{table}`")).collect()]
        from sqlalchemy import text

        engine = source.get_execution_engine()
        quote = engine.engine.dialect.identifier_preparer.quote
        batch = quote(table) if self.pg is None else f"{quote(self.pg.schema)}.{quote(table)}"
        result = engine.execute_query(text(query.format(batch=batch)))
        return [row._asdict() for row in result.fetchall()]

    def run_column(self, check: ResolvedCheck, source_name: str, url: str, table: str,
                   kwargs: dict[str, Any]) -> Outcome:
        """Validate a column expectation pushed down to a SQL source (its kwargs become bound SQL)."""
        gx = self.gx
        spec = check.spec
        cls = getattr(gx.expectations, spec.expectation or "", None)
        if cls is None:
            raise ValueError(f"great_expectations has no expectation {spec.expectation}")
        batch = self._batch(self.source(source_name, url), table)
        suite = gx.ExpectationSuite(name=check.check_id)
        suite.add_expectation(cls(**kwargs, description=docs_text(f"{check.name} ({spec.rule})"),
                                  meta={"claim": check.claim, "rule": spec.rule, "severity": spec.severity}))
        result = batch.validate(suite, result_format={
            "result_format": "COMPLETE", "unexpected_index_column_names": list(spec.index_columns)})
        res = result.results[0]
        _raise_on_exception(res)
        column = kwargs.get("column")
        rows = []
        for item in res.result.get("unexpected_index_list") or []:
            row = dict(item) if isinstance(item, dict) else {spec.index_columns[0]: item}
            rows.append(row)
        self._keep(check, result, batch)
        count = res.result.get("unexpected_count") or 0
        return Outcome(rows=rows, rows_examined=res.result.get("element_count"),
                       truncated=count > len(rows) and column is not None)

    def _keep(self, check: ResolvedCheck, result: Any, batch: Any) -> None:
        """Keep a result for the Data Docs, its values pseudonymised first (the docs are an output too)."""
        redact = set(check.spec.finding.redact if check.spec.finding else [])
        for res in result.results:
            column = res.expectation_config.kwargs.get("column")
            res.result = _scrub(res.result, self.mask, redact, whole=column in redact)
        self._store(check.check_id, result, batch)

    def _store(self, name: str, result: Any, batch: Any) -> None:
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        run_id = RunIdentifier(run_name=self.run_name, run_time=self.run_time)
        result.meta["run_id"] = run_id  # the Data Docs page names the audit run
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=name),
            run_id=run_id, batch_identifier=batch.id)
        self.context.validation_results_store.set(key, result)
        self.stored += 1

    def close(self) -> None:
        """Release the database connections (the run's own database is deleted after the run)."""
        for source in self._sources.values():
            try:
                source.get_engine().dispose()
            except Exception:  # noqa: BLE001 -- closing is best effort
                pass

    def build_docs(self) -> str | None:
        """Render the run's validation results as the Data Docs site; return its index page URL.

        The site opens offline and calls no one (datamap.audit.datadocs), and each page's success
        figure counts the check's own expectations, not the row count kept beside them.
        """
        from datamap.audit.datadocs import checks_only, make_offline

        if not self.stored:
            return None
        results = self.context.validation_results_store
        for key in results.list_keys():
            results.set(key, checks_only(results.get(key)))
        url = self.context.build_data_docs(site_names=["audit"]).get("audit")
        make_offline(Path(self.context.variables.data_docs_sites["audit"]["store_backend"]["base_directory"]))
        return url


def _scrub(value: Any, mask: Callable[[str], Any], redact: set[str], whole: bool = False,
           key: str | None = None, tokens: dict[Any, str] | None = None) -> Any:
    """Pseudonymise every text in a GE result; replace redacted values by stable tokens.

    A redacted column's values become ``[redacted 1]``, ``[redacted 2]`` ... (the same value, the
    same token), so GE's renderers can still count and group them without showing them.
    """
    tokens = {} if tokens is None else tokens

    def hide(v: Any) -> str:
        return tokens.setdefault(v, f"[redacted {len(tokens) + 1}]")

    if key in ("unexpected_index_query", "unexpected_index_column_names"):
        return value  # the SQL that selects the rows, and column names: no values
    if isinstance(value, dict):
        return {k: (hide(v) if k in redact and v is not None else _scrub(v, mask, redact, whole, k, tokens))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v, mask, redact, whole, key, tokens) for v in value]
    if isinstance(value, str):
        return hide(value) if whole else mask(value)
    return value


def _with_functions(engine: Any, run_db: Path | None = None) -> None:
    """Give every connection of a SQLite engine the calendar functions the checks use (and the run's database)."""
    from sqlalchemy import event

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        register_functions(dbapi_conn)
        if run_db is not None:
            dbapi_conn.execute("ATTACH DATABASE ? AS run", (f"{run_db.absolute().as_uri()}?mode=ro",))

    event.listen(engine, "connect", on_connect)
    engine.dispose()  # connections opened before the listener must not be reused


_BATCH = re.compile(r"\{batch\}(?!\s+AS\b)", re.IGNORECASE)


def aliased_batch(query: str) -> str:
    """Every ``{batch}`` of a query with a join given an alias of its own.

    GE puts the batch into a query with a join as a bare ``(SELECT ...)`` and leaves aliasing to
    the query (``_query_has_join_clause``); PostgreSQL before 16 refuses a subquery without one.
    Without a join GE aliases it itself, so the query is left as it is.
    """
    from great_expectations.expectations.metrics.query_metric_provider import _query_has_join_clause

    if not _query_has_join_clause(query):
        return query
    count = iter(range(1, 1 << 16))
    return _BATCH.sub(lambda m: f"{{batch}} AS batch_{next(count)}", query)


def docs_text(text: str) -> str:
    """A check's name as Data Docs may show it: GE puts a description into the page as an HTML
    string template, unescaped, so a workspace ``checks/`` file could plant ``<script>`` there."""
    import html

    return html.escape(text, quote=True)


def _raise_on_exception(result: Any) -> None:
    """An expectation that raised is not a result: turn GE's exception record into an error."""
    info = getattr(result, "exception_info", None) or {}
    records = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for record in records:
        if record.get("raised_exception"):
            message = str(record.get("exception_message") or "the expectation raised an error")
            raise RuntimeError(message.splitlines()[0])
