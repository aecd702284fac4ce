"""The sources fixture workspace: real-format exports of every kind, copied fresh for each test.

``tests/fixtures/workspace`` holds sources.yml, policy.yml and the dataset manifest;
``tests/fixtures/exports`` the exports (a BOM'd CRM CSV with zcrm_ ids and a multi-line address, a
semicolon-delimited cp1252 SalesIQ export with Dutch diacritics, a tab-separated Desk export with
undeclared custom fields, an empty Books export, masked bank accounts,
mbox files and a message trace); the Desk XLSX user export is written here from ``DESK_USERS``, and the portal's schema and rows as SQL text (built into SQLite
here, so no binary database is committed).
"""
from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


# Zoho Desk's agent export as XLSX with typed cells (numbers, datetimes), written at test time so
# that no generated workbook is tracked in git.
DESK_USERS = [
    ("User Id", "Full Name", "Email", "Role", "Profile", "Status", "Added Time"),
    (581000000001001, "Sanne Bakker", "sanne@apora.nl", "Agent", "Support", "Active", dt.datetime(2022, 3, 1, 9, 0)),
    (581000000001002, "Extern Bureau", "help@outsourcing.example", "Agent", "Support", "Active",
     dt.datetime(2023, 6, 15, 14, 30)),
]


def write_desk_users_xlsx(path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.title = "Users"
    for row in DESK_USERS:
        sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def build_sources_workspace(root: Path) -> Path:
    """Copy the fixture workspace to ``root``, write its XLSX export and build its portal SQLite database."""
    shutil.copytree(FIXTURES / "workspace", root, dirs_exist_ok=True)
    shutil.copytree(FIXTURES / "exports", root / "exports", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("portal", "hr"))
    shutil.copytree(FIXTURES / "exports" / "hr", root / "hr", dirs_exist_ok=True)
    write_desk_users_xlsx(root / "exports" / "zoho_desk" / "Users.xlsx")
    (root / "portal").mkdir(exist_ok=True)
    con = sqlite3.connect(root / "portal" / "portal.db")
    con.executescript((FIXTURES / "exports" / "portal" / "portal.sql").read_text(encoding="utf-8"))
    con.commit()
    con.close()
    return root


@pytest.fixture
def sources_workspace(tmp_path: Path) -> Path:
    """A fresh copy of the sources fixture workspace (tests may break files in it)."""
    return build_sources_workspace(tmp_path / "ws")
