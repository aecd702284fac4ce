"""Access and portability (Art. 15 and 20): the subject export, the one place where raw values appear."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from datamap.documents import Letter, write_letter
from datamap.identity import normalise_email
from datamap.outputs import safe_cells, safe_row, write_atomic
from datamap.subject.mapview import MapView
from datamap.subject.request import Match, Subject
from datamap.subject.store import provenance, record

if TYPE_CHECKING:
    from datamap.workspace import Workspace

SCHEMA = Path(__file__).parents[1] / "schemas" / "subject_export.schema.json"
SCHEMA_ID = "https://datamap.example/schemas/subject_export.schema.json"
OTHER_PERSON = "(another person)"
WITHHELD = "(withheld: a login secret is not handed out; it protects your account)"
_SECRET = re.compile(r"password|passwd|secret|token", re.I)


def records_of(con: sqlite3.Connection, data_map: MapView, matches: Iterable[Match], subject: Subject | None = None,
               own_domains: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The full records of the matches, with each field's data categories from the map.

    A list of addresses (a message's To or Cc) keeps the person's own and the company's; other
    people's addresses are left out (Art. 15(4): the copy must not disclose others).
    """
    out = []
    own = [v for _, v in subject.identifiers()] if subject else []
    domains = tuple(d.lower() for d in own_domains)
    for m in matches:
        column = data_map.key_column(m.dataset, m.collection)
        row = record(con, m.table, column, m.record_key, own) if column else None
        if row is None:
            continue
        fields = []
        for name, value in row.items():
            if name.startswith("_") or "__" in name or value in (None, ""):
                continue
            categories = data_map.categories(m.dataset, m.collection, name)
            value = WITHHELD if _is_secret(name, categories) else _others_left_out(_jsonable(value), set(own), domains)
            fields.append({"name": name, "value": value, "data_categories": categories})
        out.append({
            "system": m.system, "dataset": m.dataset, "collection": m.collection, "record_key": m.record_key,
            "source": provenance(con, m.table), "row": row.get("_row"),
            "matched_on": list(m.reasons), "confidence": m.confidence, "fields": fields,
        })
    return out


def _others_left_out(value: Any, own: set[str], own_domains: tuple[str, ...]) -> Any:
    """In a comma-separated list of addresses, replace other people's by a placeholder."""
    if not isinstance(value, str) or "," not in value or "@" not in value:
        return value
    kept = []
    for item in value.split(","):
        email = normalise_email(item)
        mine = email is None or email in own or email.split("@")[-1] in own_domains
        kept.append(item.strip() if mine else OTHER_PERSON)
    return ", ".join(kept)


def _is_secret(column: str, categories: list[str]) -> bool:
    """A login secret is the person's data, but handing it out would weaken their account's security."""
    return bool(_SECRET.search(column)) or any(c.startswith("user.authorization.credentials") for c in categories)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def data_sources(records: Iterable[dict[str, Any]]) -> list[str]:
    """Where the data came from (Art. 15(1)(g)): Zoho CRM's own Data Source field, where filled."""
    found = {str(f["value"]) for r in records for f in r["fields"] if f["name"] == "data_source"}
    return sorted(found)


def explanation(workspace: Workspace, data_map: MapView, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything Art. 15(1)(a)-(h) and 15(2) asks, from the map and the policy, for the systems holding the person."""
    from datamap.taxonomy import default_taxonomy

    tax = default_taxonomy()
    systems = sorted({r["system"] for r in records})
    # personal data only: system.* categories (record ids, timestamps) say nothing about the person
    categories = sorted({c for r in records for f in r["fields"] for c in f["data_categories"] if c.startswith("user")})
    uses = {d.get("data_use") for s in systems for d in data_map.systems.get(s, {}).get("privacy_declarations") or [] if isinstance(d, dict)}
    purposes = [
        {"key": p.key, "text": p.text, "legal_basis": p.legal_basis or "not stated in policy.yml"}
        for p in workspace.policy.notice.purposes
        if any(u and any(u == pu or u.startswith(pu + ".") for pu in p.data_uses) for u in uses)
    ]
    recipients = sorted({r for s in systems for r in data_map.recipients(s)})
    collections = {(r["system"], r["collection"]) for r in records}
    retention = [
        {"system": rule.system, "collection": rule.collection, "period": rule.period, "counted_from": rule.date_column,
         "legal_duty": rule.legal_duty, "basis": rule.basis}
        for rule in workspace.policy.retention if (rule.system, rule.collection) in collections
    ]
    transfers = []
    for key in recipients:
        ext = data_map.systems[key]
        meta = ext.get("meta") or {}
        if meta.get("eea") is False or ext.get("does_international_transfers"):
            transfers.append({"recipient": key, "country": meta.get("country"), "safeguard": ext.get("legal_basis_for_transfers")})
    automated = sorted(
        f"{data_map.systems[s].get('name') or s}: {d.get('name') or d.get('data_use')} ({d.get('data_use')})"
        for s in systems for d in data_map.systems.get(s, {}).get("privacy_declarations") or []
        if isinstance(d, dict) and any(w in str(d.get("data_use")) for w in ("profiling", "automated"))
    )
    org = data_map.organization
    return {
        "controller": {"name": org.get("name") or workspace.policy.organization,
                       "contact": workspace.policy.requests.privacy_mailbox,
                       "dpo": (org.get("data_protection_officer") or {}) or None},
        "purposes": purposes,
        "categories": [{"key": c, "name": tax.name("data_category", c) if tax.has("data_category", c) else c} for c in categories],
        "recipients": [{"key": k, "name": data_map.systems[k].get("name") or k, "type": data_map.systems[k].get("system_type")} for k in recipients],
        "transfers": transfers,
        "retention": retention,
        "rights": ["rectification", "erasure", "restriction", "objection", "portability", "withdraw_consent"],
        "complaint_authority": {"name": "Autoriteit Persoonsgegevens", "url": "https://autoriteitpersoonsgegevens.nl"},
        "sources": data_sources(records) or ["provided by the data subject"],
        "automated_decisions": automated,
    }


def build_export(con: sqlite3.Connection, workspace: Workspace, data_map: MapView, subject: Subject, matches: list[Match],
                 generated: dt.datetime | None = None) -> dict[str, Any]:
    """The machine-readable subject export (Art. 15 and 20): records per system, categories per field."""
    records = records_of(con, data_map, [m for m in matches if m.is_subject], subject, workspace.policy.recipients.own_domains)
    by_system: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_system.setdefault(r["system"], []).append({k: v for k, v in r.items() if k != "system"})
    return {
        "$schema": SCHEMA_ID,
        "format": "datamap.subject_export/1",
        "generated": (generated or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"),
        "subject": {"emails": list(subject.emails), "phones": list(subject.phones), "customer_numbers": list(subject.customer_numbers),
                    "ibans": list(subject.ibans), "names": list(subject.names)},
        "systems": [{"system": s, "name": data_map.systems.get(s, {}).get("name") or s, "records": rs} for s, rs in sorted(by_system.items())],
        "explanation": explanation(workspace, data_map, records),
    }


def validate_export(document: dict[str, Any]) -> None:
    """Check an export against the shipped JSON Schema (raises jsonschema.ValidationError)."""
    import jsonschema

    jsonschema.validate(document, json.loads(SCHEMA.read_text(encoding="utf-8")))


def write_export(document: dict[str, Any], out: Path) -> list[Path]:
    """Write the export folder: subject.json, one CSV per collection, the summary letter in Dutch and English (HTML, PDF, DOCX).

    Each file is written atomically: a reader never sees half an export.
    """
    validate_export(document)
    out.mkdir(parents=True, exist_ok=True)
    written = [write_atomic(out / "subject.json", json.dumps(document, ensure_ascii=False, indent=2, default=str))]
    for system in document["systems"]:
        per_collection: dict[str, list[dict[str, Any]]] = {}
        for r in system["records"]:
            per_collection.setdefault(r["collection"], []).append({f["name"]: f["value"] for f in r["fields"]})
        for collection, rows in sorted(per_collection.items()):
            columns = list(dict.fromkeys(c for row in rows for c in row))
            written.append(write_atomic(out / f"{system['system']}__{collection}.csv", _csv(columns, rows)))
    for language in ("nl", "en"):
        written += write_letter(summary_letter(document, language), out, f"summary_{language}")
    return written


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writerow(dict(zip(columns, safe_cells(columns))))  # a header from a source's column names
    writer.writerows(safe_row(row) for row in rows)
    return buf.getvalue()


# The summary letter's words are in datamap/register/terms.yml (``summary.*``), nl and en side by side.
RECIPIENT_TYPES = ("Processor", "Third Party", "Public Authority")
_USE_SAID = re.compile(r"^(?P<text>.*) \((?P<use>[a-z_]+(?:\.[a-z_]+)*)\)$")


def summary_letter(document: dict[str, Any], language: str = "nl") -> Letter:
    """The readable summary of an export (Art. 15(1)(a)-(h)) as a letter to the person, in Dutch or English.

    Every word of the map is said in ``language`` (labels, periods, recipient roles) and systems by
    their names; the raw values stay in the export's own files (subject.json and the CSVs).
    """
    from datamap.documents import Section, Sender, address_lines, counted_from, long_date, place_of
    from datamap.labels import label, period
    from datamap.register.terms import t, t_or, words

    w, ex = words("summary", language), document["explanation"]
    controller = ex["controller"]
    dpo = controller.get("dpo") or {}
    names = {s["system"]: s["name"] for s in document["systems"]} | {r["key"]: r["name"] for r in ex["recipients"]}
    day = dt.date.fromisoformat(document["generated"][:10])
    basis = lambda b: w["no_basis"] if not b or b.startswith("not stated") else t_or(f"basis.{b}", language, str(b))  # noqa: E731
    roles = {kind: t(f"summary.recipient.{kind.lower().replace(' ', '_')}", language) for kind in RECIPIENT_TYPES}
    sections = [
        Section(None, (w["salutation"], w["intro"].format(controller=controller["name"], date=long_date(day, language)))),
        Section(w["where"], () if document["systems"] else (w["none_found"],), (),
                ((w["system"], w["records"]), *((s["name"], str(len(s["records"]))) for s in document["systems"]))
                if document["systems"] else ()),
        Section(w["purposes"], (), tuple(w["purpose"].format(text=p["text"], basis=basis(p["legal_basis"])) for p in ex["purposes"])
                or (w["no_purpose"],)),
        Section(w["categories"], (), tuple(label(c["key"], language) for c in ex["categories"])),
        Section(w["recipients"], (w["transfers"],) if ex["transfers"] else (),
                tuple(f"{r['name']} ({roles.get(r['type'], r['type'])})" for r in ex["recipients"])
                or (w["no_recipient"].format(controller=controller["name"]),)),
    ]
    if ex["transfers"]:
        sections[-1] = Section(w["recipients"], (), sections[-1].items)
        sections.append(Section(None, (w["transfers"],), tuple(
            w["transfer"].format(recipient=names.get(t["recipient"], t["recipient"]), country=t.get("country") or w["no_country"],
                                 safeguard=", ".join(map(str, t.get("safeguard") or [])) or w["no_safeguard"])
            for t in ex["transfers"])))
    sections += [
        Section(w["retention"], (), tuple(
            w["kept"].format(system=names.get(r["system"], r["system"]), collection=r["collection"],
                             period=period(r["period"], language, counted_from(r["counted_from"], language)))
            + (w["legal_duty"].format(duty=r["legal_duty"]) if r.get("legal_duty") else "")
            for r in ex["retention"]) or (w["no_retention"],)),
        Section(w["rights"], (w["rights_text"].format(contact=controller["contact"]),
                              w["complaint"].format(authority=ex["complaint_authority"]["name"], url=ex["complaint_authority"]["url"]))),
        Section(w["sources"], (), tuple(w["from_you"] if s == "provided by the data subject" else s for s in ex["sources"])),
        Section(w["automated"], () if ex["automated_decisions"] else (w["no_automated"],),
                tuple(_automated(u, language) for u in ex["automated_decisions"])),
    ]
    address = dpo.get("address")
    place = place_of(address)
    person = document["subject"]
    return Letter(
        sender=Sender(controller["name"], address_lines(address), tuple(x for x in (controller.get("contact"),) if x)),
        recipient=tuple((person.get("names") or [])[:1]) + tuple((person.get("emails") or [])[:1]),
        place_date=f"{place + ', ' if place else ''}{long_date(day, language)}",
        subject=w["subject"], sections=sections, lang=language, closing=w["closing"],
        signature=(dpo["name"].split(" (")[0], w["dpo"], controller["name"]) if dpo.get("name") else (controller["name"],),
    )


def _automated(said: str, language: str) -> str:
    """``Zoho SalesIQ: Profielen (marketing.advertising.profiling)`` with the data use said in words."""
    from datamap.labels import label

    match = _USE_SAID.match(said)
    return f"{match['text']} ({label(match['use'], language)})" if match else said


def summary(document: dict[str, Any], language: str = "nl") -> str:
    """The summary letter as the HTML page the person opens (the PDF and DOCX come from the same letter)."""
    from datamap.documents import render_html

    return render_html(summary_letter(document, language))
