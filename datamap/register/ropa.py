"""Build and write a workspace's register in one call (what ``datamap ropa`` runs).

The register reads the map (``datamap.map.load_map``), ``policy.yml`` and the latest audit run;
it never opens a source.
"""
from __future__ import annotations

import os
from pathlib import Path

from datamap.errors import BadInput
from datamap.audit.archive import ArchivedRun, latest_run
from datamap.register.build import build_register
from datamap.register.model import AP, WORKING, Register, load_map_input
from datamap.register.terms import check_language
from datamap.workspace import Workspace, load_workspace

FORMATS = ("xlsx", "html", "md")


def find_latest_run(workspace: Workspace, audit_dir: str | os.PathLike[str] | list[str | os.PathLike[str]] | None) -> ArchivedRun | None:
    """The latest run under the first of ``audit_dir`` that holds one (a run folder, or a folder with ``runs/``)."""
    if audit_dir is None:
        return None
    from datamap.store import pg_store

    folders = [Path(p) for p in audit_dir] if isinstance(audit_dir, list) else [Path(audit_dir)]
    pg = pg_store(workspace)  # a PostgreSQL store: the persons are counted there
    for folder in folders:
        for candidate in (folder, folder / "audit"):
            run = latest_run(candidate, workspace.root, pg=pg) if candidate.is_dir() else None
            if run is not None:
                return run
    return None


def register_for_workspace(workspace: Workspace | str | os.PathLike[str], audit_dir: str | os.PathLike[str] | list[str | os.PathLike[str]] | None = None,
                           lang: str = "en", audience: str = WORKING) -> Register:
    """The register of a workspace, verified against its latest audit run when there is one."""
    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    return build_register(load_map_input(ws), ws.policy, find_latest_run(ws, audit_dir), check_language(lang),
                          audience=audience)


def summary_lines(reg: Register, limit: int = 5) -> list[str]:
    """A few lines for the terminal, in the register's language: how many activities, the gaps that make it
    incomplete (each with where to fill it in), and how many answers the latest audit run verified or contradicted.

    The full coverage table is the register's own (the Coverage sheet, or the section of the HTML and Markdown).
    """
    from datamap.register.terms import t, t_or

    lang = reg.lang
    run = reg.run_id or t("label.no_audit_run", lang)
    lines = [f"{t('label.activities', lang)}: {len(reg.rows)} · {t('sheet.gaps', lang)}: {len(reg.gaps)} · "
             f"{t('label.audit_run', lang)}: {run}"]
    for gap in reg.gaps[:limit]:
        lines.append(f"  {t('sheet.gaps', lang)}: {gap.activity} ({gap.system_name or gap.system}): {t_or('field.' + gap.field, lang, gap.field)} "
                     f"-> {gap.where}")
    if len(reg.gaps) > limit:
        lines.append(f"  {t('sheet.gaps', lang)}: +{len(reg.gaps) - limit}")
    total = {k: sum(getattr(c, k) for c in reg.coverage) for k in ("answers", "answered", "verified", "contradicted", "missing")}
    lines.append(f"{t('col.answered', lang)}: {total['answered']}/{total['answers']} · "
                 f"{t('col.verified', lang)}: {total['verified']} · {t('col.contradicted', lang)}: {total['contradicted']} · "
                 f"{t('col.missing', lang)}: {total['missing']}")
    worst = sorted((c for c in reg.coverage if c.contradicted), key=lambda c: -c.contradicted)[:3]
    if worst:
        lines.append(f"  {t('col.contradicted', lang)}: " + ", ".join(
            f"{t('group.' + c.group, lang)} {c.contradicted}" for c in worst))
    return lines


def register_filename(fmt: str, lang: str, audience: str = WORKING) -> str:
    """``ropa-en.xlsx`` / ``ropa-nl.html`` / ``ropa-nl-ap.xlsx``: one file per format, language and audience side by side."""
    return f"ropa-{lang}.{fmt}" if audience == WORKING else f"ropa-{lang}-{audience}.{fmt}"


def write_register(workspace: Workspace | str | os.PathLike[str], out_dir: str | os.PathLike[str], fmt: str = "xlsx",
                   lang: str = "en", audit_dir: str | os.PathLike[str] | list[str | os.PathLike[str]] | None = None,
                   for_ap: bool = False) -> tuple[Path, Register]:
    """Write the register as XLSX, HTML or Markdown into ``out_dir``; return the file and the register.

    ``for_ap`` writes the copy for the Autoriteit Persoonsgegevens (answers only, see :func:`build_register`).
    """
    if fmt not in FORMATS:
        raise BadInput(None, "--format", f"unknown format {fmt!r}", f"choose one of {', '.join(FORMATS)}")
    audience = AP if for_ap else WORKING
    reg = register_for_workspace(workspace, audit_dir, lang, audience)
    target = Path(out_dir) / register_filename(fmt, lang, audience)
    if fmt == "xlsx":
        from datamap.register.xlsx import write_xlsx

        return write_xlsx(reg, target), reg
    from datamap.register.html import write_html, write_markdown

    return (write_html(reg, target) if fmt == "html" else write_markdown(reg, target)), reg
