"""A cell value as text, and as an error line may quote it without showing who it identifies."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from datamap import identity

PERSONAL_KINDS = frozenset({"email", "phone", "iban", "name", "customer_number"})  # identify a person
_DATE_SHAPE = re.compile(r"\d{1,4}([-/.])\d{1,2}\1\d{1,4}(?:[ T]\d{1,2}(?::\d{1,2}){1,2}(?:\.\d+)?\s*(?:[AaPp][Mm])?)?")
_SHOWN = 40


def cell_text(value: Any) -> str:
    """A cell as the text an export would write (a typed XLSX cell, a SQL value): ``1.0`` -> ``'1'``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def shown_value(value: Any, kind: str | None = None) -> str:
    """A cell value as an error line (stderr, checks.json, run.json) may quote it.

    As it is (``'24/11/2026 09:15'``), unless the column holds identifiers (``kind``) or the value
    reads as an e-mail address, a phone number or an IBAN, as when columns shift: then only its shape,
    ``<masked +99999999999>``, enough to see what kind of value sits where it should not.
    """
    text = cell_text(value)
    if kind in PERSONAL_KINDS or _looks_personal(text):
        shape = "".join("9" if c.isdigit() else "x" if c.isalpha() else c for c in text[:_SHOWN])
        return f"<masked {shape}{'…' if len(text) > _SHOWN else ''}>"
    return repr(value)


def _looks_personal(text: str) -> bool:
    """An e-mail address, or a phone number or IBAN (nine digits or more), that is not shaped as a date."""
    if "@" in text:
        return True
    if sum(c.isdigit() for c in text) < 9 or _DATE_SHAPE.fullmatch(text.strip()):
        return False
    return bool(identity.normalise_phone(text) or identity.normalise_iban(text))


def header_text(header: str) -> str:
    """A header for an error line: as it is, masked when it reads as an identifier (a file without header row)."""
    return header if not _looks_personal(header) else shown_value(header)
