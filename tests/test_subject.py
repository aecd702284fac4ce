"""Subject requests (claims P08, P12): find one person everywhere, export, verify erasure, log deadlines."""
from __future__ import annotations

import datetime as dt
import json

import jsonschema
import pytest
import yaml

from fixtures_store import build_store, demo  # noqa: F401 -- demo is a fixture

from datamap.errors import BadInput
from datamap.subject import (
    Subject, build_export, erasure_check, erasure_checks, find, name_score, read_map, request_log, request_status,
    summary, validate_export, write_export,
)
from datamap.workspace import load_workspace

# --- a small estate by hand: one person (Jan de Vries, Utrecht) and the people around him ------

JAN_EMAIL = "jan.devries@example.nl"
JAN_OLD_EMAIL = "jdevries@oud.example"

TABLES = {
    "zoho_crm__contacts": ("zoho_crm", "contacts", "exports/zoho_crm/Contacts.csv",
                           ["record_id", "first_name", "last_name", "email", "phone", "mailing_city", "account_name", "data_source"], [
        ("1001", "Jan", "de Vries", " JAN.DeVries@example.nl", "06 1234 5678", "Utrecht", "Bakkerij De Vries", "CRM Webform"),
        ("1002", "Jan", "de Vries", "jan@devries-bouw.example", "050 123 4567", "Groningen", "De Vries Bouw", "Import"),
        ("1003", "Jans", "de Vriess", "jans@elders.example", None, "Utrecht", "Elders BV", "Import"),
    ]),
    "zoho_crm__deals": ("zoho_crm", "deals", "exports/zoho_crm/Deals.csv",
                        ["record_id", "contact_name", "account_name"], [
        ("2001", "J. de Vries", "Bakkerij De Vries"),
        ("2002", "Jan de Vries", "De Vries Bouw"),
    ]),
    "zoho_desk__tickets": ("zoho_desk", "tickets", "exports/zoho_desk/Tickets.csv",
                           ["ticket_id", "contact_name", "email", "phone"], [
        ("3001", "Jan de Vriës", None, "+31 6 12345678"),
        ("3002", "Piet Bakker", None, "+31612345678"),
        ("3003", "J. de Vries", JAN_OLD_EMAIL, None),
    ]),
    "zoho_books__invoices": ("zoho_books", "invoices", "exports/zoho_books/Invoices.csv",
                             ["invoice_number", "invoice_date", "email", "contact_person", "billing_city"], [
        ("INV-000001", "2025-03-01", JAN_EMAIL, "Jan de Vries", "Utrecht"),
        ("INV-000002", "2017-06-01", JAN_EMAIL, "Jan de Vries", "Utrecht"),
    ]),
    "customer_portal__accounts": ("customer_portal", "accounts", "portal.db:accounts",
                                  ["account_id", "customer_number", "email", "password_hash"], [
        ("5", "APR-100042", JAN_OLD_EMAIL, "$2b$12$abcdefghijklmnopqrstuv"),
        ("6", "APR-100043", "iemand@anders.example", "$2b$12$zyxwvutsrqponmlkjihgfe"),
    ]),
    "governance__privacy_requests": ("governance", "privacy_requests", "governance/privacy_requests.csv",
                                     ["request_id", "type", "subject_email", "received", "completed", "extended", "details"], [
        ("REQ-0001", "erasure", JAN_EMAIL, "2026-09-01", "2026-09-20", 0, None),
        ("REQ-0002", "access", "a@b.example", "2026-08-01", "2026-09-15", 0, None),
        ("REQ-0003", "access", "c@d.example", "2026-08-01", "2026-10-01", 1, None),
        ("REQ-0004", "erasure", "e@f.example", "2026-11-01", None, 0, None),
        ("REQ-0005", "correction", "g@h.example", "2026-09-01", None, 0, "Phone: 1 -> 2"),
    ]),
}
IDENTIFIER_COLUMNS = {"email": "email", "subject_email": "email", "phone": "phone", "customer_number": "customer_number",
                      "first_name": "name", "last_name": "name", "contact_name": "name", "contact_person": "name"}

DATASETS = [
    {"fides_key": "zoho_crm", "collections": [
        {"name": "contacts", "fields": [
            {"name": "record_id", "fides_meta": {"primary_key": True}, "data_categories": ["system.operations"]},
            {"name": "first_name", "data_categories": ["user.name"]}, {"name": "last_name", "data_categories": ["user.name"]},
            {"name": "email", "data_categories": ["user.contact.email"], "fides_meta": {"identity": "email"}},
            {"name": "phone", "data_categories": ["user.contact.phone_number"]},
            {"name": "mailing_city", "data_categories": ["user.contact.address.city"]},
            {"name": "account_name", "data_categories": ["user.contact.organization"]},
            {"name": "data_source", "data_categories": ["system.operations"]}]},
        {"name": "deals", "fields": [
            {"name": "record_id", "fides_meta": {"primary_key": True}},
            {"name": "contact_name", "data_categories": ["user.name"]}, {"name": "account_name", "data_categories": ["user.contact.organization"]}]}]},
    {"fides_key": "zoho_desk", "collections": [{"name": "tickets", "fields": [
        {"name": "ticket_id", "fides_meta": {"primary_key": True}},
        {"name": "contact_name", "data_categories": ["user.name"]},
        {"name": "email", "data_categories": ["user.contact.email"], "fides_meta": {"identity": "email"}},
        {"name": "phone", "data_categories": ["user.contact.phone_number"]}]}]},
    {"fides_key": "zoho_books", "collections": [{"name": "invoices", "fields": [
        {"name": "invoice_number", "fides_meta": {"primary_key": True}},
        {"name": "invoice_date"}, {"name": "email", "data_categories": ["user.contact.email"], "fides_meta": {"identity": "email"}},
        {"name": "contact_person", "data_categories": ["user.name"]}, {"name": "billing_city", "data_categories": ["user.contact.address.city"]}]}]},
    {"fides_key": "customer_portal", "collections": [{"name": "accounts", "fields": [
        {"name": "account_id", "fides_meta": {"primary_key": True}},
        {"name": "customer_number", "data_categories": ["user.unique_id"]},
        {"name": "email", "data_categories": ["user.contact.email"], "fides_meta": {"identity": "email"}},
        {"name": "password_hash", "data_categories": ["user.authorization.credentials"]}]}]},
    {"fides_key": "governance", "collections": [{"name": "privacy_requests", "fields": [
        {"name": "request_id", "fides_meta": {"primary_key": True}},
        {"name": "subject_email", "data_categories": ["user.contact.email"]}]}]},
]
SYSTEMS = [
    {"fides_key": "zoho_crm", "name": "Zoho CRM", "system_type": "Application", "meta": {"hosted_by": "zoho_corporation"},
     "dataset_references": ["zoho_crm"], "privacy_declarations": [{"data_use": "sales", "data_categories": ["user.name"]}]},
    {"fides_key": "zoho_desk", "name": "Zoho Desk", "system_type": "Application", "meta": {"hosted_by": "zoho_corporation"},
     "dataset_references": ["zoho_desk"], "egress": [{"fides_key": "tevreden", "type": "system", "data_categories": ["user.name"]}],
     "privacy_declarations": [{"data_use": "essential.service.operations.support", "data_categories": ["user.name"]}]},
    {"fides_key": "zoho_books", "name": "Zoho Books", "system_type": "Application", "dataset_references": ["zoho_books"],
     "egress": [{"fides_key": "belastingdienst", "type": "system", "data_categories": ["user.name"]}],
     "privacy_declarations": [{"data_use": "finance", "data_categories": ["user.name"]}]},
    {"fides_key": "customer_portal", "name": "Klantportaal", "system_type": "Application", "dataset_references": ["customer_portal"],
     "privacy_declarations": [{"data_use": "essential.service.authentication", "data_categories": ["user.unique_id"]}]},
    {"fides_key": "privacy_office", "name": "Privacy office", "system_type": "Application", "dataset_references": ["governance"],
     "privacy_declarations": [{"data_use": "essential.legal_obligation", "data_categories": ["user.contact.email"]}]},
    {"fides_key": "zoho_corporation", "name": "Zoho Corporation B.V.", "system_type": "Processor",
     "meta": {"country": "NL", "eea": True}, "does_international_transfers": True, "legal_basis_for_transfers": ["SCCs"],
     "privacy_declarations": []},
    {"fides_key": "tevreden", "name": "Tevreden Enquetes B.V.", "system_type": "Processor", "meta": {"country": "NL", "eea": True},
     "privacy_declarations": []},
    {"fides_key": "belastingdienst", "name": "Belastingdienst", "system_type": "Public Authority", "meta": {"country": "NL", "eea": True},
     "privacy_declarations": []},
]
POLICY = {
    "version": 1, "organization": "apora", "as_of": "2026-11-24",
    "notice": {"file": "notice/privacybeleid.txt", "purposes": [
        {"key": "contracts", "text": "het aangaan en uitvoeren van diensten", "data_uses": ["sales", "finance"], "legal_basis": "Contract"},
        {"key": "contact", "text": "contact voor ondersteuning", "data_uses": ["essential.service.operations.support"], "legal_basis": "Legitimate interests"},
    ]},
    "retention": [
        {"system": "zoho_books", "collection": "invoices", "period": "P7Y", "date_column": "invoice_date", "anchor": "fiscal_year_end",
         "legal_duty": "Algemene wet inzake rijksbelastingen art. 52"},
        {"system": "zoho_crm", "collection": "contacts", "period": "P2Y", "date_column": "last_activity_time"},
    ],
    "access": {"roles": {"sales": []}}, "recipients": {"own_domains": ["apora.nl"]},
    "requests": {"privacy_mailbox": "privacy@apora.nl"},
}


# Where each dataset would live (the store below is built by hand, so these files are never read).
SOURCES = {
    "zoho_crm": {"product": "zoho_crm", "collections": {"contacts": {"file": "exports/zoho_crm/Contacts.csv"},
                                                        "deals": {"file": "exports/zoho_crm/Deals.csv"}}},
    "zoho_desk": {"product": "zoho_desk", "collections": {"tickets": {"file": "exports/zoho_desk/Tickets.csv"}}},
    "zoho_books": {"product": "zoho_books", "collections": {"invoices": {"file": "exports/zoho_books/Invoices.csv"}}},
    "customer_portal": {"product": "customer_portal", "url": "sqlite:///portal/portal.db", "collections": {"accounts": {"table": "accounts"}}},
    "governance": {"product": "governance", "collections": {"privacy_requests": {"file": "governance/privacy_requests.csv"}}},
}


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    root = tmp_path_factory.mktemp("estate")
    (root / "manifests").mkdir()
    (root / "manifests" / "map.yml").write_text(yaml.safe_dump({
        "organization": [{"fides_key": "apora", "name": "Apora B.V."}], "system": SYSTEMS, "dataset": DATASETS}))
    (root / "sources.yml").write_text(yaml.safe_dump({"version": 1, "datasets": SOURCES}))
    (root / "policy.yml").write_text(yaml.safe_dump(POLICY))
    ro = build_store(root / "store.sqlite", [(t, *spec) for t, spec in TABLES.items()], IDENTIFIER_COLUMNS)
    return load_workspace(root), read_map(load_workspace(root)), ro


def where(matches):
    return sorted((m.system, m.collection, m.record_key) for m in matches)


JAN = [
    ("customer_portal", "accounts", "5"),
    ("zoho_books", "invoices", "INV-000001"), ("zoho_books", "invoices", "INV-000002"),
    ("zoho_crm", "contacts", "1001"), ("zoho_crm", "deals", "2001"),
    ("zoho_desk", "tickets", "3001"), ("zoho_desk", "tickets", "3003"),
    ("privacy_office", "privacy_requests", "REQ-0001"),
]


def test_jan_is_found_in_every_system_and_no_namesake_is_taken_for_him(estate):
    ws, dm, con = estate
    subject = Subject.of(email=["Jan.DeVries@example.nl"], phone=["0612345678"], customer_number=["apr-100042"], name=["Jan de Vries"])
    assert where(find(con, dm, subject, own_domains=["apora.nl"])) == sorted(JAN)


def test_each_match_says_why_it_matched_and_how_sure(estate):
    ws, dm, con = estate
    subject = Subject.of(email=[JAN_EMAIL], phone=["0612345678"], customer_number=["APR-100042"], name=["Jan de Vries"])
    got = {(m.system, m.record_key): (m.confidence, m.reasons[0]) for m in find(con, dm, subject)}
    assert got[("zoho_crm", "1001")] == (1.0, "email equal")
    assert got[("zoho_desk", "3001")] == (0.9, "phone equal")
    assert got[("customer_portal", "5")] == (1.0, "customer_number equal")
    assert got[("zoho_desk", "3003")] == (0.95, "email equal to the one on customer_portal.accounts 5")
    assert got[("zoho_crm", "2001")] == (0.85, "name 95/100 and same organisation")


def test_without_a_name_the_names_on_his_matched_records_find_his_deal(estate):
    ws, dm, con = estate
    found = {m.record_key: m for m in find(con, dm, Subject.of(email=[JAN_EMAIL]), include_candidates=True)}
    assert found["2001"].reasons == ("name as on the matched records 95/100 and same organisation",)
    assert not found["2002"].is_subject  # Jan de Vries of De Vries Bouw, Groningen: a namesake
    assert not found["1003"].is_subject  # Jans de Vriess, also in Utrecht


def test_a_name_alone_is_low_confidence_and_not_reported(estate):
    ws, dm, con = estate
    subject = Subject.of(name=["Jan de Vries"])
    assert find(con, dm, subject) == []
    candidates = {m.record_key: m for m in find(con, dm, subject, include_candidates=True)}
    assert candidates["1002"].confidence == 0.5 and not candidates["1002"].is_subject
    assert candidates["1002"].reasons == ("name 100/100 alone",)


def test_a_name_with_the_city_the_requester_gives_is_reported(estate):
    ws, dm, con = estate
    assert where(find(con, dm, Subject.of(name=["Jan de Vries"], city="Groningen"))) == [("zoho_crm", "contacts", "1002")]


def test_a_near_namesake_in_the_same_city_is_not_the_person(estate):
    ws, dm, con = estate
    found = find(con, dm, Subject.of(email=[JAN_EMAIL], name=["Jan de Vries"]), include_candidates=True)
    jans = next(m for m in found if m.record_key == "1003")
    assert not jans.is_subject and jans.reasons == ("name 91/100 alone",)


def test_a_shared_phone_line_naming_someone_else_is_not_the_person(estate):
    ws, dm, con = estate
    found = {m.record_key: m for m in find(con, dm, Subject.of(phone=["0612345678"], name=["Jan de Vries"]), include_candidates=True)}
    assert found["3002"].confidence == 0.4 and not found["3002"].is_subject


@pytest.mark.parametrize("a, b, score", [
    ("Jan de Vries", "Vries, Jan de", 100), ("Jan de Vries", "J. de Vries", 95), ("Jan de Vries", "Jan de Vriës", 100),
    ("Jan de Vries", "Jan Devries", 100), ("Marieke van den Berg", "Mariëke v.d. Berg", 100), ("Jan de Vries", "Jan de Wit", 67),
])
def test_names_match_across_tussenvoegsels_diacritics_initials_and_order(a, b, score):
    assert round(name_score(a, b)) == score


from hypothesis import given, settings, strategies as st  # noqa: E402

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéëïöü", min_size=2, max_size=9)


@settings(max_examples=60, deadline=None)
@given(first=_word, middle=st.sampled_from(["", "van ", "de ", "van der ", "ter "]), last=_word, other=_word)
def test_name_score_is_symmetric_and_blind_to_case_and_word_order(first, middle, last, other):
    name = f"{first} {middle}{last}"
    assert name_score(name, f"{first} {other}") == name_score(f"{first} {other}", name)
    assert name_score(name, f"{last.upper()}, {first.title()} {middle}".strip()) == 100


def test_bad_identifier_is_bad_input():
    with pytest.raises(BadInput) as err:
        Subject.of(email=["not-an-address"])
    assert err.value.key == "--email"


# --- export -----------------------------------------------------------------------------------


def has_pdf() -> bool:
    from datamap.report import pdf_converter

    return pdf_converter() is not None


def test_export_validates_and_carries_each_fields_category(estate, tmp_path):
    ws, dm, con = estate
    subject = Subject.of(email=[JAN_EMAIL], customer_number=["APR-100042"])
    doc = build_export(con, ws, dm, subject, find(con, dm, subject), generated=dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.timezone.utc))
    validate_export(doc)
    crm = next(s for s in doc["systems"] if s["system"] == "zoho_crm")
    fields = {f["name"]: f for f in crm["records"][0]["fields"]}
    assert fields["email"] == {"name": "email", "value": " JAN.DeVries@example.nl", "data_categories": ["user.contact.email"]}
    assert doc["explanation"]["sources"] == ["CRM Webform"]
    assert [p["key"] for p in doc["explanation"]["purposes"]] == ["contracts", "contact"]
    assert [r["key"] for r in doc["explanation"]["recipients"]] == ["belastingdienst", "tevreden", "zoho_corporation"]
    assert doc["explanation"]["transfers"] == [{"recipient": "zoho_corporation", "country": "NL", "safeguard": ["SCCs"]}]
    written = sorted(p.name for p in write_export(doc, tmp_path / "export"))
    summaries = [f"summary_{lang}.{ext}" for lang in ("en", "nl") for ext in ("docx", "html", "pdf") if ext != "pdf" or has_pdf()]
    assert written == sorted(["customer_portal__accounts.csv", "privacy_office__privacy_requests.csv", "subject.json", *summaries,
                              "zoho_books__invoices.csv", "zoho_crm__contacts.csv", "zoho_crm__deals.csv", "zoho_desk__tickets.csv"])
    nl = (tmp_path / "export" / "summary_nl.html").read_text()
    assert "Autoriteit Persoonsgegevens" in nl and "bezwaar" in nl and "CRM Webform" in nl
    assert "zeven jaar na de factuurdatum (wettelijke plicht: Algemene wet inzake rijksbelastingen art. 52)" in nl


def test_export_withholds_the_login_secret(estate):
    ws, dm, con = estate
    subject = Subject.of(customer_number=["APR-100042"])
    doc = build_export(con, ws, dm, subject, find(con, dm, subject))
    portal = next(s for s in doc["systems"] if s["system"] == "customer_portal")
    fields = {f["name"]: f["value"] for f in portal["records"][0]["fields"]}
    assert fields["password_hash"].startswith("(withheld")
    assert fields["customer_number"] == "APR-100042"


def test_an_address_list_in_the_export_keeps_his_own_and_leaves_out_others():
    from datamap.subject.export import _others_left_out

    got = _others_left_out("jan.devries@example.nl, Piet@Elders.example, sales@apora.nl", {JAN_EMAIL}, ("apora.nl",))
    assert got == "jan.devries@example.nl, (another person), sales@apora.nl"


def test_an_export_missing_the_complaint_authority_fails_the_schema(estate):
    ws, dm, con = estate
    subject = Subject.of(email=[JAN_EMAIL])
    doc = build_export(con, ws, dm, subject, find(con, dm, subject))
    del doc["explanation"]["complaint_authority"]
    with pytest.raises(jsonschema.ValidationError):
        validate_export(doc)


# --- erasure ------------------------------------------------------------------------------------


def test_erasure_check_names_leftovers_and_the_invoice_kept_under_the_fiscal_duty(estate):
    ws, dm, con = estate
    check = erasure_check(con, ws, dm, JAN_EMAIL, request_id="REQ-0001")
    assert where(check.leftovers) == [("zoho_books", "invoices", "INV-000002"), ("zoho_crm", "contacts", "1001")]
    assert [(r.system, r.record_key, r.until) for r in check.retained] == [("zoho_books", "INV-000001", dt.date(2032, 12, 31))]
    # Books (the leftover and the kept invoice) and CRM (a leftover) still hold him: their recipients must be told
    assert check.recipients_to_tell == ("belastingdienst", "zoho_corporation")
    assert check.recipients_possible == ("tevreden",)  # Desk's survey processor, if he ever had a ticket
    assert not check.complete


# --- the request log ----------------------------------------------------------------------------


def test_request_log_gives_each_request_its_deadline_and_status(estate):
    ws, dm, con = estate
    got = [(r.request_id, r.deadline.isoformat(), r.status) for r in request_log(con, ws)]
    assert got == [
        ("REQ-0002", "2026-09-01", "overdue"),        # done 2026-09-15, after one month
        ("REQ-0003", "2026-11-01", "done_in_time"),   # extended by two months
        ("REQ-0001", "2026-10-01", "done_in_time"),
        ("REQ-0005", "2026-10-01", "overdue"),        # still open past its deadline
        ("REQ-0004", "2026-12-01", "open"),
    ]


def test_completed_exactly_on_the_deadline_is_in_time():
    assert request_status(dt.date(2026, 1, 31), dt.date(2026, 2, 28), False, "P1M", "P2M", dt.date(2026, 11, 24)) == (dt.date(2026, 2, 28), "done_in_time")


# --- on the demo estate: the planted subject, his namesake, the planted erasure leftovers --------


def planted_person(expected):
    return Subject.from_mapping(expected["subject"])


@pytest.mark.slow
def test_planted_subject_is_found_in_every_system_and_his_namesake_is_not(demo):
    ws, dm, con, expected = demo
    found = find(con, dm, planted_person(expected), own_domains=ws.policy.recipients.own_domains)
    assert [m.where() for m in found] == expected["records"]
    stranger = {(r["system"], r["collection"], r["record_key"]) for r in expected["stranger"]["records"]}
    assert stranger.isdisjoint(where(found))


def test_the_namesake_is_only_a_low_confidence_candidate(demo):
    ws, dm, con, expected = demo
    found = {(m.system, m.collection, m.record_key): m for m in find(con, dm, planted_person(expected), include_candidates=True)}
    for r in expected["stranger"]["records"]:
        m = found[(r["system"], r["collection"], r["record_key"])]
        assert (m.confidence, m.reasons, m.is_subject) == (0.5, ("name 100/100 alone",), False)


def test_his_name_and_city_alone_find_him_where_a_city_is_recorded_and_never_the_namesake(demo):
    ws, dm, con, expected = demo
    found = find(con, dm, Subject.of(name=["Jan-Willem van den Bergh"], city="Utrecht"))
    assert sorted(m.collection for m in found) == ["contacts", "visitors"]  # the records that hold a city and this spelling
    for spelling in expected["subject"]["spellings"]["name"]:
        found = find(con, dm, Subject.of(name=[spelling], city=expected["subject"]["city"]))
        assert found, spelling
        assert all(m.confidence == 0.85 and m.reasons[0].endswith("and same city") for m in found)
        assert {m.where()["record_key"] for m in found} <= {r["record_key"] for r in expected["records"]}


def test_his_email_in_any_spelling_finds_every_record_the_payment_through_his_invoice_number(demo):
    """The payment holds only his IBAN and the number of his invoice: the invoice, found by his e-mail, leads to it."""
    ws, dm, con, expected = demo
    for spelling in expected["subject"]["spellings"]["email"]:
        found = find(con, dm, Subject.of(email=[spelling]), own_domains=ws.policy.recipients.own_domains)
        assert [m.where() for m in found] == expected["records"]
        payment = next(m for m in found if m.collection == "customer_payments")
        invoice = next(r["record_key"] for r in expected["records"] if r["collection"] == "invoices")
        assert payment.reasons == (f"invoice_number equal to the one on zoho_books.invoices {invoice}",)


def test_demo_export_validates_and_says_where_his_crm_record_came_from(demo, tmp_path):
    ws, dm, con, expected = demo
    person = planted_person(expected)
    doc = build_export(con, ws, dm, person, find(con, dm, person, own_domains=ws.policy.recipients.own_domains))
    validate_export(doc)
    assert sum(len(s["records"]) for s in doc["systems"]) == len(expected["records"])
    crm = next(s for s in doc["systems"] if s["system"] == "zoho_crm")
    source = next(f["value"] for f in crm["records"][0]["fields"] if f["name"] == "data_source")
    assert source in doc["explanation"]["sources"]
    assert doc["explanation"]["complaint_authority"]["name"] == "Autoriteit Persoonsgegevens"
    assert doc["explanation"]["automated_decisions"] == [  # SalesIQ declares it; he is a SalesIQ visitor
        "Zoho SalesIQ: Bezoekersprofielen voor advertenties (marketing.advertising.profiling)"]
    assert not [c for c in doc["explanation"]["categories"] if not c["key"].startswith("user")]
    assert "(grondslag: uitvoering van een overeenkomst (art. 6 lid 1 sub b))" in summary(doc, "nl")
    assert "(legal basis: contract (Art. 6(1)(b)))" in summary(doc, "en")
    write_export(doc, tmp_path / "export")
    assert json.loads((tmp_path / "export" / "subject.json").read_text())["format"] == "datamap.subject_export/1"


def test_erasure_check_names_exactly_the_planted_leftovers(demo, demo_workspace):
    ws, dm, con, expected = demo
    planted = sorted((f["system"], f["record_key"]) for f in json.loads((demo_workspace / "expected_findings.json").read_text())
                     if f["rule"] == "rights.erasure_incomplete")
    rows = [row for check in erasure_checks(con, ws, dm) for row in check.rows()]
    assert sorted((r["system"], r["record_key"]) for r in rows if r["state"] == "leftover") == planted
    # the erased subject of REQ-0002 keeps two invoices under the fiscal duty: restricted, not leftovers
    restricted = [r for r in rows if r["state"] == "restricted" and r["request_id"] == "REQ-0002"]
    assert [(r["collection"], r["legal_duty"]) for r in restricted] == [("invoices", "Algemene wet inzake rijksbelastingen art. 52")] * 2


def test_request_log_overdue_requests_are_the_planted_ones(demo, demo_workspace):
    ws, dm, con, expected = demo
    planted = sorted(f["record_key"] for f in json.loads((demo_workspace / "expected_findings.json").read_text())
                     if f["rule"] == "rights.request_overdue" and f["system"] == "privacy_office")
    assert sorted(r.request_id for r in request_log(con, ws) if r.status == "overdue") == planted


# --- the command ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_copy(demo_workspace, tmp_path_factory):
    """The CLI stages into the workspace's own .datamap folder: give it a copy, not the shared demo."""
    import shutil

    target = tmp_path_factory.mktemp("demo-copy") / "ws"
    shutil.copytree(demo_workspace, target)
    return target


@pytest.mark.slow
def test_cli_finds_him_shows_no_raw_value_and_writes_the_export(demo_copy, demo_raw_values, tmp_path, capsys):
    from datamap.cli import main

    expected = json.loads((demo_copy / "expected_subject.json").read_text(encoding="utf-8"))
    s = expected["subject"]
    code = main(["subject", str(demo_copy), "--email", s["email"], "--phone", s["phone"], "--iban", s["iban"],
                 "--customer-number", s["customer_number"], "--name", s["name"], "--export", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0].endswith(f": {len(expected['records'])} record(s) in 7 system(s)")
    for r in expected["records"]:  # record keys are how findings and reports name records (some look like phones)
        out = out.replace(r["record_key"], "<record key>")
    assert sorted(v for v in demo_raw_values if v in out) == []
    assert sorted(p.name for p in (tmp_path / "out").glob("*.json")) == ["subject.json"]
    validate_export(json.loads((tmp_path / "out" / "subject.json").read_text(encoding="utf-8")))


def test_cli_prints_the_request_log_without_identifiers(demo_copy, capsys):
    from datamap.cli import main

    assert main(["subject", str(demo_copy), "--requests"]) == 1  # the log holds overdue requests: findings
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("REQ-0013") and line.endswith("overdue") for line in lines)
    assert not any("@" in line for line in lines)


def test_cli_erasure_check_without_email_is_one_line_and_exit_2(demo_copy, capsys):
    from datamap.cli import main

    assert main(["subject", str(demo_copy), "--customer-number", "APR-100001", "--erasure-check"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --erasure-check: needs --email (the request log identifies the subject by e-mail)")


def test_cli_erasure_check_exits_1_and_names_the_leftover(demo_copy, capsys):
    from datamap.cli import main

    import csv

    rows = list(csv.DictReader((demo_copy / "governance" / "privacy_requests.csv").open(encoding="utf-8-sig")))
    planted = {f["note"].split()[0]: f for f in json.loads((demo_copy / "expected_findings.json").read_text())
               if f["rule"] == "rights.erasure_incomplete"}
    request_id, finding = sorted(planted.items())[0]
    email = next(r["Subject Email"] for r in rows if r["Request ID"] == request_id)
    assert main(["subject", str(demo_copy), "--email", email, "--erasure-check"]) == 1
    out = capsys.readouterr().out
    assert f"  leftover  {finding['system']:<16}" in out and finding["record_key"] in out
    assert email not in out
    assert main(["subject", str(demo_copy), "--request", request_id, "--erasure-check"]) == 1
    assert capsys.readouterr().out == out


def test_cli_unknown_request_id_is_one_line_and_exit_2(demo_copy, capsys):
    from datamap.cli import main

    assert main(["subject", str(demo_copy), "--request", "REQ-9999"]) == 2
    assert capsys.readouterr().err.strip() == "error: --request: request 'REQ-9999' is not in the request log"


def test_cli_refuses_to_answer_when_a_source_cannot_be_read(demo_workspace, tmp_path, capsys):
    import shutil

    from datamap.cli import main

    ws = tmp_path / "ws"
    shutil.copytree(demo_workspace, ws)
    (ws / "exports" / "zoho_desk" / "Tickets.csv").unlink()
    expected = json.loads((ws / "expected_subject.json").read_text(encoding="utf-8"))
    assert main(["subject", str(ws), "--email", expected["subject"]["email"], "--export", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "Tickets.csv" in err[0]
    assert not (tmp_path / "out").exists()


def test_the_store_is_read_through_one_read_only_door(tmp_path):
    import sqlite3

    from datamap.store import open_read_only

    folder = tmp_path / "a ?#% folder"  # characters a URI would read as query, fragment or escape
    folder.mkdir()
    path = folder / "store.sqlite"
    with pytest.raises(BadInput, match="audit store not found"):
        open_read_only(path)
    assert not path.exists()  # looking never creates an empty store
    with sqlite3.connect(path) as writer:
        writer.execute("CREATE TABLE t (a TEXT)")
        writer.execute("INSERT INTO t VALUES ('x')")
    con = open_read_only(path)
    assert con.execute("SELECT a FROM t").fetchone()["a"] == "x"
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        con.execute("INSERT INTO t VALUES ('y')")
