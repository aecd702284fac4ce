"""docs/workspace.md lists each product's standard headers as formats.yml gives them, and a command keeps it so."""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

from datamap.sources import formats
from datamap.sources.formats_doc import BEGIN, END, formats_markdown, region

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "workspace.md"


def test_the_workspace_doc_lists_the_standard_headers_exactly_as_formats_yml_gives_them():
    assert region(DOC.read_text(encoding="utf-8")) == formats_markdown(), (
        "docs/workspace.md is stale: run python -m datamap.sources.formats_doc docs/workspace.md")


def test_a_header_changed_in_formats_yml_makes_the_doc_stale(monkeypatch):
    changed = copy.deepcopy(formats.product_formats())
    leads = changed["zoho_crm"]["collections"]["leads"]
    leads["headers"] = [h if h != "Last Activity Time" else "Last Contact Time" for h in leads["headers"]]
    leads["dates"] = {"Last Contact Time" if h == "Last Activity Time" else h: kind for h, kind in leads["dates"].items()}
    monkeypatch.setattr(formats, "product_formats", lambda: changed)

    rendered = formats_markdown()
    assert "Last Contact Time **[date-time]**" in rendered
    assert region(DOC.read_text(encoding="utf-8")) != rendered


def test_the_doc_names_each_product_its_date_format_and_marks_dates_and_identifiers():
    text = region(DOC.read_text(encoding="utf-8"))
    for product in formats.products():
        assert f"\n### {product}\n" in text
    assert "### hr\n\nDates: `%Y-%m-%d` unless sources.yml sets `date_format`." in text
    assert ("| `leads` | `Leads.csv` | CSV | Record Id | Record Id, Lead Owner, Company, First Name **[name]**, "
            "Last Name **[name]**, Email **[e-mail]**, Phone **[phone]**,") in text
    assert "| `users` | `Users.xlsx` | XLSX | User Id |" in text
    assert "| `customer_payments` | `Customer_Payments.csv` | CSV | Payment Number | Payment Number, Date **[date]**," in text
    assert "| `accounts` | `accounts` | database table | account_id |" in text
    assert "Closing Date **[date, may lie ahead]**" in text
    assert "date_time_utc **[UTC date-time]**" in text


def test_the_regeneration_command_rewrites_only_the_region_and_is_idempotent(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    page = tmp_path / "workspace.md"
    page.write_text(f"{head}{BEGIN}\nan old list\n{END}{tail}", encoding="utf-8")

    def regenerate() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "datamap.sources.formats_doc", str(page)],
                              capture_output=True, text=True, cwd=ROOT, check=False)

    first = regenerate()
    assert (first.returncode, first.stdout.strip()) == (0, f"{page}: standard headers regenerated")
    once = page.read_text(encoding="utf-8")
    assert once == f"{head}{BEGIN}\n{formats_markdown()}{END}{tail}"
    second = regenerate()
    assert (second.returncode, second.stdout.strip()) == (0, f"{page}: standard headers up to date")
    assert page.read_text(encoding="utf-8") == once


def test_a_page_without_the_markers_is_one_error_line_and_left_alone(tmp_path):
    page = tmp_path / "notes.md"
    page.write_text("# Notes\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "datamap.sources.formats_doc", str(page)],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: {page}: no region between {BEGIN} and {END} (add the two marker lines, each on a line of its own, "
        "where the list belongs)"]
    assert page.read_text(encoding="utf-8") == "# Notes\n"
