"""The raw personal values of a demo estate, to prove that no output leaks them.

Collected straight from the source files (not through the library under test): every e-mail
address but the company's declared functional mailboxes (policy.yml ``functional_mailboxes``: an
employee's address in Apora's own domain is personal too), every IBAN and every phone number, in
the spelling the source uses and in normalised form (outputs may show either).
"""
from __future__ import annotations

import csv
import io
import mailbox
import re
import sqlite3
from pathlib import Path

import pytest
import yaml

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")
# A phone is written nationally (0…) or internationally (+…, 00…); bare digit runs are record ids.
PHONE = re.compile(r"(?<![\w+])(?:\+|0)\d[\d ()\-]{7,}\d")
DATE_LIKE = re.compile(r"^\d{1,4}[-/]\d{1,2}[-/]\d{1,4}")


def _cells(workspace: Path):
    for path in sorted(workspace.rglob("*")):
        if path.suffix.lower() in (".csv", ".tsv"):
            raw = path.read_bytes()
            for enc in ("utf-8-sig", "cp1252"):
                try:
                    text = raw.decode(enc)
                    break
                except UnicodeDecodeError:
                    continue
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
            for row in csv.reader(io.StringIO(text), dialect):
                yield from row
        elif path.suffix.lower() == ".xlsx":
            import openpyxl

            wb = openpyxl.load_workbook(path, read_only=True)
            for ws in wb.worksheets:
                for row in ws.iter_rows(values_only=True):
                    yield from (str(v) for v in row if v is not None)
        elif path.suffix.lower() == ".mbox":
            for msg in mailbox.mbox(str(path)):
                for header in ("From", "To", "Cc"):
                    yield str(msg.get(header, ""))
                for part in msg.walk():
                    payload = part.get_payload(decode=True)
                    if payload:
                        yield payload.decode("utf-8", "replace")
        elif path.suffix.lower() == ".db":
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            for (table,) in con.execute("select name from sqlite_master where type='table'"):
                for row in con.execute(f'select * from "{table}"'):
                    yield from (str(v) for v in row if isinstance(v, str))
            con.close()


def functional_mailboxes(workspace: Path) -> set[str]:
    """The addresses policy.yml declares functional: the only ones every output shows as they are."""
    policy = yaml.safe_load((workspace / "policy.yml").read_text(encoding="utf-8")) or {}
    return {str(a).strip().lower() for a in policy.get("functional_mailboxes") or []}


def raw_personal_values(workspace: Path) -> set[str]:
    """Every raw e-mail (but the functional mailboxes), IBAN and phone number of the estate, raw and normalised."""
    from datamap.identity import normalise_iban, normalise_phone

    functional = functional_mailboxes(workspace)
    values: set[str] = set()
    for cell in _cells(workspace):
        for email in EMAIL.findall(cell):
            if email.lower() not in functional:
                values.update({email, email.lower()})
        for iban in IBAN.findall(cell):
            if normalise_iban(iban):
                values.update({iban, normalise_iban(iban)})
        for phone in PHONE.findall(cell):
            if DATE_LIKE.match(phone):
                continue
            digits = re.sub(r"\D", "", phone)
            if 9 <= len(digits) <= 13 and normalise_phone(phone):
                values.update({phone.strip(), normalise_phone(phone)})
    return {v for v in values if len(v) >= 8}


@pytest.fixture(scope="session")
def demo_raw_values(demo_workspace) -> set[str]:
    return raw_personal_values(Path(demo_workspace))
