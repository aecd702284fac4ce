"""The claim-by-claim view of a run: what holds, what does not, what could not be checked."""
from __future__ import annotations

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


def print_summary(run: Any, console: Any | None = None) -> None:
    """Print the claim-by-claim table, the checks that could not run, and where the results are."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"Audit of the privacy notice, as of {run.as_of.isoformat()}")
    for column in ("claim", "section", "status", "checks", "findings"):
        table.add_column(column)
    colour = {"passed": "green", "failed": "red", "not run": "yellow", "not applicable": "cyan", "no data check": "dim"}
    for row in claim_rows(run):
        checks = f"{row['passed']} passed, {row['failed']} failed, {row['not_run']} not run"
        if row["not_applicable"]:
            checks += f", {row['not_applicable']} not applicable"
        table.add_row(row["claim"], row["section"], f"[{colour[row['status']]}]{row['status']}[/]", checks,
                      str(row["findings"]))
    console.print(table)
    for check in run.checks:
        if check.status == "not_run":
            console.print(f"[yellow]not run[/] {check.check}: {check.reason}", markup=True, highlight=False)
        elif check.status == "not_applicable":
            console.print(f"[cyan]not applicable[/] {check.check}: {check.reason}", markup=True, highlight=False)
    console.print(f"{len(run.findings)} finding(s): {run.out_dir / 'findings.json'}", highlight=False)
    console.print(f"run archived in {run.run_dir}", highlight=False)
    if run.docs_index:
        console.print(f"Data Docs: {run.docs_index}", highlight=False)


def claim_table(run: Any) -> Any:
    """The claim-by-claim table as a pandas DataFrame (for notebooks)."""
    import pandas as pd

    rows = claim_rows(run)
    for row in rows:
        row["reasons"] = "; ".join(row["reasons"])
    return pd.DataFrame(rows, columns=["claim", "section", "status", "passed", "failed", "not_run", "not_applicable",
                                       "findings", "reasons", "text"]).set_index("claim")


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
