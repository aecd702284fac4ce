"""The drawings and the one-page summary of the demo map, and the map queries on the command line."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from datamap.map.page import write_map_summary
from datamap.map import load_map

DEMO_DATA = Path(__file__).resolve().parents[1] / "datamap" / "demo" / "data"


@pytest.fixture(scope="module")
def summary_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("map")
    write_map_summary(load_map(DEMO_DATA), out, categories=["user.financial.bank_account"])
    return out


@pytest.mark.slow
def test_summary_writes_the_page_and_png_and_svg_drawings(summary_dir):
    assert sorted(p.name for p in summary_dir.iterdir()) == [
        "map.md", "map.png", "map.svg", "map_user_financial_bank_account.png", "map_user_financial_bank_account.svg"]
    png = (summary_dir / "map.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    assert (summary_dir / "map.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")


@pytest.mark.slow
def test_summary_page_lists_recipients_and_findings(summary_dir):
    page = (summary_dir / "map.md").read_text(encoding="utf-8")
    assert "# Data map: Apora B.V." in page
    assert "| tevreden_enquetes | Processor | NL | no | **none on file** | - | zoho_desk (flow) | 2 |" in page
    assert "| adpeak | Processor | US | yes | on file | **none** | zoho_campaigns (flow) | 1 |" in page
    assert "- `transfer.outside_eea_without_basis` zoho_campaigns / adpeak:" in page
    assert "@" not in page.replace("privacy@", "")  # no e-mail addresses on the page


@pytest.fixture
def run(capsys):
    """Run ``datamap map ...`` in this process (fast); the exit-code contract is proven by subprocess elsewhere."""
    from datamap.cli import main

    def call(*args: str) -> subprocess.CompletedProcess:
        capsys.readouterr()
        code = main(["map", *args])
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)

    return call


def test_cli_where_answers_in_plain_text(run):
    out = run(str(DEMO_DATA), "where", "user.device.ip_address")
    assert out.returncode == 0
    assert out.stdout.splitlines() == ["user.device.ip_address is held by 1 systems: zoho_salesiq",
                                       "  zoho_salesiq.visitors.ip_address  (user.device.ip_address)"]


def test_cli_flows_recipients_and_findings_as_json(run):
    assert json.loads(run(str(DEMO_DATA), "flows", "user.device.ip_address", "--json").stdout) == [["zoho_salesiq", "zoho_corporation"]]
    parties = [r["party"] for r in json.loads(run(str(DEMO_DATA), "recipients", "--json").stdout)]
    assert parties == ["adpeak", "belastingdienst", "mollie", "tevreden_enquetes", "transip", "van_dijk_accountants", "zoho_corporation"]
    rules = [f["rule"] for f in json.loads(run(str(DEMO_DATA), "findings", "--json").stdout)]
    assert rules == ["notice.category_not_disclosed", "purpose.undeclared_use", "sharing.processor_without_dpa",
                     "transfer.outside_eea_without_basis"]


def test_cli_breach_shows_the_reasoning(run):
    out = run(str(DEMO_DATA), "breach", "zoho_books").stdout.splitlines()
    assert out[1:3] == ["  notify the Autoriteit Persoonsgegevens (Art. 33): likely yes",
                        "  notify the subjects (Art. 34): likely yes"]


def test_cli_export_writes_fideslang_yaml(run, tmp_path):
    out = run(str(DEMO_DATA), "export", "--out", str(tmp_path))
    assert out.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["datamap_extensions.yml", "datasets.yml", "external.yml",
                                                          "organization.yml", "systems.yml"]


def test_cli_breach_takes_record_counts_from_a_json_file(run, tmp_path):
    counts = tmp_path / "counts.json"
    counts.write_text('{"zoho_books.customers": 120, "zoho_books.customer_payments": 40}', encoding="utf-8")
    answer = json.loads(run(str(DEMO_DATA), "breach", "zoho_books", "--counts", str(counts), "--json").stdout)
    assert answer["total_records"] == 160
    assert "160 records in 2 of its 4 collections are exposed (collections without a count are not included)" in answer["reasons"]
    counts.write_text('["not", "a", "mapping"]', encoding="utf-8")
    bad = run(str(DEMO_DATA), "breach", "zoho_books", "--counts", str(counts))
    assert (bad.returncode, bad.stderr) == (2, f'error: {counts}: expected {{"dataset.collection": number of records}}\n')
