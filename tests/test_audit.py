"""The audit on a small hand-made workspace and store (docs/design.md table and column names).

Every planted case and near-miss below is written by hand with the date arithmetic of
docs/rules.md (AS_OF 2026-11-24), so each assertion names exactly the records that must be found.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import textwrap
from pathlib import Path

import pytest

from datamap.audit.catalogue import DEFAULT_DIR, load_catalogue
from datamap.audit.run import Staged, run_audit
from datamap.errors import BadInput

MANIFESTS = {
    "systems.yml": """
        system:
        - {fides_key: zoho_crm, name: CRM, system_type: Application, dataset_references: [zoho_crm], privacy_declarations: []}
        - {fides_key: zoho_books, name: Books, system_type: Application, dataset_references: [zoho_books], privacy_declarations: []}
        - {fides_key: zoho_desk, name: Desk, system_type: Application, dataset_references: [zoho_desk], privacy_declarations: []}
        - {fides_key: zoho_salesiq, name: SalesIQ, system_type: Application, dataset_references: [zoho_salesiq], privacy_declarations: []}
        - {fides_key: zoho_mail, name: Mail, system_type: Application, dataset_references: [zoho_mail], privacy_declarations: []}
        - {fides_key: customer_portal, name: Portal, system_type: Application, dataset_references: [customer_portal], privacy_declarations: []}
        - {fides_key: hr_roster, name: HR, system_type: Application, dataset_references: [hr], privacy_declarations: []}
        - {fides_key: privacy_office, name: Privacy office, system_type: Application, dataset_references: [governance], privacy_declarations: []}
        """,
    "datasets.yml": """
        dataset:
        - fides_key: zoho_crm
          collections:
          - name: leads
            fields:
            - {name: record_id, fides_meta: {primary_key: true}}
            - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
          - name: users
            fields:
            - {name: email, data_categories: [user.contact.email]}
        - fides_key: zoho_books
          collections:
          - name: invoices
            fields:
            - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
          - name: customer_payments
            fields:
            - {name: bank_account, data_categories: [user.financial.bank_account]}
          - name: users
            fields:
            - {name: email, data_categories: [user.contact.email]}
        - fides_key: customer_portal
          collections:
          - name: accounts
            fields:
            - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
          - name: trials
            fields: []
        - fides_key: hr
          collections:
          - name: roster
            fields: []
        - fides_key: governance
          collections:
          - name: privacy_requests
            fields:
            - {name: subject_email, data_categories: [user.contact.email], fides_meta: {identity: email}}
          - name: access_reviews
            fields: []
        - fides_key: zoho_desk
          collections:
          - name: users
            fields: []
        - fides_key: zoho_salesiq
          collections:
          - name: users
            fields: []
        - fides_key: zoho_mail
          collections:
          - name: users
            fields: []
        """,
}

SOURCES = """
    version: 1
    datasets:
      zoho_crm: {product: zoho_crm, collections: {leads: {file: exports/Leads.csv}, users: {file: exports/CrmUsers.csv}}}
      zoho_books:
        product: zoho_books
        collections: {invoices: {file: exports/Invoices.csv}, customers: {file: exports/Customers.csv},
                      users: {file: exports/BooksUsers.csv}}
      zoho_desk: {product: zoho_desk, collections: {users: {file: exports/DeskUsers.xlsx}}}
      zoho_salesiq: {product: zoho_salesiq, collections: {users: {file: exports/IqUsers.csv}}}
      zoho_mail: {product: zoho_mail, collections: {users: {file: exports/MailUsers.csv}}}
      customer_portal:
        product: customer_portal
        url: sqlite:///portal/portal.db
        collections: {accounts: {table: accounts}, trials: {table: trials}, cookie_log: {table: cookie_log},
                      portal_users: {table: portal_users}}
      hr: {product: hr, collections: {roster: {file: hr/roster.csv}}}
      governance:
        product: governance
        collections: {privacy_requests: {file: governance/privacy_requests.csv}, access_reviews: {file: governance/access_reviews.csv}}
    """

POLICY = """
    version: 1
    organization: apora
    as_of: 2026-11-24
    notice:
      file: notice/privacybeleid.txt
      purposes: [{key: contact, text: contact, data_uses: [essential.service.operations.support]}]
    retention:
      - {system: zoho_crm, collection: leads, period: P1Y, date_column: last_activity_time}
      - {system: zoho_books, collection: invoices, period: P7Y, date_column: invoice_date, anchor: fiscal_year_end,
         legal_duty: "AWR art. 52"}
    access:
      roles: {sales: [user.contact], finance: [user.financial.bank_account, user.contact]}
      restricted_categories: {user.financial.bank_account: [finance, management]}
      review_interval: P1Y
      deactivation_grace: P7D
      reviewed_systems: [zoho_crm, zoho_books]
    recipients: {own_domains: [apora.nl]}
    requests: {deadline: P1M, extension: P2M, privacy_mailbox: privacy@apora.nl}
    trials: {max_days: 14}
    functional_mailboxes: [privacy@apora.nl, sales@apora.nl]  # shown as they are; sam@ is a person's
    """

STORE = """
CREATE TABLE zoho_crm__leads (record_id TEXT, email TEXT, email__norm TEXT, last_activity_time TEXT, _row INTEGER);
INSERT INTO zoho_crm__leads VALUES
  ('4150868000000100001', 'Old@Example.nl', 'old@example.nl', '2025-11-23 10:00:00', 1),  -- 1Y after: 2026-11-23 < AS_OF
  ('4150868000000100002', 'edge@example.nl', 'edge@example.nl', '2025-11-24 18:00:00', 2), -- exactly on the limit
  ('4150868000000100003', NULL, NULL, NULL, 3),                                              -- no activity date
  ('4150868000000100004', 'jan@klant.nl', 'jan@klant.nl', '2026-09-01 09:00:00', 4),        -- erased subject left over
  ('4150868000000100005', 'piet@klant.nl', 'piet@klant.nl', '2026-09-01 09:00:00', 5);      -- erasure still open
CREATE TABLE zoho_crm__users (user_id TEXT, full_name TEXT, email TEXT, email__norm TEXT, role TEXT, status TEXT, _row INTEGER);
INSERT INTO zoho_crm__users VALUES
  ('u1', 'Sam Sales', 'sam@apora.nl', 'sam@apora.nl', 'Sales', 'Active', 1),
  ('u2', 'Ext Partner', 'ext@partner.example', 'ext@partner.example', 'Sales', 'Active', 2),        -- not on the roster
  ('u3', 'Dee Parted', 'dee@apora.nl', 'dee@apora.nl', 'Sales', 'Active', 3),                        -- left 2026-11-10
  ('u4', 'Gra Ce', 'grace@apora.nl', 'grace@apora.nl', 'Sales', 'Active', 4),                        -- left 2026-11-17: grace ends on AS_OF
  ('u5', 'Old Partner', 'old@partner.example', 'old@partner.example', 'Sales', 'Inactive', 5),       -- inactive
  ('u6', 'Re Hired', 'rehired@apora.nl', 'rehired@apora.nl', 'Sales', 'Active', 6);                  -- left 2019, back since 2022
CREATE TABLE zoho_books__users (user_id TEXT, full_name TEXT, email TEXT, email__norm TEXT, role TEXT, status TEXT, _row INTEGER);
INSERT INTO zoho_books__users VALUES
  ('b1', 'Sam Sales', 'sam@apora.nl', 'sam@apora.nl', 'Staff', 'Active', 1),                         -- sales on bank data
  ('b2', 'Fin Ance', 'fin@apora.nl', 'fin@apora.nl', 'Admin', 'Active', 2);
CREATE TABLE zoho_desk__users (user_id TEXT, full_name TEXT, email TEXT, email__norm TEXT, role TEXT, status TEXT, _row INTEGER);
INSERT INTO zoho_desk__users VALUES ('d1', 'Sam Sales', 'sam@apora.nl', 'sam@apora.nl', 'Agent', 'Active', 1);
CREATE TABLE zoho_salesiq__users (user_id TEXT, full_name TEXT, email TEXT, email__norm TEXT, role TEXT, status TEXT, _row INTEGER);
CREATE TABLE zoho_mail__users (user_id TEXT, full_name TEXT, email TEXT, email__norm TEXT, role TEXT, status TEXT, _row INTEGER);
INSERT INTO zoho_mail__users VALUES
  ('m1', 'Sales', 'sales@apora.nl', 'sales@apora.nl', 'User', 'Active', 1),  -- a shared mailbox: no one on the roster
  ('m2', 'Sam Sales', 'sam@apora.nl', 'sam@apora.nl', 'User', 'Active', 2);
CREATE TABLE customer_portal__portal_users (user_id INTEGER, email TEXT, email__norm TEXT, full_name TEXT, role TEXT, status TEXT,
  added_at TEXT, _row INTEGER);
INSERT INTO customer_portal__portal_users VALUES (7, 'fin@apora.nl', 'fin@apora.nl', 'Fin Ance', 'admin', 'active', '2020-01-01', 1);
CREATE TABLE zoho_books__customers (customer_id TEXT, emailid TEXT, emailid__norm TEXT, cf_customer_number TEXT,
  cf_customer_number__norm TEXT, _row INTEGER);
INSERT INTO zoho_books__customers VALUES
  ('C1', 'c1@klant.nl', 'c1@klant.nl', 'APR-100001', 'APR-100001', 1),
  ('C2', 'other@klant.nl', 'other@klant.nl', 'apr-100001', 'APR-100001', 2);  -- someone else's number
CREATE TABLE customer_portal__cookie_log (entry_id INTEGER, visitor_id TEXT, cookie TEXT, party TEXT, set_at TEXT,
  trial_click_at TEXT, _row INTEGER);
INSERT INTO customer_portal__cookie_log VALUES
  (1, 'v1', '_ga', 'first', '2026-11-01 10:00:00', NULL, 1),
  (2, 'v2', 'zoho', 'third', '2026-11-01 10:00:00', '2026-11-01 09:59:00', 2),
  (3, 'v3', 'zoho', 'third', '2026-11-01 10:00:00', '2026-11-01 10:00:00', 3),   -- clicked at the same second
  (4, 'v4', 'zoho', 'third', '2026-11-01 10:00:00', NULL, 4),
  (5, 'v5', 'zoho', 'third', '2026-11-01 10:00:00', '2026-11-01 10:05:00', 5);
CREATE TABLE zoho_books__invoices (invoice_date TEXT, invoice_number TEXT, email TEXT, email__norm TEXT, _row INTEGER);
INSERT INTO zoho_books__invoices VALUES
  ('2018-06-01', 'INV-000001', 'a@klant.nl', 'a@klant.nl', 1),   -- fiscal year end 2018-12-31 + 7Y = 2025-12-31
  ('2019-01-01', 'INV-000002', 'jan@klant.nl', 'jan@klant.nl', 2); -- 2019-12-31 + 7Y = 2026-12-31: kept, restricted
CREATE TABLE customer_portal__accounts (account_id INTEGER, customer_number TEXT, customer_number__norm TEXT, email TEXT,
  email__norm TEXT, password_hash TEXT, created_at TEXT, closed_at TEXT, _row INTEGER);
INSERT INTO customer_portal__accounts VALUES (1, 'APR-100001', 'APR-100001', 'c1@klant.nl', 'c1@klant.nl', 'x', '2024-01-01 00:00:00', NULL, 1);
CREATE TABLE customer_portal__trials (trial_id INTEGER, account_id INTEGER, app TEXT, started_at TEXT, ended_at TEXT, _row INTEGER);
INSERT INTO customer_portal__trials VALUES
  (1, 1, 'crm', '2026-10-01 09:00:00', '2026-10-15 17:00:00', 1),  -- 14 calendar days: fine
  (2, 1, 'crm', '2026-10-01 09:00:00', '2026-10-16 08:00:00', 2),  -- 15 days
  (3, 1, 'crm', '2026-11-10 09:00:00', NULL, 3),                   -- running; day 14 is AS_OF
  (4, 1, 'crm', '2026-11-09 09:00:00', NULL, 4);                   -- running past 14 days
CREATE TABLE hr__roster (employee_id TEXT, name TEXT, email TEXT, email__norm TEXT, role TEXT, start_date TEXT, end_date TEXT, _row INTEGER);
INSERT INTO hr__roster VALUES
  ('E1', 'Sam Sales', 'sam@apora.nl', 'sam@apora.nl', 'sales', '2020-01-01', NULL, 1),
  ('E2', 'Dee Parted', 'Dee@Apora.nl', 'dee@apora.nl', 'sales', '2020-01-01', '2026-11-10', 2),
  ('E3', 'Gra Ce', 'grace@apora.nl', 'grace@apora.nl', 'sales', '2020-01-01', '2026-11-17', 3),
  ('E4', 'Fin Ance', 'fin@apora.nl', 'fin@apora.nl', 'finance', '2020-01-01', NULL, 4),
  ('E5', 'Re Hired', 'rehired@apora.nl', 'rehired@apora.nl', 'sales', '2015-01-01', '2019-06-30', 5),
  ('E6', 'Re Hired', 'rehired@apora.nl', 'rehired@apora.nl', 'sales', '2022-01-01', NULL, 6);
CREATE TABLE governance__privacy_requests (request_id TEXT, type TEXT, subject_email TEXT, subject_email__norm TEXT,
  received TEXT, completed TEXT, extended INTEGER, details TEXT, _row INTEGER);
INSERT INTO governance__privacy_requests VALUES
  ('REQ-1', 'erasure', 'Jan@Klant.nl', 'jan@klant.nl', '2026-01-31', '2026-03-01', 0, NULL, 1),  -- due 2026-02-28
  ('REQ-2', 'erasure', 'piet@klant.nl', 'piet@klant.nl', '2026-10-20', NULL, 0, NULL, 2),       -- open, due 2026-11-20
  ('REQ-3', 'access', 'x@klant.nl', 'x@klant.nl', '2026-06-10', '2026-09-10', 1, NULL, 3),      -- extended: due 2026-09-10
  ('REQ-4', 'access', 'y@klant.nl', 'y@klant.nl', '2026-10-24', NULL, 0, NULL, 4),              -- due on AS_OF
  ('REQ-5', 'correction', 'edge@example.nl', 'edge@example.nl', '2026-11-01', '2026-11-02', 0,
   'Phone: 06-12345678 -> 06-87654321', 5),                                     -- lead 2 still has the old number
  ('REQ-6', 'correction', 'old@example.nl', 'old@example.nl', '2026-11-01', NULL, 0,
   'Phone: 06-11111111 -> 06-22222222', 6),                                     -- not completed: not judged
  ('REQ-7', 'correction', 'new@klant.nl', 'new@klant.nl', '2026-11-01', '2026-11-03', 0,
   'Email: A@Klant.nl -> new@klant.nl', 7);                                     -- invoice 1 still under the old address
CREATE TABLE governance__access_reviews (system TEXT, reviewed_on TEXT, reviewer TEXT, _row INTEGER);
INSERT INTO governance__access_reviews VALUES
  ('zoho_crm', '2024-01-10', 'R', 1), ('zoho_crm', '2025-11-24', 'R', 2),  -- latest + 1Y = AS_OF
  ('zoho_books', '2025-11-23', 'R', 3);
CREATE TABLE identifiers (tbl TEXT, record_key TEXT, kind TEXT, value TEXT);
INSERT INTO identifiers VALUES
  ('zoho_crm__leads', '4150868000000100001', 'email', 'old@example.nl'),
  ('zoho_crm__leads', '4150868000000100002', 'email', 'edge@example.nl'),
  ('zoho_crm__leads', '4150868000000100002', 'phone', '+31612345678'),
  ('zoho_crm__leads', '4150868000000100001', 'phone', '+31611111111'),
  ('zoho_crm__leads', '4150868000000100004', 'email', 'jan@klant.nl'),
  ('zoho_crm__leads', '4150868000000100005', 'email', 'piet@klant.nl'),
  ('zoho_books__invoices', 'INV-000001', 'email', 'a@klant.nl'),
  ('zoho_books__invoices', 'INV-000002', 'email', 'jan@klant.nl'),
  ('governance__privacy_requests', 'REQ-1', 'email', 'jan@klant.nl'),
  ('customer_portal__accounts', '1', 'email', 'c1@klant.nl');
CREATE TABLE _provenance (tbl TEXT PRIMARY KEY, dataset TEXT, collection TEXT, source TEXT, sha256 TEXT, url TEXT, rows INTEGER, read_at TEXT);
INSERT INTO _provenance (tbl, dataset, collection, source) VALUES
  ('zoho_crm__leads', 'zoho_crm', 'leads', 'exports/Leads.csv'),
  ('zoho_crm__users', 'zoho_crm', 'users', 'exports/CrmUsers.csv'),
  ('zoho_books__invoices', 'zoho_books', 'invoices', 'exports/Invoices.csv'),
  ('governance__privacy_requests', 'governance', 'privacy_requests', 'governance/privacy_requests.csv');
"""

PORTAL = """
CREATE TABLE accounts (account_id INTEGER PRIMARY KEY, customer_number TEXT, email TEXT, password_hash TEXT, created_at TEXT, closed_at TEXT);
INSERT INTO accounts VALUES
  (1, 'APR-100001', 'c1@klant.nl', 'hunter2', '2024-01-01 00:00:00', NULL),
  (2, 'APR-100002', 'c2@klant.nl', '$2b$12$abcdefghijklmnopqrstuv', '2024-01-01 00:00:00', NULL),
  (3, 'APR-100002', 'c3@klant.nl', '$argon2id$v=19$m=65536$abc', '2024-01-01 00:00:00', NULL),
  (4, 'APR-100004', 'c4@klant.nl', 'pbkdf2_sha256$600000$abc', '2024-01-01 00:00:00', NULL);
"""

CLAIMS = ("P01", "P05", "P07", "P08", "P11", "P14", "P15")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def build(tmp_path: Path) -> dict:
    """A workspace, its staged store and a catalogue of some of the shipped checks (CLAIMS)."""
    ws = tmp_path / "ws"
    for name, text in MANIFESTS.items():
        _write(ws / "manifests" / name, text)
    _write(ws / "sources.yml", SOURCES)
    _write(ws / "policy.yml", POLICY)
    _write(ws / "notice" / "privacybeleid.txt", "Privacybeleid\n")
    (ws / "portal").mkdir()
    with sqlite3.connect(ws / "portal" / "portal.db") as db:
        db.executescript(PORTAL)
    store = tmp_path / "store.sqlite"
    with sqlite3.connect(store) as db:
        db.executescript(STORE)
    tables = ["zoho_crm__leads", "zoho_crm__users", "zoho_books__invoices", "zoho_books__users",
              "zoho_books__customers", "zoho_desk__users", "zoho_salesiq__users", "zoho_mail__users",
              "customer_portal__accounts", "customer_portal__trials", "customer_portal__cookie_log",
              "customer_portal__portal_users", "hr__roster",
              "governance__privacy_requests", "governance__access_reviews"]
    with sqlite3.connect(store) as db:  # each table's own identifiers, as staging writes them beside the united ones
        for table in tables:
            db.execute(f'CREATE TABLE "{table}__identifiers" AS SELECT record_key, kind, value FROM identifiers '
                       "WHERE tbl = ?", (table,))
    catalogue = tmp_path / "checks"
    catalogue.mkdir()
    for claim in CLAIMS:
        shutil.copy(DEFAULT_DIR / f"{claim}.yml", catalogue / f"{claim}.yml")
    return {"ws": ws, "staged": Staged(store, {t: None for t in tables}), "checks": catalogue, "out": tmp_path / "out"}


@pytest.fixture
def handmade(tmp_path, monkeypatch):
    monkeypatch.setenv("DATAMAP_KEY", "audit-test-key-not-secret")
    return build(tmp_path)


@pytest.fixture(scope="module")
def handmade_run(tmp_path_factory):
    """One audit of the hand-made workspace, shared by the tests that only read its results."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATAMAP_KEY", "audit-test-key-not-secret")
        h = build(tmp_path_factory.mktemp("handmade"))
        yield h, audit(h)


def audit(h, staged=None):
    return run_audit(h["ws"], h["out"], progress=False, staged=staged or h["staged"], catalogue_dirs=[h["checks"]])


def keys(run, rule=None):
    return sorted((f.rule, f.system, f.record_key) for f in run.findings if rule is None or f.rule == rule)


def status(run):
    return {c.check: c.status for c in run.checks}


def test_retention_counts_from_the_right_date_with_the_boundary_exact(handmade_run):
    """Leads: 1 year after last activity (the lead active exactly a year ago is not past); invoices: 7 years
    after the end of the invoice's fiscal year (an invoice of 1 January 2019 is kept to 2026-12-31)."""
    handmade, run = handmade_run
    assert keys(run, "retention.expired") == [
        ("retention.expired", "zoho_books", "INV-000001"),
        ("retention.expired", "zoho_crm", "4150868000000100001"),
    ]


def test_erased_subject_left_in_crm_is_found_and_the_invoice_under_fiscal_duty_is_restricted(handmade_run):
    handmade, run = handmade_run
    assert keys(run, "rights.erasure_incomplete") == [("rights.erasure_incomplete", "zoho_crm", "4150868000000100004")]
    erasure = next(c for c in run.checks if c.check == "P08.erasure_propagated")
    assert [(r["request_id"], r["tbl"], r["record_key"], r["kept_until"]) for r in erasure.restricted] == [
        ("REQ-1", "zoho_books__invoices", "INV-000002", "2026-12-31")]
    assert erasure.restricted[0]["subject_ref"].startswith("subj-")


def test_requests_are_overdue_after_the_calendar_month_or_the_extension(handmade_run):
    handmade, run = handmade_run
    assert keys(run, "rights.request_overdue") == [
        ("rights.request_overdue", "privacy_office", "REQ-1"),
        ("rights.request_overdue", "privacy_office", "REQ-2"),
    ]


def test_completed_corrections_are_found_where_the_old_value_remains(handmade_run):
    handmade, run = handmade_run
    assert keys(run, "rights.correction_not_applied") == [
        ("rights.correction_not_applied", "zoho_books", "INV-000001"),
        ("rights.correction_not_applied", "zoho_crm", "4150868000000100002"),
    ]


def test_accounts_are_judged_against_the_hr_roster(handmade_run):
    handmade, run = handmade_run
    assert keys(run, "access.non_employee_account") == [("access.non_employee_account", "zoho_crm", "u2"),
                                                        ("access.non_employee_account", "zoho_mail", "sales@apora.nl")]
    assert keys(run, "access.departed_employee_active") == [("access.departed_employee_active", "zoho_crm", "u3")]
    assert keys(run, "access.role_not_authorized") == [("access.role_not_authorized", "zoho_books", "b1")]


def test_access_review_overdue_and_credentials_checked_in_the_portal_itself(handmade_run):
    handmade, run = handmade_run
    assert keys(run, "access.review_overdue") == [("access.review_overdue", "zoho_books", "zoho_books")]
    assert keys(run, "quality.plaintext_credentials") == [("quality.plaintext_credentials", "customer_portal", "1")]
    plain = next(f for f in run.findings if f.rule == "quality.plaintext_credentials")
    assert plain.evidence["values"] == {"password_hash": "[redacted]"}
    assert [k for k in keys(run, "quality.duplicate_customer_number") if k[1] == "customer_portal"] == [
        ("quality.duplicate_customer_number", "customer_portal", "2"),
        ("quality.duplicate_customer_number", "customer_portal", "3"),
    ]


def test_billing_customer_with_another_persons_customer_number(handmade_run):
    handmade, run = handmade_run
    assert ("quality.duplicate_customer_number", "zoho_books", "C2") in keys(run)
    assert ("quality.duplicate_customer_number", "zoho_books", "C1") not in keys(run)


def test_third_party_cookie_needs_a_trial_click_before_it_is_set(handmade_run):
    handmade, run = handmade_run
    assert keys(run, "cookies.third_party_without_trial_click") == [
        ("cookies.third_party_without_trial_click", "customer_portal", "4"),
        ("cookies.third_party_without_trial_click", "customer_portal", "5"),
    ]


def test_trials_longer_than_fourteen_calendar_days(handmade_run):
    handmade, run = handmade_run
    assert keys(run, "quality.trial_longer_than_14_days") == [
        ("quality.trial_longer_than_14_days", "customer_portal", "2"),
        ("quality.trial_longer_than_14_days", "customer_portal", "4"),
    ]


def test_findings_carry_pseudonymised_evidence_and_no_raw_email(handmade_run):
    handmade, run = handmade_run
    lead = next(f for f in run.findings if f.record_key == "4150868000000100001")
    assert lead.subject_ref and lead.subject_ref.startswith("subj-")
    assert lead.evidence["source"] == "exports/Leads.csv"
    assert lead.evidence["row"] == 1
    assert lead.evidence["values"] == {"counted_from": "2025-11-23 10:00:00", "period": "P1Y", "kept_until": "2026-11-23"}
    text = (handmade["out"] / "findings.json").read_text() + (handmade["out"] / "findings.csv").read_text()
    for raw in ("old@example.nl", "Old@Example.nl", "jan@klant.nl", "ext@partner.example", "dee@apora.nl", "hunter2"):
        assert raw not in text


def test_run_writes_findings_checks_data_docs_and_an_archive_with_hashes(handmade_run):
    handmade, run = handmade_run
    out = handmade["out"]
    assert run.exit_code == 1
    assert run.run_dir.parent == out / "runs"
    for name in ("findings.json", "findings.csv", "checks.json", "comparison.json", "run.json"):
        assert (out / name).is_file() and (run.run_dir / name).is_file()
    checks = json.loads((out / "checks.json").read_text())
    assert {c["status"] for c in checks} == {"passed", "failed"}
    assert all(set(c) >= {"claim", "check", "rule", "status", "reason", "rows_examined", "findings", "seconds"} for c in checks)
    retention = next(c for c in checks if c["check"] == "P05.retention.zoho_crm.leads")
    assert (retention["status"], retention["rows_examined"], retention["findings"]) == ("failed", 5, 1)
    assert (run.run_dir / "data_docs" / "index.html").is_file()
    assert list((run.run_dir / "data_docs" / "validations").rglob("*.html"))
    manifest = json.loads((run.run_dir / "run.json").read_text())
    assert set(manifest["sha256"]) == {"manifests", "policy", "sources_yml", "catalogue", "sources", "store"}
    assert set(manifest["sha256"]["catalogue"]) == {f"checks/{c}.yml" for c in CLAIMS}
    assert not [p for p in (out / "runs").iterdir() if p.name.startswith(".")]


def test_second_run_compares_with_the_first(handmade):
    first = audit(handmade)
    with sqlite3.connect(handmade["staged"].path) as db:
        db.execute("UPDATE zoho_crm__users SET status = 'Inactive' WHERE user_id = 'u2'")
        db.execute("INSERT INTO zoho_crm__users VALUES ('u9', 'New Ext', 'n@x.example', 'n@x.example', 'Sales', 'Active', 9)")
    second = audit(handmade)
    comparison = json.loads((second.run_dir / "comparison.json").read_text())
    assert comparison["previous_run"] == first.run_dir.name
    assert comparison["new"] == [["access.non_employee_account", "zoho_crm", "u9"]]
    assert comparison["resolved"] == [["access.non_employee_account", "zoho_crm", "u2"]]
    assert len(comparison["persisting"]) == len(first.findings) - 1


def test_two_concurrent_audits_each_archive_a_whole_run(handmade):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: audit(handmade), range(2)))
    folders = sorted((handmade["out"] / "runs").iterdir())
    assert [f.name for f in folders] == sorted(r.run_dir.name for r in runs)   # two runs, no temporary leftovers
    for folder in folders:
        assert {tuple(k) for k in _keys_of(folder)} == set(keys(runs[0]))
    assert {tuple(k) for k in _keys_of(handmade["out"])} == set(keys(runs[0]))


def _keys_of(folder: Path) -> list[tuple[str, str, str]]:
    return [(f["rule"], f["system"], f["record_key"]) for f in json.loads((folder / "findings.json").read_text())]


def test_a_source_that_cannot_be_read_stops_exactly_its_checks(handmade):
    staged = handmade["staged"]
    broken = Staged(staged.path, {**staged.status, "hr__roster": "hr/roster.csv: file not found"})
    run = audit(handmade, broken)
    not_run = sorted(c.check for c in run.checks if c.status == "not_run")
    assert not_run == sorted(f"P01.{rule}.{system}" for rule in ("non_employee_account", "departed_employee_active",
                                                                 "role_not_authorized")
                             for system in ("customer_portal", "zoho_books", "zoho_crm", "zoho_desk",
                                            "zoho_mail", "zoho_salesiq"))
    roster = next(c for c in run.checks if c.check == "P01.non_employee_account.zoho_crm")
    assert roster.reason == "source hr.roster could not be read: hr/roster.csv: file not found"
    assert status(run)["P05.retention.zoho_crm.leads"] == "failed"
    assert run.exit_code == 2


def test_no_policy_value_is_written_into_the_catalogue():
    for path in DEFAULT_DIR.glob("P*.yml"):
        text = path.read_text()
        assert "P1Y" not in text and "P7D" not in text and "14 day" not in text.replace("14_days", "")


def test_catalogue_entry_without_rule_is_rejected_naming_file_and_key(tmp_path):
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "P01.yml").write_text(textwrap.dedent("""
        claim: P01
        section: "§01"
        text: only employees
        checks:
          - id: broken
            name: Broken
            severity: high
            kind: sql
            table: t
            query: "SELECT * FROM {batch}"
            finding: {system: s, record_key: "{id}", detail: d}
        """))
    with pytest.raises(BadInput) as err:
        load_catalogue([tmp_path / "checks"])
    assert err.value.line() == "checks/P01.yml: checks.broken.rule: required key is missing"


def test_catalogue_rejects_a_policy_value_written_as_a_parameter(tmp_path):
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "P15.yml").write_text(textwrap.dedent("""
        claim: P15
        section: "§04"
        text: trials stop after two weeks
        checks:
          - id: trials
            name: Trials
            rule: quality.trial_longer_than_14_days
            severity: low
            kind: sql
            table: customer_portal__trials
            params: {trials.max_days: "14"}
            query: "SELECT * FROM {batch}"
            finding: {system: customer_portal, record_key: "{trial_id}", detail: d}
        """))
    with pytest.raises(BadInput) as err:
        load_catalogue([tmp_path / "checks"])
    assert err.value.file == "checks/P15.yml"
    assert err.value.key == "checks.trials.params"
    assert "must be a reference like ${policy.trials.max_days}" in err.value.message


def test_shipped_catalogue_has_every_claim():
    claims = load_catalogue()
    assert [c.claim for c in claims] == [f"P{n:02d}" for n in range(1, 17)]
    rules = {check.rule for c in claims for check in c.checks}
    assert rules >= {
        "access.non_employee_account", "access.departed_employee_active", "access.role_not_authorized",
        "purpose.undeclared_use", "sharing.undeclared_recipient", "sharing.processor_without_dpa",
        "transfer.outside_eea_without_basis", "consent.missing", "consent.opt_out_ignored", "retention.expired",
        "quality.contract_without_customer_name", "rights.correction_not_applied", "rights.erasure_incomplete",
        "rights.request_overdue", "notice.change_not_notified", "access.review_overdue",
        "quality.plaintext_credentials", "discovery.undeclared_personal_data", "notice.category_not_disclosed",
        "quality.duplicate_customer_number", "cookies.third_party_without_trial_click",
        "quality.trial_longer_than_14_days"}


def test_charts_count_findings_per_claim_and_age_records_from_their_own_start(handmade_run):
    from datamap.audit.charts import findings_by_claim, findings_chart, retention_ages, retention_chart

    from datamap.workspace import load_workspace

    handmade, live = handmade_run
    run, ws = live.archived(), load_workspace(handmade["ws"])
    counts = findings_by_claim(run, ws)
    assert counts["P05"] == {"critical": 0, "high": 0, "medium": 2, "low": 0}
    assert counts["P11"] == {"critical": 1, "high": 0, "medium": 1, "low": 0}
    ages = {(a.system, a.collection): a for a in retention_ages(run, ws)}
    leads = ages[("zoho_crm", "leads")]
    # 2025-11-23 + P1Y = 2026-11-23 (365 days): on 2026-11-24 the record is 366/365 of its period old
    assert sorted(round(s, 4) for s in leads.shares) == [round(84 / 365, 4), round(84 / 365, 4), 1.0, round(366 / 365, 4)]
    assert leads.expired == 1
    invoices = ages[("zoho_books", "invoices")]
    # counted from the fiscal year end: 2018-12-31 and 2019-12-31, periods of 7 years
    assert [round(s, 3) for s in invoices.shares] == [round(2885 / 2557, 3), round(2520 / 2557, 3)]
    assert findings_chart(run, ws).axes[0].get_title() == "Findings per claim and severity (as of 2026-11-24)"
    assert retention_chart(run, ws).axes[0].get_title() == "Age of records against their retention period"


OWN_CHECK = """
claim: P17
section: "internal policy"
text: Every lead in the CRM has an e-mail address, or it cannot be answered or erased.
checks:
  - id: leads_have_email
    name: Leads without an e-mail address
    rule: quality.lead_without_email
    severity: low
    kind: sql
    table: zoho_crm__leads
    query: "SELECT record_id, _row FROM {batch} WHERE email__norm IS NULL"
    finding:
      system: zoho_crm
      dataset: zoho_crm
      collection: leads
      record_key: "{record_id}"
      detail: "lead {record_id} has no e-mail address"
"""


def test_a_privacy_officer_adds_a_check_by_adding_yaml(handmade):
    extra = handmade["ws"] / "checks"
    extra.mkdir()
    (extra / "P17.yml").write_text(OWN_CHECK)
    run = run_audit(handmade["ws"], handmade["out"], progress=False, staged=handmade["staged"],
                    catalogue_dirs=[handmade["checks"], extra])
    assert keys(run, "quality.lead_without_email") == [("quality.lead_without_email", "zoho_crm", "4150868000000100003")]
    assert status(run)["P17.leads_have_email"] == "failed"


def test_a_finding_template_naming_a_missing_column_makes_the_check_not_run(handmade):
    extra = handmade["ws"] / "checks"
    extra.mkdir()
    (extra / "P17.yml").write_text(OWN_CHECK.replace('record_key: "{record_id}"', 'record_key: "{lead_id}"'))
    run = run_audit(handmade["ws"], handmade["out"], progress=False, staged=handmade["staged"],
                    catalogue_dirs=[extra])
    check = next(c for c in run.checks if c.check == "P17.leads_have_email")
    assert (check.status, check.reason) == ("not_run", "checks/P17.yml: checks.leads_have_email.finding names "
                                                       "column(s) lead_id that the query does not return")
    assert run.exit_code == 2


def test_more_unexpected_rows_than_ge_returns_at_once_are_all_found(handmade):
    """GE hands back at most 200 unexpected rows per query; the runner pages through the rest."""
    with sqlite3.connect(handmade["staged"].path) as db:
        db.execute("CREATE TABLE zoho_crm__deals (record_id TEXT, deal_name TEXT, account_name TEXT, contact_name TEXT,"
                   " stage TEXT, closing_date TEXT, _row INTEGER)")
        db.executemany("INSERT INTO zoho_crm__deals VALUES (?, 'Offerte', '', NULL, 'Negotiation', '2026-12-01', ?)",
                       [(f"41508680000002{n:05d}", n) for n in range(1, 451)])
        db.execute("INSERT INTO zoho_crm__deals VALUES ('4150868000000300001', 'Lost', '', '', 'Closed Lost', NULL, 451)")
    (handmade["checks"] / "P06.yml").write_bytes((DEFAULT_DIR / "P06.yml").read_bytes())
    staged = Staged(handmade["staged"].path, {**handmade["staged"].status, "zoho_crm__deals": None})
    (handmade["ws"] / "sources.yml").write_text((handmade["ws"] / "sources.yml").read_text().replace(
        "users: {file: exports/CrmUsers.csv}}}", "users: {file: exports/CrmUsers.csv}, deals: {file: exports/Deals.csv}}}"))
    run = audit(handmade, staged)
    deals = keys(run, "quality.contract_without_customer_name")
    assert len(deals) == 450 and len(set(deals)) == 450
    assert deals[0] == ("quality.contract_without_customer_name", "zoho_crm", "4150868000000200001")
    assert deals[-1] == ("quality.contract_without_customer_name", "zoho_crm", "4150868000000200450")
    check = next(c for c in run.checks if c.check == "P06.deals_name_customer")
    assert (check.rows_examined, check.findings) == (451, 450)


def test_great_expectations_runs_without_analytics_or_progress_bars(tmp_path):
    import os

    from datamap.audit.validation import Validator

    db = tmp_path / "s.sqlite"
    sqlite3.connect(db).close()
    validator = Validator(db, tmp_path / "docs", run_name="r")
    assert os.environ["GX_ANALYTICS_ENABLED"] == "false"
    assert validator.context.config.analytics_enabled is False
    bars = validator.context.variables.progress_bars
    assert (bars.globally, bars.metric_calculations) == (False, False)
    validator.close()


def test_an_unreadable_collection_stops_the_checks_that_read_it_and_no_others(handmade):
    staged = handmade["staged"]
    broken = Staged(staged.path, {**staged.status, "zoho_crm__leads": "exports/Leads.csv: no header row"})
    run = audit(handmade, broken)
    assert sorted(c.check for c in run.checks if c.status == "not_run") == [
        "P05.retention.zoho_crm.leads",      # reads the leads
        "P07.corrections_applied",           # looks for the subject in every identity collection
        "P08.erasure_propagated",
    ]
    assert status(run)["P05.retention.zoho_books.invoices"] == "failed"
    assert status(run)["P08.requests_answered_in_time"] == "failed"


def test_great_expectations_reaches_the_portal_through_a_read_only_url(handmade):
    """The pushed-down column checks run on the source itself, so the URL GE builds its engine from is read-only."""
    import sqlite3

    from datamap.audit.run import _sql_source_url
    from datamap.workspace import load_workspace

    url = _sql_source_url(load_workspace(handmade["ws"]), "customer_portal")
    assert "mode=ro" in url
    from sqlalchemy import create_engine, text

    with create_engine(url).connect() as conn:
        with pytest.raises(Exception) as refused:
            conn.execute(text("CREATE TABLE intruder (x int)"))
    assert isinstance(refused.value.orig, sqlite3.OperationalError) and "readonly" in str(refused.value.orig)
