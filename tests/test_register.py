"""The Art. 30 register: every mandatory column filled from the map, policy and audit, or a gap."""
from __future__ import annotations

import copy
from pathlib import Path

import openpyxl
import pytest
from register_fixture import ART30_EN, ART30_NL, SYSTEMS, write_run, write_workspace

from datamap.register.html import render_markdown, render_register_html
from datamap.register.model import build_register, load_map_input, question_catalogue
from datamap.register.run import latest_run
from datamap.register.terms import catalogue
from datamap.register.xlsx import write_xlsx
from datamap.workspace import load_workspace

def _register(tmp_path: Path, lang: str = "en", systems: list[dict] | None = None, with_run: bool = True):
    root = write_workspace(tmp_path / "ws", systems=systems)
    run = latest_run(write_run(tmp_path / "audit").parents[1]) if with_run else None
    ws = load_workspace(root)
    return build_register(load_map_input(ws), ws.policy, run, lang)


def _sheet_rows(path: Path, sheet: str) -> list[dict[str, object]]:
    ws = openpyxl.load_workbook(path)[sheet]
    header = [c.value for c in ws[1]]
    return [dict(zip(header, [c.value for c in row])) for row in ws.iter_rows(min_row=2)]


def test_every_art30_column_is_present_and_filled_for_every_activity(tmp_path):
    path = write_xlsx(_register(tmp_path), tmp_path / "register.xlsx")
    rows = _sheet_rows(path, "Controller register")
    assert [r["Processing activity"] for r in rows] == ["Customer contact", "Lead follow-up", "Invoicing", "Portal accounts"]
    for row in rows[:3]:  # the portal's retention is deliberately undeclared, see the gap test
        for column in ART30_EN:
            assert row[column], (row["Processing activity"], column)
            assert "MISSING" not in str(row[column])


def test_register_values_are_the_ones_declared_in_the_manifests(tmp_path):
    path = write_xlsx(_register(tmp_path), tmp_path / "register.xlsx")
    crm, leads, invoicing, portal = _sheet_rows(path, "Controller register")
    assert crm["Controller"] == "Apora B.V."
    assert crm["Controller contact details"] == "Stationsplein 1, 3511 ED Utrecht, privacy@apora.nl, +31 30 123 4567"
    assert crm["Data protection officer and contact"] == "M. de Wit (FG), Stationsplein 1, 3511 ED Utrecht, fg@apora.nl, +31 30 123 4568"
    assert crm["Legal basis (Art. 6)"] == "contract (Art. 6(1)(b))"
    assert leads["Legal basis (Art. 6)"] == "legitimate interests (Art. 6(1)(f))"
    assert leads["Legitimate interests and balancing test"] == "governance/lia-leads.pdf"
    assert invoicing["Legal basis (Art. 6)"] == "legal obligation (Art. 6(1)(c))"
    assert crm["Categories of data subjects"] == "Customer (customer)"
    assert leads["Categories of data subjects"] == "Prospect (prospect)"
    assert invoicing["Categories of personal data"] == (
        "Bank Account Information (user.financial.bank_account); Name (user.name); User Contact Address (user.contact.address)")
    # Purposes: the declared data use, with the notice's purpose that covers it (policy.yml)
    assert invoicing["Purpose"] == ("✓ Essential for Payment Processing (essential.service.payment_processing) — "
                                    "contracts: Aangaan en uitvoeren van diensten")
    # Recipients: the hosting processor and the declared egress, by kind
    assert invoicing["Categories of recipients"] == "✓ processors: Zoho Corporation B.V.; third parties: Accountant (Boekhouding Noord B.V.)"
    assert invoicing["Shared with third parties"] == "yes: Accountant (Boekhouding Noord B.V.) [user.financial.bank_account; user.name]"
    assert portal["Categories of recipients"] == "✓ internal systems: Zoho CRM"
    # Transfers: only the CRM's support flow leaves the EEA, under SCCs
    assert crm["Transfers to third countries or international organisations"] == "✓ Zoho group support (India) (Zoho Corporation Pvt. Ltd.): IN"
    assert crm["Transfer safeguards (Chapter V)"] == "✓ Zoho group support (India) (Zoho Corporation Pvt. Ltd.): standard contractual clauses (Art. 46)"
    assert invoicing["Transfers to third countries or international organisations"] == "– none: every recipient processes the data inside the EEA"
    # Retention: the declaration's own words and the policy's schedule; the audit says whether it holds
    assert crm["Retention period"] == "✗ 2 years after the contract ends; leads: 1 year from last_activity_time"
    assert invoicing["Retention period"] == "✓ invoices: 7 years after the end of the fiscal year of invoice_date (legal duty: AWR art. 52)"
    assert crm["In adherence with the retention policy?"] == "✗ no: 3 records past their period"
    assert invoicing["In adherence with the retention policy?"] == "✓ yes: no record past its period"
    assert crm["Technical and organisational security measures"] == "✓ SSO with MFA; role-based access; EU data centre; https://apora.nl/security"
    # Art. 33/34 from the map's breach impact: bank data makes a breach one to tell the subjects of
    assert invoicing["Breach notification and record (Art. 33)"] == (
        "report to the Autoriteit Persoonsgegevens within 72 hours unless unlikely to result in a risk (Art. 33); "
        "tell the subjects without undue delay: high-risk data (user.financial.bank_account) (Art. 34)")
    assert crm["Last reviewed (when, by whom)"] == (
        "checked by audit run 20261124T090000Z (reference date 2026-11-24); no review by a person declared")
    # the source: the declared ingress, and what the records say of themselves (Zoho's Data Source)
    assert crm["Source of the data"] == "Customer portal; leads: CRM Webform (3), Import (1)"
    assert invoicing["Source of the data"] is None  # nothing declared, nothing recorded: an empty optional answer
    assert crm["Records held (live)"] == "zoho_crm: 120"
    assert invoicing["Records held (live)"] == "zoho_books: 300"


def test_dutch_register_uses_the_terms_of_the_autoriteit_persoonsgegevens(tmp_path):
    path = write_xlsx(_register(tmp_path, "nl"), tmp_path / "register.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Verwerkingsregister", "Register verwerker", "Ontbrekend", "Herkomst", "Vragen", "Dekking"]
    header = [c.value for c in wb["Verwerkingsregister"][1]]
    for column in ART30_NL:
        assert column in header
    rows = _sheet_rows(path, "Verwerkingsregister")
    assert rows[2]["Grondslag (art. 6 AVG)"] == "wettelijke verplichting (art. 6 lid 1 sub c)"
    assert rows[2]["Bewaartermijn"] == "✓ invoices: 7 jaar na het einde van het boekjaar van invoice_date (wettelijke plicht: AWR art. 52)"


def test_english_workbook_has_one_sheet_per_register_plus_gaps_provenance_questions_and_coverage(tmp_path):
    path = write_xlsx(_register(tmp_path), tmp_path / "register.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Controller register", "Processor register", "Gaps", "Provenance", "Questions", "Coverage"]
    ws = wb["Controller register"]
    assert ws.freeze_panes == "B2"
    assert ws.auto_filter.ref.startswith("A1:")
    assert ws["A2"].alignment.wrap_text is True
    assert ws.column_dimensions["A"].width == 30


def test_incomplete_manifest_gives_a_gap_per_empty_mandatory_field(tmp_path):
    systems = copy.deepcopy(SYSTEMS)
    invoicing = systems[1]["privacy_declarations"][0]
    del invoicing["legal_basis_for_processing"]  # and the notice's purpose 'contracts' names no basis either
    invoicing["data_subjects"] = []
    systems[1]["data_security_practices"] = None
    org_less = _register(tmp_path, systems=systems)
    path = write_xlsx(org_less, tmp_path / "register.xlsx")
    gaps = _sheet_rows(path, "Gaps")
    assert [(g["Processing activity"], g["Register column"], g["Where to fill it in"]) for g in gaps] == [
        ("Invoicing", "Legal basis (Art. 6)", "manifests/systems.yml: zoho_books.privacy_declarations[Invoicing].legal_basis_for_processing"),
        ("Invoicing", "Categories of data subjects", "manifests/systems.yml: zoho_books.privacy_declarations[Invoicing].data_subjects"),
        ("Portal accounts", "Retention period", "manifests/systems.yml: customer_portal.privacy_declarations[Portal accounts].retention_period / policy.yml: retention"),
    ]
    rows = _sheet_rows(path, "Controller register")
    assert rows[2]["Legal basis (Art. 6)"] == "! MISSING"
    assert rows[2]["Categories of data subjects"] == "! MISSING"
    # security still answered by the organisation's security policy: not a gap
    assert rows[2]["Technical and organisational security measures"] == "✗ https://apora.nl/security"


def test_every_register_cell_says_where_it_was_declared_observed_and_verified(tmp_path):
    path = write_xlsx(_register(tmp_path), tmp_path / "register.xlsx")
    ws = openpyxl.load_workbook(path)["Controller register"]
    header = [c.value for c in ws[1]]
    retention = ws.cell(row=2, column=header.index("Retention period") + 1)
    assert retention.comment.text == (
        "Declared in: manifests/systems.yml: zoho_crm.privacy_declarations[Customer contact].retention_period; "
        "policy.yml: retention[0] (zoho_crm.leads)\n"
        "Verified by (Audit run 20261124T090000Z): P05.retention.zoho_crm.leads: failed, 3")
    categories = ws.cell(row=2, column=header.index("Categories of personal data") + 1)
    assert "Observed in: exports/zoho_crm/Leads.csv: 120 records" in categories.comment.text
    consent = ws.cell(row=3, column=header.index("Consent record (Art. 7)") + 1)
    assert consent.value == "consent recorded in zoho_crm.leads.email_opt_out"
    assert "manifests/datasets.yml: dataset zoho_crm.leads.email_opt_out" in consent.comment.text
    prov = _sheet_rows(path, "Provenance")
    legal = [p for p in prov if p["Processing activity"] == "Invoicing" and p["Register column"] == "Legal basis (Art. 6)"]
    assert legal[0]["Declared in"] == "manifests/systems.yml: zoho_books.privacy_declarations[Invoicing].legal_basis_for_processing"


def test_coverage_counts_answers_per_question_group(tmp_path):
    reg = _register(tmp_path)
    by_group = {c.group: c for c in reg.coverage}
    # (f) retention: 4 questions x 4 activities; the portal has no retention rule (2 questions on
    # the period and policy link, 2 on adherence) ; the CRM's two activities fail the check
    f = by_group["retention"]
    assert (f.questions, f.answers, f.answered, f.verified, f.contradicted, f.missing) == (4, 16, 12, 4, 8, 4)
    # (e) transfers: both CRM activities verified by the transfer check, the others not applicable
    e = by_group["transfers"]
    assert (e.answers, e.answered, e.verified, e.missing) == (8, 8, 4, 0)
    assert sum(c.questions for c in reg.coverage) == len(question_catalogue()["questions"]) == 42
    path = write_xlsx(reg, tmp_path / "register.xlsx")
    total = _sheet_rows(path, "Coverage")[-1]
    assert total["Question group"] == "Total" and total["Answers expected"] == 168


def test_processor_register_lists_the_activity_where_apora_is_processor(tmp_path):
    path = write_xlsx(_register(tmp_path), tmp_path / "register.xlsx")
    rows = _sheet_rows(path, "Processor register")
    assert [r["Processing activity"] for r in rows] == ["Portal accounts"]
    assert rows[0]["Controller on whose behalf"] == "Apora's customers (their own users)"
    assert rows[0]["Processor"] == "Apora B.V."


def test_without_an_audit_run_cells_are_declared_but_not_verified(tmp_path):
    reg = _register(tmp_path, with_run=False)
    assert all(c.verified == 0 and c.contradicted == 0 for c in reg.coverage)
    assert reg.rows[0].cells["retention_adherence"].value == ""


def test_html_register_escapes_values_from_the_map(tmp_path):
    systems = copy.deepcopy(SYSTEMS)
    systems[0]["description"] = "<script>alert(1)</script> CRM"
    html = render_register_html(_register(tmp_path, systems=systems))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; CRM" in html
    assert html.startswith("<!DOCTYPE html>") and "@page { size: A4" in html


def test_markdown_register_has_a_section_per_activity_and_the_coverage_table(tmp_path):
    md = render_markdown(_register(tmp_path, "nl"))
    assert md.startswith("# Verwerkingsregister (art. 30 lid 1 AVG)")
    assert "## Invoicing" in md
    assert "| Grondslag (art. 6 AVG) | wettelijke verplichting (art. 6 lid 1 sub c) |" in md
    assert "| **Totaal** | 42 | 168 |" in md


@pytest.mark.parametrize("prefix", ["field.", "group.", "question.", "col.", "status."])
def test_every_label_the_register_uses_is_in_the_catalogue_in_both_languages(prefix):
    cat = question_catalogue()
    needed = {
        "field.": set(cat["columns"]) | set(cat["processor_columns"]),
        "group.": {q["group"] for q in cat["questions"]},
        "question.": {q["id"] for q in cat["questions"]},
        "col.": {"group", "question", "field", "activity", "where_to_fill", "answered", "verified", "missing"},
        "status.": {"passed", "failed", "not_run", "verified", "contradicted", "missing", "answered", "not_applicable"},
    }[prefix]
    terms = catalogue()
    assert sorted(k for k in needed if set(terms.get(prefix + k, {})) != {"en", "nl"}) == []


def test_ropa_command_writes_the_register_and_prints_the_coverage(tmp_path, capsys):
    from datamap.cli import main

    root = write_workspace(tmp_path / "ws")
    write_run(tmp_path / "audit")
    code = main(["ropa", str(root), "--format", "md", "--lang", "nl", "--out", str(tmp_path / "out"),
                 "--audit", str(tmp_path / "audit")])
    printed = capsys.readouterr().out
    assert code == 0
    assert printed.splitlines()[0] == "Verwerkingsactiviteiten: 4 · Ontbrekend: 1 · Auditrun: 20261124T090000Z"
    assert "Beantwoord: " in printed and "| **Totaal**" not in printed  # a summary; the coverage table is in the file
    assert (tmp_path / "out" / "ropa-nl.md").read_text(encoding="utf-8").startswith("# Verwerkingsregister")


def test_ropa_command_refuses_an_unknown_format_in_one_line(tmp_path, capsys):
    from datamap.cli import main

    root = write_workspace(tmp_path / "ws")
    assert main(["ropa", str(root), "--format", "pdf", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == "error: --format: unknown format 'pdf' (choose one of xlsx, html, md)\n"
