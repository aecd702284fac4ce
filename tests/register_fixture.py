"""A small, hand-written workspace and audit run for the register and report tests.

Kept independent of the demo generator so that every expected value in the tests can be read
off the manifests below by hand.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import yaml

from datamap.store import unite_identifiers

ORGANIZATION = {
    "fides_key": "apora",
    "name": "Apora B.V.",
    "controller": {"name": "Apora B.V.", "address": "Stationsplein 1, 3511 ED Utrecht",
                   "email": "privacy@apora.nl", "phone": "+31 30 123 4567"},
    "data_protection_officer": {"name": "M. de Wit (FG)", "address": "Stationsplein 1, 3511 ED Utrecht",
                                "email": "fg@apora.nl", "phone": "+31 30 123 4568"},
    "security_policy": "https://apora.nl/security",
}

SYSTEMS = [
    {
        "fides_key": "zoho_crm", "name": "Zoho CRM", "description": "Customer relationship management",
        "system_type": "Application", "administrating_department": "Sales", "responsibility": ["Controller"],
        "dataset_references": ["zoho_crm"], "meta": {"hosted_by": "zoho_corporation", "data_steward": "Head of Sales"},
        "data_security_practices": "SSO with MFA; role-based access; EU data centre",
        "egress": [{"fides_key": "zoho_group_support", "type": "system", "data_categories": ["user.contact.email", "user.name"]}],
        "ingress": [{"fides_key": "customer_portal", "type": "system", "data_categories": ["user.contact.email"]}],
        "privacy_declarations": [
            {"name": "Customer contact", "data_use": "essential.service.operations.support",
             "data_categories": ["user.contact.email", "user.contact.phone_number", "user.name"],
             "data_subjects": ["customer"], "legal_basis_for_processing": "Contract",
             "retention_period": "2 years after the contract ends",
             "egress": ["zoho_group_support"], "dataset_references": ["zoho_crm"]},
            {"name": "Lead follow-up", "data_use": "marketing.communications.email",
             "data_categories": ["user.contact.email", "user.name"], "data_subjects": ["prospect"],
             "legal_basis_for_processing": "Legitimate interests",
             "impact_assessment_location": "governance/lia-leads.pdf", "dataset_references": ["zoho_crm"]},
        ],
    },
    {
        "fides_key": "zoho_books", "name": "Zoho Books", "description": "Invoicing and bookkeeping",
        "system_type": "Application", "administrating_department": "Finance", "responsibility": ["Controller"],
        "dataset_references": ["zoho_books"], "meta": {"hosted_by": "zoho_corporation"},
        "data_security_practices": "Finance role only; MFA",
        "egress": [{"fides_key": "accountant", "type": "system", "data_categories": ["user.financial.bank_account", "user.name"]}],
        "privacy_declarations": [
            {"name": "Invoicing", "data_use": "essential.service.payment_processing",
             "data_categories": ["user.financial.bank_account", "user.name", "user.contact.address"],
             "data_subjects": ["customer"], "legal_basis_for_processing": "Legal obligations",
             "egress": ["accountant"], "dataset_references": ["zoho_books"]},
        ],
    },
    {
        "fides_key": "customer_portal", "name": "Customer portal", "description": "Self-service portal and Zoho trials",
        "system_type": "Application", "administrating_department": "IT", "responsibility": ["Controller", "Processor"],
        "dataset_references": ["customer_portal"], "meta": {"controllers": ["Apora's customers (their own users)"]},
        "egress": [{"fides_key": "zoho_crm", "type": "system", "data_categories": ["user.contact.email"]}],
        "privacy_declarations": [
            {"name": "Portal accounts", "data_use": "essential.service.authentication",
             "data_categories": ["user.contact.email", "user.authorization.credentials", "user.name"],
             "data_subjects": ["customer"], "legal_basis_for_processing": "Contract",
             "egress": ["zoho_crm"], "dataset_references": ["customer_portal"]},
        ],
    },
]

EXTERNAL = [
    {"fides_key": "zoho_corporation", "name": "Zoho Corporation B.V.", "legal_name": "Zoho Corporation B.V.",
     "system_type": "Processor", "dpa_location": "https://www.zoho.com/privacy/dpa.html",
     "meta": {"country": "NL", "eea": True, "region": "zoho.eu"}, "privacy_declarations": []},
    {"fides_key": "zoho_group_support", "name": "Zoho group support (India)", "legal_name": "Zoho Corporation Pvt. Ltd.",
     "system_type": "Processor", "dpa_location": "https://www.zoho.com/privacy/dpa.html",
     "does_international_transfers": True, "legal_basis_for_transfers": ["SCCs"],
     "meta": {"country": "IN", "eea": False}, "privacy_declarations": []},
    {"fides_key": "accountant", "name": "Accountant", "legal_name": "Boekhouding Noord B.V.",
     "system_type": "Third Party", "meta": {"country": "NL", "eea": True}, "privacy_declarations": []},
]

DATASETS = [
    {"fides_key": "zoho_crm", "collections": [
        {"name": "leads", "fields": [{"name": "email", "data_categories": ["user.contact.email"]},
                                     {"name": "email_opt_out", "data_categories": ["user.contact.email"]}]}]},
    {"fides_key": "zoho_books", "collections": [
        {"name": "invoices", "fields": [{"name": "invoice_number"}]}]},
    {"fides_key": "customer_portal", "collections": [
        {"name": "accounts", "fields": [{"name": "email", "data_categories": ["user.contact.email"]}]}]},
]

POLICY = {
    "version": 1, "organization": "apora", "as_of": "2026-11-24",
    "notice": {"file": "notice/privacybeleid.txt",
               "purposes": [
                   {"key": "contact", "text": "Contact voor advies, ondersteuning en klachten",
                    "data_uses": ["essential.service.operations.support", "marketing.communications.email"],
                    "legal_basis": "Legitimate interests"},
                   {"key": "accounts", "text": "Toegang tot onze applicaties",
                    "data_uses": ["essential.service.authentication"]},
                   {"key": "contracts", "text": "Aangaan en uitvoeren van diensten",
                    "data_uses": ["essential.service.payment_processing"]},
               ],
               "disclosed_categories": ["user.name", "user.contact"]},
    "retention": [
        {"system": "zoho_crm", "collection": "leads", "period": "P1Y", "date_column": "last_activity_time"},
        {"system": "zoho_books", "collection": "invoices", "period": "P7Y", "date_column": "invoice_date",
         "anchor": "fiscal_year_end", "legal_duty": "AWR art. 52"},
    ],
    "access": {"roles": {"finance": ["user.financial"], "sales": ["user.contact", "user.name"]},
               "reviewed_systems": ["zoho_crm", "zoho_books"]},
    "recipients": {"own_domains": ["apora.nl"]},
    "requests": {"privacy_mailbox": "privacy@apora.nl"},
}

SOURCES = {"version": 1, "datasets": {
    "zoho_crm": {"product": "zoho_crm", "collections": {"leads": {"file": "exports/zoho_crm/Leads.csv"}}},
    "zoho_books": {"product": "zoho_books", "collections": {"invoices": {"file": "exports/zoho_books/Invoices.csv"}}},
    "customer_portal": {"product": "customer_portal", "url": "sqlite:///portal/portal.db",
                        "collections": {"accounts": {"table": "accounts"}}},
}}


# The Art. 30(1) columns of the register, as the English and the Dutch (AP) workbook name them.
ART30_EN = [
    "Controller", "Controller contact details", "Data protection officer and contact", "Purpose",
    "Legal basis (Art. 6)", "Categories of data subjects", "Categories of personal data", "Categories of recipients",
    "Transfers to third countries or international organisations", "Transfer safeguards (Chapter V)",
    "Retention period", "Technical and organisational security measures",
]
ART30_NL = [
    "Verwerkingsverantwoordelijke", "Contactgegevens verwerkingsverantwoordelijke",
    "Functionaris gegevensbescherming (FG) en contact", "Doel", "Grondslag (art. 6 AVG)", "Categorieën betrokkenen",
    "Categorieën persoonsgegevens", "Categorieën ontvangers", "Doorgifte naar derde landen of internationale organisaties",
    "Passende waarborgen bij doorgifte (hoofdstuk V)", "Bewaartermijn", "Technische en organisatorische beveiligingsmaatregelen",
]


def write_workspace(root: Path, systems: list[dict] | None = None, organization: dict | None = None) -> Path:
    """Write the fixture workspace to ``root`` (manifests, policy.yml, sources.yml, notice)."""
    (root / "manifests").mkdir(parents=True, exist_ok=True)
    (root / "notice").mkdir(exist_ok=True)
    (root / "notice" / "privacybeleid.txt").write_text("Privacybeleid\n", encoding="utf-8")
    dump = lambda p, d: (root / p).write_text(yaml.safe_dump(d, sort_keys=False, allow_unicode=True), encoding="utf-8")
    dump("manifests/organization.yml", {"organization": [organization or ORGANIZATION]})
    dump("manifests/systems.yml", {"system": systems if systems is not None else SYSTEMS})
    dump("manifests/external.yml", {"system": EXTERNAL})
    dump("manifests/datasets.yml", {"dataset": DATASETS})
    dump("policy.yml", POLICY)
    dump("sources.yml", SOURCES)
    return root


CHECKS = [
    {"claim": "P02", "check": "P02.declared_uses", "rule": "purpose.undeclared_use", "status": "passed", "reason": "",
     "rows_examined": 4, "findings": 0, "seconds": 0.01},
    {"claim": "P03", "check": "P03.processor_dpa", "rule": "sharing.processor_without_dpa", "status": "passed",
     "reason": "", "rows_examined": 5, "findings": 0, "seconds": 0.01},
    {"claim": "P03", "check": "P03.transfer_basis", "rule": "transfer.outside_eea_without_basis", "status": "passed",
     "reason": "", "rows_examined": 5, "findings": 0, "seconds": 0.01},
    {"claim": "P03", "check": "P03.outbound_mail", "rule": "sharing.undeclared_recipient", "status": "not_run",
     "reason": "source zoho_mail not configured", "rows_examined": 0, "findings": 0, "seconds": 0.0},
    {"claim": "P05", "check": "P05.retention.zoho_crm.leads", "rule": "retention.expired", "status": "failed",
     "reason": "", "rows_examined": 120, "findings": 3, "seconds": 0.2},
    {"claim": "P05", "check": "P05.retention.zoho_books.invoices", "rule": "retention.expired", "status": "passed",
     "reason": "", "rows_examined": 300, "findings": 0, "seconds": 0.1},
    {"claim": "P11", "check": "P11.access_review", "rule": "access.review_overdue", "status": "failed", "reason": "",
     "rows_examined": 2, "findings": 1, "seconds": 0.01},
    {"claim": "P11", "check": "P11.password_hashes", "rule": "quality.plaintext_credentials", "status": "failed",
     "reason": "", "rows_examined": 40, "findings": 1, "seconds": 0.01},
    {"claim": "P08", "check": "P08.erasure_propagated", "rule": "rights.erasure_incomplete", "status": "failed",
     "reason": "", "rows_examined": 12, "findings": 1, "seconds": 0.05},
]


def _finding(claim, rule, check, severity, system, dataset, collection, key, subject, detail, source, row):
    return {"claim": claim, "rule": rule, "check": check, "severity": severity, "system": system,
            "dataset": dataset, "collection": collection, "record_key": key, "subject_ref": subject,
            "detail": detail, "evidence": {"source": source, "row": row, "values": {"email": subject}}}


FINDINGS = [
    _finding("P05", "retention.expired", "P05.retention.zoho_crm.leads", "medium", "zoho_crm", "zoho_crm", "leads", "4150868000000100007",
             "subj-0a1b2c3d4e5f", "lead last active 2024-03-01; period P1Y", "exports/zoho_crm/Leads.csv", 7),
    _finding("P05", "retention.expired", "P05.retention.zoho_crm.leads", "medium", "zoho_crm", "zoho_crm", "leads", "4150868000000100011",
             "subj-1a1b2c3d4e5f", "lead last active 2023-10-12; period P1Y", "exports/zoho_crm/Leads.csv", 11),
    _finding("P05", "retention.expired", "P05.retention.zoho_crm.leads", "medium", "zoho_crm", "zoho_crm", "leads", "4150868000000100012",
             "subj-2a1b2c3d4e5f", "lead last active 2022-01-30; period P1Y", "exports/zoho_crm/Leads.csv", 12),
    _finding("P11", "access.review_overdue", "P11.access_review", "medium", "zoho_books", None, None, "zoho_books",
             None, "no access review since 2024-06-01 (interval P1Y)", "governance/access_reviews.csv", 3),
    _finding("P11", "quality.plaintext_credentials", "P11.password_hashes", "critical", "customer_portal",
             "customer_portal", "accounts", "17", "subj-3a1b2c3d4e5f", "password_hash is not a known hash format",
             "portal/portal.db#accounts", 17),
    _finding("P08", "rights.erasure_incomplete", "P08.erasure_propagated", "high", "zoho_crm", "zoho_crm", "leads",
             "4150868000000100031", "subj-4a1b2c3d4e5f", "erasure request REQ-0007 completed 2026-03-02; lead still holds the subject",
             "exports/zoho_crm/Leads.csv", 31),
]

PROVENANCE = [
    ("zoho_crm__leads", "zoho_crm", "leads", "exports/zoho_crm/Leads.csv", "ab" * 32, None, 120, "2026-11-24T09:00:00Z"),
    ("zoho_books__invoices", "zoho_books", "invoices", "exports/zoho_books/Invoices.csv", "cd" * 32, None, 300, "2026-11-24T09:00:01Z"),
    ("customer_portal__accounts", "customer_portal", "accounts", "sqlite:///portal/portal.db", "ef" * 32, None, 40, "2026-11-24T09:00:02Z"),
]


# ages on 2026-11-24: 0.5, 1.5, 2.0 and 4.8 years; one open lead without a date
LEADS = [("4150868000000100001", "2026-05-26 10:00:00", 1, "CRM Webform"),
         ("4150868000000100007", "2025-05-25 10:00:00", 7, "CRM Webform"),
         ("4150868000000100011", "2024-11-24 09:00:00", 11, "Import"),
         ("4150868000000100012", "2022-02-01 12:00:00", 12, "CRM Webform"),
         ("4150868000000100013", None, 13, None)]
ROSTER = [("E1", "anna@apora.nl", "sales", None), ("E2", "bram@apora.nl", "finance", "2026-01-31"),
          ("E3", "cees@apora.nl", "sales", "2027-01-31")]
CRM_USERS = [("u1", "Anna@Apora.nl", "anna@apora.nl", "Active"), ("u2", "bram@apora.nl", "bram@apora.nl", "Active"),
             ("u3", "cees@apora.nl", "cees@apora.nl", "Active"), ("u4", "sales@apora.nl", "sales@apora.nl", "Active"),
             ("u5", "oud@apora.nl", "oud@apora.nl", "Inactive")]


# The CRM: three leads of two persons (one came back), one with a phone number too, and one user. The books:
# four invoices of three customers, known by customer number only. The portal: nothing staged.
IDENTIFIERS = [
    ("zoho_crm__leads", "L1", "email", "anna@example.nl"), ("zoho_crm__leads", "L2", "email", "anna@example.nl"),
    ("zoho_crm__leads", "L3", "email", "bram@example.nl"), ("zoho_crm__leads", "L3", "phone", "+31612345678"),
    ("zoho_crm__users", "U1", "email", "sanne@apora.nl"),  # staff: an activity about customers leaves her out
    ("zoho_books__invoices", "I1", "customer_number", "C-1"), ("zoho_books__invoices", "I2", "customer_number", "C-1"),
    ("zoho_books__invoices", "I3", "customer_number", "C-2"), ("zoho_books__invoices", "I4", "customer_number", "C-3"),
]


def write_run(out: Path, run_id: str = "20261124T090000Z", findings: list[dict] | None = None) -> Path:
    """Write an audit run folder in the documented format (checks.json, findings.json, store)."""
    run = out / "runs" / run_id
    run.mkdir(parents=True, exist_ok=True)
    found = FINDINGS if findings is None else findings
    (run / "checks.json").write_text(json.dumps(CHECKS, indent=1), encoding="utf-8")
    (run / "findings.json").write_text(json.dumps(found, indent=1), encoding="utf-8")
    (run / "run.json").write_text(json.dumps({"run_id": run_id, "started": "2026-11-24T09:00:00Z", "as_of": "2026-11-24",
                                              "inputs": {"policy.yml": "12" * 32, "manifests/systems.yml": "34" * 32}}), encoding="utf-8")
    con = sqlite3.connect(run / "store.sqlite")
    con.execute("CREATE TABLE _provenance (tbl, dataset, collection, source, sha256, url, rows, read_at)")
    con.executemany("INSERT INTO _provenance VALUES (?,?,?,?,?,?,?,?)", PROVENANCE)
    # a few staged rows for the report's figures: lead ages, accounts against the roster
    con.execute("CREATE TABLE zoho_crm__leads (record_id, last_activity_time, _row, data_source)")
    con.executemany("INSERT INTO zoho_crm__leads VALUES (?,?,?,?)", LEADS)
    con.execute("CREATE TABLE hr__roster (employee_id, email__norm, role, end_date)")
    con.executemany("INSERT INTO hr__roster VALUES (?,?,?,?)", ROSTER)
    con.execute("CREATE TABLE zoho_crm__users (user_id, email, email__norm, status)")
    con.executemany("INSERT INTO zoho_crm__users VALUES (?,?,?,?)", CRM_USERS)
    # each table's identifiers, for counting persons (not records) per activity, as staging keeps them
    for table in dict.fromkeys(row[0] for row in IDENTIFIERS):
        con.execute(f'CREATE TABLE IF NOT EXISTS "{table}__identifiers" (record_key TEXT, kind TEXT, value TEXT)')
        con.executemany(f'INSERT INTO "{table}__identifiers" VALUES (?,?,?)', [r[1:] for r in IDENTIFIERS if r[0] == table])
    unite_identifiers(con)
    con.commit()
    con.close()
    return run


PROBE = ('<script>window.addEventListener("load", () => {'
         ' document.body.dataset.images = document.images.length;'
         ' document.body.dataset.imagesShown = [...document.images].filter(i => i.complete && i.naturalWidth > 0).length;'
         '});</script></body>')


def images_shown(chromium_path: str, report: Path, tmp: Path) -> tuple[int, int]:
    """(images in the page, images the browser decoded and laid out), from a test-only copy with a probe script."""
    import re as _re

    from datamap.report import chromium

    probe = tmp / "probe.html"
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE), encoding="utf-8")
    dom = chromium(chromium_path, "--virtual-time-budget=5000", "--dump-dom", probe.resolve().as_uri()).stdout
    body = _re.search(r'<body data-images="(\d+)" data-images-shown="(\d+)"', dom)
    assert body, "the probe did not run"
    return int(body.group(1)), int(body.group(2))
