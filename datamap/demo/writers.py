"""Streaming writers for the export formats of the demo estate, each byte-for-byte reproducible.

Rows go to disk as they are made (no file is held in memory), and nothing depends on the clock:
mbox ``From`` lines carry the message's own date, XLSX files get fixed zip timestamps and
document properties, MIME boundaries are derived from the message number.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
import zipfile
from email.generator import BytesGenerator
from email.message import Message
from pathlib import Path
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Amsterdam")  # the workspace time zone of the demo

FIXED_ZIP_TIME = (2026, 11, 24, 6, 0, 0)


class CsvExport:
    """A CSV export written row by row.

    ``zoho`` style: UTF-8 with BOM, ``,``, every field quoted, CRLF (Zoho's own exports).
    ``excel_nl`` style: cp1252, ``;``, quoted only when needed (a Dutch Excel re-save).
    ``plain`` style: UTF-8 without BOM, ``,`` (spreadsheets kept by people, the mail server log).
    """

    def __init__(self, path: Path, headers: Sequence[str], style: str = "zoho"):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.headers = list(headers)
        self.rows = 0
        self._known = set(self.headers)
        encoding, delimiter, quoting, newline = {
            "zoho": ("utf-8-sig", ",", csv.QUOTE_ALL, "\r\n"),
            "excel_nl": ("cp1252", ";", csv.QUOTE_MINIMAL, "\r\n"),
            "plain": ("utf-8", ",", csv.QUOTE_MINIMAL, "\n"),
        }[style]
        self._handle = open(path, "w", encoding=encoding, errors="replace", newline="")
        self._writer = csv.writer(self._handle, delimiter=delimiter, quoting=quoting, lineterminator=newline)
        self._writer.writerow(self.headers)

    def write(self, row: dict[str, Any]) -> None:
        """Write one row given by header; missing headers are written empty."""
        unknown = row.keys() - self._known
        if unknown:
            raise KeyError(f"{self.path.name}: no column {sorted(unknown)}")
        self._writer.writerow(["" if row.get(h) is None else row.get(h) for h in self.headers])
        self.rows += 1

    def close(self) -> None:
        self._handle.close()


class XlsxExport:
    """An XLSX export (Zoho Desk's agent list); small, so rows are collected and saved on close."""

    def __init__(self, path: Path, headers: Sequence[str], sheet: str = "Users"):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.headers = list(headers)
        self.sheet = sheet
        self._rows: list[list[Any]] = []

    def write(self, row: dict[str, Any]) -> None:
        self._rows.append(["" if row.get(h) is None else row.get(h) for h in self.headers])

    def close(self) -> None:
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = self.sheet
        sheet.append(self.headers)
        for row in self._rows:
            sheet.append(row)
        fixed = dt.datetime(*FIXED_ZIP_TIME)
        book.properties.creator = "Zoho Desk"
        book.properties.created = fixed
        buffer = io.BytesIO()
        book.save(buffer)
        _rezip_fixed(buffer.getvalue(), self.path, fixed)


def _rezip_fixed(data: bytes, path: Path, fixed: dt.datetime) -> None:
    """Rewrite a zip with fixed member timestamps and a fixed ``dcterms:modified`` (openpyxl stamps now)."""
    stamp = fixed.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = content.decode("utf-8")
                start = text.find("<dcterms:modified")
                if start >= 0:
                    end = text.find("</dcterms:modified>", start)
                    head = text[start:text.find(">", start) + 1]
                    text = text[:start] + head + stamp + text[end:]
                content = text.encode("utf-8")
            member = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o600 << 16
            target.writestr(member, content)


class MboxWriter:
    """An mbox file written message by message (Python's ``mailbox.mbox`` reads it back)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.count = 0
        self._handle = open(path, "wb")

    def write(self, message: Message, sender: str, when: dt.datetime) -> None:
        """Append one message; the ``From`` line carries the message's own date in UTC."""
        utc = (when if when.tzinfo else when.replace(tzinfo=ZONE)).astimezone(dt.timezone.utc)
        self._handle.write(f"From {sender} {utc.strftime('%a %b %d %H:%M:%S %Y')}\n".encode("ascii"))
        buffer = io.BytesIO()
        BytesGenerator(buffer, mangle_from_=True).flatten(message)
        body = buffer.getvalue()
        self._handle.write(body if body.endswith(b"\n") else body + b"\n")
        self._handle.write(b"\n")
        self.count += 1

    def close(self) -> None:
        self._handle.close()


PORTAL_SCHEMA = """
CREATE TABLE accounts (account_id integer primary key, customer_number text, email text,
                       password_hash text, created_at text, closed_at text);
CREATE TABLE trials (trial_id integer primary key, account_id integer, app text,
                     started_at text, ended_at text);
CREATE TABLE cookie_log (entry_id integer primary key, visitor_id text, cookie text,
                         party text check (party in ('first', 'third')), set_at text, trial_click_at text);
CREATE TABLE portal_users (user_id integer primary key, email text, full_name text, role text,
                           status text check (status in ('active', 'disabled')), added_at text);
"""


class PortalDb:
    """The customer portal's SQLite database, filled in the order rows are made (so bytes repeat)."""

    BATCH = 5_000

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.executescript(PORTAL_SCHEMA)
        self._pending: dict[str, list[tuple[Any, ...]]] = {}
        self.counts: dict[str, int] = {}

    def insert(self, table: str, row: Sequence[Any]) -> int:
        """Queue one row (its integer key first); returns that key."""
        self._pending.setdefault(table, []).append(tuple(row))
        self.counts[table] = self.counts.get(table, 0) + 1
        if len(self._pending[table]) >= self.BATCH:
            self._flush(table)
        return int(row[0])

    def _flush(self, table: str) -> None:
        rows = self._pending.pop(table, [])
        if rows:
            marks = ",".join("?" * len(rows[0]))
            self._db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)

    def close(self) -> None:
        for table in sorted(self._pending):
            self._flush(table)
        self._db.commit()
        self._db.close()


def write_plain_csv(path: Path, headers: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
    """Write a small people-kept CSV in one go; returns the number of rows."""
    export = CsvExport(path, headers, style="plain")
    for row in rows:
        export.write(row)
    export.close()
    return export.rows
