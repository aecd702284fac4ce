"""The six notebooks run together, in reading order, on a real kernel against the demo workspace, and show
what a privacy officer opened them for: the undeclared columns, every record of the person, no '...' where
a row or a word was cut, and no warning.

Outputs are checked for raw personal data of the demo estate: notebooks show pseudonyms, except
where a notebook displays a subject export (05), which is the one place raw values belong.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("notebooks")]  # one worker runs all six, in order


def execute(path: Path, workspace: Path, out: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    saved = {k: os.environ.get(k) for k in ("DATAMAP_WORKSPACE", "DATAMAP_OUT")}
    os.environ.update(DATAMAP_WORKSPACE=str(workspace), DATAMAP_OUT=str(out))
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return nb


@pytest.fixture(scope="module")
def executed(demo_workspace, tmp_path_factory) -> dict[str, tuple[nbformat.NotebookNode, float]]:
    """Every notebook executed in reading order, sharing one DATAMAP_OUT as `make lab` does; with its seconds."""
    base = tmp_path_factory.mktemp("notebooks")
    workspace = Path(shutil.copytree(demo_workspace, base / "ws"))  # staging writes the store into the workspace
    done = {}
    for path in NOTEBOOKS:
        start = time.monotonic()
        done[path.stem] = (execute(path, workspace, base / "out"), time.monotonic() - start)
    return done


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def plain_text(nb: nbformat.NotebookNode) -> str:
    """What the notebook printed and the plain-text form of every result (a table's holds every row, uncut)."""
    return "\n".join(str(o.get("text", "")) + str((o.get("data") or {}).get("text/plain", "")) for o in outputs(nb))


def output_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for out in outputs(nb):
        parts.append(str(out.get("text", "")))
        for value in (out.get("data") or {}).values():
            if isinstance(value, str) and len(value) < 2_000_000:
                parts.append(value)
    return "\n".join(parts)


@pytest.mark.parametrize("name", [p.stem for p in NOTEBOOKS])
def test_notebook_runs_on_the_demo_workspace_without_showing_raw_personal_data(name, executed, demo_raw_values):
    nb, _ = executed[name]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(isinstance(c.get("execution_count"), int) for c in code), "a code cell did not run"
    assert not [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert code[-1].get("outputs"), "the last cell shows nothing: the notebook ends without its result"
    if name.startswith("05_"):
        return  # the subject export notebook shows one person's own data on purpose
    text = output_text(nb)
    leaked = sorted(v for v in demo_raw_values if v in text)
    assert leaked == []


@pytest.mark.parametrize("name", [p.stem for p in NOTEBOOKS])
def test_notebook_shows_no_warning_and_no_error(name, executed):
    nb, _ = executed[name]
    noisy = [(o.get("output_type"), str(o.get("text", o.get("evalue", "")))[:200]) for o in outputs(nb)
             if o.get("name") == "stderr" or o.get("output_type") == "error"]
    assert noisy == []
    assert "Warning" not in plain_text(nb)


@pytest.mark.parametrize("name", [p.stem for p in NOTEBOOKS])
def test_no_table_is_cut_short_or_elided(name, executed):
    """pandas' own display elides rows ('...') and cuts long text ('detail…'); the workbench's tables never do."""
    nb, _ = executed[name]
    frames = [o for o in outputs(nb) if "text/html" in (o.get("data") or {})
              and 'class="dataframe"' in o["data"]["text/html"]]
    assert frames == [], "a raw pandas DataFrame was shown; show.table shows every row, uncut"
    assert "rows × " not in plain_text(nb)


def test_discovery_leads_with_the_three_undeclared_columns(executed):
    nb, _ = executed["02_sources_and_discovery"]
    tables = [o["data"]["text/plain"] for o in outputs(nb) if "with kind undeclared" in (o.get("data") or {}).get("text/plain", "")]
    assert len(tables) == 1
    lines = tables[0].splitlines()
    assert lines[0] == "4 row(s); 3 with kind undeclared, marked and first"
    assert [line.split()[:4] for line in lines[2:5]] == [["zoho_desk", "tickets", "bsn", "undeclared"],
                                                         ["zoho_desk", "tickets", "geboortedatum", "undeclared"],
                                                         ["zoho_campaigns", "subscribers", "phone", "undeclared"]]
    whole = [o["data"]["text/plain"] for o in outputs(nb) if "with status undeclared" in (o.get("data") or {}).get("text/plain", "")]
    assert len(whole) == 1 and whole[0].splitlines()[0].endswith("3 with status undeclared, marked and first")
    rows = whole[0].splitlines()[2:]
    assert int(whole[0].split()[0]) == len(rows) > 60  # every personal column, none elided
    assert [r.split()[2] for r in rows[:3]] == ["bsn", "geboortedatum", "phone"]


def test_the_subject_request_shows_every_record_of_the_person(executed, demo_workspace):
    nb, _ = executed["05_subject_request"]
    expected = json.loads((demo_workspace / "expected_subject.json").read_text(encoding="utf-8"))["records"]
    (shown,) = [o["data"]["text/plain"] for o in outputs(nb)
                if "record(s) of the person" in (o.get("data") or {}).get("text/plain", "")]
    first = shown.split("\n\n")[0].splitlines()  # the person's records; the candidates follow in their own table
    assert first[0].startswith(f"{len(expected)} record(s) of the person in ")
    listed = {tuple(line.split()[:3]) for line in first[2:]}
    assert listed == {(r["system"], r["collection"], r["record_key"]) for r in expected}
    assert len(first) - 2 == len(expected) == 12


def test_the_register_and_the_report_are_framed_not_poured_into_the_page(executed):
    nb, _ = executed["04_register_and_report"]
    html = [o["data"]["text/html"] for o in outputs(nb) if "text/html" in (o.get("data") or {})]
    assert sum("<iframe srcdoc=" in h for h in html) == 2  # the register, the report
    assert all(len(h) < 200_000 for h in html if "<iframe" not in h)
