"""Mail: mbox files (sent items, the privacy inbox) and the mail server's outbound message trace.

One row per message with its headers, recipients, date (converted from the header's offset to the
workspace time zone) and attachment names and types. The body is scanned for e-mail addresses,
phone numbers and IBANs, which are kept as normalised identifiers; the body itself is never kept.
The trace CSV is an ordinary export (``datamap.sources.exports``) with its own standard columns.
"""
from __future__ import annotations

import email.contentmanager
import email.policy
import email.utils
import functools
import io
import re
from datetime import datetime
from email.message import Message
from typing import TYPE_CHECKING, Callable, Iterator
from zoneinfo import ZoneInfo

import phonenumbers

from datamap import identity
from datamap.errors import BadInput
from datamap.sources.quoting import shown_value

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from datamap.sources.resolved import ResolvedSource

COLUMNS = ("message_id", "mailbox", "from_addr", "to_addrs", "cc_addrs", "date", "subject", "in_reply_to",
           "attachment_names", "attachment_types", "body_emails", "body_ibans", "body_phones")

# The patterns of a mail body's identifiers live in datamap/identity.py with every other identifier pattern.
_EMAIL, _LOCAL_RUN, _DOMAIN_PART, _IBAN = (identity.EMAIL_IN_BODY, identity.EMAIL_LOCAL_RUN, identity.EMAIL_DOMAIN_PART,
                                           identity.IBAN_IN_BODY)
_TAG = re.compile(r"<[^>]+>")
_MSG_ID = re.compile(r"<([^<>]+)>")
# phonenumbers accepts no candidate with fewer than two (Unicode) digits (_is_viable_phone_number) and an
# IBAN has two digits in a row: a text with fewer than two digits holds neither.
_TWO_DIGITS = re.compile(r"\d.*?\d", re.DOTALL)


def body_identifiers(text: str, region: str = identity.DEFAULT_REGION) -> dict[str, list[str]]:
    """Find the e-mail addresses, IBANs (checksum valid) and phone numbers in a text, normalised and sorted."""
    emails, ibans, phones = (_identifiers_cached if len(text) <= _CACHED_TEXT else _identifiers)(text, region)
    return {"email": list(emails), "iban": list(ibans), "phone": list(phones)}


def _identifiers(text: str, region: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The work of body_identifiers, skipping each scan that cannot match (no '@', no digits)."""
    emails = {identity.normalise_email(m) for m in emails_in(text)} if "@" in text else set()
    ibans, phones = set(), set()
    if _TWO_DIGITS.search(text):
        ibans = {identity.normalise_iban(m) for m in _IBAN.findall(text)}
        phones = {identity.normalise_phone(m.raw_string, region) for m in phonenumbers.PhoneNumberMatcher(text, region)}
    return (tuple(sorted(v for v in emails if v)), tuple(sorted(v for v in ibans if v)),
            tuple(sorted(v for v in phones if v)))


def emails_in(text: str) -> list[str]:
    """What ``_EMAIL.findall(text)`` finds, in time linear in the text.

    A match can only start in the run of local-part characters just before an "@" (the local part holds
    no "@"), at the first position the previous match left free; the domain after that "@" decides alone
    whether it matches. So each "@" is tried once: its run is measured backwards on the reversed text,
    its domain forwards, and neither scan crosses another "@".
    """
    found: list[str] = []
    reverse = None
    start = 0  # where the previous match ended: the next may not begin before it
    at = text.find("@")
    while at != -1:
        tail = _DOMAIN_PART.match(text, at)
        if tail is not None:
            if reverse is None:
                reverse = text[::-1]
            run = _LOCAL_RUN.match(reverse, len(text) - at).end() - (len(text) - at)
            begin = max(start, at - run)
            if begin < at:
                found.append(text[begin:tail.end()])
                start = tail.end()
        at = text.find("@", max(at + 1, start))
    return found


def _untagged(text: str) -> str:
    """HTML text with its tags as gaps: ``_TAG.sub(" ", text)``, without its quadratic case.

    A "<" with no ">" after it makes the pattern read to the end of the text from every such "<";
    after the last ">" no tag can match, so that tail is kept as it is.
    """
    cut = text.rfind(">") + 1
    return _TAG.sub(" ", text[:cut]) + text[cut:] if cut else text


_CACHED_TEXT = 4096  # mail is written from templates: short body texts come back often (the cache stays small)
_identifiers_cached = functools.lru_cache(maxsize=1024)(_identifiers)


# Headers are read as the string policy.default's header object would be, so every value below is
# the same as the stdlib's modern API gives, without building its header objects (most of the CPU of
# reading mail). A value of a plain shape is its own text; any other goes through the very class
# policy.default uses for that header, memoised per value since mail repeats most header values.
_REGISTRY = email.policy.default.header_factory
_LINESEP = re.compile(r"\n|\r")  # policy.default removes only these when it unfolds a header
_TOKEN = r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+"  # RFC 2045
# policy.default renders MIME parameters anew (each once, as name="value"); a value already in that form
# (no RFC 2231 name, no encoded word or quoted pair in the value) reads as itself.
_PARAMS = r'(?:; [A-Za-z0-9_.\-]+="(?:(?!=\?)[ !#-\[\]-~])+")*'
_PARAM_NAME = re.compile(r'; ([^=]+)="[^"]*"')  # the parameters in turn, in a value of the shape above
_ATOM = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+"


def _rendered(shape: str) -> Callable[[str], bool]:
    pattern = re.compile(shape)

    def plain(value: str) -> bool:
        names = _PARAM_NAME.findall(value)
        return pattern.fullmatch(value) is not None and len(names) == len(set(names))
    return plain


_PLAIN: dict[str, Callable[[str], object]] = {  # policy.default's class -> is a value its own text (ASCII)
    "ContentTypeHeader": _rendered(rf"{_TOKEN}/{_TOKEN}{_PARAMS}"),
    "ContentDispositionHeader": _rendered(rf"{_TOKEN}{_PARAMS}"),
    "ContentTransferEncodingHeader": re.compile(_TOKEN).fullmatch,
    "MessageIDHeader": re.compile(rf"<{_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*>").fullmatch,
    "UnstructuredHeader": lambda value: "=?" not in value,  # no RFC 2047 encoded word to decode
    "UniqueUnstructuredHeader": lambda value: "=?" not in value,
}
# Address lists whose addresses getaddresses reads the same from the raw value as from policy.default's text.
_LOCAL = r"[A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*"
_DOMAIN = r"[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
_PHRASE = r"[A-Za-z0-9]+(?: [A-Za-z0-9]+)*"
_MAILBOX = rf"(?:{_LOCAL}@{_DOMAIN}|(?:{_PHRASE} )?<{_LOCAL}@{_DOMAIN}>)"
_PLAIN_ADDRESSES = re.compile(rf"{_MAILBOX}(?:[ \t]*,[ \t]*{_MAILBOX})*[ \t]*")
_ADDRESS = re.compile(rf"{_LOCAL}@{_DOMAIN}")  # in a plain list, exactly what getaddresses returns as addresses


def _unfold(value: str) -> str:
    return "".join(_LINESEP.split(value)) if "\n" in value or "\r" in value else value


@functools.lru_cache(maxsize=None)
def _header_kind(name: str) -> tuple[type, Callable[[str], object] | None]:
    """policy.default's class for a header (its registry builds a new class on every lookup) and its plain shape."""
    cls = _REGISTRY[name]
    return cls, _PLAIN.get(cls.__mro__[1].__name__)


@functools.lru_cache(maxsize=8192)
def _parsed_text(name: str, value: str) -> str:
    return str(_header_kind(name)[0](name, value))


@functools.lru_cache(maxsize=8192)  # the parser and get_param ask for the same Content-Type many times
def _header_text(name: str, raw: str) -> str:
    """The text of ``str(policy.default header)`` for a raw header value."""
    value, name = _unfold(raw), name.lower()
    plain = _header_kind(name)[1]
    if plain is not None and value.isascii() and plain(value):
        return value
    return _parsed_text(name, value)


class _DefaultTextPolicy(email.policy.Compat32):
    """compat32's parser and message model, with each header read as policy.default's text of it."""

    def header_fetch_parse(self, name: str, value: str) -> str:  # type: ignore[override]
        return _header_text(name, value)


_POLICY = _DefaultTextPolicy()
_UTC = ZoneInfo("UTC")


def _ids(value: object) -> str | None:
    """A Message-ID without its angle brackets (the first one, for In-Reply-To)."""
    if value is None:
        return None
    found = _MSG_ID.findall(str(value))
    text = found[0] if found else str(value).strip()
    return text or None


def _addresses(values: list[str], header: str) -> list[str]:
    """The normalised addresses of an address header, in order, each once."""
    texts = [_unfold(raw) for raw in values]
    if all(text.isascii() and _PLAIN_ADDRESSES.fullmatch(text) for text in texts):
        found = (identity.normalise_email(addr) for text in texts for addr in _ADDRESS.findall(text))
    else:
        texts = [_parsed_text(header, text) for text in texts]
        found = (identity.normalise_email(addr) for _, addr in email.utils.getaddresses(texts))
    return [a for a in dict.fromkeys(found) if a]


def _date(values: list[str]) -> tuple[datetime | None, str | None]:
    """The Date header's datetime, or else policy.default's text of it (re-read below to fail as before)."""
    if not values:
        return None, None
    value = _unfold(values[0])
    if not value.isascii():
        return None, _parsed_text("date", value)
    if not value:
        return None, ""
    try:  # policy.default's text of a date is format_datetime of it, which reads back as the same datetime
        return email.utils.parsedate_to_datetime(value), None
    except ValueError:
        return None, value


def _part_kind(part: Message) -> tuple[str | None, str | None, str]:
    """A part's file name, disposition and content type (what the row asks of each part)."""
    content_type = disposition = None
    for name, value in part.raw_items():
        name = name.lower()
        if name == "content-type" and content_type is None:
            content_type = value
        elif name == "content-disposition" and disposition is None:
            disposition = value
    return _kind_of(content_type, disposition, part.get_default_type())


@functools.lru_cache(maxsize=4096)  # they depend on the first of these two headers only, which mail repeats
def _kind_of(content_type: str | None, disposition: str | None,
             default_type: str) -> tuple[str | None, str | None, str]:
    probe = Message(policy=_POLICY)
    probe.set_default_type(default_type)
    if content_type is not None:
        probe.set_raw("Content-Type", content_type)
    if disposition is not None:
        probe.set_raw("Content-Disposition", disposition)
    return probe.get_filename(), probe.get_content_disposition(), probe.get_content_type()


def _text_of(part: Message, content_type: str) -> str:
    try:
        text = email.contentmanager.raw_data_manager.get_content(part)  # what EmailMessage.get_content calls
    except (LookupError, UnicodeError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        text = payload.decode("utf-8", "replace")
    text = text if isinstance(text, str) else ""
    return _untagged(text) if content_type == "text/html" else text


def message_row(message: Message, mailbox_name: str, index: int, where: str, timezone: str) -> dict[str, object]:
    """Reduce one message to its store row; the body's identifiers are kept, the body is not."""
    raw: dict[str, list[str]] = {}  # header values as parsed, by lower-case name
    for name, value in message.raw_items():
        raw.setdefault(name.lower(), []).append(value)

    def first(name: str) -> str | None:  # what message.get(name) gives
        return _header_text(name, raw[name][0]) if name in raw else None

    when, raw_date = _date(raw.get("date", []))
    if when is None:
        try:
            when = email.utils.parsedate_to_datetime(str(raw_date))
        except (TypeError, ValueError, IndexError):
            raise BadInput(where, f"message {index}, header Date",
                           f"date {shown_value(raw_date)} is not an RFC 2822 date") from None
    if when.tzinfo is None:  # "-0000": the sender did not know its zone; RFC 5322 reads it as UTC
        when = when.replace(tzinfo=_UTC)
    names, types, found = [], [], {"email": set(), "iban": set(), "phone": set()}
    for part in message.walk():
        if part.is_multipart():
            continue
        filename, disposition, content_type = _part_kind(part)
        if filename or disposition == "attachment":
            names.append(filename or "")
            types.append(content_type)
        elif content_type.split("/")[0] == "text":
            for kind, values in body_identifiers(_text_of(part, content_type)).items():
                found[kind].update(values)
    from_values = raw.get("from", [])
    sender = _addresses(from_values, "from")
    if from_values and not sender:  # the value itself is not shown: it may be personal data
        raise BadInput(where, f"message {index}, header From", "holds no readable e-mail address")
    return {
        "_row": index,
        "message_id": _ids(first("message-id")),
        "mailbox": mailbox_name,
        "from_addr": sender[0] if sender else None,
        "to_addrs": ",".join(_addresses(raw.get("to", []), "to")) or None,
        "cc_addrs": ",".join(_addresses(raw.get("cc", []), "cc")) or None,
        "date": when.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S"),
        "subject": first("subject") or None,
        "in_reply_to": _ids(first("in-reply-to")),
        "attachment_names": ",".join(names) or None,
        "attachment_types": ",".join(types) or None,
        "body_emails": ",".join(sorted(found["email"])) or None,
        "body_ibans": ",".join(sorted(found["iban"])) or None,
        "body_phones": ",".join(sorted(found["phone"])) or None,
    }


_HEADER = re.compile(r"[\041-\071\073-\176]+:")  # a field name and its colon (feedparser's headerRE, no "From ")
_BOUNDARY_END = re.compile(r"(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$")  # feedparser's boundaryendRE


def _parse(data: bytes) -> Message:
    """One message of an mbox, as the stdlib's parser reads it; the common shapes without its line-by-line feed."""
    text = data.decode("ascii", "surrogateescape")
    if "\r" in text:  # BytesParser reads through a TextIOWrapper, which turns CRLF and CR into LF
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    message = _parse_simple(io.StringIO(text, newline="").readlines())
    return message if message is not None else email.message_from_binary_file(io.BytesIO(data), policy=_POLICY)


def _parse_simple(lines: list[str]) -> Message | None:
    """What FeedParser makes of a message with one level of parts, or None for any other shape.

    Only what rows read is built: headers, the parts and their payloads (not preamble, epilogue, defects).
    """
    root = Message(policy=_POLICY)
    envelope = bool(lines) and lines[0].startswith("From ")  # mailbox hands over messages without it
    if envelope:
        root.set_unixfrom(lines[0].rstrip("\n"))
    body = _read_headers(root, lines, int(envelope), len(lines))
    if body is None:
        return None
    maintype = root.get_content_maintype()
    if maintype == "message":
        return None
    if maintype != "multipart":
        root.set_payload("".join(lines[body:]))
        return root
    boundary = root.get_boundary()
    if boundary is None or root.get_content_type() == "multipart/digest":
        return None
    separator = "--" + boundary
    marks = []
    for index in range(body, len(lines)):
        line = lines[index]
        if line.startswith(separator):
            found = _BOUNDARY_END.match(line, len(separator))
            if found:
                marks.append(index)
                if found.group("end"):
                    break
    else:
        return None  # no closing boundary
    if len(marks) < 2 or any(b - a < 2 for a, b in zip(marks, marks[1:])):
        return None  # no part, or an empty one (FeedParser skips repeated boundary lines)
    for start, stop in zip(marks, marks[1:]):
        part = Message(policy=_POLICY)
        part_body = _read_headers(part, lines, start + 1, stop)
        if part_body is None or part.get_content_maintype() in ("multipart", "message"):
            return None
        payload = "".join(lines[part_body:stop])
        part.set_payload(payload[:-1] if payload.endswith("\n") else payload)  # the last newline is the boundary's
        root.attach(part)
    return root


def _read_headers(message: Message, lines: list[str], start: int, stop: int) -> int | None:
    """Add the header block of lines[start:stop] to a message; the index of its first body line, None if unusual."""
    index = start
    while index < stop and lines[index] != "\n":
        line = lines[index]
        if line[0] in " \t":
            if index == start:
                return None  # a continuation line with nothing to continue
        elif not _HEADER.match(line):
            return None  # FeedParser would start the body here
        index += 1
    if index == stop:
        return None  # no empty line ends the headers
    field: list[str] = []
    for line in lines[start:index]:
        if line[0] in " \t":
            field.append(line)
            continue
        if field:
            message.set_raw(*_POLICY.header_source_parse(field))
        field = [line]
    if field:
        message.set_raw(*_POLICY.header_source_parse(field))
    return index + 1


def read_mbox(src: "ResolvedSource", chunksize: int, skip_bad: bool = False) -> Iterator["pd.DataFrame"]:
    """Stream the messages of every mbox file of the collection as store-shaped frames.

    The files are opened read-only and read once, front to back; an attachment's content is never
    held (:class:`_Lean`), so memory stays that of a message's headers and text.

    A message that cannot be read (no date, no sender address, headers that do not parse) is
    BadInput naming it. With ``skip_bad`` it is left out instead and the mailbox is read on: the
    one line saying why goes into ``frame.attrs["skipped"]`` of the next frame yielded (the store
    keeps and reports those lines; docs/workspace.md).
    """
    yielded = False
    skipped: list[str] = []
    for path in src.files():
        where = src.relpath(path)
        _check_mbox(path, where)
        batch: list[dict[str, object]] = []
        for index, data in enumerate(_mbox_messages(path), start=1):
            try:
                try:
                    row = message_row(_parse(data), path.stem, index, where, src.timezone)
                except BadInput:
                    raise
                except Exception as exc:  # noqa: BLE001 -- the stdlib's header parsers fail in many ways
                    raise BadInput(where, f"message {index}", f"cannot be parsed ({type(exc).__name__})") from None
            except BadInput as exc:
                if not skip_bad:
                    raise
                skipped.append(f"{exc.line()}: message skipped")
                continue
            batch.append(row)
            if len(batch) >= chunksize:
                yield _frame(batch, skipped)
                yielded, batch, skipped = True, [], []
        if batch:
            yield _frame(batch, skipped)
            yielded, skipped = True, []
    if not yielded or skipped:
        yield _frame([], skipped)


def _mbox_messages(path: "Path") -> Iterator[bytes]:
    """Each message of an mbox file as the stdlib's ``mailbox.mbox`` hands it to a factory, attachments left out.

    The file is opened ``rb`` (mailbox opens ``rb+``, which an immutable file refuses) and read line by
    line. As mailbox splits: every line starting with ``From `` starts a message and is not part of it;
    one blank line right before the next ``From `` line (or the end of the file) is not part of the message.
    """
    with path.open("rb") as handle:
        lean: _Lean | None = None
        blank = False  # a blank line held back: it ends the message if a "From " line follows
        for line in handle:
            if line.startswith(b"From "):
                if lean is not None:
                    yield lean.data()
                lean, blank = _Lean(), False
                continue
            if lean is None:
                continue  # before the first message (only blank lines: _check_mbox refused anything else)
            if blank:
                lean.feed(b"\n")
                blank = False
            if line == b"\n":
                blank = True
            else:
                lean.feed(line)
        if lean is not None:
            yield lean.data()


_LONE_CR = re.compile(rb"(?<=\r)(?!\n)")  # the parser reads a CR without LF as a line break too
_HEADER_BYTES = re.compile(rb"[\041-\071\073-\176]+:")  # _HEADER, on the raw line
_BLANK = (b"\n", b"\r\n", b"\r")


class _Lean:
    """One message's bytes, fed line by line, kept without the payload of its attachments.

    A row reads of a part only its headers, unless it is a text part and no attachment (its body is
    scanned for identifiers). So the payload lines of every other leaf part are left out; headers,
    boundaries, preambles, epilogues and text stay, and the parser builds the same parts from what is
    kept (tests/adversarial). Anything unusual (a header line the parser would not read as one, a
    boundary of an outer part inside an inner one, a multipart without boundary, a delivery status)
    makes it keep every line from there on: never less than the row needs.
    """

    def __init__(self) -> None:
        self.kept: list[bytes] = []
        self.mode = "headers"  # headers | keep | drop | all
        self.header: list[bytes] = []
        self.default = "text/plain"
        self.open: list[tuple["re.Pattern[bytes]", bool]] = []  # open multiparts: boundary line, is digest
        self.closed: list["re.Pattern[bytes]"] = []

    def data(self) -> bytes:
        return b"".join(self.kept)

    def feed(self, line: bytes) -> None:
        if self.mode == "all":
            self.kept.append(line)
            return
        if b"\r" in (line[:-2] if line.endswith(b"\r\n") else line):
            for piece in _LONE_CR.split(line):
                if piece:
                    self._line(piece)
        else:
            self._line(line)

    def _line(self, line: bytes) -> None:
        if self.mode == "all":
            self.kept.append(line)
        elif self.mode == "headers":
            self.kept.append(line)
            if line in _BLANK:
                self._entity()
            elif line[:1] in (b" ", b"\t") and self.header or _HEADER_BYTES.match(line):
                self.header.append(line)
            else:
                self.mode = "all"
        elif not (line.startswith(b"--") and self._boundary(line)) and self.mode == "keep":
            self.kept.append(line)

    def _boundary(self, line: bytes) -> bool:
        """Follow a boundary line of the innermost open multipart; False for a line that is none."""
        for depth in range(len(self.open) - 1, -1, -1):
            found = self.open[depth][0].match(line)
            if found is None:
                continue
            self.kept.append(line)
            if depth != len(self.open) - 1:
                self.mode = "all"
            elif found.group("end"):
                self.closed.append(self.open.pop()[0])
                self.mode = "keep"  # the epilogue
            else:
                self.mode, self.header = "headers", []
                self.default = "message/rfc822" if self.open[-1][1] else "text/plain"
            return True
        if any(pattern.match(line) for pattern in self.closed):
            self.kept.append(line)
            self.mode = "all"
            return True
        return False

    def _entity(self) -> None:
        """The headers of a message or part are complete: decide what its body is."""
        try:
            probe = Message(policy=_POLICY)
            probe.set_default_type(self.default)
            field: list[str] = []
            for raw in self.header + [b""]:
                line = raw.decode("ascii", "surrogateescape").replace("\r\n", "\n").replace("\r", "\n")
                if line[:1] in (" ", "\t"):
                    field.append(line)
                    continue
                if field:
                    probe.set_raw(*_POLICY.header_source_parse(field))
                field = [line]
            self.header = []
            content_type = probe.get_content_type()
            maintype = content_type.split("/")[0]
            if maintype == "multipart":
                boundary = probe.get_boundary()
                if boundary is None:
                    self.mode = "all"
                    return
                separator = re.escape(("--" + boundary).encode("ascii", "surrogateescape"))
                self.open.append((re.compile(separator + rb"(?P<end>--)?[ \t]*(?:\r\n|\r|\n)?\Z"),
                                  content_type == "multipart/digest"))
                self.mode = "keep"  # the preamble
            elif maintype == "message":
                self.mode, self.default = ("all", self.default) if content_type == "message/delivery-status" \
                    else ("headers", "text/plain")
            else:
                attachment = probe.get_filename() or probe.get_content_disposition() == "attachment"
                self.mode = "drop" if attachment or maintype != "text" else "keep"
        except Exception:  # noqa: BLE001 -- a header the parser cannot read: keep all, message_row will say
            self.mode = "all"


def _check_mbox(path: "Path", where: str) -> None:
    """Refuse a file that is not an mbox (Python's reader would silently find no message in it)."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16).lstrip(b"\r\n")
    if head and not head.startswith(b"From "):
        raise BadInput(where, "line 1", "not an mbox file: it does not start with a 'From ' separator line")


def _frame(rows: list[dict[str, object]], skipped: list[str] | None = None) -> "pd.DataFrame":
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["_row", *COLUMNS], dtype=object)
    frame["_row"] = frame["_row"].astype("int64")
    frame["from_addr__norm"] = frame["from_addr"]
    if skipped:
        frame.attrs["skipped"] = list(skipped)
    return frame
