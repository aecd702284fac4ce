"""Letters as a reader receives them: one Letter, written as HTML, a paginated PDF and an editable DOCX."""
from __future__ import annotations

import pytest

from datamap.documents import Letter, Section, Sender, address_lines, long_date, place_of, write_letter


def has_chromium() -> bool:
    from datamap.report import pdf_converter

    return pdf_converter() is not None


needs_chromium = pytest.mark.skipif(not has_chromium(), reason="no Chromium on this machine to print a PDF")


def a_letter(paragraphs: int = 3, name: str = "Apora B.V.") -> Letter:
    return Letter(
        sender=Sender(name, address_lines("Stationsplein 12, 3511 ED Utrecht, Nederland"), ("T +31 30 700 1200", "privacy@apora.nl")),
        recipient=("Autoriteit Persoonsgegevens", "Postbus 93374", "2509 AJ  DEN HAAG"),
        place_date="Utrecht, 3 december 2026",
        subject="Melding van een datalek in Zoho Books",
        sections=[Section(None, ("Geachte heer, mevrouw,",)),
                  Section("Over het datalek", tuple(f"Alinea {i}: " + "een zin over het datalek. " * 12 for i in range(paragraphs)),
                          ("Klant", "Medewerker"), (("Veld", "Antwoord"), ("Oorzaak", "[in te vullen]")))],
        signature=("Marieke Jansen", "Functionaris gegevensbescherming", "Apora B.V."),
        note="CONCEPT",
    )


def test_a_manifest_address_becomes_the_lines_of_an_address_block_and_gives_the_place():
    assert address_lines("Stationsplein 12, 3511 ED Utrecht, Nederland") == ("Stationsplein 12", "3511 ED Utrecht", "Nederland")
    assert place_of("Stationsplein 12, 3511 ED Utrecht, Nederland") == "Utrecht"
    assert long_date(__import__("datetime").date(2026, 12, 3), "nl") == "3 december 2026"


@needs_chromium
def test_a_letter_is_written_as_html_pdf_and_docx(tmp_path):
    assert [p.name for p in write_letter(a_letter(), tmp_path, "brief")] == ["brief.html", "brief.pdf", "brief.docx"]


@needs_chromium
def test_every_printed_page_says_its_number_of_the_total(tmp_path):
    from pypdf import PdfReader

    pdf = next(p for p in write_letter(a_letter(paragraphs=30), tmp_path, "brief") if p.suffix == ".pdf")
    pages = PdfReader(str(pdf)).pages
    assert len(pages) >= 2
    for number, page in enumerate(pages, 1):
        assert f"Pagina {number} van {len(pages)}" in page.extract_text()


@needs_chromium
def test_an_english_letter_numbers_its_pages_in_english(tmp_path):
    from dataclasses import replace

    from pypdf import PdfReader

    letter = replace(a_letter(paragraphs=30), lang="en", subject="Notification of a personal data breach in Zoho Books")
    pdf = next(p for p in write_letter(letter, tmp_path, "letter") if p.suffix == ".pdf")
    pages = PdfReader(str(pdf)).pages
    assert len(pages) >= 2
    for number, page in enumerate(pages, 1):
        text = page.extract_text()
        assert f"Page {number} of {len(pages)}" in text and "Pagina" not in text
    assert "Subject:" in pages[0].extract_text()


def test_without_chromium_the_html_and_docx_are_written_and_one_line_says_why_no_pdf(tmp_path, monkeypatch):
    import datamap.report

    monkeypatch.setattr(datamap.report, "pdf_converter", lambda: None)
    said: list[str] = []
    written = write_letter(a_letter(), tmp_path, "brief", say=said.append)
    assert [p.name for p in written] == ["brief.html", "brief.docx"]
    assert len(said) == 1 and "no PDF" in said[0] and "Chromium" in said[0]


def test_the_docx_opens_with_the_address_block_as_separate_paragraphs_and_a_page_field(tmp_path):
    import docx

    path = next(p for p in write_letter(a_letter(), tmp_path, "brief", pdf=False) if p.suffix == ".docx")
    doc = docx.Document(str(path))
    paragraphs = [p.text for p in doc.paragraphs]
    start = paragraphs.index("Autoriteit Persoonsgegevens")
    assert paragraphs[start:start + 3] == ["Autoriteit Persoonsgegevens", "Postbus 93374", "2509 AJ  DEN HAAG"]
    assert paragraphs[paragraphs.index("Apora B.V."):][:4] == ["Apora B.V.", "Stationsplein 12", "3511 ED Utrecht", "Nederland"]
    assert paragraphs[-3:] == ["Marieke Jansen", "Functionaris gegevensbescherming", "Apora B.V."]
    assert "Over het datalek" in [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert [p.text for p in doc.paragraphs if p.style.name == "List Bullet"] == ["Klant", "Medewerker"]
    assert [c.text for c in doc.tables[0].rows[1].cells] == ["Oorzaak", "[in te vullen]"]
    footer = doc.sections[0].footer.paragraphs[0]._p.xml
    assert "PAGE" in footer and "NUMPAGES" in footer and "Pagina" in footer
    assert doc.core_properties.author == "Apora B.V."


def test_a_field_still_to_fill_in_is_marked_in_html_and_docx(tmp_path):
    import docx

    html, word = write_letter(a_letter(), tmp_path, "brief", pdf=False)
    assert "<mark>[in te vullen]</mark>" in html.read_text(encoding="utf-8")
    runs = [r for t in docx.Document(str(word)).tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs]
    assert [r.font.highlight_color for r in runs if r.text == "[in te vullen]"] == [7]  # WD_COLOR_INDEX.YELLOW


def test_a_planted_script_in_a_name_is_text_in_the_letter_and_its_page_margin(tmp_path):
    html = write_letter(a_letter(name='Evil "</style><script>alert(1)</script>'), tmp_path, "brief", pdf=False)[0]
    text = html.read_text(encoding="utf-8")
    assert "<script>" not in text and "</style><script>" not in text
    assert 'content: "Evil \\000022' in text  # the quote as a CSS escape: it cannot end the string


# --- the subject's summary letter ----------------------------------------------------------------


@pytest.fixture(scope="module")
def subject_export(audited_demo, tmp_path_factory):
    """The demo's planted person's Art. 15 export, written as the CLI writes it (audited copy: staging writes the store)."""
    import json

    from datamap import subject as sr
    from datamap.workspace import load_workspace

    ws = load_workspace(audited_demo[0])
    planted = json.loads((audited_demo[0] / "expected_subject.json").read_text())["subject"]
    con, view = sr.open_store(ws), sr.read_map(ws)
    person = sr.Subject.of(email=[planted["email"]])
    doc = sr.build_export(con, ws, view, person, sr.find(con, view, person, own_domains=ws.policy.recipients.own_domains))
    out = tmp_path_factory.mktemp("export")
    sr.write_export(doc, out)
    return out, planted


@pytest.mark.xdist_group("audited_demo")
@pytest.mark.parametrize("name", ["summary_nl.html", "summary_nl.docx"])
def test_the_dutch_summary_reads_as_dutch_with_names_and_periods_in_words(subject_export, audited_demo, name):
    import re

    from test_inquiry import ENGLISH, manifest_names, text_of

    text = text_of(subject_export[0] / name)
    tables = {"customer", "payments", "accounts", "contacts", "tickets", "visitors", "invoices"}  # said as the system names them
    dutch_too = {"account", "contact"}  # the policy's Dutch purposes: "contact opnemen", "persoonlijk account"
    assert sorted(set(re.findall(r"[a-z]+", text.lower())) & ENGLISH - tables - dutch_too) == []
    keys = manifest_names(audited_demo[0])
    assert [k for k in keys if re.search(rf"(?<![\w.@]){re.escape(k)}(?![\w])", text)] == []
    assert not re.search(r"\bP\d+[YMWD]\b", text)
    assert "Zoho CRM, tabel contacts: twee jaar na de laatste activiteit" in text
    assert "Bankrekeningnummer (IBAN)" in text and "Wachtwoord" in text


@pytest.mark.xdist_group("audited_demo")
def test_the_english_summary_says_periods_in_english_words(subject_export):
    from test_inquiry import text_of

    text = text_of(subject_export[0] / "summary_en.html")
    assert "Zoho CRM, table contacts: two years after the last activity" in text
    assert "Dear Sir or Madam," in text and "Pagina" not in text


@pytest.mark.xdist_group("audited_demo")
def test_the_summary_letter_shows_none_of_the_persons_values_only_the_export_files_do(subject_export):
    from test_inquiry import text_of

    out, planted = subject_export
    values = [planted["iban"], planted["customer_number"], planted["phone"], "NL67"]
    for name in ("summary_nl.html", "summary_nl.docx", "summary_en.html", "summary_en.docx"):
        assert [v for v in values if v in text_of(out / name)] == [], name
    assert planted["customer_number"] in (out / "subject.json").read_text(encoding="utf-8")
