"""Finding the person: identifiers matched and followed, names weighed with where they live or work.

The confidence each kind of evidence earns is the table in :mod:`datamap.subject`; the constants
are in :mod:`datamap.subject.request`.
"""
from __future__ import annotations

import functools
import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Iterable

from datamap.identity import NAME_PARTICLES, name_words, normalise_name
from datamap.subject.mapview import MapView
from datamap.subject.request import (CONFIDENCE, DERIVED, FOLLOWED_KINDS, INITIAL_COST, MAX_HOPS, NAME_ALONE_MAX,
                                     NAME_AND_PLACE, OTHER_NAME, REPORT_AT, SHARED_LINE, STEP_COST, STRONG_NAME,
                                     UNIQUE_KINDS, UNSETTLED, Match, Subject)
from datamap.subject.store import identifier_hits, identifiers_of, names_of, record_in, records_with_words, tables

_CITY = re.compile(r"(^|_)city$")
_ORGANISATION = re.compile(r"^(company|company_name|account_name)$")


# --- names -------------------------------------------------------------------------------------


def name_tokens(name: str | None) -> list[str]:
    """The folded words of a name without tussenvoegsels: ``Jan van der Berg`` -> ``['jan', 'berg']``."""
    return list(_tokens(name))


@functools.lru_cache(maxsize=1 << 16)
def _tokens(name: str | None) -> tuple[str, ...]:
    # memoised: a lookup scores thousands of candidate names against the same few, and names repeat
    folded = re.sub(r"\bv\.? ?d\.?(?=[\s,;]|$)|\bv/d\b", " van der ", normalise_name(name) or "")
    words = name_words(folded)
    core = [w for w in words if w not in NAME_PARTICLES]
    return tuple(core or words)


@functools.lru_cache(maxsize=1 << 16)
def _squashed(name: str | None) -> str:
    """A name folded with its spaces removed (``Jan-Willem van den Bergh`` -> ``jan-willemvandenbergh``)."""
    return "".join((normalise_name(name) or "").split())


def name_score(a: str | None, b: str | None) -> float:
    """How alike two personal names are, 0-100, ignoring word order, tussenvoegsels and diacritics.

    An initial (``J.``) stands for the other name's word that starts with it, at a cost of
    :data:`~datamap.subject.request.INITIAL_COST` points: ``J. de Vries`` is probably, not certainly, ``Jan de Vries``.
    """
    from rapidfuzz import fuzz

    ta, tb = list(_tokens(a)), list(_tokens(b))
    if not ta or not tb:
        return 0.0
    (ta, used_a), (tb, used_b) = _expand_initials(ta, tb), _expand_initials(tb, ta)
    score = max(fuzz.token_sort_ratio(" ".join(ta), " ".join(tb)), fuzz.ratio(_squashed(a), _squashed(b)))
    return max(0.0, score - INITIAL_COST * (used_a + used_b))


def _expand_initials(tokens: list[str], other: list[str]) -> tuple[list[str], int]:
    """Let an initial (``j``) stand for the other name's word that starts with it (``jan``); count them."""
    out, used = [], 0
    for t in tokens:
        full = next((o for o in other if len(t) == 1 and len(o) > 1 and o.startswith(t)), None)
        used += full is not None
        out.append(full or t)
    return out, used


def _name_candidates(con: sqlite3.Connection, query: Iterable[str]) -> dict[tuple[str, str], str]:
    """The names of records that share a word stem with the query (the fuzzy scoring runs on these only).

    A stem is a word's first four letters without tussenvoegsels (``berg`` of ``van den Bergh``), so
    spelling variants at the end of a word and diacritics still meet; a whole-table fuzzy scan would
    not scale to a million subjects.
    """
    stems = {w[:4] for name in query for w in name_tokens(name) if len(w) >= 3}
    return records_with_words(con, stems)


# --- finding the person ------------------------------------------------------------------------


@dataclass
class _Evidence:
    confidence: float = 0.0
    reasons: list[str] = field(default_factory=list)

    def add(self, confidence: float, reason: str) -> None:
        self.confidence = max(self.confidence, confidence)
        if reason not in self.reasons:
            self.reasons.append(reason)


def find(con: sqlite3.Connection, data_map: MapView, subject: Subject, own_domains: Iterable[str] = (),
         include_candidates: bool = False) -> list[Match]:
    """Find every record of the person in every staged table; see :mod:`datamap.subject` for confidence.

    Returns the matches reported as the person (``is_subject``), or with ``include_candidates``
    also the weaker ones (name alone, shared phone line), for review.
    """
    known = tables(con)
    evidence: dict[tuple[str, str], _Evidence] = {}
    for hit in identifier_hits(con, subject.identifiers()):
        key = (hit["tbl"], str(hit["record_key"]))
        evidence.setdefault(key, _Evidence()).add(CONFIDENCE[hit["kind"]], f"{hit['kind']} equal")
    names = names_of(con, evidence)
    _guard_shared_phones(evidence, names, subject)
    _follow(con, data_map, known, evidence, names, subject, tuple(d.lower() for d in own_domains))
    profile = _profile(con, data_map, known, evidence)
    if subject.city:
        profile["city"].add(subject.city)
    # Without a name in the request, the names on the records matched on a unique identifier
    # stand in for it (so a deal that names the person without an e-mail is still found).
    query = list(subject.names) or sorted({names[k] for k, ev in evidence.items() if ev.confidence >= DERIVED and k in names})
    label = "name" if subject.names else "name as on the matched records"
    names.update(_name_candidates(con, query))
    scores: dict[str, float] = {}
    for key, full in names.items():
        if full not in scores:
            scores[full] = max((name_score(n, full) for n in query), default=0.0)
        best = scores[full]
        if best < 60:
            continue
        ev = evidence.get(key)
        if ev and ev.confidence >= REPORT_AT:
            ev.add(ev.confidence, f"{label} {best:.0f}/100")
            continue
        place = _shared_place(con, data_map, known, key, profile) if best >= STRONG_NAME else None
        ev = evidence.setdefault(key, _Evidence())
        if place:
            ev.add(NAME_AND_PLACE, f"{label} {best:.0f}/100 and same {place}")
        else:
            ev.add(round(NAME_ALONE_MAX * best / 100, 2), f"{label} {best:.0f}/100 alone")
    matches = []
    for (table, rkey), ev in evidence.items():
        dataset, collection = _collection_of(known, table)
        m = Match(data_map.system_of(dataset), dataset, collection, table, rkey, round(ev.confidence, 2), tuple(ev.reasons))
        if m.is_subject or include_candidates:
            matches.append(m)
    return sorted(matches, key=lambda m: (m.system, m.collection, m.record_key))


def _collection_of(known: dict[str, tuple[str, str]], table: str) -> tuple[str, str]:
    """The (dataset, collection) a store table holds."""
    return known.get(table) or (tuple(table.split("__", 1)) if "__" in table else (table, table))  # type: ignore[return-value]


def _record_label(data_map: MapView, known: dict[str, tuple[str, str]], key: tuple[str, str]) -> str:
    """A record as a match reason names it: ``zoho_books.invoices INV-000123`` (system, collection, key)."""
    dataset, collection = _collection_of(known, key[0])
    return f"{data_map.system_of(dataset)}.{collection} {key[1]}"


def _names_someone_else(name: str, person: Iterable[str]) -> bool:
    """Whether a name on a record is unlike every name the person goes by (a shared line, a colleague)."""
    return max((name_score(n, name) for n in person), default=100.0) < OTHER_NAME


def _involves_others(identifiers: Iterable[tuple[str, str]], known: set[tuple[str, str]], own_domains: tuple[str, ...]) -> bool:
    """Whether a record also concerns someone other than the person, so that its identifiers may be theirs.

    Only a message holds the company's address next to an outside one: an outside address on it
    that is not known to be the person's belongs to whom he (or the staff member asking) wrote to.
    Two unknown outside addresses on any record are two people as far as anyone can tell.
    """
    emails = {v for k, v in identifiers if k == "email"}
    company = {v for v in emails if v.split("@")[-1] in own_domains}
    unknown = {v for v in emails - company if ("email", v) not in known}
    return len(unknown) > (0 if company else 1)


def _follow(con: sqlite3.Connection, data_map: MapView, known: dict[str, tuple[str, str]],
            evidence: dict[tuple[str, str], _Evidence], names: dict[tuple[str, str], str], subject: Subject,
            own_domains: tuple[str, ...]) -> None:
    """Follow the identifiers found on the person's confirmed records to further records, at most :data:`MAX_HOPS` steps.

    Followed from: records matched on an e-mail, customer number or IBAN (the request's, or one
    followed in an earlier step), unless the record also holds someone else's address
    (:func:`_involves_others`: a message to or from another person). Followed: their e-mail
    addresses (not the company's own domains), customer numbers, IBANs and phones that the
    request did not already give. A value is *shared* when a record holding it names someone
    else: it is not followed, and the records holding it stay candidates. A phone leads only to
    records that also name the person (the office switchboard sits on his contact and on the
    company's account alike). Each step costs :data:`STEP_COST` of the kind's confidence; a record
    already reported is left as it was. Each reason names the identifier and the record it was on.
    """
    followed = set(subject.identifiers())
    confirmed = [key for key, ev in evidence.items() if ev.confidence >= 1.0]
    frontier = list(confirmed)
    for hop in range(1, MAX_HOPS + 1):
        values: dict[tuple[str, str], tuple[str, str]] = {}  # (kind, value) -> the record it was found on
        for origin in frontier:
            found = identifiers_of(con, *origin)
            if _involves_others(found, followed, own_domains):
                continue
            for kind, value in found:
                if kind in FOLLOWED_KINDS and (kind, value) not in followed and not (kind == "email" and value.split("@")[-1] in own_domains):
                    values.setdefault((kind, value), origin)
        followed |= values.keys()
        holders: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for hit in identifier_hits(con, values):
            holders.setdefault((hit["kind"], hit["value"]), []).append((hit["tbl"], str(hit["record_key"])))
        names.update(names_of(con, [k for keys in holders.values() for k in keys if k not in names]))
        person = list(subject.names) or sorted({names[k] for k in confirmed if k in names})
        frontier = []
        for (kind, value), keys in holders.items():
            origin = values[(kind, value)]
            via = f"{kind} equal to the one on {_record_label(data_map, known, origin)}" + (f" ({hop} steps from the request)" if hop > 1 else "")
            named = {k: names[k] for k in keys if k in names}
            if person:
                others = {k for k, n in named.items() if _names_someone_else(n, person)}
                shared = bool(others)
            else:  # no name to compare with: two unlike names on the value are two people
                others = set()
                shared = any(_names_someone_else(a, [b]) for a in named.values() for b in named.values())
            confidence = round(CONFIDENCE[kind] - STEP_COST * hop, 2)
            for key in keys:
                if key == origin or (key in evidence and evidence[key].confidence >= REPORT_AT):
                    continue  # the request's records, and those found in an earlier step, stay as they were
                ev = evidence.setdefault(key, _Evidence())
                if key in others:
                    ev.add(SHARED_LINE, f"{via}, but the record names someone else")
                elif shared:
                    ev.add(UNSETTLED, f"{via}, but that {kind} is shared with someone else: not followed")
                elif kind == "phone" and max((name_score(n, named.get(key)) for n in person), default=0.0) < STRONG_NAME:
                    ev.add(UNSETTLED, f"{via}, but the record does not name the person: perhaps an office or household line")
                else:
                    ev.add(confidence, via)
                    if kind in UNIQUE_KINDS and key not in frontier:
                        frontier.append(key)
        confirmed += frontier
        if not frontier:
            break


def _guard_shared_phones(evidence: dict[tuple[str, str], _Evidence], names: dict[tuple[str, str], str], subject: Subject) -> None:
    """Demote a phone-only match whose record names someone else (a shared line)."""
    if not subject.names:
        return
    for key, ev in evidence.items():
        if ev.reasons == ["phone equal"] and key in names:
            if _names_someone_else(names[key], subject.names):
                ev.confidence = SHARED_LINE
                ev.reasons.append("record names someone else: a shared line")


# --- where the person lives and works ----------------------------------------------------------


def _place_values(row: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {"city": set(), "organisation": set()}
    for column, value in row.items():
        if value in (None, "") or column.startswith("_") or column.endswith("__norm"):
            continue
        if _CITY.search(column):
            out["city"].add(normalise_name(value) or "")
        elif _ORGANISATION.match(column):
            out["organisation"].add(normalise_name(value) or "")
    return {k: {v for v in vs if v} for k, vs in out.items()}


def _profile(con: sqlite3.Connection, data_map: MapView, known: dict[str, tuple[str, str]], evidence: dict[tuple[str, str], _Evidence]) -> dict[str, set[str]]:
    """Where the person lives and works, from the records matched on a unique identifier."""
    profile: dict[str, set[str]] = {"city": set(), "organisation": set()}
    for (table, rkey), ev in evidence.items():
        if ev.confidence >= DERIVED:
            row = record_in(con, data_map, known, table, rkey)
            for k, vs in _place_values(row or {}).items():
                profile[k] |= vs
    return profile


def _shared_place(con: sqlite3.Connection, data_map: MapView, known: dict[str, tuple[str, str]], key: tuple[str, str], profile: dict[str, set[str]]) -> str | None:
    row = record_in(con, data_map, known, *key)
    for kind, values in _place_values(row or {}).items():
        if values & profile[kind]:
            return kind
    return None
