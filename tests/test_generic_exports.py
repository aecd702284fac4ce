"""A company's own exports (product: generic): sources.yml names their keys, dates, identifiers and values.

A header named there is read as the file writes it or as `columns:` renames it; a header the
export does not have is an error naming sources.yml's key and the headers there are, never a
silently unparsed column.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from datamap.cli import main
from datamap.errors import BadInput
from datamap.sources import read_collection
from datamap.workspace import load_workspace
from test_workspace_doc import write_example


def _sources(ws: Path, **leads) -> None:
    sources = yaml.safe_load((ws / "sources.yml").read_text())
    sources["datasets"]["zoho_crm"]["collections"]["leads"] = {"file": "exports/Leads.csv", **leads}
    (ws / "sources.yml").write_text(yaml.safe_dump(sources))


@pytest.fixture()
def ws(tmp_path) -> Path:
    folder = write_example(tmp_path / "voorbeeld")
    csv = folder / "exports" / "Leads.csv"
    rows = csv.read_text().splitlines()
    csv.write_text("\n".join([rows[0] + ",Status"] + [r + (",Actief" if i == 0 else ",Gestopt") for i, r in enumerate(rows[1:])]) + "\n")
    return folder


def _frame(ws: Path):
    return next(read_collection(load_workspace(ws), "zoho_crm", "leads"))


def test_a_header_named_as_the_file_writes_it_or_as_columns_renames_it_is_read_alike(ws):
    _sources(ws, key="Record Id", columns={"Last Activity Time": "laatste_contact"},
             dates={"Last Activity Time": "datetime"}, identifiers={"Email": "email"})
    frame = _frame(ws)
    assert list(frame["laatste_contact"]) == ["2026-03-02 10:15:00", "2024-01-15 16:40:00"]
    assert "email__norm" in frame.columns
    _sources(ws, key="Record Id", columns={"Last Activity Time": "laatste_contact"}, dates={"laatste_contact": "datetime"})
    assert list(_frame(ws)["laatste_contact"]) == ["2026-03-02 10:15:00", "2024-01-15 16:40:00"]


def test_a_key_renamed_by_columns_is_the_renamed_column(ws):
    from datamap.sources import key_column

    _sources(ws, key="Record Id", columns={"Record Id": "lead_nummer"})
    assert key_column(load_workspace(ws), "zoho_crm", "leads") == "lead_nummer"
    assert list(_frame(ws)["lead_nummer"]) == ["4150868000000100007", "4150868000000100008"]


@pytest.mark.parametrize("option", ["dates", "identifiers", "key"])
def test_a_misspelt_header_in_sources_yml_is_an_error_naming_the_key_and_the_headers(ws, option):
    value = "Last Activty Time" if option == "key" else {"Last Activty Time": "datetime" if option == "dates" else "email"}
    _sources(ws, **{"key": "Record Id", option: value})
    with pytest.raises(BadInput) as err:
        _frame(ws)
    line = err.value.line()
    assert line.startswith(f"sources.yml: datasets.zoho_crm.collections.leads.{option}: names 'Last Activty Time'")
    assert "its headers: Record Id, First Name, Last Name, Email, Last Activity Time, Status" in line


def test_the_exports_own_words_become_the_standard_values(ws):
    _sources(ws, key="Record Id", values={"Status": {"actief": "active", "Gestopt": "inactive"}})
    assert list(_frame(ws)["status"]) == ["active", "inactive"]


def test_a_retention_date_column_that_is_not_read_as_a_date_says_how_to_declare_it(ws, tmp_path):
    _sources(ws, key="Record Id")  # the documented example declares the date; here it does not
    assert main(["audit", str(ws), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    checks = {c["check"]: c for c in json.loads((tmp_path / "out" / "checks.json").read_text())}
    reason = checks["P05.retention.zoho_crm.leads"]["reason"]
    assert reason.startswith("policy.yml: retention.0.date_column: zoho_crm.leads column 'last_activity_time' is not read as a date")
    assert "dates: in sources.yml datasets.zoho_crm.collections.leads" in reason
