"""Evidence packs for the questions the Autoriteit Persoonsgegevens asks (Art. 58(1)(a), Art. 31).

Each topic writes one folder: a draft cover letter in Dutch addressed to the AP, the relevant
extract of the register, the results of the relevant checks with the run's provenance (hashes,
reference date, the software that checked), and CSV annexes. Everything is pseudonymised, except
in a ``request`` pack, which concerns the one named person whose request the AP asks about.

The cover letter is a :class:`datamap.documents.Letter` (HTML, PDF, DOCX) in Dutch that reads as
Dutch: taxonomy keys said through :func:`datamap.labels.label`, periods through
:func:`datamap.labels.period`, systems and parties by their manifest ``name``. Where the AP asks how
many people are affected, the pack counts persons, not records (:func:`count_persons`).

A ``breach`` pack holds only the breached system. Its letter follows the AP's data-breach
notification form (meldformulier datalekken), with the facts the officer must still supply marked
"[in te vullen]"; it also appends the breach to the controller's own breach log (Art. 33(5)),
``breach-log.csv`` in the audit folder, which every breach enters, notified or not.

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
from datamap.store import sha256_file
from datamap.workspace import Workspace, load_workspace

TOPICS = {
    "register": "het register van verwerkingsactiviteiten (art. 30 lid 4 AVG)",
    "processors": "verwerkers, verwerkersovereenkomsten en doorgiften (art. 28 en hoofdstuk V AVG)",
    "retention": "de bewaartermijn van een categorie persoonsgegevens (art. 5 lid 1 sub e AVG)",
    "request": "de afhandeling van het verzoek of de klacht van een betrokkene (art. 12 t/m 22 AVG)",
    "breach": "een inbreuk in een systeem (art. 33 en 34 AVG)",
}
LETTER = "brief-aan-de-AP"
AP_ADDRESS = ("Autoriteit Persoonsgegevens", "Postbus 93374", "2509 AJ  DEN HAAG")
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
    breach_log: Path | None = None  # breach: the controller's breach log the pack added a row to (Art. 33(5))
    breach_facts: dict[str, str] = field(default_factory=dict)  # breach: the form's fields and their answers


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
               audit_dir: str | os.PathLike[str] | None = None, store: sqlite3.Connection | None = None) -> Pack:
    """Write the evidence pack for one question of the AP into ``out_dir/<topic>[-<subject>]``.

    ``store``: the staged audit store, read by the ``request`` topic (``datamap.workbench.inquiry_pack`` opens it).
    """
    from datamap.identity import Pseudonymizer
    from datamap.map import load_map

    question.validate()
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
    pack = Pack(question.topic, folder, run_id=run.run_id if run else None)
    builder: Callable[..., tuple[list[Section], list[str]]] = _BUILDERS[question.topic]
    body, systems = builder(ws, dm, question, run, pseudo, pack, store)
    annexes = list(pack.files)
    extract = _write_register_extract(ws, pack, audit_dir, systems)
    checks = _write_checks(pack, run, question.topic, systems)
    letter = _letter(ws, dm, question, run, body, [extract, checks, *annexes])
    pack.files[:0] = [*write_letter(letter, folder, LETTER), extract, checks]
    pack.files.append(_write_provenance(ws, dm, pack, run, systems))
    if question.topic == "breach" and audit_dir:
        pack.breach_log = _log_breach(Path(audit_dir), pack)
    return pack


def _folder_name(question: Question, pseudo: Any) -> str:
    suffix = question.category or question.system or (pseudo.ref(question.email) if question.email else question.request_id)
    return f"{question.topic}-{suffix}" if suffix else question.topic


# --- the letter ------------------------------------------------------------------------------------

ANNEXES = {
    "register-uittreksel.html": "het relevante deel van ons register van verwerkingsactiviteiten",
    "controles.csv": "de uitkomsten van de relevante controles (geslaagd, niet geslaagd, niet uitgevoerd)",
    "ropa-nl-ap.xlsx": "ons volledige register van verwerkingsactiviteiten (Excel)",
    "bijlage-ontvangers.csv": "de ontvangers van persoonsgegevens buiten de organisatie, met verwerkersovereenkomst en doorgiftegrondslag",
    "bijlage-bewaartermijnen.csv": "de bewaartermijnen die voor deze categorie gelden",
    "bijlage-overschrijdingen.csv": "de records die hun bewaartermijn voorbij zijn (betrokkenen gepseudonimiseerd)",
    "bijlage-verzoeken.csv": "de verzoeken van de betrokkene met hun termijnen",
    "bijlage-vindplaatsen.csv": "waar de gegevens van de betrokkene zijn gevonden",
    "bijlage-verwijdering.csv": "wat na de verwijdering nog aanwezig is, en wat een wettelijke bewaarplicht bewaart",
    "meldformulier-datalek.csv": "de antwoorden van deze melding per veld van het meldformulier datalekken",
    "bijlage-categorieen.csv": "de soorten persoonsgegevens in het getroffen systeem",
    "bijlage-records.csv": "het aantal records en personen per tabel van het getroffen systeem",
    "bijlage-doorstroom.csv": "de ontvangers naar wie de gegevens uit het getroffen systeem doorstromen",
}


def _letter(ws: Workspace, dm: Any, question: Question, run: Any, body: list[Section], annexes: list[Path]) -> Letter:
    """The cover letter: letterhead and signature from organization.yml, the topic's body, the evidence, the annexes."""
    org = next(iter(dm.organizations.values()), None)
    controller = getattr(org, "controller", None)
    dpo = getattr(org, "data_protection_officer", None)
    name = getattr(org, "name", None) or ws.policy.organization
    address = getattr(controller, "address", None) or getattr(dpo, "address", None)
    contact = tuple(x for x in (f"T {controller.phone}" if controller and controller.phone else None,
                                controller.email if controller else None) if x)
    today = dt.date.today()
    as_of = ws.policy.reference_date()
    breach = question.topic == "breach"
    subject = (f"melding van een datalek in {system_name(dm, question.system)} (artikel 33 AVG)" if breach
               else f"uw verzoek om informatie over {TOPICS[question.topic]}")
    opening = (f"Hierbij melden wij u een inbreuk in verband met persoonsgegevens (datalek) in ons systeem "
               f"{system_name(dm, question.system)}, op grond van artikel 33 van de Algemene verordening "
               "gegevensbescherming (AVG). De gegevens volgen de indeling van het meldformulier datalekken van de "
               "Autoriteit Persoonsgegevens. Wat wij bij het opstellen nog niet wisten, is gemarkeerd als "
               "[in te vullen]; de functionaris gegevensbescherming vult het in voordat de melding wordt gedaan." if breach
               else "Naar aanleiding van uw verzoek op grond van artikel 58, eerste lid, onder a, van de Algemene "
               f"verordening gegevensbescherming (AVG) sturen wij u hierbij de gevraagde informatie over {TOPICS[question.topic]}.")
    evidence = (f"De bevindingen berusten op onze audit van {_day(run.meta.get('as_of')) or long_date(as_of, 'nl')} "
                f"(kenmerk {run.run_id}). De hashes van de gecontroleerde bestanden staan in herkomst.json, zodat u kunt "
                "nagaan wat precies is gecontroleerd.")
    people = ("Personen worden in de bijlagen met een pseudoniem aangeduid"
              + (", behalve de betrokkene op wie uw vraag betrekking heeft" if question.topic == "request" else "")
              + ". Op verzoek lichten wij iedere bevinding toe tot op de bronregel.")
    listed = [f"{p.name}: {ANNEXES.get(p.name, 'bijlage')}" for p in annexes]
    listed.append("herkomst.json: de herkomst en hashes van dit pakket")
    sections = [Section(None, ("Geachte heer, mevrouw,", opening)),
                *body,
                Section("Verantwoording", (evidence, people)),
                Section("Bijlagen", (), tuple(listed))]
    signature = ((_person(dpo.name), "Functionaris gegevensbescherming", name,
                  *(x for x in (dpo.email, dpo.phone) if x)) if dpo and dpo.name else (name,))
    return Letter(
        sender=Sender(name, address_lines(address), contact), recipient=AP_ADDRESS,
        place_date=f"{place_of(address) + ', ' if place_of(address) else ''}{long_date(today, 'nl')}",
        subject=subject[0].upper() + subject[1:], sections=sections, signature=signature, lang="nl",
        note="CONCEPT: door de functionaris gegevensbescherming te controleren en te ondertekenen",
        reference=(("Ons kenmerk", f"audit {run.run_id}"), ("Peildatum", long_date(as_of, "nl"))),
    )


def system_name(dm: Any, key: str | None) -> str:
    """A system or party as a reader knows it: its manifest ``name``, the fides_key only where it has none."""
    system = dm.systems.get(key) if key else None
    return (system.name if system is not None and system.name else None) or str(key)


def _names(dm: Any, keys: Iterable[str]) -> str:
    return _joined(sorted(system_name(dm, k) for k in keys))


def _n(count: int, one: str, many: str) -> str:
    """``1 systeem``, ``3 systemen``."""
    return f"{count} {one if count == 1 else many}"


def _sentences(facts: Iterable[str]) -> tuple[str, ...]:
    """Facts as sentences: a name that ends in a full stop (``Apora B.V.``) ends the sentence too."""
    return tuple(f[:-1] if f.endswith("..") else f for f in facts)


def _joined(words: list[str]) -> str:
    """``a, b en c``: a Dutch enumeration."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} en {words[-1]}" if words else ""


def _person(name: str) -> str:
    """A name without the role a manifest adds in brackets (``Marieke Jansen (functionaris ...)``)."""
    return name.split(" (")[0].strip()


def _day(value: Any) -> str | None:
    try:
        return long_date(dt.date.fromisoformat(str(value)[:10]), "nl")
    except ValueError:
        return None


# --- the pieces every pack has -----------------------------------------------------------------


def _write_register_extract(ws: Workspace, pack: Pack, audit_dir: Any, systems: list[str]) -> Path:
    from datamap.register.html import write_html
    from datamap.register.ropa import register_for_workspace

    reg = register_for_workspace(ws, audit_dir, "nl", audience="ap")  # the regulator's copy: no internal notes or marks
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
        rows[-1]["status"] = STATUS_NL.get(str(check.get("status")), check.get("status"))
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
    return write_atomic(pack.folder / "herkomst.json", json.dumps(data, indent=2, ensure_ascii=False))


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

    path, reg = write_register(ws, pack.folder, "xlsx", "nl", run.folder if run else None, for_ap=True)
    pack.files.append(path)
    facts = (f"Het register telt {len(reg.rows)} verwerkingsactiviteiten van {reg.organization}.",
             f"{len(reg.gaps)} verplichte velden zijn nog niet ingevuld; zij staan op het tabblad met lacunes.")
    return [Section(_state(ws), (), _sentences(facts))], []


def _processors_topic(ws: Workspace, dm: Any, q: Question, run: Any, pseudo: Any, pack: Pack,
                      con: sqlite3.Connection | None) -> tuple[list[Section], list[str]]:
    from datamap.map import external_recipients

    recipients = external_recipients(dm)
    rows = [{"partij": r["name"], "sleutel": r["party"], "rol": ROLE_NL.get(r["role"], r["role"]),
             "verwerkersovereenkomst": {None: "n.v.t.", True: "aanwezig", False: "ONTBREEKT"}[r["processing_agreement"]],
             "vindplaats_overeenkomst": r["dpa_location"] or "", "land": r["country"] or "",
             "buiten_EER": "ja" if r["outside_eea"] else "nee", "doorgiftegrondslag": "; ".join(r["transfer_basis"]),
             "categorieen": "; ".join(label(c, "nl") for c in r["categories"]), "vanuit": "; ".join(system_name(dm, s) for s in r["from"])}
            for r in recipients]
    pack.files.append(_write_csv(pack.folder / "bijlage-ontvangers.csv", rows))
    missing = [r["party"] for r in recipients if r["processing_agreement"] is False]
    unbased = [r["party"] for r in recipients if r["outside_eea"] and not r["transfer_basis"]]
    processors = sum(r["role"] == "Processor" for r in recipients)
    facts = [f"{len(recipients)} partijen buiten de organisatie ontvangen persoonsgegevens, waarvan {processors} als verwerker.",
             f"Zonder verwerkersovereenkomst: {_names(dm, missing)}." if missing else "Met iedere verwerker is een verwerkersovereenkomst gesloten.",
             f"Doorgifte buiten de EER zonder grondslag: {_names(dm, unbased)}." if unbased else "Iedere doorgifte buiten de EER heeft een grondslag."]
    table = (("Ontvanger", "Rol", "Verwerkersovereenkomst", "Buiten de EER"),
             *((r["partij"], r["rol"], r["verwerkersovereenkomst"], r["buiten_EER"]) for r in rows))
    systems = sorted({s for r in recipients for s in r["from"]})
    return [Section(_state(ws), (), _sentences(facts), table)], systems


def _retention_topic(ws: Workspace, dm: Any, q: Question, run: Any, pseudo: Any, pack: Pack,
                     con: sqlite3.Connection | None) -> tuple[list[Section], list[str]]:
    from datamap.map import where

    assert q.category
    location = where(dm, q.category)
    related = lambda a, b: dm.taxonomy.covers("data_category", a, b) or dm.taxonomy.covers("data_category", b, a)  # noqa: E731
    rules = [r for r in ws.policy.retention if not r.categories or any(related(q.category, c) for c in r.categories)]
    rules = [r for r in rules if r.system in location["systems"]]
    pack.files.append(_write_csv(pack.folder / "bijlage-bewaartermijnen.csv", [
        {"systeem": system_name(dm, r.system), "collectie": r.collection, "termijn": _kept(r), "termijn_iso": r.period,
         "vanaf_veld": r.date_column, "wettelijke_plicht": r.legal_duty or "", "onderbouwing": r.basis or ""} for r in rules]))
    expired = [f for f in (run.findings if run else []) if f.get("rule") == "retention.expired"
               and f.get("system") in location["systems"]]
    pack.files.append(_write_csv(pack.folder / "bijlage-overschrijdingen.csv", [
        {"systeem": system_name(dm, f["system"]), "collectie": f.get("collection"), "record": f["record_key"],
         "betrokkene": f.get("subject_ref")} for f in expired]))
    unruled = sorted(set(location["systems"]) - {r.system for r in rules})
    what = label(q.category, "nl")
    facts = [f"De categorie {what} staat in {_n(len(location['systems']), 'systeem', 'systemen')}: {_names(dm, location['systems'])}.",
             f"Voor {_n(len(rules), 'tabel', 'tabellen')} is een bewaartermijn vastgelegd."]
    facts += [f"{system_name(dm, r.system)}, tabel {r.collection}: {_kept(r)}." for r in rules]
    if unruled:
        facts.append(f"Voor {_names(dm, unruled)} is geen bewaartermijn vastgelegd.")
    people = len({f.get("subject_ref") for f in expired if f.get("subject_ref")})
    facts.append(f"De audit van {_day(run.meta.get('as_of'))} vond {_n(len(expired), 'record', 'records')} van "
                 f"{_n(people, 'persoon', 'personen')} voorbij de bewaartermijn.")
    return [Section(f"{_state(ws)}: {what}", (), _sentences(facts))], sorted(location["systems"])


def _request_topic(ws: Workspace, dm: Any, q: Question, run: Any, pseudo: Any, pack: Pack,
                   con: sqlite3.Connection | None) -> tuple[list[Section], list[str]]:
    from datamap import subject as sr
    from datamap.identity import normalise_email

    assert con is not None  # build_pack refuses a request pack without the store
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
        {"verzoek": r["request_id"], "soort": REQUEST_NL.get(r["type"], r["type"]), "ontvangen": r["received"],
         "afgehandeld": r["completed"], "verlengd": r["extended"],
         "uiterste_datum": statuses[r["request_id"]].deadline.isoformat() if r["request_id"] in statuses else "",
         "stand": _status_nl(statuses[r["request_id"]].status) if r["request_id"] in statuses else ""} for r in requests]))
    pack.files.append(_write_csv(pack.folder / "bijlage-vindplaatsen.csv", [
        {"systeem": system_name(dm, m["system"]), "tabel": m["collection"], "record": m["record_key"],
         "zekerheid": m["confidence"], "gerapporteerd": "ja" if m["reported"] else "nee", "gevonden_op": m["matched_on"]}
        for m in sr.match_table(matches)]))
    facts = [f"Het verzoek betreft {normalise_email(email)} (de betrokkene over wie de AP vraagt).",
             f"Het verzoekenregister bevat {_n(len(requests), 'verzoek', 'verzoeken')} van deze betrokkene."]
    for r in requests:
        s = statuses.get(r["request_id"])
        facts.append(f"Verzoek {r['request_id']} ({REQUEST_NL.get(r['type'], r['type'])}): ontvangen {_day(r['received']) or r['received']}, "
                     f"afgehandeld {_day(r['completed']) or 'nog niet'}, uiterste datum {long_date(s.deadline, 'nl') if s else '?'}: "
                     f"{_status_nl(s.status if s else '')}.")
    if any(r["type"] == "erasure" and r["completed"] for r in requests):
        check = sr.erasure_check(con, ws, view, email)
        pack.files.append(_write_csv(pack.folder / "bijlage-verwijdering.csv",
            [{"uitkomst": "nog aanwezig", "systeem": system_name(dm, m.system), "collectie": m.collection, "record": m.record_key,
              "tot": "", "grond": ""} for m in check.leftovers]
            + [{"uitkomst": "bewaard (wettelijke plicht)", "systeem": system_name(dm, r.system), "collectie": r.collection,
                "record": r.record_key, "tot": r.until.isoformat(), "grond": r.legal_duty} for r in check.retained]))
        facts.append(f"Na verwijdering nog aanwezig: {_n(len(check.leftovers), 'record', 'records')}; "
                     f"op grond van een wettelijke bewaarplicht bewaard: {len(check.retained)}.")
        facts.append(f"Ontvangers van systemen die de betrokkene nog bevatten, in te lichten op grond van art. 19 AVG: "
                     f"{_names(dm, check.recipients_to_tell) or 'geen'}.")
        if check.recipients_possible:
            facts.append(f"Ontvangers die de gegevens vóór de verwijdering mogelijk hebben ontvangen (na te gaan): "
                         f"{_names(dm, check.recipients_possible)}.")
    return [Section(_state(ws), (), _sentences(facts))], sorted({m.system for m in matches})


def _breach_topic(ws: Workspace, dm: Any, q: Question, run: Any, pseudo: Any, pack: Pack,
                  con: sqlite3.Connection | None) -> tuple[list[Section], list[str]]:
    """The fields of the AP's meldformulier datalekken, for one system; the officer fills in what only she knows."""
    from datamap.map import breach_impact

    assert q.system
    impact = breach_impact(dm, q.system, _record_counts(run))
    name = system_name(dm, q.system)
    with _audit_store(ws, con) as staged:
        tables = {f"{ds}.{c}": table for ds, c, table in _tables_of(staged, impact["records"])}
        persons, per_table = count_persons(staged, list(tables.values())) if staged is not None else (None, {})
    records = impact["total_records"]
    fill = "[in te vullen]"
    discovered = discovered_at(q.discovered) if q.discovered else None
    deadline = discovered + dt.timedelta(hours=72) if discovered else None
    categories = [label(c, "nl") for c in impact["categories"]]
    subjects = [label(s, "nl", "data_subject") for s in impact["subjects"]]
    risks = {c: _risk(dm, c) for c in impact["high_risk_categories"]}
    consequences = sorted({CONSEQUENCES[k] for k in risks.values()})
    if any(c.startswith("user.contact") for c in impact["categories"]):
        consequences.append("phishing en ongewenste benadering via de uitgelekte contactgegevens")
    recipients = sorted({n for p in impact["flows_on"] for n in p[1:]})
    people = f"ongeveer {persons}" if persons is not None else fill
    art33 = "waarschijnlijk vereist" if impact["notify_authority"] else "niet vereist; wel vastgelegd in ons register van datalekken (art. 33 lid 5)"
    art34 = "waarschijnlijk vereist" if impact["notify_subjects"] else "niet verondersteld"
    form: list[tuple[str, list[tuple[str, str]]]] = [
        ("1. Contactgegevens", _contact_fields(dm, ws)),
        ("2. Soort melding", [("Nieuwe melding of vervolgmelding", fill)]),
        ("3. Over het datalek", [
            ("Getroffen systeem", name),
            ("Samenvatting van het incident", fill),
            ("Aard van het datalek (lezen, kopiëren, veranderen, verwijderen of vernietigen, diefstal)", fill),
            ("Oorzaak", fill),
            ("Datum en tijd van ontstaan (of de periode)", fill),
            ("Datum en tijd van ontdekking", _moment(discovered) if discovered else fill),
            ("Uiterste tijdstip van melding aan de AP (72 uur na ontdekking, art. 33 lid 1)", _moment(deadline) if deadline else fill),
            ("Reden van vertraging, bij melding na 72 uur", fill),
        ]),
        ("4. Soorten persoonsgegevens", [
            ("Soorten persoonsgegevens", "; ".join(categories)),
            ("Gevoelige gegevens", "; ".join(f"{label(c, 'nl')} ({RISK_NL[k]})" for c, k in sorted(risks.items())) or "geen"),
        ]),
        ("5. Aantal betrokken personen en records", [
            ("Aantal betrokken personen (bij benadering)", people),
            ("Aantal records", str(records) if records is not None else fill),
        ]),
        ("6. Categorieën van betrokkenen", [("Betrokkenen", "; ".join(subjects) or fill)]),
        ("7. Waarschijnlijke gevolgen voor de betrokkenen", [
            ("Gevolgen", "; ".join(consequences) or fill), ("Aanvullende gevolgen", fill)]),
        ("8. Maatregelen", [
            ("Genomen maatregelen om het lek te dichten en de gevolgen te beperken", fill),
            ("Voorgenomen maatregelen", fill),
            ("Technische beschermingsmaatregelen (zoals versleuteling)", fill),
        ]),
        ("9. Informeren van betrokkenen (art. 34)", [
            ("Mededeling aan betrokkenen", art34 + (f", wegens {_joined(sorted(set(RISK_NL[k] for k in risks.values())))}" if risks else "")),
            ("Zijn de betrokkenen geïnformeerd, en wanneer", fill),
            ("Hoe, en met welke tekst", fill),
        ]),
        ("10. Ontvangers en internationale aspecten", [
            ("Ontvangers naar wie de gegevens doorstromen", _names(dm, recipients) or "geen"),
            ("Betrokkenen in andere EU-lidstaten, of melding bij een andere toezichthouder", fill),
        ]),
        ("11. Beoordeling", [
            ("Melding aan de AP (art. 33)", art33),
            ("Mededeling aan betrokkenen (art. 34)", art34),
        ]),
    ]
    pack.files.append(_write_csv(pack.folder / "meldformulier-datalek.csv",
                                 [{"onderdeel": part, "veld": f, "waarde": v} for part, fields in form for f, v in fields]))
    pack.files.append(_write_csv(pack.folder / "bijlage-categorieen.csv",
                                 [{"categorie": label(c, "nl"), "taxonomiesleutel": c} for c in impact["categories"]]))
    pack.files.append(_write_csv(pack.folder / "bijlage-records.csv", [
        {"systeem": name, "tabel": k.split(".", 1)[1], "records": "" if v is None else v,
         "personen": per_table.get(tables.get(k, ""), "")} for k, v in impact["records"].items()]))
    pack.files.append(_write_csv(pack.folder / "bijlage-doorstroom.csv",
                                 [{"pad": " → ".join(system_name(dm, s) for s in p)} for p in impact["flows_on"]]))
    sections = [Section(part, (), (), (("Veld", "Antwoord"), *fields)) for part, fields in form]
    sections.insert(5, Section(None, (
        f"Wij tellen personen, niet records: {records if records is not None else 'een onbekend aantal'} records in {name} "
        f"betreffen {people} personen. Records met hetzelfde e-mailadres, klantnummer, IBAN of factuurnummer rekenen wij tot "
        "één persoon; een naam of telefoonnummer alleen verbindt geen records, omdat mensen die delen.",), (),
        (("Tabel in " + name, "Records", "Personen"),
         *((k.split(".", 1)[1], "" if v is None else str(v), str(per_table.get(tables.get(k, ""), ""))) for k, v in impact["records"].items()))))
    pack.breach_facts = {f: v for _, fields in form for f, v in fields}
    return sections, [q.system]


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


def _log_breach(audit_dir: Path, pack: Pack) -> Path:
    """Append this breach to the controller's breach log in the audit folder: every breach, notified or not (Art. 33(5))."""
    facts = pack.breach_facts
    row = {
        "vastgelegd_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "systeem": facts["Getroffen systeem"],
        "ontstaan": facts["Datum en tijd van ontstaan (of de periode)"],
        "ontdekt": facts["Datum en tijd van ontdekking"],
        "uiterste_melding_AP": facts["Uiterste tijdstip van melding aan de AP (72 uur na ontdekking, art. 33 lid 1)"],
        "aard": facts["Aard van het datalek (lezen, kopiëren, veranderen, verwijderen of vernietigen, diefstal)"],
        "soorten_gegevens": facts["Soorten persoonsgegevens"],
        "betrokkenen": facts["Betrokkenen"],
        "personen": facts["Aantal betrokken personen (bij benadering)"],
        "records": facts["Aantal records"],
        "gevolgen": facts["Gevolgen"],
        "maatregelen": facts["Genomen maatregelen om het lek te dichten en de gevolgen te beperken"],
        "melding_AP": facts["Melding aan de AP (art. 33)"],
        "mededeling_betrokkenen": facts["Mededeling aan betrokkenen (art. 34)"],
        "auditrun": pack.run_id,
        "pakket": str(pack.folder),
    }
    path = audit_dir / BREACH_LOG
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    line = _csv_text([row], header=not old)
    return write_atomic(path, old + line)


# --- small helpers ------------------------------------------------------------------------------

STATUS_NL = {"passed": "geslaagd", "failed": "niet geslaagd", "not_run": "niet uitgevoerd", "error": "fout"}
ROLE_NL = {"Processor": "verwerker", "Third Party": "derde", "Public Authority": "overheidsinstantie",
           "Joint Controller": "gezamenlijke verwerkingsverantwoordelijke"}
REQUEST_NL = {"access": "inzage", "erasure": "verwijdering", "rectification": "rectificatie", "restriction": "beperking",
              "objection": "bezwaar", "portability": "overdraagbaarheid", "complaint": "klacht"}
# Why losing a category hurts (datamap.taxonomy.HIGH_RISK_CATEGORIES), and what it may lead to, in Dutch.
RISK_NL = {
    "user.health_and_medical": "gezondheidsgegevens (art. 9)", "user.biometric": "biometrische gegevens (art. 9)",
    "user.authorization.biometric": "biometrische gegevens (art. 9)",
    "user.demographic.political_opinion": "politieke opvattingen (art. 9)",
    "user.demographic.race_ethnicity": "ras of etnische afkomst (art. 9)",
    "user.demographic.religious_belief": "godsdienstige overtuiging (art. 9)",
    "user.demographic.sexual_orientation": "seksuele gerichtheid (art. 9)",
    "user.criminal_history": "strafrechtelijke gegevens (art. 10)", "user.financial": "financiële gegevens",
    "user.authorization": "inloggegevens", "user.government_id": "nationale identificatienummers",
}
CONSEQUENCES = {
    **{k: "discriminatie, stigmatisering of reputatieschade" for k in RISK_NL if "art. 9" in RISK_NL[k]},
    "user.criminal_history": "reputatieschade en uitsluiting",
    "user.financial": "financiële schade, fraude en phishing met betaalgegevens",
    "user.authorization": "overname van accounts met de uitgelekte inloggegevens",
    "user.government_id": "identiteitsfraude",
}


def _risk(dm: Any, category: str) -> str:
    """The HIGH_RISK_CATEGORIES key a category falls under (``user.financial.bank_account`` -> ``user.financial``)."""
    return next(k for k in dm.taxonomy.lineage("data_category", category) if k in RISK_NL)


def _contact_fields(dm: Any, ws: Workspace) -> list[tuple[str, str]]:
    org = next(iter(dm.organizations.values()), None)
    dpo = getattr(org, "data_protection_officer", None)
    controller = getattr(org, "controller", None)
    fill = "[in te vullen]"
    return [("Organisatie", getattr(org, "name", None) or ws.policy.organization),
            ("Adres", getattr(controller, "address", None) or fill),
            ("Contactpersoon (functionaris gegevensbescherming)", _person(dpo.name) if dpo and dpo.name else fill),
            ("E-mailadres", (dpo.email if dpo else None) or fill),
            ("Telefoonnummer", (dpo.phone if dpo else None) or fill)]


def _moment(moment: dt.datetime) -> str:
    return f"{long_date(moment.date(), 'nl')}, {moment:%H:%M} uur ({moment.tzname() or 'UTC'})"


def _kept(rule: Any) -> str:
    """A retention rule in words: ``zeven jaar na het einde van het boekjaar van de factuurdatum``."""
    start = counted_from(rule.date_column, "nl")
    if rule.anchor == "fiscal_year_end":
        start = f"het einde van het boekjaar van {start}"
    return period(rule.period, "nl", start)


def _state(ws: Workspace) -> str:
    return f"De stand van zaken op {long_date(ws.policy.reference_date(), 'nl')}"


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


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    return write_atomic(path, _csv_text(rows))


def _csv_text(rows: list[dict[str, Any]], header: bool = True) -> str:
    buf = io.StringIO(newline="")
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        if header:
            writer.writeheader()
        writer.writerows(safe_row(row) for row in rows)
    return buf.getvalue()
