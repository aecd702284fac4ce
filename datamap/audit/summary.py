"""The claim-by-claim view of a run: what holds, what does not, what could not be checked."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from datamap.audit.catalogue import Claim


def claim_status(statuses: list[str]) -> str:
    """A claim fails when any check fails, is not run when any check could not run, is not applicable
    when the company keeps none of what every check reads, else passes (its applicable checks held)."""
    if not statuses:
        return "no data check"
    if "failed" in statuses:
        return "failed"
    if "not_run" in statuses:
        return "not run"
    if all(s == "not_applicable" for s in statuses):
        return "not applicable"
    return "passed"


def claim_rows(run: Any) -> list[dict[str, Any]]:
    """One row per claim: its section, status, checks passed/failed/not run, findings, reasons not run."""
    rows = []
    claims: list[Claim] = run.claims
    for claim in claims:
        checks = [c for c in run.checks if c.claim == claim.claim]
        statuses = [c.status for c in checks]
        rows.append({
            "claim": claim.claim,
            "section": claim.section,
            "text": claim.text,
            "status": claim_status(statuses),
            "passed": statuses.count("passed"),
            "failed": statuses.count("failed"),
            "not_run": statuses.count("not_run"),
            "not_applicable": statuses.count("not_applicable"),
            "findings": sum(c.findings for c in checks),
            "reasons": sorted({c.reason for c in checks if c.status in ("not_run", "not_applicable") and c.reason}),
            "note": claim.not_checked,
        })
    return rows


def promise_in_brief(text: str, width: int = 110) -> str:
    """The claim's words up to where the catalogue starts to spell out how it is checked.

    ``Only Apora employees can access personal data, and only to serve the customer: every account ...``
    becomes ``Only Apora employees can access personal data, and only to serve the customer``.
    """
    text = " ".join(text.split())
    cut = min((i for i in (text.find(m) for m in (": ", "; ")) if i > 0), default=len(text))
    brief = text[:cut].rstrip(".")
    return brief if len(brief) <= width else brief[:width - 1].rsplit(" ", 1)[0] + " …"


def print_summary(run: Any, console: Any | None = None) -> None:
    """Print the claim-by-claim table, the checks that could not run, and where the results are."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"Audit of the privacy notice, as of {run.as_of.isoformat()}")
    table.add_column("claim", no_wrap=True)
    table.add_column("what the notice promises", ratio=1, min_width=24)
    table.add_column("status", no_wrap=True)
    table.add_column("checks")
    table.add_column("findings", justify="right")
    colour = {"passed": "green", "failed": "red", "not run": "yellow", "not applicable": "cyan", "no data check": "dim"}
    for row in claim_rows(run):
        checks = f"{row['passed']} passed, {row['failed']} failed, {row['not_run']} not run"
        if row["not_applicable"]:
            checks += f", {row['not_applicable']} not applicable"
        promise = f"{escape(promise_in_brief(row['text']))} [dim]({escape(row['section'])})[/]"
        table.add_row(row["claim"], promise, f"[{colour[row['status']]}]{row['status']}[/]", checks,
                      str(row["findings"]))
    console.print(table)
    for check in run.checks:
        if check.status == "not_run":
            console.print(f"[yellow]not run[/] {check.check}: {check.reason}", markup=True, highlight=False)
        elif check.status == "not_applicable":
            console.print(f"[cyan]not applicable[/] {check.check}: {check.reason}", markup=True, highlight=False)
    console.print(f"{len(run.findings)} finding(s): {run.out_dir / 'findings.json'}", highlight=False)
    for line in comparison_lines(run.comparison):
        console.print(line, highlight=False)
    for line in action_lines(run.run_dir / "actions.json"):
        console.print(line, highlight=False)
    console.print(f"run archived in {run.run_dir}", highlight=False)
    if run.docs_index:
        console.print(f"Data Docs: {run.docs_index}", highlight=False)


def comparison_lines(comparison: dict[str, Any]) -> list[str]:
    """What changed since the previous run, findings next to the software and inputs that changed (comparison.json).

    A new finding that comes with an upgraded library may be the library's doing, not a new violation.
    """
    from datamap.provenance import describe

    previous = comparison.get("previous_run")
    if not previous:
        return []
    counts = {k: len(comparison.get(k) or []) for k in ("new", "resolved", "persisting")}
    lines = [f"compared with run {previous}: {counts['new']} new, {counts['resolved']} resolved, "
             f"{counts['persisting']} persisting finding(s)"]
    software = comparison.get("software_changed")
    if software is None:
        lines.append(f"run {previous} did not record its software: whether it changed is unknown")
    elif software:
        others = len(comparison.get("other_packages_changed") or {})
        lines.append(f"software changed since run {previous}: {describe(software)}"
                     + (f" (and {others} other package(s))" if others else "")
                     + "; a new finding may come from the change, not from the data")
    elif comparison.get("other_packages_changed"):
        lines.append(f"same deciding software as run {previous}; {len(comparison['other_packages_changed'])} "
                     "other package(s) changed (comparison.json)")
    else:
        lines.append(f"same software as run {previous}")
    inputs = comparison.get("inputs_changed")
    if inputs and any(inputs.values()):
        counts = ", ".join(f"{len(inputs[k])} {k}" for k in ("changed", "added", "removed") if inputs.get(k))
        lines.append(f"inputs changed since run {previous}: {counts} file(s) (comparison.json lists them)")
    elif inputs is not None:
        lines.append(f"same inputs as run {previous}")
    if comparison.get("as_of_changed"):
        old, new = comparison["as_of_changed"]
        lines.append(f"reference date changed since run {previous}: {old} -> {new}")
    return lines


def action_lines(tracking_file: Path) -> list[str]:
    """What is being done about the findings (the run's ``actions.json``, :mod:`datamap.audit.followup`)."""
    try:
        counts = json.loads(tracking_file.read_text(encoding="utf-8"))["counts"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    lines = [f"actions: {counts['open']} open, {counts['overdue']} overdue, {counts['unowned']} without an owner, "
             f"{counts['accepted']} accepted (actions.yml)"]
    if counts.get("reappeared"):
        lines.append(f"{counts['reappeared']} finding(s) marked fixed were found again (actions.json: reappeared)")
    return lines


def claim_table(run: Any) -> Any:
    """The claim-by-claim table as a pandas DataFrame (for notebooks): the claim's words next to its status."""
    import pandas as pd

    rows = claim_rows(run)
    for row in rows:
        row["reasons"] = "; ".join(row["reasons"])
    return pd.DataFrame(rows, columns=["claim", "text", "section", "status", "findings", "passed", "failed", "not_run",
                                       "not_applicable", "reasons"]).set_index("claim")


def worst_findings(run: Any, limit: int = 12) -> Any:
    """The most severe findings with their pseudonymised evidence, as a pandas DataFrame."""
    import json

    import pandas as pd

    from datamap.findings import SEVERITIES

    ranked = sorted(run.findings, key=lambda f: (SEVERITIES.index(f.severity), f.claim, f.rule, f.system, f.record_key))
    rows = [{"claim": f.claim, "rule": f.rule, "severity": f.severity, "system": f.system,
             "record_key": f.record_key, "subject": f.subject_ref or "", "detail": f.detail,
             "evidence": json.dumps(f.evidence, ensure_ascii=False, sort_keys=True, default=str)}
            for f in ranked[:limit]]
    return pd.DataFrame(rows, columns=["claim", "rule", "severity", "system", "record_key", "subject", "detail",
                                       "evidence"])
