"""Read-only SQL sources: any SQLAlchemy URL, opened so that no write can get through.

Read-only by construction, not by good behaviour: SQLite files are opened with a ``mode=ro`` URI,
PostgreSQL sessions start with ``SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`` (and
MySQL/MariaDB with ``SET SESSION TRANSACTION READ ONLY``) on every new connection. A dialect for
which the workbench cannot guarantee that is refused. Passwords come only from ``${ENV_VAR}`` and
are redacted wherever a URL is shown.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from datamap.errors import BadInput, SourceUnavailable
from datamap.workspace import expand_env

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import URL, Engine

    from datamap.sources import ResolvedSource

_READ_ONLY_SESSION = {
    "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "mysql": "SET SESSION TRANSACTION READ ONLY",
    "mariadb": "SET SESSION TRANSACTION READ ONLY",
}


def redact(url: "str | URL") -> str:
    """Render a URL with its password hidden (``***``), for logs, errors and provenance."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown only up to its scheme
        return str(url).split(":", 1)[0] + "://…"


def readonly_url(raw: str, root: Path, key: str = "url") -> "URL":
    """Expand ``${ENV_VAR}`` and turn a SQLite path into a read-only URI relative to the workspace."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(expand_env(raw, key=key))
    except ArgumentError:
        raise BadInput("sources.yml", key, "not a SQLAlchemy URL", "e.g. sqlite:///portal/portal.db") from None
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise BadInput("sources.yml", key, "a SQLite source must name its database file")
        path = Path(database)
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            raise SourceUnavailable("sources.yml", key, f"database file not found: {path}")
        url = url.set(database=f"file:{path.resolve()}", query={"mode": "ro", "uri": "true"})
    elif url.get_backend_name() == "postgresql":
        # Also in the URL itself, so an engine someone else builds from it (Great Expectations) is read-only too.
        options = " ".join(filter(None, [url.query.get("options", ""), "-c default_transaction_read_only=on"]))
        url = url.update_query_dict({"options": options})
    elif url.get_backend_name() not in _READ_ONLY_SESSION:
        raise BadInput("sources.yml", key, f"cannot open a {url.get_backend_name()} database read-only",
                       "supported: sqlite, postgresql, mysql, mariadb")
    return url


def readonly_url_string(raw: str, root: Path, key: str = "url") -> str:
    """The read-only URL as a string with its password, for libraries that build their own engine.

    SQLite gets ``mode=ro``; PostgreSQL ``options=-c default_transaction_read_only=on``. Never log
    or show it: use :func:`redact` for that.
    """
    url = readonly_url(raw, root, key)
    if url.get_backend_name() == "sqlite":  # rendered by hand: SQLAlchemy would escape the URI's colon
        return f"{url.drivername}:///{url.database}?mode=ro&uri=true"
    return url.render_as_string(hide_password=False)


def readonly_engine(raw: str, root: Path, key: str = "url") -> "Engine":
    """Create an engine whose every connection is read-only, and prove it connects (else SourceUnavailable)."""
    from sqlalchemy import create_engine, event, text

    url = readonly_url(raw, root, key)
    shown = redact(expand_env(raw, key=key))  # as configured: without the read-only additions
    engine = create_engine(url)
    statement = _READ_ONLY_SESSION.get(url.get_backend_name())
    if statement:

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_connection: Any, _record: Any) -> None:
            autocommit = getattr(dbapi_connection, "autocommit", None)
            cursor = dbapi_connection.cursor()
            cursor.execute(statement)
            cursor.close()
            if autocommit is False:
                dbapi_connection.commit()

    try:
        with engine.connect() as conn:
            # SQLite opens any file lazily: reading the schema proves the file is a database at all
            conn.execute(text("SELECT count(*) FROM sqlite_master" if url.get_backend_name() == "sqlite" else "SELECT 1"))
    except Exception as exc:
        engine.dispose()
        raise SourceUnavailable("sources.yml", key, f"cannot connect to {shown}: {_reason(exc, url)}") from None
    return engine


def _reason(exc: Exception, url: "URL") -> str:
    """The driver's first line of complaint, with the password scrubbed should it appear."""
    orig = getattr(exc, "orig", None) or exc
    line = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    if url.password:
        line = line.replace(str(url.password), "***")
    return line


def read_table(src: "ResolvedSource", chunksize: int) -> Iterator[tuple["pd.DataFrame", str]]:
    """Stream a table in partitions (server-side cursor where the driver has one)."""
    import pandas as pd
    from sqlalchemy import MetaData, Table, select
    from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

    from datamap.sources import map_headers

    key = f"datasets.{src.dataset}.url"
    engine = readonly_engine(src.config.url or "", src.root, key)
    where = f"{src.dataset} ({redact(expand_env(src.config.url or '', key=key))}) table {src.table}"
    try:
        with engine.connect() as conn:
            try:
                table = Table(src.table, MetaData(), autoload_with=conn)
            except NoSuchTableError:
                raise BadInput(where, None, "table not found", f"sources.yml {src.config_key}") from None
            names = [c.name for c in table.columns]
            columns = map_headers(names, src, where)
            result = conn.execution_options(stream_results=True, yield_per=chunksize).execute(select(table))
            offset = 0
            for rows in result.partitions(chunksize):
                frame = pd.DataFrame([tuple(_plain(v) for v in r) for r in rows], columns=columns, dtype=object)
                frame.insert(0, "_row", range(offset + 1, offset + len(frame) + 1))
                offset += len(frame)
                yield frame, where
            if offset == 0:
                frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
                frame.insert(0, "_row", pd.Series([], dtype="int64"))
                yield frame, where
    except SQLAlchemyError as exc:
        raise SourceUnavailable(where, None, f"cannot read: {_reason(exc, engine.url)}") from None
    finally:
        engine.dispose()


def _plain(value: Any) -> Any:
    """Keep ints, text and timestamps (the shaper formats dates); turn Decimals and bytes into text."""
    if value is None or isinstance(value, (int, float, str, dt.date)):
        return value
    return str(value)
