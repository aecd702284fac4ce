"""The audit report: one self-contained HTML file (and a PDF where Chromium is installed).

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
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from datamap.findings import SEVERITIES
from datamap.register.run import ArchivedRun, load_run, run_folders
from datamap.register.terms import check_language, t
from datamap.workspace import Workspace, load_workspace

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

# Candidates for identifiers inside free text; Pseudonymizer.mask decides what really is one.
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){10,30}\b")
_PHONE = re.compile(r"(?<![\w.:/-])\+?\(?\d[\d \-().]{7,}\d(?![\w.:/-])")


# --- pseudonymising text -------------------------------------------------------------------------


def scrub(text: object, mask: Callable[[str], str | None]) -> str:
    """Replace every e-mail, IBAN or phone number inside ``text`` by its pseudonym."""
    if text is None:
        return ""
    value = str(text)
    value = mask(value) or value  # Pseudonymizer.mask finds identifiers in free text itself
    for pattern in (_EMAIL, _IBAN, _PHONE):  # then each candidate it may not take as part of a sentence
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
    from datamap.identity import Pseudonymizer, load_key
    from datamap.register.ropa import register_for_workspace

    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    return scrub_register(register_for_workspace(ws, audit_dir, lang), Pseudonymizer(load_key(ws.root)).mask)


# --- the summary -----------------------------------------------------------------------------------


@dataclass
class ClaimResult:
    claim: str
    text: str
    section: str
    status: str  # held | broken | not_checked | not_applicable
    checks: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    by_severity: dict[str, int] = field(default_factory=dict)
    shown: list[dict[str, Any]] = field(default_factory=list)
    hidden: int = 0


# The report's words for the audit's claim states (datamap.audit.summary.claim_status decides them).
REPORT_STATUS = {"passed": "held", "failed": "broken", "not applicable": "not_applicable"}


def claim_status(checks: list[dict[str, Any]]) -> str:
    """Broken when a check failed; held when every applicable check passed; not applicable when the company
    keeps none of the data; otherwise not checked."""
    from datamap.audit.summary import claim_status as audit_claim_status

    return REPORT_STATUS.get(audit_claim_status([str(c.get("status")) for c in checks]), "not_checked")


def _claim_texts() -> dict[str, tuple[str, str]]:
    """The notice's claims in plain words (checks/P*.yml), by id."""
    try:
        from datamap.audit.catalogue import load_catalogue

        return {c.claim: (c.text, c.section) for c in load_catalogue()}
    except Exception:  # the report still renders with bare claim ids
        return {}


def _severity_rank(finding: dict[str, Any]) -> int:
    sev = finding.get("severity")
    return SEVERITIES.index(sev) if sev in SEVERITIES else len(SEVERITIES)


def claim_results(run: ArchivedRun, mask: Callable[[str], str | None], limit: int = MAX_FINDINGS_PER_CLAIM) -> list[ClaimResult]:
    """Group the run's checks and findings by claim, findings worst first, evidence pseudonymised."""
    texts = _claim_texts()
    ids = sorted({c.get("claim") for c in run.checks} | set(texts) | {f.get("claim") for f in run.findings},
                 key=lambda c: (len(str(c)), str(c)))
    out = []
    for claim in ids:
        if not claim:
            continue
        checks = [c for c in run.checks if c.get("claim") == claim]
        found = sorted((f for f in run.findings if f.get("claim") == claim),
                       key=lambda f: (_severity_rank(f), str(f.get("rule")), str(f.get("system")), str(f.get("record_key"))))
        text, section = texts.get(claim, ("", ""))
        result = ClaimResult(claim, scrub(text, mask), section, claim_status(checks), checks, found)
        result.by_severity = {s: sum(1 for f in found if f.get("severity") == s) for s in SEVERITIES}
        result.shown = [_scrub_any(f, mask) for f in found[:limit]]
        result.hidden = max(0, len(found) - limit)
        result.checks = [_scrub_any(c, mask) for c in checks]
        out.append(result)
    return out


# --- figures ---------------------------------------------------------------------------------------


def figure_uri(fig: Any, fmt: str = "png") -> str:
    """Embed a matplotlib figure as a data URI (PNG at print resolution)."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, bbox_inches="tight", dpi=130)
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    return f"data:{mime};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _new_figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _query(store: Path, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return con.execute(sql, tuple(params)).fetchall()
    except sqlite3.Error:
        return []
    finally:
        con.close()


def _tables(store: Path) -> set[str]:
    return {r[0] for r in _query(store, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def audit_charts(workspace: Workspace, run: ArchivedRun) -> tuple[Any, Any]:
    """The audit's own charts (findings per claim and severity; record age against the retention period).

    ``datamap.audit.charts`` draws from the in-memory run; an archived run is read back into that shape.
    """
    from types import SimpleNamespace

    from datamap.audit.charts import findings_chart, retention_chart
    from datamap.audit.catalogue import load_catalogue
    from datamap.findings import Finding

    fields = {f.name for f in dataclasses.fields(Finding)}
    as_of = dt.date.fromisoformat(str(run.meta.get("as_of") or workspace.policy.reference_date()))
    view = SimpleNamespace(
        claims=load_catalogue(), findings=[Finding(**{k: v for k, v in f.items() if k in fields}) for f in run.findings],
        store_path=run.store, policy=workspace.policy, as_of=as_of,
    )
    return findings_chart(view), retention_chart(view)


def accounts_per_system(ws: Workspace, store: Path | None) -> dict[str, dict[str, int]]:
    """Active accounts per user table: held by a current employee, a departed one, or no one on the roster."""
    if store is None:
        return {}
    tables = _tables(store)
    roster_table = next((t_ for t_ in sorted(tables) if t_.endswith("__roster")), None)
    if roster_table is None:
        return {}
    as_of = ws.policy.reference_date().isoformat()
    roster = {r[0]: r[1] for r in _query(store, f'SELECT email__norm, end_date FROM "{roster_table}"') if r[0]}
    out: dict[str, dict[str, int]] = {}
    for table in sorted(tables):
        if not (table.endswith("__users") or table.endswith("__portal_users")):
            continue
        cols = [r[1] for r in _query(store, f'PRAGMA table_info("{table}")')]
        email = next((c for c in ("email__norm", "email") if c in cols), None)
        if email is None or "status" not in cols:
            continue
        counts = {"employee": 0, "departed": 0, "non_employee": 0}
        for addr, status in _query(store, f'SELECT "{email}", status FROM "{table}"'):
            if str(status or "").lower() != "active":
                continue
            norm = str(addr or "").strip().lower()
            if norm not in roster:
                counts["non_employee"] += 1
            elif roster[norm] and str(roster[norm])[:10] < as_of:
                counts["departed"] += 1
            else:
                counts["employee"] += 1
        out[table.split("__")[0]] = counts
    return out


def chart_accounts(data: dict[str, dict[str, int]], lang: str) -> Any | None:
    if not data:
        return None
    fig = _new_figure(8, 0.4 * len(data) + 1.3)
    ax = fig.add_subplot()
    systems = list(data)
    left = [0] * len(systems)
    for kind, colour in (("employee", "#70AD47"), ("departed", "#C00000"), ("non_employee", "#ED7D31")):
        counts = [data[s][kind] for s in systems]
        ax.barh(systems, counts, left=left, color=colour, label=t(f"report.{kind}", lang), edgecolor="white")
        left = [a + b for a, b in zip(left, counts)]
    ax.invert_yaxis()
    ax.set_xlabel(t("report.count", lang))
    ax.set_title(t("report.chart_accounts", lang), fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def finding_trend(run: ArchivedRun) -> list[tuple[str, dict[str, int]]]:
    """Findings by severity in every archived run up to this one."""
    import json

    out = []
    archive = run.folder.parent.parent if run.folder.parent.name == "runs" else None
    folders = run_folders(archive) if archive else [run.folder]
    for folder in folders:
        if folder.name > run.folder.name:
            continue
        try:
            found = json.loads((folder / "findings.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        out.append((folder.name, {s: sum(1 for f in found if f.get("severity") == s) for s in SEVERITIES}))
    return out


def chart_trend(data: list[tuple[str, dict[str, int]]], lang: str) -> Any | None:
    """Findings by severity across the archived runs."""
    from datamap.audit.charts import SEVERITY_COLOURS

    if not data:
        return None
    fig = _new_figure(8, 2.8)
    ax = fig.add_subplot()
    xs = list(range(len(data)))
    for sev in SEVERITIES:
        ax.plot(xs, [d[1][sev] for d in data], marker="o", color=SEVERITY_COLOURS[sev], label=sev)  # the audit's colours
    ax.set_xticks(xs, [d[0][:15] for d in data], rotation=30, fontsize=7, ha="right")
    ax.set_ylabel(t("report.count", lang))
    ax.set_title(t("report.chart_trend", lang), fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def map_drawing(ws: Workspace) -> str | None:
    """The data map drawing (datamap.draw) as a data URI."""
    from datamap.draw import draw_map
    from datamap.map import load_map

    return figure_uri(draw_map(load_map(ws)))


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
        "software": [(n, old, new) for n, (old, new) in software.items()] if isinstance(software, dict) else None,
        "other_packages": len(comparison.get("other_packages_changed") or {}),
        "inputs": comparison.get("inputs_changed"),
        "as_of": comparison.get("as_of_changed"),
    }


def report_context(workspace: Workspace, run: ArchivedRun, lang: str, converter: str | None = None) -> dict[str, Any]:
    """Everything the template shows, as plain data (already pseudonymised)."""
    from datamap.identity import Pseudonymizer, load_key
    from datamap.register.html import render_register_html
    from datamap.register.model import build_register, load_map_input

    pseudo = Pseudonymizer(load_key(workspace.root))
    results = claim_results(run, pseudo.mask)
    store = run.store
    summary = {s: sum(1 for r in results if r.status == s) for s in ("held", "broken", "not_checked", "not_applicable")}
    reg = scrub_register(build_register(load_map_input(workspace), workspace.policy, run, lang), pseudo.mask)
    findings_fig, retention_fig = audit_charts(workspace, run)
    figures = []
    for key, fig in (
        ("report.chart_findings", findings_fig),
        ("report.chart_retention", retention_fig),
        ("report.chart_accounts", chart_accounts(accounts_per_system(workspace, store), lang)),
        ("report.chart_trend", chart_trend(finding_trend(run), lang)),
    ):
        figures.append({"title": t(key, lang), "uri": figure_uri(fig) if fig is not None else None,
                        "id": key.split(".")[-1]})
    org = reg.organization
    return {
        "lang": lang,
        "organization": org,
        "workspace": workspace.root.name,
        "run": run,
        "as_of": run.meta.get("as_of") or str(workspace.policy.reference_date()),
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
        "map_uri": map_drawing(workspace),
        "figures": figures,
        "register_html": render_register_html(reg, standalone=False),
        "converter": converter,
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "severities": SEVERITIES,
    }


def render_report(workspace: Workspace, run: ArchivedRun, lang: str = "en", converter: str | None = None) -> str:
    """Render the report's HTML (Jinja2, autoescape on)."""
    from markupsafe import Markup

    from datamap.register.html import environment

    ctx = report_context(workspace, run, lang, converter)
    ctx["register_html"] = Markup(ctx["register_html"])  # rendered by the same autoescaping environment
    return environment().get_template("report.html.j2").render(**ctx)


def write_report(workspace: Workspace | str | os.PathLike[str], run_dir: str | os.PathLike[str],
                 out_path: str | os.PathLike[str], lang: str = "en", pdf: bool = True) -> Path:
    """Write the audit report of one run as HTML at ``out_path``; also ``<out_path>.pdf`` when Chromium is there.

    The HTML names the converter that made the PDF. Returns the HTML path.
    """
    from datamap.register.html import write_text

    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    run = load_run(run_dir, ws.root)
    lang = check_language(lang)
    target = Path(out_path)
    found = pdf_converter() if pdf else None
    html = write_text(render_report(ws, run, lang, found[1] if found else None), target)
    pdf_path = target.with_suffix(".pdf")
    made = False
    if found:
        try:
            html_to_pdf(html, pdf_path, found[0])
            made = True
        except (RuntimeError, OSError, subprocess.SubprocessError):
            write_text(render_report(ws, run, lang, None), target)  # say no PDF was made
    if not made:  # an earlier run's PDF beside this run's HTML would pass for this run's
        pdf_path.unlink(missing_ok=True)
    return html
