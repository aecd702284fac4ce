"""Discovery: find personal data in the sources and compare it with what the map declares (claim P13).

Every column of every source is judged on a bounded sample (the first ``sample_rows`` rows of each
collection) by two kinds of detectors:

- by **name**, in Dutch and English (``achternaam``, ``woonplaats``, ``rekeningnummer``, ``bsn``,
  ``e-mail``, ...), and
- by **content**: e-mail addresses; phone numbers (``phonenumbers``); IBAN, BSN and BTW numbers
  with their checksums (``python-stdnum``); KvK numbers; IPv4/IPv6 addresses; Dutch postcodes;
  dates of birth; password hashes; person names (a first-name dictionary from ``faker``'s locales);
  social media handles.

Each column gets at most one proposed fideslang category with a confidence. A personal column
(confidence >= 0.8) that the dataset's manifest does not declare, or declares without categories,
is a ``discovery.undeclared_personal_data`` finding with a ready-to-paste field snippet; a field
the manifest declares that the data does not bear out is a note (a stale map). Raw values never
leave this module: results carry counts, categories and confidences only.

    result = scan(load_workspace("workspace/demo"))
    result.findings          # [Finding(rule='discovery.undeclared_personal_data', ...)]
    result.table()           # one row per column: category, confidence, declared, status
"""
from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import yaml

from datamap.errors import BadInput
from datamap.findings import Finding, in_dutch
from datamap.identity import EMAIL_VALUE, IBAN_VALUE, NAME_PARTICLES, PHONE_VALUE
from datamap.store import open_read_only
from datamap.workspace import Workspace

if TYPE_CHECKING:
    import sqlite3

    import pandas as pd

    from datamap.map import DataMap

THRESHOLD = 0.8  # docs/rules.md: a column is personal data at confidence >= 0.8
SAMPLE_ROWS = 2_000
PROBE = 200  # values tried first for each content detector
DATE_CHUNK = 50_000  # rows per frame when every date of a source is checked
RULE = "discovery.undeclared_personal_data"

EMAIL = "user.contact.email"
PHONE = "user.contact.phone_number"
IBAN = "user.financial.bank_account"
BSN = "user.government_id.national_identification_number.bsn"
KVK = "user.contact.organization.kvk_number"
BTW = "user.contact.organization.vat_number"
IP = "user.device.ip_address"
POSTCODE = "user.contact.address.postal_code"
STREET = "user.contact.address.street"
CITY = "user.contact.address.city"
COUNTRY = "user.contact.address.country"
BIRTH = "user.demographic.date_of_birth"
PASSWORD = "user.authorization.password"
NAME = "user.name"
FIRST = "user.name.first"
LAST = "user.name.last"
CUSTOMER_NUMBER = "user.unique_id.customer_number"
SOCIAL = "user.social"

# What the detectors can propose; a declared category is within their reach when one of these
# equals it or is broader (precision and recall are measured on those columns).
DETECTABLE = (EMAIL, PHONE, IBAN, BSN, KVK, BTW, IP, POSTCODE, STREET, CITY, COUNTRY, BIRTH, PASSWORD, NAME,
              CUSTOMER_NUMBER, "user.unique_id", SOCIAL)
# A city or country is an imprecise location whether it is labelled as address or as location.
EQUIVALENT = ({CITY, COUNTRY, "user.location.imprecise", "user.location"},)


# --- detectors by name ---------------------------------------------------------------------------

@dataclass(frozen=True)
class NameHint:
    pattern: re.Pattern[str]
    category: str
    confidence: float
    needs_content: bool = False  # a weak hint ("owner", "by") only counts when the content agrees


HINTS_FILE = Path(__file__).resolve().parent / "checks" / "discovery.yml"


@functools.lru_cache(maxsize=1)
def _hints() -> tuple[tuple[NameHint, ...], re.Pattern[str], frozenset[str]]:
    """The name hints of ``checks/discovery.yml`` (data an auditor edits), in their order."""
    doc = yaml.safe_load(HINTS_FILE.read_text(encoding="utf-8"))
    hints = tuple(NameHint(re.compile(h["pattern"]), h["category"], float(h["confidence"]), bool(h.get("needs_content", False)))
                  for h in doc["name_hints"])
    other = doc["not_personal_names"]
    return hints, re.compile(other["pattern"]), frozenset(other["overrides"])


def name_hint(column: str) -> NameHint | None:
    """The first name-based hint a column name matches, unless the name says it is about something else."""
    hints, not_personal, overrides = _hints()
    for hint in hints:
        if hint.pattern.search(column):
            if hint.category in overrides and not_personal.search(column):
                return None
            return hint
    return None


# --- detectors by content ------------------------------------------------------------------------

_POSTCODE = re.compile(r"^[1-9]\d{3}\s?[A-Za-z]{2}$")
_KVK = re.compile(r"^\d{8}$")
_HASH = re.compile(r"^(\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}|\$argon2(id|i|d)\$.+|pbkdf2_sha(1|256|512)\$.+|"
                   r"\$[156]\$[^$]+\$.+|scrypt\$.+|sha(1|256)\$.+)$")
_SOCIAL = re.compile(r"^@[A-Za-z0-9_.]{2,30}$|^https?://(www\.)?(twitter|x|facebook|instagram|linkedin)\.com/\S+$")
_STREET = re.compile(r"^[^\d,]{3,}\s\d{1,5}\s?[A-Za-z]?(\s?[-/]?\s?\d{0,4}[A-Za-z]?)?\b", re.UNICODE)
_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y")
_ORG_WORDS = re.compile(r"\b(b\.?v\.?|n\.?v\.?|v\.?o\.?f\.?|holding|groep|group|gmbh|ltd|inc|stichting|vereniging|"
                        r"support|team|admin|info|sales|service)\b", re.IGNORECASE)


def _parts(value: str) -> list[str]:
    """Comma-joined lists (``to_addrs``, ``body_phones``) are judged part by part."""
    return [p.strip() for p in value.split(",") if p.strip()] if "," in value else [value.strip()]


def is_email(value: str) -> bool:
    return all(EMAIL_VALUE.match(p) for p in _parts(value))


def is_phone(value: str) -> bool:
    import phonenumbers

    parts = _parts(value)
    for part in parts:
        if not PHONE_VALUE.match(part) or sum(c.isdigit() for c in part) < 9:
            return False
        try:
            number = phonenumbers.parse(part, "NL")
        except phonenumbers.NumberParseException:
            return False
        if not phonenumbers.is_valid_number(number):
            return False
    return bool(parts)


def is_iban(value: str) -> bool:
    from stdnum import iban

    from datamap.identity import is_masked

    return all((IBAN_VALUE.match(p) and iban.is_valid(p)) or is_masked(p) for p in _parts(value))


def is_bsn(value: str) -> bool:
    from stdnum.nl import bsn

    digits = re.sub(r"[\s.\-]", "", value)
    return len(digits) == 9 and digits.isdigit() and bsn.is_valid(digits)


def is_btw(value: str) -> bool:
    from stdnum.nl import btw

    return value.strip()[:2].upper() == "NL" and btw.is_valid(value)


def is_kvk(value: str) -> bool:
    return bool(_KVK.match(value.strip()))


def is_ip(value: str) -> bool:
    text = value.strip()
    if "." not in text and ":" not in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def is_postcode(value: str) -> bool:
    from stdnum.nl import postcode

    return bool(_POSTCODE.match(value.strip())) and postcode.is_valid(value)


def is_password_hash(value: str) -> bool:
    return bool(_HASH.match(value.strip()))


def is_social(value: str) -> bool:
    return bool(_SOCIAL.match(value.strip()))


def is_street(value: str) -> bool:
    return bool(_STREET.match(value.strip().splitlines()[0] if value.strip() else ""))


def _parse_date(value: str) -> dt.date | None:
    text = value.strip()[:10]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def is_birth_date(value: str, today: dt.date | None = None) -> bool:
    """A date between 1900 and 14 years ago (a customer or employee, not a record's own timestamp)."""
    date = _parse_date(value)
    if date is None:
        return False
    today = today or dt.date.today()
    return dt.date(1900, 1, 1) <= date <= today.replace(year=today.year - 14)


@functools.cache
def first_names() -> frozenset[str]:
    """Lower-cased first names of faker's European and English locales: a plain dictionary, no model."""
    import importlib

    from datamap.identity import normalise_name

    names: set[str] = set()
    for locale in ("nl_NL", "nl_BE", "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pl_PL", "tr_TR", "pt_PT"):
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except ImportError:
            continue
        for attr in ("first_names", "first_names_male", "first_names_female"):
            pool = getattr(provider, attr, ())
            names.update(normalise_name(n) or "" for n in (pool.keys() if isinstance(pool, dict) else pool))
    return frozenset(n for n in names if len(n) > 1)


def is_person_name(value: str) -> bool:
    """Two to five words, the first a known first name (or initials), letters only, no company words."""
    from datamap.identity import normalise_name

    text = value.strip()
    if not text or any(c.isdigit() for c in text) or "@" in text or _ORG_WORDS.search(text):
        return False
    words = text.replace(",", " ").split()
    if not 2 <= len(words) <= 5:
        return False
    first = (normalise_name(words[0]) or "").strip(".")
    initials = bool(re.fullmatch(r"([a-z]\.)+", (normalise_name(words[0]) or "")))
    if not (first in first_names() or initials):
        return False
    rest = [w for w in words[1:] if w.lower() not in NAME_PARTICLES]
    return bool(rest) and all(re.fullmatch(r"[^\W\d_][^\W\d_'\-.]*(['\-][^\W\d_]+)*\.?", w) for w in rest)


def is_first_name(value: str) -> bool:
    from datamap.identity import normalise_name

    return (normalise_name(value) or "") in first_names()


@dataclass(frozen=True)
class ContentDetector:
    name: str
    category: str
    test: Callable[[str], bool]
    min_share: float  # below this share of sampled values the content says nothing
    alone: bool = True  # False: content alone is not enough (needs the name's agreement)


CONTENT_DETECTORS = (
    ContentDetector("email", EMAIL, is_email, 0.5),
    ContentDetector("iban", IBAN, is_iban, 0.5),
    ContentDetector("bsn", BSN, is_bsn, 0.5),
    ContentDetector("btw", BTW, is_btw, 0.5),
    ContentDetector("ip", IP, is_ip, 0.5),
    ContentDetector("phone", PHONE, is_phone, 0.5),
    ContentDetector("postcode", POSTCODE, is_postcode, 0.6),
    ContentDetector("password_hash", PASSWORD, is_password_hash, 0.3),
    ContentDetector("social", SOCIAL, is_social, 0.5),
    ContentDetector("person_name", NAME, is_person_name, 0.6),
    ContentDetector("street", STREET, is_street, 0.6, alone=False),
    ContentDetector("birth_date", BIRTH, is_birth_date, 0.9, alone=False),
    ContentDetector("kvk", KVK, is_kvk, 0.9, alone=False),
    ContentDetector("first_name", FIRST, is_first_name, 0.6, alone=False),
)
# Which content detector can confirm (or contradict) a name hint's category.
CONFIRMS = {EMAIL: "email", IBAN: "iban", BSN: "bsn", BTW: "btw", IP: "ip", PHONE: "phone", POSTCODE: "postcode",
            SOCIAL: "social", NAME: "person_name", FIRST: "first_name", LAST: None, STREET: "street",
            BIRTH: "birth_date", KVK: "kvk", PASSWORD: None, CITY: None, COUNTRY: None, CUSTOMER_NUMBER: None}


def _content_confidence(share: float) -> float:
    return 0.95 if share >= 0.9 else 0.9 if share >= 0.75 else 0.85 if share >= 0.6 else 0.8 if share >= 0.5 else 0.6


# --- judging one column --------------------------------------------------------------------------


@dataclass(frozen=True)
class Detection:
    """What discovery concluded about one column (no raw values: counts and a category only)."""

    dataset: str
    collection: str
    field: str
    category: str | None
    confidence: float
    basis: str  # "name", "content", "name+content" or "" (nothing found)
    detector: str
    matched: int
    sampled: int
    source: str = ""

    @property
    def personal(self) -> bool:
        return self.category is not None and self.confidence >= THRESHOLD

    @property
    def key(self) -> str:
        return f"{self.dataset}.{self.collection}.{self.field}"


def classify(column: str, values: Iterable[Any]) -> tuple[str | None, float, str, str, int, int]:
    """Judge one column by its name and its sampled values.

    Returns ``(category, confidence, basis, detector, matched, sampled)``; the category is None when
    neither name nor content suggests personal data.
    """
    texts = [str(v) for v in values if v is not None and str(v).strip() and str(v).lower() != "nan"]
    sampled = len(texts)
    hint = name_hint(column)
    excluded = bool(_hints()[1].search(column))
    shares: dict[str, tuple[int, float]] = {}

    def share(detector: ContentDetector) -> tuple[int, float]:
        if detector.name not in shares:
            probe = texts[:PROBE]  # most columns are rejected on a small probe; only likely ones are counted in full
            hits = sum(1 for t in probe if detector.test(t))
            if len(texts) > PROBE and hits / len(probe) >= detector.min_share - 0.2:
                hits += sum(1 for t in texts[PROBE:] if detector.test(t))
                shares[detector.name] = (hits, hits / sampled)
            else:
                shares[detector.name] = (hits, hits / len(probe) if probe else 0.0)
        return shares[detector.name]

    def by_content() -> tuple[str | None, float, str, str, int, int] | None:
        for detector in CONTENT_DETECTORS:
            if not detector.alone or not sampled:
                continue
            if excluded and detector.category in (EMAIL, NAME):
                continue  # Message-IDs look like addresses; company names like people
            matched, fraction = share(detector)
            if fraction >= detector.min_share:
                return detector.category, _content_confidence(fraction), "content", detector.name, matched, sampled
        return None

    if hint is not None:
        confirm = CONFIRMS.get(hint.category)
        detector = next((d for d in CONTENT_DETECTORS if d.name == confirm), None)
        if detector is None or not sampled:
            if not hint.needs_content:
                return hint.category, hint.confidence, "name", "name", 0, sampled
        else:
            matched, fraction = share(detector)
            if fraction >= detector.min_share:
                return hint.category, min(0.99, max(hint.confidence, _content_confidence(fraction)) + 0.04), \
                    "name+content", detector.name, matched, sampled
            found = by_content()  # the content is clearly something else (sender_address holds e-mails)
            if found is not None:
                return found
            if hint.category in (NAME, STREET) and not hint.needs_content:
                return hint.category, hint.confidence, "name", "name", matched, sampled  # company names in a name column
    found = by_content()
    if found is not None:
        return found
    if hint is not None:  # the name hinted but the content contradicts it
        matched = shares.get(CONFIRMS.get(hint.category) or "", (0, 0.0))[0]
        return hint.category, 0.4, "name", "name", matched, sampled
    return None, 0.0, "", "", 0, sampled


# --- comparing with the map ----------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    """A disagreement that is not a finding: the map declares what the data does not bear out."""

    dataset: str
    collection: str
    field: str
    kind: str  # missing_column | not_found | empty | category_differs
    detail: str


@dataclass
class ScanResult:
    """Detections per column, the P13 findings, the stale-map notes and the sources that could not be read."""

    detections: list[Detection] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    errors: dict[tuple[str, str], str] = field(default_factory=dict)
    declared: dict[str, tuple[str, ...] | None] = field(default_factory=dict)

    def table(self) -> "pd.DataFrame":
        """One row per column: proposed category, confidence, basis, declared categories, status."""
        import pandas as pd

        rows = []
        for d in self.detections:
            declared = self.declared.get(d.key)
            rows.append({
                "dataset": d.dataset, "collection": d.collection, "field": d.field,
                "category": d.category if d.personal else None, "confidence": round(d.confidence, 2),
                "basis": d.basis if d.personal else "", "matched": d.matched, "sampled": d.sampled,
                "declared": ", ".join(declared) if declared else ("(no categories)" if declared == () else None),
                "status": status(d, declared),
            })
        return pd.DataFrame(rows, columns=["dataset", "collection", "field", "category", "confidence", "basis",
                                           "matched", "sampled", "declared", "status"])

    def personal_table(self) -> "pd.DataFrame":
        """:meth:`table` restricted to the columns judged personal (or hinted at and undeclared)."""
        table = self.table()
        return table[table["category"].notna() | (table["status"] == "undeclared")].reset_index(drop=True)

    def snippets(self) -> str:
        """The fideslang fields to paste for every undeclared personal column, each under its location."""
        return "\n".join(f"# {f.record_key} ({f.severity})\n{f.evidence['snippet']}" for f in self.findings)

    def drift(self) -> "pd.DataFrame":
        """The map-versus-data disagreements: undeclared personal columns and stale declarations."""
        import pandas as pd

        rows = [{"dataset": f.dataset, "collection": f.collection, "field": f.record_key.rsplit(".", 1)[-1],
                 "kind": "undeclared", "severity": f.severity, "detail": f.detail} for f in self.findings]
        rows += [{"dataset": n.dataset, "collection": n.collection, "field": n.field, "kind": n.kind,
                  "severity": "", "detail": n.detail} for n in self.notes]
        return pd.DataFrame(rows, columns=["dataset", "collection", "field", "kind", "severity", "detail"])


def status(d: Detection, declared: tuple[str, ...] | None) -> str:
    if not d.personal:
        return "declared" if declared else "not personal"
    if not declared:
        return "undeclared"
    return "declared" if any(compatible(d.category or "", c) for c in declared) else "declared (other category)"


def _covers(broader: str, narrower: str) -> bool:
    return narrower == broader or narrower.startswith(broader + ".")


def compatible(found: str, declared: str) -> bool:
    """Whether a found category agrees with a declared one: one covers the other, or they are equivalent."""
    if _covers(found, declared) or _covers(declared, found):
        return True
    return any(found in group and any(_covers(g, declared) for g in group) for group in EQUIVALENT)


def within_reach(declared: Iterable[str]) -> bool:
    """Whether the detectors could find a field declared with these categories."""
    for category in declared:
        if any(_covers(d, category) for d in DETECTABLE):
            return True
        if any(category in group or any(_covers(category, g) for g in group) for group in EQUIVALENT):
            return True
    return False


@dataclass(frozen=True)
class Score:
    """How well the detectors agree with a map's labels (the fields declared with categories)."""

    precision: float
    recall: float
    true_positives: int
    false_positives: int
    in_reach: int
    found: int
    misses: tuple[str, ...]
    wrong: tuple[str, ...]


def evaluate(result: ScanResult) -> Score:
    """Measure the detectors against the map's labels.

    Precision: of the columns declared in the map and judged personal, how many got a category that
    agrees with the declared one. Recall: of the declared columns whose category the detectors can
    recognise at all (:func:`within_reach`), how many were found with an agreeing category.
    """
    tp = fp = reach = found = 0
    misses, wrong = [], []
    for d in result.detections:
        declared = result.declared.get(d.key)
        if not declared:
            continue
        agrees = d.personal and any(compatible(d.category or "", c) for c in declared)
        if d.personal:
            tp, fp = (tp + 1, fp) if agrees else (tp, fp + 1)
            if not agrees:
                wrong.append(d.key)
        if within_reach(declared):
            reach += 1
            found += int(agrees)
            if not agrees:
                misses.append(d.key)
    return Score(tp / (tp + fp) if tp + fp else 1.0, found / reach if reach else 1.0, tp, fp, reach, found,
                 tuple(misses), tuple(wrong))


def declared_fields(data_map: "DataMap") -> dict[str, dict[str, tuple[str, ...]]]:
    """``dataset.collection -> {field: categories}`` from the map's datasets (top-level fields)."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for key, dataset in data_map.datasets.items():
        for collection in dataset.collections:
            out[f"{key}.{collection.name}"] = {f.name: tuple(f.data_categories or ()) for f in collection.fields}
    return out


def snippet(d: Detection) -> str:
    """A fideslang field to paste under the collection's ``fields:`` in the dataset manifest."""
    how = {"name": "its name", "content": f"{d.matched} of {d.sampled} sampled values",
           "name+content": f"its name and {d.matched} of {d.sampled} sampled values"}[d.basis]
    return (f"- name: {d.field}\n"
            f"  description: found by datamap discovery ({how})\n"
            f"  data_categories: [{d.category}]\n")


def _finding(d: Detection, system: str, declared: tuple[str, ...] | None) -> Finding:
    from datamap.audit.catalogue import library_rules

    how = "declares it without data categories" if declared == () else "does not declare it"
    how_nl = "vermeldt hem zonder gegevenscategorieën" if declared == () else "vermeldt hem niet"
    confidence_nl = f"{d.confidence:.2f}".replace(".", ",")  # a decimal comma
    basis_nl = {"name": "naam", "content": "inhoud", "name+content": "naam en inhoud"}.get(d.basis, d.basis)
    home = library_rules()[RULE]  # claim, check and severity (a BSN is critical) are the catalogue's
    return Finding(
        claim=home.claim, rule=RULE, check=home.check, severity=home.severity_for(d.category),
        system=system, record_key=d.key, dataset=d.dataset, collection=d.collection,
        detail=f"column {d.field} holds {d.category} (confidence {d.confidence:.2f}, by {d.basis.replace('+', ' and ')}); "
               f"the map {how}",
        detail_nl=f"kolom {d.field} bevat {in_dutch(d.category or '')} (zekerheid {confidence_nl}, op grond van {basis_nl}); "
                  f"de datamap {how_nl}",
        evidence={"source": d.source, "column": d.field, "category": d.category, "confidence": round(d.confidence, 2),
                  "basis": d.basis, "detector": d.detector, "matched": d.matched, "sampled": d.sampled,
                  "snippet": snippet(d)},
    )


def compare(detections: list[Detection], declared: dict[str, dict[str, tuple[str, ...]]],
            data_map: "DataMap | None", read: set[tuple[str, str]]) -> tuple[list[Finding], list[Note]]:
    """Personal columns the map lacks become findings; declarations the data does not bear out, notes."""
    from datamap.map import system_of_dataset

    findings, notes = [], []
    seen: dict[str, set[str]] = {}
    for d in detections:
        fields = declared.get(f"{d.dataset}.{d.collection}", {})
        seen.setdefault(f"{d.dataset}.{d.collection}", set()).add(d.field)
        cats = fields.get(d.field)
        if d.personal and not cats:
            findings.append(_finding(d, system_of_dataset(data_map, d.dataset) if data_map is not None else d.dataset, cats))
        elif d.personal and not any(c.startswith("user") for c in cats):
            notes.append(Note(d.dataset, d.collection, d.field, "category_differs",
                              f"declared {', '.join(cats)} only; the data looks like {d.category}"))
        elif cats and within_reach(cats) and any(c.startswith("user") for c in cats):
            if not d.sampled:
                notes.append(Note(d.dataset, d.collection, d.field, "empty",
                                  f"declared {', '.join(cats)}; no values in the sample to confirm it"))
            elif not d.personal:
                notes.append(Note(d.dataset, d.collection, d.field, "not_found",
                                  f"declared {', '.join(cats)}; none of {d.sampled} sampled values looks like it"))
            elif not any(compatible(d.category or "", c) for c in cats):
                notes.append(Note(d.dataset, d.collection, d.field, "category_differs",
                                  f"declared {', '.join(cats)}; the data looks like {d.category}"))
    for dataset, collection in sorted(read):
        key = f"{dataset}.{collection}"
        for name, cats in declared.get(key, {}).items():
            if name not in seen.get(key, set()):
                notes.append(Note(dataset, collection, name, "missing_column",
                                  f"declared {', '.join(cats) or 'without categories'}; the source has no such column"))
    return findings, notes


def scan_frame(frame: "pd.DataFrame", dataset: str, collection: str, source: str = "") -> list[Detection]:
    """Classify every source column of one sampled frame (the store's helper columns are skipped)."""
    out = []
    for column in frame.columns:
        if column == "_row" or column.endswith("__norm") or column.endswith("__masked"):
            continue
        category, confidence, basis, detector, matched, sampled = classify(column, frame[column].tolist())
        out.append(Detection(dataset, collection, column, category, confidence, basis, detector, matched, sampled,
                             source))
    return out


def sample(workspace: Workspace, dataset: str, collection: str, rows: int = SAMPLE_ROWS) -> "pd.DataFrame":
    """The first ``rows`` rows of a collection (several frames for mbox collections spanning files)."""
    import pandas as pd

    from datamap.sources import read_collection

    frames, total = [], 0
    for frame in read_collection(workspace, dataset, collection, chunksize=rows, identifiers=False):
        frames.append(frame.head(rows - total))
        total += len(frames[-1])
        if total >= rows:
            break
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def check_dates(workspace: Workspace, dataset: str, collection: str, chunksize: int = DATE_CHUNK) -> None:
    """Read every row of a collection with dates as staging does; a date the audit cannot use raises its BadInput.

    Discovery judges a sample, but staging parses every row with the source's ``date_format``: a
    31/02/2026 in row 3,000 of a lead export made the audit refuse the source while the scan, having
    read 2,000 rows, called it read. The rows are shaped exactly as staging shapes them (without the
    identifier work), so any other value staging refuses, such as an unreadable boolean, fails here
    too. Mailboxes are left out: their Date header is not read with ``date_format``, and parsing
    every message would cost what staging costs.
    """
    from datamap.sources import read_collection, resolve

    src = resolve(workspace, dataset, collection)
    if src.kind == "mbox" or not src.fmt.dates:
        return
    for _ in read_collection(workspace, dataset, collection, chunksize=chunksize, identifiers=False):
        pass


def sample_staged(db: "sqlite3.Connection", workspace: Workspace, dataset: str, collection: str,
                  rows: int = SAMPLE_ROWS) -> "pd.DataFrame":
    """The rows :func:`sample` reads, taken from the audit store that staged the collection.

    The store keeps each source's rows in the order they were read (a restaged table is rebuilt;
    a restaged mailbox is deleted and appended whole), so the first rows of each file are the same
    values without parsing the source again: the audit's mail sample cost seconds of header parsing.
    """
    import pandas as pd

    from datamap.sources import resolve
    from datamap.store import table_name

    src = resolve(workspace, dataset, collection)
    table = table_name(workspace, dataset, collection)
    parts = [("mailbox = ?", (path.stem,)) for path in src.files()] if src.kind == "mbox" else [("1", ())]
    found: list[tuple[Any, ...]] = []
    columns: list[str] = []
    for where, args in parts:
        cursor = db.execute(f'SELECT * FROM "{table}" WHERE {where} ORDER BY rowid LIMIT ?', (*args, rows - len(found)))
        found += cursor.fetchall()
        columns = [d[0] for d in cursor.description]
        if len(found) >= rows:
            break
    keep = [i for i, c in enumerate(columns) if not (c.endswith("__norm") or c.endswith("__masked"))]
    return pd.DataFrame([tuple(r[i] for i in keep) for r in found], columns=[columns[i] for i in keep], dtype=object)


def scan(workspace: Workspace | str, data_map: "DataMap | None" = None, sample_rows: int = SAMPLE_ROWS,
         store: "Path | None" = None, staged: Iterable[tuple[str, str]] = ()) -> ScanResult:
    """Detect personal data in every column of every source and compare it with the map.

    ``data_map`` defaults to :func:`datamap.map.load_map` of the workspace. A source that cannot be
    read is listed in ``errors`` (its one BadInput line) and the others are still scanned. So is a
    source whose rows after the sample hold a date the audit cannot parse (:func:`check_dates`);
    its sampled columns are still judged.
    ``store`` (an audit store) and ``staged`` (the ``(dataset, collection)`` pairs it staged without
    error): those collections are sampled from the store (:func:`sample_staged`), the rest from
    their sources.
    """
    import sqlite3

    from datamap.sources import collections, resolve
    from datamap.store import staged_as_is
    from datamap.workspace import load_workspace

    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    if data_map is None:
        from datamap.map import load_map

        data_map = load_map(ws)
    result = ScanResult()
    from datamap.workspace import unsourced_datasets

    for problem in unsourced_datasets(ws):  # a dataset nobody says where to find is a source not read
        result.errors[(problem.key or "", "")] = problem.line()
    read: set[tuple[str, str]] = set()
    staged = set(staged) if store is not None else set()
    db = open_read_only(store) if staged else None
    try:
        for dataset, collection in collections(ws):
            try:
                label = resolve(ws, dataset, collection).label
                frame, from_source = None, False
                if db is not None and (dataset, collection) in staged:
                    try:
                        frame = sample_staged(db, ws, dataset, collection, sample_rows)
                    except sqlite3.Error:  # not in the store as staging left it: the source decides
                        frame = None
                if frame is None:
                    frame, from_source = sample(ws, dataset, collection, sample_rows), True
            except BadInput as exc:
                result.errors[(dataset, collection)] = exc.line()
                continue
            read.add((dataset, collection))
            result.detections += scan_frame(frame, dataset, collection, label)
            if from_source and len(frame) >= sample_rows:  # staging reads the rows the sample left: so must we
                try:
                    if not staged_as_is(ws, dataset, collection):  # staging parsed every date of these bytes already
                        check_dates(ws, dataset, collection)
                except BadInput as exc:
                    result.errors[(dataset, collection)] = exc.line()
    finally:
        if db is not None:
            db.close()
    declared = declared_fields(data_map)
    for d in result.detections:
        fields = declared.get(f"{d.dataset}.{d.collection}", {})
        result.declared[d.key] = fields.get(d.field) if d.field in fields else None
    result.findings, result.notes = compare(result.detections, declared, data_map, read)
    return result
