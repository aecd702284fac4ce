"""The audit store: the sources' rows staged into one embedded SQLite file that the checks query.

Layout (docs/design.md, "The audit store"): one table ``<dataset>__<collection>`` per staged
collection in the readers' shape (standard snake_case columns, ISO dates, ``_row``,
``<col>__norm``); mail adds ``<dataset>__recipients`` and ``<dataset>__body_identifiers``;
``identifiers`` indexes every normalised identifier of every record; ``_provenance`` says where
each table came from; ``params`` holds the policy's parameters for SQL checks.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from datamap.errors import BadInput
from datamap.identity import name_words
from datamap.workspace import Workspace, load_workspace

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Connection, Engine

    from datamap.sources import ResolvedSource

STORE_VERSION = "2"  # 2: name_words, the indexed words of every name identifier
DEFAULT_PATH = ".datamap/store.sqlite"
_BLOCK = 1 << 20
CACHE_KIB = 256 * 1024  # SQLite page cache while staging (bounded: part of the peak memory)

_META = """
CREATE TABLE IF NOT EXISTS _provenance (tbl TEXT PRIMARY KEY, dataset TEXT, collection TEXT, source TEXT,
    sha256 TEXT, url TEXT, rows INTEGER, read_at TEXT);
CREATE TABLE IF NOT EXISTS _staging (tbl TEXT PRIMARY KEY, fingerprint TEXT);
CREATE TABLE IF NOT EXISTS identifiers (tbl TEXT, record_key TEXT, kind TEXT, value TEXT);
CREATE INDEX IF NOT EXISTS identifiers_kind_value ON identifiers (kind, value);
CREATE INDEX IF NOT EXISTS identifiers_tbl_key ON identifiers (tbl, record_key);
CREATE TABLE IF NOT EXISTS name_words (word TEXT, tbl TEXT, record_key TEXT);
CREATE INDEX IF NOT EXISTS name_words_word ON name_words (word);
CREATE TABLE IF NOT EXISTS params (name TEXT, value TEXT);
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
    _sources: dict[str, "Engine"] = field(default_factory=dict, repr=False)

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
    params: dict[str, Any] | None = None,
    chunksize: int | None = None,
) -> Store:
    """Stage the sources the checks need into the audit store and return it.

    ``collections``: the ``(dataset, collection)`` pairs to stage (default: every one in
    sources.yml). ``path``: the SQLite file (default ``<workspace>/.datamap/store.sqlite``); it is
    reused, and a table restaged only when its source changed. ``params``: extra check parameters
    added to the policy's in the ``params`` table.
    """
    from sqlalchemy import create_engine, event

    from datamap.sources import DEFAULT_CHUNKSIZE
    from datamap.sources import collections as all_collections

    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    target = Path(path) if path else ws.root / DEFAULT_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{target}")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN cover DDL too (a failed restage rolls back whole)
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        # 256 MB of page cache instead of SQLite's 2 MB: inserting millions of identifiers keeps two
        # indexes up to date, and with the default cache half the CPU goes to re-reading index pages
        dbapi_connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")

    store = Store(target, engine, ws)
    wanted = list(collections) if collections is not None else all_collections(ws)
    with _staging_lock(target):  # a second audit of the same workspace waits, then reuses what the first staged
        with engine.begin() as conn:
            conn.connection.driver_connection.executescript(_META)
        for dataset, collection in dict.fromkeys(wanted):
            store.status[(dataset, collection)] = _stage_one(store, dataset, collection, chunksize or DEFAULT_CHUNKSIZE)
        if any(s.ok and not s.reused for s in store.status.values()):
            _analyze(engine)
        write_params(store, params or {})
    return store


@contextlib.contextmanager
def _staging_lock(target: Path) -> Iterator[None]:
    """Hold an exclusive lock on the store while staging: two writers would fail with 'database is locked'."""
    import fcntl

    with open(target.with_name(target.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _analyze(engine: "Engine") -> None:
    """Give SQLite's planner row statistics of the restaged tables and indexes.

    Without them it may scan every e-mail in ``identifiers`` instead of looking up one value
    (the erasure check on the 100k estate: 3 s a query, 0.003 s after ANALYZE, which itself costs
    under a second of CPU there).
    """
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


# --- one source ----------------------------------------------------------------------------------


def _stage_one(store: Store, dataset: str, collection: str, chunksize: int) -> SourceStatus:
    from datamap.sources import resolve

    tbl = f"{dataset}__{collection}"
    try:
        src = resolve(store.workspace, dataset, collection)
        tbl = store.table(dataset, collection)
        files = [] if src.is_sql else src.files()
        fingerprint = _fingerprint(src, files)
        with store.engine.begin() as conn:
            if fingerprint and _unchanged(conn, tbl, collection, fingerprint):
                rows = conn.exec_driver_sql(f'SELECT count(*) FROM "{tbl}"').scalar_one()
                return SourceStatus(dataset, collection, tbl, rows=int(rows), reused=True)
            rows = _load(conn, src, tbl, files, chunksize)
            _record(conn, src, tbl, files, fingerprint, rows)
        return SourceStatus(dataset, collection, tbl, rows=rows)
    except BadInput as exc:
        return SourceStatus(dataset, collection, tbl, error=exc.line())
    except Exception as exc:  # one broken source must not stop the others; say what broke
        return SourceStatus(dataset, collection, tbl, error=f"{dataset}.{collection}: cannot be read: "
                            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


def sha256_file(path: Path) -> str:
    """Hash a file block by block (memory stays bounded)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _source_sha(src: "ResolvedSource", files: list[Path]) -> str | None:
    if src.is_sql:
        from datamap.sources.sql import readonly_url

        url = readonly_url(src.config.url or "", src.root, f"datasets.{src.dataset}.url")
        if url.get_backend_name() != "sqlite":
            return None
        return sha256_file(Path(str(url.database).removeprefix("file:")))
    if len(files) == 1:
        return sha256_file(files[0])
    combined = hashlib.sha256()
    for file in files:
        combined.update(f"{src.relpath(file)}\0{sha256_file(file)}\n".encode())
    return combined.hexdigest()


def _fingerprint(src: "ResolvedSource", files: list[Path]) -> str | None:
    """What a staged table depends on: the source's bytes, its configuration, the format and this code."""
    from datamap.sources import FORMATS_FILE

    sha = _source_sha(src, files)
    if sha is None:
        return None
    parts = [STORE_VERSION, sha, src.config.model_dump_json(), src.timezone,
             hashlib.sha256(FORMATS_FILE.read_bytes()).hexdigest()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _unchanged(conn: "Connection", tbl: str, collection: str, fingerprint: str) -> bool:
    key = f"{tbl}#{collection}"
    row = conn.exec_driver_sql("SELECT fingerprint FROM _staging WHERE tbl = ?", (key,)).first()
    exists = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type='table' AND name = ?", (tbl,)).first()
    return bool(row and exists and row[0] == fingerprint)


def _load(conn: "Connection", src: "ResolvedSource", tbl: str, files: list[Path], chunksize: int) -> int:
    """Replace the table with the source's rows, and its identifiers; returns the number of rows."""
    from datamap.sources import read_resolved

    mbox = src.kind == "mbox"
    if mbox:
        _forget_mail(conn, src, files)
    else:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{tbl}"')
        conn.exec_driver_sql("DELETE FROM identifiers WHERE tbl = ?", (tbl,))
        conn.exec_driver_sql("DELETE FROM name_words WHERE tbl = ?", (tbl,))
    if src.kind == "message_trace":
        _ensure_mail_tables(conn, src.dataset)
        conn.exec_driver_sql(f'DELETE FROM "{src.dataset}__recipients" WHERE via = ?', ("trace",))
    rows = 0
    for frame in read_resolved(src, chunksize):
        _insert(conn, tbl, frame)
        _index_identifiers(conn, src, tbl, frame)
        if mbox:
            _mail_parts(conn, src.dataset, frame)
        if src.kind == "message_trace":
            _trace_parts(conn, src.dataset, frame)
        rows += len(frame)
    if src.key_column and src.fmt.unique_key and not mbox:
        _check_unique_key(conn, src, tbl, src.key_column)
    _index_norms(conn, tbl)
    return rows


def _check_unique_key(conn: "Connection", src: "ResolvedSource", tbl: str, key: str) -> None:
    """Refuse a collection whose record key repeats: findings name records by key, so one would hide the other."""
    dup = conn.exec_driver_sql(
        f'SELECT CAST("{key}" AS TEXT), min(_row), max(_row) FROM "{tbl}" WHERE "{key}" IS NOT NULL '
        f'GROUP BY "{key}" HAVING count(*) > 1 ORDER BY min(_row) LIMIT 1').first()
    if dup:
        from datamap.sources import _header

        value, first, second = dup
        raise BadInput(src.label, f"row {second}, column {_header(src, key)}",
                       f"record key {value!r} repeats row {first}", "each record must be exported once")


def _index_norms(conn: "Connection", tbl: str) -> None:
    """Index the normalised identifier columns once the rows are in (cheaper than during the inserts)."""
    for _, column, *_ in conn.exec_driver_sql(f'PRAGMA table_info("{tbl}")').all():
        if column.endswith("__norm"):
            conn.exec_driver_sql(f'CREATE INDEX IF NOT EXISTS "{tbl}__{column}" ON "{tbl}" ("{column}")')


def _forget_mail(conn: "Connection", src: "ResolvedSource", files: list[Path]) -> None:
    """Drop the rows of this collection's mailboxes (other mbox collections may share the table)."""
    tbl = f"{src.dataset}__messages"
    _ensure_mail_tables(conn, src.dataset)
    exists = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type='table' AND name = ?", (tbl,)).first()
    if not exists:
        return
    for name in {f.stem for f in files}:
        ids = f'SELECT message_id FROM "{tbl}" WHERE mailbox = ?'
        conn.exec_driver_sql(f'DELETE FROM "{src.dataset}__recipients" WHERE via IN (\'to\', \'cc\') AND message_id IN ({ids})', (name,))
        conn.exec_driver_sql(f'DELETE FROM "{src.dataset}__body_identifiers" WHERE message_id IN ({ids})', (name,))
        conn.exec_driver_sql(f"DELETE FROM identifiers WHERE tbl = ? AND record_key IN ({ids})", (tbl, name))
        conn.exec_driver_sql(f'DELETE FROM "{tbl}" WHERE mailbox = ?', (name,))


def _ensure_mail_tables(conn: "Connection", dataset: str) -> None:
    conn.exec_driver_sql(f'CREATE TABLE IF NOT EXISTS "{dataset}__recipients" '
                         "(message_id TEXT, address TEXT, address__norm TEXT, via TEXT)")
    conn.exec_driver_sql(f'CREATE INDEX IF NOT EXISTS "{dataset}__recipients_message" ON "{dataset}__recipients" (message_id)')
    conn.exec_driver_sql(f'CREATE TABLE IF NOT EXISTS "{dataset}__body_identifiers" (message_id TEXT, kind TEXT, value TEXT)')
    conn.exec_driver_sql(f'CREATE INDEX IF NOT EXISTS "{dataset}__body_identifiers_message" '
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
    """One ``identifiers`` row per normalised identifier of each record (mail: sender, recipients, body)."""
    from itertools import compress, repeat

    key = src.key_column if src.key_column in frame.columns else "_row"
    keys = [str(k) for k in _bindable(frame[key])]
    kinds = dict(src.fmt.identifier_columns())
    rows: list[tuple[Any, ...]] = []
    names: list[tuple[str, str]] = []
    for column, kind in kinds.items():
        norm = f"{column}__norm"
        if norm not in frame.columns:
            continue
        values = _bindable(frame[norm])
        present = [v is not None for v in values]
        found = list(zip(compress(keys, present), compress(values, present)))
        rows += zip(repeat(tbl), (k for k, _ in found), repeat(kind), (v for _, v in found))
        if kind == "name":
            names += found
    if src.kind == "mbox":
        for column, kind in (("to_addrs", "email"), ("cc_addrs", "email"), ("body_emails", "email"),
                             ("body_phones", "phone"), ("body_ibans", "iban")):
            rows += [(tbl, k, kind, v) for k, values in zip(frame["message_id"], frame[column]) for v in _split(values)]
    if rows:
        conn.exec_driver_sql("INSERT INTO identifiers VALUES (?, ?, ?, ?)", rows)
    # A name is searched by the start of any of its words: an index on the words, not a scan of all names.
    words = [(w, tbl, k) for k, v in names for w in dict.fromkeys(name_words(v, folded=True)) if len(w) >= 3]
    if words:
        conn.exec_driver_sql("INSERT INTO name_words VALUES (?, ?, ?)", words)


def _record(conn: "Connection", src: "ResolvedSource", tbl: str, files: list[Path], fingerprint: str | None,
            rows: int) -> None:
    """Write the table's provenance and the fingerprint that lets the next run reuse it."""
    from datamap.sources.sql import redact

    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if src.is_sql:
        from datamap.workspace import expand_env

        url = redact(expand_env(src.config.url or "", key=f"datasets.{src.dataset}.url"))
        source, sha = src.table, _source_sha(src, files)
    else:
        url, source = None, ", ".join(src.relpath(f) for f in files)
        sha = _source_sha(src, files)
    if src.kind == "mbox":
        total = conn.exec_driver_sql(f'SELECT count(*) FROM "{tbl}"').scalar_one()
        old = conn.exec_driver_sql("SELECT source FROM _provenance WHERE tbl = ?", (tbl,)).first()
        sources = sorted(set(_split(old[0].replace(", ", ",")) if old else []) | set(source.split(", ")))
        source, rows = ", ".join(sources), int(total)
    conn.exec_driver_sql("INSERT OR REPLACE INTO _provenance VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (tbl, src.dataset, src.collection, source, sha, url, rows, now))
    for derived in ("recipients", "body_identifiers"):
        name = f"{src.dataset}__{derived}"
        if src.kind in ("mbox", "message_trace"):
            count = conn.exec_driver_sql(f'SELECT count(*) FROM "{name}"').scalar_one()
            conn.exec_driver_sql("INSERT OR REPLACE INTO _provenance VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                 (name, src.dataset, derived, f"derived from {src.dataset}__messages and {src.dataset}__message_trace", None, None, int(count), now))
    conn.exec_driver_sql("INSERT OR REPLACE INTO _staging VALUES (?, ?)", (f"{tbl}#{src.collection}", fingerprint))


# --- parameters ----------------------------------------------------------------------------------


def policy_params(workspace: Workspace) -> Iterator[tuple[str, str]]:
    """Flatten policy.yml into ``(name, value)`` rows: dotted names, one row per list item.

    Retention rules become ``retention.<system>.<collection>.<key>``; ``as_of`` is the reference date.
    """
    policy = workspace.policy
    data = policy.model_dump(mode="json", exclude={"retention", "notice"})
    data["as_of"] = policy.reference_date().isoformat()
    yield from _flatten("", data)
    yield from _flatten("notice.", {k: v for k, v in policy.notice.model_dump(mode="json").items() if k != "purposes"})
    for rule in policy.retention:
        yield from _flatten(f"retention.{rule.system}.{rule.collection}.",
                            rule.model_dump(mode="json", exclude={"system", "collection"}))


def _flatten(prefix: str, data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(f"{name}.", value)
        elif isinstance(value, list):
            for item in value:
                if not isinstance(item, (dict, list)):
                    yield name, _text(item)
        elif value is not None:
            yield name, _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return value if isinstance(value, str) else json.dumps(value)


def write_params(store: Store, extra: dict[str, Any]) -> None:
    """Refill ``params`` with bound parameters: policy.yml's values plus ``extra``."""
    rows = list(policy_params(store.workspace))
    names = set(extra)
    rows = [r for r in rows if r[0] not in names]
    for name, value in extra.items():
        values = value if isinstance(value, (list, tuple, set)) else [value]
        rows += [(name, _text(v)) for v in values]
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM params")
        if rows:
            conn.exec_driver_sql("INSERT INTO params (name, value) VALUES (?, ?)", rows)
