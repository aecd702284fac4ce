"""The sources fixture workspace: real-format exports of every kind, copied fresh for each test.

``tests/fixtures/workspace`` holds sources.yml, policy.yml and the dataset manifest;
``tests/fixtures/exports`` the exports (a BOM'd CRM CSV with zcrm_ ids and a multi-line address, a
semicolon-delimited cp1252 SalesIQ export with Dutch diacritics, a tab-separated Desk export with
undeclared custom fields, a Desk XLSX user export, an empty Books export, masked bank accounts,
mbox files and a message trace) and the portal's schema and rows as SQL text (built into SQLite
here, so no binary database is committed).
"""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def build_sources_workspace(root: Path) -> Path:
    """Copy the fixture workspace to ``root`` and build its portal SQLite database."""
    shutil.copytree(FIXTURES / "workspace", root, dirs_exist_ok=True)
    shutil.copytree(FIXTURES / "exports", root / "exports", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("portal", "hr"))
    shutil.copytree(FIXTURES / "exports" / "hr", root / "hr", dirs_exist_ok=True)
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
