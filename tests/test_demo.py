"""The demo generator writes a complete, deterministic Apora workspace with its ground truth."""
from __future__ import annotations

import json
import mailbox
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import yaml

from datamap.cli import main
from datamap.demo import generate
from datamap.identity import normalise_email, normalise_phone
from datamap.workspace import load_workspace

ZOHO_CSVS = {  # file -> its standard header row, exactly as Zoho writes it
    "exports/zoho_crm/Leads.csv": ["Record Id", "Lead Owner", "Company", "First Name", "Last Name", "Email", "Phone",
                                   "Lead Source", "Lead Status", "Street", "City", "Zip Code", "Country",
                                   "Email Opt Out", "Created Time", "Modified Time", "Last Activity Time",
                                   "Data Processing Basis", "Data Source"],
    "exports/zoho_crm/Contacts.csv": ["Record Id", "Contact Owner", "Lead Source", "First Name", "Last Name",
                                      "Account Name", "Email", "Title", "Phone", "Mobile", "Mailing Street",
                                      "Mailing City", "Mailing Zip", "Mailing Country", "Email Opt Out", "Created By",
                                      "Modified By", "Created Time", "Modified Time", "Last Activity Time",
                                      "Data Processing Basis", "Data Source", "Tag"],
    "exports/zoho_crm/Accounts.csv": ["Record Id", "Account Owner", "Account Name", "Phone", "Website",
                                      "Billing Street", "Billing City", "Billing Code", "Billing Country",
                                      "Created Time", "Modified Time"],
    "exports/zoho_crm/Deals.csv": ["Record Id", "Deal Owner", "Deal Name", "Account Name", "Contact Name", "Stage",
                                   "Amount", "Closing Date", "Created Time", "Modified Time"],
    "exports/zoho_crm/Users.csv": ["User Id", "Full Name", "Email", "Role", "Profile", "Status", "Added Time"],
    "exports/zoho_books/Customers.csv": ["Customer ID", "Display Name", "Company Name", "First Name", "Last Name",
                                         "EmailID", "Phone", "Mobile Phone", "Billing Address", "Billing City",
                                         "Billing Code", "Billing Country", "CF.Customer Number", "Created Time"],
    "exports/zoho_books/Invoices.csv": ["Invoice Date", "Invoice ID", "Invoice Number", "Invoice Status",
                                        "Customer Name", "Contact Person", "Email", "Billing Address", "Billing City",
                                        "Billing Code", "Total", "Currency Code"],
    "exports/zoho_books/Customer_Payments.csv": ["Payment Number", "Date", "Invoice Number", "Customer Name", "Amount",
                                                 "Mode", "Bank Account"],
    "exports/zoho_books/Users.csv": ["User Id", "Full Name", "Email", "Role", "Profile", "Status", "Added Time"],
    "exports/zoho_desk/Tickets.csv": ["Ticket Id", "Subject", "Status", "Contact Name", "Email", "Phone",
                                      "Created Time", "Closed Time", "Ticket Owner", "Department", "Channel",
                                      "Klantnummer", "Social Handle", "BSN", "Geboortedatum"],
    "exports/zoho_salesiq/Users.csv": ["User Id", "Full Name", "Email", "Role", "Profile", "Status", "Added Time"],
    "exports/zoho_campaigns/Subscribers.csv": ["Subscriber ID", "Contact Email", "First Name", "Last Name", "Status",
                                               "Consent Type", "Consent Date", "Unsubscribed Time", "Added Time",
                                               "Phone"],
    "exports/zoho_campaigns/Sends.csv": ["Send ID", "Campaign Name", "Subscriber ID", "Contact Email", "Sent Time"],
    "exports/zoho_mail/Users.csv": ["User Id", "Full Name", "Email", "Role", "Profile", "Status", "Added Time"],
}
PLAIN_CSVS = {
    "exports/zoho_mail/message_trace.csv": ["date_time_utc", "sender_address", "recipient_address", "subject",
                                            "message_id", "size", "status"],
    "hr/roster.csv": ["employee_id", "name", "email", "role", "start_date", "end_date"],
    "governance/access_reviews.csv": ["system", "reviewed_on", "reviewer"],
    "governance/privacy_requests.csv": ["Request ID", "Type", "Subject Email", "Received", "Completed", "Extended",
                                        "Details"],
    "governance/notice_versions.csv": ["version", "published", "major"],
    "governance/notice_notifications.csv": ["version", "customer_number", "sent"],
}
DATA_RULES = (
    "access.non_employee_account", "access.departed_employee_active", "access.role_not_authorized",
    "access.review_overdue", "sharing.undeclared_recipient", "consent.missing", "consent.opt_out_ignored",
    "retention.expired", "quality.contract_without_customer_name", "rights.correction_not_applied",
    "rights.erasure_incomplete", "rights.request_overdue", "notice.change_not_notified",
    "quality.plaintext_credentials", "quality.duplicate_customer_number", "cookies.third_party_without_trial_click",
    "quality.trial_longer_than_14_days", "discovery.undeclared_personal_data",
)
MAP_RULES = ("purpose.undeclared_use", "sharing.processor_without_dpa", "transfer.outside_eea_without_basis",
             "notice.category_not_disclosed")
NOTICE_FINDINGS = {  # docs/rules.md, "The notice": exactly these
    ("notice.missing_legal_basis", "legal-basis"), ("notice.missing_legitimate_interests", "legitimate-interests"),
    ("notice.missing_retention_period", "retention-period"), ("notice.missing_recipients", "processors"),
    ("notice.missing_transfer_info", "third-country-transfers"), ("notice.missing_dpo_contact", "dpo-contact"),
    ("notice.missing_right", "right-to-restriction"), ("notice.missing_right", "right-to-object"),
    ("notice.missing_right", "withdraw-consent"),
    ("notice.missing_automated_decision_info", "automated-decision-making"),
    ("notice.outdated_authority_name", "college-bescherming-persoonsgegevens"),
}


def read_zoho(root: Path, relpath: str) -> pd.DataFrame:
    return pd.read_csv(root / relpath, encoding="utf-8-sig", dtype=str, keep_default_na=False)


def read_visitors(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "exports/zoho_salesiq/Visitors.csv", encoding="cp1252", sep=";", dtype=str,
                       keep_default_na=False)


def portal(root: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{root / 'portal/portal.db'}?mode=ro", uri=True) as db:
        return db.execute(sql).fetchall()


def findings(root: Path) -> list[dict]:
    return json.loads((root / "expected_findings.json").read_text(encoding="utf-8"))


def message_ids(root: Path, box: str) -> set[str]:
    return {m["Message-ID"].strip("<>") for m in mailbox.mbox(root / f"exports/zoho_mail/{box}.mbox")}


# --- the workspace loads and parses ----------------------------------------------------------------


def test_the_demo_workspace_loads_with_load_workspace(demo_workspace):
    ws = load_workspace(demo_workspace)
    assert ws.policy.organization == "apora"
    assert str(ws.policy.as_of) == "2026-11-24"
    assert ws.notice_path.read_text(encoding="utf-8").startswith("Privacybeleid")
    assert sorted(m.relpath for m in ws.manifests) == [
        "manifests/datasets.yml", "manifests/external.yml", "manifests/organization.yml", "manifests/systems.yml"]


def test_every_manifest_validates_with_fideslang_and_uses_known_taxonomy_keys(demo_workspace):
    from fideslang import DEFAULT_TAXONOMY
    from fideslang.models import Dataset, Organization, System

    categories = {c.fides_key for c in DEFAULT_TAXONOMY.data_category}
    uses = {u.fides_key for u in DEFAULT_TAXONOMY.data_use}
    models = {"system": System, "dataset": Dataset, "organization": Organization}
    unknown = []
    for path in sorted((demo_workspace / "manifests").glob("*.yml")):
        for kind, items in yaml.safe_load(path.read_text(encoding="utf-8")).items():
            for item in items:
                resource = models[kind].model_validate(item)
                for decl in getattr(resource, "privacy_declarations", []):
                    unknown += [c for c in decl.data_categories if c not in categories]
                    unknown += [decl.data_use] if decl.data_use not in uses else []
                for collection in getattr(resource, "collections", []):
                    unknown += [c for f in collection.fields for c in f.data_categories or [] if c not in categories]
    assert unknown == []


def test_zoho_csv_exports_carry_a_bom_and_the_products_real_headers(demo_workspace):
    for relpath, headers in ZOHO_CSVS.items():
        assert (demo_workspace / relpath).read_bytes()[:3] == b"\xef\xbb\xbf", relpath
        frame = read_zoho(demo_workspace, relpath)
        assert list(frame.columns) == headers, relpath
        assert len(frame) > 0, relpath


def test_people_kept_csvs_parse_with_their_headers(demo_workspace):
    for relpath, headers in PLAIN_CSVS.items():
        frame = pd.read_csv(demo_workspace / relpath, dtype=str, keep_default_na=False)
        assert list(frame.columns) == headers, relpath
        assert len(frame) > 0, relpath


def test_salesiq_visitors_are_a_dutch_excel_resave_in_cp1252_with_semicolons(demo_workspace):
    raw = (demo_workspace / "exports/zoho_salesiq/Visitors.csv").read_bytes()
    assert raw.startswith(b"Visitor ID;Name;Email;IP Address;City;Country;First Visit Time;Last Visit Time;"
                          b"Number of Visits\r\n")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # Dutch diacritics (Noël) written as cp1252 bytes
    frame = read_visitors(demo_workspace)
    assert frame["IP Address"].str.contains(":").any() and frame["IP Address"].str.contains(r"^\d+\.").any()
    assert (frame["Email"] == "").mean() > 0.5  # most visitors are anonymous


def test_desk_agents_are_an_xlsx_with_the_user_export_headers(demo_workspace):
    frame = pd.read_excel(demo_workspace / "exports/zoho_desk/Users.xlsx", dtype=str)
    assert list(frame.columns) == ["User Id", "Full Name", "Email", "Role", "Profile", "Status", "Added Time"]
    assert set(frame["Status"]) == {"Active"}
    assert "Zoë Hendriks" in set(frame["Full Name"])


def test_exports_show_the_documented_quirks(demo_workspace):
    deals = read_zoho(demo_workspace, "exports/zoho_crm/Deals.csv")
    assert deals["Record Id"].str.fullmatch(r"zcrm_\d{19}").all()
    leads = read_zoho(demo_workspace, "exports/zoho_crm/Leads.csv")
    assert leads["Record Id"].str.fullmatch(r"\d{19}").all()
    assert set(leads["Email Opt Out"]) == {"true", "false"}
    assert leads["Last Activity Time"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    assert deals["Closing Date"].str.fullmatch(r"\d{4}-\d\d-\d\d").all()
    payments = read_zoho(demo_workspace, "exports/zoho_books/Customer_Payments.csv")
    assert payments["Bank Account"].str.fullmatch(r"XXXXXX\d{4}").any()
    assert payments["Bank Account"].str.fullmatch(r"NL\d\d[A-Z]{4}\d{10}").any()
    customers = read_zoho(demo_workspace, "exports/zoho_books/Customers.csv")
    assert customers["Billing Address"].str.contains("\n").any()  # multi-line quoted addresses
    assert customers["Created Time"].str.fullmatch(r"\d\d/\d\d/\d{4}").all()
    tickets = read_zoho(demo_workspace, "exports/zoho_desk/Tickets.csv")
    assert tickets["Created Time"].str.fullmatch(r"[A-Z][a-z]{2} \d\d, \d{4} \d\d:\d\d [AP]M").all()
    assert read_visitors(demo_workspace)["Last Visit Time"].str.fullmatch(r"\d\d-\d\d-\d{4} \d\d:\d\d").all()


def test_both_mailboxes_parse_with_mailbox_and_carry_real_headers(demo_workspace):
    for box in ("sent", "privacy_inbox"):
        messages = list(mailbox.mbox(demo_workspace / f"exports/zoho_mail/{box}.mbox"))
        assert messages, box
        for message in messages:
            for header in ("From", "To", "Date", "Message-ID", "Subject"):
                assert message[header], (box, header)
    sent = {m["Message-ID"]: m for m in mailbox.mbox(demo_workspace / "exports/zoho_mail/sent.mbox")}
    replies = [m for m in sent.values() if m["In-Reply-To"]]
    assert replies and all(m["From"] == "privacy@apora.nl" for m in replies)
    attachment_types = {part.get_content_type() for m in sent.values() for part in m.walk()
                        if part.get_filename()}
    assert {"text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/pdf"} <= attachment_types


def test_the_portal_database_has_the_four_tables(demo_workspace):
    tables = {name for (name,) in portal(demo_workspace, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"accounts", "trials", "cookie_log", "portal_users"}
    columns = [row[1] for row in portal(demo_workspace, "PRAGMA table_info(accounts)")]
    assert columns == ["account_id", "customer_number", "email", "password_hash", "created_at", "closed_at"]


# --- determinism ---------------------------------------------------------------------------------


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_same_seed_gives_byte_identical_files(tmp_path):
    first = tree_bytes(generate(tmp_path / "a", subjects=150, seed=11))
    second = tree_bytes(generate(tmp_path / "b", subjects=150, seed=11))
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    assert "portal/portal.db" in first and "exports/zoho_desk/Users.xlsx" in first


def test_another_seed_gives_other_people(tmp_path, make_demo):
    other = read_zoho(make_demo(300, 8), "exports/zoho_crm/Leads.csv")
    ours = read_zoho(make_demo(300, 7), "exports/zoho_crm/Leads.csv")
    assert set(other["Email"]) != set(ours["Email"])


def test_generate_refuses_a_size_outside_the_supported_range(tmp_path):
    from datamap.errors import BadInput

    with pytest.raises(BadInput, match="between 100 and 1,000,000"):
        generate(tmp_path / "x", subjects=99, seed=1)


# --- the ground truth ----------------------------------------------------------------------------


def test_expected_findings_plant_at_least_three_cases_of_every_data_level_rule(demo_workspace):
    cases = findings(demo_workspace)
    for rule in DATA_RULES:
        assert sum(c["rule"] == rule for c in cases) >= 3, rule
    for rule in MAP_RULES:
        assert sum(c["rule"] == rule for c in cases) >= 1, rule


def test_expected_findings_list_exactly_the_notice_findings_of_docs_rules(demo_workspace):
    notice = {(c["rule"], c["record_key"]) for c in findings(demo_workspace)
              if c["system"] == "notice" and c["rule"] != "notice.category_not_disclosed"}
    assert notice == NOTICE_FINDINGS


def test_expected_findings_plant_the_map_level_cases_of_the_manifests(demo_workspace):
    planted = {(c["rule"], c["system"], c["record_key"]) for c in findings(demo_workspace) if c["rule"] in MAP_RULES}
    assert planted == {
        ("purpose.undeclared_use", "zoho_salesiq", "marketing.advertising.profiling"),
        ("sharing.processor_without_dpa", "zoho_desk", "tevreden_enquetes"),
        ("transfer.outside_eea_without_basis", "zoho_campaigns", "adpeak"),
        ("notice.category_not_disclosed", "notice", "user.job_title"),
    }


def test_expected_findings_are_sorted_unique_and_complete(demo_workspace):
    cases = findings(demo_workspace)
    keys = [(c["rule"], c["system"], c["record_key"]) for c in cases]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert all(set(c) == {"claim", "rule", "system", "record_key", "note"} and c["note"] for c in cases)


def record_keys(root: Path) -> dict[tuple[str, str], set[str]]:
    """(system, rule family) -> every key the data holds where such a finding can point."""
    def col(relpath: str, column: str) -> set[str]:
        return set(read_zoho(root, relpath)[column].str.replace("zcrm_", "", regex=False))

    crm = set().union(*(col(f"exports/zoho_crm/{f}.csv", "Record Id") for f in ("Leads", "Contacts", "Accounts", "Deals")))
    ids = lambda table, key: {str(k) for (k,) in portal(root, f"SELECT {key} FROM {table}")}  # noqa: E731
    users = {s: col(f"exports/{s}/Users.csv", "User Id") for s in ("zoho_crm", "zoho_books", "zoho_salesiq")}
    users["zoho_desk"] = set(pd.read_excel(root / "exports/zoho_desk/Users.xlsx", dtype=str)["User Id"])
    users["zoho_mail"] = col("exports/zoho_mail/Users.csv", "Email")
    users["customer_portal"] = ids("portal_users", "user_id")
    requests = set(pd.read_csv(root / "governance/privacy_requests.csv", dtype=str)["Request ID"])
    return {
        **{(s, "access"): k for s, k in users.items()},
        ("zoho_crm", "record"): crm,
        ("zoho_books", "record"): col("exports/zoho_books/Invoices.csv", "Invoice Number")
        | col("exports/zoho_books/Customer_Payments.csv", "Payment Number")
        | col("exports/zoho_books/Customers.csv", "Customer ID"),
        ("zoho_desk", "record"): col("exports/zoho_desk/Tickets.csv", "Ticket Id"),
        ("zoho_salesiq", "record"): set(read_visitors(root)["Visitor ID"]),
        ("zoho_campaigns", "record"): col("exports/zoho_campaigns/Sends.csv", "Send ID")
        | col("exports/zoho_campaigns/Subscribers.csv", "Subscriber ID"),
        ("customer_portal", "record"): ids("accounts", "account_id"),
        ("customer_portal", "cookie"): ids("cookie_log", "entry_id"),
        ("customer_portal", "trial"): ids("trials", "trial_id"),
        ("zoho_mail", "record"): message_ids(root, "sent") | message_ids(root, "privacy_inbox"),
        ("privacy_office", "record"): requests,
    }


def test_every_planted_record_exists_in_the_data_under_its_key(demo_workspace):
    keys = record_keys(demo_workspace)
    systems = {s["fides_key"] for s in yaml.safe_load((demo_workspace / "manifests/systems.yml").read_text())["system"]}
    missing = []
    for case in findings(demo_workspace):
        rule, system, key = case["rule"], case["system"], case["record_key"]
        if system == "notice" or rule in MAP_RULES:
            continue
        if rule == "access.review_overdue":
            found = key == system and system in systems
        elif rule == "discovery.undeclared_personal_data":
            found = True  # checked column by column below
        elif rule.startswith("access."):
            found = key in keys[(system, "access")]
        elif rule == "cookies.third_party_without_trial_click":
            found = key in keys[(system, "cookie")]
        elif rule == "quality.trial_longer_than_14_days":
            found = key in keys[(system, "trial")]
        elif rule == "retention.expired" and system == "customer_portal":
            found = key in keys[(system, "record")] | keys[(system, "cookie")]
        else:
            found = key in keys[(system, "record")]
        if not found:
            missing.append((rule, system, key))
    assert missing == []


def test_undeclared_columns_are_filled_in_the_data_and_absent_from_the_map(demo_workspace):
    datasets = {d["fides_key"]: {c["name"]: {f["name"] for f in c["fields"]} for c in d["collections"]}
                for d in yaml.safe_load((demo_workspace / "manifests/datasets.yml").read_text())["dataset"]}
    tickets = read_zoho(demo_workspace, "exports/zoho_desk/Tickets.csv")
    subscribers = read_zoho(demo_workspace, "exports/zoho_campaigns/Subscribers.csv")
    from stdnum.nl import bsn

    bsns = [v for v in tickets["BSN"] if v]
    assert bsns and all(bsn.is_valid(v) for v in bsns)
    assert any(tickets["Geboortedatum"]) and any(subscribers["Phone"])
    planted = sorted(c["record_key"] for c in findings(demo_workspace) if c["rule"] == "discovery.undeclared_personal_data")
    assert planted == ["zoho_campaigns.subscribers.phone", "zoho_desk.tickets.bsn", "zoho_desk.tickets.geboortedatum"]
    for key in planted:
        dataset, collection, field = key.split(".")
        assert field not in datasets[dataset][collection]


def test_the_script_tag_lead_is_in_the_crm_and_breaks_no_rule(demo_workspace):
    leads = read_zoho(demo_workspace, "exports/zoho_crm/Leads.csv")
    tagged = leads[leads["First Name"] == "<script>alert('x')</script>"]
    assert len(tagged) == 1
    assert tagged["Record Id"].iloc[0] not in {c["record_key"] for c in findings(demo_workspace)}


# --- the planted subject -------------------------------------------------------------------------


def subject_rows(root: Path) -> dict[tuple[str, str], pd.DataFrame]:
    return {
        ("zoho_crm", "contacts"): read_zoho(root, "exports/zoho_crm/Contacts.csv").set_index("Record Id"),
        ("zoho_crm", "leads"): read_zoho(root, "exports/zoho_crm/Leads.csv").set_index("Record Id"),
        ("zoho_books", "customers"): read_zoho(root, "exports/zoho_books/Customers.csv")
        .rename(columns={"EmailID": "Email"}).set_index("Customer ID"),
        ("zoho_books", "invoices"): read_zoho(root, "exports/zoho_books/Invoices.csv").set_index("Invoice Number"),
        ("zoho_desk", "tickets"): read_zoho(root, "exports/zoho_desk/Tickets.csv").set_index("Ticket Id"),
        ("zoho_salesiq", "visitors"): read_visitors(root).set_index("Visitor ID"),
        ("zoho_campaigns", "subscribers"): read_zoho(root, "exports/zoho_campaigns/Subscribers.csv")
        .rename(columns={"Contact Email": "Email"}).set_index("Subscriber ID"),
        ("zoho_campaigns", "sends"): read_zoho(root, "exports/zoho_campaigns/Sends.csv")
        .rename(columns={"Contact Email": "Email"}).set_index("Send ID"),
    }


def test_the_planted_subject_is_in_every_system_under_variant_spellings(demo_workspace):
    expected = json.loads((demo_workspace / "expected_subject.json").read_text(encoding="utf-8"))
    records = expected["records"]
    assert {r["system"] for r in records} == {"zoho_crm", "zoho_books", "zoho_desk", "zoho_salesiq",
                                             "zoho_campaigns", "zoho_mail", "customer_portal"}
    rows = subject_rows(demo_workspace)
    spellings = set()
    for r in records:
        table = rows.get((r["system"], r["collection"]))
        if table is not None:
            spellings.add(table.loc[r["record_key"], "Email"])
            assert normalise_email(table.loc[r["record_key"], "Email"]) == "jw.vandenbergh@bergh-advies.nl"
    assert len(spellings) >= 4  # case and whitespace differ from system to system
    tickets = rows[("zoho_desk", "tickets")]
    ticket = next(r["record_key"] for r in records if r["collection"] == "tickets")
    assert tickets.loc[ticket, "Phone"] == "+31 6 1234 5678"
    contact = next(r["record_key"] for r in records if r["collection"] == "contacts")
    assert rows[("zoho_crm", "contacts")].loc[contact, "Mobile"] == "06-12345678"
    (account,) = [r["record_key"] for r in records if r["system"] == "customer_portal"]
    assert portal(demo_workspace, f"SELECT email FROM accounts WHERE account_id = {int(account)}") == [
        ("jw.vandenbergh@bergh-advies.nl",)]
    (payment,) = [r["record_key"] for r in records if r["collection"] == "customer_payments"]
    payments = read_zoho(demo_workspace, "exports/zoho_books/Customer_Payments.csv").set_index("Payment Number")
    assert payments.loc[payment, "Bank Account"] == expected["subject"]["iban"]
    mail = {r["record_key"] for r in records if r["system"] == "zoho_mail"}
    assert len(mail) == 1 and mail <= message_ids(demo_workspace, "sent")


def test_the_namesake_stranger_shares_the_name_but_no_identifier(demo_workspace):
    expected = json.loads((demo_workspace / "expected_subject.json").read_text(encoding="utf-8"))
    stranger, subject = expected["stranger"], expected["subject"]
    assert stranger["name"] == subject["name"]
    assert normalise_email(stranger["email"]) != normalise_email(subject["email"])
    assert normalise_phone(stranger["phone"]) != normalise_phone(subject["phone"])
    rows = subject_rows(demo_workspace)
    for r in stranger["records"]:
        row = rows[(r["system"], r["collection"])].loc[r["record_key"]]
        assert normalise_email(row["Email"]) == "janwillem.vandenbergh@ziggo.nl"
    subject_keys = {(r["system"], r["record_key"]) for r in expected["records"]}
    assert not subject_keys & {(r["system"], r["record_key"]) for r in stranger["records"]}


# --- the command ---------------------------------------------------------------------------------


def test_datamap_demo_writes_a_workspace_and_prints_the_planted_counts(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "ws"), "--subjects", "120", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert f"demo workspace written to {tmp_path / 'ws'} (120 subjects, seed 5)" in out
    assert "    3  quality.plaintext_credentials" in out
    assert (tmp_path / "ws/expected_findings.json").exists()


def test_datamap_demo_rejects_a_bad_size_in_one_line(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "ws"), "--subjects", "10"]) == 2
    assert capsys.readouterr().err == "error: --subjects: must be between 100 and 1,000,000, got 10\n"
