"""What the audit's faster paths must keep: the same answers as the plain ones they replaced.

The calendar functions memoise on the day they read; P05 runs the calendar once a day; P09 finds
answers with a left join; discovery samples the audit store instead of parsing the sources again;
a query's rows beyond GE's first page (the restricted list too) come in one more run.
"""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from datamap.audit.catalogue import DEFAULT_DIR, expand, load_catalogue
from datamap.audit.params import add_period, fiscal_year_end, retention_start
from datamap.audit.params import put_params


def test_the_calendar_reads_the_day_of_a_date_or_timestamp():
    assert add_period("2024-01-31 23:59:59", "P1M") == add_period("2024-01-31", "P1M") == "2024-02-29"
    assert add_period("  2024-08-31 08:00 ", "P6M") == "2025-02-28"
    assert retention_start("2023-05-01 10:00:00", "fiscal_year_end", "12-31") == "2023-12-31"
    assert retention_start("2023-05-01 10:00:00", "date", "12-31") == "2023-05-01"
    assert fiscal_year_end("2023-07-01 00:00:01", "06-30") == "2024-06-30"
    assert [add_period(v, "P1Y") for v in (None, "", "   ")] == [None, None, None]
    assert add_period("2024-01-01", None) is None
    with pytest.raises(ValueError):
        add_period("01-02-2024", "P1Y")  # not ISO: an error, never a silent NULL


# The demo's tables for the roles these checks read (datamap/checks/roles.yml).
ROLES = {"mail_messages": ("zoho_mail", "messages"), "request_log": ("governance", "privacy_requests")}


def _check(check_id: str, items: list[dict[str, str]] | None = None):
    from datamap.binding import Binding

    common: dict[str, str] = {}
    for role, (dataset, collection) in ROLES.items():
        common.update(Binding(role, dataset, collection, f"{dataset}__{collection}", dataset, "_row").vars(role))
    lists = {"policy.retention": items or [], "accounts": []}
    checks = [c for claim in load_catalogue([DEFAULT_DIR]) for c in expand(claim, lists, common=common)]
    return next(c for c in checks if c.check_id == check_id)


def _validate(tmp_path: Path, check, setup: str, params: dict) -> object:
    """Run one catalogue check with Great Expectations on a small store built by ``setup``."""
    from datamap.audit.validation import Validator

    store = tmp_path / "store.sqlite"
    with sqlite3.connect(store) as db:
        db.executescript(setup)
        put_params(db, params)
    validator = Validator(store, tmp_path / "docs", run_name="t")
    try:
        return validator.run_sql(check)
    finally:
        validator.close()


RETENTION = {"system": "zoho_crm", "dataset": "zoho_crm", "collection": "contacts",
             "date_column": "last_activity_time", "table": "zoho_crm__contacts", "key": "record_id"}


def test_records_past_retention_are_judged_per_day_exactly_as_per_record(tmp_path):
    check = _check("P05.retention.zoho_crm.contacts", [RETENTION])
    setup = """
        CREATE TABLE zoho_crm__contacts (_row INTEGER, record_id TEXT, last_activity_time TEXT);
        INSERT INTO zoho_crm__contacts VALUES
          (1, 'C1', '2024-11-23 23:59:59'),  -- kept until 2026-11-23: expired
          (2, 'C2', '2024-11-24 00:00:00'),  -- kept until the audit date itself: not a finding
          (3, 'C3', '2024-11-23 08:00:00'),  -- the same day as C1: expired too
          (4, 'C4', NULL),                   -- no date never expires
          (5, 'C5', '2024-02-29');           -- a leap day + P2Y clamps to 2026-02-28: expired
        CREATE TABLE zoho_crm__contacts__identifiers (record_key TEXT, kind TEXT, value TEXT);
        INSERT INTO zoho_crm__contacts__identifiers VALUES ('C1', 'email', 'c1@example.nl');
    """
    params = {"as_of": "2026-11-24", "fiscal_year_end": "12-31",
              "retention.zoho_crm.contacts.anchor": "date", "retention.zoho_crm.contacts.period": "P2Y"}
    outcome = _validate(tmp_path, check, setup, params)
    got = {(r["record"], r["kept_until"], r["email"]) for r in outcome.rows}
    assert got == {("C1", "2026-11-23", "c1@example.nl"), ("C3", "2026-11-23", None), ("C5", "2026-02-28", None)}
    assert outcome.rows_examined == 5


def test_a_privacy_mail_counts_as_answered_only_by_a_reply_within_the_deadline(tmp_path):
    check = _check("P09.privacy_mail_answered")
    setup = """
        CREATE TABLE zoho_mail__messages (_row INTEGER, message_id TEXT, mailbox TEXT, from_addr TEXT,
                                          date TEXT, in_reply_to TEXT, from_addr__norm TEXT);
        INSERT INTO zoho_mail__messages VALUES
          (1, 'in1@x', 'privacy_inbox', 'a@klant.nl', '2026-01-10 09:00:00', NULL, 'a@klant.nl'),
          (2, 'in2@x', 'privacy_inbox', 'b@klant.nl', '2026-01-10 09:00:00', NULL, 'b@klant.nl'),
          (3, 'in3@x', 'privacy_inbox', 'c@klant.nl', '2026-01-10 09:00:00', NULL, 'c@klant.nl'),
          (4, 'in4@x', 'privacy_inbox', 'd@klant.nl', '2026-01-10 09:00:00', NULL, 'd@klant.nl'),
          (5, 'in5@x', 'privacy_inbox', 'e@apora.nl', '2026-01-10 09:00:00', NULL, 'e@apora.nl'),
          (6, 'in6@x', 'privacy_inbox', 'f@klant.nl', '2026-11-20 09:00:00', NULL, 'f@klant.nl'),
          (1, 'out1@x', 'sent', 'privacy@apora.nl', '2026-02-10 17:00:00', 'in1@x', 'privacy@apora.nl'),
          (2, 'out2@x', 'sent', 'privacy@apora.nl', '2026-02-11 08:00:00', 'in2@x', 'privacy@apora.nl'),
          (3, 'out3a@x', 'sent', 'privacy@apora.nl', '2026-03-01 08:00:00', 'in3@x', 'privacy@apora.nl'),
          (4, 'out3b@x', 'sent', 'privacy@apora.nl', '2026-01-12 08:00:00', 'in3@x', 'privacy@apora.nl'),
          (5, 'out3c@x', 'sent', 'privacy@apora.nl', '2026-01-13 08:00:00', 'in3@x', 'privacy@apora.nl');
    """
    params = {"as_of": "2026-11-24", "requests.deadline": "P1M", "recipients.own_domains": ["apora.nl"]}
    outcome = _validate(tmp_path, check, setup, params)
    # in1 answered on its last day, in3 answered in time (and late too, and twice): not findings;
    # in2 answered a day late, in4 never; in5 is from the own domain, in6 is not due yet
    assert sorted((r["message_id"], r["due_on"]) for r in outcome.rows) == [("in2@x", "2026-02-10"),
                                                                           ("in4@x", "2026-02-10")]


def test_rows_and_restricted_records_beyond_ges_first_page_are_all_returned(tmp_path):
    from datamap.audit.validation import PAGE

    check = _check("P08.erasure_propagated")
    rows = PAGE * 2 + 50
    leads = ", ".join(f"({n}, 'L{n}')" for n in range(1, rows + 1))
    invoices = ", ".join(f"('zoho_books__invoices', 'INV{n}', 'email', 'gone@klant.nl')" for n in range(1, rows + 1))
    due = ", ".join(f"('zoho_books__invoices', 'INV{n}', '2030-12-31', 'AWR art. 52')" for n in range(1, rows + 1))
    setup = f"""
        CREATE TABLE governance__privacy_requests (_row INTEGER, request_id TEXT, type TEXT, subject_email TEXT,
                                                   received TEXT, completed TEXT, subject_email__norm TEXT);
        INSERT INTO governance__privacy_requests VALUES
          (1, 'REQ-1', 'Erasure', 'gone@klant.nl', '2026-01-02', '2026-01-20', 'gone@klant.nl');
        CREATE TABLE zoho_crm__leads (_row INTEGER, record_id TEXT);
        INSERT INTO zoho_crm__leads VALUES {leads};
        CREATE TABLE identifiers (tbl TEXT, record_key TEXT, kind TEXT, value TEXT);
        INSERT INTO identifiers SELECT 'zoho_crm__leads', record_id, 'email', 'gone@klant.nl' FROM zoho_crm__leads;
        INSERT INTO identifiers VALUES {invoices};
        CREATE TABLE retention_due (tbl TEXT, record_key TEXT, kept_until TEXT, legal_duty TEXT);
        INSERT INTO retention_due VALUES {due};
    """
    params = {"as_of": "2026-11-24", "subject.tables": ["zoho_crm__leads", "zoho_books__invoices"]}
    outcome = _validate(tmp_path, check, setup, params)
    assert sorted(r["record_key"] for r in outcome.rows) == sorted(f"L{n}" for n in range(1, rows + 1))
    assert sorted(r["record_key"] for r in outcome.restricted) == sorted(f"INV{n}" for n in range(1, rows + 1))


def _texts(frame) -> list[list[str | None]]:
    """A frame's values as discovery reads them: text, with NULL, NaN and NA all missing."""
    import pandas as pd

    return [[None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v) for v in row]
            for row in frame.itertuples(index=False)]


def test_discovery_finds_the_same_in_the_staged_store_as_in_the_sources(demo_workspace, tmp_path):
    from datamap import discovery
    from datamap.map import load_map
    from datamap.sources import collections
    from datamap.store import stage
    from datamap.workspace import load_workspace

    ws_dir = Path(shutil.copytree(demo_workspace, tmp_path / "ws", ignore=shutil.ignore_patterns(".datamap")))
    staged = stage(ws_dir)
    store = Path(staged.path)
    assert not staged.errors()
    staged.close()
    ws = load_workspace(ws_dir)
    data_map = load_map(ws)
    from_sources = discovery.scan(ws, data_map, sample_rows=100)
    from_store = discovery.scan(ws, data_map, sample_rows=100, store=store, staged=collections(ws))
    assert from_store.detections == from_sources.detections
    assert [f.to_dict() for f in from_store.findings] == [f.to_dict() for f in from_sources.findings]
    assert (from_store.notes, from_store.errors) == (from_sources.notes, from_sources.errors)
    # the mail sample spans both mailboxes, in file order, as the mbox reader gives it
    with sqlite3.connect(store) as db:
        for dataset, collection in collections(ws):
            frame = discovery.sample_staged(db, ws, dataset, collection, 100)
            source = discovery.sample(ws, dataset, collection, 100)
            source = source[[c for c in source.columns if c in frame.columns]]
            assert list(frame.columns) == list(source.columns), (dataset, collection)
            assert _texts(frame) == _texts(source), (dataset, collection)


def test_discovery_reads_the_source_of_a_collection_the_store_lacks(demo_workspace, tmp_path):
    from datamap import discovery
    from datamap.map import load_map
    from datamap.sources import collections
    from datamap.workspace import load_workspace

    ws = load_workspace(demo_workspace)
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()
    result = discovery.scan(ws, load_map(ws), sample_rows=50, store=empty, staged=collections(ws))
    assert result.detections == discovery.scan(ws, load_map(ws), sample_rows=50).detections
