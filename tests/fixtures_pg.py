"""A real, throwaway PostgreSQL server for the tests marked ``postgres`` (owned by the sources tests).

``pg_server`` runs ``initdb`` into a fresh temp directory and starts the server with ``pg_ctl``,
listening only on a unix socket inside that directory (no TCP port, so two xdist workers each get
their own server without clashing). Running as root, the server runs as the ``postgres`` OS user
through ``runuser``. Binaries come from ``/usr/lib/postgresql/*/bin``; when they are missing the
tests fail with a message saying how to install them (``bash .ci/system-deps``), never skip.

``portal_to_postgres`` copies a portal SQLite database into a new PostgreSQL database with the
production types (integer keys, ``timestamp`` for the ``*_at`` columns).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import glob
import os
import pwd
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest


def postgres_bin() -> Path:
    """The newest installed PostgreSQL server's bin directory; fail (not skip) when there is none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in Path(p).parent.name.split(".") if x.isdigit()])
    found = [p for p in found if os.access(Path(p) / "initdb", os.X_OK)]
    if not found:
        pytest.fail("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: "
                    "run `bash .ci/system-deps` (installs Debian's postgresql package)", pytrace=False)
    return Path(found[-1])


@dataclass
class PgServer:
    """A running throwaway server: connect through its unix socket directory as user ``postgres``."""

    bin: Path
    socket_dir: Path

    def url(self, database: str = "postgres", password_env: str | None = None) -> str:
        """A SQLAlchemy URL (psycopg 3); with ``password_env`` the password is given as ``${VAR}``."""
        auth = f"postgres:${{{password_env}}}" if password_env else "postgres"
        return f"postgresql+psycopg://{auth}@/{database}?host={self.socket_dir}"

    def create_database(self, prefix: str = "t") -> str:
        """Create a fresh, uniquely named database and return its name."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(host=str(self.socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def running_server(settings: str = "-c shared_buffers=16MB -c max_connections=30") -> Iterator[PgServer]:
    """Start a throwaway server on a unix socket in a fresh temp directory; stop and remove it after.

    Used by the ``pg_server`` fixture and by the benchmark's PostgreSQL run
    (``benchmarks/engines.py``), which passes larger ``settings``.
    """
    bindir = postgres_bin()
    base = Path(tempfile.mkdtemp(prefix="datamap-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(base, user.pw_uid, user.pw_gid)
    data = base / "data"
    run = lambda cmd: subprocess.run(_as_postgres(cmd), check=True, capture_output=True, text=True)  # noqa: E731
    try:
        run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
        run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60", "-o",
             f"-k {base} -c listen_addresses='' -F {settings}", "start"])
    except subprocess.CalledProcessError as exc:
        log = (base / "server.log").read_text() if (base / "server.log").exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr or exc.stdout}\n{log}", pytrace=False)
    try:
        yield PgServer(bindir, base)
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """Start one PostgreSQL server for this test process (each xdist worker has its own) and stop it after."""
    with running_server() as server:
        yield server


def portal_to_postgres(server: PgServer, sqlite_path: Path) -> str:
    """Load every table of a portal SQLite file into a new PostgreSQL database; return the database name.

    Integer columns stay integer, ``*_at`` columns become ``timestamp``, everything else ``text``.
    """
    import psycopg

    name = server.create_database("portal")
    src = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        with psycopg.connect(host=str(server.socket_dir), user="postgres", dbname=name) as conn:
            tables = [r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
            for table in tables:
                info = src.execute(f'PRAGMA table_info("{table}")').fetchall()
                columns = [(c[1], _pg_type(c[1], c[2], bool(c[5]))) for c in info]
                conn.execute(f'CREATE TABLE "{table}" (' + ", ".join(f'"{n}" {t}' for n, t in columns) + ")")
                rows = src.execute(f'SELECT * FROM "{table}"').fetchall()
                converted = [tuple(_pg_value(v, t) for v, (_, t) in zip(row, columns)) for row in rows]
                marks = ", ".join(["%s"] * len(columns))
                with conn.cursor() as cur:
                    cur.executemany(f'INSERT INTO "{table}" VALUES ({marks})', converted)
            conn.commit()
    finally:
        src.close()
    return name


def _pg_type(name: str, declared: str, primary_key: bool) -> str:
    if name.endswith("_at"):
        return "timestamp"
    if declared.lower().startswith("int"):
        return "integer primary key" if primary_key else "integer"
    return "text"


def _pg_value(value: object, pg_type: str) -> object:
    if pg_type == "timestamp" and isinstance(value, str) and value:
        return dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    return value
