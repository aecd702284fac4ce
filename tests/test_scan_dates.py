"""scan reads every date the audit reads: a date staging cannot parse makes the source 'not read', even after the sample."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from datamap.cli import main
from datamap.discovery import scan
from datamap.store import stage

LEADS = "exports/zoho_crm/Leads.csv"
BAD_DATE = ("error: exports/zoho_crm/Leads.csv: row {row}, column Last Activity Time: date '31/02/2026 25:00' does "
            "not match the date format '%Y-%m-%d %H:%M:%S' (set date_format in sources.yml "
            "datasets.zoho_crm.collections.leads)")


@pytest.fixture()
def workspace(make_demo, tmp_path) -> Path:
    """A private copy of a 100-subject demo (42 leads), to break."""
    return Path(shutil.copytree(make_demo(100, 7), tmp_path / "ws"))


def set_cell(ws: Path, file: str, row: int, column: str, value: str) -> None:
    """Set one cell of a UTF-8 (BOM) CSV export; ``row`` is the 1-based data row."""
    path = ws / file
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[row][rows[0].index(column)] = value
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)


def test_a_bad_date_after_the_sample_makes_scan_exit_2_naming_file_column_value_and_format(workspace, capsys):
    set_cell(workspace, LEADS, 30, "Last Activity Time", "31/02/2026 25:00")
    assert main(["scan", str(workspace), "--sample", "20"]) == 2
    out, err = capsys.readouterr()
    assert err.splitlines() == [BAD_DATE.format(row=30)]
    assert out.splitlines()[-1].endswith(", 1 source(s) not read")


def test_the_scan_names_the_bad_date_as_the_audit_staging_does(workspace, tmp_path, capsys):
    set_cell(workspace, LEADS, 30, "Last Activity Time", "31/02/2026 25:00")
    store = stage(workspace, path=tmp_path / "store.sqlite", collections=[("zoho_crm", "leads")])
    assert store.status[("zoho_crm", "leads")].error == BAD_DATE.format(row=30).removeprefix("error: ")
    assert scan(workspace, sample_rows=20).errors == {("zoho_crm", "leads"): store.status[("zoho_crm", "leads")].error}


def test_a_bad_date_inside_or_after_the_sample_gives_the_same_line(workspace, capsys):
    set_cell(workspace, LEADS, 5, "Last Activity Time", "31/02/2026 25:00")
    set_cell(workspace, LEADS, 30, "Last Activity Time", "31/02/2026 25:00")
    assert main(["scan", str(workspace), "--sample", "20"]) == 2
    assert capsys.readouterr().err.splitlines() == [BAD_DATE.format(row=5)]


def test_the_sampled_columns_of_a_source_not_fully_read_are_still_judged(workspace):
    set_cell(workspace, LEADS, 30, "Last Activity Time", "31/02/2026 25:00")
    result = scan(workspace, sample_rows=20)
    leads = {d.field: d.category for d in result.detections if (d.dataset, d.collection) == ("zoho_crm", "leads")}
    assert leads["email"] == "user.contact.email"
    assert ("zoho_crm", "leads") in result.errors


def test_a_future_date_after_the_sample_is_refused_as_the_audit_refuses_it(workspace, capsys):
    set_cell(workspace, LEADS, 40, "Created Time", "2031-01-05 10:00:00")
    assert main(["scan", str(workspace), "--sample", "20"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: exports/zoho_crm/Leads.csv: row 40, column Created Time: date "
                           "'2031-01-05 10:00:00' lies in the future")


def test_every_date_of_a_clean_demo_reads_so_a_small_sample_leaves_no_source_unread(make_demo, capsys):
    assert main(["scan", str(make_demo(100, 7)), "--sample", "20"]) in (0, 1)
    out, err = capsys.readouterr()
    assert err == "" and out.splitlines()[-1].endswith(", 0 source(s) not read")
