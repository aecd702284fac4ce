"""Mail: mbox files (sent items, the privacy inbox) and the mail server's outbound message trace.

One row per message with its headers, recipients, date (converted from the header's offset to the
workspace time zone) and attachment names and types. The body is scanned for e-mail addresses,
phone numbers and IBANs, which are kept as normalised identifiers; the body itself is never kept.
The trace CSV is an ordinary export (``datamap.sources.exports``) with its own standard columns.
"""
from __future__ import annotations

import email.policy
import email.utils
import mailbox
import re
from email.message import EmailMessage
from typing import TYPE_CHECKING, Iterator
from zoneinfo import ZoneInfo

import phonenumbers

from datamap import identity
from datamap.errors import BadInput

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from datamap.sources import ResolvedSource

COLUMNS = ("message_id", "mailbox", "from_addr", "to_addrs", "cc_addrs", "date", "subject", "in_reply_to",
           "attachment_names", "attachment_types", "body_emails", "body_ibans", "body_phones")

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_TAG = re.compile(r"<[^>]+>")


def body_identifiers(text: str, region: str = identity.DEFAULT_REGION) -> dict[str, list[str]]:
    """Find the e-mail addresses, IBANs (checksum valid) and phone numbers in a text, normalised and sorted."""
    emails = {identity.normalise_email(m) for m in _EMAIL.findall(text)}
    ibans = {identity.normalise_iban(m) for m in _IBAN.findall(text)}
    phones = {identity.normalise_phone(m.raw_string, region) for m in phonenumbers.PhoneNumberMatcher(text, region)}
    return {
        "email": sorted(v for v in emails if v),
        "iban": sorted(v for v in ibans if v),
        "phone": sorted(v for v in phones if v),
    }


def _ids(value: object) -> str | None:
    """A Message-ID without its angle brackets (the first one, for In-Reply-To)."""
    if value is None:
        return None
    found = re.findall(r"<([^<>]+)>", str(value))
    text = found[0] if found else str(value).strip()
    return text or None


def _addresses(message: EmailMessage, header: str) -> list[str]:
    values = [str(v) for v in message.get_all(header, [])]
    found = (identity.normalise_email(addr) for _, addr in email.utils.getaddresses(values))
    return [a for a in dict.fromkeys(found) if a]


def _text_of(part: EmailMessage) -> str:
    try:
        text = part.get_content()
    except (LookupError, UnicodeError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        text = payload.decode("utf-8", "replace")
    text = text if isinstance(text, str) else ""
    return _TAG.sub(" ", text) if part.get_content_type() == "text/html" else text


def message_row(message: EmailMessage, mailbox_name: str, index: int, where: str, timezone: str) -> dict[str, object]:
    """Reduce one message to its store row; the body's identifiers are kept, the body is not."""
    raw_date = message.get("Date")
    try:
        when = email.utils.parsedate_to_datetime(str(raw_date))
    except (TypeError, ValueError, IndexError):
        raise BadInput(where, f"message {index}, header Date", f"date {raw_date!r} is not an RFC 2822 date") from None
    if when.tzinfo is None:  # "-0000": the sender did not know its zone; RFC 5322 reads it as UTC
        when = when.replace(tzinfo=ZoneInfo("UTC"))
    names, types, found = [], [], {"email": set(), "iban": set(), "phone": set()}
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if filename or part.get_content_disposition() == "attachment":
            names.append(filename or "")
            types.append(part.get_content_type())
        elif part.get_content_maintype() == "text":
            for kind, values in body_identifiers(_text_of(part)).items():
                found[kind].update(values)
    sender = _addresses(message, "From")
    if message.get("From") is not None and not sender:  # the value itself is not shown: it may be personal data
        raise BadInput(where, f"message {index}, header From", "holds no readable e-mail address")
    return {
        "_row": index,
        "message_id": _ids(message.get("Message-ID")),
        "mailbox": mailbox_name,
        "from_addr": sender[0] if sender else None,
        "to_addrs": ",".join(_addresses(message, "To")) or None,
        "cc_addrs": ",".join(_addresses(message, "Cc")) or None,
        "date": when.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S"),
        "subject": str(message.get("Subject", "")) or None,
        "in_reply_to": _ids(message.get("In-Reply-To")),
        "attachment_names": ",".join(names) or None,
        "attachment_types": ",".join(types) or None,
        "body_emails": ",".join(sorted(found["email"])) or None,
        "body_ibans": ",".join(sorted(found["iban"])) or None,
        "body_phones": ",".join(sorted(found["phone"])) or None,
    }


def read_mbox(src: "ResolvedSource", chunksize: int) -> Iterator["pd.DataFrame"]:
    """Stream the messages of every mbox file of the collection as store-shaped frames."""
    import pandas as pd

    def factory(handle: object) -> EmailMessage:
        return email.message_from_binary_file(handle, policy=email.policy.default)  # type: ignore[arg-type]

    yielded = False
    for path in src.files():
        where = src.relpath(path)
        _check_mbox(path, where)
        box = mailbox.mbox(str(path), factory=factory, create=False)
        batch: list[dict[str, object]] = []
        try:
            for index, message in enumerate(box, start=1):
                batch.append(message_row(message, path.stem, index, where, src.timezone))
                if len(batch) >= chunksize:
                    yield _frame(batch)
                    yielded, batch = True, []
        finally:
            box.close()
        if batch:
            yield _frame(batch)
            yielded = True
    if not yielded:
        yield _frame([])


def _check_mbox(path: "Path", where: str) -> None:
    """Refuse a file that is not an mbox (Python's reader would silently find no message in it)."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16).lstrip(b"\r\n")
    if head and not head.startswith(b"From "):
        raise BadInput(where, "line 1", "not an mbox file: it does not start with a 'From ' separator line")


def _frame(rows: list[dict[str, object]]) -> "pd.DataFrame":
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["_row", *COLUMNS], dtype=object)
    frame["_row"] = frame["_row"].astype("int64")
    frame["from_addr__norm"] = frame["from_addr"]
    return frame
