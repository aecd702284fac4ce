"""The Art. 30 register: every mandatory column filled from the map, policy and audit, or a gap."""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import openpyxl
import pytest
from register_fixture import ART30_EN, ART30_NL, SYSTEMS, write_run, write_workspace

from datamap.register.html import render_markdown, render_register_html
from datamap.audit.archive import latest_run
from datamap.register.build import build_register
from datamap.register.model import load_map_input, question_catalogue
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
    assert invoicing["Shared with third parties"] == "yes: Accountant (Boekhouding Noord B.V.) [Bank Account Information; Name]"
    assert portal["Categories of recipients"] == "✓ internal systems: Zoho CRM"
    # Transfers: only the CRM's support flow leaves the EEA, under SCCs
    assert crm["Transfers to third countries or international organisations"] == "✓ Zoho group support (India) (Zoho Corporation Pvt. Ltd.): IN"
    assert crm["Transfer safeguards (Chapter V)"] == "✓ Zoho group support (India) (Zoho Corporation Pvt. Ltd.): standard contractual clauses (Art. 46)"
    assert invoicing["Transfers to third countries or international organisations"] == "– none: every recipient processes the data inside the EEA"
    # Retention: the declaration's own words and the policy's schedule; the audit says whether it holds
    assert crm["Retention period"] == "✗ 2 years after the contract ends; leads: one year after the last activity"
    assert invoicing["Retention period"] == "✓ invoices: seven years after the end of the fiscal year of the invoice date (legal duty: AWR art. 52)"
    assert crm["In adherence with the retention policy?"] == "✗ no: 3 records past their period"
    assert invoicing["In adherence with the retention policy?"] == "✓ yes: no record past its period"
    assert crm["Technical and organisational security measures"] == "✓ SSO with MFA; role-based access; EU data centre; https://apora.nl/security"
    # Art. 33/34 from the map's breach impact: bank data makes a breach one to tell the subjects of
    assert invoicing["Breach notification and record (Art. 33)"] == (
        "report to the Autoriteit Persoonsgegevens within 72 hours unless unlikely to result in a risk (Art. 33); "
        "tell the subjects without undue delay: high-risk data (Bank Account Information) (Art. 34)")
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
    assert rows[2]["Bewaartermijn"] == "✓ invoices: zeven jaar na het einde van het boekjaar van de factuurdatum (wettelijke plicht: AWR art. 52)"


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
    gaps = [g for g in _sheet_rows(path, "Gaps") if g["Register column"] != "Owner (data steward)"]
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
    assert consent.value == "consent recorded in zoho_crm: leads.email_opt_out"
    assert "manifests/datasets.yml: dataset zoho_crm.leads.email_opt_out" in consent.comment.text
    prov = _sheet_rows(path, "Provenance")
    legal = [p for p in prov if p["Processing activity"] == "Invoicing" and p["Register column"] == "Legal basis (Art. 6)"]
    assert legal[0]["Declared in"] == "manifests/systems.yml: zoho_books.privacy_declarations[Invoicing].legal_basis_for_processing"


def test_coverage_counts_answers_per_question_group(tmp_path):
    reg = _register(tmp_path)
    by_group = {c.group: c for c in reg.coverage}
    # (f) retention: 4 questions x 4 activities; the portal has no retention rule (2 questions on
    # the period and policy link, 2 on adherence) ; the CRM's two activities fail the check.
    # Missing counts the one empty mandatory cell (the portal's period), as the gaps sheet does.
    f = by_group["retention"]
    assert (f.questions, f.answers, f.answered, f.verified, f.contradicted, f.missing) == (4, 16, 12, 4, 8, 1)
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
    assert reg.rows[0].cells["retention_adherence"].value == "not verified: no audit run found"


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
    assert printed.splitlines()[0] == "Verwerkingsactiviteiten: 4 · Ontbrekend: 3 · Auditrun: 20261124T090000Z"
    assert "Beantwoord: " in printed and "| **Totaal**" not in printed  # a summary; the coverage table is in the file
    assert (tmp_path / "out" / "ropa-nl.md").read_text(encoding="utf-8").startswith("# Verwerkingsregister")


def test_ropa_command_refuses_an_unknown_format_in_one_line(tmp_path, capsys):
    from datamap.cli import main

    root = write_workspace(tmp_path / "ws")
    assert main(["ropa", str(root), "--format", "pdf", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == "error: --format: unknown format 'pdf' (choose one of xlsx, html, md)\n"


def test_the_catalogue_says_which_checks_verify_which_answer_of_the_register():
    from datamap.register.verify import map_level_rules, verifying_rules

    rules = verifying_rules()
    assert list(rules) == ["purpose", "data_categories", "recipients", "processors", "third_parties", "transfers",
                           "safeguards", "retention", "retention_adherence", "security", "rights", "consent_record"]
    assert rules["recipients"] == ("sharing.processor_without_dpa", "sharing.undeclared_recipient")
    assert rules["rights"] == ("rights.correction_not_applied", "rights.erasure_incomplete", "rights.request_overdue")
    assert {"purpose.undeclared_use", "sharing.processor_without_dpa"} <= map_level_rules()
    assert "retention.expired" not in map_level_rules()  # judged only where the schedule points it


def test_a_check_that_verifies_no_column_name_is_refused_naming_the_file_and_key(tmp_path):
    from datamap.audit.catalogue import load_catalogue
    from datamap.errors import BadInput

    (tmp_path / "P17.yml").write_text(
        "claim: P17\nsection: '§01'\ntext: x\nchecks:\n  - id: c\n    name: c\n    rule: r.x\n    severity: low\n"
        "    kind: map\n    rules: [r.x]\n    verifies: [Retention-Period]\n", encoding="utf-8")
    with pytest.raises(BadInput) as err:
        load_catalogue([tmp_path])
    assert err.value.file.endswith("P17.yml") and err.value.key == "checks.c.verifies"


# --- the demo's register as its readers get it (issue 17) ---------------------------------------

# The columns that say the map's vocabulary (categories, uses, subjects) and periods in words.
LABEL_COLUMNS = ("Doel", "Categorieën betrokkenen", "Categorieën persoonsgegevens", "Verwerkers en verwerkersovereenkomst",
                 "Gedeeld met derden", "Melding en registratie van datalekken (art. 33)", "Categorieën van verwerkingen")


@pytest.fixture(scope="module")
def demo_registers(audited_demo, tmp_path_factory) -> dict[str, Path]:
    """The demo's Dutch register as the privacy office (working) and the AP (ap) receive it, as XLSX."""
    from datamap.register.ropa import write_register

    ws, audit = audited_demo
    out = tmp_path_factory.mktemp("demo-register")
    return {"working": write_register(ws, out, "xlsx", "nl", audit)[0],
            "ap": write_register(ws, out, "xlsx", "nl", audit, for_ap=True)[0]}


def _all_cells(path: Path) -> list[str]:
    wb = openpyxl.load_workbook(path)
    return [str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]


@pytest.mark.parametrize("audience", ["working", "ap"])
def test_the_dutch_register_of_the_demo_says_no_taxonomy_label_in_english(demo_registers, audience):
    import re

    from test_labels import ENGLISH

    from datamap.labels import label
    from datamap.taxonomy import KINDS, default_taxonomy

    path = demo_registers[audience]
    rows = _sheet_rows(path, "Verwerkingsregister")  # the demo's Apora is processor nowhere
    # keys aside (the working copy keeps them for the auditor), and the notice's own Dutch after a purpose
    texts = [re.sub(r"\([a-z_.]+\)", "", str(row[c]).split(" — ")[0] if c == "Doel" else str(row[c]))
             for row in rows for c in LABEL_COLUMNS if row.get(c)]
    english = {label(k, "en", kind) for kind in KINDS for k in default_taxonomy().keys(kind)} - {
        label(k, "nl", kind) for kind in KINDS for k in default_taxonomy().keys(kind)}
    items = {item.strip(" ✓✗–!") for text in texts for item in re.split(r"[;\[\]]", text)}
    assert sorted(items & english) == []
    words = {w.casefold() for text in texts for w in re.findall(r"[^\W\d_]+", text.split("https://")[0])}
    assert sorted(words & ENGLISH) == []
    periods = [str(row["Bewaartermijn"]) for row in rows if row.get("Bewaartermijn")]
    assert not [p for p in periods if re.search(r"\bP\d+[YMWD]\b|last_activity_time", p)]


def test_the_demo_register_says_a_retention_period_in_words(demo_registers):
    rows = _sheet_rows(demo_registers["ap"], "Verwerkingsregister")
    crm = next(r for r in rows if r["Verwerkingsactiviteit"] == "Klantrelaties en contracten")
    assert "leads: een jaar na de laatste activiteit" in crm["Bewaartermijn"]
    assert "contacts: twee jaar na de laatste activiteit" in crm["Bewaartermijn"]


def test_the_copy_for_the_ap_names_systems_and_datasets_never_by_their_key(demo_registers, audited_demo):
    import re

    from datamap.map import load_map

    dm = load_map(audited_demo[0])
    named = {k for k, s in dm.systems.items() if s.name and s.name != k} | {k for k, d in dm.datasets.items() if d.name and d.name != k}
    cells = _all_cells(demo_registers["ap"])
    assert sorted({k for k in named for c in cells if re.search(rf"(?<![\w./-]){re.escape(k)}(?![\w-])", c)}) == []
    # the working copy keeps the key beside the name for the auditor, never instead of it
    systems = [r["Systeem"] for r in _sheet_rows(demo_registers["working"], "Verwerkingsregister")]
    assert "Zoho CRM (zoho_crm)" in systems and all(" (" in s for s in systems)
    assert {g["Systeem"] for g in _sheet_rows(demo_registers["working"], "Ontbrekend")} <= {s.name for s in dm.systems.values()}


def test_the_copy_for_the_ap_has_no_provenance_marks_or_audit_columns(demo_registers):
    wb = openpyxl.load_workbook(demo_registers["ap"])
    assert demo_registers["ap"].name == "ropa-nl-ap.xlsx"
    assert wb.sheetnames == ["Verwerkingsregister"]  # the registers only (the demo's Apora is processor nowhere)
    cells = _all_cells(demo_registers["ap"])
    assert [c for c in cells if "manifests/" in c or "policy.yml" in c or "sources.yml" in c] == []
    assert [c for c in cells if c[:1] in "✓✗–!"] == []
    assert not [c.comment for ws in wb for row in ws.iter_rows() for c in row if c.comment]
    header = [c.value for c in wb["Verwerkingsregister"][1]]
    assert "Controles in de laatste auditrun" not in header and "Aantal records (actueel)" not in header
    assert "Aantal betrokkenen" in header
    # the working copy keeps all of it
    working = openpyxl.load_workbook(demo_registers["working"])
    assert "Herkomst" in working.sheetnames and "Controles in de laatste auditrun" in [c.value for c in working["Verwerkingsregister"][1]]


def test_the_html_copy_for_the_ap_has_no_provenance_column(tmp_path):
    reg = _register(tmp_path, "nl")
    ap = render_register_html(dataclasses.replace(reg, audience="ap"))
    assert 'class="prov"' not in ap and "manifests/systems.yml" not in ap and 'id="gaps"' not in ap
    assert "✓" not in ap and "! ONTBREEKT" not in ap
    assert 'class="prov"' in render_register_html(reg)


def test_every_sheet_prints_landscape_one_page_wide_with_its_header_on_each_page(demo_registers):
    for path in demo_registers.values():
        wb = openpyxl.load_workbook(path)
        for ws in wb:
            assert (ws.page_setup.orientation, ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == ("landscape", 1, 0), ws.title
            assert ws.sheet_properties.pageSetUpPr.fitToPage is True
            assert ws.print_title_rows == "$1:$1"
            assert ws["A2"].alignment.wrap_text is True
        assert wb["Verwerkingsregister"].column_dimensions["A"].width == 30


def test_the_workbook_says_the_organisation_wrote_it_not_openpyxl(demo_registers):
    props = openpyxl.load_workbook(demo_registers["ap"]).properties
    assert (props.creator, props.lastModifiedBy, props.language) == ("Apora B.V.", "Apora B.V.", "nl")
    assert props.title == "Verwerkingsregister (art. 30 lid 1 AVG) · Apora B.V."
    assert props.subject == "Verwerkingsregister"


def test_persons_are_counted_per_activity_not_records(tmp_path):
    reg = _register(tmp_path)
    counts = {r.activity: r.cells["subjects_count"].value for r in reg.rows}
    assert counts == {"Customer contact": "2 persons in zoho_crm",  # three leads, two e-mail addresses, no staff
                      "Lead follow-up": "2 persons in zoho_crm",
                      "Invoicing": "3 persons in zoho_books",  # four invoices, three customer numbers
                      "Portal accounts": "unknown (the audit store holds none of its data)"}
    assert _register(tmp_path / "no-run", with_run=False).rows[0].cells["subjects_count"].value == "unknown (no audit run)"


def test_persons_in_the_demo_are_fewer_than_its_records(demo_registers):
    rows = _sheet_rows(demo_registers["working"], "Verwerkingsregister")
    invoicing = next(r for r in rows if r["Verwerkingsactiviteit"] == "Facturatie en betalingen")
    assert invoicing["Aantal betrokkenen"] == "211 personen in Zoho Books export"
    assert invoicing["Aantal records (actueel)"] == "Zoho Books export: 1.209"
    # an activity about staff counts the addresses at the organisation's own domain (apora.nl) only
    staff = next(r for r in rows if (r["Verwerkingsactiviteit"], r["Systeem"]) == ("Gebruikersbeheer", "Zoho CRM (zoho_crm)"))
    assert staff["Aantal betrokkenen"] == "13 personen in Zoho CRM export"


def test_legitimate_interests_without_a_balancing_test_is_a_gap(tmp_path):
    systems = copy.deepcopy(SYSTEMS)
    del systems[0]["privacy_declarations"][1]["impact_assessment_location"]  # Lead follow-up, Art. 6(1)(f)
    reg = _register(tmp_path, systems=systems)
    gaps = [(g.activity, g.field) for g in reg.gaps]
    assert ("Lead follow-up", "legitimate_interest") in gaps
    assert reg.rows[1].cells["legitimate_interest"].value == "no balancing test (legitimate interest assessment) on file"
    # a balancing test named in the system's meta (per declaration) answers it
    systems[0]["meta"]["lia_location"] = {"Lead follow-up": "governance/lia-leads-2026.pdf"}
    answered = _register(tmp_path / "with-lia", systems=systems)
    assert ("Lead follow-up", "legitimate_interest") not in [(g.activity, g.field) for g in answered.gaps]
    assert answered.rows[1].cells["legitimate_interest"].value == "governance/lia-leads-2026.pdf"


def test_an_unverified_compliance_answer_says_so_instead_of_blank(tmp_path, demo_registers):
    reg = _register(tmp_path)
    assert reg.rows[3].cells["retention_adherence"].value == "not verified: the retention schedule has no rule for it"
    rows = _sheet_rows(demo_registers["working"], "Verwerkingsregister")
    assert all(r["Wordt de bewaartermijn nageleefd?"] for r in rows)
    assert "niet gecontroleerd: het bewaarschema heeft er geen regel voor" in {r["Wordt de bewaartermijn nageleefd?"] for r in rows}


def test_owner_and_reviews_come_from_the_manifest_or_say_they_are_missing(tmp_path):
    systems = copy.deepcopy(SYSTEMS)
    systems[1]["meta"].update({"data_steward": {"Invoicing": "Head of Finance"}, "last_reviewed": "2026-03-01",
                               "reviewed_by": "J. Bakker"})
    reg = _register(tmp_path, systems=systems)
    crm, _, invoicing, portal = reg.rows
    assert [invoicing.cells[c].value for c in ("data_steward", "last_review", "next_review")] == [
        "Head of Finance", "2026-03-01 by J. Bakker", "2027-03-01"]  # next: a year after the last
    assert crm.cells["data_steward"].value == "Head of Sales"
    assert portal.cells["data_steward"].is_gap
    assert portal.cells["next_review"].value == "no review planned"


def test_the_coverage_and_the_gaps_sheet_count_missing_answers_alike(demo_registers):
    gaps = _sheet_rows(demo_registers["working"], "Ontbrekend")
    total = _sheet_rows(demo_registers["working"], "Dekking")[-1]
    assert total["Vragengroep"] == "Totaal"
    assert total["Ontbreekt (verplicht)"] == len(gaps) > 0


def test_ropa_for_ap_writes_the_regulators_copy(tmp_path, capsys):
    from datamap.cli import main

    root = write_workspace(tmp_path / "ws")
    write_run(tmp_path / "audit")
    assert main(["ropa", str(root), "--lang", "nl", "--for", "ap", "--out", str(tmp_path / "out"),
                 "--audit", str(tmp_path / "audit")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("ropa-nl-ap.xlsx")
    assert main(["ropa", str(root), "--for", "dpo", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == ("error: --for: unknown audience 'dpo' "
                                       "(leave it out for the working copy, or say --for ap)\n")
