"""The notice lint (claim P16): does the privacy notice say what Art. 13 GDPR requires?

The notice is split into sentences and each sentence into words; every word is reduced to its
stems (Dutch and English Snowball stemmers, plus the Dutch verb endings ``-t``/``-d``), so
"doel", "doelen" and "doeleinden" or "bewaren", "bewaart" and "bewaard" read alike.
Each Art. 13 element of the catalogue (``datamap/notice_terms.yml``, declarative so an auditor
adds phrasings without Python) lists phrasings as word lists; a sentence states the element when
it holds every word of one phrasing, in any order, whatever the punctuation between them (within
``near`` words of each other where the catalogue asks for it). Regular expressions remain for
what has a form rather than a wording: e-mail addresses, phone numbers, company forms.
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
import itertools
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
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

# Words, the colon (it introduces what a phrase names: "ons belang: ..."), and the punctuation
# that ends a clause (the scope of a negation).
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*|:|[,;–—]|\s-\s")
_CLAUSE_END = {",", ";", "–", "—", "-"}
# One alternative of a phrasing slot: a word (``*`` before or after: any word ending or starting
# so), ``@name`` (a word list of the catalogue), ``#`` (a number) or ``:``.
_ALTERNATIVE = re.compile(r"^(?:\*?[a-z0-9]+(?:'[a-z0-9]+)*\*?|@[a-z0-9_]+|#|:)$")
# Compound words hold a stem of this length or longer ("fraudebestrijding" holds "fraud").
_COMPOUND_MIN = 5


# --- words and their stems ---------------------------------------------------------------------


@functools.cache
def _stemmers() -> tuple[Any, Any, threading.Lock]:
    import snowballstemmer

    # snowballstemmer 3 renamed the classic Dutch (Porter) algorithm; its new "dutch" strips "ge-"
    # and reads "gegevens" as "geven"
    dutch = "dutch_porter" if "dutch_porter" in snowballstemmer.algorithms() else "dutch"
    return snowballstemmer.stemmer(dutch), snowballstemmer.stemmer("english"), threading.Lock()


@functools.lru_cache(maxsize=65536)
def word_keys(word: str) -> frozenset[str]:
    """The stems a folded word is known by: ``nl:`` and ``en:`` Snowball stems, Dutch verb forms.

    Two words mean the same to the lint when their keys meet: "doelen" and "doel", "bewaart" and
    "bewaren", "gedeeld" and "delen", "nieuwsbrieven" and "nieuwsbrief", "purposes" and "purpose".
    """
    dutch, english, lock = _stemmers()
    with lock:  # a Snowball stemmer object keeps state between calls
        nl = {dutch.stemWord(word)}
        en = english.stemWord(word)
        if len(word) >= 5 and word[-1] in "td":  # bewaart, bewaard, verwijderd
            nl.add(dutch.stemWord(word[:-1]))
            if word.startswith("ge") and len(word) >= 7:  # gedeeld, gebruikt
                nl.add(dutch.stemWord(word[2:-1]))
        if len(word) >= 6 and word.endswith(("de", "te")):  # bewaarde, deelde
            nl.add(dutch.stemWord(word[:-2]))
        if len(word) >= 6 and word.endswith(("ven", "zen")):  # brieven -> brief, huizen -> huis
            nl.add(dutch.stemWord(word[:-3] + ("f" if word.endswith("ven") else "s")))
    return frozenset({f"nl:{k}" for k in nl} | {f"en:{en}"})


@functools.lru_cache(maxsize=65536)
def _dutch_stem(word: str) -> str:
    dutch, _, lock = _stemmers()
    with lock:
        return dutch.stemWord(word)


@dataclass(frozen=True)
class Token:
    """One word of a sentence (folded), its stems and the clause it stands in."""

    text: str
    keys: frozenset[str]
    clause: int


def tokenize(text: str) -> list[Token]:
    """The words of a text, folded and stemmed; a comma, semicolon or dash starts a new clause."""
    tokens: list[Token] = []
    clause = 0
    for match in _TOKEN.finditer(fold(text)):
        word = match.group(0).strip()
        if word in _CLAUSE_END:
            clause += 1
        elif word == ":":
            tokens.append(Token(":", frozenset({":"}), clause))
            clause += 1
        else:
            word = word.replace("'", "")
            tokens.append(Token(word, word_keys(word), clause))
    return tokens


@dataclass(frozen=True)
class Sentence:
    """One sentence of the notice and the line it starts on (1-based), for quoting."""

    text: str
    line: int

    @property
    def folded(self) -> str:
        return fold(self.text)

    @cached_property
    def tokens(self) -> list[Token]:
        return tokenize(self.text)


# --- phrasings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One word of a phrasing with its alternatives: stems, word beginnings or endings, a number."""

    keys: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    exact: frozenset[str] = frozenset()
    number: bool = False

    def matches(self, token: Token) -> bool:
        return bool(
            self.keys & token.keys
            or token.text in self.exact
            or (self.number and token.text.isdigit())
            or token.text.startswith(self.prefixes)
            or token.text.endswith(self.suffixes)
        )


@dataclass(frozen=True)
class Phrasing:
    """Words that state something when one sentence holds them all, in any order.

    ``near``: at most this many other words between two neighbouring words of the phrasing
    (``None``: anywhere in the sentence).
    """

    text: str
    slots: tuple[Slot, ...]
    near: int | None = None

    def find(self, tokens: list[Token], blocked: frozenset[int] = frozenset()) -> tuple[int, ...] | None:
        """Positions of the phrasing's words in ``tokens`` (none in a ``blocked`` clause), or None."""
        candidates = []
        for slot in self.slots:
            positions = [i for i, t in enumerate(tokens) if t.clause not in blocked and slot.matches(t)]
            if not positions:
                return None
            candidates.append(positions)
        return _choose(candidates, self.near)


def _choose(candidates: list[list[int]], near: int | None) -> tuple[int, ...] | None:
    """One position per slot, all different, neighbours at most ``near`` words apart."""
    order = sorted(range(len(candidates)), key=lambda i: len(candidates[i]))
    limit = None if near is None else (len(candidates) - 1) * (near + 1)

    def walk(depth: int, chosen: tuple[int, ...]) -> tuple[int, ...] | None:
        if depth == len(order):
            ordered = tuple(sorted(chosen))
            if near is None or all(b - a - 1 <= near for a, b in itertools.pairwise(ordered)):
                return ordered
            return None
        for pos in candidates[order[depth]]:
            if pos in chosen:
                continue
            if limit is not None and chosen and max(max(chosen), pos) - min(min(chosen), pos) > limit:
                continue
            found = walk(depth + 1, chosen + (pos,))
            if found is not None:
                return found
        return None

    return walk(0, ())


Part = Phrasing | re.Pattern[str]  # a phrasing, or a regular expression for a form
Entry = tuple[Part, ...]


@dataclass(frozen=True)
class Vocabulary:
    """The catalogue's shared words: negations, words a purpose match ignores, synonyms."""

    negations: frozenset[str] = frozenset()
    stopwords: frozenset[str] = frozenset()
    synonyms: tuple[frozenset[str], ...] = ()

    def expand(self, keys: frozenset[str]) -> frozenset[str]:
        """The keys of a word and of every synonym of it."""
        out = set(keys)
        for group in self.synonyms:
            if keys & group:
                out |= group
        return frozenset(out)


@dataclass(frozen=True)
class Element:
    """One thing Art. 13 asks a notice to say, with the phrasings that say it.

    ``present``, ``triggers``, ``quote``, ``forbidden`` are entries; an entry is found in a
    sentence when all its parts (phrasings or regular expressions) are.
    """

    key: str
    rule: str
    article: str
    what: str
    what_nl: str = ""  # the element in the Dutch finding's words ("het recht van bezwaar"); empty: no Dutch detail
    required: tuple[str, ...] = ()
    present: tuple[Entry, ...] = ()
    triggers: tuple[Entry, ...] = ()
    quote: tuple[Entry, ...] = ()
    forbidden: tuple[Entry, ...] = ()
    severity: str = "low"
    per_purpose: bool = False
    unless_negated: bool = False
    vocabulary: Vocabulary = field(default_factory=Vocabulary)


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
    """Read the Art. 13 catalogue; a bad phrasing, pattern or condition is bad input naming its element."""
    path = Path(path or CATALOGUE)
    return list(_catalogue(path, path.stat().st_mtime_ns if path.exists() else 0))


@functools.lru_cache(maxsize=8)
def _catalogue(path: Path, _mtime: int) -> tuple[Element, ...]:
    """Parse a catalogue once per version of the file (the modification time is part of the key)."""
    file = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BadInput(file, None, f"cannot read the notice catalogue: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("elements"), list):
        raise BadInput(file, "elements", "expected a list of Art. 13 elements")
    words = _word_lists(file, data.get("words"))
    vocabulary = _vocabulary(file, data)
    elements = [_element(file, i, raw, words, vocabulary) for i, raw in enumerate(data["elements"])]
    keys = [e.key for e in elements]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise BadInput(file, f"elements.{duplicates[0]}", "key used twice (it is the finding's record_key)")
    return tuple(elements)


def _strings(file: str, key: str, raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(w, (str, int)) for w in raw):
        raise BadInput(file, key, "expected a list of words")
    return [fold(str(w)) for w in raw]


def _word_lists(file: str, raw: Any) -> dict[str, list[str]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadInput(file, "words", "expected a mapping of names to word lists ('bewaren|bewaard|...')")
    out = {}
    for name, value in raw.items():
        alternatives = value if isinstance(value, list) else str(value).split("|")
        out[str(name)] = [fold(str(a)) for a in alternatives if str(a).strip()]
    return out


def _vocabulary(file: str, data: dict[str, Any]) -> Vocabulary:
    synonyms = data.get("synonyms") or []
    if not isinstance(synonyms, list):
        raise BadInput(file, "synonyms", "expected a list of word groups")
    groups = []
    for i, group in enumerate(synonyms):
        words = _strings(file, f"synonyms.{i}", group)
        groups.append(frozenset().union(*(word_keys(w) for w in words)))
    return Vocabulary(
        negations=frozenset(w.replace("'", "") for w in _strings(file, "negations", data.get("negations"))),
        stopwords=frozenset(_strings(file, "stopwords", data.get("stopwords"))),
        synonyms=tuple(groups),
    )


def _element(file: str, index: int, raw: Any, words: dict[str, list[str]], vocabulary: Vocabulary) -> Element:
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
        raise BadInput(file, f"{where}.triggers", "'mentioned' needs trigger phrasings")
    if not raw.get("forbidden") and not raw.get("present"):
        raise BadInput(file, where, "an element needs 'present' phrasings (or 'forbidden' ones)")
    near = _near(file, f"{where}.near", raw.get("near"))

    def part(name: str, item: Any) -> Part:
        key = f"{where}.{name}"
        if isinstance(item, dict):
            if set(item) == {"regex"}:
                try:
                    return re.compile(str(item["regex"]))
                except re.error as exc:
                    raise BadInput(file, key, f"bad regular expression {item['regex']!r}: {exc}") from None
            if "words" in item and set(item) <= {"words", "near"}:
                return _phrasing(file, key, str(item["words"]), _near(file, key, item.get("near")) if "near" in item else near,
                                 words, vocabulary)
            raise BadInput(file, key, f"bad entry {item!r}", "write a phrasing, {words: ..., near: N} or {regex: ...}")
        if isinstance(item, (str, int)):
            return _phrasing(file, key, str(item), near, words, vocabulary)
        raise BadInput(file, key, f"bad entry {item!r}", "write a phrasing, {words: ..., near: N} or {regex: ...}")

    def entries(name: str) -> tuple[Entry, ...]:
        raw_entries = raw.get(name) or []
        if not isinstance(raw_entries, list):
            raise BadInput(file, f"{where}.{name}", "expected a list of phrasings")
        return tuple(tuple(part(name, p) for p in (e if isinstance(e, list) else [e])) for e in raw_entries)

    severity = str(raw.get("severity", "low"))
    if severity not in ("critical", "high", "medium", "low"):
        raise BadInput(file, f"{where}.severity", f"unknown severity {severity!r}", "use critical, high, medium or low")
    return Element(
        key=str(raw["key"]), rule=str(raw["rule"]), article=str(raw["article"]), what=str(raw.get("what", raw["key"])),
        what_nl=str(raw.get("what_nl") or ""),
        required=required, present=entries("present"), triggers=entries("triggers"), quote=entries("quote"),
        forbidden=entries("forbidden"), severity=severity,
        per_purpose=bool(raw.get("per_purpose", False)), unless_negated=bool(raw.get("unless_negated", False)),
        vocabulary=vocabulary,
    )


def _near(file: str, key: str, raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise BadInput(file, key, f"'near' must be a number of words (0 or more), not {raw!r}")
    return raw


def _phrasing(file: str, key: str, text: str, near: int | None, words: dict[str, list[str]], vocabulary: Vocabulary) -> Phrasing:
    """Compile 'gerechtvaardigd belang namelijk|is|:' into slots; stems are computed here, once."""
    slots = []
    for written in fold(text).split():
        keys: set[str] = set()
        prefixes, suffixes, exact, number = [], [], set(), False
        alternatives = []
        for alt in written.split("|"):
            if not _ALTERNATIVE.match(alt):
                raise BadInput(file, key, f"bad phrasing {text!r}: {alt!r} is not a word",
                               "a phrasing is words ('a|b' alternatives, 'word*' beginnings, '*word' endings, '@list', '#'); "
                               "use {regex: ...} for a regular expression")
            if alt.startswith("@"):
                if alt[1:] not in words:
                    raise BadInput(file, key, f"bad phrasing {text!r}: no word list {alt[1:]!r}", "declare it under 'words'")
                alternatives.extend(words[alt[1:]])
            else:
                alternatives.append(alt)
        for alt in alternatives:
            if alt == "#":
                number = True
            elif alt == ":":
                exact.add(":")
            elif alt.startswith("*") and alt.endswith("*") and len(alt) > 2:
                raise BadInput(file, key, f"bad phrasing {text!r}: {alt!r}", "put '*' before or after a word, not both")
            elif alt.endswith("*"):
                prefixes.append(alt[:-1].replace("'", ""))
            elif alt.startswith("*"):
                suffixes.append(alt[1:].replace("'", ""))
            elif alt:
                keys |= vocabulary.expand(word_keys(alt.replace("'", "")))
        slots.append(Slot(frozenset(keys), tuple(prefixes), tuple(suffixes), frozenset(exact), number))
    if not slots:
        raise BadInput(file, key, "an empty phrasing")
    return Phrasing(text=text, slots=tuple(slots), near=near)


# --- the lint ----------------------------------------------------------------------------------


def _negated_clauses(sentence: Sentence, vocabulary: Vocabulary) -> frozenset[int]:
    return frozenset(t.clause for t in sentence.tokens if t.text in vocabulary.negations)


def _find(part: Part, sentence: Sentence, blocked: frozenset[int] = frozenset()) -> str | None:
    """The words of ``sentence`` that ``part`` finds (folded), or None."""
    if isinstance(part, Phrasing):
        positions = part.find(sentence.tokens, blocked)
        if positions is None:
            return None
        return " ".join(t.text for t in sentence.tokens[positions[0]:positions[-1] + 1])
    match = part.search(sentence.folded)
    return match.group(0) if match else None


def _found(entry: Entry, sentence: Sentence, blocked: frozenset[int] = frozenset()) -> bool:
    return all(_find(part, sentence, blocked) is not None for part in entry)


def matching(sentences: list[Sentence], entries: Iterable[Entry]) -> list[Sentence]:
    """The sentences any of the entries is found in."""
    entries = tuple(entries)
    return [s for s in sentences if any(_found(e, s) for e in entries)]


def states(sentences: list[Sentence], element: Element) -> bool:
    """Tell whether one sentence states the element (all parts of one entry in that sentence).

    For an element marked ``unless_negated``, words in a clause with a negation ("niet
    noodzakelijk voor de uitvoering van een overeenkomst") do not count.
    """
    for s in sentences:
        blocked = _negated_clauses(s, element.vocabulary) if element.unless_negated else frozenset()
        if any(_found(entry, s, blocked) for entry in element.present):
            return True
    return False


def owed_because(element: Element, sentences: list[Sentence], facts: MapFacts) -> list[tuple[str, str]]:
    """Why the notice owes this element, each reason in English and in Dutch (empty: it does not)."""
    reasons = []
    for cond in element.required:
        if cond == "always":
            reasons.append(("Art. 13 requires it of every notice", "art. 13 AVG dit van elke privacyverklaring vraagt"))
        elif cond == "mentioned" and matching(sentences, element.triggers):
            reasons.append(("the notice invokes it", "de privacyverklaring er zelf een beroep op doet"))
        elif cond == "map.recipients" and facts.recipients:
            names = ", ".join(facts.recipients)
            reasons.append((f"the map names recipients: {names}", f"de datamap ontvangers noemt: {names}"))
        elif cond == "map.transfers" and facts.has_transfers_outside_eea:
            names = ", ".join(facts.transfer_recipients)
            reasons.append((f"the map declares transfers outside the EEA to: {names}",
                            f"de datamap doorgiften buiten de EER vermeldt, naar: {names}"))
        elif cond == "map.dpo" and facts.dpo_declared:
            reasons.append(("the organization declares a data protection officer",
                            "de organisatie een functionaris gegevensbescherming heeft"))
        elif cond == "map.profiling" and facts.profiling:
            reasons.append((f"the map declares profiling: {', '.join(facts.profiling)}",
                            f"de datamap profilering vermeldt: {', '.join(_profiling_nl(p) for p in facts.profiling)}"))
        elif cond.startswith(_BASIS_CONDITION) and cond[len(_BASIS_CONDITION):] in facts.legal_bases:
            basis = cond[len(_BASIS_CONDITION):]
            reasons.append((f"the map or policy uses the legal basis {basis}",
                            f"de datamap of het beleid de grondslag {_basis_nl(basis)} gebruikt"))
    return reasons


def _profiling_nl(system_use: str) -> str:
    """``zoho_salesiq (marketing.advertising.profiling)`` with its data use said in Dutch."""
    from datamap.findings import in_dutch

    match = re.fullmatch(r"(\S+) \((.+)\)", system_use)
    return f"{match.group(1)} ({in_dutch(match.group(2))})" if match else system_use


def _basis_nl(basis: str) -> str:
    """A snake_case Art. 6 basis (``legitimate_interests``) in the register's Dutch words, else as it is."""
    from datamap.register.terms import has, t

    key = "basis." + basis.replace("_", " ").capitalize()
    return t(key, "nl") if has(key) else basis


def dutch_article(article: str) -> str:
    """``13(1)(a)`` as Dutch law cites it: ``art. 13 lid 1 sub a AVG``."""
    match = re.fullmatch(r"(\d+)(?:\((\d+)\))?(?:\(([a-z])\))?", article)
    if not match:
        return f"art. {article} AVG"
    number, paragraph, point = match.groups()
    return " ".join(["art.", number] + (["lid", paragraph] if paragraph else []) + (["sub", point] if point else []) + ["AVG"])


def lint_text(text: str, facts: MapFacts, source: str = "notice", catalogue: list[Element] | None = None) -> list[Finding]:
    """Lint notice text against Art. 13 and the map's facts; one finding per missing or wrong element."""
    sentences = split_sentences(text)
    findings = []
    for element in catalogue if catalogue is not None else load_catalogue():
        bad = matching(sentences, element.forbidden)
        if bad:
            names = _quote_names(element, bad)
            findings.append(_finding(element, source, bad, (f"the notice names {names}; state {element.what}",
                                                            f"de privacyverklaring noemt {names}; vermeld {element.what_nl}")))
        if not element.present:
            continue
        reasons = owed_because(element, sentences, facts)
        if not reasons:
            continue
        if states(sentences, element):
            lacking = purposes_lacking(sentences, element, facts.purposes) if element.per_purpose else []
            if lacking:
                keys = ", ".join(key for key, _ in lacking)
                words = dict(facts.purposes)  # the Dutch report names a purpose by the policy's own (Dutch) words
                said = ", ".join(f"'{words.get(key, key)}'" for key, _ in lacking)
                detail = (f"the notice states {element.what} (Art. {element.article}) for some purposes, not for: {keys}",
                          f"de privacyverklaring vermeldt {element.what_nl} ({dutch_article(element.article)}) voor sommige "
                          f"doelen, niet voor: {said}")
                findings.append(_finding(element, source, _unique([s for _, s in lacking]), detail))
            continue
        quoted = matching(sentences, element.quote) + matching(sentences, element.triggers)
        detail = (f"the notice does not state {element.what} (Art. {element.article}); "
                  f"owed because {'; '.join(en for en, _ in reasons)}",
                  f"de privacyverklaring vermeldt niet: {element.what_nl} ({dutch_article(element.article)}); "
                  f"verplicht omdat {'; '.join(nl for _, nl in reasons)}")
        findings.append(_finding(element, source, _unique(quoted), detail))
    return findings


# --- purposes: policy.yml's words for a purpose against the notice's sentences ------------------


@dataclass(frozen=True)
class _Word:
    text: str
    keys: frozenset[str]
    stem: str


def _content_words(text: str | Sentence, vocabulary: Vocabulary) -> list[_Word]:
    tokens = text.tokens if isinstance(text, Sentence) else tokenize(text)
    return [_Word(t.text, vocabulary.expand(t.keys), _dutch_stem(t.text)) for t in tokens
            if t.text != ":" and t.text not in vocabulary.stopwords]


def _same_word(a: _Word, b: _Word) -> bool:
    """Same stem (or synonym), or one is a compound holding the other's stem ("fraudebestrijding", "fraude")."""
    if a.keys & b.keys:
        return True
    return (len(b.stem) >= _COMPOUND_MIN and len(a.text) > len(b.stem) and b.stem in a.text) or (
        len(a.stem) >= _COMPOUND_MIN and len(b.text) > len(a.stem) and a.stem in b.text)


def purpose_sentence(sentences: list[Sentence], words: str, threshold: float = 60.0,
                     vocabulary: Vocabulary | None = None) -> Sentence | None:
    """The notice's sentence that states a purpose, found by meaning rather than by its exact words.

    ``words`` is policy.yml's text for the purpose. Its content words (the catalogue's
    ``stopwords`` left out) are compared by stem, in any order, a compound word matching its parts.
    The line (a bullet, a paragraph) holding the largest share of them wins (ties: the one with
    fewest other words) when that share is at least ``threshold`` percent; of that line, the
    sentence holding most of them is returned.
    """
    vocabulary = vocabulary if vocabulary is not None else _default_vocabulary()
    wanted = _content_words(words, vocabulary)
    if not wanted:
        return None

    def score(group: list[Sentence]) -> tuple[float, float]:
        have = [w for s in group for w in _content_words(s, vocabulary)]
        if not have:
            return (0.0, 0.0)
        hits = sum(1 for w in wanted if any(_same_word(w, h) for h in have))
        used = sum(1 for h in have if any(_same_word(w, h) for w in wanted))
        return (100.0 * hits / len(wanted), used / len(have))

    lines: dict[int, list[Sentence]] = {}
    for sentence in sentences:
        lines.setdefault(sentence.line, []).append(sentence)
    best, line = max(((score(group), group) for group in lines.values()), key=lambda x: x[0], default=((0.0, 0.0), []))
    if not line or best[0] < threshold:
        return None
    return max(line, key=lambda s: score([s]))


def _default_vocabulary() -> Vocabulary:
    elements = load_catalogue()
    return elements[0].vocabulary if elements else Vocabulary()


def purposes_lacking(sentences: list[Sentence], element: Element, purposes: Iterable[tuple[str, str]]) -> list[tuple[str, Sentence]]:
    """The purposes whose own line (a bullet, a paragraph) does not state the element."""
    lacking = []
    for key, words in purposes:
        found = purpose_sentence(sentences, words, vocabulary=element.vocabulary)
        if found is None:
            continue  # a purpose the notice does not state is not this element's finding
        line = [s for s in sentences if s.line == found.line]
        if not states(line, element):
            lacking.append((key, found))
    return lacking


def _quote_names(element: Element, sentences: list[Sentence]) -> str:
    names = {name for s in sentences for entry in element.forbidden for part in entry
             for name in [_find(part, s)] if name is not None}
    return ", ".join(f"'{n}'" for n in sorted(names))


def _unique(sentences: list[Sentence]) -> list[Sentence]:
    seen: dict[tuple[int, str], Sentence] = {}
    for s in sentences:
        seen.setdefault((s.line, s.text), s)
    return sorted(seen.values(), key=lambda s: s.line)


def _finding(element: Element, source: str, quoted: list[Sentence], detail: tuple[str, str]) -> Finding:
    """``detail``: the sentence in English and in Dutch (no Dutch one where the element has no ``what_nl``)."""
    evidence: dict[str, Any] = {"source": source, "article": element.article}
    if quoted:
        evidence["quotes"] = [{"line": s.line, "text": s.text} for s in quoted]
    return Finding(claim=CLAIM, rule=element.rule, severity=element.severity, system=SYSTEM,
                   record_key=element.key, detail=detail[0], detail_nl=detail[1] if element.what_nl else None,
                   check=CHECK, evidence=evidence)


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
