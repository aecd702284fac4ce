"""Subject requests: find one person in every system, export their data, verify an erasure.

Finding a person is a matter of evidence, so every match says why it matched and how sure it is.
Identifiers are compared after :mod:`datamap.identity` normalised them (the store's
``identifiers`` index holds the normalised values). The confidence model:

==========================================  ==========  =============================================
evidence                                    confidence  why
==========================================  ==========  =============================================
same e-mail, customer number or IBAN        1.00        personal and unique by how the systems use them
e-mail, customer number or IBAN found on a  0.95, 0.90  the person's other e-mail or account, one or two
record matched on one (followed)                        steps away: each step costs 0.05
phone found on such a record, and the       0.85, 0.80  a phone alone could be the office switchboard,
record reached names the person (>= 92)                 so the name must agree as well
same phone number                           0.90        personal, but a household or office line can be shared
same phone, but the record names someone    0.40        a shared line: the name on the record says it is not them
else (name score < 60)
name (score >= 92) and the same city or     0.85        a near-certain name plus where they live or work:
organisation as the person                              the combination identifies, a name alone does not
name alone                                  <= 0.50     namesakes are common (``Jan de Vries``): never reported
==========================================  ==========  =============================================

Following identifiers (:func:`_follow`) is bounded: at most :data:`MAX_HOPS` steps from the
request, never from a record that also holds someone else's address (a message to or from
another person), never through the company's own addresses, and never through a value that is
shared (a record holding it names someone else): the records behind a shared value stay
candidates (0.40 when the record names someone else, else 0.50). See docs/subject-requests.md.

A match is reported as the person at :data:`REPORT_AT` (0.8) or above. Names are folded by
:func:`datamap.identity.normalise_name` (case, diacritics), tussenvoegsels (``van``, ``de``, ``ter``)
are set aside, word order is ignored (``Vries, Jan de``) and an initial matches its name at a small cost
(``J. de Vries`` scores 95 against ``Jan de Vries``). The person's city and organisation come from the request or from the records
matched on a unique identifier.

The subject export (:func:`export`) is the one place where raw values appear.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import sqlite3
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from datamap.errors import BadInput
from datamap.outputs import safe_cells, safe_row
from datamap.identity import (name_words, normalise_customer_number, normalise_email, normalise_iban, normalise_name,
                              normalise_phone)
from datamap.workspace import retention_start

if TYPE_CHECKING:
    from datamap.workspace import Workspace

REPORT_AT = 0.8
STRONG_NAME = 92.0
INITIAL_COST = 5.0
SCHEMA = Path(__file__).with_name("schemas") / "subject_export.schema.json"
SCHEMA_ID = "https://datamap.example/schemas/subject_export.schema.json"

UNIQUE_KINDS = ("email", "customer_number", "iban", "invoice_number")
CONFIDENCE = {"email": 1.0, "customer_number": 1.0, "iban": 1.0, "invoice_number": 1.0, "phone": 0.9}
FOLLOWED_KINDS = ("email", "customer_number", "iban", "invoice_number", "phone")
MAX_HOPS = 2  # the person's record -> his other account -> its records; further chains drift to other people
STEP_COST = 0.05
DERIVED = CONFIDENCE["email"] - STEP_COST  # one step from the request on a unique identifier
SHARED_LINE = 0.4
UNSETTLED = 0.5  # a followed value reached a record that may as well be someone else's: a candidate
OTHER_NAME = 60.0  # below this a name is someone else's
NAME_AND_PLACE = 0.85
NAME_ALONE_MAX = 0.5

TUSSENVOEGSELS = frozenset({"van", "de", "der", "den", "het", "ter", "ten", "te", "t", "in", "op", "uit", "vd", "von", "la", "le", "du", "d", "da", "dos"})
_CITY = re.compile(r"(^|_)city$")
_ORGANISATION = re.compile(r"^(company|company_name|account_name)$")
_SECRET = re.compile(r"password|passwd|secret|token", re.I)
OTHER_PERSON = "(another person)"
WITHHELD = "(withheld: a login secret is not handed out; it protects your account)"


# --- the request -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """Who the request is about: normalised identifiers, and optionally where they live."""

    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    customer_numbers: tuple[str, ...] = ()
    ibans: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    city: str | None = None

    @classmethod
    def of(cls, email: Iterable[str] = (), phone: Iterable[str] = (), customer_number: Iterable[str] = (),
           iban: Iterable[str] = (), name: Iterable[str] = (), city: str | None = None) -> "Subject":
        """Normalise what the requester gave; a value that is not what it claims is bad input."""
        def norm(values: Iterable[str], fn: Any, option: str) -> tuple[str, ...]:
            out = []
            for value in values:
                n = fn(value)
                if not n:
                    raise BadInput(None, option, f"not a valid {option.lstrip('-').replace('-', ' ')}: {value!r}")
                out.append(n)
            return tuple(dict.fromkeys(out))

        subject = cls(norm(email, normalise_email, "--email"), norm(phone, normalise_phone, "--phone"),
                      norm(customer_number, normalise_customer_number, "--customer-number"),
                      norm(iban, normalise_iban, "--iban"), norm(name, normalise_name, "--name"),
                      normalise_name(city) if city else None)
        if not subject.identifiers() and not subject.names:
            raise BadInput(None, None, "no identifier given", "pass --email, --phone, --customer-number, --iban or --name")
        return subject

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> "Subject":
        """Build a request from a mapping (``email``, ``phone``, ``customer_number``, ``iban``, ``name``: one or a list; ``city``)."""
        def many(key: str) -> list[str]:
            value = data.get(key)
            return [] if value in (None, "") else [str(v) for v in (value if isinstance(value, list) else [value])]

        return cls.of(email=many("email"), phone=many("phone"), customer_number=many("customer_number"),
                      iban=many("iban"), name=many("name"), city=data.get("city"))

    def identifiers(self) -> list[tuple[str, str]]:
        """The ``(kind, value)`` pairs the store's identifier index is searched on."""
        return ([("email", v) for v in self.emails] + [("phone", v) for v in self.phones]
                + [("customer_number", v) for v in self.customer_numbers] + [("iban", v) for v in self.ibans])


@dataclass(frozen=True)
class Match:
    """One record that belongs (or may belong) to the person, with why and how sure."""

    system: str
    dataset: str
    collection: str
    table: str
    record_key: str
    confidence: float
    reasons: tuple[str, ...]

    @property
    def is_subject(self) -> bool:
        return self.confidence >= REPORT_AT

    def where(self) -> dict[str, str]:
        return {"system": self.system, "collection": self.collection, "record_key": self.record_key}


# --- names -------------------------------------------------------------------------------------


def name_tokens(name: str | None) -> list[str]:
    """The folded words of a name without tussenvoegsels: ``Jan van der Berg`` -> ``['jan', 'berg']``."""
    folded = re.sub(r"\bv\.? ?d\.?(?=[\s,;]|$)|\bv/d\b", " van der ", normalise_name(name) or "")
    words = name_words(folded)
    core = [w for w in words if w not in TUSSENVOEGSELS]
    return core or words


def name_score(a: str | None, b: str | None) -> float:
    """How alike two personal names are, 0-100, ignoring word order, tussenvoegsels and diacritics.

    An initial (``J.``) stands for the other name's word that starts with it, at a cost of
    :data:`INITIAL_COST` points: ``J. de Vries`` is probably, not certainly, ``Jan de Vries``.
    """
    from rapidfuzz import fuzz

    ta, tb = name_tokens(a), name_tokens(b)
    if not ta or not tb:
        return 0.0
    (ta, used_a), (tb, used_b) = _expand_initials(ta, tb), _expand_initials(tb, ta)
    joined_a = "".join((normalise_name(a) or "").split())
    joined_b = "".join((normalise_name(b) or "").split())
    score = max(fuzz.token_sort_ratio(" ".join(ta), " ".join(tb)), fuzz.ratio(joined_a, joined_b))
    return max(0.0, score - INITIAL_COST * (used_a + used_b))


def _expand_initials(tokens: list[str], other: list[str]) -> tuple[list[str], int]:
    """Let an initial (``j``) stand for the other name's word that starts with it (``jan``); count them."""
    out, used = [], 0
    for t in tokens:
        full = next((o for o in other if len(t) == 1 and len(o) > 1 and o.startswith(t)), None)
        used += full is not None
        out.append(full or t)
    return out, used


# --- the map (read from the manifests) ---------------------------------------------------------


@dataclass(frozen=True)
class FieldInfo:
    categories: tuple[str, ...] = ()
    primary_key: bool = False
    identity: str | None = None


@dataclass
class MapView:
    """What a subject request needs from the data map: systems, fields' categories, flows."""

    organization: dict[str, Any] = field(default_factory=dict)
    systems: dict[str, dict[str, Any]] = field(default_factory=dict)
    dataset_system: dict[str, str] = field(default_factory=dict)
    fields: dict[tuple[str, str], dict[str, FieldInfo]] = field(default_factory=dict)
    received: dict[str, set[str]] = field(default_factory=dict)
    store_keys: dict[tuple[str, str], str] = field(default_factory=dict)

    def system_of(self, dataset: str) -> str:
        return self.dataset_system.get(dataset, dataset)

    def key_column(self, dataset: str, collection: str) -> str | None:
        """The record key's store column: the manifest's primary key, else the one the store indexed on."""
        declared = next((n for n, f in self.fields.get((dataset, collection), {}).items() if f.primary_key), None)
        return declared or self.store_keys.get((dataset, collection))

    def categories(self, dataset: str, collection: str, column: str) -> list[str]:
        return list(self.fields.get((dataset, collection), {}).get(column, FieldInfo()).categories)

    def identity_collections(self, identity: str = "email") -> list[tuple[str, str]]:
        return sorted(k for k, fs in self.fields.items() if any(f.identity == identity for f in fs.values()))

    def recipients(self, system: str) -> list[str]:
        """External parties that receive personal data from an internal system (flows and hosting)."""
        return sorted(party for party, senders in self.received.items() if system in senders)


def read_map(workspace: Workspace) -> MapView:
    """Load the data map (validated by :mod:`datamap.map`) into the view a subject request needs."""
    from datamap.map import external_recipients, load_map

    dm = load_map(workspace)
    org = dm.organizations.get(workspace.policy.organization)
    view = MapView(organization=org.model_dump(mode="json") if org else {},
                   systems={k: s.model_dump(mode="json") for k, s in dm.systems.items()},
                   received={r["party"]: set(r["from"]) for r in external_recipients(dm)})
    for key, system in view.systems.items():
        for ref in system.get("dataset_references") or []:
            view.dataset_system[str(ref)] = key
    from datamap.sources import collections, key_column

    for dataset_key, collection in collections(workspace):
        column = key_column(workspace, dataset_key, collection)
        if column:
            view.store_keys[(dataset_key, collection)] = column
    for key, dataset in dm.datasets.items():
        for coll in dataset.model_dump(mode="json").get("collections") or []:
            fields: dict[str, FieldInfo] = {}
            for f in _walk_fields(coll.get("fields")):
                meta = f.get("fides_meta") or {}
                fields[str(f["name"])] = FieldInfo(tuple(f.get("data_categories") or ()), bool(meta.get("primary_key")), meta.get("identity"))
            view.fields[(key, str(coll["name"]))] = fields
    return view


def _walk_fields(items: Any) -> Iterator[dict[str, Any]]:
    for f in items or []:
        if isinstance(f, dict) and f.get("name"):
            yield f
            yield from _walk_fields(f.get("fields"))


# --- the store ---------------------------------------------------------------------------------


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open an audit store read-only, rows as mappings."""
    p = Path(path)
    if not p.is_file():
        raise BadInput(str(p), None, "audit store not found")
    con = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    return con


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
    return connect(staged.path)


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
    cur = con.execute(f'SELECT * FROM "{_ident(table)}" WHERE CAST("{_ident(key_column)}" AS TEXT) = ?', (record_key,))
    rows = [dict(r) for r in cur.fetchall()]
    wanted = set(own)
    mine = [r for r in rows if any(c.endswith("__norm") and v in wanted for c, v in r.items())]
    return (mine or rows or [None])[0]


def _ident(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise BadInput("audit store", name, "unexpected table or column name")
    return name


def _identifier_hits(con: sqlite3.Connection, pairs: Iterable[tuple[str, str]]) -> list[sqlite3.Row]:
    hits: list[sqlite3.Row] = []
    for kind, value in pairs:
        hits += con.execute("SELECT tbl, record_key, kind, value FROM identifiers WHERE kind = ? AND value = ?", (kind, value)).fetchall()
    return hits


def _identifiers_of(con: sqlite3.Connection, table: str, record_key: str) -> list[tuple[str, str]]:
    rows = con.execute("SELECT kind, value FROM identifiers WHERE tbl = ? AND record_key = ?", (table, record_key))
    return [(r["kind"], r["value"]) for r in rows]


def _joined(rows: Iterable[sqlite3.Row]) -> dict[tuple[str, str], str]:
    names: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        names.setdefault((r["tbl"], str(r["record_key"])), []).append(r["value"])
    return {k: " ".join(v) for k, v in names.items()}


def _names_of(con: sqlite3.Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The name on each given record (first and last name are separate identifiers: joined).

    One pass over each table's identifiers (the index is on ``tbl``), not one per record.
    """
    by_table: dict[str, list[str]] = {}
    for table, rkey in keys:
        by_table.setdefault(table, []).append(rkey)
    rows: list[sqlite3.Row] = []
    for table, rkeys in by_table.items():
        for i in range(0, len(rkeys), 500):
            chunk = rkeys[i:i + 500]
            rows += con.execute(f"SELECT tbl, record_key, value FROM identifiers WHERE tbl = ? AND kind = 'name' "
                                f"AND record_key IN ({', '.join('?' * len(chunk))}) ORDER BY rowid", (table, *chunk)).fetchall()
    return _joined(rows)


def _name_candidates(con: sqlite3.Connection, query: Iterable[str]) -> dict[tuple[str, str], str]:
    """The names of records that share a word stem with the query (the fuzzy scoring runs on these only).

    A stem is a word's first four letters without tussenvoegsels (``berg`` of ``van den Bergh``), so
    spelling variants at the end of a word and diacritics still meet; a whole-table fuzzy scan would
    not scale to a million subjects.
    """
    stems = sorted({w[:4] for name in query for w in name_tokens(name) if len(w) >= 3})
    if not stems:
        return {}
    ranges = " OR ".join("(word >= ? AND word < ?)" for _ in stems)  # a prefix range uses the index on word
    rows = con.execute(f"SELECT DISTINCT tbl, record_key FROM name_words WHERE {ranges}",
                       [bound for stem in stems for bound in (stem, stem + "\uffff")]).fetchall()
    return _names_of(con, [(r["tbl"], str(r["record_key"])) for r in rows])


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
    """Find every record of the person in every staged table; see the module docstring for confidence.

    Returns the matches reported as the person (``is_subject``), or with ``include_candidates``
    also the weaker ones (name alone, shared phone line), for review.
    """
    known = tables(con)
    evidence: dict[tuple[str, str], _Evidence] = {}
    for hit in _identifier_hits(con, subject.identifiers()):
        key = (hit["tbl"], str(hit["record_key"]))
        evidence.setdefault(key, _Evidence()).add(CONFIDENCE[hit["kind"]], f"{hit['kind']} equal")
    names = _names_of(con, evidence)
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
            found = _identifiers_of(con, *origin)
            if _involves_others(found, followed, own_domains):
                continue
            for kind, value in found:
                if kind in FOLLOWED_KINDS and (kind, value) not in followed and not (kind == "email" and value.split("@")[-1] in own_domains):
                    values.setdefault((kind, value), origin)
        followed |= values.keys()
        holders: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for hit in _identifier_hits(con, values):
            holders.setdefault((hit["kind"], hit["value"]), []).append((hit["tbl"], str(hit["record_key"])))
        names.update(_names_of(con, [k for keys in holders.values() for k in keys if k not in names]))
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


def _row(con: sqlite3.Connection, data_map: MapView, known: dict[str, tuple[str, str]], table: str, rkey: str) -> dict[str, Any] | None:
    dataset, collection = known.get(table, (None, None))
    column = data_map.key_column(dataset, collection) if dataset else None
    if column is None:
        return None
    return record(con, table, column, rkey)


def _profile(con: sqlite3.Connection, data_map: MapView, known: dict[str, tuple[str, str]], evidence: dict[tuple[str, str], _Evidence]) -> dict[str, set[str]]:
    """Where the person lives and works, from the records matched on a unique identifier."""
    profile: dict[str, set[str]] = {"city": set(), "organisation": set()}
    for (table, rkey), ev in evidence.items():
        if ev.confidence >= DERIVED:
            row = _row(con, data_map, known, table, rkey)
            for k, vs in _place_values(row or {}).items():
                profile[k] |= vs
    return profile


def _shared_place(con: sqlite3.Connection, data_map: MapView, known: dict[str, tuple[str, str]], key: tuple[str, str], profile: dict[str, set[str]]) -> str | None:
    row = _row(con, data_map, known, *key)
    for kind, values in _place_values(row or {}).items():
        if values & profile[kind]:
            return kind
    return None


# --- access and portability: the export --------------------------------------------------------


def records_of(con: sqlite3.Connection, data_map: MapView, matches: Iterable[Match], subject: Subject | None = None,
               own_domains: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The full records of the matches, with each field's data categories from the map.

    A list of addresses (a message's To or Cc) keeps the person's own and the company's; other
    people's addresses are left out (Art. 15(4): the copy must not disclose others).
    """
    out = []
    own = [v for _, v in subject.identifiers()] if subject else []
    domains = tuple(d.lower() for d in own_domains)
    for m in matches:
        column = data_map.key_column(m.dataset, m.collection)
        row = record(con, m.table, column, m.record_key, own) if column else None
        if row is None:
            continue
        fields = []
        for name, value in row.items():
            if name.startswith("_") or "__" in name or value in (None, ""):
                continue
            categories = data_map.categories(m.dataset, m.collection, name)
            value = WITHHELD if _is_secret(name, categories) else _others_left_out(_jsonable(value), set(own), domains)
            fields.append({"name": name, "value": value, "data_categories": categories})
        out.append({
            "system": m.system, "dataset": m.dataset, "collection": m.collection, "record_key": m.record_key,
            "source": provenance(con, m.table), "row": row.get("_row"),
            "matched_on": list(m.reasons), "confidence": m.confidence, "fields": fields,
        })
    return out


def _others_left_out(value: Any, own: set[str], own_domains: tuple[str, ...]) -> Any:
    """In a comma-separated list of addresses, replace other people's by a placeholder."""
    if not isinstance(value, str) or "," not in value or "@" not in value:
        return value
    kept = []
    for item in value.split(","):
        email = normalise_email(item)
        mine = email is None or email in own or email.split("@")[-1] in own_domains
        kept.append(item.strip() if mine else OTHER_PERSON)
    return ", ".join(kept)


def _is_secret(column: str, categories: list[str]) -> bool:
    """A login secret is the person's data, but handing it out would weaken their account's security."""
    return bool(_SECRET.search(column)) or any(c.startswith("user.authorization.credentials") for c in categories)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def data_sources(records: Iterable[dict[str, Any]]) -> list[str]:
    """Where the data came from (Art. 15(1)(g)): Zoho CRM's own Data Source field, where filled."""
    found = {str(f["value"]) for r in records for f in r["fields"] if f["name"] == "data_source"}
    return sorted(found)


def explanation(workspace: Workspace, data_map: MapView, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything Art. 15(1)(a)-(h) and 15(2) asks, from the map and the policy, for the systems holding the person."""
    from datamap.taxonomy import default_taxonomy

    tax = default_taxonomy()
    systems = sorted({r["system"] for r in records})
    # personal data only: system.* categories (record ids, timestamps) say nothing about the person
    categories = sorted({c for r in records for f in r["fields"] for c in f["data_categories"] if c.startswith("user")})
    uses = {d.get("data_use") for s in systems for d in data_map.systems.get(s, {}).get("privacy_declarations") or [] if isinstance(d, dict)}
    purposes = [
        {"key": p.key, "text": p.text, "legal_basis": p.legal_basis or "not stated in policy.yml"}
        for p in workspace.policy.notice.purposes
        if any(u and any(u == pu or u.startswith(pu + ".") for pu in p.data_uses) for u in uses)
    ]
    recipients = sorted({r for s in systems for r in data_map.recipients(s)})
    collections = {(r["system"], r["collection"]) for r in records}
    retention = [
        {"system": rule.system, "collection": rule.collection, "period": rule.period, "counted_from": rule.date_column,
         "legal_duty": rule.legal_duty, "basis": rule.basis}
        for rule in workspace.policy.retention if (rule.system, rule.collection) in collections
    ]
    transfers = []
    for key in recipients:
        ext = data_map.systems[key]
        meta = ext.get("meta") or {}
        if meta.get("eea") is False or ext.get("does_international_transfers"):
            transfers.append({"recipient": key, "country": meta.get("country"), "safeguard": ext.get("legal_basis_for_transfers")})
    automated = sorted(
        f"{data_map.systems[s].get('name') or s}: {d.get('name') or d.get('data_use')} ({d.get('data_use')})"
        for s in systems for d in data_map.systems.get(s, {}).get("privacy_declarations") or []
        if isinstance(d, dict) and any(w in str(d.get("data_use")) for w in ("profiling", "automated"))
    )
    org = data_map.organization
    return {
        "controller": {"name": org.get("name") or workspace.policy.organization,
                       "contact": workspace.policy.requests.privacy_mailbox,
                       "dpo": (org.get("data_protection_officer") or {}) or None},
        "purposes": purposes,
        "categories": [{"key": c, "name": tax.name("data_category", c) if tax.has("data_category", c) else c} for c in categories],
        "recipients": [{"key": k, "name": data_map.systems[k].get("name") or k, "type": data_map.systems[k].get("system_type")} for k in recipients],
        "transfers": transfers,
        "retention": retention,
        "rights": ["rectification", "erasure", "restriction", "objection", "portability", "withdraw_consent"],
        "complaint_authority": {"name": "Autoriteit Persoonsgegevens", "url": "https://autoriteitpersoonsgegevens.nl"},
        "sources": data_sources(records) or ["provided by the data subject"],
        "automated_decisions": automated,
    }


def build_export(con: sqlite3.Connection, workspace: Workspace, data_map: MapView, subject: Subject, matches: list[Match],
                 generated: dt.datetime | None = None) -> dict[str, Any]:
    """The machine-readable subject export (Art. 15 and 20): records per system, categories per field."""
    records = records_of(con, data_map, [m for m in matches if m.is_subject], subject, workspace.policy.recipients.own_domains)
    by_system: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_system.setdefault(r["system"], []).append({k: v for k, v in r.items() if k != "system"})
    return {
        "$schema": SCHEMA_ID,
        "format": "datamap.subject_export/1",
        "generated": (generated or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"),
        "subject": {"emails": list(subject.emails), "phones": list(subject.phones), "customer_numbers": list(subject.customer_numbers),
                    "ibans": list(subject.ibans), "names": list(subject.names)},
        "systems": [{"system": s, "name": data_map.systems.get(s, {}).get("name") or s, "records": rs} for s, rs in sorted(by_system.items())],
        "explanation": explanation(workspace, data_map, records),
    }


def validate_export(document: dict[str, Any]) -> None:
    """Check an export against the shipped JSON Schema (raises jsonschema.ValidationError)."""
    import jsonschema

    jsonschema.validate(document, json.loads(SCHEMA.read_text(encoding="utf-8")))


def write_export(document: dict[str, Any], out: Path) -> list[Path]:
    """Write the export folder: subject.json, one CSV per collection, the summary in Dutch and English."""
    validate_export(document)
    out.mkdir(parents=True, exist_ok=True)
    written = [_write(out / "subject.json", json.dumps(document, ensure_ascii=False, indent=2, default=str))]
    for system in document["systems"]:
        per_collection: dict[str, list[dict[str, Any]]] = {}
        for r in system["records"]:
            per_collection.setdefault(r["collection"], []).append({f["name"]: f["value"] for f in r["fields"]})
        for collection, rows in sorted(per_collection.items()):
            columns = list(dict.fromkeys(c for row in rows for c in row))
            written.append(_write(out / f"{system['system']}__{collection}.csv", _csv(columns, rows)))
    for language in ("nl", "en"):
        written.append(_write(out / f"summary_{language}.md", summary(document, language)))
    return written


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writerow(dict(zip(columns, safe_cells(columns))))  # a header from a source's column names
    writer.writerows(safe_row(row) for row in rows)
    return buf.getvalue()


def _write(path: Path, text: str) -> Path:
    """Write a file atomically (a reader never sees half an export)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return path


def summary(document: dict[str, Any], language: str = "nl") -> str:
    """The readable summary of an export (Art. 15(1)(a)-(h)), in Dutch or English."""
    import jinja2

    import html

    # Markdown passes HTML through to whoever renders it: every value (a manifest's name, a
    # source's record) has its <, > and & escaped, so a planted <script> stays text.
    env = jinja2.Environment(loader=jinja2.PackageLoader("datamap", "templates"), autoescape=False,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             finalize=lambda value: html.escape(str(value), quote=False))
    from datamap.register.terms import t_or

    # the register's translation catalogue words the Art. 6 bases (fideslang's spelling is the key)
    env.filters["basis"] = lambda value: t_or(f"basis.{value}", language, str(value))
    env.filters["listed"] = lambda value: ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value
    return env.get_template(f"subject_summary_{language}.md.j2").render(doc=document, ex=document["explanation"])


# --- erasure (Art. 17 and 19) ------------------------------------------------------------------


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
    from datamap.workspace import parse_duration

    as_of = as_of or workspace.policy.reference_date()
    norm = normalise_email(email)
    if not norm:
        raise BadInput(None, "email", f"not an e-mail address: {email!r}")
    known = tables(con)
    from datamap.store import table_name

    identity_tables = {table_name(workspace, d, c) for d, c in data_map.identity_collections("email")}
    duties = {(r.system, r.collection): r for r in workspace.policy.retention if r.legal_duty}
    leftovers, retained = [], []
    for hit in _identifier_hits(con, [("email", norm)]):
        table, rkey = hit["tbl"], str(hit["record_key"])
        if table not in identity_tables or table not in known:
            continue
        dataset, collection = known[table]
        m = Match(data_map.system_of(dataset), dataset, collection, table, rkey, 1.0, ("email equal",))
        rule = duties.get((m.system, collection)) or duties.get((dataset, collection))
        if rule:
            row = _row(con, data_map, known, table, rkey) or {}
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

    row = con.execute(f'SELECT subject_email FROM "{_ident(table_of(workspace, "request_log"))}" WHERE request_id = ?',
                      (request_id,)).fetchone()
    if row is None or not row["subject_email"]:
        raise BadInput(None, "--request", f"request {request_id!r} is not in the request log")
    return str(row["subject_email"])


def erasure_checks(con: sqlite3.Connection, workspace: Workspace, data_map: MapView) -> list[ErasureCheck]:
    """Check every completed erasure request of the request log (the collection playing ``request_log``)."""
    from datamap.binding import table_of

    rows = con.execute(f'SELECT request_id, subject_email FROM "{_ident(table_of(workspace, "request_log"))}" '
                       "WHERE lower(type) = 'erasure' AND completed IS NOT NULL AND completed != '' ORDER BY request_id")
    return [erasure_check(con, workspace, data_map, r["subject_email"], str(r["request_id"])) for r in rows.fetchall()]


def _systems_holding_identities(data_map: MapView) -> set[str]:
    return {data_map.system_of(d) for d, _ in data_map.identity_collections("email")} | {
        data_map.system_of(d) for d, _ in data_map.identity_collections("phone_number")}


def _start(value: Any, anchor: str, fiscal_year_end: str) -> dt.date | None:
    if value in (None, ""):
        return None
    return retention_start(dt.date.fromisoformat(str(value)[:10]), anchor, fiscal_year_end)


# --- the request log ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestStatus:
    request_id: str
    type: str
    received: dt.date
    deadline: dt.date
    extended: bool
    completed: dt.date | None
    status: str  # open | done_in_time | overdue

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(self).items()}


def request_status(received: dt.date, completed: dt.date | None, extended: bool, deadline: str, extension: str,
                   as_of: dt.date) -> tuple[dt.date, str]:
    """The answer-by date of a request (Art. 12(3)) and whether it is open, done in time or overdue."""
    from datamap.workspace import parse_duration

    limit = received + parse_duration(deadline)
    if extended:
        limit = limit + parse_duration(extension)
    if completed is not None:
        return limit, "done_in_time" if completed <= limit else "overdue"
    return limit, "overdue" if limit < as_of else "open"


def request_log(con: sqlite3.Connection, workspace: Workspace, as_of: dt.date | None = None) -> list[RequestStatus]:
    """Every logged subject request with its deadline and status."""
    from datamap.binding import table_of

    table = table_of(workspace, "request_log")
    as_of = as_of or workspace.policy.reference_date()
    policy = workspace.policy.requests
    out = []
    for row in con.execute(f'SELECT * FROM "{_ident(table)}" ORDER BY received, request_id'):
        received = dt.date.fromisoformat(str(row["received"])[:10])
        completed = dt.date.fromisoformat(str(row["completed"])[:10]) if row["completed"] else None
        extended = str(row["extended"]).strip().lower() in ("1", "yes", "true", "ja")
        limit, status = request_status(received, completed, extended, policy.deadline, policy.extension, as_of)
        out.append(RequestStatus(str(row["request_id"]), str(row["type"]), received, limit, extended, completed, status))
    return out


def match_table(matches: Iterable[Match]) -> list[dict[str, Any]]:
    """A match table fit for reports and notebooks: where and why, never the matched values."""
    return [{**m.where(), "confidence": m.confidence, "reported": m.is_subject, "matched_on": "; ".join(m.reasons)} for m in matches]
