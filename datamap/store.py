"""The audit store: the sources' rows staged into one embedded SQLite file that the checks query.

Layout (docs/design.md, "The audit store"): one table ``<dataset>__<collection>`` per staged
collection in the readers' shape (standard snake_case columns, ISO dates, ``_row``,
``<col>__norm``); mail adds ``<dataset>__recipients`` and ``<dataset>__body_identifiers``;
``<table>__identifiers`` holds every normalised identifier of each record of a table, and
``<table>__name_words`` the words of its names: built and indexed by the worker that read the
table, beside it; the views ``identifiers`` and ``name_words`` unite them for the checks and the
subject lookup (a table restaged drops its own, nobody rebuilds an index over all of them). ``_provenance`` says where
each table came from. The policy's parameters are not here: each audit run writes its own into
a small database of its own, attached beside the read-only store (:mod:`datamap.audit.params`).

A table is restaged only when its source's bytes or its configuration changed (files are hashed
with sha256); databases other than SQLite files cannot be hashed cheaply and are read every time.
One source failing does not stop the others: :attr:`Store.status` says, per source, ``ok`` or
the one BadInput line, so the audit turns exactly that source's checks to ``not_run``::

    store = stage(workspace)                       # or stage(ws, collections=[("zoho_crm", "leads")])
    store.status[("zoho_crm", "leads")].state      # 'ok' | 'error'
    pd.read_sql("SELECT * FROM zoho_crm__leads", store.engine)
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from datamap.errors import BadInput
from datamap.identity import name_words
from datamap.workspace import Workspace, load_workspace

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Connection, Engine

    from datamap.warehouse.postgres import PgStore

    from datamap.sources import ResolvedSource

STORE_VERSION = "8"  # 8: name words carry the whole name; 7: full row statistics, gathered by the workers; 6: no index per normalised column; 5: an index on each table's record key; 4: identifiers and name words per table, united by views; 2: name_words, the indexed words of every name identifier; 3: sources.yml dates/identifiers/key read through columns:
DEFAULT_PATH = ".datamap/store.sqlite"
_BLOCK = 1 << 20
CACHE_KIB = 256 * 1024  # SQLite page cache while staging (bounded: part of the peak memory)

_META = """
CREATE TABLE IF NOT EXISTS _provenance (tbl TEXT PRIMARY KEY, dataset TEXT, collection TEXT, source TEXT,
    sha256 TEXT, url TEXT, rows INTEGER, read_at TEXT);
CREATE TABLE IF NOT EXISTS _staging (tbl TEXT PRIMARY KEY, fingerprint TEXT);
CREATE TABLE IF NOT EXISTS _skipped (tbl TEXT, collection TEXT, line TEXT);
"""


@dataclass
class SourceStatus:
    """How staging one source went: ``ok`` (staged or reused) or ``error`` with the BadInput line."""

    dataset: str
    collection: str
    table: str
    error: str | None = None
    rows: int = 0
    reused: bool = False
    skipped: list[str] = field(default_factory=list)  # messages of a mailbox left out, each with its one line

    @property
    def state(self) -> str:
        return "error" if self.error else "ok"

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Store:
    """A staged audit store: the SQLite ``engine`` checks query, its ``path``, and ``status`` per source."""

    path: Path
    engine: "Engine"
    workspace: Workspace
    status: dict[tuple[str, str], SourceStatus] = field(default_factory=dict)
    workers: int = 1  # processes that read the sources restaged in this staging
    _sources: dict[str, "Engine"] = field(default_factory=dict, repr=False)
    _appended: set[str] = field(default_factory=set, repr=False)  # tables merged into existing ones: statistics due
    pg: "PgStore | None" = None  # the PostgreSQL schema the store was published to (sources.yml store: URL)

    def provenance(self) -> list[dict[str, Any]]:
        """Where every table came from: source file or redacted URL, sha256, rows, time read."""
        from sqlalchemy import text

        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM _provenance ORDER BY tbl")).mappings().all()
        return [dict(r) for r in rows]

    def provenance_frame(self) -> "pd.DataFrame":
        """:meth:`provenance` as a table (for notebooks and reports)."""
        import pandas as pd

        return pd.DataFrame(self.provenance(), columns=["tbl", "dataset", "collection", "source", "sha256", "url",
                                                       "rows", "read_at"])

    def summary(self) -> "pd.DataFrame":
        """One row per staged source: table, state, rows, whether it was reused, the error line."""
        import pandas as pd

        rows = [{"dataset": s.dataset, "collection": s.collection, "table": s.table, "state": s.state,
                 "rows": s.rows, "reused": s.reused, "error": s.error} for s in self.status.values()]
        return pd.DataFrame(rows, columns=["dataset", "collection", "table", "state", "rows", "reused", "error"])

    def table(self, dataset: str, collection: str) -> str:
        """The store table of a collection (mbox collections all land in ``<dataset>__messages``)."""
        return table_name(self.workspace, dataset, collection)

    def source_engine(self, dataset: str) -> "Engine":
        """A read-only engine on a SQL dataset, for checks pushed down to the source itself."""
        from datamap.sources import source_engine

        if dataset not in self._sources:
            self._sources[dataset] = source_engine(self.workspace, dataset)
        return self._sources[dataset]

    def errors(self) -> dict[tuple[str, str], str]:
        """The sources that could not be read, with their one-line reason."""
        return {k: s.error for k, s in self.status.items() if s.error}

    def close(self) -> None:
        for engine in self._sources.values():
            engine.dispose()
        self.engine.dispose()


def open_read_only(path: "str | os.PathLike[str] | PgStore") -> sqlite3.Connection:
    """Open an audit store read-only (SQLite ``mode=ro``), rows as mappings: the one door for every reader.

    Reading a store never creates or changes one: a missing file is bad input, not a new empty store.
    A PostgreSQL store (``datamap.warehouse.postgres``) opens as a read-only session that takes the
    same SQL, parameters and rows.
    """
    from datamap.warehouse.postgres import PgStore

    if isinstance(path, PgStore):
        return path.connect()  # type: ignore[return-value]  # the same reading interface
    p = Path(path)
    if not p.is_file():
        raise BadInput(str(p), None, "audit store not found")
    con = sqlite3.connect(f"{p.absolute().as_uri()}?mode=ro", uri=True)  # as_uri: a '?' or '#' in the path stays a path
    con.row_factory = sqlite3.Row
    return con


def pg_store(workspace: Workspace) -> "PgStore | None":
    """The PostgreSQL schema the workspace's store is published to (sources.yml ``store:`` URL), or None."""
    from datamap.warehouse.postgres import PgStore

    return PgStore.parse(workspace.store_url) if workspace.store_url else None


def version_of(store: "Path | PgStore") -> object:
    """What changes when a store is staged again (a cache key): the file's time, or the schema's fingerprints."""
    if isinstance(store, Path):
        return store.stat().st_mtime_ns
    con = store.connect()
    try:
        return tuple(con.execute("SELECT dataset, fingerprint FROM _published ORDER BY dataset").fetchall())
    except sqlite3.Error:
        return None
    finally:
        con.close()


def columns_of(con: sqlite3.Connection, table: str) -> list[str] | None:
    """A store table's columns, None when there is no such table (SQLite or PostgreSQL alike)."""
    try:
        return [d[0] for d in con.execute(f'SELECT * FROM "{table}" LIMIT 0').description or []]
    except sqlite3.Error:
        return None


def table_name(workspace: Workspace, dataset: str, collection: str) -> str:
    """``<dataset>__<collection>``; every mbox collection of a dataset stages into ``<dataset>__messages``."""
    from datamap.sources import resolve

    try:
        if resolve(workspace, dataset, collection).kind == "mbox":
            return f"{dataset}__messages"
    except BadInput:
        pass
    return f"{dataset}__{collection}"


def stage(
    workspace: Workspace | str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    collections: Iterable[tuple[str, str]] | None = None,
    chunksize: int | None = None,
    workers: int | None = None,
    progress: "Callable[[str], None] | None" = None,
) -> Store:
    """Stage the sources the checks need into the audit store and return it.

    ``collections``: the ``(dataset, collection)`` pairs to stage (default: every one in
    sources.yml). ``path``: the SQLite file (default ``store.sqlite`` in ``Workspace.store_folder``: sources.yml ``store:``, else ``<workspace>/.datamap``); it is
    reused, and a table restaged only when its source changed. ``workers``: processes reading sources at once
    (default: one per core when there is enough to read, see :func:`worker_count`). ``progress``
    is told, in a line, each source staged and each step after (staging a large estate takes minutes).
    """
    from sqlalchemy import create_engine, event

    from datamap.sources import DEFAULT_CHUNKSIZE
    from datamap.sources import collections as all_collections

    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    target = Path(path) if path else ws.store_folder / Path(DEFAULT_PATH).name
    _private_store_file(target, own_folder=not path and (not ws.sources.store or bool(ws.store_url)))
    engine = create_engine(f"sqlite:///{target}")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN cover DDL too (a failed restage rolls back whole)
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        # 256 MB of page cache instead of SQLite's 2 MB: inserting millions of identifiers keeps two
        # indexes up to date, and with the default cache half the CPU goes to re-reading index pages.
        # (Letting the index sort use a helper thread, PRAGMA threads=2, was measured at 1M: wall
        # 253 s to 251 s, CPU 411 s to 449 s, peak 880 MiB to 1,661 MiB. Not worth it.)
        dbapi_connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")

    store = Store(target, engine, ws)
    wanted = list(collections) if collections is not None else all_collections(ws)
    say = progress or (lambda line: None)
    with _staging_lock(target):  # a second audit of the same workspace waits, then reuses what the first staged
        with engine.begin() as conn:
            conn.connection.driver_connection.executescript(_META)
            for old in ("params", "identifiers", "name_words"):  # tables of stores before version 4 (restaged whole)
                if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (old,)).first():
                    conn.exec_driver_sql(f'DROP TABLE "{old}"')
        plans = _plans(store, list(dict.fromkeys(wanted)))
        parts = [p for p in plans.values() if isinstance(p, _Part)]
        with _parts_folder(target) as folder:
            store.workers = worker_count(parts, workers)
            if parts:
                kept = sum(1 for p in plans.values() if isinstance(p, SourceStatus) and p.reused)
                say(f"staging {len(parts)} of {len(plans)} sources in {store.workers} process(es)"
                    + (f"; {kept} unchanged, reused" if kept else ""))
            loading = _load_parts(parts, folder, chunksize or DEFAULT_CHUNKSIZE, store.workers)
            with contextlib.closing(loading) as loaded:
                for key, plan in plans.items():
                    store.status[key] = plan if isinstance(plan, SourceStatus) else _merge(store, plan, next(loaded))
                    if isinstance(plan, _Part):
                        done = store.status[key]
                        say(f"{key[0]}.{key[1]}: {done.error or f'{done.rows:,} rows'}")
        _report_skipped(store, say)
        with engine.begin() as conn:
            unite_identifiers(conn.connection.driver_connection, [store.table(d, c) for d, c in all_collections(ws)])
        if store._appended:
            say("row statistics for the query planner")
            _analyze(engine, sorted(store._appended))
        if ws.store_url:  # the store the checks read is a PostgreSQL schema: load what changed into it
            from datamap.warehouse.postgres import PgStore, publish

            store.pg = PgStore.parse(ws.store_url)
            engine.dispose()  # every staging write is on disk before COPY reads the file
            publish(target, store.pg, say)  # under the lock: a run of this machine reading the schema waits
    return store


def _private_store_file(target: Path, own_folder: bool) -> None:
    """Make the store file 0600 (its folder 0700) before SQLite opens it: it holds every raw identifier.

    SQLite gives its -wal and -shm files the database file's mode. ``own_folder``: the folder is
    the workspace's ``.datamap``, ours to tighten; a folder named by the caller is only created 0700.
    """
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # exist_ok: a concurrent run may make it first
        if own_folder:
            folder.chmod(0o700)
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o600))
        target.chmod(0o600)  # a store an older version made 0644
    except OSError as exc:  # a read-only workspace, a file named .datamap: one line saying where else it can go
        reason = exc.strerror or type(exc).__name__
        raise BadInput(str(folder), None, f"the audit store cannot be created here: {reason}",
                       "put it elsewhere with --store FOLDER, or store: FOLDER in sources.yml") from None


@contextlib.contextmanager
def _staging_lock(target: Path, shared: bool = False) -> Iterator[None]:
    """Hold a lock on the store: exclusive while staging (two writers would fail with 'database is
    locked'), shared while a run reads it (:func:`reading`), so nobody restages under its checks."""
    import fcntl

    lock = os.open(target.with_name(target.name + ".lock"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def reading(path: str | os.PathLike[str]) -> "contextlib.AbstractContextManager[None]":
    """While an audit's checks read the store: a concurrent staging waits until they are done."""
    return _staging_lock(Path(path), shared=True)


def _analyze(engine: "Engine", tables: list[str]) -> None:
    """Row statistics for the tables parts were appended to (the mailboxes of a mail dataset).

    Every other table arrives with the statistics its worker gathered (:func:`_copy_stats`).
    Without them SQLite may scan every identifier instead of looking up one value (the erasure
    check on the 100k estate: 3 s a query, 0.003 s after ANALYZE); sampled ones (``analysis_limit``)
    were measured misleading: they told the planner a kind holds 1,001 rows, and it read every
    name at 1M subjects for each 500 record keys the subject lookup asked for.
    """
    with engine.begin() as conn:
        for name in tables:
            conn.exec_driver_sql(f'ANALYZE main."{name}"')


def unite_identifiers(db: sqlite3.Connection, order: Iterable[str] = ()) -> None:
    """(Re)create the views ``identifiers (tbl, record_key, kind, value)`` and ``name_words (word, tbl,
    record_key, name)`` over every staged table's own; SQLite pushes a query's conditions into each part.

    Only when the tables changed (reading the store stays reading); the tables are those
    ``_provenance`` records, so a derived mail table is never mistaken for a collection's. They come
    in ``order`` (sources.yml's), the rest by name: a lookup lists its hits in that order, as the
    single identifiers table of earlier stores did.
    """
    recorded = [r[0] for r in db.execute("SELECT DISTINCT tbl FROM _provenance ORDER BY tbl")]
    staged = [t for t in dict.fromkeys(order) if t in recorded] + [t for t in recorded if t not in set(order)]
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    ids = [f"SELECT '{t}' AS tbl, record_key, kind, value FROM \"{t}__identifiers\"" for t in staged
           if f"{t}__identifiers" in names and "'" not in t]
    words = [f"SELECT word, '{t}' AS tbl, record_key, name FROM \"{t}__name_words\"" for t in staged
             if f"{t}__name_words" in names and "'" not in t]
    views = {"identifiers": " UNION ALL ".join(ids) or "SELECT NULL AS tbl, NULL AS record_key, NULL AS kind, NULL AS value WHERE 0",
             "name_words": " UNION ALL ".join(words) or "SELECT NULL AS word, NULL AS tbl, NULL AS record_key, NULL AS name WHERE 0"}
    for view, select in views.items():
        sql = f"CREATE VIEW {view} AS {select}"
        current = db.execute("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?", (view,)).fetchone()
        if current is None or current[0] != sql:
            db.execute(f"DROP VIEW IF EXISTS {view}")
            db.execute(sql)


# --- one source ----------------------------------------------------------------------------------


@dataclass
class _Part:
    """A collection to (re)stage: read into its own SQLite file (maybe in a worker), then merged."""

    src: "ResolvedSource"
    table: str
    files: list[Path]
    sha: str | None  # of its file(s) or SQLite database, hashed once: for the fingerprint and the provenance
    fingerprint: str | None
    size: int  # bytes of its files (0 for a database server): how much reading it takes


def _plans(store: Store, keys: list[tuple[str, str]]) -> "dict[tuple[str, str], SourceStatus | _Part]":
    """Plan every collection; the sources are hashed in threads (hashlib releases the GIL, the disk is shared)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(4, max(1, len(keys)))) as pool:
        return dict(zip(keys, pool.map(lambda key: _plan(store, *key), keys)))


def _plan(store: Store, dataset: str, collection: str) -> "SourceStatus | _Part":
    """Decide what to do with one collection: reuse its table, restage it, or report why it cannot be read."""
    from datamap.sources import resolve

    tbl = f"{dataset}__{collection}"
    try:
        src = resolve(store.workspace, dataset, collection)
        tbl = store.table(dataset, collection)
        files = [] if src.is_sql else src.files()
        sha = _source_sha(src, files)
        fingerprint = _fingerprint(src, sha)
        with store.engine.begin() as conn:
            if fingerprint and _unchanged(conn.connection.driver_connection, tbl, collection, fingerprint):
                rows = conn.exec_driver_sql(f'SELECT count(*) FROM "{tbl}"').scalar_one()
                return SourceStatus(dataset, collection, tbl, rows=int(rows), reused=True)
        return _Part(src, tbl, files, sha, fingerprint, _size(src, files))
    except Exception as exc:
        return SourceStatus(dataset, collection, tbl, error=_reason(exc, dataset, collection))


def staged_as_is(workspace: Workspace, dataset: str, collection: str) -> bool:
    """Whether the workspace's store holds this collection staged, without error, from its source as
    it is now (same bytes, configuration, formats and code): then every row was parsed, every date read."""
    from datamap.sources import resolve

    target = workspace.store_folder / Path(DEFAULT_PATH).name
    if not target.is_file():
        return False
    try:
        src = resolve(workspace, dataset, collection)
        fingerprint = _fingerprint(src, _source_sha(src, [] if src.is_sql else src.files()))
        con = open_read_only(target)
    except (BadInput, OSError, sqlite3.Error):
        return False
    try:
        return fingerprint is not None and _unchanged(con, table_name(workspace, dataset, collection), collection, fingerprint)
    except sqlite3.Error:
        return False
    finally:
        con.close()


def _size(src: "ResolvedSource", files: list[Path]) -> int:
    """Bytes to read: the files, or a SQLite database's file shared by its tables (a server's: unknown, 0)."""
    if not src.is_sql:
        return sum(f.stat().st_size for f in files)
    path = _sqlite_file(src)
    return path.stat().st_size // max(1, len(src.config.collections)) if path and path.is_file() else 0


def _reason(exc: Exception, dataset: str, collection: str) -> str:
    """The one line a source's failure is reported with (one broken source must not stop the others)."""
    if isinstance(exc, BadInput):
        return exc.line()
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{dataset}.{collection}: cannot be read: {type(exc).__name__}: {first}"


PARALLEL_BYTES = 64 << 20  # below this, starting worker processes costs more than it saves


def worker_count(parts: "list[_Part]", requested: int | None = None) -> int:
    """How many processes read sources at once: ``requested``, ``DATAMAP_WORKERS``, else one per core.

    Reading and shaping is single-threaded Python, so a second core halves it; for a small
    workspace the workers' start-up (importing pandas) costs more than it saves.
    """
    if requested is None and os.environ.get("DATAMAP_WORKERS"):
        requested = int(os.environ["DATAMAP_WORKERS"])
    if requested is None:
        if sum(p.size for p in parts) < PARALLEL_BYTES:
            return 1
        requested = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(requested, len(parts)))


@contextlib.contextmanager
def _parts_folder(target: Path) -> Iterator[Path]:
    """A scratch folder next to the store for the parts; a killed run's leftovers go with the next run."""
    import shutil
    import tempfile

    for old in target.parent.glob(f".{target.name}.parts-*"):  # the staging lock is held: nobody else uses them
        shutil.rmtree(old, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.parts-", dir=target.parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _load_parts(parts: "list[_Part]", folder: Path, chunksize: int, workers: int,
                reader: "Callable[..., tuple[int, str | None]] | None" = None) -> Iterator[tuple[Path, int, str | None]]:
    """Read every part into its own file (with ``reader``, default :func:`_read_part`); yield ``(file, rows, error)``.

    With several workers the parts are read concurrently in processes, in sources.yml order, while
    this process merges the finished ones in that order (merging any other way would change the
    rows' order in the shared tables; scheduling the largest first left the merge waiting).
    """
    read = reader or _read_part
    jobs = [(p.src, p.table, str(folder / f"{i}.sqlite"), chunksize) for i, p in enumerate(parts)]
    if workers <= 1:
        for job in jobs:
            yield Path(job[2]), *read(*job)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn: no fork of a process that may run threads (Jupyter), and the workers stay this
    # process's own children, so its resource usage (the benchmark's CPU and memory) counts them.
    # A worker that dies (killed, out of memory) breaks the pool and raises here instead of
    # leaving the merge waiting for ever; leaving early terminates the workers still reading.
    context = multiprocessing.get_context("spawn")
    before = {p.pid for p in multiprocessing.active_children()}
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_ignore_interrupts)
    finished = False
    try:
        futures = [pool.submit(read, *job) for job in jobs]
        for job, future in zip(jobs, futures):
            yield Path(job[2]), *future.result()
        finished = True
    finally:
        if not finished:
            for process in multiprocessing.active_children():
                if process.pid not in before:
                    process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


def _ignore_interrupts() -> None:
    """Ctrl-C reaches the whole process group: the main process alone decides what it means (no half store)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _read_part(src: "ResolvedSource", tbl: str, path: str, chunksize: int) -> tuple[int, str | None]:
    """Read one collection into a fresh SQLite file (no journal: it is scratch); returns rows and error."""
    from sqlalchemy import create_engine, event

    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA journal_mode=OFF")
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE TABLE "{tbl}__identifiers" (record_key TEXT, kind TEXT, value TEXT)')
            conn.exec_driver_sql(f'CREATE TABLE "{tbl}__name_words" (word TEXT, record_key TEXT, name TEXT)')
            rows = _fill(conn, src, tbl, chunksize)
            conn.exec_driver_sql("ANALYZE")  # in the worker, in parallel; the merge copies the statistics
            return rows, None
    except Exception as exc:
        return 0, _reason(exc, src.dataset, src.collection)
    finally:
        engine.dispose()


def _merge(store: Store, part: _Part, loaded: tuple[Path, int, str | None]) -> SourceStatus:
    """Replace the collection's rows in the store by the part's, in one transaction."""
    path, rows, error = loaded
    src = part.src
    if error:
        return SourceStatus(src.dataset, src.collection, part.table, error=error)
    with store.engine.connect() as conn:
        raw = conn.connection.driver_connection
        raw.execute("ATTACH DATABASE ? AS part", (str(path),))  # outside a transaction, as SQLite requires
        try:
            with conn.begin():
                _clear(conn, src, part.table, part.files)
                store._appended |= _copy_part(conn, part.table)
                _record(conn, part, rows)
        except Exception as exc:
            return SourceStatus(src.dataset, src.collection, part.table, error=_reason(exc, src.dataset, src.collection))
        finally:
            raw.execute("DETACH DATABASE part")
    path.unlink(missing_ok=True)  # the scratch copy is not needed any more: keep the disk peak low
    return SourceStatus(src.dataset, src.collection, part.table, rows=rows)


def _copy_part(conn: "Connection", tbl: str) -> set[str]:
    """Append the attached part's tables to the store's (SQLite copies pages when the target is new).

    A new table takes the part's row statistics along; returns the tables appended to existing
    ones, whose statistics must be gathered again.
    """
    part_tables = {name: sql for name, sql in conn.exec_driver_sql(
        "SELECT name, sql FROM part.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")}
    appended: set[str] = set()
    for name, sql in part_tables.items():
        exists = conn.exec_driver_sql("SELECT 1 FROM main.sqlite_master WHERE type='table' AND name = ?", (name,)).first()
        if not exists:  # the same declaration and indexes: SQLite then copies table and index pages whole
            conn.exec_driver_sql(sql)
            for (index_sql,) in conn.exec_driver_sql(
                    "SELECT sql FROM part.sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (name,)):
                conn.exec_driver_sql(index_sql)
            conn.exec_driver_sql(f'INSERT INTO main."{name}" SELECT * FROM part."{name}"')
            _copy_stats(conn, name)
            continue
        appended.add(name)
        have = {r[1] for r in conn.exec_driver_sql(f'PRAGMA main.table_info("{name}")')}
        columns = [(r[1], r[2]) for r in conn.exec_driver_sql(f'PRAGMA part.table_info("{name}")')]
        for column, kind in columns:  # another mailbox with a header the first lacked
            if column not in have:
                conn.exec_driver_sql(f'ALTER TABLE main."{name}" ADD COLUMN "{column}" {kind}')
        quoted = ", ".join(f'"{c}"' for c, _ in columns)
        conn.exec_driver_sql(f'INSERT INTO main."{name}" ({quoted}) SELECT {quoted} FROM part."{name}"')
    return appended


def _copy_stats(conn: "Connection", table: str) -> None:
    """The row statistics the worker gathered for a table, into the store's (read by new connections)."""
    if not conn.exec_driver_sql("SELECT 1 FROM part.sqlite_master WHERE name = 'sqlite_stat1'").first():
        return
    if not conn.exec_driver_sql("SELECT 1 FROM main.sqlite_master WHERE name = 'sqlite_stat1'").first():
        conn.exec_driver_sql("ANALYZE main._staging")  # creates the statistics table
    conn.exec_driver_sql("DELETE FROM main.sqlite_stat1 WHERE tbl = ?", (table,))
    conn.exec_driver_sql("INSERT INTO main.sqlite_stat1 SELECT * FROM part.sqlite_stat1 WHERE tbl = ?", (table,))


_HASHED: dict[tuple[int, ...], str] = {}  # a file's identity and stat -> its sha256 (see sha256_file)


def sha256_file(path: Path) -> str:
    """Hash a file block by block (memory stays bounded), once per version of the file.

    An audit hashes each input before staging, staging needs the same hashes for its
    fingerprints, and the run checks afterwards that nothing changed while it ran: the file is
    read once, and hashed again only when its size, modification or change time (``st_ctime``
    moves on every write and cannot be set back) or inode differ.
    """
    before = path.stat()
    key = (before.st_dev, before.st_ino, before.st_size, before.st_mtime_ns, before.st_ctime_ns)
    if key in _HASHED:
        return _HASHED[key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    after = path.stat()
    if (after.st_size, after.st_mtime_ns, after.st_ctime_ns) == key[2:]:  # written to while read: not remembered
        _HASHED[key] = digest.hexdigest()
    return digest.hexdigest()


def digest(path: Path) -> str:
    """One sha256 of what a store holds: every table's fingerprint (its source's sha256, its
    configuration, this code's version). What a run records, instead of hashing gigabytes again."""
    con = open_read_only(path)
    try:
        rows = con.execute("SELECT tbl, fingerprint FROM _staging ORDER BY tbl").fetchall()
    except sqlite3.OperationalError:  # a database not made by staging (built by hand): its bytes
        return sha256_file(Path(path))
    finally:
        con.close()
    return hashlib.sha256("".join(f"{tbl}\0{fp}\n" for tbl, fp in rows).encode()).hexdigest()


def _sqlite_file(src: "ResolvedSource") -> Path | None:
    """The file of a SQLite source (it can be hashed and sized; a server's database cannot)."""
    from datamap.sources.sql import readonly_url

    url = readonly_url(src.config.url or "", src.root, f"datasets.{src.dataset}.url")
    return Path(str(url.database).removeprefix("file:")) if url.get_backend_name() == "sqlite" else None


def _source_sha(src: "ResolvedSource", files: list[Path]) -> str | None:
    if src.is_sql:
        path = _sqlite_file(src)
        return sha256_file(path) if path else None
    if len(files) == 1:
        return sha256_file(files[0])
    combined = hashlib.sha256()
    for file in files:
        combined.update(f"{src.relpath(file)}\0{sha256_file(file)}\n".encode())
    return combined.hexdigest()


def _report_skipped(store: Store, say: "Callable[[str], None]") -> None:
    """Tell each source's status the messages its staging left out (docs/workspace.md: a message that cannot be read)."""
    with store.engine.begin() as conn:
        found = conn.exec_driver_sql("SELECT tbl, collection, line FROM _skipped ORDER BY rowid").all()
    for status in store.status.values():
        if status.ok:
            status.skipped = [line for tbl, collection, line in found
                              if (tbl, collection) == (status.table, status.collection)]
            for line in status.skipped:
                say(f"{status.dataset}.{status.collection}: {line}")


def _fingerprint(src: "ResolvedSource", sha: str | None) -> str | None:
    """What a staged table depends on: the source's bytes (``sha``), its configuration, the format and this code."""
    from datamap.sources import FORMATS_FILE

    if sha is None:
        return None
    parts = [STORE_VERSION, sha, src.config.model_dump_json(), src.timezone,
             hashlib.sha256(FORMATS_FILE.read_bytes()).hexdigest(),
             json.dumps(sorted(src.fmt.identifier_columns().items()))]  # with those the manifests mark identity
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _staging_key(tbl: str, collection: str) -> str:
    """A collection's row in ``_staging`` (several mbox collections share one table)."""
    return f"{tbl}#{collection}"


def _unchanged(db: sqlite3.Connection, tbl: str, collection: str, fingerprint: str) -> bool:
    """Whether the store holds the table staged from exactly this fingerprint (a DB-API connection)."""
    row = db.execute("SELECT fingerprint FROM _staging WHERE tbl = ?", (_staging_key(tbl, collection),)).fetchone()
    exists = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name = ?", (tbl,)).fetchone()
    return bool(row and exists and row[0] == fingerprint)


def _clear(conn: "Connection", src: "ResolvedSource", tbl: str, files: list[Path]) -> None:
    """Remove what the store holds of this collection: its table (or its mailboxes' rows) and identifiers."""
    if src.kind == "mbox":
        _forget_mail(conn, src, files)
    else:  # main.: the part attached has tables of the same names
        for name in (tbl, f"{tbl}__identifiers", f"{tbl}__name_words"):
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS main."{name}"')
    if src.kind == "message_trace":
        _ensure_mail_tables(conn, src.dataset)
        conn.exec_driver_sql(f'DELETE FROM main."{src.dataset}__recipients" WHERE via = ?', ("trace",))


def _fill(conn: "Connection", src: "ResolvedSource", tbl: str, chunksize: int) -> int:
    """Write the source's rows and identifiers into an empty database; returns the number of rows."""
    from datamap.sources import read_resolved

    mbox = src.kind == "mbox"
    if src.kind in ("mbox", "message_trace"):
        _ensure_mail_tables(conn, src.dataset, indexes=False)
    rows = 0
    skipped: list[str] = []
    for frame in read_resolved(src, chunksize, skip_bad=True):  # one unreadable message does not stop its mailbox
        skipped += frame.attrs.get("skipped", [])
        _insert(conn, tbl, frame)
        _index_identifiers(conn, src, tbl, frame)
        if mbox:
            _mail_parts(conn, src.dataset, frame)
        if src.kind == "message_trace":
            _trace_parts(conn, src.dataset, frame)
        rows += len(frame)
    if skipped:  # copied into the store with the part's other tables
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS _skipped (tbl TEXT, collection TEXT, line TEXT)")
        conn.exec_driver_sql("INSERT INTO _skipped VALUES (?, ?, ?)", [(tbl, src.collection, line) for line in skipped])
    if src.key_column and src.fmt.unique_key and not mbox:
        _check_unique_key(conn, src, tbl, src.key_column)
    if src.key_column and src.key_column.isidentifier():
        # a record by its key (the subject lookup, a finding's row), as they ask for it: CAST(key AS TEXT) = ?
        conn.exec_driver_sql(f'CREATE INDEX IF NOT EXISTS "{tbl}__record_key" ON "{tbl}" (CAST("{src.key_column}" AS TEXT))')
    conn.exec_driver_sql(f'CREATE INDEX "{tbl}__identifiers_kind_value" ON "{tbl}__identifiers" (kind, value)')
    conn.exec_driver_sql(f'CREATE INDEX "{tbl}__identifiers_key" ON "{tbl}__identifiers" (record_key)')
    _index_name_words(conn, tbl)
    conn.exec_driver_sql(f'CREATE INDEX "{tbl}__name_words_word" ON "{tbl}__name_words" (word, record_key, name)')
    return rows


def _check_unique_key(conn: "Connection", src: "ResolvedSource", tbl: str, key: str) -> None:
    """Refuse a collection whose record key repeats: findings name records by key, so one would hide the other."""
    dup = conn.exec_driver_sql(
        f'SELECT CAST("{key}" AS TEXT), min(_row), max(_row) FROM "{tbl}" WHERE "{key}" IS NOT NULL '
        f'GROUP BY "{key}" HAVING count(*) > 1 ORDER BY min(_row) LIMIT 1').first()
    if dup:
        from datamap.sources import shown_value

        value, first, second = dup  # an e-mail address as key (the mail users) is not quoted
        raise BadInput(src.label, f"row {second}, column {src.fmt.header_of(key)}",
                       f"record key {shown_value(value, src.fmt.identifier_columns().get(key))} repeats row {first}",
                       "each record must be exported once")


def _forget_mail(conn: "Connection", src: "ResolvedSource", files: list[Path]) -> None:
    """Drop the rows of this collection's mailboxes (other mbox collections may share the table)."""
    tbl = f"{src.dataset}__messages"
    _ensure_mail_tables(conn, src.dataset)
    conn.exec_driver_sql("DELETE FROM main._skipped WHERE tbl = ? AND collection = ?", (tbl, src.collection))
    exists = conn.exec_driver_sql("SELECT 1 FROM main.sqlite_master WHERE type='table' AND name = ?", (tbl,)).first()
    if not exists:
        return
    for name in {f.stem for f in files}:  # main.: the part being merged is attached with tables of the same names
        ids = f'SELECT message_id FROM main."{tbl}" WHERE mailbox = ?'
        conn.exec_driver_sql(f'DELETE FROM main."{src.dataset}__recipients" WHERE via IN (\'to\', \'cc\') AND message_id IN ({ids})', (name,))
        conn.exec_driver_sql(f'DELETE FROM main."{src.dataset}__body_identifiers" WHERE message_id IN ({ids})', (name,))
        for own in (f"{tbl}__identifiers", f"{tbl}__name_words"):
            if conn.exec_driver_sql("SELECT 1 FROM main.sqlite_master WHERE type='table' AND name = ?", (own,)).first():
                conn.exec_driver_sql(f'DELETE FROM main."{own}" WHERE record_key IN ({ids})', (name,))
        conn.exec_driver_sql(f'DELETE FROM main."{tbl}" WHERE mailbox = ?', (name,))


def _ensure_mail_tables(conn: "Connection", dataset: str, indexes: bool = True) -> None:
    conn.exec_driver_sql(f'CREATE TABLE IF NOT EXISTS main."{dataset}__recipients" '
                         "(message_id TEXT, address TEXT, address__norm TEXT, via TEXT)")
    conn.exec_driver_sql(f'CREATE TABLE IF NOT EXISTS main."{dataset}__body_identifiers" (message_id TEXT, kind TEXT, value TEXT)')
    if indexes:
        conn.exec_driver_sql(f'CREATE INDEX IF NOT EXISTS main."{dataset}__recipients_message" ON "{dataset}__recipients" (message_id)')
        conn.exec_driver_sql(f'CREATE INDEX IF NOT EXISTS main."{dataset}__body_identifiers_message" '
                             f'ON "{dataset}__body_identifiers" (message_id)')


def _split(value: Any) -> list[str]:
    return [v for v in str(value).split(",") if v] if value else []


def _mail_parts(conn: "Connection", dataset: str, frame: "pd.DataFrame") -> None:
    """Recipients from To/Cc and the body's identifiers, one row each, so SQL can judge sharing."""
    recipients, found = [], []
    for row in frame.itertuples(index=False):
        for via, column in (("to", row.to_addrs), ("cc", row.cc_addrs)):
            recipients += [(row.message_id, a, a, via) for a in _split(column)]
        for kind, column in (("email", row.body_emails), ("phone", row.body_phones), ("iban", row.body_ibans)):
            found += [(row.message_id, kind, v) for v in _split(column)]
    if recipients:
        conn.exec_driver_sql(f'INSERT INTO "{dataset}__recipients" VALUES (?, ?, ?, ?)', recipients)
    if found:
        conn.exec_driver_sql(f'INSERT INTO "{dataset}__body_identifiers" VALUES (?, ?, ?)', found)


def _trace_parts(conn: "Connection", dataset: str, frame: "pd.DataFrame") -> None:
    """Every delivery in the trace is a recipient ``via = 'trace'`` (a Bcc shows only here)."""
    rows = [(r.message_id, r.recipient_address, r.recipient_address__norm, "trace")
            for r in frame.itertuples(index=False) if r.recipient_address]
    if rows:
        conn.exec_driver_sql(f'INSERT INTO "{dataset}__recipients" VALUES (?, ?, ?, ?)', rows)


def _sqlite_type(column: str, values: "pd.Series") -> str:
    import pandas as pd

    if column == "_row" or column.endswith("__masked") or str(values.dtype) in ("Int64", "int64"):
        return "INTEGER"
    present = [v for v in values if v is not None and not (isinstance(v, float) and pd.isna(v))]
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "INTEGER"
    return "TEXT"


def _plain(value: Any) -> Any:
    """A value sqlite3 can bind: None for NaN/NA, Python scalars for numpy ones, text for the rest."""
    kind = type(value)
    if kind is str or kind is int or value is None:
        return value
    if kind.__name__ in ("NAType", "NaTType") or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()  # numpy scalars
    if isinstance(value, (int, float, str)):
        return value
    return str(value)


_BINDABLE = frozenset({str, int, type(None)})


def _bindable(series: "pd.Series") -> list[Any]:
    """A column as values sqlite3 binds; the shaped columns (text, int, None) pass through untouched."""
    values = series.tolist()
    if set(map(type, values)) <= _BINDABLE:  # C-level check: most columns need no per-cell work
        return values
    return [_plain(v) for v in values]


def _insert(conn: "Connection", tbl: str, frame: "pd.DataFrame") -> None:
    columns = list(frame.columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    exists = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type='table' AND name = ?", (tbl,)).first()
    if not exists:
        types = ", ".join(f'"{c}" {_sqlite_type(c, frame[c])}' for c in columns)
        conn.exec_driver_sql(f'CREATE TABLE "{tbl}" ({types})')
    else:  # a later chunk or another mailbox: add columns the table lacks (custom fields)
        have = {r[1] for r in conn.exec_driver_sql(f'PRAGMA table_info("{tbl}")')}
        for column in columns:
            if column not in have:
                conn.exec_driver_sql(f'ALTER TABLE "{tbl}" ADD COLUMN "{column}" {_sqlite_type(column, frame[column])}')
    marks = ", ".join("?" for _ in columns)
    rows = list(zip(*(_bindable(frame[c]) for c in columns)))
    if rows:
        conn.exec_driver_sql(f'INSERT INTO "{tbl}" ({quoted}) VALUES ({marks})', rows)


def _index_identifiers(conn: "Connection", src: "ResolvedSource", tbl: str, frame: "pd.DataFrame") -> None:
    """One ``<tbl>__identifiers`` row per normalised identifier of each record (mail: sender, recipients, body)."""
    from itertools import compress, repeat

    key = src.key_column if src.key_column in frame.columns else "_row"
    keys = [str(k) for k in _bindable(frame[key])]
    kinds = dict(src.fmt.identifier_columns())
    rows: list[tuple[Any, ...]] = []
    for column, kind in kinds.items():
        norm = f"{column}__norm"
        if norm not in frame.columns:
            continue
        values = _bindable(frame[norm])
        present = [v is not None for v in values]
        found = list(zip(compress(keys, present), compress(values, present)))
        rows += zip((k for k, _ in found), repeat(kind), (v for _, v in found))
    if src.kind == "mbox":
        for column, kind in (("to_addrs", "email"), ("cc_addrs", "email"), ("body_emails", "email"),
                             ("body_phones", "phone"), ("body_ibans", "iban")):
            rows += [(k, kind, v) for k, values in zip(frame["message_id"], frame[column]) for v in _split(values)]
    if rows:
        conn.exec_driver_sql(f'INSERT INTO "{tbl}__identifiers" VALUES (?, ?, ?)', rows)


def _index_name_words(conn: "Connection", tbl: str) -> None:
    """``<tbl>__name_words``: each word of each name with its record and the record's whole name.

    A name is searched by the start of any of its words (an index on the words, not a scan of all
    names), and the index carries the name the lookup scores, so finding 30,000 candidates at 1M
    subjects is one range scan instead of 30,000 reads by key. The whole name is the record's name
    identifiers (first and last name) joined in the order they were written, as the lookup joins them.
    """
    from itertools import groupby, islice

    raw = conn.connection.driver_connection
    names = raw.execute(f'SELECT record_key, value FROM "{tbl}__identifiers" WHERE kind = \'name\' ORDER BY record_key, rowid')

    def rows() -> Iterator[tuple[str, str, str]]:
        for key, group in groupby(names, key=lambda row: row[0]):
            values = [value for _, value in group]
            whole = " ".join(values)
            for value in values:
                yield from ((word, key, whole) for word in dict.fromkeys(name_words(value, folded=True)) if len(word) >= 3)

    words = rows()
    while batch := list(islice(words, 10_000)):  # streamed: memory stays one batch, whatever the table
        raw.executemany(f'INSERT INTO "{tbl}__name_words" VALUES (?, ?, ?)', batch)


def _record(conn: "Connection", part: _Part, rows: int) -> None:
    """Write the table's provenance and the fingerprint that lets the next run reuse it."""
    from datamap.sources.sql import shown_url

    src, tbl, files, fingerprint, sha = part.src, part.table, part.files, part.fingerprint, part.sha
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if src.is_sql:
        url = shown_url(src.config.url or "", f"datasets.{src.dataset}.url")
        source = src.table
    else:
        url, source = None, ", ".join(src.relpath(f) for f in files)
    if src.kind == "mbox":
        total = conn.exec_driver_sql(f'SELECT count(*) FROM main."{tbl}"').scalar_one()
        old = conn.exec_driver_sql("SELECT source FROM _provenance WHERE tbl = ?", (tbl,)).first()
        sources = sorted(set(_split(old[0].replace(", ", ",")) if old else []) | set(source.split(", ")))
        source, rows = ", ".join(sources), int(total)
    conn.exec_driver_sql("INSERT OR REPLACE INTO _provenance VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (tbl, src.dataset, src.collection, source, sha, url, rows, now))
    for derived in ("recipients", "body_identifiers"):
        name = f"{src.dataset}__{derived}"
        if src.kind in ("mbox", "message_trace"):
            count = conn.exec_driver_sql(f'SELECT count(*) FROM main."{name}"').scalar_one()
            conn.exec_driver_sql("INSERT OR REPLACE INTO _provenance VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                 (name, src.dataset, derived, f"derived from {src.dataset}__messages and {src.dataset}__message_trace", None, None, int(count), now))
    conn.exec_driver_sql("INSERT OR REPLACE INTO _staging VALUES (?, ?)", (_staging_key(tbl, src.collection), fingerprint))
