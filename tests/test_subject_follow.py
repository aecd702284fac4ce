"""Subject matching follows the identifiers found on the person's confirmed records (bounded, explained).

The estate below is built by hand around one person, Anna Jansen (anna@jansen.example), so that
every path is known: her invoice records the IBAN it is collected from, and the payment holds
only that IBAN; her portal account leads to her Books customer, which leads to a second
account, which leads to a notice notification (one step too many); a household IBAN and an
office line are shared with other people; a staff member wrote to her.
"""
from __future__ import annotations

import datetime as dt

import pytest
import yaml

from fixtures_store import build_store, demo  # noqa: F401 -- demo is a fixture

from datamap.subject import match as subject_match
from datamap.subject import Subject, build_export, find, match_table, read_map, validate_export
from datamap.workspace import load_workspace

ANNA = "anna@jansen.example"
ANNA_WORK = "anna@jansen-advies.example"
BAS = "bas@deboer.example"
STAFF = "sanne.deboer@apora.nl"
IBAN_ANNA = "NL91 ABNA 0417 1643 00"      # hers alone: on her invoice and on the payment
IBAN_HOUSEHOLD = "NL20INGB0001234567"     # the household account she shares with Bas de Boer
MOBILE = "06 1111 2222"                   # hers
OFFICE = "030 123 4567"                   # the office line of Jansen Advies, also Kees Visser's

TABLES = {
    "zoho_crm__contacts": ("zoho_crm", "contacts", ["record_id", "first_name", "last_name", "email", "phone", "mobile", "mailing_city"], [
        ("1", "Anna", "Jansen", ANNA, OFFICE, MOBILE, "Utrecht"),
        ("2", "Bas", "de Boer", BAS, None, None, "Utrecht"),
    ]),
    "zoho_crm__accounts": ("zoho_crm", "accounts", ["record_id", "account_name", "phone"], [
        ("9", "Jansen Advies", OFFICE),   # the company, not the person
    ]),
    "zoho_books__invoices": ("zoho_books", "invoices", ["invoice_number", "email", "contact_person", "iban"], [
        ("INV-00123", ANNA, "Anna Jansen", IBAN_ANNA),
        ("INV-00124", ANNA, "Anna Jansen", IBAN_HOUSEHOLD),
        ("INV-00300", BAS, "Bas de Boer", IBAN_HOUSEHOLD),
    ]),
    "zoho_books__customer_payments": ("zoho_books", "customer_payments", ["payment_number", "invoice_number", "bank_account"], [
        ("1", "INV-00123", IBAN_ANNA),
        ("2", "INV-00124", IBAN_HOUSEHOLD),
    ]),
    "zoho_books__customers": ("zoho_books", "customers", ["customer_id", "first_name", "last_name", "email_id", "customer_number"], [
        ("460001", "Anna", "Jansen", ANNA_WORK, "APR-100001"),
    ]),
    "customer_portal__accounts": ("customer_portal", "accounts", ["account_id", "customer_number", "email"], [
        ("7", "APR-100001", ANNA),
        ("8", "APR-100002", ANNA_WORK),
    ]),
    "governance__notice_notifications": ("governance", "notice_notifications", ["customer_number", "version"], [
        ("APR-100002", "3"),
    ]),
    "zoho_desk__tickets": ("zoho_desk", "tickets", ["ticket_id", "contact_name", "email", "phone"], [
        ("41", "A. Jansen", None, MOBILE),
        ("42", "Kees Visser", None, OFFICE),
    ]),
    "zoho_mail__messages": ("zoho_mail", "messages", ["message_id", "from_addr", "to_addrs", "subject"], [
        ("m1@mail.apora.nl", STAFF, ANNA, "Uw offerte"),
    ]),
}
KINDS = {"email": "email", "email_id": "email", "from_addr": "email", "to_addrs": "email", "phone": "phone", "mobile": "phone",
         "iban": "iban", "bank_account": "iban", "customer_number": "customer_number",
         "first_name": "name", "last_name": "name", "contact_name": "name", "contact_person": "name"}

def _collection(name: str, key: str, columns: list[str]) -> dict:
    return {"name": name, "fields": [{"name": c, "fides_meta": {"primary_key": True}} if c == key else {"name": c, "data_categories": ["user.contact"]}
                                     for c in columns]}


def _system(key: str, dataset: str) -> dict:
    return {"fides_key": key, "name": key, "system_type": "Application", "dataset_references": [dataset],
            "privacy_declarations": [{"data_use": "essential.service", "data_categories": ["user.contact"]}]}


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    root = tmp_path_factory.mktemp("follow")
    datasets: dict[str, list[dict]] = {}
    for dataset, collection, columns, _ in TABLES.values():
        datasets.setdefault(dataset, []).append(_collection(collection, columns[0], columns))
    systems = [_system(d, d) for d in datasets if d != "governance"] + [_system("privacy_office", "governance")]
    (root / "manifests").mkdir()
    (root / "manifests" / "map.yml").write_text(yaml.safe_dump({
        "organization": [{"fides_key": "apora", "name": "Apora B.V."}], "system": systems,
        "dataset": [{"fides_key": d, "collections": cs} for d, cs in datasets.items()]}))
    (root / "sources.yml").write_text(yaml.safe_dump({"version": 1, "datasets": {
        d: {"product": d, "collections": {c["name"]: {"file": f"exports/{d}/{c['name']}.csv"} for c in cs}} for d, cs in datasets.items()}}))
    (root / "policy.yml").write_text(yaml.safe_dump({
        "version": 1, "organization": "apora", "as_of": "2026-11-24",
        "notice": {"file": "notice/privacybeleid.txt", "purposes": [
            {"key": "service", "text": "onze dienstverlening", "data_uses": ["essential.service"], "legal_basis": "Contract"}]},
        "retention": [], "access": {"roles": {"sales": []}}, "recipients": {"own_domains": ["apora.nl"]},
        "requests": {"privacy_mailbox": "privacy@apora.nl"}}))
    ro = build_store(root / "store.sqlite", [(t, d, c, f"exports/{d}/{c}.csv", cols, rows) for t, (d, c, cols, rows) in TABLES.items()],
                     KINDS)
    return load_workspace(root), read_map(load_workspace(root)), ro


def by_record(matches):
    return {(m.system, m.collection, m.record_key): (m.confidence, m.reasons) for m in matches}


def anna(con, dm, include_candidates=False):
    return find(con, dm, Subject.of(email=[ANNA]), own_domains=["apora.nl"], include_candidates=include_candidates)


# Her records found by the e-mail she gave, exactly as before identifiers were followed.
DIRECT = {
    ("customer_portal", "accounts", "7"): (1.0, ("email equal",)),
    ("zoho_books", "invoices", "INV-00123"): (1.0, ("email equal", "name as on the matched records 100/100")),
    ("zoho_books", "invoices", "INV-00124"): (1.0, ("email equal", "name as on the matched records 100/100")),
    ("zoho_crm", "contacts", "1"): (1.0, ("email equal", "name as on the matched records 100/100")),
    ("zoho_mail", "messages", "m1@mail.apora.nl"): (1.0, ("email equal",)),
}
FOLLOWED = {
    ("zoho_books", "customer_payments", "1"): (0.95, ("iban equal to the one on zoho_books.invoices INV-00123",)),
    ("zoho_books", "customers", "460001"): (0.95, ("customer_number equal to the one on customer_portal.accounts 7",
                                                  "name as on the matched records 100/100")),
    ("customer_portal", "accounts", "8"): (0.9, ("email equal to the one on zoho_books.customers 460001 (2 steps from the request)",)),
    ("zoho_desk", "tickets", "41"): (0.85, ("phone equal to the one on zoho_crm.contacts 1", "name as on the matched records 95/100")),
}


def test_her_payment_holding_only_her_iban_is_found_through_the_iban_on_her_invoice(estate):
    ws, dm, con = estate
    found = by_record(anna(con, dm))
    assert found[("zoho_books", "customer_payments", "1")] == (0.95, ("iban equal to the one on zoho_books.invoices INV-00123",))
    assert found == {**DIRECT, **FOLLOWED}


def test_the_match_table_and_the_export_say_which_record_led_to_the_payment(estate):
    ws, dm, con = estate
    matches = anna(con, dm)
    row = next(r for r in match_table(matches) if r["collection"] == "customer_payments")
    assert row == {"system": "zoho_books", "collection": "customer_payments", "record_key": "1", "confidence": 0.95,
                   "reported": True, "matched_on": "iban equal to the one on zoho_books.invoices INV-00123"}
    doc = build_export(con, ws, dm, Subject.of(email=[ANNA]), matches, generated=dt.datetime(2026, 11, 24, tzinfo=dt.timezone.utc))
    validate_export(doc)
    books = next(s for s in doc["systems"] if s["system"] == "zoho_books")
    payment = next(r for r in books["records"] if r["collection"] == "customer_payments")
    assert (payment["record_key"], payment["matched_on"], payment["confidence"]) == (
        "1", ["iban equal to the one on zoho_books.invoices INV-00123"], 0.95)
    assert {f["name"]: f["value"] for f in payment["fields"]}["bank_account"] == IBAN_ANNA


def test_following_stops_after_two_steps(estate, monkeypatch):
    ws, dm, con = estate
    found = by_record(anna(con, dm, include_candidates=True))
    # her portal account -> her Books customer (1 step) -> her second account (2 steps) -> its notice (3: not followed)
    assert found[("customer_portal", "accounts", "8")] == FOLLOWED[("customer_portal", "accounts", "8")]
    assert ("privacy_office", "notice_notifications", "APR-100002") not in found
    monkeypatch.setattr(subject_match, "MAX_HOPS", 3)  # the bound, not something else, is what stops it
    assert by_record(anna(con, dm))[("privacy_office", "notice_notifications", "APR-100002")] == (
        0.85, ("customer_number equal to the one on customer_portal.accounts 8 (3 steps from the request)",))


def test_a_shared_iban_is_not_followed_into_the_other_persons_records(estate):
    ws, dm, con = estate
    found = by_record(anna(con, dm, include_candidates=True))
    via = "iban equal to the one on zoho_books.invoices INV-00124"
    assert found[("zoho_books", "invoices", "INV-00300")] == (0.4, (f"{via}, but the record names someone else",))
    assert found[("zoho_books", "customer_payments", "2")] == (0.5, (f"{via}, but that iban is shared with someone else: not followed",))
    assert ("zoho_crm", "contacts", "2") not in found  # Bas's own contact: his e-mail on his invoice is never followed
    reported = by_record(anna(con, dm))
    assert not {("zoho_books", "invoices", "INV-00300"), ("zoho_books", "customer_payments", "2")} & reported.keys()


def test_a_shared_office_line_is_not_followed_but_her_own_mobile_is(estate):
    ws, dm, con = estate
    found = by_record(anna(con, dm, include_candidates=True))
    via = "phone equal to the one on zoho_crm.contacts 1"
    assert found[("zoho_desk", "tickets", "41")] == FOLLOWED[("zoho_desk", "tickets", "41")]
    assert found[("zoho_desk", "tickets", "42")] == (0.4, (f"{via}, but the record names someone else",))
    assert found[("zoho_crm", "accounts", "9")] == (0.5, (f"{via}, but that phone is shared with someone else: not followed",))


def test_records_found_by_her_own_identifiers_are_unchanged(estate, monkeypatch):
    ws, dm, con = estate
    found = by_record(anna(con, dm))
    assert {k: found[k] for k in DIRECT} == DIRECT
    monkeypatch.setattr(subject_match, "MAX_HOPS", 0)  # nothing followed
    assert by_record(anna(con, dm)) == DIRECT


def test_a_staff_members_request_does_not_take_in_the_customer_she_wrote_to(estate):
    ws, dm, con = estate
    found = find(con, dm, Subject.of(email=[STAFF]), own_domains=["apora.nl"], include_candidates=True)
    assert by_record(found) == {("zoho_mail", "messages", "m1@mail.apora.nl"): (1.0, ("email equal",))}


# --- on the demo estate --------------------------------------------------------------------------


def test_on_the_demo_the_company_account_behind_his_office_phone_stays_a_candidate(demo):
    ws, dm, con, expected = demo
    found = find(con, dm, Subject.of(email=[expected["subject"]["email"]]), own_domains=ws.policy.recipients.own_domains,
                 include_candidates=True)
    contact = next(r["record_key"] for r in expected["records"] if r["collection"] == "contacts")
    account = [(m.confidence, m.reasons) for m in found if m.collection == "accounts" and m.system == "zoho_crm"]
    assert account == [(0.5, (f"phone equal to the one on zoho_crm.contacts {contact}, but the record does not name the person: "
                              "perhaps an office or household line",))]
    assert [m.where() for m in found if m.is_subject] == expected["records"]  # the payment too, through his invoice number


def test_on_the_demo_a_staff_members_request_finds_no_customer_he_wrote_to(demo):
    """Daan's messages hold the customers' addresses; they are the customers', not his (followed before, at 0.95)."""
    ws, dm, con, expected = demo
    found = find(con, dm, Subject.of(email=["daan.smit@apora.nl"]), own_domains=ws.policy.recipients.own_domains)
    assert {(m.system, m.collection) for m in found} == {("hr_roster", "roster"), ("zoho_crm", "users"), ("zoho_salesiq", "users"),
                                                         ("zoho_mail", "users"), ("zoho_mail", "messages"), ("zoho_mail", "message_trace")}
    assert all(m.reasons[0] == "email equal" for m in found)
