"""Reading the audit store for a subject request: records by key, the identifier index, provenance.

The store is opened read-only: answering a request never changes what the audit sees.
"""
from __future__ import annotations

import os
import re
import sqlite3
from typing import TYPE_CHECKING, Any, Iterable

from datamap.errors import BadInput
from datamap.store import open_read_only

if TYPE_CHECKING:
    from datamap.subject.mapview import MapView
    from datamap.workspace import Workspace


def open_store(workspace: Workspace, path: str | os.PathLike[str] | None = None) -> sqlite3.Connection:
    """Stage the workspace's sources into the audit store (reused when unchanged) and open it read-only.

    ``path``: the store file (default: the store's own, under the workspace's ``.datamap``).
    """
    from datamap.store import stage

    staged = stage(workspace, path=path)
    staged.close()
    errors = list(dict.fromkeys(staged.errors().values()))
    if errors:  # an answer built without one source would look complete and miss the person's data there
        more = f" (and {len(errors) - 1} more source(s) not read)" if len(errors) > 1 else ""
        raise BadInput(None, None, errors[0] + more)
    return open_read_only(staged.pg or staged.path)


def tables(con: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    """Store table -> (dataset, collection), from the provenance the store records."""
    rows = con.execute("SELECT DISTINCT tbl, dataset, collection FROM _provenance").fetchall()
    return {r["tbl"]: (r["dataset"], r["collection"]) for r in rows}


def provenance(con: sqlite3.Connection, table: str) -> str | None:
    row = con.execute("SELECT source FROM _provenance WHERE tbl = ? LIMIT 1", (table,)).fetchone()
    return row["source"] if row else None


def record(con: sqlite3.Connection, table: str, key_column: str, record_key: str,
           own: Iterable[str] = ()) -> dict[str, Any] | None:
    """One record of a store table by its key, as a dict (store columns).

    Where several rows share the key (a message trace has one row per recipient), the row holding
    one of ``own`` (the person's normalised identifiers) is the person's; the others are not theirs to see.
    """
    cur = con.execute(f'SELECT * FROM "{checked_name(table)}" WHERE CAST("{checked_name(key_column)}" AS TEXT) = ?', (record_key,))
    rows = [dict(r) for r in cur.fetchall()]
    wanted = set(own)
    mine = [r for r in rows if any(c.endswith("__norm") and v in wanted for c, v in r.items())]
    return (mine or rows or [None])[0]


def record_in(con: sqlite3.Connection, data_map: MapView, known: dict[str, tuple[str, str]], table: str,
              rkey: str) -> dict[str, Any] | None:
    """One record by its key, the key column taken from the map (None when the map names none)."""
    dataset, collection = known.get(table, (None, None))
    column = data_map.key_column(dataset, collection) if dataset else None
    if column is None:
        return None
    return record(con, table, column, rkey)


def checked_name(name: str) -> str:
    """A table or column name fit to quote in SQL (store names are snake_case; anything else is refused)."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise BadInput("audit store", name, "unexpected table or column name")
    return name


def identifier_hits(con: sqlite3.Connection, pairs: Iterable[tuple[str, str]]) -> list[sqlite3.Row]:
    """The records holding each normalised ``(kind, value)``, from the store's identifier index."""
    hits: list[sqlite3.Row] = []
    for kind, value in pairs:
        hits += con.execute("SELECT tbl, record_key, kind, value FROM identifiers WHERE kind = ? AND value = ?", (kind, value)).fetchall()
    return hits


def identifiers_of(con: sqlite3.Connection, table: str, record_key: str) -> list[tuple[str, str]]:
    """Every normalised ``(kind, value)`` one record holds."""
    rows = con.execute("SELECT kind, value FROM identifiers WHERE tbl = ? AND record_key = ?", (table, record_key))
    return [(r["kind"], r["value"]) for r in rows]


def _joined(rows: Iterable[sqlite3.Row]) -> dict[tuple[str, str], str]:
    names: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        names.setdefault((r["tbl"], str(r["record_key"])), []).append(r["value"])
    return {k: " ".join(v) for k, v in names.items()}


def names_of(con: sqlite3.Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The name on each given record (first and last name are separate identifiers: joined in the
    order staging wrote them, which is the table's own identifiers' row order).

    One query per 500 records of a table, on that table's own identifiers.
    """
    by_table: dict[str, list[str]] = {}
    for table, rkey in keys:
        by_table.setdefault(table, []).append(rkey)
    rows: list[sqlite3.Row] = []
    for table, rkeys in by_table.items():
        own = f'"{checked_name(table)}__identifiers"'
        for i in range(0, len(rkeys), 500):
            chunk = rkeys[i:i + 500]
            # sorted here, not by ORDER BY rowid: that made SQLite walk the whole table in rowid order
            # instead of looking the keys up (minutes at 1M subjects)
            found = con.execute(f"SELECT rowid AS n, ? AS tbl, record_key, value FROM {own} WHERE kind = 'name' "
                                f"AND record_key IN ({', '.join('?' * len(chunk))})", (table, *chunk)).fetchall()
            rows += sorted(found, key=lambda r: r["n"])
    return _joined(rows)


def records_with_words(con: sqlite3.Connection, stems: Iterable[str]) -> dict[tuple[str, str], str]:
    """The records whose name has a word starting with one of ``stems``, with their whole name
    (a prefix range on each table's word index, which carries the name: no read per record)."""
    stems = sorted(stems)
    if not stems:
        return {}
    ranges = " OR ".join("(word >= ? AND word < ?)" for _ in stems)
    rows = con.execute(f"SELECT DISTINCT tbl, record_key, name FROM name_words WHERE {ranges}",
                       [bound for stem in stems for bound in (stem, stem + "\uffff")]).fetchall()
    return {(r["tbl"], str(r["record_key"])): r["name"] for r in rows}
