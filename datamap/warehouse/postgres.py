"""The audit store on PostgreSQL: a schema of its own in a database the auditor may write to.

``sources.yml`` ``store: postgresql://audit:${PGPASSWORD}@db/audit?schema=datamap`` (or ``--store``
with the same URL) puts the store there. Staging still reads the exports on this machine and keeps
its SQLite file in ``<workspace>/.datamap`` (it knows which sources changed, so a rerun restages
only those); :func:`publish` then loads every changed table into the schema with ``COPY``, replays
the store's indexes and views, and gathers statistics. The checks (Great Expectations' SQL data
source), the subject lookup and the register read the schema; a run writes only its own
``params`` and ``retention_due`` into a schema of the run's (:func:`run_schema`), dropped after.

The dialect layer is small and in one place:
- ``postgres.sql`` gives PostgreSQL the SQLite built-ins and datamap's calendar and normalising
  functions the catalogue's SQL calls, in the schema ``datamap_sql``, searched before ``pg_catalog``;
- :func:`translate` rewrites the one construct a function cannot stand in for (an ordered aggregate);
- :class:`Connection` lets the readers' SQL (``?`` parameters, rows by name) run unchanged.
Text sorts by the database's collation (ISO dates compare the same in any); where an order is
part of a result or a lookup, ``COLLATE "C"`` makes it SQLite's, by code point: the sorted
``group_concat`` and the name-word index the subject lookup reads by prefix.
"""
from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from datamap.errors import BadInput

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

FUNCTIONS_FILE = Path(__file__).with_name("postgres.sql")
FUNCTION_SCHEMA = "datamap_sql"
DEFAULT_SCHEMA = "datamap"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_BATCH = 10_000


class PgError(sqlite3.OperationalError):
    """A PostgreSQL error raised as the SQLite store's would be, so each reader handles both stores one way."""


@dataclass(frozen=True)
class PgStore:
    """Where the store lives: the database URL as written (secrets as ``${VAR}``) and the schema."""

    written: str
    schema: str = DEFAULT_SCHEMA
    key: str = "store"

    @classmethod
    def parse(cls, text: str, key: str = "store") -> "PgStore":
        """``postgresql://user:${PGPASSWORD}@host/db?schema=audit``; the schema defaults to ``datamap``."""
        url = _url(text, key)
        schema = str(url.query.get("schema") or DEFAULT_SCHEMA)
        if not _NAME.fullmatch(schema) or schema in (FUNCTION_SCHEMA, "public", "pg_catalog"):
            raise BadInput("sources.yml", key, f"{schema!r} cannot be the store's schema",
                           "name a schema of its own: lower-case letters, digits and _, e.g. ?schema=datamap")
        return cls(text.strip(), schema, key)

    def url(self, search: Sequence[str] = (), read_only: bool = False) -> "URL":
        """The SQLAlchemy URL (psycopg 3) with the store's search path: ``search`` first, then the store."""
        url = _url(self.written, self.key).difference_update_query(["schema"])
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        path = ",".join([*search, self.schema, FUNCTION_SCHEMA, "pg_catalog"])
        # jit=off: compiling a plan with many union branches took seconds for queries that run in milliseconds
        options = [url.query.get("options", ""), f"-c search_path={path}", "-c jit=off"]
        if read_only:
            options.append("-c default_transaction_read_only=on")
        return url.update_query_dict({"options": " ".join(o for o in options if o)})

    def url_string(self, search: Sequence[str] = (), read_only: bool = False) -> str:
        """The URL with its password, for Great Expectations' own engine: never log it (:meth:`shown`)."""
        return self.url(search, read_only).render_as_string(hide_password=False)

    def shown(self) -> str:
        """The store as messages and run.json name it: password hidden, schema named."""
        from datamap.sources.sql import shown_url

        return f"{shown_url(self.written, self.key)} (schema {self.schema})"

    def connect(self, search: Sequence[str] = (), read_only: bool = True) -> "Connection":
        """A connection speaking the readers' dialect (autocommit; read-only unless asked)."""
        import psycopg

        url = self.url(search, read_only)
        given = {"host": url.host, "port": url.port, "user": url.username, "password": url.password,
                 "dbname": url.database, **dict(url.query)}  # a unix socket comes as ?host=/path
        try:
            raw = psycopg.connect(autocommit=True, **{k: v for k, v in given.items() if v is not None})
        except psycopg.Error as exc:
            raise BadInput("sources.yml", self.key, f"cannot connect to the store's database {self.shown()}: "
                           f"{str(exc).strip().splitlines()[0]}") from None
        return Connection(raw)


def _url(text: str, key: str) -> "URL":
    from datamap.sources.sql import configured_url

    url = configured_url(text.strip(), key)
    if url.get_backend_name() != "postgresql":
        raise BadInput("sources.yml", key, "the store is a folder or a PostgreSQL URL",
                       "e.g. postgresql://audit:${PGPASSWORD}@db.example.nl/audit?schema=datamap")
    return url


# --- the readers' dialect -------------------------------------------------------------------------


class Row(tuple):
    """A row read by position or by column name, as ``sqlite3.Row`` is (``dict(row)`` works too)."""

    _index: dict[str, int]

    def __new__(cls, values: Sequence[Any], index: dict[str, int]) -> "Row":
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        return tuple.__getitem__(self, self._index[key] if isinstance(key, str) else key)

    def keys(self) -> list[str]:
        return list(self._index)


def _rows(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    index = {c.name: i for i, c in enumerate(cursor.description or [])}
    return lambda values: Row(values, index)


_QMARK = re.compile(r"'(?:[^']|'')*'|\?|%")


def qmark(sql: str) -> str:
    """SQLite's ``?`` parameters as psycopg's ``%s``; every ``%`` doubled (psycopg reads them in quoted text too)."""
    return _QMARK.sub(lambda m: "%s" if m.group() == "?" else m.group().replace("%", "%%"), sql)


class Connection:
    """The store's readers run their SQL here as on SQLite: ``?`` parameters, rows by name or position."""

    def __init__(self, raw: Any):
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        import psycopg

        cursor = self.raw.cursor(row_factory=_rows)
        try:
            # without parameters psycopg sends the text as it is: nothing to convert
            return cursor.execute(qmark(sql), tuple(params)) if params else cursor.execute(sql)
        except psycopg.Error as exc:
            raise PgError(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__) from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        import psycopg

        try:
            with self.raw.cursor() as cursor:
                cursor.executemany(qmark(sql), [tuple(r) for r in rows])
        except psycopg.Error as exc:
            raise PgError(str(exc).strip().splitlines()[0]) from exc

    def commit(self) -> None:
        """Autocommit: every statement is its own transaction already."""

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# --- the catalogue's SQL ----------------------------------------------------------------------------

_GROUP_CONCAT = re.compile(r"\bgroup_concat\(\s*DISTINCT\s+([A-Za-z_][A-Za-z0-9_.]*)\s*\)", re.IGNORECASE)


def translate(query: str) -> str:
    """A catalogue query (SQLite's SQL) as PostgreSQL runs it.

    Only ``group_concat(DISTINCT x)``: datamap reads it as the distinct values sorted and joined by
    ``,`` (``datamap.audit.params.SortedConcat``); PostgreSQL says so with an ordered ``string_agg``.
    Everything else is the functions of ``postgres.sql``.
    """
    return _GROUP_CONCAT.sub(r"""string_agg(DISTINCT CAST(\1 AS TEXT) COLLATE "C", ',' ORDER BY CAST(\1 AS TEXT) COLLATE "C")""",
                             query)


# --- publishing the staged store ---------------------------------------------------------------------

META_TABLES = ("_provenance", "_staging", "_skipped")


def _pg_type(name: str, declared: str) -> str:
    declared = (declared or "").upper()
    if declared.startswith("INT"):
        return "bigint"
    if declared.startswith(("REAL", "FLOA", "DOUB")):
        return "double precision"
    return 'text COLLATE "C"' if name == "word" else "text"  # a name word is looked up by prefix range


def dataset_tables(db: sqlite3.Connection) -> dict[str, list[str]]:
    """The store's tables by dataset (``<dataset>__…``): a dataset's tables are republished together."""
    out: dict[str, list[str]] = {}
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
        if "__" in name and not name.startswith(("_", "sqlite_")):
            out.setdefault(name.split("__")[0], []).append(name)
    return out


def dataset_fingerprints(db: sqlite3.Connection, families: dict[str, list[str]]) -> dict[str, str]:
    """One fingerprint per dataset: its collections' rows in ``_staging`` (their sources' sha256, configuration, code)."""
    rows = db.execute("SELECT tbl, fingerprint FROM _staging ORDER BY tbl").fetchall()
    out = {}
    for dataset, tables in families.items():
        text = "".join(f"{t}\0{f}\n" for t, f in rows if t.split("__")[0] == dataset)
        out[dataset] = hashlib.sha256((text + "\n".join(tables)).encode()).hexdigest()
    return out


def publish(store: Path, target: PgStore, say: Callable[[str], None] | None = None) -> dict[str, int]:
    """Load the staged SQLite store into the PostgreSQL schema: the datasets whose staging changed,
    with ``COPY``, their indexes and statistics; then the small tables and the identifier views.

    Returns the rows copied per table (empty when nothing changed). Two stagers of the same schema
    wait for each other (an advisory lock), as two SQLite stagers do (``datamap.store``).
    """
    say = say or (lambda line: None)
    copied: dict[str, int] = {}
    pg = target.connect(read_only=False)
    db = sqlite3.connect(f"{store.absolute().as_uri()}?mode=ro", uri=True)
    try:
        pg.raw.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"datamap.store.{target.schema}",))
        pg.raw.execute(FUNCTIONS_FILE.read_text(encoding="utf-8"))
        pg.raw.execute(f'CREATE SCHEMA IF NOT EXISTS "{target.schema}"')
        pg.raw.execute(f'CREATE TABLE IF NOT EXISTS "{target.schema}"._published (dataset text PRIMARY KEY, fingerprint text)')
        families = dataset_tables(db)
        prints = dataset_fingerprints(db, families)
        have = dict(pg.raw.execute(f'SELECT dataset, fingerprint FROM "{target.schema}"._published').fetchall())
        present = {r[0] for r in pg.raw.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (target.schema,)).fetchall()}
        changed = [d for d in families if have.get(d) != prints[d] or any(t not in present for t in families[d])]
        if changed:
            say(f"loading {len(changed)} of {len(families)} datasets into PostgreSQL ({target.shown()})")
        with pg.raw.transaction():
            pg.raw.execute(f'SET LOCAL search_path = "{target.schema}"')  # SQLite's index and view DDL names no schema
            for view in ("identifiers", "name_words"):
                pg.raw.execute(f'DROP VIEW IF EXISTS "{target.schema}"."{view}"')
            gone = {t for t in present if "__" in t and t.split("__")[0] not in families}
            for dataset in changed:
                gone |= {t for t in present if t.split("__")[0] == dataset}
            for table in sorted(gone):
                pg.raw.execute(f'DROP TABLE IF EXISTS "{target.schema}"."{table}"')
            for dataset in changed:
                for table in families[dataset]:
                    copied[table] = _copy_table(db, pg.raw, target.schema, table)
                pg.raw.execute(f'INSERT INTO "{target.schema}"._published VALUES (%s, %s) '
                               "ON CONFLICT (dataset) DO UPDATE SET fingerprint = excluded.fingerprint",
                               (dataset, prints[dataset]))
                say(f"{dataset}: {sum(copied[t] for t in families[dataset]):,} rows loaded")
            pg.raw.execute(f'DELETE FROM "{target.schema}"._published WHERE NOT (dataset = ANY(%s))', (list(families),))
            for table in META_TABLES:
                pg.raw.execute(f'DROP TABLE IF EXISTS "{target.schema}"."{table}"')
                _copy_table(db, pg.raw, target.schema, table)
            for (sql,) in db.execute("SELECT sql FROM sqlite_master WHERE type = 'view' ORDER BY name"):
                pg.raw.execute(re.sub(r"\bWHERE 0$", "WHERE false", sql))
        for table in sorted(copied):
            pg.raw.execute(f'ANALYZE "{target.schema}"."{table}"')
    except Exception as exc:  # psycopg's errors: the store cannot be loaded, a bad input of the run
        raise BadInput("sources.yml", target.key, f"cannot load the audit store into {target.shown()}: "
                       f"{str(exc).strip().splitlines()[0]}") from None
    finally:
        with contextlib.suppress(Exception):
            pg.raw.execute("SELECT pg_advisory_unlock_all()")
        pg.close()
        db.close()
    return copied


def _copy_table(db: sqlite3.Connection, pg: Any, schema: str, table: str) -> int:
    """One table with ``COPY`` (streamed in batches: bounded memory), then the indexes SQLite has on it.

    An identifiers table keeps SQLite's ``rowid`` as a column: a record's first and last name are
    joined in the order staging wrote them (``datamap.subject.store.names_of``).
    """
    info = db.execute(f'PRAGMA table_info("{table}")').fetchall()
    columns = [(c[1], _pg_type(c[1], c[2])) for c in info]
    with_rowid = table.endswith("__identifiers")
    if with_rowid:
        columns = [("rowid", "bigint")] + columns
    names = ", ".join(f'"{n}"' for n, _ in columns)
    pg.execute(f'CREATE TABLE "{schema}"."{table}" (' + ", ".join(f'"{n}" {t}' for n, t in columns) + ")")
    select = ", ".join((["rowid"] if with_rowid else []) + [f'"{c[1]}"' for c in info])
    rows = 0
    with pg.cursor() as cursor, cursor.copy(f'COPY "{schema}"."{table}" ({names}) FROM STDIN') as copy:
        cursor_in = db.execute(f'SELECT {select} FROM "{table}"')
        while batch := cursor_in.fetchmany(_BATCH):
            for row in batch:
                copy.write_row(row)
            rows += len(batch)
    for (sql,) in db.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                             (table,)):
        pg.execute(index_sql(sql))  # in the schema publish set as the transaction's search path
    return rows


_EXPRESSION_INDEX = re.compile(r'(ON\s+"[^"]+"\s*)\((CAST\(.*\))\)\s*$', re.IGNORECASE | re.DOTALL)


def index_sql(sql: str) -> str:
    """A SQLite ``CREATE INDEX`` as PostgreSQL reads it: no ``main.`` schema, an expression in its own parentheses."""
    sql = re.sub(r"^CREATE INDEX (IF NOT EXISTS )?(main\.)?", "CREATE INDEX IF NOT EXISTS ", sql.strip(), flags=re.IGNORECASE)
    return _EXPRESSION_INDEX.sub(r"\1((\2))", sql)


# --- a run's own tables -------------------------------------------------------------------------------


@contextlib.contextmanager
def run_schema(target: PgStore) -> Iterator[tuple[str, Connection]]:
    """A schema of the run's own for its ``params`` and ``retention_due`` (searched before the store's),
    dropped when the run ends: two runs never see each other's parameters."""
    name = f"run_{uuid.uuid4().hex[:12]}"
    con = target.connect(read_only=False)
    try:
        con.raw.execute(f'CREATE SCHEMA "{name}"')
        con.raw.execute(f'SET search_path = "{name}", "{target.schema}", {FUNCTION_SCHEMA}, pg_catalog')
        yield name, con
    finally:
        with contextlib.suppress(Exception):
            con.raw.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        con.close()
