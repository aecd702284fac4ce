"""Read-only SQL sources: any SQLAlchemy URL, opened so that no write can get through.

Read-only by construction, not by good behaviour: SQLite files are opened with a ``mode=ro`` URI
(and ``immutable=1`` when no write-ahead log is beside them: SQLite then creates no ``-wal`` or
``-shm`` file and reads from a read-only folder; a change during the audit is caught by the run's
input hashes), PostgreSQL sessions start with ``SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY``
(and MySQL/MariaDB with ``SET SESSION TRANSACTION READ ONLY``) on every new connection. A dialect for
which the workbench cannot guarantee that is refused.

Passwords come only from ``${ENV_VAR}`` and are redacted wherever a URL is shown. The URL is parsed
before the environment is read, and each value is put into SQLAlchemy's URL object, never into the
URL's text: a password holding ``@``, ``/`` or ``#`` stays one password, which the URL escapes and
``render_as_string(hide_password=True)`` hides. A password in the query (``?password=``) is refused.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from datamap.errors import BadInput, SourceUnavailable
from datamap.sources.shape import map_headers
from datamap.workspace import expand_env

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import URL, Engine

    from datamap.sources.resolved import ResolvedSource

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


_SECRET_QUERY = ("password", "passwd", "pwd")
_ENV = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")  # a ${VAR} as workspace.expand_env reads it
_PORT = re.compile(r":(\$\{[A-Za-z_][A-Za-z0-9_]*\})(?=[/?]|$)")  # host:${PORT}/database


def configured_url(raw: str, key: str = "url") -> "URL":
    """The URL sources.yml gives, with each ``${ENV_VAR}`` put into the URL object's own part.

    Parsed first, then filled: ``postgresql://audit:${PGPASSWORD}@db/crm`` takes the variable's value
    as its password whatever characters it holds. A URL given whole as one variable (``${DATABASE_URL}``)
    is the variable's text, escaped by whoever wrote it. A literal password, or one in the query, is refused.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    whole = _ENV.fullmatch(raw.strip())
    # a port must parse as a number: a ${VAR} there (never a secret) is filled in first
    text = expand_env(raw, key=key) if whole else _PORT.sub(lambda m: ":" + expand_env(m.group(1), key=key), raw)
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise BadInput("sources.yml", key, "not a SQLAlchemy URL", "e.g. sqlite:///portal/portal.db") from None
    secret = [name for name in url.query if name.lower().endswith(_SECRET_QUERY)]
    if secret:
        raise BadInput("sources.yml", key, f"a password in the URL's query ({secret[0]}=) is not allowed",
                       "give it as the URL's password, from the environment: user:${ENV_VAR}@host")
    if whole:
        return url
    if url.password is not None and not _ENV.fullmatch(url.password):
        raise BadInput("sources.yml", key, "a password in a database URL must be given as ${ENV_VAR}",
                       "user:${ENV_VAR}@host, the variable holding the password as it is")

    def fill(value: Any) -> Any:
        return expand_env(value, key=key) if isinstance(value, str) else value

    query = {name: (tuple(fill(v) for v in value) if isinstance(value, tuple) else fill(value))
             for name, value in url.query.items()}
    return url.set(username=fill(url.username), password=fill(url.password), host=fill(url.host),
                   database=fill(url.database), query=query)


def shown_url(raw: str, key: str = "url") -> str:
    """The URL as errors, logs and provenance show it: parsed as :func:`configured_url`, password hidden."""
    try:
        return redact(configured_url(raw, key))
    except BadInput:
        return str(raw).split(":", 1)[0] + "://…"


def _wal_beside(path: Path) -> bool:
    """Whether a SQLite file has a write-ahead log or rollback journal with content beside it."""
    for suffix in ("-wal", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.is_file() and side.stat().st_size > 0:
            return True
    return False


def readonly_url(raw: str, root: Path, key: str = "url") -> "URL":
    """Expand ``${ENV_VAR}`` and turn a SQLite path into a read-only URI relative to the workspace."""
    url = configured_url(raw, key)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise BadInput("sources.yml", key, "a SQLite source must name its database file")
        path = Path(database)
        if not path.is_absolute():
            from datamap.workspace import inside_workspace

            path = inside_workspace(root, root / path, database, "sources.yml", key)
        if not path.is_file():
            raise SourceUnavailable("sources.yml", key, f"database file not found: {path}")
        # immutable=1: no locks, no -wal or -shm file (a WAL database in a read-only folder opens).
        # Not with a log beside the file: SQLite would then not read the transactions still in it.
        query = {"mode": "ro", **({} if _wal_beside(path) else {"immutable": "1"}), "uri": "true"}
        url = url.set(database=f"file:{path.resolve()}", query=query)
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
        return f"{url.drivername}:///{url.database}?" + "&".join(f"{k}={v}" for k, v in url.query.items())
    return url.render_as_string(hide_password=False)


def readonly_engine(raw: str, root: Path, key: str = "url") -> "Engine":
    """Create an engine whose every connection is read-only, and prove it connects (else SourceUnavailable)."""
    from sqlalchemy import create_engine, event, text

    url = readonly_url(raw, root, key)
    shown = shown_url(raw, key)  # as configured: without the read-only additions
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
        hint = None
        if url.get_backend_name() == "sqlite" and "immutable" not in url.query:
            hint = ("a write-ahead log is beside the database: SQLite must create its -shm file to read it; "
                    "checkpoint the database (PRAGMA wal_checkpoint) or audit a copy in a writable folder")
        raise SourceUnavailable("sources.yml", key, f"cannot connect to {shown}: {_reason(exc, url)}", hint) from None
    return engine


def _reason(exc: Exception, url: "URL") -> str:
    """The driver's first line of complaint, with the password scrubbed should it appear."""
    from urllib.parse import quote, quote_plus

    orig = getattr(exc, "orig", None) or exc
    line = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    if url.password:
        password = str(url.password)
        for form in sorted({password, quote(password, safe=""), quote_plus(password)}, key=len, reverse=True):
            line = line.replace(form, "***")
    return line


def read_table(src: "ResolvedSource", chunksize: int) -> Iterator[tuple["pd.DataFrame", str]]:
    """Stream a table in partitions (server-side cursor where the driver has one)."""
    import pandas as pd
    from sqlalchemy import MetaData, Table, select
    from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

    key = f"datasets.{src.dataset}.url"
    engine = readonly_engine(src.config.url or "", src.root, key)
    where = f"{src.dataset} ({shown_url(src.config.url or '', key)}) table {src.table}"
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
