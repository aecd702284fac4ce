"""Erasure (Art. 17 and 19): what is left of a person after an erasure, what a legal duty keeps, whom to tell."""
from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from datamap.errors import BadInput
from datamap.identity import normalise_email
from datamap.subject.mapview import MapView
from datamap.subject.request import Match
from datamap.subject.store import checked_name, identifier_hits, record_in, tables
from datamap.workspace import retention_start

if TYPE_CHECKING:
    from datamap.workspace import Workspace


@dataclass(frozen=True)
class Retained:
    """A record kept after erasure because a law obliges keeping it: restricted, not erased."""

    system: str
    collection: str
    record_key: str
    legal_duty: str
    until: dt.date


@dataclass(frozen=True)
class ErasureCheck:
    request_id: str | None
    leftovers: tuple[Match, ...]
    retained: tuple[Retained, ...]
    recipients_to_tell: tuple[str, ...]
    recipients_possible: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.leftovers

    def rows(self) -> list[dict[str, Any]]:
        """One row per record still held: a leftover (a finding) or kept under a legal duty (restricted)."""
        out = [{"request_id": self.request_id, "system": m.system, "collection": m.collection, "record_key": m.record_key,
                "state": "leftover", "kept_until": None, "legal_duty": None} for m in self.leftovers]
        out += [{"request_id": self.request_id, "system": r.system, "collection": r.collection, "record_key": r.record_key,
                 "state": "restricted", "kept_until": r.until.isoformat(), "legal_duty": r.legal_duty} for r in self.retained]
        return out


def erasure_check(con: sqlite3.Connection, workspace: Workspace, data_map: MapView, email: str,
                  request_id: str | None = None, as_of: dt.date | None = None) -> ErasureCheck:
    """After an erasure: which systems still hold the person (by e-mail), which of those a legal duty keeps, whom to tell.

    ``recipients_to_tell``: the recipients (map flows and hosting) of the systems that still hold
    the person; ``recipients_possible``: the other recipients of systems that can hold a person.

    Follows docs/rules.md ``rights.erasure_incomplete``: a record in a collection with an
    ``identity: email`` field whose normalised e-mail is the subject's is a leftover, unless its
    collection's retention rule has a ``legal_duty`` and the record is still within the period.
    """
    from datamap.store import table_name
    from datamap.workspace import parse_duration

    as_of = as_of or workspace.policy.reference_date()
    norm = normalise_email(email)
    if not norm:
        raise BadInput(None, "email", f"not an e-mail address: {email!r}")
    known = tables(con)
    identity_tables = {table_name(workspace, d, c) for d, c in data_map.identity_collections("email")}
    duties = {(r.system, r.collection): r for r in workspace.policy.retention if r.legal_duty}
    leftovers, retained = [], []
    for hit in identifier_hits(con, [("email", norm)]):
        table, rkey = hit["tbl"], str(hit["record_key"])
        if table not in identity_tables or table not in known:
            continue
        dataset, collection = known[table]
        m = Match(data_map.system_of(dataset), dataset, collection, table, rkey, 1.0, ("email equal",))
        rule = duties.get((m.system, collection)) or duties.get((dataset, collection))
        if rule:
            row = record_in(con, data_map, known, table, rkey) or {}
            start = _start(row.get(rule.date_column), rule.anchor, workspace.policy.fiscal_year_end)
            if start is not None:
                until = start + parse_duration(rule.period)
                if not until < as_of:
                    retained.append(Retained(m.system, collection, rkey, rule.legal_duty, until))
                    continue
        leftovers.append(m)
    # Art. 19: recipients of the systems known to have held the person (they still do) must be told;
    # the other recipients of systems that can hold a person may have received the data before the
    # erasure, which the store cannot show any more.
    held = {m.system for m in leftovers} | {r.system for r in retained}
    certain = sorted({r for s in held for r in data_map.recipients(s)})
    possible = sorted({r for s in _systems_holding_identities(data_map) for r in data_map.recipients(s)} - set(certain))
    unique = {(m.system, m.collection, m.record_key): m for m in leftovers}
    return ErasureCheck(request_id, tuple(sorted(unique.values(), key=lambda m: (m.system, m.collection, m.record_key))),
                        tuple(sorted(set(retained), key=lambda r: (r.system, r.collection, r.record_key))),
                        tuple(certain), tuple(possible))


def request_email(con: sqlite3.Connection, workspace: Workspace, request_id: str) -> str:
    """The Subject Email a logged request names (a request id that is not in the log is bad input)."""
    from datamap.binding import table_of

    row = con.execute(f'SELECT subject_email FROM "{checked_name(table_of(workspace, "request_log"))}" WHERE request_id = ?',
                      (request_id,)).fetchone()
    if row is None or not row["subject_email"]:
        raise BadInput(None, "--request", f"request {request_id!r} is not in the request log")
    return str(row["subject_email"])


def erasure_checks(con: sqlite3.Connection, workspace: Workspace, data_map: MapView) -> list[ErasureCheck]:
    """Check every completed erasure request of the request log (the collection playing ``request_log``)."""
    from datamap.binding import table_of

    rows = con.execute(f'SELECT request_id, subject_email FROM "{checked_name(table_of(workspace, "request_log"))}" '
                       "WHERE lower(type) = 'erasure' AND completed IS NOT NULL AND completed != '' ORDER BY request_id")
    return [erasure_check(con, workspace, data_map, r["subject_email"], str(r["request_id"])) for r in rows.fetchall()]


def _systems_holding_identities(data_map: MapView) -> set[str]:
    return {data_map.system_of(d) for d, _ in data_map.identity_collections("email")} | {
        data_map.system_of(d) for d, _ in data_map.identity_collections("phone_number")}


def _start(value: Any, anchor: str, fiscal_year_end: str) -> dt.date | None:
    if value in (None, ""):
        return None
    return retention_start(dt.date.fromisoformat(str(value)[:10]), anchor, fiscal_year_end)
