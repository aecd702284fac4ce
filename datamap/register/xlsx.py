"""The register as an Excel workbook a privacy officer can filter, print and hand to the AP.

Sheets: the controller register (Art. 30(1)), the processor register (Art. 30(2), when the map
declares Apora a processor), the gaps, the provenance of every cell, and the question coverage.
Every register cell also carries its provenance as a cell comment. The copy for the AP
(``reg.for_ap``) holds the two registers only: answers in plain words, no marks, no comments.
Every sheet prints landscape, one page wide, its header row on every page.
"""
from __future__ import annotations

import io
from pathlib import Path

from datamap.outputs import safe_cell, safe_cells, write_atomic
from datamap.register.model import CONTRADICTED, MISSING, NOT_APPLICABLE, VERIFIED, Cell, Register, Row
from datamap.register.terms import t

FILLS = {VERIFIED: "E2F0D9", CONTRADICTED: "FCE4D6", MISSING: "F8CBAD", NOT_APPLICABLE: "EDEDED"}
MARKS = {VERIFIED: "✓ ", CONTRADICTED: "✗ ", NOT_APPLICABLE: "– "}
WIDTHS = {"activity": 30, "system": 22, "purpose": 45, "data_categories": 45, "processors": 45, "retention": 40,
          "checks": 50, "security": 35, "rights": 40, "recipients": 35, "controller_contact": 30, "dpo": 30,
          "data_subjects": 28, "subjects_count": 16, "legitimate_interest": 35, "last_review": 30, "next_review": 16}


def cell_text(cell: Cell, lang: str, plain: bool = False) -> str:
    """What a reader sees: the value with its mark, or the MISSING marker for an empty mandatory field.

    ``plain`` (the copy for the AP) drops the marks: they speak of our checks, not of the processing.
    An optional answer left open shows what it says ("not verified"), or nothing.
    """
    if cell.status == MISSING:
        if not cell.mandatory:
            return cell.value
        said = t("value.missing", lang) + (f" — {cell.value}" if cell.value else "")
        return said if plain else f"! {said}"
    return cell.value if plain else MARKS.get(cell.status, "") + cell.value


def provenance_text(cell: Cell, lang: str) -> str:
    """The cell's provenance in three lines: declared, observed, verified."""
    lines = []
    if cell.declared:
        lines.append(f"{t('col.declared', lang)}: " + "; ".join(cell.declared))
    if cell.observed:
        lines.append(f"{t('col.observed', lang)}: " + "; ".join(cell.observed))
    if cell.verified:
        runs = sorted({v.run for v in cell.verified})
        lines.append(f"{t('col.checked', lang)} ({t('label.audit_run', lang)} {', '.join(runs)}): "
                     + "; ".join(v.text(lang) for v in cell.verified))
    if cell.status == MISSING and cell.where:
        lines.append(f"{t('col.where_to_fill', lang)}: {cell.where}")
    return "\n".join(lines)


def _print_setup(ws, reg: Register, title: str) -> None:
    """Print like a register: A4 landscape, one page wide, the header row on every page, page numbers."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddHeader.left.text = f"{reg.organization} · {title}".replace("&", "&&")
    ws.oddFooter.left.text = f"{t('label.generated', reg.lang)} {reg.generated}"
    ws.oddFooter.right.text = "&P / &N"


def _properties(wb, reg: Register) -> None:
    """The organisation writes its register: say so in the file's properties, not "openpyxl"."""
    title = t("title.controller_register", reg.lang)
    props = wb.properties
    props.creator = props.lastModifiedBy = reg.organization or "datamap"
    props.title = f"{title} · {reg.organization}" if reg.organization else title
    props.subject = t("sheet.controller", reg.lang)
    props.language = reg.lang
    props.description = f"{t('label.generated', reg.lang)} {reg.generated}"


def _style_header(ws, ncols: int) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    for col in range(1, ncols + 1):
        c = ws.cell(row=1, column=col)
        c.font = Font(bold=True, color="FFFFFF")
        c.fill = PatternFill("solid", fgColor="1F4E78")
        c.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = ws.dimensions
    ws.row_dimensions[1].height = 45


def _table(ws, reg: Register, header: list[str], rows: list[list[object]], widths: list[int]) -> None:
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    ws.append(safe_cells(header))
    for r in rows:
        ws.append(safe_cells(r))
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    for row in ws.iter_rows(min_row=2):
        for c in row:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    _style_header(ws, len(header))
    _print_setup(ws, reg, ws.title)


def _register_sheet(ws, reg: Register, columns: list[str], rows: list[Row]) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws.append(safe_cells(t(f"field.{c}", reg.lang) for c in columns))
    for r_index, row in enumerate(rows, start=2):
        for c_index, name in enumerate(columns, start=1):
            cell = row.cells[name]
            xl = ws.cell(row=r_index, column=c_index, value=safe_cell(cell_text(cell, reg.lang, reg.for_ap)))
            xl.alignment = Alignment(wrap_text=True, vertical="top")
            if cell.is_gap:
                xl.font = Font(bold=True, color="9C0006")
            if reg.for_ap:
                continue
            if cell.status in FILLS and (cell.status != MISSING or cell.mandatory):
                xl.fill = PatternFill("solid", fgColor=FILLS[cell.status])
            note = provenance_text(cell, reg.lang)
            if note:
                xl.comment = Comment(note, "datamap", width=420, height=160)
    for c_index, name in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(c_index)].width = WIDTHS.get(name, 24)
    _style_header(ws, len(columns))
    _print_setup(ws, reg, ws.title)


def write_xlsx(reg: Register, path: str | Path) -> Path:
    """Write the workbook to ``path`` in one step (a reader never sees half of it)."""
    from openpyxl import Workbook

    lang = reg.lang
    wb = Workbook()
    ws = wb.active
    ws.title = t("sheet.controller", lang)[:31]
    _register_sheet(ws, reg, reg.columns, reg.rows)
    if reg.processor_rows:
        _register_sheet(wb.create_sheet(t("sheet.processor", lang)[:31]), reg, reg.processor_columns, reg.processor_rows)
    _properties(wb, reg)
    if not reg.for_ap:
        _working_sheets(wb, reg)

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    book = io.BytesIO()
    wb.save(book)
    return write_atomic(target, book.getvalue())


def _working_sheets(wb, reg: Register) -> None:
    """The privacy office's sheets: the gaps and where to fill each in, the provenance, the questions, the coverage."""
    lang = reg.lang
    _table(
        wb.create_sheet(t("sheet.gaps", lang)[:31]), reg,
        [t("col.activity", lang), t("field.system", lang), t("col.field", lang), t("col.mandatory", lang),
         t("col.where_to_fill", lang)],
        [[g.activity, g.system_name or g.system, t(f"field.{g.field}", lang), t("value.yes" if g.mandatory else "value.no", lang), g.where]
         for g in reg.gaps],
        [35, 20, 40, 12, 70],
    )

    prov_rows = []
    for row in reg.rows + reg.processor_rows:
        for name, cell in row.cells.items():
            prov_rows.append([row.activity, row.system_name or row.system, t(f"field.{name}", lang), t(f"status.{cell.status}", lang),
                              "; ".join(cell.declared), "; ".join(cell.observed),
                              "; ".join(v.text(lang) for v in cell.verified)])
    _table(
        wb.create_sheet(t("sheet.provenance", lang)[:31]), reg,
        [t("col.activity", lang), t("field.system", lang), t("col.field", lang), t("value.status", lang),
         t("col.declared", lang), t("col.observed", lang), t("col.checked", lang)],
        prov_rows, [35, 20, 35, 14, 60, 40, 60],
    )

    _table(
        wb.create_sheet(t("sheet.questions", lang)[:31]), reg,
        [t("col.group", lang), t("col.question", lang), t("col.templates", lang), t("col.field", lang), t("col.mandatory", lang)],
        [[t(f"group.{q['group']}", lang), t(f"question.{q['id']}", lang), ", ".join(q["asked_by"]),
          t(f"field.{q['field']}", lang), t("value.yes" if q["mandatory"] else "value.no", lang)] for q in reg.questions],
        [32, 60, 20, 45, 12],
    )

    cov = [[t(f"group.{c.group}", lang), c.questions, c.answers, c.answered, c.verified, c.contradicted, c.missing]
           for c in reg.coverage]
    totals = [t("col.total", lang)] + [sum(row[i] for row in cov) for i in range(1, 7)]
    _table(
        wb.create_sheet(t("sheet.coverage", lang)[:31]), reg,
        [t("col.group", lang), t("col.questions", lang), t("col.answers", lang), t("col.answered", lang),
         t("col.verified", lang), t("col.contradicted", lang), t("col.missing", lang)],
        cov + [totals], [38, 10, 12, 12, 12, 14, 12],
    )
