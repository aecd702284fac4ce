"""The readers, the store and discovery on the demo estate, checked against the files themselves."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import mailbox
from pathlib import Path

import pytest
from sqlalchemy import text

from datamap.discovery import evaluate, scan
from datamap.store import stage

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_store(demo_workspace, tmp_path_factory):
    return stage(demo_workspace, path=tmp_path_factory.mktemp("store") / "store.sqlite")


@pytest.fixture(scope="module")
def demo_scan(demo_workspace):
    return scan(demo_workspace)


def csv_rows(path: Path) -> list[dict[str, str]]:
    """Read an export with the csv module alone (encoding and delimiter tried by hand)."""
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            body = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    delimiter = ";" if body.splitlines()[0].count(";") > body.splitlines()[0].count(",") else ","
    return list(csv.DictReader(io.StringIO(body, newline=""), delimiter=delimiter))


def count(store, sql: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def test_every_demo_source_stages_and_no_source_byte_changes(demo_workspace, tmp_path):
    files = sorted(p for p in Path(demo_workspace).rglob("*") if p.is_file() and ".datamap" not in p.parts)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    store = stage(demo_workspace, path=tmp_path / "store.sqlite")
    assert store.errors() == {}
    assert len(store.status) == 27
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files} == before


def test_staged_row_counts_equal_the_rows_in_each_export_file(demo_workspace, demo_store):
    for (dataset, collection), status in demo_store.status.items():
        source = demo_store.workspace.sources.datasets[dataset].collections[collection]
        if source.file and source.file.endswith(".csv"):
            assert status.rows == len(csv_rows(Path(demo_workspace) / source.file)), (dataset, collection)
    messages = sum(len(mailbox.mbox(str(p))) for p in (Path(demo_workspace) / "exports/zoho_mail").glob("*.mbox"))
    assert demo_store.status[("zoho_mail", "messages")].rows == messages


def test_masked_bank_accounts_in_books_are_counted_as_masked(demo_workspace, demo_store):
    payments = csv_rows(Path(demo_workspace) / "exports/zoho_books/Customer_Payments.csv")
    masked = sum(1 for r in payments if r["Bank Account"].startswith("X"))
    assert masked > 0
    assert count(demo_store, "SELECT count(*) FROM zoho_books__customer_payments WHERE bank_account__masked = 1") == masked
    assert count(demo_store, "SELECT count(*) FROM zoho_books__customer_payments "
                             "WHERE bank_account__masked = 1 AND bank_account__norm IS NOT NULL") == 0


def test_every_trace_delivery_joins_a_staged_message(demo_store):
    assert count(demo_store, "SELECT count(*) FROM zoho_mail__recipients WHERE via = 'trace'") > 0
    assert count(demo_store, "SELECT count(*) FROM zoho_mail__recipients r LEFT JOIN zoho_mail__messages m "
                             "ON m.message_id = r.message_id WHERE r.via = 'trace' AND m.message_id IS NULL") == 0


def test_crm_record_ids_are_digits_only(demo_store):
    assert count(demo_store, "SELECT count(*) FROM zoho_crm__deals") > 0
    assert count(demo_store, "SELECT count(*) FROM zoho_crm__deals WHERE record_id GLOB '*[^0-9]*'") == 0


def test_discovery_finds_exactly_the_planted_undeclared_columns(demo_workspace, demo_scan):
    result = demo_scan
    assert result.errors == {}
    planted = json.loads((Path(demo_workspace) / "expected_findings.json").read_text())
    expected = sorted((p["system"], p["record_key"]) for p in planted if p["rule"] == "discovery.undeclared_personal_data")
    assert expected == [("zoho_campaigns", "zoho_campaigns.subscribers.phone"),
                        ("zoho_desk", "zoho_desk.tickets.bsn"), ("zoho_desk", "zoho_desk.tickets.geboortedatum")]
    assert sorted((f.system, f.record_key) for f in result.findings) == expected
    assert {f.record_key: f.severity for f in result.findings}["zoho_desk.tickets.bsn"] == "critical"


def test_detectors_reach_95_percent_precision_and_recall_on_the_demo_labels(demo_scan):
    score = evaluate(demo_scan)
    assert score.in_reach >= 80  # the demo map labels that many columns with categories the detectors know
    assert score.precision >= 0.95, score.wrong
    assert score.recall >= 0.95, score.misses
