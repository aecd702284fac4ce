"""Evidence packs for the questions the Autoriteit Persoonsgegevens asks (Art. 58(1)(a), Art. 31).

Each topic writes one folder: a draft cover letter in Dutch addressed to the AP, the relevant
extract of the register, the results of the relevant checks with the run's provenance (hashes,
reference date, the software that checked), and CSV annexes. Everything is pseudonymised, except
in a ``request`` pack, which concerns the one named person whose request the AP asks about.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from datamap.errors import BadInput
from datamap.outputs import safe_row
from datamap.store import sha256_file
from datamap.workspace import Workspace, load_workspace

TOPICS = {
    "register": "het register van verwerkingsactiviteiten (art. 30 lid 4 AVG)",
    "processors": "verwerkers, verwerkersovereenkomsten en doorgiften (art. 28 en hoofdstuk V AVG)",
    "retention": "de bewaartermijn van een categorie persoonsgegevens (art. 5 lid 1 sub e AVG)",
    "request": "de afhandeling van het verzoek of de klacht van een betrokkene (art. 12 t/m 22 AVG)",
    "breach": "een inbreuk in een systeem (art. 33 en 34 AVG)",
}
# Which claims' checks bear on each topic (claims.md ids).
TOPIC_CLAIMS = {
    "register": None,  # every check
    "processors": ("P03",),
    "retention": ("P05",),
    "request": ("P07", "P08", "P09", "P12"),
    "breach": ("P01", "P11"),
}


@dataclass
class Pack:
    """One evidence pack: its folder and the files in it, in the order a reader opens them."""

    topic: str
    folder: Path
    files: list[Path] = field(default_factory=list)
    run_id: str | None = None


@dataclass(frozen=True)
class Question:
    """What the AP asked about: a topic, and the category, system or person it names."""

    topic: str
    category: str | None = None
    system: str | None = None
    email: str | None = None
    request_id: str | None = None

    def validate(self) -> "Question":
        if self.topic not in TOPICS:
            raise BadInput(None, "--topic", f"unknown topic {self.topic!r}", f"choose one of {', '.join(TOPICS)}")
        needs = {"retention": ("category", "--category"), "breach": ("system", "--system")}
        if self.topic in needs and not getattr(self, needs[self.topic][0]):
            raise BadInput(None, needs[self.topic][1], f"the {self.topic} topic needs {needs[self.topic][1]}")
        if self.topic == "request" and not (self.email or self.request_id):
            raise BadInput(None, "--email", "the request topic needs --email or --request-id")
        return self


def evidence_run(workspace: Workspace | str | os.PathLike[str], audit_dir: str | os.PathLike[str]) -> Path:
    """The run folder to cite: the latest run under ``audit_dir`` when it is of the data as it is now, else a new run.

    An older run judged other bytes: packs citing it would answer the AP about data that no longer exists.
    """
    from datamap.register.run import current_or_new_run

    return current_or_new_run(workspace, audit_dir).folder


def build_pack(workspace: Workspace | str | os.PathLike[str], question: Question, out_dir: str | os.PathLike[str],
               audit_dir: str | os.PathLike[str] | None = None) -> Pack:
    """Write the evidence pack for one question of the AP into ``out_dir/<topic>[-<subject>]``."""
    from datamap.identity import Pseudonymizer, load_key
    from datamap.map import load_map
    from datamap.register.run import latest_run

    question.validate()
    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    dm = load_map(ws)
    run = latest_run(audit_dir, ws.root) if audit_dir else None
    if run is None:  # a pack whose every check reads 'not run' is no evidence: say so instead of writing one
        raise BadInput(None, "--audit", "an evidence pack needs an audit run" + (f": none in {audit_dir}" if audit_dir else ""),
                       "run datamap audit WORKSPACE --out DIR first, then give --audit DIR")
    pseudo = Pseudonymizer(load_key(ws.root))
    folder = Path(out_dir) / _folder_name(question, pseudo)
    folder.mkdir(parents=True, exist_ok=True)
    pack = Pack(question.topic, folder, run_id=run.run_id if run else None)
    builder: Callable[..., tuple[list[str], list[str]]] = _BUILDERS[question.topic]
    facts, systems = builder(ws, dm, question, run, pseudo, pack)
    annexes = list(pack.files)
    pack.files[:0] = [_write_letter(ws, dm, question, pack, run, facts, annexes),
                      _write_register_extract(ws, pack, audit_dir, systems),
                      _write_checks(pack, run, question.topic, systems)]
    pack.files.append(_write_provenance(ws, pack, run))
    return pack


def _folder_name(question: Question, pseudo: Any) -> str:
    suffix = question.category or question.system or (pseudo.ref(question.email) if question.email else question.request_id)
    return f"{question.topic}-{suffix}" if suffix else question.topic


# --- the pieces every pack has -----------------------------------------------------------------


def _write_letter(ws: Workspace, dm: Any, question: Question, pack: Pack, run: Any, facts: list[str],
                  annexes: list[Path]) -> Path:
    import jinja2

    org = next(iter(dm.organizations.values()), None)
    env = jinja2.Environment(loader=jinja2.PackageLoader("datamap", "templates"), autoescape=False,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    text = env.get_template("inquiry_letter_nl.md.j2").render(
        organization=org, topic=TOPICS[question.topic], question=question, facts=facts,
        run=run, as_of=ws.policy.reference_date(), today=dt.date.today(),
        annexes=[p.name for p in annexes],
    )
    return _write(pack.folder / "brief-aan-de-AP.md", text)


def _write_register_extract(ws: Workspace, pack: Pack, audit_dir: Any, systems: list[str]) -> Path:
    from datamap.register.html import write_html
    from datamap.register.ropa import register_for_workspace

    reg = register_for_workspace(ws, audit_dir, "nl")
    if systems:
        keep = set(systems)
        reg = dataclasses.replace(
            reg, rows=[r for r in reg.rows if r.system in keep],
            processor_rows=[r for r in reg.processor_rows if r.system in keep],
            gaps=[g for g in reg.gaps if g.system in keep])
    return write_html(reg, pack.folder / "register-uittreksel.html")


def _write_checks(pack: Pack, run: Any, topic: str, systems: list[str]) -> Path:
    claims = TOPIC_CLAIMS[topic]
    rows = []
    for check in run.checks:
        if claims is not None and check.get("claim") not in claims:
            continue
        if topic == "breach" and not _concerns(check, run.findings, systems):
            continue
        rows.append({"run": run.run_id, "as_of": run.meta.get("as_of"), **{k: check.get(k) for k in
                     ("claim", "check", "rule", "status", "reason", "rows_examined", "findings")}})
    return _write_csv(pack.folder / "controles.csv", rows)


def _concerns(check: dict[str, Any], findings: list[dict[str, Any]], systems: list[str]) -> bool:
    """Whether a check speaks of these systems: one of them is its for_each system, or it found something
    there, or it is about no one system and found nothing elsewhere (a breach pack holds the breached system only)."""
    cid = str(check.get("check") or "")
    if any(cid.endswith(f".{s}") for s in systems):
        return True
    where = {f.get("system") for f in findings if f.get("check") == cid}
    if where & set(systems):
        return True
    per_system = cid.count(".") >= 2  # P01.non_employee_account.<system>: another system's check
    return not per_system and not where


def _write_provenance(ws: Workspace, pack: Pack, run: Any) -> Path:
    from datamap.provenance import software

    files = {str(p.relative_to(ws.root)): sha256_file(p) for p in [ws.root / "policy.yml", ws.root / "sources.yml",
                                                              *sorted((ws.root / "manifests").glob("*.y*ml"))]}
    data = {
        "topic": pack.topic,
        "written_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "as_of": ws.policy.reference_date().isoformat(),
        "audit_run": run.run_id if run else None,
        "audit_run_sha256": run.meta.get("sha256") if run else None,
        "audit_run_software": run.meta.get("software") if run else None,  # the software that checked
        "software": software(),  # the software that wrote this pack
        "workspace_sha256": files,
        "files": {p.name: sha256_file(p) for p in pack.files},
    }
    return _write(pack.folder / "herkomst.json", json.dumps(data, indent=2, ensure_ascii=False))


# --- per topic: the facts for the letter and the annexes ---------------------------------------


def _register_topic(ws: Workspace, dm: Any, q: Question, run: Any, pseudo: Any, pack: Pack) -> tuple[list[str], list[str]]:
    from datamap.register.ropa import write_register

    path, reg = write_register(ws, pack.folder, "xlsx", "nl", run.folder if run else None)
    pack.files.append(path)
    facts = [f"Het register telt {len(reg.rows)} verwerkingsactiviteiten van {reg.organization}.",
             f"{len(reg.gaps)} verplichte velden zijn nog niet ingevuld; zij staan op het tabblad met lacunes."]
    return facts, []


def _processors_topic(ws: Workspace, dm: Any, q: Question, run: Any, pseudo: Any, pack: Pack) -> tuple[list[str], list[str]]:
    from datamap.map import external_recipients

    recipients = external_recipients(dm)
    rows = [{"partij": r["party"], "naam": r["name"], "rol": r["role"],
             "verwerkersovereenkomst": {None: "n.v.t.", True: "aanwezig", False: "ONTBREEKT"}[r["processing_agreement"]],
             "vindplaats_overeenkomst": r["dpa_location"] or "", "land": r["country"] or "",
             "buiten_EER": "ja" if r["outside_eea"] else "nee", "doorgiftegrondslag": "; ".join(r["transfer_basis"]),
             "categorieen": "; ".join(r["categories"]), "vanuit": "; ".join(r["from"])} for r in recipients]
    pack.files.append(_write_csv(pack.folder / "bijlage-ontvangers.csv", rows))
    missing = [r["party"] for r in recipients if r["processing_agreement"] is False]
    unbased = [r["party"] for r in recipients if r["outside_eea"] and not r["transfer_basis"]]
    facts = [f"{len(recipients)} partijen buiten de organisatie ontvangen persoonsgegevens, "
             f"waarvan {sum(r['role'] == 'Processor' for r in recipients)} als verwerker."]
    facts.append(f"Zonder verwerkersovereenkomst: {', '.join(missing)}." if missing else "Met iedere verwerker is een verwerkersovereenkomst gesloten.")
    facts.append(f"Doorgifte buiten de EER zonder grondslag: {', '.join(unbased)}." if unbased else "Iedere doorgifte buiten de EER heeft een grondslag.")
    systems = sorted({s for r in recipients for s in r["from"]})
    return facts, systems


def _retention_topic(ws: Workspace, dm: Any, q: Question, run: Any, pseudo: Any, pack: Pack) -> tuple[list[str], list[str]]:
    from datamap.map import where

    assert q.category
    location = where(dm, q.category)
    related = lambda a, b: dm.taxonomy.covers("data_category", a, b) or dm.taxonomy.covers("data_category", b, a)  # noqa: E731
    rules = [r for r in ws.policy.retention if not r.categories or any(related(q.category, c) for c in r.categories)]
    rules = [r for r in rules if r.system in location["systems"]]
    pack.files.append(_write_csv(pack.folder / "bijlage-bewaartermijnen.csv", [
        {"systeem": r.system, "collectie": r.collection, "termijn": r.period, "vanaf": r.date_column,
         "anker": r.anchor, "wettelijke_plicht": r.legal_duty or "", "onderbouwing": r.basis or ""} for r in rules]))
    expired = [f for f in (run.findings if run else []) if f.get("rule") == "retention.expired"
               and f.get("system") in location["systems"]]
    pack.files.append(_write_csv(pack.folder / "bijlage-overschrijdingen.csv", [
        {"systeem": f["system"], "collectie": f.get("collection"), "record": f["record_key"],
         "betrokkene": f.get("subject_ref"), "toelichting": f.get("detail")} for f in expired]))
    unruled = sorted(set(location["systems"]) - {r.system for r in rules})
    facts = [f"De categorie {q.category} staat in {len(location['systems'])} systemen: {', '.join(location['systems'])}.",
             f"Voor {len(rules)} collecties geldt een gedocumenteerde bewaartermijn."]
    if unruled:
        facts.append(f"Voor {', '.join(unruled)} is geen bewaartermijn vastgelegd.")
    if run:
        facts.append(f"De audit van {run.meta.get('as_of')} vond {len(expired)} records voorbij hun bewaartermijn.")
    return facts, sorted(location["systems"])


def _request_topic(ws: Workspace, dm: Any, q: Question, run: Any, pseudo: Any, pack: Pack) -> tuple[list[str], list[str]]:
    from datamap import subject as sr
    from datamap.identity import normalise_email

    con = sr.open_store(ws)
    view = sr.read_map(ws)
    log = sr.request_log(con, ws)
    requests = _requests_of(con, ws, q, log)
    email = q.email or next((r["subject_email"] for r in requests if r.get("subject_email")), None)
    if not email:
        raise BadInput(None, "--request-id", f"request {q.request_id!r} is not in the request log")
    person = sr.Subject.of(email=[email])
    matches = [m for m in sr.find(con, view, person, own_domains=ws.policy.recipients.own_domains) if m.is_subject]
    statuses = {s.request_id: s for s in log}
    pack.files.append(_write_csv(pack.folder / "bijlage-verzoeken.csv", [
        {**{k: r[k] for k in ("request_id", "type", "received", "completed", "extended")},
         "deadline": statuses[r["request_id"]].deadline.isoformat() if r["request_id"] in statuses else "",
         "status": statuses[r["request_id"]].status if r["request_id"] in statuses else ""} for r in requests]))
    pack.files.append(_write_csv(pack.folder / "bijlage-vindplaatsen.csv", sr.match_table(matches)))
    facts = [f"Het verzoek betreft {normalise_email(email)} (de betrokkene over wie de AP vraagt).",
             f"Het verzoekenregister bevat {len(requests)} verzoek(en) van deze betrokkene."]
    for r in requests:
        s = statuses.get(r["request_id"])
        facts.append(f"{r['request_id']} ({r['type']}): ontvangen {r['received']}, afgehandeld {r['completed'] or 'nog niet'}, "
                     f"uiterste datum {s.deadline if s else '?'}: {_status_nl(s.status if s else '')}.")
    if any(r["type"] == "erasure" and r["completed"] for r in requests):
        check = sr.erasure_check(con, ws, view, email)
        pack.files.append(_write_csv(pack.folder / "bijlage-verwijdering.csv",
            [{"uitkomst": "nog aanwezig", "systeem": m.system, "collectie": m.collection, "record": m.record_key, "tot": "", "grond": ""}
             for m in check.leftovers]
            + [{"uitkomst": "bewaard (wettelijke plicht)", "systeem": r.system, "collectie": r.collection,
                "record": r.record_key, "tot": r.until.isoformat(), "grond": r.legal_duty} for r in check.retained]))
        facts.append(f"Na verwijdering nog aanwezig: {len(check.leftovers)} record(s); "
                     f"op grond van een wettelijke bewaarplicht bewaard: {len(check.retained)}.")
        facts.append(f"Ontvangers van systemen die de betrokkene nog bevatten, in te lichten op grond van art. 19 AVG: "
                     f"{', '.join(check.recipients_to_tell) or 'geen'}.")
        if check.recipients_possible:
            facts.append(f"Ontvangers die de gegevens vóór de verwijdering mogelijk hebben ontvangen (na te gaan): "
                         f"{', '.join(check.recipients_possible)}.")
    con.close()
    return facts, sorted({m.system for m in matches})


def _breach_topic(ws: Workspace, dm: Any, q: Question, run: Any, pseudo: Any, pack: Pack) -> tuple[list[str], list[str]]:
    from datamap.map import breach_impact

    assert q.system
    impact = breach_impact(dm, q.system, _record_counts(run))
    pack.files.append(_write_csv(pack.folder / "bijlage-categorieen.csv",
                                 [{"categorie": c} for c in impact["categories"]]))
    pack.files.append(_write_csv(pack.folder / "bijlage-records.csv",
                                 [{"collectie": k, "records": "" if v is None else v} for k, v in impact["records"].items()]))
    pack.files.append(_write_csv(pack.folder / "bijlage-doorstroom.csv", [{"pad": " → ".join(p)} for p in impact["flows_on"]]))
    facts = [f"Systeem {q.system} bevat {len(impact['categories'])} categorieën persoonsgegevens van: {', '.join(impact['subjects']) or '-'}.",
             f"Melding aan de AP (art. 33): {'waarschijnlijk vereist' if impact['notify_authority'] else 'niet vereist; wel documenteren (art. 33 lid 5)'}.",
             f"Mededeling aan betrokkenen (art. 34): {'waarschijnlijk vereist' if impact['notify_subjects'] else 'niet verondersteld'}."]
    if impact["total_records"] is not None:
        facts.append(f"Getroffen records volgens de laatste audit: {impact['total_records']}.")
    facts += [f"Overweging: {r}" for r in impact["reasons"]]
    return facts, [q.system]


_BUILDERS: dict[str, Callable[..., tuple[list[str], list[str]]]] = {
    "register": _register_topic, "processors": _processors_topic, "retention": _retention_topic,
    "request": _request_topic, "breach": _breach_topic,
}


# --- small helpers ------------------------------------------------------------------------------


def _requests_of(con: Any, ws: Workspace, q: Question, log: Iterable[Any]) -> list[dict[str, Any]]:
    from datamap.identity import normalise_email
    from datamap.binding import table_of

    rows = [dict(r) for r in con.execute(f'SELECT * FROM "{table_of(ws, "request_log")}" ORDER BY received, request_id')]
    if q.request_id:
        chosen = [r for r in rows if str(r["request_id"]) == q.request_id]
        if not chosen:
            raise BadInput(None, "--request-id", f"request {q.request_id!r} is not in the request log")
        email = normalise_email(chosen[0].get("subject_email"))
    else:
        email = normalise_email(q.email)
    return [r for r in rows if normalise_email(r.get("subject_email")) == email]


def _record_counts(run: Any) -> dict[str, int] | None:
    if run is None or not run.provenance:
        return None
    return {f"{p['dataset']}.{p['collection']}": int(p.get("rows") or 0) for p in run.provenance}


def _status_nl(status: str) -> str:
    return {"open": "nog open, binnen de termijn", "done_in_time": "tijdig afgehandeld", "overdue": "TE LAAT"}.get(status, status)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        if rows:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(safe_row(row) for row in rows)
    return path
