"""The register as one self-contained HTML page (prints on A4) and as Markdown.

Templates live in ``datamap/templates/`` and are rendered by Jinja2 with autoescape on: every
value from the map, the policy or the audit is escaped.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from datamap.outputs import templates, write_atomic
from datamap.register.model import Register
from datamap.register.terms import t
from datamap.register.xlsx import cell_text, provenance_text


@functools.lru_cache(maxsize=1)
def environment() -> Any:
    """The HTML environment of the register and the report, with the register's words and cell texts."""
    return templates("html", t=t, cell_text=cell_text, provenance_text=provenance_text)


def render_register_html(reg: Register, standalone: bool = True) -> str:
    """Render the register (both sheets, gaps, coverage) as HTML; a fragment when not standalone."""
    return environment().get_template("register.html.j2").render(reg=reg, lang=reg.lang, standalone=standalone)


def write_text(text: str, path: str | Path) -> Path:
    """Write a text output atomically, its folder made when missing."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(target, text)


def write_html(reg: Register, path: str | Path) -> Path:
    return write_text(render_register_html(reg), path)


def _md_escape(text: object) -> str:
    """A value for a Markdown line or table cell: HTML escaped (Markdown passes HTML through), ``|`` and newlines kept out."""
    import html

    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def render_markdown(reg: Register) -> str:
    """The register as Markdown: one section per activity (a 36-column table reads badly)."""
    lang, plain = reg.lang, reg.for_ap
    head = f"{_md_escape(reg.organization)} · {t('label.generated', lang)} {reg.generated}"
    out = [f"# {t('title.controller_register', lang)}", ""]
    out += [head, ""] if plain else [
        f"{head} · {t('label.audit_run', lang)}: {reg.run_id or t('label.no_audit_run', lang)}", "", t("label.legend", lang), ""]
    sections = [(None, reg.columns, reg.rows), (t("title.processor_register", lang), reg.processor_columns, reg.processor_rows)]
    for title, columns, rows in sections:
        if title and rows:
            out += [f"# {title}", ""]
        for row in rows:
            out += [f"## {_md_escape(row.activity)}", ""]
            out += [f"| {t('col.field', lang)} | {t('col.value', lang)} |", "|---|---|"] if plain else [
                f"| {t('col.field', lang)} | {t('col.value', lang)} | {t('col.declared', lang)} |", "|---|---|---|"]
            for name in columns:
                cell = row.cells[name]
                line = f"| {_md_escape(t('field.' + name, lang))} | {_md_escape(cell_text(cell, lang, plain))} |"
                out.append(line if plain else f"{line} {_md_escape('; '.join(cell.declared))} |")
            out.append("")
    if plain:
        return "\n".join(out)
    out += [f"## {t('sheet.gaps', lang)}", "", t("label.gaps_intro", lang), "",
            f"| {t('col.activity', lang)} | {t('field.system', lang)} | {t('col.field', lang)} | {t('col.where_to_fill', lang)} |",
            "|---|---|---|---|"]
    out += [f"| {_md_escape(g.activity)} | {_md_escape(g.system_name or g.system)} | {_md_escape(t('field.' + g.field, lang))} | {_md_escape(g.where)} |"
            for g in reg.gaps]
    out += ["", f"## {t('sheet.coverage', lang)}", "", coverage_markdown(reg), ""]
    return "\n".join(out)


def coverage_markdown(reg: Register) -> str:
    """The coverage table as Markdown (also what `datamap ropa` prints)."""
    lang = reg.lang
    head = [t(k, lang) for k in ("col.group", "col.questions", "col.answers", "col.answered", "col.verified",
                                 "col.contradicted", "col.missing")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in reg.coverage:
        lines.append(f"| {t('group.' + c.group, lang)} | {c.questions} | {c.answers} | {c.answered} | {c.verified} | "
                     f"{c.contradicted} | {c.missing} |")
    tot = [sum(getattr(c, k) for c in reg.coverage) for k in ("questions", "answers", "answered", "verified", "contradicted", "missing")]
    lines.append(f"| **{t('col.total', lang)}** | " + " | ".join(str(n) for n in tot) + " |")
    return "\n".join(lines)


def write_markdown(reg: Register, path: str | Path) -> Path:
    return write_text(render_markdown(reg), path)
