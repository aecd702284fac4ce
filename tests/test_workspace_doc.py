"""The complete small example in docs/workspace.md is a real workspace: it loads, maps and scans."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from datamap.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "workspace.md"


def write_example(folder: Path) -> Path:
    """Write every block of the doc's example section whose first line names a file."""
    section = DOC.read_text(encoding="utf-8").split("## A complete small example", 1)[1]
    for block in re.findall(r"```(?:yaml|text)\n(.*?)```", section, flags=re.S):
        first, _, body = block.partition("\n")
        name = first.lstrip("# ").strip()
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    return folder


@pytest.fixture()
def example(tmp_path) -> Path:
    return write_example(tmp_path / "voorbeeld")


def test_the_documented_example_loads_as_a_workspace_and_a_map(example):
    from datamap.map import load_map
    from datamap.workspace import load_workspace

    ws = load_workspace(example)
    dm = load_map(ws)
    assert ws.policy.organization == "voorbeeld"
    assert sorted(dm.systems) == ["zoho_corporation", "zoho_crm"]


def test_the_documented_example_answers_where_an_email_address_lives(example, capsys):
    assert main(["map", str(example), "where", "user.contact.email"]) == 0
    assert "zoho_crm" in capsys.readouterr().out


def test_the_documented_example_scans_clean(example, capsys):
    assert main(["scan", str(example)]) == 0


def test_the_documented_example_names_an_expired_lead_by_its_record_id(example, tmp_path):
    """Bram's last activity (2024-01-15) plus one year lies before 2026-11-24; the lead is named by its Record Id."""
    import json

    main(["audit", str(example), "--out", str(tmp_path / "out"), "--no-progress"])
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())
    expired = [(f["system"], f["record_key"]) for f in findings if f["rule"] == "retention.expired"]
    assert expired == [("zoho_crm", "4150868000000100008")]
