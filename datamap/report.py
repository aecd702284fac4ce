"""The audit report: one self-contained HTML file (and a PDF where Chromium is installed), for management.

It reads in the order a manager asks: a cover, the contents, a one-to-two-page summary (what holds,
what is broken, what changed since the last audit, what is overdue), then the findings claim by
claim, each with its action from the action register (owner, due date, status, :mod:`datamap.actions`),
the figures, and two annexes: the scope with every hash (provenance) and the register in brief
(the full register is its own set of files: 36 fields for each activity would be 40 pages here).
It prints on portrait A4 with a page number on every page ("Pagina 3 van 12").

It reads an archived run (``checks.json``, ``findings.json``, ``run.json``), the map, the policy
and the audit store's row counts, never a source. Every figure is embedded as a data URI, so the
file can be mailed to a regulator as it is. Raw e-mail addresses, IBANs and phone numbers never
appear: findings carry pseudonyms already, and every text from data passes through
:meth:`datamap.identity.Pseudonymizer.mask` before it is rendered.

>>> write_report("workspace/demo", "reports/runs/20261124T090000.000000Z", "reports/audit-report.html")  # doctest: +SKIP
PosixPath('reports/audit-report.html')
"""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from datamap.audit.archive import ArchivedRun, load_run
from datamap.findings import SEVERITIES
from datamap.identity import EMAIL_IN_TEXT, IBAN_WORD, PHONE_RUN
from datamap.register.terms import check_language, t
from datamap.workspace import Workspace, load_workspace

if TYPE_CHECKING:
    from datamap.actions import TrackedFinding, Tracking

MAX_FINDINGS_PER_CLAIM = 200
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# No network at all: the report is one file with its figures inline, so any request Chromium makes
# is one a planted value asked for (a tracking pixel, a font) or Chromium's own chatter. Names do
# not resolve, every http(s) request goes to a dead local proxy (so an IP address fails too).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-pings", "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
                  "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>")



# --- pseudonymising text -------------------------------------------------------------------------


def scrub(text: object, mask: Callable[[str], str | None]) -> str:
    """Replace every e-mail, IBAN or phone number inside ``text`` by its pseudonym."""
    if text is None:
        return ""
    value = str(text)
    value = mask(value) or value  # Pseudonymizer.mask finds identifiers in free text itself
    for pattern in (EMAIL_IN_TEXT, IBAN_WORD, PHONE_RUN):  # then each candidate it may not take as part of a sentence
        value = pattern.sub(lambda m: mask(m.group(0)) or m.group(0), value)
    return value


def _scrub_any(value: Any, mask: Callable[[str], str | None]) -> Any:
    if isinstance(value, dict):
        return {k: _scrub_any(v, mask) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub_any(v, mask) for v in value]
    if value is None or isinstance(value, (int, float, bool)):
        return value
    return scrub(value, mask)


def scrub_register(reg: Any, mask: Callable[[str], str | None]) -> Any:
    """A copy of a register whose cell values are pseudonymised (the annex shows no contact address)."""
    def rows(items: list[Any]) -> list[Any]:
        return [dataclasses.replace(r, activity=scrub(r.activity, mask), cells={
            k: dataclasses.replace(c, value=scrub(c.value, mask)) for k, c in r.cells.items()}) for r in items]

    return dataclasses.replace(reg, rows=rows(reg.rows), processor_rows=rows(reg.processor_rows))


def shareable_register(workspace: Workspace | str | os.PathLike[str], audit_dir: Any = None, lang: str = "en") -> Any:
    """The register with every e-mail, phone number and IBAN pseudonymised, for reports and notebooks."""
    from datamap.identity import Pseudonymizer
    from datamap.register.ropa import register_for_workspace

    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    return scrub_register(register_for_workspace(ws, audit_dir, lang), Pseudonymizer.of(ws).mask)


# --- the summary -----------------------------------------------------------------------------------


@dataclass
class ClaimResult:
    claim: str
    text: str  # in the report's language where the catalogue has it, else in English (``text_lang``)
    section: str
    status: str  # held | broken | not_checked | not_applicable
    checks: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    by_severity: dict[str, int] = field(default_factory=dict)
    shown: list[dict[str, Any]] = field(default_factory=list)
    hidden: int = 0
    persons: int = 0  # distinct subjects (pseudonyms) among the findings
    text_lang: str = "en"

    @property
    def brief(self) -> str:
        """The promise in a line, for the summary (the whole claim stays with its findings)."""
        from datamap.audit.summary import promise_in_brief

        return promise_in_brief(self.text, width=90)


# The report's words for the audit's claim states (datamap.audit.summary.claim_status decides them).
REPORT_STATUS = {"passed": "held", "failed": "broken", "not applicable": "not_applicable"}


def claim_status(checks: list[dict[str, Any]]) -> str:
    """Broken when a check failed; held when every applicable check passed; not applicable when the company
    keeps none of the data; otherwise not checked."""
    from datamap.audit.summary import claim_status as audit_claim_status

    return REPORT_STATUS.get(audit_claim_status([str(c.get("status")) for c in checks]), "not_checked")


def _claim_texts(lang: str) -> dict[str, tuple[str, str, str]]:
    """The notice's claims in plain words (checks/P*.yml), by id: text, section and the text's language.

    In Dutch, a claim's ``text_nl`` and ``section_nl``; a claim without them is said in English (and marked so).
    """
    try:
        from datamap.audit.catalogue import load_catalogue

        claims = load_catalogue()
    except Exception:  # the report still renders with bare claim ids
        return {}
    if lang == "nl":
        return {c.claim: (c.text_nl, c.section_nl or c.section, "nl") if c.text_nl else (c.text, c.section, "en")
                for c in claims}
    return {c.claim: (c.text, c.section, "en") for c in claims}


def _shown(item: dict[str, Any], key: str, lang: str) -> dict[str, Any]:
    """An archived check or finding with its ``name``/``detail`` in ``lang`` as ``shown_<key>``, and ``<key>_lang``.

    In Dutch its ``name_nl``/``detail_nl``; a workspace's own check without one, or a run archived before they
    existed, says it in English (and the template marks it so).
    """
    dutch = item.get(f"{key}_nl") if lang == "nl" else None
    return {**item, f"shown_{key}": str(dutch) if dutch else str(item.get(key) or ""), f"{key}_lang": "nl" if dutch else "en"}


def _severity_rank(finding: dict[str, Any]) -> int:
    sev = finding.get("severity")
    return SEVERITIES.index(sev) if sev in SEVERITIES else len(SEVERITIES)


def claim_results(run: ArchivedRun, mask: Callable[[str], str | None], limit: int = MAX_FINDINGS_PER_CLAIM,
                  lang: str = "en") -> list[ClaimResult]:
    """Group the run's checks and findings by claim, findings worst first, evidence pseudonymised.

    Each check gets ``shown_name`` and each finding ``shown_detail`` in ``lang`` (with ``*_lang``: the language they are in).
    """
    from datamap.actions import finding_id

    texts = _claim_texts(lang)
    ids = sorted({c.get("claim") for c in run.checks} | set(texts) | {f.get("claim") for f in run.findings},
                 key=lambda c: (len(str(c)), str(c)))
    out = []
    for claim in ids:
        if not claim:
            continue
        checks = [c for c in run.checks if c.get("claim") == claim]
        found = sorted((f for f in run.findings if f.get("claim") == claim),
                       key=lambda f: (_severity_rank(f), str(f.get("rule")), str(f.get("system")), str(f.get("record_key"))))
        text, section, text_lang = texts.get(claim, ("", "", lang))
        result = ClaimResult(claim, scrub(text, mask), section, claim_status(checks), checks, found, text_lang=text_lang)
        result.by_severity = {s: sum(1 for f in found if f.get("severity") == s) for s in SEVERITIES}
        result.persons = len({f.get("subject_ref") for f in found if f.get("subject_ref")})
        result.shown = [_shown(_scrub_any(f, mask), "detail", lang) | {"id": finding_id(f)}  # the id, never masked
                        for f in found[:limit]]
        result.hidden = max(0, len(found) - limit)
        result.checks = [_shown(_scrub_any(c, mask), "name", lang) for c in checks]
        out.append(result)
    return out


# --- figures ---------------------------------------------------------------------------------------


def figure_uri(fig: Any, fmt: str = "png") -> str:
    """Embed a matplotlib figure as a data URI (PNG at print resolution)."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, bbox_inches="tight", dpi=150)
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    return f"data:{mime};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def map_drawing(ws: Workspace) -> str | None:
    """The data map drawing (datamap.map.draw) as a data URI."""
    from datamap.map import load_map
    from datamap.map.draw import draw_map

    return figure_uri(draw_map(load_map(ws)))


def report_figures(ws: Workspace, run: ArchivedRun, lang: str) -> list[dict[str, Any]]:
    """The charts of :mod:`datamap.audit.charts` as data URIs; the trend only from the second run on."""
    from datamap.audit.charts import accounts_chart, accounts_per_system, finding_trend, findings_chart, \
        retention_chart, trend_chart

    figures = []
    for key, fig in (
        ("report.chart_findings", findings_chart(run, ws, lang)),
        ("report.chart_retention", retention_chart(run, ws, lang)),
        ("report.chart_accounts", accounts_chart(accounts_per_system(ws, run.store), lang)),
        ("report.chart_trend", trend_chart(finding_trend(run), lang)),
    ):
        empty = "report.trend_next" if key == "report.chart_trend" else "report.no_data"
        figures.append({"title": t(key, lang), "uri": figure_uri(fig) if fig is not None else None,
                        "id": key.split(".")[-1], "empty": t(empty, lang)})
    return figures


# --- actions -------------------------------------------------------------------------------------


def previous_findings(run: ArchivedRun) -> list[dict[str, Any]] | None:
    """The findings of the run this one was compared with (comparison.json), None for a first run."""
    name = (run.comparison or {}).get("previous_run")
    if not name:
        return None
    try:
        return json.loads((run.folder.parent / str(name) / "findings.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def action_tracking(ws: Workspace, run: ArchivedRun) -> tuple["Tracking | None", str | None]:
    """The run's findings set beside the action register (the audit folder's actions.yml) on the run's reference date.

    Read now, not from the run's actions.json: an owner or due date the officer filled in after the
    audit belongs in the report. A broken actions.yml gives (None, the problem) and the report says so.
    """
    from datamap.actions import load_actions, track
    from datamap.audit.followup import register_home
    from datamap.errors import BadInput

    try:
        register = load_actions(register_home(ws.root, run.folder.parent.parent))  # <out>/runs/<stamp>
    except BadInput as exc:
        return None, str(exc)
    as_of = dt.date.fromisoformat(str(run.meta.get("as_of") or ws.policy.reference_date()))
    return track(register, run.findings, previous_findings(run), as_of, run=run.run_id), None


# --- PDF ------------------------------------------------------------------------------------------


def pdf_converter() -> tuple[str, str] | None:
    """The headless Chromium on this machine, as (path, version); None when there is none."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            try:
                version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                continue
            return path, version or name
    return None


def chromium(path: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with a throwaway profile and no network chatter."""
    with tempfile.TemporaryDirectory(prefix="datamap-chromium-") as profile:
        return subprocess.run([path, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout)


def html_to_pdf(html: Path, pdf: Path, converter: str) -> Path:
    """Print an HTML file to PDF (A4, as the page's CSS says) with headless Chromium."""
    printing = pdf.with_name(f".{pdf.stem}.printing.pdf")  # a half-printed PDF never takes the real name
    try:
        result = chromium(converter, "--no-pdf-header-footer", f"--print-to-pdf={printing}", html.resolve().as_uri())
        if not printing.is_file() or printing.stat().st_size == 0:
            raise RuntimeError(f"chromium did not print {html.name}: {result.stderr.strip()[-300:]}")
        printing.replace(pdf)
    finally:
        printing.unlink(missing_ok=True)
    return pdf


# --- the report ----------------------------------------------------------------------------------


def _sources(run: ArchivedRun) -> list[dict[str, Any]]:
    return [{"source": p.get("source") or p.get("tbl"), "dataset": p.get("dataset"), "collection": p.get("collection"),
             "rows": p.get("rows"), "sha256": p.get("sha256"), "read_at": p.get("read_at")} for p in run.provenance]


def _inputs(run: ArchivedRun) -> list[tuple[str, str]]:
    """(file, sha256) of everything the run judged, from run.json."""
    sha = run.meta.get("sha256") or run.meta.get("inputs") or {}
    out: list[tuple[str, str]] = []
    for key, value in sha.items():
        if isinstance(value, dict):
            out += [(k, str(v)) for k, v in value.items()]
        else:
            out.append((key, str(value)))
    return out


def software_rows(run: ArchivedRun, converter: str | None = None) -> list[dict[str, Any]]:
    """The software that checked (the run's ``run.json``) beside the software that renders this report.

    ``converter`` is the Chromium that prints the PDF; a row whose versions differ is marked.
    """
    from datamap.provenance import software

    recorded = run.meta.get("software") if isinstance(run.meta.get("software"), dict) else {}
    now = software(chromium=converter)
    names = list(recorded) + [n for n in now if n not in recorded]
    return [{"name": n, "run": recorded.get(n), "report": now.get(n),
             "differs": bool(recorded) and n in recorded and recorded.get(n) != now.get(n)} for n in names]


def run_changes(run: ArchivedRun) -> dict[str, Any]:
    """What changed since the previous run (its ``comparison.json``): findings, software, inputs, reference date."""
    comparison = run.comparison or {}
    software = comparison.get("software_changed")
    return {
        "previous_run": comparison.get("previous_run"),
        "new": len(comparison.get("new") or []), "resolved": len(comparison.get("resolved") or []),
        "persisting": len(comparison.get("persisting") or []),
        "software": [(n, old, new) for n, (old, new) in software.items()] if isinstance(software, dict) else None,
        "other_packages": len(comparison.get("other_packages_changed") or {}),
        "inputs": comparison.get("inputs_changed"),
        "as_of": comparison.get("as_of_changed"),
    }


def breakable(text: object) -> Any:
    """Escape ``text`` and allow a line break only after ``.``, ``_`` and ``/`` (``<wbr>``).

    A rule id such as ``access.departed_employee_active`` in a narrow column then breaks between its
    parts, never inside a word (the table's CSS forbids breaking words anywhere else).
    """
    from markupsafe import Markup, escape

    return Markup(re.sub(r"([._/])(?=\w)", r"\1<wbr>", str(escape("" if text is None else text))))


def css_string(text: object) -> Any:
    """``text`` as a quoted CSS string for the page margins (the footer names the organization)."""
    from markupsafe import Markup

    value = re.sub(r"[\\\"<>\n]", lambda m: f"\\{ord(m.group(0)):x} ", str(text))
    return Markup(f'"{value}"')


def named(text: str, names: dict[str, str]) -> str:
    """``text`` with each system's fides_key, as a whole word, replaced by its name (a reader knows "Zoho CRM",
    not ``zoho_crm``); keys inside paths and dotted identifiers stay as they are.

    >>> named("zoho_campaigns sends data to adpeak (US); exports/zoho_crm/Users.csv", {"zoho_campaigns": "Zoho Campaigns", "adpeak": "AdPeak Inc.", "zoho_crm": "Zoho CRM"})
    'Zoho Campaigns sends data to AdPeak Inc. (US); exports/zoho_crm/Users.csv'
    """
    if not text or not names:
        return text
    pattern = re.compile(r"(?<![\w./-])(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")(?![\w/-])")
    return pattern.sub(lambda m: names[m.group(1)], text)


def _environment() -> Any:
    from datamap.labels import label
    from datamap.outputs import templates

    return templates("html", filters={"wbr": breakable, "css_string": css_string, "named": named}, t=t, label=label)


def action_of(tracking: "Tracking | None") -> dict[str, "TrackedFinding"]:
    """Each tracked finding by its ``(rule, system, record_key)``-based id."""
    return {item.id: item for item in tracking.items} if tracking else {}


def contents(claims: list[ClaimResult], lang: str) -> list[dict[str, Any]]:
    """The contents list: each heading's anchor, title and level (pages are filled in after a first print)."""
    entries = [("summary", t("report.summary", lang), 1), ("claims", t("report.claims", lang), 1)]
    entries += [(f"claim-{c.claim}", claim_heading(c, lang), 2) for c in claims]
    entries += [("map", t("report.map", lang), 1), ("figures", t("report.charts", lang), 1),
                ("scope", t("report.annex_provenance", lang), 1), ("annex", t("report.annex_register", lang), 1)]
    claim_of = {f"claim-{c.claim}": c for c in claims}
    return [{"anchor": a, "title": title, "level": level, "page": None, "claim": claim_of.get(a)}
            for a, title, level in entries]


def claim_heading(claim: ClaimResult, lang: str) -> str:
    section = f" ({claim.section})" if claim.section else ""
    return f"{claim.claim}{section}: {t('report.' + claim.status, lang)}"


def report_context(workspace: Workspace, run: ArchivedRun, lang: str, converter: str | None = None) -> dict[str, Any]:
    """Everything the template shows, as plain data (already pseudonymised)."""
    from datamap.identity import Pseudonymizer
    from datamap.register.build import build_register
    from datamap.register.model import load_map_input

    pseudo = Pseudonymizer.of(workspace)
    results = claim_results(run, pseudo.mask, lang=lang)
    summary = {s: sum(1 for r in results if r.status == s) for s in ("held", "broken", "not_checked", "not_applicable")}
    map_input = load_map_input(workspace)
    reg = scrub_register(build_register(map_input, workspace.policy, run, lang), pseudo.mask)
    tracking, actions_problem = action_tracking(workspace, run)
    actions = action_of(tracking)
    for claim in results:
        for finding in claim.shown:
            finding["action"] = actions.get(finding["id"])
    return {
        "lang": lang,
        "organization": reg.organization,
        "workspace": workspace.root.name,
        "run": run,
        "as_of": run.meta.get("as_of") or str(workspace.policy.reference_date()),
        "notice_version": workspace.policy.notice.version,
        "started": run.meta.get("started_utc") or run.meta.get("started") or run.run_id,
        "finished": run.meta.get("finished_utc") or "",
        "inputs": _inputs(run),
        "sources": _sources(run),
        "software": software_rows(run, converter),
        "software_recorded": isinstance(run.meta.get("software"), dict),
        "changes": run_changes(run),
        "summary": summary,
        "total_findings": len(run.findings),
        "claims": results,
        "tracking": tracking,
        "actions_problem": scrub(actions_problem, pseudo.mask) if actions_problem else None,
        "overdue": [dataclasses.replace(i, record=scrub(i.record, pseudo.mask)) for i in (tracking.overdue if tracking else [])],
        "map_uri": map_drawing(workspace),
        "figures": report_figures(workspace, run, lang),
        "register": reg,
        "register_files": f"register/ropa-{lang}.xlsx, register/ropa-{lang}.html",
        "converter": converter,
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "severities": SEVERITIES,
        "contents": contents(results, lang),
        "system_names": {s.fides_key: s.name or s.fides_key for s in map_input.systems},  # a name, never a key, where one exists
    }


def render_report(workspace: Workspace, run: ArchivedRun, lang: str = "en", converter: str | None = None) -> str:
    """Render the report's HTML (Jinja2, autoescape on)."""
    return _render(report_context(workspace, run, lang, converter))


def _render(ctx: dict[str, Any]) -> str:
    return _environment().get_template("report.html.j2").render(**ctx)


def heading_pages(pdf: Path, titles: list[str], skip: int = 2) -> list[int | None]:
    """The page each heading starts on in a printed report, found in reading order after the first ``skip`` pages.

    Needs pypdf (installed with the test extras); without it the contents list has no page numbers.
    """
    try:
        from pypdf import PdfReader
    except ImportError:
        return [None] * len(titles)
    pages = [" ".join((page.extract_text() or "").split()) for page in PdfReader(str(pdf)).pages]
    out: list[int | None] = []
    at = skip
    for title in titles:
        wanted = " ".join(title.split())
        hit = next((n for n in range(at, len(pages)) if wanted in pages[n]), None)
        out.append(hit + 1 if hit is not None else None)
        at = hit if hit is not None else at
    return out


def _print_with_page_numbers(ctx: dict[str, Any], html: Path, pdf: Path, converter: str) -> None:
    """Print once, read on which page each heading landed, fill the contents in and print again."""
    from datamap.outputs import write_atomic

    html_to_pdf(html, pdf, converter)
    found = heading_pages(pdf, [entry["title"] for entry in ctx["contents"]])
    if not any(found):
        return
    for entry, page in zip(ctx["contents"], found):
        entry["page"] = page
    write_atomic(html, _render(ctx))
    html_to_pdf(html, pdf, converter)


def write_report(workspace: Workspace | str | os.PathLike[str], run_dir: str | os.PathLike[str],
                 out_path: str | os.PathLike[str], lang: str = "en", pdf: bool = True) -> Path:
    """Write the audit report of one run as HTML at ``out_path``; also ``<out_path>.pdf`` when Chromium is there.

    The HTML names the converter that made the PDF. Returns the HTML path.
    """
    from datamap.outputs import write_atomic

    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    run = load_run(run_dir, ws.root)
    lang = check_language(lang)
    target = Path(out_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    found = pdf_converter() if pdf else None
    ctx = report_context(ws, run, lang, found[1] if found else None)
    html = write_atomic(target, _render(ctx))
    pdf_path = target.with_suffix(".pdf")
    made = False
    if found:
        try:
            _print_with_page_numbers(ctx, html, pdf_path, found[0])
            made = True
        except (RuntimeError, OSError, subprocess.SubprocessError):
            ctx["converter"] = None
            write_atomic(target, _render(ctx))  # say no PDF was made
    if not made:  # an earlier run's PDF beside this run's HTML would pass for this run's
        pdf_path.unlink(missing_ok=True)
    return html
