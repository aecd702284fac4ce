"""Stores for the subject-request tests: one built by hand (tables, provenance, identifiers, name words),
and the demo estate's with its planted person (``demo``)."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterable

import pytest

from datamap.store import unite_identifiers
from datamap.identity import (name_words, normalise_customer_number, normalise_email, normalise_iban, normalise_name,
                              normalise_phone)

NORMALISE = {"email": normalise_email, "phone": normalise_phone, "iban": normalise_iban,
             "customer_number": normalise_customer_number, "name": normalise_name}


def build_store(db: Path, tables: Iterable[tuple[str, str, str, str, list[str], list[tuple[Any, ...]]]],
                kinds: dict[str, str]) -> sqlite3.Connection:
    """Write ``(table, dataset, collection, source, columns, rows)`` into a store as staging would
    (the first column is the record key; ``kinds`` says which columns are identifiers); open it read-only."""
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE _provenance(tbl, dataset, collection, source, sha256, url, rows, read_at)")
    for table, dataset, collection, source, columns, rows in tables:
        con.execute(f'CREATE TABLE "{table}"({", ".join(columns)}, _row)')
        con.execute(f'CREATE TABLE "{table}__identifiers"(record_key, kind, value)')
        con.execute(f'CREATE TABLE "{table}__name_words"(word, record_key, name)')
        con.execute("INSERT INTO _provenance VALUES (?,?,?,?,?,?,?,?)",
                    (table, dataset, collection, source, "x", None, len(rows), "2026-11-24"))
        for n, row in enumerate(rows, start=1):
            con.execute(f'INSERT INTO "{table}" VALUES ({", ".join("?" * (len(columns) + 1))})', (*row, n))
            names = []
            for column, value in zip(columns, row):
                kind = kinds.get(column)
                norm = NORMALISE[kind](value) if kind and value else None
                if norm:
                    con.execute(f'INSERT INTO "{table}__identifiers" VALUES (?,?,?)', (row[0], kind, norm))
                    if kind == "name":
                        names.append((value, norm))
            whole = " ".join(norm for _, norm in names)  # the record's name identifiers joined, as staging writes it
            con.executemany(f'INSERT INTO "{table}__name_words" VALUES (?,?,?)',
                            [(w, row[0], whole) for value, _ in names for w in dict.fromkeys(name_words(value)) if len(w) >= 3])
    unite_identifiers(con)  # the views the lookup reads, as staging makes them
    con.commit()
    con.close()
    ro = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    ro.row_factory = sqlite3.Row
    return ro


@pytest.fixture(scope="module")
def demo(demo_workspace, tmp_path_factory):
    """(workspace, map view, read-only store, expected_subject.json) of the shared demo estate."""
    from datamap.subject import open_store, read_map
    from datamap.workspace import load_workspace

    ws = load_workspace(demo_workspace)
    con = open_store(ws, path=tmp_path_factory.mktemp("store") / "store.sqlite")
    expected = json.loads((demo_workspace / "expected_subject.json").read_text(encoding="utf-8"))
    return ws, read_map(ws), con, expected
