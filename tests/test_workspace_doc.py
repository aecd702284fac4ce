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
