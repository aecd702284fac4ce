"""The notice lint (claim P16): does the privacy notice say what Art. 13 GDPR requires?

The notice is split into sentences; each Art. 13 element of the catalogue
(``datamap/notice_terms.yml``, declarative so an auditor can add phrasings) is looked for in them.
Some elements are owed only because of the data map (processors, transfers outside the EEA, a
DPO) or because the notice itself invokes them (a legitimate interest, consent); those take the
map's facts as input. A finding quotes the sentence at fault, or says what is missing.

Example::

    >>> findings = lint_text("Wij bewaren uw gegevens niet langer dan strikt nodig.", MapFacts())
    >>> "retention-period" in {f.record_key for f in findings}
    True
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import yaml

from datamap.errors import BadInput
from datamap.findings import Finding

if TYPE_CHECKING:
    from datamap.map import DataMap
    from datamap.workspace import Workspace

CLAIM = "P16"
CHECK = "P16.notice_lint"
SYSTEM = "notice"
CATALOGUE = Path(__file__).with_name("notice_terms.yml")

CONDITIONS = ("always", "mentioned", "map.recipients", "map.transfers", "map.dpo", "map.profiling")
_BASIS_CONDITION = "map.basis."

# Abbreviations after which a full stop does not end a sentence ("Apora B.V. Wij ..." is rare;
# "bijv. Zoho" is not).
_ABBREVIATIONS = {"b.v.", "n.v.", "v.o.f.", "bijv.", "o.a.", "m.b.t.", "t.a.v.", "e.g.", "i.e.", "art.", "nr.", "ca.", "zgn."}
_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*\s+")
_BULLET = re.compile(r"^[\s•·\-\*–—]+")


@dataclass(frozen=True)
class Sentence:
    """One sentence of the notice and the line it starts on (1-based), for quoting."""

    text: str
    line: int

    @property
    def folded(self) -> str:
        return fold(self.text)


@dataclass(frozen=True)
class Element:
    """One thing Art. 13 asks a notice to say, with the phrasings that say it."""

    key: str
    rule: str
    article: str
    what: str
    required: tuple[str, ...] = ()
    present: tuple[tuple[re.Pattern[str], ...], ...] = ()
    triggers: tuple[re.Pattern[str], ...] = ()
    quote: tuple[re.Pattern[str], ...] = ()
    forbidden: tuple[re.Pattern[str], ...] = ()
    severity: str = "low"
    per_purpose: bool = False


@dataclass(frozen=True)
class MapFacts:
    """What the notice must reflect from the data map: who receives data, where it goes, the DPO.

    ``legal_bases`` are snake_case Art. 6 bases (``consent``, ``legitimate_interests``) used by a
    purpose in policy.yml or a privacy declaration of the map; ``purposes`` are policy.yml's
    ``(key, the notice's own words)`` pairs, for elements owed per purpose; ``profiling`` the
    internal systems whose declarations profile (``system (data use)``).
    """

    processors: tuple[str, ...] = ()
    third_parties: tuple[str, ...] = ()
    transfer_recipients: tuple[str, ...] = ()
    dpo_declared: bool = False
    legal_bases: tuple[str, ...] = ()
    purposes: tuple[tuple[str, str], ...] = ()
    profiling: tuple[str, ...] = ()

    @property
    def has_transfers_outside_eea(self) -> bool:
        return bool(self.transfer_recipients)

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.processors + self.third_parties


def fold(text: str) -> str:
    """Lower-case text without accents and with single spaces, so patterns stay simple."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text).strip().lower()


def split_sentences(text: str) -> list[Sentence]:
    """Split notice text into sentences: each line (heading, bullet, paragraph) then at full stops.

    A full stop ends a sentence only when the next word starts with a capital or a digit and the
    word before it is not an abbreviation such as ``B.V.``.
    """
    sentences: list[Sentence] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _BULLET.sub("", raw.replace("\u00a0", " ")).strip()
        if not line:
            continue
        start = 0
        for match in _BOUNDARY.finditer(line):
            end = match.end()
            if end >= len(line):
                break
            before = line[start:match.start() + 1].split()[-1].lower() if line[start:match.start() + 1].split() else ""
            nxt = line[end]
            if before in _ABBREVIATIONS or not (nxt.isupper() or nxt.isdigit() or nxt in "\"'("):
                continue
            sentences.append(Sentence(line[start:end].strip(), number))
            start = end
        tail = line[start:].strip()
        if tail:
            sentences.append(Sentence(tail, number))
    return sentences


# --- the catalogue -----------------------------------------------------------------------------


def load_catalogue(path: Path | None = None) -> list[Element]:
    """Read the Art. 13 catalogue; a bad pattern or condition is bad input naming its element."""
    path = Path(path or CATALOGUE)
    return list(_catalogue(path, path.stat().st_mtime_ns if path.exists() else 0))


@functools.lru_cache(maxsize=8)
def _catalogue(path: Path, _mtime: int) -> tuple[Element, ...]:
    """Parse a catalogue once per version of the file (the modification time is part of the key)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BadInput(str(path), None, f"cannot read the notice catalogue: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("elements"), list):
        raise BadInput(str(path), "elements", "expected a list of Art. 13 elements")
    elements = [_element(str(path), i, raw) for i, raw in enumerate(data["elements"])]
    keys = [e.key for e in elements]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise BadInput(str(path), f"elements.{duplicates[0]}", "key used twice (it is the finding's record_key)")
    return tuple(elements)


def _element(file: str, index: int, raw: Any) -> Element:
    if not isinstance(raw, dict):
        raise BadInput(file, f"elements.{index}", "expected a mapping")
    where = f"elements.{raw.get('key', index)}"
    for name in ("key", "rule", "article"):
        if not raw.get(name):
            raise BadInput(file, where, f"'{name}' is missing")
    required = tuple(raw.get("required") or ())
    for cond in required:
        if cond not in CONDITIONS and not str(cond).startswith(_BASIS_CONDITION):
            raise BadInput(file, f"{where}.required", f"unknown condition {cond!r}", f"use one of {', '.join(CONDITIONS)}, map.basis.<basis>")
    if "mentioned" in required and not raw.get("triggers"):
        raise BadInput(file, f"{where}.triggers", "'mentioned' needs trigger patterns")
    if not raw.get("forbidden") and not raw.get("present"):
        raise BadInput(file, where, "an element needs 'present' patterns (or 'forbidden' ones)")

    def compile_all(name: str, patterns: Iterable[Any]) -> tuple[re.Pattern[str], ...]:
        out = []
        for pattern in patterns:
            try:
                out.append(re.compile(str(pattern)))
            except re.error as exc:
                raise BadInput(file, f"{where}.{name}", f"bad regular expression {pattern!r}: {exc}") from None
        return tuple(out)

    present = tuple(compile_all("present", p if isinstance(p, list) else [p]) for p in raw.get("present") or ())
    return Element(
        key=str(raw["key"]), rule=str(raw["rule"]), article=str(raw["article"]), what=str(raw.get("what", raw["key"])),
        required=required, present=present,
        triggers=compile_all("triggers", raw.get("triggers") or ()),
        quote=compile_all("quote", raw.get("quote") or ()),
        forbidden=compile_all("forbidden", raw.get("forbidden") or ()),
        severity=str(raw.get("severity", "low")),
        per_purpose=bool(raw.get("per_purpose", False)),
    )


# --- the lint ----------------------------------------------------------------------------------


def matching(sentences: list[Sentence], patterns: Iterable[re.Pattern[str]]) -> list[Sentence]:
    """The sentences any of the patterns matches."""
    patterns = tuple(patterns)
    return [s for s in sentences if any(p.search(s.folded) for p in patterns)]


def states(sentences: list[Sentence], element: Element) -> bool:
    """Tell whether one sentence states the element (all patterns of one entry in that sentence)."""
    return any(all(p.search(s.folded) for p in entry) for s in sentences for entry in element.present)


def owed_because(element: Element, sentences: list[Sentence], facts: MapFacts) -> list[str]:
    """Why the notice owes this element (empty: it does not)."""
    reasons = []
    for cond in element.required:
        if cond == "always":
            reasons.append("Art. 13 requires it of every notice")
        elif cond == "mentioned" and matching(sentences, element.triggers):
            reasons.append("the notice invokes it")
        elif cond == "map.recipients" and facts.recipients:
            reasons.append(f"the map names recipients: {', '.join(facts.recipients)}")
        elif cond == "map.transfers" and facts.has_transfers_outside_eea:
            reasons.append(f"the map declares transfers outside the EEA to: {', '.join(facts.transfer_recipients)}")
        elif cond == "map.dpo" and facts.dpo_declared:
            reasons.append("the organization declares a data protection officer")
        elif cond == "map.profiling" and facts.profiling:
            reasons.append(f"the map declares profiling: {', '.join(facts.profiling)}")
        elif cond.startswith(_BASIS_CONDITION) and cond[len(_BASIS_CONDITION):] in facts.legal_bases:
            reasons.append(f"the map or policy uses the legal basis {cond[len(_BASIS_CONDITION):]}")
    return reasons


def lint_text(text: str, facts: MapFacts, source: str = "notice", catalogue: list[Element] | None = None) -> list[Finding]:
    """Lint notice text against Art. 13 and the map's facts; one finding per missing or wrong element."""
    sentences = split_sentences(text)
    findings = []
    for element in catalogue if catalogue is not None else load_catalogue():
        bad = matching(sentences, element.forbidden)
        if bad:
            findings.append(_finding(element, source, bad, f"the notice names {_quote_names(element, bad)}; state {element.what}"))
        if not element.present:
            continue
        reasons = owed_because(element, sentences, facts)
        if not reasons:
            continue
        if states(sentences, element):
            lacking = purposes_lacking(sentences, element, facts.purposes) if element.per_purpose else []
            if lacking:
                keys = ", ".join(key for key, _ in lacking)
                detail = f"the notice states {element.what} (Art. {element.article}) for some purposes, not for: {keys}"
                findings.append(_finding(element, source, _unique([s for _, s in lacking]), detail))
            continue
        quoted = matching(sentences, element.quote) + matching(sentences, element.triggers)
        detail = f"the notice does not state {element.what} (Art. {element.article}); owed because {'; '.join(reasons)}"
        findings.append(_finding(element, source, _unique(quoted), detail))
    return findings


def purpose_sentence(sentences: list[Sentence], words: str, threshold: float = 70.0) -> Sentence | None:
    """The notice's sentence that states a purpose (policy.yml gives the notice's own words for it)."""
    from rapidfuzz import fuzz, utils

    scored = [(fuzz.token_set_ratio(fold(words), s.folded, processor=utils.default_process), s) for s in sentences]
    best = max(scored, key=lambda x: x[0], default=(0.0, None))
    return best[1] if best[0] >= threshold else None


def purposes_lacking(sentences: list[Sentence], element: Element, purposes: Iterable[tuple[str, str]]) -> list[tuple[str, Sentence]]:
    """The purposes whose own line (a bullet, a paragraph) does not state the element."""
    lacking = []
    for key, words in purposes:
        found = purpose_sentence(sentences, words)
        if found is None:
            continue  # a purpose the notice does not state is not this element's finding
        line = [s for s in sentences if s.line == found.line]
        if not states(line, element):
            lacking.append((key, found))
    return lacking


def _quote_names(element: Element, sentences: list[Sentence]) -> str:
    names = {m.group(0) for s in sentences for p in element.forbidden for m in [p.search(s.folded)] if m}
    return ", ".join(f"'{n}'" for n in sorted(names))


def _unique(sentences: list[Sentence]) -> list[Sentence]:
    seen: dict[tuple[int, str], Sentence] = {}
    for s in sentences:
        seen.setdefault((s.line, s.text), s)
    return sorted(seen.values(), key=lambda s: s.line)


def _finding(element: Element, source: str, quoted: list[Sentence], detail: str) -> Finding:
    evidence: dict[str, Any] = {"source": source, "article": element.article}
    if quoted:
        evidence["quotes"] = [{"line": s.line, "text": s.text} for s in quoted]
    return Finding(claim=CLAIM, rule=element.rule, severity=element.severity, system=SYSTEM,
                   record_key=element.key, detail=detail, check=CHECK, evidence=evidence)


# --- the map's facts ---------------------------------------------------------------------------


def _snake(basis: str) -> str:
    return re.sub(r"[^a-z]+", "_", basis.strip().lower()).strip("_")


def facts_from_map(data_map: DataMap, workspace: Workspace) -> MapFacts:
    """The notice-relevant facts of the data map: who receives personal data, transfers, the DPO, bases used.

    Recipients are the map's external recipients (flows and hosting); a public authority that
    receives data under a legal duty is not listed as a recipient the notice must name.
    """
    from datamap.map import external_recipients

    received = external_recipients(data_map)
    org = data_map.organizations.get(workspace.policy.organization)
    bases = {_snake(p.legal_basis) for p in workspace.policy.notice.purposes if p.legal_basis}
    profiling = set()
    for key in data_map.internal_systems():
        for decl in data_map.systems[key].privacy_declarations:
            if "profiling" in decl.data_use or "automated" in decl.data_use:
                profiling.add(f"{key} ({decl.data_use})")
            if decl.legal_basis_for_processing:
                bases.add(_snake(str(getattr(decl.legal_basis_for_processing, "value", decl.legal_basis_for_processing))))
    return MapFacts(
        processors=tuple(r["party"] for r in received if r["role"] == "Processor"),
        third_parties=tuple(r["party"] for r in received if r["role"] == "Third Party"),
        transfer_recipients=tuple(r["party"] for r in received if r["outside_eea"]),
        dpo_declared=bool(org and org.data_protection_officer),
        legal_bases=tuple(sorted(bases)),
        purposes=tuple((p.key, p.text) for p in workspace.policy.notice.purposes),
        profiling=tuple(sorted(profiling)),
    )


def lint(workspace: Workspace, data_map: DataMap | MapFacts | None = None) -> list[Finding]:
    """Lint the workspace's notice (``policy.notice.file``) against Art. 13 and the data map.

    ``data_map``: the loaded map (default: :func:`datamap.map.load_map` of the workspace), or
    plain :class:`MapFacts`.
    """
    path = workspace.notice_path
    rel = workspace.policy.notice.file
    if not path.is_file():
        raise BadInput(rel, None, "notice file not found", "set notice.file in policy.yml")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="cp1252")
    if isinstance(data_map, MapFacts):
        facts = data_map
    else:
        from datamap.map import load_map

        facts = facts_from_map(data_map if data_map is not None else load_map(workspace), workspace)
    return lint_text(text, facts, source=rel)


__all__ = ["MapFacts", "Element", "Sentence", "lint", "lint_text", "load_catalogue", "split_sentences", "facts_from_map"]
