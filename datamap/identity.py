"""One place that normalises subject identifiers and one place that pseudonymises them.

Normalised identifiers let one person match across systems (``Jan@Apora.NL `` and
``jan@apora.nl``); keyed pseudonyms let reports refer to that person without showing them.
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import unicodedata
from pathlib import Path
from typing import Any, Iterable

import phonenumbers
from stdnum import iban as _iban
from stdnum.iso7064 import mod_97_10 as _mod_97_10

DEFAULT_REGION = "NL"
KEY_ENV = "DATAMAP_KEY"
KEY_FILE_ENV = "DATAMAP_KEY_FILE"

_space = re.compile(r"\s+")


def normalise_email(value: object) -> str | None:
    """Lower-case and strip an e-mail address; None when there is none."""
    if value is None:
        return None
    text = _space.sub("", str(value)).strip().lower()
    if text.startswith("mailto:"):
        text = text[len("mailto:"):]
    return text if "@" in text else None


# The common Dutch shapes (0, +31 or 0031, then nine digits not starting with 0, separated by
# spaces, dashes, dots, slashes or brackets; after the country code the trunk 0 may stay, as in
# +31 (0)6-12345678) need no full parse: the answer is +31 and the nine digits, exactly what
# phonenumbers gives (it drops that one 0; nine digits is a possible Dutch length). A full parse
# costs ~40 us; staging a million subjects normalises millions of phones.
_DUTCH_PHONE = re.compile(r"(?:(?:\+31|0031)0?|0)([1-9][0-9]{8})")  # ASCII digits only
_PHONE_SEPARATORS = str.maketrans("", "", " -./()")


def normalise_phone(value: object, region: str = DEFAULT_REGION) -> str | None:
    """Return a phone number in E.164 (``+31612345678``), or None when it is not one."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if region == "NL":
        dutch = _DUTCH_PHONE.fullmatch(text.translate(_PHONE_SEPARATORS))
        if dutch:
            return "+31" + dutch.group(1)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# A Dutch IBAN (NL, two check digits, four bank letters, ten digits) needs only its mod-97
# checksum: the registry's structure for NL is exactly that shape and stdnum has no NL-specific
# rule. The full stdnum check costs ~25 us (a prefix-database lookup); the checksum alone ~4 us.
_DUTCH_IBAN = re.compile(r"NL[0-9]{2}[A-Z]{4}[0-9]{10}")  # ASCII only


def normalise_iban(value: object) -> str | None:
    """Return a compact upper-case IBAN when the checksum holds, else None (masked values too)."""
    if value is None:
        return None
    text = _iban.compact(str(value))
    if _DUTCH_IBAN.fullmatch(text):
        return text if _mod_97_10.is_valid(text[4:] + text[:4]) else None
    return text if _iban.is_valid(text) else None


# Whole values (a cell that is one identifier), as discovery recognises a column's content; a
# comma-joined list is split before it is matched. A shape only: the checksum or phonenumbers decides.
EMAIL_VALUE = re.compile(r"^[A-Za-z0-9._%+\-']+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
PHONE_VALUE = re.compile(r"^(\+|00|0|\()[\d\s()\-./]{7,}$")
IBAN_VALUE = re.compile(r"^[A-Za-z]{2}\d{2}[A-Za-z0-9 ]{10,36}$")


def is_masked(value: object) -> bool:
    """Tell whether a value was masked by the exporting system (``XXXXXX4321``)."""
    return bool(value) and bool(re.fullmatch(r"[Xx*•]{3,}[\w]{0,6}", str(value).replace(" ", "")))


def normalise_customer_number(value: object) -> str | None:
    """Upper-case and strip a customer number (`` apr-100042`` -> ``APR-100042``); None when empty."""
    if value is None:
        return None
    text = _space.sub("", str(value)).upper()
    return text or None


def normalise_invoice_number(value: object) -> str | None:
    """An invoice number as two records cite it (``inv-000567 `` -> ``INV-000567``); None when empty."""
    return normalise_customer_number(value)


def normalise_name(value: object) -> str | None:
    """Fold case, diacritics and spacing of a personal name (``Émile  de Vries`` -> ``emile de vries``).

    Folding twice gives the same text, so a stored folded name need not be folded again.
    """
    if value is None:
        return None
    text = str(value)
    if not text.isascii():  # most names are ASCII: no decomposition needed
        text = unicodedata.normalize("NFKD", text.lower())
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _space.sub(" ", text).strip().lower()
    return text or None


_WORD_BREAK = re.compile(r"[\s\-,.']+")
# The tussenvoegsels (and their foreign cousins) set aside when names are compared or recognised:
# ``van den Bergh`` is found as ``Bergh``. ``'t`` as a word where names are split on spaces only,
# ``t`` where the apostrophe breaks words; ``vd`` is the written-short ``van der``.
NAME_PARTICLES = frozenset({"van", "de", "der", "den", "het", "ter", "ten", "te", "t", "'t", "in", "op", "uit", "vd",
                            "von", "la", "le", "du", "d", "da", "dos"})


def name_words(value: object, folded: bool = False) -> list[str]:
    """The folded words of a name (``Jan-Willem van den Bergh`` -> ``['jan', 'willem', 'van', 'den', 'bergh']``).

    ``folded=True``: the value already went through :func:`normalise_name`.
    """
    text = (value if folded else normalise_name(value)) or ""
    return [w for w in _WORD_BREAK.split(str(text)) if w]


def default_key_file(workspace_root: Path) -> Path:
    """Where a workspace's pseudonym key lives: outside the repository, per workspace."""
    digest = hashlib.sha256(str(workspace_root.resolve()).encode()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return base / "datamap" / "keys" / f"{digest}.key"


MIN_KEY_BYTES = 16
_MAKE_KEY_HINT = "make one with: python -c 'import secrets; print(secrets.token_hex(32))'"


def load_key(workspace_root: Path) -> bytes:
    """Read the workspace's HMAC key, creating it (mode 0600, written atomically) on first use.

    ``DATAMAP_KEY`` (hex or text) wins; then ``DATAMAP_KEY_FILE``; then a per-workspace file under
    ``~/.config/datamap/keys``. The key is never written to any output. A key shorter than
    ``MIN_KEY_BYTES`` (an empty file left by a failed write, a one-letter variable) or a key file
    that group or others may read is refused: every ``subj-...`` would be recomputable by anyone.
    """
    from datamap.errors import BadInput

    if os.environ.get(KEY_ENV):  # an empty variable counts as unset
        key = os.environ[KEY_ENV].encode()
        _checked_key(key.strip(), KEY_ENV, KEY_ENV)
        return key
    path = Path(os.environ[KEY_FILE_ENV]) if os.environ.get(KEY_FILE_ENV) else default_key_file(workspace_root)
    if not path.exists() and not path.is_symlink():
        _write_new_key(path)
    try:
        if path.is_dir():
            raise BadInput(str(path), None, "the pseudonym key file is a folder", f"point {KEY_FILE_ENV} at a file")
        mode = path.stat().st_mode
        if mode & 0o066:
            raise BadInput(str(path), None, f"the pseudonym key file is readable or writable by others (mode {mode & 0o777:o})",
                           f"run: chmod 600 {path}")
        key = path.read_bytes().strip()
    except OSError as exc:
        raise BadInput(str(path), None, f"cannot read the pseudonym key file: {exc.strerror or exc}",
                       f"check its permissions or set {KEY_FILE_ENV}") from None
    return _checked_key(key, str(path), "the key file")


def _checked_key(key: bytes, where: str, what: str) -> bytes:
    from datamap.errors import BadInput

    if len(key) < MIN_KEY_BYTES:
        raise BadInput(where, None, f"the pseudonym key is {len(key)} bytes, at least {MIN_KEY_BYTES} are needed "
                       f"(a short key lets anyone recompute every subj- reference)",
                       f"replace {what} with a long random key; {_MAKE_KEY_HINT}")
    return key


def _write_new_key(path: Path) -> None:
    """Create a key file atomically: a temporary 0600 file, fsynced, then linked into place.

    A write that fails (a full disk) leaves no file at all, never a short one; two runs creating the
    key at once agree on one (``os.link`` refuses to replace a file another run linked first).
    """
    import tempfile

    from datamap.errors import BadInput

    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-", suffix=".tmp")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(32).hex().encode())
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another run made the key first: use theirs
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    except OSError as exc:
        raise BadInput(str(path), None, f"cannot create the pseudonym key file: {exc.strerror or exc}",
                       f"free space or set {KEY_ENV} / {KEY_FILE_ENV}") from None


class Pseudonymizer:
    """Keyed pseudonyms: the same identifier gives the same reference across systems and runs.

    The one rule every output follows (:meth:`shown`): an address that identifies a person (a
    customer's, an employee's, any address in the company's own domains not declared functional) is
    shown as its pseudonym; the company's functional mailboxes (``functional_mailboxes`` in
    policy.yml: privacy@, info@, ...) identify no one and are shown as they are.
    """

    def __init__(self, key: bytes, functional: Iterable[str] = ()):
        self._key = key
        self.functional = frozenset(a for a in map(normalise_email, functional) if a)

    @classmethod
    def of(cls, workspace: Any) -> Pseudonymizer:
        """The workspace's pseudonymizer: its key and the functional mailboxes its policy.yml declares."""
        return cls(load_key(workspace.root), workspace.policy.functional_mailboxes)

    def shown(self, identifier: str) -> str:
        """How an output shows a normalised identifier: a functional mailbox as itself, all else as its pseudonym."""
        return identifier if identifier in self.functional else self.ref(identifier) or identifier

    def record_key(self, key: str) -> str:
        """A finding's record key as outputs show it: each address in it (a mailbox, a Message-ID) by :meth:`shown`.

        Record ids are no personal data and stay (an 11-digit id is no phone number here); a key is
        pseudonymised with the same key in every run, so it still matches the same record across runs.
        """
        if "@" not in key:
            return key
        return EMAIL_IN_TEXT.sub(lambda m: self.shown(normalise_email(m.group(0)) or m.group(0)), key)

    def ref(self, identifier: str | None, kind: str = "subject") -> str | None:
        """Return ``subj-<12 hex>`` for a normalised identifier (None stays None)."""
        if not identifier:
            return None
        digest = hmac.new(self._key, identifier.encode(), hashlib.sha256).hexdigest()[:12]
        prefix = "subj" if kind == "subject" else kind
        return f"{prefix}-{digest}"

    def key_id(self) -> str:
        """A fingerprint of the key (an HMAC of a fixed label): runs made with another key show other pseudonyms."""
        return hmac.new(self._key, b"datamap pseudonym key id", hashlib.sha256).hexdigest()[:12]

    def subject_ref(self, email: object = None, phone: object = None, iban: object = None) -> str | None:
        """Reference a person by the strongest identifier present: e-mail, then phone, then IBAN.

        A functional mailbox references no person: it is passed over.
        """
        for norm in (normalise_email(email), normalise_phone(phone), normalise_iban(iban)):
            if norm and norm not in self.functional:
                return self.ref(norm)
        return None

    def mask(self, value: object) -> str | None:
        """Replace every raw e-mail, phone number or IBAN by how it is shown (:meth:`shown`); other text stays.

        A value that is one identifier (a cell) becomes its pseudonym; in free text each identifier
        found becomes its pseudonym (see :func:`_free_text_identifiers` for what counts).
        """
        if value is None:
            return None
        text = str(value)
        spans = _free_text_identifiers(text)
        if not spans:  # a cell that is one identifier the free-text search does not take; a number that is
            # possible but not valid counts only when the cell holds nothing else (KvK 12345678 stays)
            norm = normalise_email(text) or normalise_iban(text)
            if norm is None and _PHONE_ONLY.fullmatch(text) and re.search(r"\d{6,}", text.replace(" ", "")):
                norm = normalise_phone(text)
            return self.shown(norm) if norm else text
        out, at = [], 0
        for start, end, identifier in spans:
            out.append(text[at:start])
            out.append(self.shown(identifier))
            at = end
        out.append(text[at:])
        return "".join(out)


# --- identifiers inside free text -----------------------------------------------------------------
#
# Every pattern below is linear on long text: each can start only where a run of its characters
# starts (a look-behind), its repeats are possessive or bounded, and the work per candidate is
# bounded. Phone numbers are found by phonenumbers' PhoneNumberMatcher (region NL, leniency VALID),
# which already leaves dates (24-11-2026), time stamps (2026-11-24 10:15), amounts (1.234,56), and
# numbers too short (INV-000123, a KvK number's 8 digits) or too long (a 19-digit Zoho record id) to
# be a valid number. IBANs are checked by python-stdnum (country, length, structure, mod 97).
_PHONE_ONLY = re.compile(r"[\s0-9+()./-]+")  # a cell holding digits and separators only
EMAIL_IN_TEXT = re.compile(r"(?<![\w.+'-])[\w.+'-]++@[\w-]++(?:\.[\w-]++)+")
# Two letters, two digits, then up to 30 letters or digits with single spaces between them: an
# IBAN written compact or in groups of four, in any case. The longest prefix stdnum accepts wins.
IBAN_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?:[ ]?[A-Za-z0-9]){10,30}")

# A mail body's addresses and IBANs (datamap.sources.mail): an address is its local part, then the domain
# from the "@" on. Searched as one pattern, a long run of local-part characters without a usable "@" is
# re-read from every one of its positions (a 150 KB body of "x" then "@" took half a minute), so the mail
# reader finds the same addresses in one pass with the two halves (tests/adversarial); EMAIL_IN_BODY is
# the reference that pass is tested against.
EMAIL_IN_BODY = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
EMAIL_LOCAL_RUN = re.compile(r"[A-Za-z0-9._%+\-]*")
EMAIL_DOMAIN_PART = re.compile(r"@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
IBAN_IN_BODY = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")  # as written in a letter: capitals, groups of four
_IBAN_MIN = 15  # the shortest IBAN (Norway); the longest is 32 (Saint Lucia), within the 34 above
# Candidates the report's scrub hands to mask() one by one, after mask() read the whole text: an
# upper-case word shaped like an IBAN, and a run of digits and separators shaped like a phone number.
# Unlike the patterns above, PHONE_RUN is not linear on every text (a long ``(1-(1-(1-`` backtracks).
IBAN_WORD = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){10,30}\b")
PHONE_RUN = re.compile(r"(?<![\w.:/-])\+?\(?\d[\d \-().]{7,}\d(?![\w.:/-])")


def _free_text_identifiers(text: str) -> list[tuple[int, int, str]]:
    """The (start, end, normalised identifier) of each e-mail, IBAN and phone number in ``text``.

    Spans do not overlap: where two would (an IBAN's digits read as a phone number), the one that
    starts first and, among those, the longest is kept.
    """
    found: list[tuple[int, int, str]] = []
    if "@" in text:
        for m in EMAIL_IN_TEXT.finditer(text):
            norm = normalise_email(m.group(0))
            if norm:
                found.append((m.start(), m.end(), norm))
    for m in IBAN_IN_TEXT.finditer(text):
        hit = _longest_iban(m.group(0))
        if hit:
            length, norm = hit
            found.append((m.start(), m.start() + length, norm))
    if any(ch.isdigit() for ch in text):
        # max_tries: never stop looking early (the default gives up after 65535 candidates)
        for match in phonenumbers.PhoneNumberMatcher(text, DEFAULT_REGION, leniency=phonenumbers.Leniency.VALID,
                                                     max_tries=len(text) + 1):
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            found.append((match.start, match.end, e164))
    found.sort(key=lambda span: (span[0], -span[1]))
    kept: list[tuple[int, int, str]] = []
    for span in found:  # overlaps (an e-mail address holding digits): the earliest, longest span wins
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def _longest_iban(candidate: str) -> tuple[int, str] | None:
    """The length in ``candidate`` of the longest prefix that is a valid IBAN, and that IBAN compact."""
    ends = [i + 1 for i, ch in enumerate(candidate) if ch != " "]
    for count in range(len(ends), _IBAN_MIN - 1, -1):
        compact = candidate[:ends[count - 1]].replace(" ", "").upper()
        if _iban.is_valid(compact):
            return ends[count - 1], compact
    return None
