"""Evidence packs for the questions the Autoriteit Persoonsgegevens asks (Art. 58(1)(a), Art. 31).

Each topic writes one folder: a draft cover letter addressed to the AP, the relevant extract of the
register, the results of the relevant checks with the run's provenance (hashes, reference date, the
software that checked), and CSV annexes. Everything is pseudonymised, except in a ``request`` pack,
which concerns the one named person whose request the AP asks about.

A pack is written in Dutch (``lang="nl"``, the default) or in English (``"en"``): for the board, a
foreign parent, or another EU authority under the one-stop shop. Every sentence, file name, annex
column and value comes from the ``letter.*`` and ``pack.*`` entries of ``datamap/register/terms.yml``
(both languages side by side, so a third language is an edit of that file); taxonomy keys are said
through :func:`datamap.labels.label`, periods through :func:`datamap.labels.period`, systems and
parties by their manifest ``name``. The two languages get different file names
(``brief-aan-de-AP.pdf``, ``letter-to-the-AP.pdf``), so both packs can share one folder. Where the
AP asks how many people are affected, the pack counts persons, not records (:func:`count_persons`).

A ``breach`` pack holds only the breached system. Its letter follows the AP's data-breach
notification form (meldformulier datalekken), with the facts the officer must still supply marked
"[in te vullen]" / "[to be filled in]"; it also appends the breach to the controller's own breach log
(Art. 33(5)), ``breach-log.csv`` in the audit folder, which every breach enters, notified or not. The
log is the controller's one register, so its rows are Dutch whatever the pack's language.

A pack only reads: the archived run, the map, and for a ``request`` the audit store that
:func:`datamap.workbench.inquiry_pack` staged for it; a ``breach`` pack counts people in the audit
store as the audit left it (read-only; without one the count is left to fill in).
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import io
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from datamap.audit.archive import latest_run
from datamap.documents import Letter, Section, Sender, address_lines, counted_from, long_date, place_of, write_letter
from datamap.errors import BadInput
from datamap.labels import label, period
from datamap.outputs import safe_row, write_atomic
from datamap.register.terms import check_language, t
from datamap.store import sha256_file
from datamap.workspace import Workspace, load_workspace

AP_ADDRESS = ("Autoriteit Persoonsgegevens", "Postbus 93374", "2509 AJ  DEN HAAG")
# Which claims' checks bear on each topic (claims.md ids); the topics a question may name.
TOPIC_CLAIMS = {
    "register": None,  # every check
    "processors": ("P03",),
    "retention": ("P05",),
    "request": ("P07", "P08", "P09", "P12"),
    "breach": ("P01", "P11"),
}
TOPICS = tuple(TOPIC_CLAIMS)


@dataclass
class Pack:
    """One evidence pack: its folder, its language and the files in it, in the order a reader opens them."""

    topic: str
    folder: Path
    lang: str = "nl"
    files: list[Path] = field(default_factory=list)
    run_id: str | None = None
    breach_log: Path | None = None  # breach: the controller's breach log the pack added a row to (Art. 33(5))
    breach_facts: dict[str, str] = field(default_factory=dict)  # breach: the form's answers by field, in Dutch, for the log

    def path(self, file: str) -> Path:
        """Where one of the pack's files goes, by its ``pack.file.*`` key, named in the pack's language."""
        return self.folder / t(f"pack.file.{file}", self.lang)

    def say(self, key: str, **values: object) -> str:
        """A ``letter.*`` or ``pack.*`` text of terms.yml in the pack's language."""
        return t(key, self.lang, **values)


@dataclass(frozen=True)
class Question:
    """What the AP asked about: a topic, and the category, system or person it names."""

    topic: str
    category: str | None = None
    system: str | None = None
    email: str | None = None
    request_id: str | None = None
    discovered: str | None = None  # breach: when the breach was discovered (ISO date and time), starts the 72 hours

    def validate(self) -> "Question":
        if self.topic not in TOPICS:
            raise BadInput(None, "--topic", f"unknown topic {self.topic!r}", f"choose one of {', '.join(TOPICS)}")
        needs = {"retention": ("category", "--category"), "breach": ("system", "--system")}
        if self.topic in needs and not getattr(self, needs[self.topic][0]):
            raise BadInput(None, needs[self.topic][1], f"the {self.topic} topic needs {needs[self.topic][1]}")
        if self.topic == "request" and not (self.email or self.request_id):
            raise BadInput(None, "--email", "the request topic needs --email or --request-id")
        if self.discovered:
            discovered_at(self.discovered)
        return self


def discovered_at(text: str) -> dt.datetime:
    """The moment a breach was discovered; a time without a zone is Dutch time (Europe/Amsterdam)."""
    from zoneinfo import ZoneInfo

    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(None, "--discovered", f"not a date and time: {text!r}", "write it like 2026-12-01T09:30") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("Europe/Amsterdam"))


def build_pack(workspace: Workspace | str | os.PathLike[str], question: Question, out_dir: str | os.PathLike[str],
               audit_dir: str | os.PathLike[str] | None = None, store: sqlite3.Connection | None = None,
               lang: str = "nl") -> Pack:
    """Write the evidence pack for one question of the AP into ``out_dir/<topic>[-<subject>]``, in ``lang`` (nl, en).

    ``store``: the staged audit store, read by the ``request`` topic (``datamap.workbench.inquiry_pack`` opens it).
    """
    from datamap.identity import Pseudonymizer
    from datamap.map import load_map

    question.validate()
    check_language(lang)
    if question.topic == "request" and store is None:
        raise BadInput(None, "--topic", "the request topic reads the audit store, and none was given",
                       "write the pack with datamap.workbench.inquiry_pack, which stages it")
    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    dm = load_map(ws)
    run = latest_run(audit_dir, ws.root) if audit_dir else None
    if run is None:  # a pack whose every check reads 'not run' is no evidence: say so instead of writing one
        raise BadInput(None, "--audit", "an evidence pack needs an audit run" + (f": none in {audit_dir}" if audit_dir else ""),
                       "run datamap audit WORKSPACE --out DIR first, then give --audit DIR")
    pseudo = Pseudonymizer.of(ws)
    folder = Path(out_dir) / _folder_name(question, pseudo)
    folder.mkdir(parents=True, exist_ok=True)
    pack = Pack(question.topic, folder, lang, run_id=run.run_id)
    builder: Callable[..., tuple[list[Section], list[str]]] = _BUILDERS[question.topic]
    body, systems = builder(ws, dm, question, run, pseudo, pack, store)
    annexes = list(pack.files)
    extract = _write_register_extract(ws, pack, audit_dir, systems)
    checks = _write_checks(pack, run, question.topic, systems)
    letter = _letter(ws, dm, question, run, pack, body, [extract, checks, *annexes])
    pack.files[:0] = [*write_letter(letter, folder, pack.say("pack.file.letter")), extract, checks]
    pack.files.append(_write_provenance(ws, dm, pack, run, systems))
    if question.topic == "breach" and audit_dir:
        pack.breach_log = _log_breach(Path(audit_dir), pack)
    return pack


def _folder_name(question: Question, pseudo: Any) -> str:
    suffix = question.category or question.system or (pseudo.ref(question.email) if question.email else question.request_id)
    return f"{question.topic}-{suffix}" if suffix else question.topic


# --- the letter ------------------------------------------------------------------------------------

# The pack's files the letter lists, by their pack.file.* key (pack.annex.* says what each holds).
ANNEXES = ("extract", "checks", "recipients", "retention", "expired", "requests", "found", "erasure", "form",
           "categories", "records", "flows", "provenance")


def _letter(ws: Workspace, dm: Any, question: Question, run: Any, pack: Pack, body: list[Section], annexes: list[Path]) -> Letter:
    """The cover letter: letterhead and signature from organization.yml, the topic's body, the evidence, the annexes."""
    from datamap.register.ropa import register_filename

    say, lang = pack.say, pack.lang
    org = next(iter(dm.organizations.values()), None)
    controller = getattr(org, "controller", None)
    dpo = getattr(org, "data_protection_officer", None)
    name = getattr(org, "name", None) or ws.policy.organization
    address = getattr(controller, "address", None) or getattr(dpo, "address", None)
    contact = tuple(x for x in (f"T {controller.phone}" if controller and controller.phone else None,
                                controller.email if controller else None) if x)
    as_of = ws.policy.reference_date()
    system = system_name(dm, question.system)
    topic = say(f"letter.topic.{question.topic}")
    if question.topic == "breach":
        subject = say("letter.subject.breach", system=system)
        opening = say("letter.opening.breach", system=system, to_fill=say("letter.to_fill"))
    else:
        subject, opening = say("letter.subject.question", topic=topic), say("letter.opening.question", topic=topic)
    evidence = say("letter.evidence", date=_day(run.meta.get("as_of"), lang) or long_date(as_of, lang), run=run.run_id,
                   provenance=pack.path("provenance").name)
    people = say("letter.pseudonyms.request" if question.topic == "request" else "letter.pseudonyms")
    described = {pack.path(k).name: say(f"pack.annex.{k}") for k in ANNEXES}
    described[register_filename("xlsx", lang, "ap")] = say("pack.annex.register")
    listed = [f"{p.name}: {described.get(p.name, say('pack.annex.other'))}" for p in [*annexes, pack.path("provenance")]]
    sections = [Section(None, (say("letter.salutation"), opening)),
                *body,
                Section(say("letter.evidence.heading"), (evidence, people)),
                Section(say("letter.annexes"), (), tuple(listed))]
    signature = ((_person(dpo.name), say("letter.dpo"), name, *(x for x in (dpo.email, dpo.phone) if x))
                 if dpo and dpo.name else (name,))
    return Letter(
        sender=Sender(name, address_lines(address), contact), recipient=AP_ADDRESS,
        place_date=f"{place_of(address) + ', ' if place_of(address) else ''}{long_date(dt.date.today(), lang)}",
        subject=subject, sections=sections, signature=signature, lang=lang, closing=say("letter.closing"),
        note=say("letter.draft"),
        reference=((say("letter.our_reference"), f"audit {run.run_id}"), (say("letter.reference_date"), long_date(as_of, lang))),
    )


def system_name(dm: Any, key: str | None) -> str:
    """A system or party as a reader knows it: its manifest ``name``, the fides_key only where it has none."""
    system = dm.systems.get(key) if key else None
    return (system.name if system is not None and system.name else None) or str(key)


def _names(dm: Any, keys: Iterable[str], lang: str) -> str:
    return _joined(sorted(system_name(dm, k) for k in keys), lang)


def _n(count: int, noun: str, lang: str) -> str:
    """``1 systeem``, ``3 systemen``: a ``letter.count.*`` noun ("singular|plural") after its number."""
    one, many = t(f"letter.count.{noun}", lang).split("|")
    return f"{count} {one if count == 1 else many}"


def _header(key: str, lang: str, **values: object) -> tuple[str, ...]:
    """A table's header row from one ``letter.*`` text, its cells separated by ``|``."""
    return tuple(t(key, lang, **values).split("|"))


def _sentences(facts: Iterable[str]) -> tuple[str, ...]:
    """Facts as sentences: a name that ends in a full stop (``Apora B.V.``) ends the sentence too."""
    return tuple(f[:-1] if f.endswith("..") else f for f in facts)


def _joined(words: list[str], lang: str) -> str:
    """``a, b en c`` / ``a, b and c``: an enumeration."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {t('letter.and', lang)} {words[-1]}" if words else ""


def _person(name: str) -> str:
    """A name without the role a manifest adds in brackets (``Marieke Jansen (functionaris ...)``)."""
    return name.split(" (")[0].strip()


def _day(value: Any, lang: str) -> str | None:
    try:
        return long_date(dt.date.fromisoformat(str(value)[:10]), lang)
    except ValueError:
        return None


# --- the pieces every pack has -----------------------------------------------------------------


def _write_register_extract(ws: Workspace, pack: Pack, audit_dir: Any, systems: list[str]) -> Path:
    from datamap.register.html import write_html
    from datamap.register.ropa import register_for_workspace

    reg = register_for_workspace(ws, audit_dir, pack.lang, audience="ap")  # the regulator's copy: no internal notes or marks
    if systems:
        keep = set(systems)
        reg = dataclasses.replace(
            reg, rows=[r for r in reg.rows if r.system in keep],
            processor_rows=[r for r in reg.processor_rows if r.system in keep],
            gaps=[g for g in reg.gaps if g.system in keep])
    return write_html(reg, pack.path("extract"))


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
        status = str(check.get("status"))
        rows[-1]["status"] = pack.say(f"pack.status.{status}") if status in ("passed", "failed", "not_run", "error") else status
    return write_atomic(pack.path("checks"), _csv_text(rows))  # the check's own column names: ids a reader looks up


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


def _write_provenance(ws: Workspace, dm: Any, pack: Pack, run: Any, systems: list[str]) -> Path:
    from datamap.provenance import software

    files = {str(p.relative_to(ws.root)): sha256_file(p) for p in [ws.root / "policy.yml", ws.root / "sources.yml",
                                                              *sorted((ws.root / "manifests").glob("*.y*ml"))]}
    data = {
        "topic": pack.topic,
        "written_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "as_of": ws.policy.reference_date().isoformat(),
        "audit_run": run.run_id if run else None,
        "audit_run_sha256": _run_hashes(dm, run, systems if pack.topic == "breach" else None),
        "audit_run_software": run.meta.get("software") if run else None,  # the software that checked
        "software": software(),  # the software that wrote this pack
        "workspace_sha256": files,
        "files": {p.name: sha256_file(p) for p in pack.files},
    }
    return write_atomic(pack.path("provenance"), json.dumps(data, indent=2, ensure_ascii=False))


def _run_hashes(dm: Any, run: Any, systems: list[str] | None) -> dict[str, Any]:
    """The hashes of what the run judged; for a breach pack, of the breached system's sources only."""
    from datamap.map.graph import system_datasets

    hashes = dict(run.meta.get("sha256") or {})
    if systems is None or not isinstance(hashes.get("sources"), dict):
        return hashes
    datasets = {ds for s in systems for ds in system_datasets(dm, s)}
    mine = {p.get("sha256") for p in run.provenance if p.get("dataset") in datasets}
    hashes["sources"] = {path: sha for path, sha in hashes["sources"].items() if sha in mine}
    return hashes


# --- per topic: the body of the letter and the annexes -----------------------------------------


def _register_topic(ws: Workspace, dm: Any, q: Question, run: Any, pseudo: Any, pack: Pack,
                    con: sqlite3.Connection | None) -> tuple[list[Section], list[str]]:
    from datamap.register.ropa import write_register

    path, reg = write_register(ws, pack.folder, "xlsx", pack.lang, run.folder if run else None, for_ap=True)
    pack.files.append(path)
    facts = (pack.say("letter.register.activities", n=len(reg.rows), organization=reg.organization),
             pack.say("letter.register.gaps", n=len(reg.gaps)))
    return [Section(_state(ws, pack.lang), (), _sentences(facts))], []


def _processors_topic(ws: Workspace, dm: Any, q: Question, run: Any, pseudo: Any, pack: Pack,
                      con: sqlite3.Connection | None) -> tuple[list[Section], list[str]]:
    from datamap.map import external_recipients

    say, lang = pack.say, pack.lang
    recipients = external_recipients(dm)
    agreement = {None: "not_applicable", True: "present", False: "missing"}
    rows = [{"party": r["name"], "key": r["party"], "role": say(f"pack.role.{r['role']}") if r["role"] in ROLES else r["role"],
             "processing_agreement": say(f"pack.agreement.{agreement[r['processing_agreement']]}"),
             "agreement_location": r["dpa_location"] or "", "country": r["country"] or "",
             "outside_eea": say("pack.yes" if r["outside_eea"] else "pack.no"), "transfer_basis": "; ".join(r["transfer_basis"]),
             "categories": "; ".join(label(c, lang) for c in r["categories"]), "from": "; ".join(system_name(dm, s) for s in r["from"])}
            for r in recipients]
    pack.files.append(_write_csv(pack, "recipients", rows))
    missing = [r["party"] for r in recipients if r["processing_agreement"] is False]
    unbased = [r["party"] for r in recipients if r["outside_eea"] and not r["transfer_basis"]]
    processors = sum(r["role"] == "Processor" for r in recipients)
    facts = [say("letter.processors.recipients", n=len(recipients), processors=processors),
             say("letter.processors.no_agreement", names=_names(dm, missing, lang)) if missing else say("letter.processors.all_agreements"),
             say("letter.processors.no_basis", names=_names(dm, unbased, lang)) if unbased else say("letter.processors.all_based")]
    table = (_header("letter.processors.table", lang),
             *((r["party"], r["role"], r["processing_agreement"], r["outside_eea"]) for r in rows))
    systems = sorted({s for r in recipients for s in r["from"]})
    return [Section(_state(ws, lang), (), _sentences(facts), table)], systems


def _retention_topic(ws: Workspace, dm: Any, q: Question, run: Any, pseudo: Any, pack: Pack,
                     con: sqlite3.Connection | None) -> tuple[list[Section], list[str]]:
    from datamap.map import where

    assert q.category
    say, lang = pack.say, pack.lang
    location = where(dm, q.category)
    related = lambda a, b: dm.taxonomy.covers("data_category", a, b) or dm.taxonomy.covers("data_category", b, a)  # noqa: E731
    rules = [r for r in ws.policy.retention if not r.categories or any(related(q.category, c) for c in r.categories)]
    rules = [r for r in rules if r.system in location["systems"]]
    pack.files.append(_write_csv(pack, "retention", [
        {"system": system_name(dm, r.system), "collection": r.collection, "period": _kept(r, lang), "period_iso": r.period,
         "date_field": r.date_column, "legal_duty": r.legal_duty or "", "justification": r.basis or ""} for r in rules]))
    expired = [f for f in (run.findings if run else []) if f.get("rule") == "retention.expired"
               and f.get("system") in location["systems"]]
    pack.files.append(_write_csv(pack, "expired", [
        {"system": system_name(dm, f["system"]), "collection": f.get("collection"), "record": f["record_key"],
         "data_subject": f.get("subject_ref")} for f in expired]))
    unruled = sorted(set(location["systems"]) - {r.system for r in rules})
    what = label(q.category, lang)
    facts = [say("letter.retention.where", category=what, systems=_n(len(location["systems"]), "system", lang),
                 names=_names(dm, location["systems"], lang)),
             say("letter.retention.ruled", tables=_n(len(rules), "table", lang))]
    facts += [say("letter.retention.rule", system=system_name(dm, r.system), collection=r.collection, period=_kept(r, lang))
              for r in rules]
    if unruled:
        facts.append(say("letter.retention.unruled", names=_names(dm, unruled, lang)))
    people = len({f.get("subject_ref") for f in expired if f.get("subject_ref")})
    facts.append(say("letter.retention.expired", date=_day(run.meta.get("as_of"), lang), records=_n(len(expired), "record", lang),
                     people=_n(people, "person", lang)))
    return [Section(f"{_state(ws, lang)}: {what}", (), _sentences(facts))], sorted(location["systems"])


def _request_topic(ws: Workspace, dm: Any, q: Question, run: Any, pseudo: Any, pack: Pack,
                   con: sqlite3.Connection | None) -> tuple[list[Section], list[str]]:
    from datamap import subject as sr
    from datamap.identity import normalise_email

    assert con is not None  # build_pack refuses a request pack without the store
    say, lang = pack.say, pack.lang
    view = sr.read_map(ws)
    log = sr.request_log(con, ws)
    requests = _requests_of(con, ws, q, log)
    email = q.email or next((r["subject_email"] for r in requests if r.get("subject_email")), None)
    if not email:
        raise BadInput(None, "--request-id", f"request {q.request_id!r} is not in the request log")
    person = sr.Subject.of(email=[email])
    matches = [m for m in sr.find(con, view, person, own_domains=ws.policy.recipients.own_domains) if m.is_subject]
    statuses = {s.request_id: s for s in log}
    kind = lambda r: say(f"pack.request.{r['type']}") if r["type"] in REQUEST_TYPES else r["type"]  # noqa: E731
    state = lambda s: say(f"pack.request_state.{s.status}") if s and s.status in REQUEST_STATES else (s.status if s else "")  # noqa: E731
    pack.files.append(_write_csv(pack, "requests", [
        {"request": r["request_id"], "type": kind(r), "received": r["received"], "completed": r["completed"],
         "extended": r["extended"], "deadline": statuses[r["request_id"]].deadline.isoformat() if r["request_id"] in statuses else "",
         "state": state(statuses.get(r["request_id"])) if r["request_id"] in statuses else ""} for r in requests]))
    pack.files.append(_write_csv(pack, "found", [
        {"system": system_name(dm, m["system"]), "table": m["collection"], "record": m["record_key"],
         "confidence": m["confidence"], "reported": say("pack.yes" if m["reported"] else "pack.no"), "matched_on": m["matched_on"]}
        for m in sr.match_table(matches)]))
    facts = [say("letter.request.person", email=normalise_email(email)),
             say("letter.request.count", requests=_n(len(requests), "request", lang))]
    for r in requests:
        s = statuses.get(r["request_id"])
        facts.append(say("letter.request.one", id=r["request_id"], type=kind(r), received=_day(r["received"], lang) or r["received"],
                         completed=_day(r["completed"], lang) or say("letter.request.not_yet"),
                         deadline=long_date(s.deadline, lang) if s else "?", state=state(s)))
    if any(r["type"] == "erasure" and r["completed"] for r in requests):
        check = sr.erasure_check(con, ws, view, email)
        pack.files.append(_write_csv(pack, "erasure",
            [{"outcome": say("pack.erasure.left"), "system": system_name(dm, m.system), "collection": m.collection,
              "record": m.record_key, "until": "", "ground": ""} for m in check.leftovers]
            + [{"outcome": say("pack.erasure.kept"), "system": system_name(dm, r.system), "collection": r.collection,
                "record": r.record_key, "until": r.until.isoformat(), "ground": r.legal_duty} for r in check.retained]))
        facts.append(say("letter.request.leftovers", records=_n(len(check.leftovers), "record", lang), kept=len(check.retained)))
        facts.append(say("letter.request.to_tell", names=_names(dm, check.recipients_to_tell, lang) or say("pack.none")))
        if check.recipients_possible:
            facts.append(say("letter.request.possible", names=_names(dm, check.recipients_possible, lang)))
    return [Section(_state(ws, lang), (), _sentences(facts))], sorted({m.system for m in matches})


# The AP's meldformulier datalekken: its parts and their fields, in its order (worded in pack.form.*).
FORM = (
    ("contact", ("organisation", "address", "contact_person", "email", "phone")),
    ("kind", ("new_or_follow_up",)),
    ("breach", ("system", "summary", "nature", "cause", "began", "discovered", "deadline", "delay")),
    ("data", ("categories", "sensitive")),
    ("numbers", ("persons", "records")),
    ("subjects", ("subjects",)),
    ("consequences", ("consequences", "further_consequences")),
    ("measures", ("measures_taken", "measures_planned", "protection")),
    ("informing", ("communication", "informed_when", "informed_how")),
    ("international", ("flows_to", "other_states")),
    ("assessment", ("notify_ap", "notify_subjects")),
)


def _breach_topic(ws: Workspace, dm: Any, q: Question, run: Any, pseudo: Any, pack: Pack,
                  con: sqlite3.Connection | None) -> tuple[list[Section], list[str]]:
    """The fields of the AP's meldformulier datalekken, for one system; the officer fills in what only she knows."""
    from datamap.map import breach_impact

    assert q.system
    say, lang = pack.say, pack.lang
    impact = breach_impact(dm, q.system, _record_counts(run))
    name = system_name(dm, q.system)
    with _audit_store(ws, con) as staged:
        tables = {f"{ds}.{c}": table for ds, c, table in _tables_of(staged, impact["records"])}
        persons, per_table = count_persons(staged, list(tables.values())) if staged is not None else (None, {})
    records = impact["total_records"]
    discovered = discovered_at(q.discovered) if q.discovered else None
    form = _breach_form(ws, dm, impact, name, persons, discovered, lang)
    pack.breach_facts = _breach_form(ws, dm, impact, name, persons, discovered, "nl") if lang != "nl" else form
    fields = [(f"{i}. {say(f'pack.form.part.{part}')}", [(say(f"pack.form.{f}"), form[f]) for f in keys])
              for i, (part, keys) in enumerate(FORM, 1)]
    pack.files.append(_write_csv(pack, "form", [{"part": part, "field": f, "value": v} for part, answers in fields for f, v in answers]))
    pack.files.append(_write_csv(pack, "categories", [{"category": label(c, lang), "taxonomy_key": c} for c in impact["categories"]]))
    pack.files.append(_write_csv(pack, "records", [
        {"system": name, "table": k.split(".", 1)[1], "records": "" if v is None else v,
         "persons": per_table.get(tables.get(k, ""), "")} for k, v in impact["records"].items()]))
    pack.files.append(_write_csv(pack, "flows", [{"path": " → ".join(system_name(dm, s) for s in p)} for p in impact["flows_on"]]))
    sections = [Section(part, (), (), (_header("letter.form.table", lang), *answers)) for part, answers in fields]
    counting = say("letter.breach.counting", records=records if records is not None else say("letter.breach.unknown_number"),
                   system=name, people=form["persons"])
    sections.insert(5, Section(None, (counting,), (), (
        _header("letter.breach.table", lang, system=name),
        *((k.split(".", 1)[1], "" if v is None else str(v), str(per_table.get(tables.get(k, ""), ""))) for k, v in impact["records"].items()))))
    return sections, [q.system]


def _breach_form(ws: Workspace, dm: Any, impact: dict[str, Any], name: str, persons: int | None,
                 discovered: dt.datetime | None, lang: str) -> dict[str, str]:
    """The answers of the notification form by field (FORM), in ``lang``; what only the officer knows is to fill in."""
    say = lambda key, **values: t(key, lang, **values)  # noqa: E731
    risks = {c: _risk(dm, c) for c in impact["high_risk_categories"]}
    consequences = sorted({say(f"pack.harm.{HARM[k]}") for k in risks.values()})
    if any(c.startswith("user.contact") for c in impact["categories"]):
        consequences.append(say("pack.harm.contact"))
    recipients = sorted({n for p in impact["flows_on"] for n in p[1:]})
    records = impact["total_records"]
    art34 = say("pack.breach.likely_required" if impact["notify_subjects"] else "pack.breach.subjects_not_presumed")
    reasons = _joined(sorted({say(f"pack.risk.{k}") for k in risks.values()}), lang)
    answers = {
        **_contact_fields(dm, ws),
        "system": name,
        "discovered": _moment(discovered, lang) if discovered else None,
        "deadline": _moment(discovered + dt.timedelta(hours=72), lang) if discovered else None,
        "categories": "; ".join(label(c, lang) for c in impact["categories"]),
        "sensitive": "; ".join(f"{label(c, lang)} ({say(f'pack.risk.{k}')})" for c, k in sorted(risks.items())) or say("pack.none"),
        "persons": say("pack.breach.about", n=persons) if persons is not None else None,
        "records": str(records) if records is not None else None,
        "subjects": "; ".join(label(s, lang, "data_subject") for s in impact["subjects"]) or None,
        "consequences": "; ".join(consequences) or None,
        "communication": say("pack.breach.because", answer=art34, reasons=reasons) if risks else art34,
        "flows_to": _names(dm, recipients, lang) or say("pack.none"),
        "notify_ap": say("pack.breach.likely_required" if impact["notify_authority"] else "pack.breach.ap_not_required"),
        "notify_subjects": art34,
    }
    fill = say("letter.to_fill")
    return {f: answers.get(f) or fill for _, keys in FORM for f in keys}


_BUILDERS: dict[str, Callable[..., tuple[list[Section], list[str]]]] = {
    "register": _register_topic, "processors": _processors_topic, "retention": _retention_topic,
    "request": _request_topic, "breach": _breach_topic,
}


# --- counting people ---------------------------------------------------------------------------

LINKING_KINDS = ("email", "customer_number", "iban", "invoice_number")  # one person's, unlike a name or a phone


def count_persons(con: sqlite3.Connection, tables: list[str]) -> tuple[int, dict[str, int]]:
    """Count the distinct people in these audit-store tables: (all of them, per table).

    The store's ``identifiers`` index holds every normalised identifier of every record. Records
    that share an e-mail address, customer number, IBAN or invoice number are one person (an
    invoice and its payment are the same customer's); names and phone numbers link nothing, since
    namesakes and shared lines are common. A record with only those counts as a person of its own,
    so the count errs high, as the AP's "bij benadering" allows. A record without any identifier is
    no one we can count.
    """
    if not tables:
        return 0, {}
    marks = ",".join("?" * len(tables))
    rows = con.execute(f"SELECT tbl, record_key, kind, value FROM identifiers WHERE tbl IN ({marks})", tables).fetchall()
    parent: dict[Any, Any] = {}

    def root(node: Any) -> Any:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for tbl, key, kind, value in rows:
        record = root((tbl, key))
        if kind in LINKING_KINDS and value:
            parent[record] = root((kind, value))
    people: dict[str, set[Any]] = {}
    for tbl, key, _, _ in rows:
        people.setdefault(tbl, set()).add(root((tbl, key)))
    return len(set().union(*people.values())), {t: len(p) for t, p in people.items()}


@contextlib.contextmanager
def _audit_store(ws: Workspace, con: sqlite3.Connection | None) -> Iterator[sqlite3.Connection | None]:
    """The store given, else the workspace's audit store as the audit left it (read-only), else None."""
    from datamap.store import DEFAULT_PATH, open_read_only

    path = ws.store_folder / Path(DEFAULT_PATH).name
    if con is not None or not path.is_file():
        yield con
        return
    own = open_read_only(path)
    try:
        yield own
    finally:
        own.close()


def _tables_of(con: sqlite3.Connection | None, collections: Iterable[str]) -> list[tuple[str, str, str]]:
    """(dataset, collection, store table) of the system's collections that the store holds."""
    if con is None:
        return []
    staged = {(r[1], r[2]): r[0] for r in con.execute("SELECT tbl, dataset, collection FROM _provenance")}
    pairs = [tuple(c.split(".", 1)) for c in collections]
    return [(ds, c, staged[(ds, c)]) for ds, c in pairs if (ds, c) in staged]


# --- the breach log (Art. 33(5)) ---------------------------------------------------------------

BREACH_LOG = "breach-log.csv"
# The log's columns (its header, kept stable across rows) and the form's field each is taken from.
LOG_COLUMNS = {"systeem": "system", "ontstaan": "began", "ontdekt": "discovered", "uiterste_melding_AP": "deadline",
               "aard": "nature", "soorten_gegevens": "categories", "betrokkenen": "subjects", "personen": "persons",
               "records": "records", "gevolgen": "consequences", "maatregelen": "measures_taken",
               "melding_AP": "notify_ap", "mededeling_betrokkenen": "notify_subjects"}


def _log_breach(audit_dir: Path, pack: Pack) -> Path:
    """Append this breach to the controller's breach log in the audit folder: every breach, notified or not (Art. 33(5))."""
    row = {"vastgelegd_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           **{column: pack.breach_facts[f] for column, f in LOG_COLUMNS.items()},
           "auditrun": pack.run_id, "pakket": str(pack.folder)}
    path = audit_dir / BREACH_LOG
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    same = ("systeem", "ontdekt", "auditrun")  # one breach: its system, when it was discovered, the evidence run
    if any(all(str(entry.get(k)) == str(row[k]) for k in same) for entry in csv.DictReader(io.StringIO(old))):
        return path  # already entered (the same pack in another language, or written again): logged once
    line = _csv_text([row], header=not old)
    return write_atomic(path, old + line)


# --- small helpers ------------------------------------------------------------------------------

ROLES = ("Processor", "Third Party", "Public Authority", "Joint Controller")  # said by pack.role.*
REQUEST_TYPES = ("access", "erasure", "rectification", "restriction", "objection", "portability", "complaint")  # pack.request.*
REQUEST_STATES = ("open", "done_in_time", "overdue")  # pack.request_state.*
# The harm losing a HIGH_RISK_CATEGORIES category may lead to (pack.risk.* says the category, pack.harm.* the harm).
HARM = {
    **{k: "special" for k in ("user.health_and_medical", "user.biometric", "user.authorization.biometric",
                              "user.demographic.political_opinion", "user.demographic.race_ethnicity",
                              "user.demographic.religious_belief", "user.demographic.sexual_orientation")},
    "user.criminal_history": "criminal", "user.financial": "financial", "user.authorization": "account",
    "user.government_id": "identity",
}


def _risk(dm: Any, category: str) -> str:
    """The HIGH_RISK_CATEGORIES key a category falls under (``user.financial.bank_account`` -> ``user.financial``)."""
    return next(k for k in dm.taxonomy.lineage("data_category", category) if k in HARM)


def _contact_fields(dm: Any, ws: Workspace) -> dict[str, str | None]:
    org = next(iter(dm.organizations.values()), None)
    dpo = getattr(org, "data_protection_officer", None)
    controller = getattr(org, "controller", None)
    return {"organisation": getattr(org, "name", None) or ws.policy.organization,
            "address": getattr(controller, "address", None),
            "contact_person": _person(dpo.name) if dpo and dpo.name else None,
            "email": dpo.email if dpo else None,
            "phone": dpo.phone if dpo else None}


def _moment(moment: dt.datetime, lang: str) -> str:
    return t("pack.breach.moment", lang, date=long_date(moment.date(), lang), time=f"{moment:%H:%M}", zone=moment.tzname() or "UTC")


def _kept(rule: Any, lang: str) -> str:
    """A retention rule in words: ``zeven jaar na het einde van het boekjaar van de factuurdatum``."""
    start = counted_from(rule.date_column, lang)
    if rule.anchor == "fiscal_year_end":
        start = t("letter.retention.fiscal_year", lang, start=start)
    return period(rule.period, lang, start)


def _state(ws: Workspace, lang: str) -> str:
    return t("letter.state", lang, date=long_date(ws.policy.reference_date(), lang))


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


def _write_csv(pack: Pack, file: str, rows: list[dict[str, Any]]) -> Path:
    """Write an annex (a ``pack.file.*`` key), its header the ``pack.col.*`` names of the rows' keys in the pack's language."""
    said = [{pack.say(f"pack.col.{k}"): v for k, v in row.items()} for row in rows]
    return write_atomic(pack.path(file), _csv_text(said))


def _csv_text(rows: list[dict[str, Any]], header: bool = True) -> str:
    buf = io.StringIO(newline="")
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        if header:
            writer.writeheader()
        writer.writerows(safe_row(row) for row in rows)
    return buf.getvalue()
