"""Letters as a reader receives them: one letter, written once, as HTML, PDF and an editable Word file.

A letter to the Autoriteit Persoonsgegevens or to a data subject is printed, signed, filed and
sometimes edited before it is sent. So every letter is a :class:`Letter` (plain data: letterhead,
address block, place and date, subject, body, signature) rendered by one Jinja template into
HTML, printed to PDF by the same headless Chromium as the audit report (page numbers "Pagina 1
van 2", "Page 1 of 2" come from the CSS ``@page`` margin boxes), and built as DOCX with python-docx (the same
letter, with the address block as separate lines and a page-number field in the footer).

A letter's own words (the months, "Onderwerp", the page numbers, what is still to fill in) are the
``letter.*`` entries of ``datamap/register/terms.yml``, in every language the letters are written in.
Text a privacy officer must still fill in is written as :attr:`Letter.to_fill` and marked in every format.

>>> import tempfile
>>> letter = Letter(Sender("Apora B.V.", ("Stationsplein 12", "3511 ED Utrecht")), ("Autoriteit Persoonsgegevens",),
...                 "Utrecht, 3 december 2026", "Uw verzoek", [Section(None, ("Geachte heer, mevrouw,",))],
...                 ("Marieke Jansen",))
>>> [p.name for p in write_letter(letter, tempfile.mkdtemp(), "brief", pdf=False)]
['brief.html', 'brief.docx']
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from markupsafe import Markup, escape

from datamap.outputs import templates, write_atomic
from datamap.register.terms import t


# Date columns of a retention schedule, said as the moment they mark: a letter names no column.
COUNTED_FROM = {
    "nl": {"last_activity_time": "de laatste activiteit", "last_visit_time": "het laatste bezoek",
           "closed_time": "de afsluiting", "closed_at": "de afsluiting", "invoice_date": "de factuurdatum",
           "date": "de betaaldatum", "created_time": "het aanmaken", "end_date": "het einde van de overeenkomst"},
    "en": {"last_activity_time": "the last activity", "last_visit_time": "the last visit", "closed_time": "closing",
           "closed_at": "closing", "invoice_date": "the invoice date", "date": "the payment date",
           "created_time": "creation", "end_date": "the end of the contract"},
}
FIELD = {"nl": "de datum in het veld {column}", "en": "the date in the field {column}"}


@dataclass(frozen=True)
class Sender:
    """The letterhead: who writes, where, and how to reach them."""

    name: str
    address: tuple[str, ...] = ()
    contact: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """A part of the body: an optional heading, paragraphs, a bulleted list, a table (first row the header)."""

    heading: str | None
    paragraphs: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    table: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Letter:
    """One letter, in one language; every format is rendered from this."""

    sender: Sender
    recipient: tuple[str, ...]
    place_date: str
    subject: str
    sections: list[Section]
    signature: tuple[str, ...]
    lang: str = "nl"
    closing: str = "Met vriendelijke groet,"
    note: str | None = None  # a banner above the letter, e.g. that it is a draft
    reference: tuple[tuple[str, str], ...] = ()  # (label, value) lines beside the subject: "Ons kenmerk"

    @property
    def to_fill(self) -> str:
        return t("letter.to_fill", self.lang)

    def say(self, key: str) -> str:
        """One of the letter's own words (``letter.page``, ``letter.subject_label``) in its language."""
        return t(f"letter.{key}", self.lang)


def long_date(day: dt.date, lang: str) -> str:
    """A date as a letter writes it: ``3 december 2026`` / ``3 December 2026``."""
    return f"{day.day} {t('letter.months', lang).split()[day.month - 1]} {day.year}"


def counted_from(column: str, lang: str) -> str:
    """The moment a retention period starts, in words (``invoice_date`` -> ``de factuurdatum``)."""
    return COUNTED_FROM[lang].get(column) or FIELD[lang].format(column=column)


def address_lines(address: str | None) -> tuple[str, ...]:
    """A one-line address from a manifest (``Stationsplein 12, 3511 ED Utrecht, Nederland``) as address-block lines."""
    return tuple(part.strip() for part in (address or "").split(",") if part.strip())


def place_of(address: str | None) -> str | None:
    """The town of a Dutch or similar address (the words after the postcode), for "Utrecht, 3 december 2026"."""
    match = re.search(r"\b\d{4}\s?[A-Z]{2}\s+([^,]+)", address or "")
    return match.group(1).strip() if match else None


def write_letter(letter: Letter, out_dir: str | os.PathLike[str], basename: str, pdf: bool = True,
                 say: Callable[[str], None] | None = None) -> list[Path]:
    """Write ``basename.html``, ``.pdf`` and ``.docx`` of one letter into ``out_dir``; return the paths written.

    Without Chromium the PDF is left out and ``say`` (default: stderr) gets one line saying why.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html_path = write_atomic(out / f"{basename}.html", render_html(letter))
    written = [html_path]
    if pdf:
        printed = _print_pdf(html_path, out / f"{basename}.pdf", say or _stderr)
        written += [printed] if printed else []
    written.append(write_atomic(out / f"{basename}.docx", render_docx(letter)))
    return written


def render_html(letter: Letter) -> str:
    """The letter as one self-contained HTML page, laid out for A4 with page numbers in the margin."""
    env = templates("html", filters={"marked": lambda text: _marked(text, letter.to_fill), "css_string": _css_string})
    return env.get_template("letter.html.j2").render(letter=letter)


def _marked(text: str, to_fill: str) -> Markup:
    """Escape ``text`` and highlight every field still to fill in."""
    return Markup(f"<mark>{escape(to_fill)}</mark>").join(escape(part) for part in str(text).split(to_fill))


def _css_string(text: str) -> Markup:
    """Text for inside a CSS string in a <style>: every character but letters, digits and spaces as a CSS escape."""
    return Markup("".join(c if c.isalnum() or c == " " else f"\\{ord(c):06x}" for c in str(text)))


def _print_pdf(html: Path, pdf: Path, say: Callable[[str], None]) -> Path | None:
    from datamap.report import html_to_pdf, pdf_converter

    converter = pdf_converter()
    if converter is None:
        say(f"no PDF of {html.stem}: Chromium is not installed (apt-get install chromium); the HTML and DOCX are written")
        return None
    return html_to_pdf(html, pdf, converter[0])


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


# --- Word ----------------------------------------------------------------------------------------


def render_docx(letter: Letter) -> bytes:
    """The letter as an editable Word document: same letterhead, address lines, headings, lists and tables."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt, RGBColor

    doc = docx.Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.5)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.2)
    doc.styles["Normal"].font.name = "Arial"
    doc.styles["Normal"].font.size = Pt(10.5)
    props = doc.core_properties
    props.author = props.last_modified_by = letter.sender.name
    props.title, props.language = letter.subject, letter.lang
    props.comments = ""

    if letter.note:
        note = doc.add_paragraph()
        run = note.add_run(letter.note)
        run.bold, run.font.color.rgb = True, RGBColor(0xA0, 0x1C, 0x1C)
    head = doc.add_paragraph()
    head.add_run(letter.sender.name).bold = True
    for line in (*letter.sender.address, *letter.sender.contact):
        doc.add_paragraph(line).paragraph_format.space_after = Pt(0)
    head.paragraph_format.space_after = Pt(0)
    doc.add_paragraph()
    for line in letter.recipient:  # one paragraph a line: the address block an envelope window shows
        doc.add_paragraph(line).paragraph_format.space_after = Pt(0)
    doc.add_paragraph()
    doc.add_paragraph(letter.place_date)
    for name, value in letter.reference:
        _fill_runs(doc.add_paragraph(), f"{name}: {value}", letter.to_fill)
    subject = doc.add_paragraph()
    subject.add_run(f"{letter.say('subject_label')}: ").bold = True
    _fill_runs(subject, letter.subject, letter.to_fill, bold=True)
    for part in letter.sections:
        if part.heading:
            doc.add_heading(part.heading, level=2)
        for text in part.paragraphs:
            _fill_runs(doc.add_paragraph(), text, letter.to_fill)
        for item in part.items:
            _fill_runs(doc.add_paragraph(style="List Bullet"), item, letter.to_fill)
        if part.table:
            _docx_table(doc, part.table, letter.to_fill)
    doc.add_paragraph(letter.closing).paragraph_format.space_before = Pt(12)
    doc.add_paragraph().paragraph_format.space_after = Pt(30)  # room to sign
    for line in letter.signature:
        doc.add_paragraph(line).paragraph_format.space_after = Pt(0)

    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer.add_run(f"{letter.sender.name} · {letter.say('page')} ")
    _field(footer, "PAGE")
    footer.add_run(f" {letter.say('page_of')} ")
    _field(footer, "NUMPAGES")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _fill_runs(paragraph: Any, text: str, to_fill: str, bold: bool = False) -> None:
    """Add ``text`` to a paragraph, each field still to fill in highlighted yellow."""
    from docx.enum.text import WD_COLOR_INDEX

    parts = str(text).split(to_fill)
    for i, part in enumerate(parts):
        if part:
            paragraph.add_run(part).bold = bold
        if i < len(parts) - 1:
            run = paragraph.add_run(to_fill)
            run.bold, run.font.highlight_color = True, WD_COLOR_INDEX.YELLOW


def _docx_table(doc: Any, rows: tuple[tuple[str, ...], ...], to_fill: str) -> None:
    table = doc.add_table(rows=0, cols=len(rows[0]))
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            _fill_runs(cell.paragraphs[0], value, to_fill, bold=r == 0)
    doc.add_paragraph()


def _field(paragraph: Any, code: str) -> None:
    """A Word field (PAGE, NUMPAGES) that Word fills in when it lays out the pages."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def char(kind: str) -> Any:
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        return element

    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = code
    for element in (char("begin"), instr, char("separate")):
        paragraph.add_run()._r.append(element)
    paragraph.add_run("1")  # shown until Word updates the field
    paragraph.add_run()._r.append(char("end"))


__all__ = ["Letter", "Section", "Sender", "address_lines", "counted_from", "long_date", "place_of", "render_docx",
           "render_html", "write_letter"]
