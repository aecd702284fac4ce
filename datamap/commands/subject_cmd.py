"""``datamap subject WORKSPACE --email ...``: find one person everywhere; export, check erasure, show the request log."""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer

from datamap.commands import app, one_line_errors, working
from datamap.errors import EXIT_FINDINGS, EXIT_OK, BadInput


@app.command()
@one_line_errors
def subject(
    workspace: Path = typer.Argument(..., help="the workspace folder"),
    email: List[str] = typer.Option([], "--email", help="the person's e-mail address (repeatable)"),
    phone: List[str] = typer.Option([], "--phone", help="the person's phone number (repeatable)"),
    customer_number: List[str] = typer.Option([], "--customer-number", help="the person's customer number"),
    iban: List[str] = typer.Option([], "--iban", help="the person's bank account"),
    name: List[str] = typer.Option([], "--name", help="the person's name (fuzzy; needs corroboration)"),
    request: Optional[str] = typer.Option(None, "--request", help="a request id of the log: its Subject Email is the person"),
    city: Optional[str] = typer.Option(None, "--city", help="where the person lives (corroborates a name)"),
    export: Optional[Path] = typer.Option(None, "--export", help="write the Art. 15/20 export (raw values) to this folder"),
    erasure_check: bool = typer.Option(False, "--erasure-check", help="after an erasure: what is left, what a legal duty keeps, "
                                                                     "whom to tell; without a person: every completed erasure of the log"),
    candidates: bool = typer.Option(False, "--candidates", help="also list weak matches that are not reported as the person"),
    store: Optional[str] = typer.Option(None, "--store", help="the folder of the audit store, or a PostgreSQL URL (postgresql://user:${PGPASSWORD}@host/db?schema=datamap) (default: sources.yml store:, else WORKSPACE/.datamap)"),
    requests: bool = typer.Option(False, "--requests", help="print the request log with deadlines and status"),
) -> None:
    """Find every record of one person (matches shown by pseudonym and reason, never by value).

    Exit 1 when --erasure-check finds a record left after an erasure or --requests an overdue request, else 0.
    """
    from datamap import subject as sr
    from datamap.identity import Pseudonymizer, load_key
    from datamap.workspace import load_workspace

    ws = load_workspace(workspace).with_store(store)
    with working("opening the audit store (staging the sources that changed)"):
        con = sr.open_store(ws)
        dm = sr.read_map(ws)
    code = EXIT_OK
    if requests:
        log = sr.request_log(con, ws)
        for r in log:
            typer.echo(f"{r.request_id:<10} {r.type:<12} received {r.received}  deadline {r.deadline}  {r.status}")
        overdue = [r.request_id for r in log if r.status == "overdue"]
        typer.echo(f"{len(log)} request(s), {len(overdue)} overdue (answered after the deadline or open past it)"
                   + (f": {', '.join(overdue)}" if overdue else ""))
        code = EXIT_FINDINGS if overdue else EXIT_OK
    if request:
        email = [*email, sr.request_email(con, ws, request)]
    if not (email or phone or customer_number or iban or name):
        if erasure_check:
            with working("checking every completed erasure"):
                checks = sr.erasure_checks(con, ws, dm)
            for check in checks:
                _print_erasure(check, f"{check.request_id}: ")
            typer.echo(f"{len(checks)} completed erasure(s), {sum(not c.complete for c in checks)} incomplete")
            code = max(code, EXIT_OK if all(c.complete for c in checks) else EXIT_FINDINGS)
        if requests or erasure_check:
            raise typer.Exit(code)
    person = sr.Subject.of(email=email, phone=phone, customer_number=customer_number, iban=iban, name=name, city=city)
    pseudo = Pseudonymizer(load_key(ws.root))
    ref = pseudo.ref((person.emails or person.phones or person.customer_numbers or person.ibans or person.names)[0])
    with working("looking for the person in every system"):
        matches = sr.find(con, dm, person, own_domains=ws.policy.recipients.own_domains, include_candidates=candidates)
    typer.echo(f"subject {ref}: {sum(m.is_subject for m in matches)} record(s) in {len({m.system for m in matches if m.is_subject})} system(s)")
    for row in sr.match_table(matches):
        flag = "" if row["reported"] else "  (candidate, not reported)"
        typer.echo(f"  {row['system']:<16} {row['collection']:<18} {row['record_key']:<22} {row['confidence']:.2f}  {row['matched_on']}{flag}")
    if export:
        doc = sr.build_export(con, ws, dm, person, matches)
        for path in sr.write_export(doc, export):
            typer.echo(f"wrote {path}")
    if erasure_check:
        if not person.emails:
            raise BadInput(None, "--erasure-check", "needs --email", "the request log identifies the subject by e-mail")
        check = sr.erasure_check(con, ws, dm, person.emails[-1] if request else person.emails[0], request_id=request)
        _print_erasure(check)
        code = max(code, EXIT_OK if check.complete else EXIT_FINDINGS)
    raise typer.Exit(code)


def _print_erasure(check: Any, request: str = "") -> None:
    typer.echo(f"{request}erasure {'complete' if check.complete else 'INCOMPLETE'}: {len(check.leftovers)} leftover(s), "
               f"{len(check.retained)} kept under a legal duty")
    for m in check.leftovers:
        typer.echo(f"  leftover  {m.system:<16} {m.collection:<18} {m.record_key}")
    for r in check.retained:
        typer.echo(f"  kept      {r.system:<16} {r.collection:<18} {r.record_key:<22} until {r.until} ({r.legal_duty})")
    typer.echo(f"  recipients to tell (Art. 19): {', '.join(check.recipients_to_tell) or 'none'}")
    typer.echo(f"  recipients that may have received it: {', '.join(check.recipients_possible) or 'none'}")
