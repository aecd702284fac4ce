"""Charts of an audit run: findings per claim, record age against retention, accounts, the trend.

Functions take an archived run (:class:`datamap.audit.archive.ArchivedRun`; a live one gives it
with ``run.archived()``) and the workspace it judged, and return a matplotlib Figure, so the
notebook and the report only call them. No personal data is drawn: counts and ages only.

Every chart is drawn at the width of a portrait A4 page's text (:data:`PAGE_WIDTH`), so the report
prints it at its own size and a 9 pt label reads as 9 pt on paper. Titles and axis words come from
the translation catalogue (``lang``).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datamap.audit.archive import ArchivedRun
from datamap.findings import SEVERITIES
from datamap.store import open_read_only
from datamap.workspace import Workspace, load_workspace

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SEVERITY_COLOURS = {"critical": "#7B0000", "high": "#D62728", "medium": "#FF9F1C", "low": "#9DB4C0"}
PAGE_WIDTH = 7.1  # inches: A4 portrait (210 mm) less the report's margins, so figures print 1:1
LABEL_SIZE = 9  # points, as printed


WorkspaceLike = Workspace | str | os.PathLike[str]


def _loaded(ws: WorkspaceLike) -> Workspace:
    return ws if isinstance(ws, Workspace) else load_workspace(ws)


def run_date(run: ArchivedRun, ws: Workspace) -> dt.date:
    """The run's reference date (``run.json``), else the workspace's."""
    return dt.date.fromisoformat(str(run.meta.get("as_of") or ws.policy.reference_date()))


def findings_by_claim(run: ArchivedRun, ws: WorkspaceLike) -> dict[str, dict[str, int]]:
    """Count findings per claim and severity (claims in catalogue order, every severity present)."""
    from datamap.audit.catalogue import load_catalogue
    from datamap.audit.run import default_catalogue_dirs

    claims = [c.claim for c in load_catalogue(default_catalogue_dirs(_loaded(ws)))]
    counts = {claim: {s: 0 for s in SEVERITIES} for claim in claims}
    for finding in run.findings:
        counts.setdefault(finding["claim"], {s: 0 for s in SEVERITIES})[finding["severity"]] += 1
    return counts


def _words(lang: str) -> Any:
    from datamap.register.terms import check_language, t

    check_language(lang)
    return lambda key, **values: t(key, lang, **values)


def _figure(height: float) -> "Figure":
    from matplotlib.figure import Figure

    return Figure(figsize=(PAGE_WIDTH, height))


def _readable(ax: Any) -> None:
    ax.tick_params(labelsize=LABEL_SIZE)
    ax.xaxis.label.set_size(LABEL_SIZE)
    ax.yaxis.label.set_size(LABEL_SIZE)


def findings_chart(run: ArchivedRun, ws: WorkspaceLike, lang: str = "en") -> "Figure":
    """Stacked bars: how many findings each claim has, by severity."""
    say = _words(lang)
    ws = _loaded(ws)
    counts = findings_by_claim(run, ws)
    claims = list(counts)
    fig = _figure(0.28 * len(claims) + 1.1)
    ax = fig.add_subplot()
    left = [0] * len(claims)
    for severity in SEVERITIES:
        values = [counts[c][severity] for c in claims]
        ax.barh(claims, values, left=left, color=SEVERITY_COLOURS[severity], label=say(f"report.sev.{severity}"),
                edgecolor="white")
        left = [a + b for a, b in zip(left, values)]
    ax.invert_yaxis()
    ax.set_xlabel(say("report.findings"))
    ax.set_title(f"{say('report.chart_findings')} ({say('report.as_of_short')} {run_date(run, ws).isoformat()})",
                 fontsize=LABEL_SIZE + 1)
    _readable(ax)
    ax.legend(fontsize=LABEL_SIZE, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4, frameon=False)
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class RetentionAges:
    """Per scheduled collection: each dated record's age as a share of its retention period (1.0 = its end)."""

    system: str
    collection: str
    period: str
    shares: list[float]
    expired: int


def _share(value: Any, rule: Any, as_of: dt.date, fiscal_year_end: str) -> float | None:
    from datamap.audit.params import add_period, retention_start

    start = retention_start(value, rule.anchor, fiscal_year_end)
    if start is None:
        return None
    until = add_period(start, rule.period)
    begin, end = dt.date.fromisoformat(start), dt.date.fromisoformat(until)  # type: ignore[arg-type]
    span = (end - begin).days or 1
    return (as_of - begin).days / span


def retention_ages(run: ArchivedRun, ws: WorkspaceLike) -> list[RetentionAges]:
    """Record ages per retention rule, counted from the rule's own start (date, or fiscal year end)."""
    from datamap.audit.run import retention_items

    ws = _loaded(ws)
    store = run.store
    if store is None or not store.is_file():
        return []
    policy, day = ws.policy, run_date(run, ws)
    table_of = {(i["system"], i["collection"]): i["table"] for i in retention_items(ws)}  # as the audit staged them
    out = []
    con = open_read_only(store)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for rule in policy.retention:
            table = table_of.get((rule.system, rule.collection), f"{rule.system}__{rule.collection}")
            if table not in tables or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rule.date_column):
                continue
            values = [r[0] for r in con.execute(f'SELECT "{rule.date_column}" FROM "{table}"')]
            shares = [s for s in (_share(v, rule, day, policy.fiscal_year_end) for v in values) if s is not None]
            expired = sum(1 for f in run.findings if f.get("rule") == "retention.expired"
                          and f.get("system") == rule.system and f.get("collection") == rule.collection)
            out.append(RetentionAges(rule.system, rule.collection, rule.period, shares, expired))
    finally:
        con.close()
    return out


def retention_chart(run: ArchivedRun, ws: WorkspaceLike, lang: str = "en") -> "Figure":
    """Age of every dated record against its retention period, per system and collection.

    The red line is the end of the period: points right of it are records kept too long.
    """
    say = _words(lang)
    data = [d for d in retention_ages(run, ws) if d.shares]
    fig = _figure(0.42 * max(len(data), 1) + 1.2)
    ax = fig.add_subplot()
    if not data:
        ax.text(0.5, 0.5, say("report.no_data"), ha="center", va="center", fontsize=LABEL_SIZE)
        ax.set_axis_off()
        return fig
    ax.boxplot([d.shares for d in data], vert=False, showfliers=True, flierprops={"markersize": 2})
    labels = [f"{d.system}.{d.collection} ({d.period}; {d.expired} {say('report.past')})" for d in data]
    ax.set_yticks(range(1, len(data) + 1), labels)
    ax.axvline(1.0, color="#C00000", linewidth=1.5)
    ax.invert_yaxis()
    ax.set_xlabel(say("report.retention_share"))
    ax.set_title(say("report.retention_title"), fontsize=LABEL_SIZE + 1)
    _readable(ax)
    fig.tight_layout()
    return fig


def accounts_per_system(ws: Workspace, store: Path | None) -> dict[str, dict[str, int]]:
    """Active accounts per user table: held by a current employee, a departed one, or no one on the roster."""
    if store is None or not Path(store).is_file():
        return {}
    tables = {r[0] for r in _query(store, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    roster_table = next((t for t in sorted(tables) if t.endswith("__roster")), None)
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


def _query(store: Path, sql: str) -> list[tuple[Any, ...]]:
    con = open_read_only(store)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.Error:
        return []
    finally:
        con.close()


def accounts_chart(data: dict[str, dict[str, int]], lang: str = "en") -> "Figure | None":
    """Stacked bars per system: active accounts of current employees, departed ones and people not on the roster."""
    if not data:
        return None
    say = _words(lang)
    fig = _figure(0.36 * len(data) + 1.2)
    ax = fig.add_subplot()
    systems = list(data)
    left = [0] * len(systems)
    for kind, colour in (("employee", "#70AD47"), ("departed", "#C00000"), ("non_employee", "#ED7D31")):
        counts = [data[s][kind] for s in systems]
        ax.barh(systems, counts, left=left, color=colour, label=say(f"report.{kind}"), edgecolor="white")
        left = [a + b for a, b in zip(left, counts)]
    ax.invert_yaxis()
    ax.set_xlabel(say("report.count"))
    _readable(ax)
    ax.legend(fontsize=LABEL_SIZE, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3, frameon=False)
    fig.tight_layout()
    return fig


def finding_trend(run: ArchivedRun) -> list[tuple[str, dict[str, int]]]:
    """Findings by severity in every archived run up to this one, oldest first."""
    from datamap.audit.archive import run_folders

    archive = run.folder.parent.parent if run.folder.parent.name == "runs" else None
    folders = run_folders(archive) if archive else [run.folder]
    out = []
    for folder in folders:
        if folder.name > run.folder.name:
            continue
        try:
            found = json.loads((folder / "findings.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        out.append((folder.name, {s: sum(1 for f in found if f.get("severity") == s) for s in SEVERITIES}))
    return out


def trend_chart(data: list[tuple[str, dict[str, int]]], lang: str = "en") -> "Figure | None":
    """Findings by severity across the archived runs; None before there are two runs (one dot is no trend)."""
    if len(data) < 2:
        return None
    say = _words(lang)
    fig = _figure(2.8)
    ax = fig.add_subplot()
    xs = list(range(len(data)))
    for sev in SEVERITIES:
        ax.plot(xs, [d[1][sev] for d in data], marker="o", color=SEVERITY_COLOURS[sev], label=say(f"report.sev.{sev}"))
    ax.set_xticks(xs, [_when(d[0]) for d in data], rotation=30, ha="right")
    ax.set_ylim(bottom=0)
    ax.set_ylabel(say("report.count"))
    _readable(ax)
    ax.legend(fontsize=LABEL_SIZE, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.tight_layout()
    return fig


def _when(run: str) -> str:
    """A run's name (``20261124T090000.000000Z``) as a tick label: its start, to the minute (UTC)."""
    return f"{run[:4]}-{run[4:6]}-{run[6:8]} {run[9:11]}:{run[11:13]}" if len(run) >= 13 else run
