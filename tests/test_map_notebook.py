"""Notebook 01 runs on a real kernel and answers the map questions for e-mail, IP address and bank details."""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "01_data_map.ipynb"


@pytest.fixture(scope="module")
def executed(request, tmp_path_factory):
    try:
        workspace = request.getfixturevalue("demo_workspace")
    except pytest.FixtureLookupError:  # until the shared fixture exists: a small generated demo workspace
        from datamap.demo.generator import generate

        workspace = generate(tmp_path_factory.mktemp("demo"), subjects=100, seed=42)
    out = tmp_path_factory.mktemp("nb01")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    saved = {k: os.environ.get(k) for k in ("DATAMAP_WORKSPACE", "DATAMAP_OUT")}
    os.environ.update(DATAMAP_WORKSPACE=str(workspace), DATAMAP_OUT=str(out))
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return nb, out


def text_of(cell) -> str:
    return "\n".join(str(o.get("text", "")) + str((o.get("data") or {}).get("text/plain", "")) for o in cell.outputs)


def rows_of(text: str) -> list[list[str]]:
    """A table's rows (caption and header left out), split on runs of spaces."""
    return [line.split() for line in text.splitlines()[2:]]


@pytest.mark.slow
def test_notebook_answers_where_ip_address_and_bank_details_live_in_plain_tables(executed):
    nb, _out = executed
    texts = [text_of(c) for c in nb.cells if c.cell_type == "code"]
    (ip,) = [t for t in texts if t.startswith("user.device.ip_address is held by 1 system(s): zoho_salesiq")]
    assert rows_of(ip) == [["zoho_salesiq", "visitors", "ip_address", "user.device.ip_address"]]
    (bank,) = [t for t in texts if t.startswith("user.financial.bank_account is held by 1 system(s): zoho_books")]
    assert rows_of(bank) == [["zoho_books", "customer_payments", "bank_account", "user.financial.bank_account"]]
    (flow,) = [t for t in texts if t.startswith("1 path(s) of user.device.ip_address")]
    assert rows_of(flow) == [["zoho_salesiq", "zoho_corporation", "yes", "yes"]]
    assert not any("{'" in t or "[['" in t for t in texts), "no raw Python dicts or lists"


@pytest.mark.slow
def test_notebook_lists_external_recipients_and_shows_the_drawings(executed):
    nb, _out = executed
    texts = [text_of(c) for c in nb.cells if c.cell_type == "code"]
    assert any("tevreden_enquetes" in t and "van_dijk_accountants" in t for t in texts)
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in (o.get("data") or {})]
    assert len(images) == 4
