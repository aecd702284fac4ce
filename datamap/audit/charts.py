"""Charts of an audit run: findings per claim and severity; record age against the retention period.

Functions take the run (``datamap.audit.run_audit``'s AuditRun) and return a matplotlib Figure,
so the notebook and the report only call them. No personal data is drawn: counts and ages only.
"""
from __future__ import annotations

import datetime as dt
import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from datamap.findings import SEVERITIES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SEVERITY_COLOURS = {"critical": "#7B0000", "high": "#D62728", "medium": "#FF9F1C", "low": "#9DB4C0"}


def findings_by_claim(run: Any) -> dict[str, dict[str, int]]:
    """Count findings per claim and severity (claims in catalogue order, every severity present)."""
    claims = [c.claim for c in run.claims]
    counts = {claim: {s: 0 for s in SEVERITIES} for claim in claims}
    for finding in run.findings:
        counts.setdefault(finding.claim, {s: 0 for s in SEVERITIES})[finding.severity] += 1
    return counts


def findings_chart(run: Any) -> "Figure":
    """Stacked bars: how many findings each claim has, by severity."""
    from matplotlib.figure import Figure

    counts = findings_by_claim(run)
    claims = list(counts)
    fig = Figure(figsize=(8, 0.32 * len(claims) + 1.2))
    ax = fig.add_subplot()
    left = [0] * len(claims)
    for severity in SEVERITIES:
        values = [counts[c][severity] for c in claims]
        ax.barh(claims, values, left=left, color=SEVERITY_COLOURS[severity], label=severity, edgecolor="white")
        left = [a + b for a, b in zip(left, values)]
    ax.invert_yaxis()
    ax.set_xlabel("findings")
    ax.set_title(f"Findings per claim and severity (as of {run.as_of.isoformat()})", fontsize=10)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
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


def retention_ages(run: Any) -> list[RetentionAges]:
    """Record ages per retention rule, counted from the rule's own start (date, or fiscal year end)."""
    store = getattr(run, "store_path", None)
    if store is None or not store.is_file():
        return []
    policy = run.policy
    out = []
    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for rule in policy.retention:
            table = (getattr(run, "retention_tables", None) or {}).get(f"{rule.system}.{rule.collection}",
                                                                         f"{rule.system}__{rule.collection}")
            if table not in tables or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rule.date_column):
                continue
            values = [r[0] for r in con.execute(f'SELECT "{rule.date_column}" FROM "{table}"')]
            shares = [s for s in (_share(v, rule, run.as_of, policy.fiscal_year_end) for v in values) if s is not None]
            expired = sum(1 for f in run.findings if f.rule == "retention.expired"
                          and f.system == rule.system and f.collection == rule.collection)
            out.append(RetentionAges(rule.system, rule.collection, rule.period, shares, expired))
    finally:
        con.close()
    return out


def retention_chart(run: Any) -> "Figure":
    """Age of every dated record against its retention period, per system and collection.

    The red line is the end of the period: points right of it are records kept too long.
    """
    from matplotlib.figure import Figure

    data = [d for d in retention_ages(run) if d.shares]
    fig = Figure(figsize=(8, 0.5 * max(len(data), 1) + 1.4))
    ax = fig.add_subplot()
    if not data:
        ax.text(0.5, 0.5, "no dated records in the retention schedule", ha="center", va="center")
        ax.set_axis_off()
        return fig
    ax.boxplot([d.shares for d in data], vert=False, showfliers=True, flierprops={"markersize": 2})
    labels = [f"{d.system}.{d.collection} ({d.period}; {d.expired} past)" for d in data]
    ax.set_yticks(range(1, len(data) + 1), labels, fontsize=8)
    ax.axvline(1.0, color="#C00000", linewidth=1.5)
    ax.invert_yaxis()
    ax.set_xlabel("age as a share of the retention period (1 = the period ends on the audit date)")
    ax.set_title("Age of records against their retention period", fontsize=10)
    fig.tight_layout()
    return fig
