"""Discovery finds personal data by column name and content, and holds the map to it (P13)."""
from __future__ import annotations

import datetime as dt

import pytest

from datamap.cli import main
from datamap.discovery import (
    BSN, EMAIL, IBAN, IP, NAME, PASSWORD, PHONE, POSTCODE, classify, compatible, is_birth_date, is_bsn, is_btw,
    is_email, is_iban, is_ip, is_password_hash, is_person_name, is_phone, is_postcode, scan, within_reach,
)


def test_content_detectors_validate_checksums_and_shapes():
    assert is_email("jan.devries@example.nl") and is_email("a@x.nl,b@y.org") and not is_email("msg-001")
    assert is_phone("06-12345678") and is_phone("+31 20 123 4567") and not is_phone("581000000123457")
    assert not is_phone("20480") and not is_phone("111222333")
    assert is_iban("NL91 ABNA 0417 1643 00") and is_iban("XXXXXX4321") and not is_iban("NL00ABNA0417164300")
    assert is_bsn("111222333") and not is_bsn("111222334") and not is_bsn("11122233")
    assert is_btw("NL004495445B01") and not is_btw("NL004495446B01")
    assert is_ip("192.168.10.12") and is_ip("2001:db8::1") and not is_ip("3") and not is_ip("1.0")
    assert is_postcode("3511 AB") and is_postcode("1011AA") and not is_postcode("0123 AB") and not is_postcode("3511 SS")
    assert is_password_hash("$2b$12$abcdefghijklmnopqrstuuJ8mJHUzY5vuyE3QqF2t6Ww0Q5yYy2AB") and not is_password_hash("welkom123")
    assert is_birth_date("12-05-1980", dt.date(2026, 11, 24)) and not is_birth_date("2024-01-15", dt.date(2026, 11, 24))
    assert is_person_name("Jan de Vries") and is_person_name("Geneviève Dupré") and is_person_name("J. Jansen")
    assert not is_person_name("Jansen BV") and not is_person_name("Support Apora") and not is_person_name("Dorpsstraat 1")


@pytest.mark.parametrize("column, values, expected", [
    ("klant_bsn", ["111222333", None, "123456782"], (BSN, "name+content")),
    ("notities", ["111222333", "123456782", "100000009"], (BSN, "content")),
    ("rekeningnummer", ["NL91ABNA0417164300", "XXXXXX4321"], (IBAN, "name+content")),
    ("sender_address", ["sanne@apora.nl", "tom@apora.nl"], (EMAIL, "name+content")),
    ("contactgegevens", ["sanne@apora.nl", "tom@apora.nl"], (EMAIL, "content")),
    ("mobiel", ["06-12345678", "0612345679"], (PHONE, "name+content")),
    ("ip", ["10.0.0.1", "2001:db8::2"], (IP, "name+content")),
    ("postcode", [], (POSTCODE, "name")),
    ("password_hash", ["$2b$12$abcdefghijklmnopqrstuuJ8mJHUzY5vuyE3QqF2t6Ww0Q5yYy2AB", "welkom123"], (PASSWORD, "name")),
    ("reviewer", ["Sanne Bakker", "Tom Peters"], (NAME, "name+content")),
    ("klantnaam", ["Jansen BV", "Bakkerij De Vries"], (NAME, "name")),
])
def test_a_personal_column_is_recognised_by_name_and_content(column, values, expected):
    category, confidence, basis, *_ = classify(column, values)
    assert (category, basis) == expected
    assert confidence >= 0.8


@pytest.mark.parametrize("column, values", [
    ("email_opt_out", ["true", "false"]),
    ("message_id", ["msg-001@apora.nl", "msg-002@apora.nl"]),
    ("record_id", ["4150868000000100007", "4150868000000100008"]),
    ("ticket_owner", ["Support Apora", "Support Apora"]),
    ("account_name", ["Jan de Vries Advies", "Piet Jansen"]),
    ("created_time", ["2024-01-15 09:15:02"]),
    ("amount", ["121.00", "60.50"]),
])
def test_a_column_without_personal_data_is_not_flagged(column, values):
    category, confidence, *_ = classify(column, values)
    assert category is None or confidence < 0.8


def test_found_and_declared_categories_agree_when_one_covers_the_other():
    assert compatible("user.name.first", "user.name")
    assert compatible("user.unique_id.customer_number", "user.unique_id")
    assert compatible("user.contact.address.city", "user.location.imprecise")
    assert not compatible("user.financial.bank_account", "user.content.private")
    assert within_reach(["user.name.last"]) and not within_reach(["user.privacy_preferences"])


def test_undeclared_bsn_and_birth_date_in_desk_custom_fields_are_findings_with_a_snippet(sources_workspace):
    result = scan(sources_workspace)
    desk = {f.record_key: f for f in result.findings if f.dataset == "zoho_desk"}
    assert sorted(desk) == ["zoho_desk.tickets.geboortedatum", "zoho_desk.tickets.klant_bsn"]
    bsn = desk["zoho_desk.tickets.klant_bsn"]
    assert (bsn.claim, bsn.rule, bsn.severity, bsn.system) == ("P13", "discovery.undeclared_personal_data", "critical", "helpdesk")
    assert desk["zoho_desk.tickets.geboortedatum"].severity == "medium"
    assert bsn.evidence["snippet"] == (
        "- name: klant_bsn\n"
        "  description: found by datamap discovery (its name and 1 of 1 sampled values)\n"
        "  data_categories: [user.government_id.national_identification_number.bsn]\n")
    assert "111222333" not in str(bsn.to_dict())


def test_sources_without_a_dataset_in_the_map_have_every_personal_column_undeclared(sources_workspace):
    result = scan(sources_workspace)
    portal = sorted(f.record_key for f in result.findings if f.dataset == "customer_portal")
    assert portal == ["customer_portal.accounts.customer_number", "customer_portal.accounts.email",
                      "customer_portal.accounts.password_hash", "customer_portal.portal_users.email",
                      "customer_portal.portal_users.full_name"]
    mail = sorted(f.record_key for f in result.findings if f.dataset == "zoho_mail")
    assert mail == ["zoho_mail.message_trace.recipient_address", "zoho_mail.message_trace.sender_address",
                    "zoho_mail.messages.body_emails", "zoho_mail.messages.body_ibans", "zoho_mail.messages.body_phones",
                    "zoho_mail.messages.cc_addrs", "zoho_mail.messages.from_addr", "zoho_mail.messages.to_addrs"]


def test_declared_fields_the_data_does_not_bear_out_are_notes_not_findings(sources_workspace):
    notes = {(n.dataset, n.collection, n.field): n.kind for n in scan(sources_workspace).notes}
    assert notes[("zoho_crm", "leads", "fax")] == "missing_column"
    assert notes[("zoho_books", "invoices", "email")] == "empty"
    assert notes[("zoho_salesiq", "visitors", "visitor_id")] == "not_found"
    assert all(key[0] != "zoho_desk" for key in notes)


def test_the_discovery_table_shows_no_raw_values(sources_workspace):
    table = scan(sources_workspace).table()
    text = table.to_csv()
    for raw in ("jan.devries@example.nl", "NL91ABNA0417164300", "111222333", "06-12345678", "Jan de Vries"):
        assert raw not in text
    row = table[(table["dataset"] == "zoho_salesiq") & (table["field"] == "ip_address")].iloc[0]
    assert (row["category"], row["basis"], row["matched"], row["sampled"], row["status"]) == (
        "user.device.ip_address", "name+content", 3, 3, "declared")


def test_scan_cli_names_each_broken_source_exits_2_and_still_scans_the_others(sources_workspace, tmp_path, capsys):
    (sources_workspace / "hr/roster.csv").unlink()
    visitors = sources_workspace / "exports/zoho_salesiq/Visitors.csv"
    visitors.write_bytes(visitors.read_bytes().replace(b"Email;", b"Mail;"))
    sources = sources_workspace / "sources.yml"
    sources.write_text(sources.read_text().replace(
        "url: sqlite:///portal/portal.db", f'url: "postgresql+psycopg://audit@/portal?host={tmp_path}/no-server"'))
    assert main(["scan", str(sources_workspace)]) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert lines[0] == ("error: exports/zoho_salesiq/Visitors.csv: missing standard column 'Email' (map your header to "
                        "it with columns: in sources.yml datasets.zoho_salesiq.collections.visitors; "
                        "headers there that are not standard: Mail)")
    assert [line.split(": cannot connect to ")[0] for line in lines[1:2]] == [
        "error: sources.yml: datasets.customer_portal.url"]  # once for the database, not once per table
    assert lines[2:] == ["error: hr/roster.csv: file not found (sources.yml datasets.hr.collections.roster)"]
    assert "zoho_desk.tickets.klant_bsn" in out and "zoho_crm.leads.email" in out and "Traceback" not in out + err
    assert out.splitlines()[-1].endswith("6 source(s) not read")


def test_scan_cli_exits_1_on_undeclared_personal_data(sources_workspace, capsys):
    assert main(["scan", str(sources_workspace)]) == 1
    out, _ = capsys.readouterr()
    assert "critical discovery.undeclared_personal_data helpdesk zoho_desk.tickets.klant_bsn" in out


def test_a_personal_column_declared_as_non_personal_is_a_note(sources_workspace):
    manifest = sources_workspace / "manifests/datasets.yml"
    text = manifest.read_text()
    marker = "    - name: ticket_owner\n      data_categories:\n      - system.operations\n"
    assert marker in text
    manifest.write_text(text.replace(marker, marker + "    - name: klant_bsn\n      data_categories:\n      - system.operations\n"))
    result = scan(sources_workspace)
    assert "zoho_desk.tickets.klant_bsn" not in {f.record_key for f in result.findings}
    notes = {(n.field, n.kind): n.detail for n in result.notes if n.dataset == "zoho_desk"}
    assert notes == {("klant_bsn", "category_differs"): "declared system.operations only; the data looks like "
                                                       "user.government_id.national_identification_number.bsn"}
