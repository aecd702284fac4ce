"""What the notebooks show: whole tables with the rows that need action first, long pages in a frame.

A notebook cell ends with one of these, so that the reader sees every row (in a box that scrolls,
never elided with '...'), long text wrapped instead of cut, the rows that need action marked and
on top, plain tables instead of Python dicts and lists, and the register or the audit report in a
frame of fixed height instead of tens of thousands of pixels of page.

    show.table(result.personal_table(), first={"status": "undeclared"})   # the undeclared columns on top
    show.where(dm, "user.contact.email")                                 # a map query, as a table
    show.page(report)                                                    # a written report, framed

Every table also has a plain-text form with every row and every character (``repr``), which is
what a terminal, a test or a diff reads. Like the rest of the workbench, nothing here shows a raw
e-mail address, IBAN or phone number that the caller did not pass in.
"""
from __future__ import annotations

import html
import math
import os
import re
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:
    import pandas as pd

    from datamap.map import DataMap

MARKED = "background-color:#fde2e1;color:#7a1010"  # a row that needs action: readable in light and dark themes
STYLES = [
    {"selector": "", "props": "border-collapse:collapse;width:100%;table-layout:auto;margin:0;font-size:12.5px"},
    {"selector": "th", "props": "position:sticky;top:0;z-index:1;background:#eef1f5;color:#1f2933;text-align:left;"
                                "vertical-align:bottom;padding:4px 8px;border-bottom:1px solid #9aa5b1;white-space:nowrap"},
    {"selector": "td", "props": "text-align:left;vertical-align:top;padding:3px 8px;border-bottom:1px solid #e4e7eb;"
                                "white-space:pre-wrap;overflow-wrap:break-word;max-width:48em"},
]
SHORT = 24  # a column whose every value is this short never wraps
LONG_TOKEN = 30  # a column holding a word this long between separators (a hash) may break it anywhere
SEPARATORS = re.compile(r"([./_@-])")  # where a long key or path may break: user.contact.<wbr>email
SEVERITY_ORDER = ("critical", "high", "medium", "low")


class Table:
    """A whole table for a notebook: HTML that scrolls and wraps, and plain text without elision."""

    def __init__(self, frame: "pd.DataFrame", caption: str = "", marked: list[bool] | None = None, height: int = 520,
                 colour: bool = True):
        self.frame = frame
        self.caption = caption
        self.marked = marked if marked is not None else [False] * len(frame)
        self.height = height
        self.colour = colour  # whether the marked rows are also coloured (they always come first)

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        body = self.frame.to_string(index=False) if len(self.frame) else "(no rows)"
        return f"{self.caption}\n{body}" if self.caption else body

    def _repr_html_(self) -> str:
        caption = f'<p style="margin:2px 0 6px 0"><b>{html.escape(self.caption)}</b></p>' if self.caption else ""
        if not len(self.frame):
            return caption + "<p><i>no rows</i></p>"
        styler = (self.frame.style.hide(axis="index").format(_html_cell).format_index(escape="html", axis=1)
                  .set_table_styles(STYLES + _column_styles(self.frame)))
        if self.colour and any(self.marked):
            marked = self.marked
            styler = styler.apply(lambda row: [MARKED if marked[row.name] else "" for _ in row], axis=1)
        return (f'{caption}<div style="max-height:{self.height}px;overflow:auto;border:1px solid #d9dde3">'
                f"{styler.to_html()}</div>")


def table(rows: Any, *, first: Mapping[str, Any] | None = None, columns: Iterable[str] | None = None,
          caption: str | None = None, height: int = 520, colour: bool = True) -> Table:
    """Show every row of ``rows`` (a DataFrame or a list of dicts), the rows matching ``first`` marked and on top.

    ``first`` maps a column to a value or a list of values: ``{"status": "undeclared"}``. The
    caption says how many rows there are and how many need action, unless one is given. With
    ``colour=False`` those rows come first without being coloured (they matter, but are not wrong).
    """
    import pandas as pd

    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name:
        frame = frame.reset_index()
    wanted = {col: set(v) if isinstance(v, (list, tuple, set)) else {v} for col, v in (first or {}).items()}
    hits = [any(_cell(row[col]) in {_cell(v) for v in values} for col, values in wanted.items() if col in frame)
            for _, row in frame.iterrows()]
    if columns is not None:  # after matching: a column may decide the order without being shown
        frame = frame[list(columns)]
    order = sorted(range(len(frame)), key=lambda i: not hits[i])  # stable: the marked rows first, in their order
    frame = frame.iloc[order].reset_index(drop=True).map(_cell) if len(frame) else frame.astype(object)
    marked = [hits[i] for i in order]
    if caption is None:
        caption = f"{len(frame)} row(s)"
        if wanted:
            what = " or ".join(f"{col} {' / '.join(sorted(map(_cell, values)))}" for col, values in wanted.items())
            caption += f"; {sum(marked)} with {what}, " + ("marked and first" if colour else "first")
    return Table(frame, caption, marked, height, colour)


def facts(obj: Any, caption: str = "") -> Table:
    """A dict or a dataclass as a two-column table (lists joined, nothing cut), instead of its Python repr."""
    data = asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else dict(obj)
    return table([{"": str(k).replace("_", " "), " ": v} for k, v in data.items()], caption=caption)


# --- the data map's answers ----------------------------------------------------------------------


def overview(dm: "DataMap") -> Table:
    """What the map holds: the organization, systems, parties, datasets, categories and flows."""
    from datamap import map as data_map

    s = data_map.summary(dm)
    parties = [f"{k} ({v})" for k, v in s["external_parties"].items()] if isinstance(s["external_parties"], dict) \
        else list(s["external_parties"])
    rows = [("organization", s["organization"]), ("own systems", s["internal_systems"]), ("external parties", parties),
            ("datasets", s["datasets"])]
    if s.get("unattached_datasets"):
        rows.append(("datasets no system references", s["unattached_datasets"]))
    rows += [("personal data categories", s["personal_data_categories"]), ("declared flows", s["flows"])]
    return table([{"": label, "count": len(v) if isinstance(v, list) else v, "which": v if isinstance(v, list) else ""}
                  for label, v in rows], caption=f"The data map of {', '.join(s['organization'])}")


def where(dm: "DataMap", category: str) -> Table:
    """Every dataset field holding ``category`` (or a narrower one), with the systems that hold them in the caption."""
    from datamap import map as data_map

    answer = data_map.where(dm, category)
    rows = []
    for key, found in answer["fields"].items():
        dataset, collection, field = (key.split(".", 2) + ["", ""])[:3]
        rows.append({"dataset": dataset, "collection": collection, "field": field, "category": found})
    caption = f"{category} is held by {len(answer['systems'])} system(s): {', '.join(answer['systems']) or '-'}"
    if answer.get("unattached"):
        caption += f"; and by {len(answer['unattached'])} dataset(s) no system references: {', '.join(answer['unattached'])}"
    return table(rows, caption=caption)


def flows(dm: "DataMap", category: str) -> Table:
    """Every path of ``category`` from the system that collects it to each recipient; paths leaving the EEA first."""
    from datamap import map as data_map

    rows = []
    for path in data_map.flows(dm, category):
        end = dm.systems.get(path[-1])
        outside = end is not None and dm.is_external(path[-1])
        rows.append({"collected in": path[0], "through": " → ".join(path[1:-1]), "reaches": path[-1],
                     "outside the company": outside, "outside the EEA": bool(end and data_map.outside_eea(end))})
    external = sorted({r["reaches"] for r in rows if r["outside the company"]})
    caption = (f"{len(rows)} path(s) of {category}; {len(external)} recipient(s) outside the company"
               + (f": {', '.join(external)}" if external else ""))
    return table(rows, first={"outside the EEA": True}, caption=caption + "; the paths leaving the EEA first", colour=False)


def recipients(dm: "DataMap") -> Table:
    """Who outside the company receives personal data, on which terms; the parties missing a term marked and first."""
    from datamap import map as data_map

    rows = []
    for r in data_map.external_recipients(dm):
        agreement = {None: "not needed", True: "on file", False: "NONE"}[r["processing_agreement"]]
        if r["dpa_location"]:
            agreement += f": {r['dpa_location']}"
        missing = r["processing_agreement"] is False or (r["outside_eea"] and not r["transfer_basis"])
        rows.append({"party": f"{r['name']} ({r['party']})" if r["name"] else r["party"], "role": r["role"],
                     "processing agreement": agreement, "country": r["country"], "outside EEA": r["outside_eea"],
                     "transfer basis": r["transfer_basis"] or ("NONE" if r["outside_eea"] else ""),
                     "from": r["from"], "categories": r["categories"], "needs action": missing})
    return table(rows, first={"needs action": True}, columns=[c for c in rows[0] if c != "needs action"] if rows else None,
                 caption=f"{len(rows)} external recipient(s); {sum(r['needs action'] for r in rows)} without an "
                         "agreement or a transfer basis they need, marked and first")


def breach(dm: "DataMap", system: str) -> Table:
    """What a breach of ``system`` exposes and whether the AP and the subjects must likely be told, with the reasons."""
    from datamap import map as data_map

    b = data_map.breach_impact(dm, system)
    records = b["total_records"] if b["total_records"] is not None else "unknown (no counts given)"
    rows = [("notify the Autoriteit Persoonsgegevens (Art. 33)", "likely yes" if b["notify_authority"] else "no"),
            ("notify the subjects (Art. 34)", "likely yes" if b["notify_subjects"] else "no"),
            ("high-risk categories", b["high_risk_categories"] or "none"),
            ("categories of personal data", b["categories"]), ("subjects", b["subjects"]),
            ("records exposed", records), ("collections", list(b["records"])),
            ("the data flows on to", [" → ".join(p) for p in b["flows_on"]])]
    rows += [("why", reason) for reason in b["reasons"]]
    return table([{"": k, " ": v} for k, v in rows], caption=f"If {system} were breached")


def map_findings(dm: "DataMap") -> Table:
    """The map-level findings (docs/rules.md), the most severe first, with their whole detail."""
    from datamap import map as data_map

    found = sorted(data_map.map_findings(dm), key=lambda f: (_severity_rank(f.severity), f.rule, f.system, f.record_key))
    rows = [{"severity": f.severity, "rule": f.rule, "system": f.system, "record": f.record_key, "detail": f.detail}
            for f in found]
    return table(rows, caption=f"{len(rows)} map-level finding(s)")


# --- subject requests -----------------------------------------------------------------------------


def matches(found: list[Any]) -> "Group":
    """The person's records (every one, with why it matched), then the weak candidates that are not reported."""
    from datamap import subject

    rows = subject.match_table(found)
    reported = [r for r in rows if r["reported"]]
    candidates = sorted((r for r in rows if not r["reported"]), key=lambda r: -r["confidence"])
    systems = sorted({r["system"] for r in reported})
    return Group([
        table(reported, columns=["system", "collection", "record_key", "confidence", "matched_on"] if reported else None,
              caption=f"{len(reported)} record(s) of the person in {len(systems)} system(s): {', '.join(systems)}"),
        table(candidates, columns=["system", "collection", "record_key", "confidence", "matched_on"] if candidates else None,
              caption=f"{len(candidates)} candidate(s), not reported: a name alone, a shared line or a shared value",
              height=320),
    ])


def erasures(checks: list[Any]) -> "Group":
    """Per completed erasure request: complete or not and whom to tell; then every record still held, leftovers first."""
    summary = [{"request": c.request_id, "complete": c.complete, "leftovers": len(c.leftovers), "kept (legal duty)": len(c.retained),
                "tell (Art. 19)": c.recipients_to_tell, "may have received it": c.recipients_possible} for c in checks]
    rows = [row for c in checks for row in c.rows()]
    return Group([
        table(summary, first={"complete": False},
              caption=f"{len(checks)} completed erasure request(s); {sum(not c.complete for c in checks)} incomplete, "
                      "marked and first"),
        table(rows, first={"state": "leftover"}, caption=f"{len(rows)} record(s) still held after an erasure; "
              f"{sum(r['state'] == 'leftover' for r in rows)} leftover(s) (findings), marked and first; "
              "the others are kept under a legal duty, restricted"),
    ])


def files(paths: Iterable[Path | str], caption: str = "") -> Table:
    """Files written, by name, folder and size."""
    rows = [{"file": Path(p).name, "folder": str(Path(p).parent), "bytes": Path(p).stat().st_size if Path(p).exists() else ""}
            for p in paths]
    return table(rows, caption=caption or f"{len(rows)} file(s) written")


# --- long pages -------------------------------------------------------------------------------------


class Page:
    """A written HTML page in a frame of fixed height (its own styles stay its own), with a link to the file."""

    def __init__(self, text: str, path: Path | None, height: int, caption: str = ""):
        self.text, self.path, self.height, self.caption = text, path, height, caption

    def __repr__(self) -> str:
        return f"{self.caption} {self.path or ''}".strip()

    def _repr_html_(self) -> str:
        link = ""
        if self.path is not None:
            href = html.escape(_relative(self.path), quote=True)
            link = f'<a href="{href}" target="_blank">{html.escape(self.path.name)}</a> ({html.escape(str(self.path))})'
        head = " ".join(x for x in (html.escape(self.caption), link) if x)
        return (f'<div><p style="margin:2px 0 6px 0">{head}</p>'
                f'<iframe srcdoc="{html.escape(self.text, quote=True)}" '
                f'style="width:100%;height:{self.height}px;border:1px solid #d9dde3"></iframe></div>')


def page(path: str | os.PathLike[str], height: int = 720, caption: str = "") -> Page:
    """A written report (the audit report, a register) in a frame, with a link that opens it whole."""
    path = Path(path)
    return Page(path.read_text(encoding="utf-8"), path, height, caption or "Open it whole:")


def register(reg: Any, height: int = 640) -> "Group":
    """The register's gaps first (what makes it incomplete, and where to fill each in), then the whole register framed."""
    from datamap.register.html import render_register_html
    from datamap.register.terms import t, t_or

    lang = reg.lang
    gaps = [{t("col.activity", lang): g.activity, "system": g.system, t("col.field", lang): t_or("field." + g.field, lang, g.field),
             t("col.where_to_fill", lang): g.where, t("col.mandatory", lang): g.mandatory} for g in reg.gaps]
    coverage = [{t("col.group", lang): t("group." + c.group, lang), t("col.questions", lang): c.questions,
                 t("col.answers", lang): c.answers, t("col.answered", lang): c.answered, t("col.verified", lang): c.verified,
                 t("col.contradicted", lang): c.contradicted, t("col.missing", lang): c.missing} for c in reg.coverage]
    run = reg.run_id or t("label.no_audit_run", lang)
    return Group([
        table(gaps, first={t("col.mandatory", lang): True},
              caption=f"{t('label.activities', lang)}: {len(reg.rows)} · {t('sheet.gaps', lang)}: {len(reg.gaps)} · "
                      f"{t('label.audit_run', lang)}: {run}"),
        table(coverage, caption=t("sheet.coverage", lang)),
        Page(render_register_html(reg, standalone=True), None, height, t("label.activities", lang)),
    ])


class Group:
    """Several tables or pages shown one under the other, as one cell's output."""

    def __init__(self, parts: list[Any]):
        self.parts = parts

    def __getitem__(self, index: int) -> Any:
        return self.parts[index]

    def __repr__(self) -> str:
        return "\n\n".join(repr(p) for p in self.parts)

    def _repr_html_(self) -> str:
        return '<div style="height:10px"></div>'.join(p._repr_html_() for p in self.parts)


# --- cells ------------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """One cell as text: lists joined, booleans as yes/no, nothing for a missing value, numbers without noise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    if type(value).__name__ in ("bool_",):  # numpy's bool
        return "yes" if bool(value) else "no"
    if type(value).__name__ in ("NAType", "NaTType"):
        return ""
    return str(value)


def _column_styles(frame: "pd.DataFrame") -> list[dict[str, str]]:
    """Short columns never wrap; a column of long unbroken words (hashes, paths) may break them anywhere."""
    styles = []
    for i, name in enumerate(frame.columns):
        values = [str(name), *map(str, frame.iloc[:, i])]
        if max(map(len, values)) <= SHORT:
            styles.append({"selector": f"td.col{i}", "props": "white-space:nowrap"})
        elif any(len(part) > LONG_TOKEN for v in values for part in SEPARATORS.split(v.replace(" ", "/"))):
            styles.append({"selector": f"td.col{i}", "props": "overflow-wrap:anywhere"})
    return styles


def _html_cell(value: Any) -> str:
    """A cell as HTML: escaped, and a long key or path allowed to break after its dots, slashes and underscores."""
    return re.sub(r"\S{17,}", lambda m: SEPARATORS.sub(r"\1<wbr>", m.group(0)), html.escape(str(value)))


def _severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def _relative(path: Path) -> str:
    """A link from the notebook's folder (JupyterLab resolves it under its root; make lab roots it at the repository)."""
    try:
        return os.path.relpath(path.resolve(), Path.cwd())
    except ValueError:  # another drive on Windows
        return path.resolve().as_uri()
