"""The register's columns: one small function each, from an activity to one cell with its provenance.

``COLUMNS`` (the controller register, Art. 30(1)) and ``PROCESSOR_COLUMNS`` (Art. 30(2)) name
them as ``questions.yml`` does; a column that checks can verify asks :func:`datamap.register.verify.verify`.
"""
from __future__ import annotations

import datetime as dt
import functools
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from dateutil.relativedelta import relativedelta
from fideslang.models import PrivacyDeclaration, System

from datamap.labels import label, period
from datamap.map import EXTERNAL_TYPES, outside_eea
from datamap.register.model import (ANSWERED, CONTRADICTED, MISSING, NOT_APPLICABLE, VERIFIED, Activity, Cell, Check,
                                    Context)
from datamap.register.terms import has, t, t_or
from datamap.register.verify import verify, verifying_rules

if TYPE_CHECKING:
    from datamap.warehouse.postgres import PgStore


def _cell(value: str | None, *, mandatory: bool = False, declared: Iterable[str] = (), observed: Iterable[str] = (),
          verified: tuple[Check, ...] = (), where: str = "", not_applicable: bool = False) -> Cell:
    """Make a cell; its status follows from the value and the checks' verdicts."""
    if not value:
        return Cell("", MISSING, mandatory, tuple(declared), tuple(observed), verified, where)
    if not_applicable:
        status = NOT_APPLICABLE
    elif any(v.result == "failed" for v in verified):
        status = CONTRADICTED
    elif any(v.result == "passed" for v in verified):
        status = VERIFIED
    else:
        status = ANSWERED
    return Cell(value, status, mandatory, tuple(declared), tuple(observed), verified, where)



def _join(items: Iterable[str]) -> str:
    seen: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.append(item)
    return "; ".join(seen)


def _contact(details: Any) -> str:
    if details is None:
        return ""
    parts = [getattr(details, k, "") for k in ("name", "address", "email", "phone")]
    return ", ".join(p for p in parts if p)



def _is_parent_or_self(parent: str, key: str) -> bool:
    return key == parent or key.startswith(parent + ".")


def _where(ctx: Context, act: Activity, key: str, on_system: bool = False) -> str:
    base = act.system.fides_key if on_system else act.file_key
    return f"{ctx.map.file_of(act.system.fides_key)}: {base}.{key}"


def _org_where(ctx: Context, key: str) -> str:
    org = ctx.map.organization
    name = org.fides_key if org else (ctx.policy.organization if ctx.policy else "organization")
    return f"{ctx.map.file_of(name)}: organization {name}.{key}"


def _labels(ctx: Context, keys: Iterable[str], kind: Any) -> str:
    """Taxonomy keys in the register's language (``labels``), never English in a Dutch register."""
    return _join(label(k, ctx.lang, kind) for k in keys)


def _name(system: System) -> str:
    return system.name or system.fides_key


def col_activity(ctx: Context, act: Activity) -> Cell:
    name = act.decl.name or f"{_name(act.system)}: {label(act.decl.data_use, ctx.lang, 'data_use')}"
    return _cell(name, mandatory=True, declared=[_where(ctx, act, "name")], where=_where(ctx, act, "name"))


def col_system(ctx: Context, act: Activity) -> Cell:
    s = act.system
    name = _name(s) if ctx.for_ap or not s.name else f"{s.name} ({s.fides_key})"
    return _cell(name, declared=[_where(ctx, act, "name", True)])


def col_system_description(ctx: Context, act: Activity) -> Cell:
    w = _where(ctx, act, "description", True)
    return _cell(act.system.description or "", declared=[w], where=w)


def col_controller(ctx: Context, act: Activity) -> Cell:
    org = ctx.map.organization
    name = (org.controller.name if org and org.controller else None) or (org.name if org else "")
    return _cell(name or "", mandatory=True, declared=[_org_where(ctx, "controller.name")], where=_org_where(ctx, "controller"))


def col_controller_contact(ctx: Context, act: Activity) -> Cell:
    org = ctx.map.organization
    details = org.controller if org else None
    value = ", ".join(p for p in (getattr(details, "address", ""), getattr(details, "email", ""), getattr(details, "phone", "")) if p) if details else ""
    return _cell(value, mandatory=True, declared=[_org_where(ctx, "controller")], where=_org_where(ctx, "controller"))


def col_joint_controllers(ctx: Context, act: Activity) -> Cell:
    w = _where(ctx, act, "joint_controller_info", True)
    if act.system.joint_controller_info:
        return _cell(act.system.joint_controller_info, mandatory=True, declared=[w])
    return _cell(ctx.t("value.no_joint_controllers"), mandatory=True, declared=[w], not_applicable=True)


def col_representative(ctx: Context, act: Activity) -> Cell:
    org = ctx.map.organization
    w = _org_where(ctx, "representative")
    if org and org.representative:
        return _cell(_contact(org.representative), mandatory=True, declared=[w])
    # Art. 27 asks for a representative only of controllers established outside the Union.
    return _cell(ctx.t("value.no_representative"), mandatory=True, declared=[w], not_applicable=True)


def col_dpo(ctx: Context, act: Activity) -> Cell:
    org = ctx.map.organization
    w = _org_where(ctx, "data_protection_officer")
    value = _contact(org.data_protection_officer) if org else ""
    return _cell(value, mandatory=True, declared=[w], where=w)


def col_role(ctx: Context, act: Activity) -> Cell:
    w = _where(ctx, act, "responsibility", True)
    roles = act.system.responsibility or []
    if not roles and ctx.map.organization is not None:
        # an internal system without a declared role is the organisation's own: it is the controller
        return _cell(t("role.Controller", ctx.lang), declared=[w, _org_where(ctx, "controller")])
    return _cell(_join(t_or(f"role.{r}", ctx.lang, str(r)) for r in roles), declared=[w], where=w)


def col_department(ctx: Context, act: Activity) -> Cell:
    w = _where(ctx, act, "administrating_department", True)
    dep = act.system.administrating_department
    return _cell("" if dep in (None, "Not defined") else dep, declared=[w], where=w)


def _per_activity(act: Activity, key: str) -> Any:
    """A system's ``meta`` value for this activity: one value, or a mapping by declaration name (fideslang
    declarations have no ``meta`` of their own)."""
    value = (act.system.meta or {}).get(key)
    if isinstance(value, dict):
        return value.get(act.decl.name or str(act.index))
    return value


def col_data_steward(ctx: Context, act: Activity) -> Cell:
    """Who owns the activity: an Art. 30 register without an owner has no one to keep it true."""
    w = _where(ctx, act, "meta.data_steward", True)
    return _cell(str(_per_activity(act, "data_steward") or ""), mandatory=True, declared=[w], where=w)


def _purposes_for(ctx: Context, act: Activity) -> list[tuple[int, Any]]:
    if ctx.policy is None:
        return []
    found = []
    for i, purpose in enumerate(ctx.policy.notice.purposes):
        if any(_is_parent_or_self(use, act.decl.data_use) for use in purpose.data_uses):
            found.append((i, purpose))
    return found


def col_purpose(ctx: Context, act: Activity) -> Cell:
    use = act.decl.data_use
    declared = [_where(ctx, act, "data_use")]
    purposes = _purposes_for(ctx, act)
    declared += [f"policy.yml: notice.purposes[{p.key}]" for _, p in purposes]
    value = ctx.label(use, "data_use")
    if purposes:
        value += " — " + _join(p.text if ctx.for_ap else f"{p.key}: {p.text}" for _, p in purposes)
    checks = verify(ctx, "purpose", act.system.fides_key, [use])
    return _cell(value, mandatory=True, declared=declared, verified=checks, where=declared[0])


def col_legal_basis(ctx: Context, act: Activity) -> Cell:
    w = _where(ctx, act, "legal_basis_for_processing")
    basis = act.decl.legal_basis_for_processing
    declared = [w]
    if basis is None:
        notice = [(i, p) for i, p in _purposes_for(ctx, act) if p.legal_basis]
        if notice:
            basis = notice[0][1].legal_basis
            declared = [f"policy.yml: notice.purposes[{notice[0][1].key}].legal_basis"]
    value = ""
    if basis is not None:
        raw = getattr(basis, "value", basis)
        value = t_or(f"basis.{raw}", ctx.lang, str(raw))
    return _cell(value, mandatory=True, declared=declared, where=w)


def col_legitimate_interest(ctx: Context, act: Activity) -> Cell:
    """The balancing test (LIA): Art. 6(1)(f) holds only when one was made, so its absence is a gap."""
    basis = getattr(act.decl.legal_basis_for_processing, "value", act.decl.legal_basis_for_processing)
    w_lia = _where(ctx, act, "impact_assessment_location")
    w_meta = _where(ctx, act, "meta.lia_location", True)
    w_url = _where(ctx, act, "legitimate_interest_disclosure_url", True)
    lia = act.decl.impact_assessment_location or str(_per_activity(act, "lia_location") or "")
    value = _join([lia, str(act.system.legitimate_interest_disclosure_url or "")])
    if basis != "Legitimate interests":
        return _cell(value or ctx.t("value.not_applicable"), declared=[w_lia, w_url], not_applicable=not value)
    if not lia:
        shown = _join([ctx.t("value.no_balancing_test"), value])
        return Cell(shown, MISSING, True, (w_lia, w_meta, w_url), (), (), f"{w_lia} / {w_meta}")
    return _cell(value, mandatory=True, declared=[w_lia, w_meta, w_url], where=w_lia)


def col_special_category_basis(ctx: Context, act: Activity) -> Cell:
    w = _where(ctx, act, "special_category_legal_basis")
    if not act.decl.processes_special_category_data:
        return _cell(ctx.t("value.no_special_categories"), declared=[_where(ctx, act, "processes_special_category_data")], not_applicable=True)
    basis = act.decl.special_category_legal_basis
    return _cell(str(getattr(basis, "value", basis) or ""), declared=[w], where=w)


def col_data_subjects(ctx: Context, act: Activity) -> Cell:
    w = _where(ctx, act, "data_subjects")
    return _cell(_join(ctx.label(s, "data_subject") for s in act.decl.data_subjects), mandatory=True, declared=[w], where=w)


# Persons are counted by the identifiers the store keeps per record (``identifiers``): distinct
# e-mail addresses, plus distinct customer numbers in tables that hold no e-mail address.
# Records are not persons: one customer has many invoices, tickets and messages. A system's
# dataset holds its staff (user accounts) beside its customers: an activity about staff counts
# the addresses at the organisation's own domains (policy.yml recipients.own_domains), one about
# others every other address, one about both all of them.
PERSON_KINDS = ("email", "customer_number")
STAFF = frozenset({"employee", "trainee"})


def persons_in(store: "Path | PgStore", datasets: tuple[str, ...], own_domains: tuple[str, ...] = (),
               staff: bool | None = None) -> int | None:
    """Distinct persons in the audit store's tables of ``datasets``; None when the store holds none of them.

    ``staff`` True counts only addresses at ``own_domains``, False only the others, None all.
    """
    from datamap.store import version_of

    return _persons_in(store, version_of(store), datasets, own_domains, staff)


@functools.lru_cache(maxsize=64)
def _persons_in(store: "Path | PgStore", _version: object, datasets: tuple[str, ...], own_domains: tuple[str, ...],
                staff: bool | None) -> int | None:
    """Counted in SQL (distinct e-mails, plus customer numbers of tables without e-mails): at 1M subjects
    reading the identifiers into Python sets took 44 s and 1.2 GB for one register."""
    from datamap.store import columns_of, open_read_only

    con = open_read_only(store)
    try:
        marks = ", ".join("?" * len(datasets))
        tables = [r[0] for r in con.execute(f"SELECT DISTINCT tbl FROM _provenance WHERE dataset IN ({marks})", datasets)
                  .fetchall() if columns_of(con, f"{r[0]}__identifiers") is not None]
        held = [t for t in tables if con.execute(
            f'SELECT 1 FROM "{t}__identifiers" WHERE kind IN (?, ?) LIMIT 1', PERSON_KINDS).fetchone()]
        if not held:
            return None
        with_email = [t for t in held if con.execute(f'SELECT 1 FROM "{t}__identifiers" WHERE kind = ? LIMIT 1',
                                                     ("email",)).fetchone()]
        numbers_only = [t for t in held if t not in with_email]
        emails = " UNION ".join(f'SELECT DISTINCT value FROM "{t}__identifiers" WHERE kind = \'email\'' for t in with_email)
        own = " UNION ALL ".join("SELECT CAST(? AS TEXT)" for _ in own_domains) or "SELECT NULL WHERE 1 = 0"
        total, at_own = (0, 0) if not emails else con.execute(
            f"""WITH own(d) AS ({own}),
                     hosts AS (SELECT substr(value, instr(value, '@') + 1) AS host FROM ({emails}) AS emails)
                SELECT count(*), coalesce(sum(CASE WHEN EXISTS (SELECT 1 FROM own WHERE host = d
                                                               OR substr(host, -length(d) - 1) = '.' || d) THEN 1 ELSE 0 END), 0)
                FROM hosts AS h""", tuple(d.lower() for d in own_domains)).fetchone()
        numbers = 0 if not numbers_only else con.execute(
            "SELECT count(*) FROM (" + " UNION ".join(
                f'SELECT DISTINCT value FROM "{t}__identifiers" WHERE kind = \'customer_number\'' for t in numbers_only)
            + ") AS numbers").fetchone()[0]
    except sqlite3.OperationalError:  # a store from before identifiers were kept per table
        return None
    finally:
        con.close()
    if staff is None or not own_domains:
        return total + numbers
    if staff:
        return at_own  # staff have no customer number
    return total - at_own + numbers


def _number(n: int, lang: str) -> str:
    return f"{n:,}".replace(",", "." if lang == "nl" else ",")


def col_subjects_count(ctx: Context, act: Activity) -> Cell:
    """How many persons the activity concerns, from the latest run's store (a regulator's first question on scale)."""
    if ctx.run is None or ctx.run.location is None:
        return _cell(ctx.t("value.unknown_no_run"), where="datamap audit")
    datasets = tuple(sorted(_datasets_of(act)))
    subjects = set(act.decl.data_subjects)
    staff = True if subjects and subjects <= STAFF else (False if not subjects & STAFF else None)
    own = tuple(ctx.policy.recipients.own_domains) if ctx.policy else ()
    n = persons_in(ctx.run.location, datasets, own, staff) if datasets else None
    if n is None:
        return _cell(ctx.t("value.unknown_not_staged"), where="sources.yml")
    observed = [f"{ctx.t('label.audit_store')} identifiers ({', '.join(PERSON_KINDS)}): {', '.join(datasets)}"]
    where = _join((d.name if d else None) or key for key in datasets for d in [ctx.map.dataset(key)])
    return _cell(ctx.t("value.persons", n=_number(n, ctx.lang), where=where), observed=observed)


def _datasets_of(act: Activity) -> list[str]:
    return list(act.decl.dataset_references or act.system.dataset_references or [])


def _observed(ctx: Context, act: Activity) -> list[str]:
    if ctx.run is None:
        return []
    seen = []
    for ds in _datasets_of(act):
        for src in ctx.run.sources_of_dataset(ds):
            seen.append(f"{src.get('source') or src.get('tbl')}: {ctx.t('value.records', n=src.get('rows'))}")
    return seen


def col_data_categories(ctx: Context, act: Activity) -> Cell:
    w = _where(ctx, act, "data_categories")
    value = _join(ctx.label(c, "data_category") for c in act.decl.data_categories)
    checks = verify(ctx, "data_categories", act.system.fides_key)
    return _cell(value, mandatory=True, declared=[w], observed=_observed(ctx, act), verified=checks, where=w)


def col_source(ctx: Context, act: Activity) -> Cell:
    """Where the data comes from: the subject (a `user` ingress), other systems, or meta.source."""
    flows = list(act.system.ingress or [])
    if act.decl.ingress:
        flows = [f for f in flows if f.fides_key in act.decl.ingress]
    parts = []
    for flow in flows:
        if flow.type == "user":
            parts.append(ctx.t("value.the_subject"))
        else:
            other = ctx.map.system(flow.fides_key)
            parts.append(f"{(other.name if other else None) or flow.fides_key}")
    for other in ctx.map.systems:
        for flow in other.egress or []:
            if flow.fides_key == act.system.fides_key and flow.type == "system":
                parts.append(other.name or other.fides_key)
    meta_source = (act.system.meta or {}).get("source")
    if meta_source:
        parts.append(str(meta_source))
    observed = []
    if ctx.run is not None:
        # what the records themselves say (Zoho CRM's GDPR field "Data Source"), per collection
        for ds in _datasets_of(act):
            for table, counts in sorted(ctx.run.data_sources.items()):
                if table.startswith(f"{ds}__"):
                    seen = ", ".join(f"{value} ({n})" for value, n in counts)
                    parts.append(f"{table.split('__', 1)[1]}: {seen}")
                    observed.append(f"{ctx.t('label.audit_store')} {table}.data_source")
    w = _where(ctx, act, "ingress", True)
    return _cell(_join(parts), declared=[w], observed=observed, where=w)


def _flows(system: System, direction: str, decl: PrivacyDeclaration) -> list[Any]:
    flows = list(getattr(system, direction) or [])
    chosen = getattr(decl, direction)
    if chosen:
        flows = [f for f in flows if f.fides_key in chosen]
    return [f for f in flows if f.type == "system"]


def _recipients(ctx: Context, act: Activity) -> list[tuple[System, list[str], str]]:
    """Who receives this activity's data: egress flows, the hosting processor, declared ingress elsewhere."""
    out: dict[str, tuple[System, list[str], str]] = {}
    wanted = set(act.decl.data_categories)
    for flow in _flows(act.system, "egress", act.decl):
        other = ctx.map.system(flow.fides_key)
        if other is not None:
            cats = [c for c in (flow.data_categories or act.decl.data_categories) if any(_is_parent_or_self(w, c) or _is_parent_or_self(c, w) for w in wanted)]
            out[other.fides_key] = (other, cats, f"{ctx.map.file_of(act.system.fides_key)}: {act.system.fides_key}.egress[{flow.fides_key}]")
    for other in ctx.map.systems:
        for flow in other.ingress or []:
            if flow.fides_key == act.system.fides_key and flow.type == "system" and other.fides_key not in out:
                out[other.fides_key] = (other, list(flow.data_categories or []), f"{ctx.map.file_of(other.fides_key)}: {other.fides_key}.ingress[{act.system.fides_key}]")
    host = (act.system.meta or {}).get("hosted_by")
    if host and ctx.map.system(host) is not None and host not in out:
        out[host] = (ctx.map.system(host), list(act.decl.data_categories), _where(ctx, act, "meta.hosted_by", True))  # type: ignore[arg-type]
    return list(out.values())


def _external(recipients: list[tuple[System, list[str], str]]) -> list[tuple[System, list[str], str]]:
    return [r for r in recipients if r[0].system_type in EXTERNAL_TYPES]


def _party(system: System) -> str:
    """A party's name as the register shows it: the map's name, with the legal name when it differs."""
    name = system.name or system.fides_key
    return f"{name} ({system.legal_name})" if system.legal_name and system.legal_name != name else name


def col_recipients(ctx: Context, act: Activity) -> Cell:
    recipients = _recipients(ctx, act)
    by_kind: dict[str, list[str]] = {}
    for r, _, _ in recipients:
        by_kind.setdefault(r.system_type, []).append(_party(r))
    value = "; ".join(
        f"{t_or(f'kind.{kind}', ctx.lang, kind)}: {', '.join(sorted(names))}" for kind, names in sorted(by_kind.items())
    ) or ctx.t("value.none")
    checks = verify(ctx, "recipients", act.system.fides_key)
    w = _where(ctx, act, "egress", True)
    return _cell(value, mandatory=True, declared=[d for _, _, d in recipients] or [w], verified=checks, where=w)


def col_processors(ctx: Context, act: Activity) -> Cell:
    procs = [r for r in _recipients(ctx, act) if r[0].system_type == "Processor"]
    parts = []
    for proc, cats, _ in procs:
        dpa = proc.dpa_location or ctx.t("value.no_agreement")
        said = f" [{_labels(ctx, cats, 'data_category')}]" if cats else ""
        parts.append(f"{_party(proc)}{said} — {ctx.t('value.agreement')}: {dpa}")
    declared = [d for _, _, d in procs] + [f"{ctx.map.file_of(p.fides_key)}: {p.fides_key}.dpa_location" for p, _, _ in procs]
    checks = verify(ctx, "processors", act.system.fides_key, [p.fides_key for p, _, _ in procs])
    value = _join(parts) if procs else ctx.t("value.none")
    return _cell(value, declared=declared, verified=checks, not_applicable=not procs)


def col_third_parties(ctx: Context, act: Activity) -> Cell:
    third = [r for r in _recipients(ctx, act) if r[0].system_type in ("Third Party", "Public Authority")]
    w = _where(ctx, act, "data_shared_with_third_parties")
    parts = [f"{_party(p)} [{_labels(ctx, c, 'data_category')}]" for p, c, _ in third]
    if act.decl.third_parties:
        parts.append(act.decl.third_parties)
    shared = bool(third) or act.decl.data_shared_with_third_parties
    value = f"{ctx.t('value.yes')}: {_join(parts)}" if shared and parts else (ctx.t("value.yes") if shared else ctx.t("value.no"))
    checks = verify(ctx, "third_parties", act.system.fides_key)
    return _cell(value, declared=[w] + [d for _, _, d in third], verified=checks)


def _transfer_countries(party: System) -> list[str]:
    """Where the data goes outside the EEA: ``meta.transfer_countries``, else the party's country."""
    meta = party.meta or {}
    countries = meta.get("transfer_countries") or [meta.get("country") or "?"]
    return [str(c) for c in countries]


def _transfers(ctx: Context, act: Activity) -> list[tuple[System, list[str], str]]:
    return [r for r in _external(_recipients(ctx, act)) if outside_eea(r[0])]


def col_transfers(ctx: Context, act: Activity) -> Cell:
    transfers = _transfers(ctx, act)
    checks = verify(ctx, "transfers", act.system.fides_key, [p.fides_key for p, _, _ in transfers] if transfers else None)
    if not transfers:
        return _cell(ctx.t("value.no_transfers"), mandatory=True, declared=[d for _, _, d in _external(_recipients(ctx, act))], verified=checks, not_applicable=True)
    value = _join(f"{_party(p)}: {', '.join(_transfer_countries(p))}" for p, _, _ in transfers)
    declared = [f"{ctx.map.file_of(p.fides_key)}: {p.fides_key}.{'meta.transfer_countries' if (p.meta or {}).get('transfer_countries') else 'meta.country'}"
                for p, _, _ in transfers]
    return _cell(value, mandatory=True, declared=declared, verified=checks)


def col_safeguards(ctx: Context, act: Activity) -> Cell:
    transfers = _transfers(ctx, act)
    if not transfers:
        return _cell(ctx.t("value.not_applicable"), mandatory=True, not_applicable=True)
    parts, missing = [], []
    for party, _, _ in transfers:
        bases = [t_or(f"transfer.{b}", ctx.lang, b) for b in party.legal_basis_for_transfers]
        if bases:
            parts.append(f"{_party(party)}: {_join(bases)}")
        else:
            missing.append(party.fides_key)
    declared = [f"{ctx.map.file_of(p.fides_key)}: {p.fides_key}.legal_basis_for_transfers" for p, _, _ in transfers]
    checks = verify(ctx, "safeguards", act.system.fides_key, [p.fides_key for p, _, _ in transfers])
    if missing:
        # a transfer without a safeguard is a gap even when other transfers of the activity have one
        named = [_party(p) for p, _, _ in transfers if p.fides_key in missing]
        value = _join([f"{', '.join(named)}: {ctx.t('value.not_declared')}"] + parts)
        where = "; ".join(f"{ctx.map.file_of(k)}: {k}.legal_basis_for_transfers" for k in missing)
        return Cell(value, MISSING, True, tuple(declared), (), checks, where)
    return _cell(_join(parts), mandatory=True, declared=declared, verified=checks)


def _retention_rules(ctx: Context, act: Activity) -> list[tuple[int, Any]]:
    if ctx.policy is None:
        return []
    subjects = set(ctx.policy.notice.subjects)
    if subjects and act.decl.data_subjects and not subjects & set(act.decl.data_subjects):
        return []  # the schedule implements the notice's promise (P05) to the notice's subjects
    found = []
    for i, rule in enumerate(ctx.policy.retention):
        if rule.system != act.system.fides_key:
            continue
        if rule.categories and not any(
            _is_parent_or_self(r, c) or _is_parent_or_self(c, r) for r in rule.categories for c in act.decl.data_categories
        ):
            continue
        found.append((i, rule))
    return found


def date_phrase(ctx: Context, system: str, collection: str, column: str) -> str:
    """Say a date column as the start of a period ("de laatste activiteit"), in the register's language.

    The manifest's own words first (the field's ``description``), then the catalogue's phrase for a
    common date column (terms.yml ``date.<column>``), else the column's name with a word around it.
    """
    owner = ctx.map.system(system)
    for key in (owner.dataset_references or []) if owner else []:
        ds = ctx.map.dataset(key)
        for coll in (ds.collections if ds else []):
            for f in coll.fields if coll.name == collection else []:
                if f.name == column and f.description:
                    return f.description
    if has(f"date.{column}"):
        return ctx.t(f"date.{column}")
    return ctx.t("date.column", column=column.replace("_", " "))


def col_retention(ctx: Context, act: Activity) -> Cell:
    w = _where(ctx, act, "retention_period")
    rules = _retention_rules(ctx, act)
    parts = []
    if act.decl.retention_period:
        parts.append(act.decl.retention_period)
    for _, rule in rules:
        anchor = date_phrase(ctx, rule.system, rule.collection, rule.date_column)
        if rule.anchor == "fiscal_year_end":
            anchor = ctx.t("value.end_of_fiscal_year_of", date=anchor)
        text = f"{rule.collection}: {period(rule.period, ctx.lang, anchor)}"
        if rule.legal_duty:
            text += f" ({ctx.t('value.legal_duty')}: {rule.legal_duty})"
        parts.append(text)
    declared = ([w] if act.decl.retention_period else []) + [f"policy.yml: retention[{i}] ({r.system}.{r.collection})" for i, r in rules]
    checks = verify(ctx, "retention", act.system.fides_key, suffixes=[f"{r.system}.{r.collection}" for _, r in rules])
    return _cell(_join(parts), mandatory=True, declared=declared or [w], verified=checks, where=f"{w} / policy.yml: retention")


def _not_verified(ctx: Context, why: str, where: str, declared: Iterable[str] = ()) -> Cell:
    """A compliance answer nothing verified says so in words; a blank would read as an oversight, or as yes."""
    said = f"{ctx.t('value.not_verified')}: {why}" if why else ctx.t("value.not_verified")
    return Cell(said, MISSING, False, tuple(declared), (), (), where)


def col_retention_adherence(ctx: Context, act: Activity) -> Cell:
    rules = _retention_rules(ctx, act)
    if not rules:
        return _not_verified(ctx, ctx.t("value.no_retention_rule"), f"policy.yml: retention (system {act.system.fides_key})")
    checks = verify(ctx, "retention_adherence", act.system.fides_key, suffixes=[f"{r.system}.{r.collection}" for _, r in rules])
    failed = sum(c.findings for c in checks if c.result == "failed")
    not_run = [c for c in checks if c.result == "not_run"]
    if failed:
        value = ctx.t("value.retention_broken", n=failed)
    elif not_run:
        value = ctx.t("value.retention_not_checked", reason=not_run[0].reason)
    elif checks:
        value = ctx.t("value.retention_holds")
    else:
        return _not_verified(ctx, "" if ctx.run else ctx.t("label.no_audit_run"), "datamap audit (check retention.expired)",
                             [f"policy.yml: retention[{i}]" for i, _ in rules])
    return _cell(value, declared=[f"policy.yml: retention[{i}]" for i, _ in rules], verified=checks,
                 where="datamap audit (check retention.expired)")


def col_security(ctx: Context, act: Activity) -> Cell:
    org = ctx.map.organization
    parts = [act.system.data_security_practices or ""]
    if org and org.security_policy:
        parts.append(str(org.security_policy))
    w = _where(ctx, act, "data_security_practices", True)
    checks = verify(ctx, "security", act.system.fides_key)
    return _cell(_join(parts), mandatory=True, declared=[w, _org_where(ctx, "security_policy")], verified=checks, where=w)


def col_storage_location(ctx: Context, act: Activity) -> Cell:
    meta = act.system.meta or {}
    w = _where(ctx, act, "meta.hosted_by", True)
    host = ctx.map.system(meta["hosted_by"]) if meta.get("hosted_by") else None
    if host is not None:
        hmeta = host.meta or {}
        where = ", ".join(str(x) for x in (hmeta.get("region"), hmeta.get("country")) if x)
        value = f"{ctx.t('value.hosted_by')} {_party(host)}" + (f", {where}" if where else "")
        return _cell(value, declared=[w, f"{ctx.map.file_of(host.fides_key)}: {host.fides_key}.meta.country"])
    if meta.get("location") or meta.get("country"):
        return _cell(str(meta.get("location") or meta.get("country")), declared=[_where(ctx, act, "meta.location", True)])
    return _cell("", declared=[w], where=w)


def col_automated_decisions(ctx: Context, act: Activity) -> Cell:
    s = act.system
    w = _where(ctx, act, "uses_profiling", True)
    if not s.uses_profiling:
        return _cell(ctx.t("value.no_profiling"), declared=[w])
    bases = _join(str(getattr(b, "value", b)) for b in s.legal_basis_for_profiling)
    desc = str((s.meta or {}).get("profiling") or "")
    return _cell(_join([ctx.t("value.yes"), desc, bases]), declared=[w, _where(ctx, act, "legal_basis_for_profiling", True)])


def col_dpia(ctx: Context, act: Activity) -> Cell:
    s = act.system
    meta = s.meta or {}
    w = _where(ctx, act, "requires_data_protection_assessments", True)
    location = str(meta.get("dpia_location") or "")
    status = s.dpa_progress or str(meta.get("dpia_status") or "")
    if not s.requires_data_protection_assessments:
        return _cell(_join([ctx.t("value.dpia_not_required"), location]), declared=[w])
    value = _join([ctx.t("value.dpia_required"), f"{ctx.t('value.status')}: {status}" if status else "", location])
    if not status and not location:
        return _cell("", declared=[w], where=_where(ctx, act, "dpa_progress", True))
    return _cell(value, declared=[w, _where(ctx, act, "dpa_progress", True)])


# The rights of Arts. 13-22 that follow from the Art. 6 basis (Art. 17(3), 20(1), 21(1), 7(3)).
RIGHTS_BY_BASIS: dict[str, tuple[str, ...]] = {
    "Consent": ("Informed", "Access", "Rectification", "Erasure", "Restrict Processing", "Portability", "Withdraw Consent"),
    "Contract": ("Informed", "Access", "Rectification", "Erasure", "Restrict Processing", "Portability"),
    "Legal obligations": ("Informed", "Access", "Rectification", "Restrict Processing"),
    "Vital interests": ("Informed", "Access", "Rectification", "Erasure", "Restrict Processing"),
    "Public interest": ("Informed", "Access", "Rectification", "Erasure", "Restrict Processing", "Object"),
    "Legitimate interests": ("Informed", "Access", "Rectification", "Erasure", "Restrict Processing", "Object"),
}


def col_rights(ctx: Context, act: Activity) -> Cell:
    basis = getattr(act.decl.legal_basis_for_processing, "value", act.decl.legal_basis_for_processing)
    if basis is None:
        notice = [p for _, p in _purposes_for(ctx, act) if p.legal_basis]
        basis = notice[0].legal_basis if notice else None
    if basis is None or basis not in RIGHTS_BY_BASIS:
        return _cell("", where=_where(ctx, act, "legal_basis_for_processing"))
    rights = list(RIGHTS_BY_BASIS[basis])
    if act.system.uses_profiling:
        rights.append("Object to Automated Processing")
    value = _join(t_or(f"right.{r}", ctx.lang, r) for r in rights)
    declared = [_where(ctx, act, "legal_basis_for_processing")]
    if ctx.policy is not None:
        value += " — " + ctx.t("value.request_channel", mailbox=ctx.policy.requests.privacy_mailbox,
                               deadline=period(ctx.policy.requests.deadline, ctx.lang))
        declared.append("policy.yml: requests")
    return _cell(value, declared=declared, verified=verify(ctx, "rights", act.system.fides_key))


def col_notice_link(ctx: Context, act: Activity) -> Cell:
    parts = [str(act.system.privacy_policy or "")]
    declared = [_where(ctx, act, "privacy_policy", True)]
    if ctx.policy is not None:
        parts.append(ctx.policy.notice.file)
        declared.append("policy.yml: notice.file")
    return _cell(_join(parts), declared=declared, where="policy.yml: notice.file")


def _consent_fields(ctx: Context, act: Activity) -> list[tuple[Any, str]]:
    found = []
    for ds in ctx.map.datasets:
        if ds.fides_key not in _datasets_of(act):
            continue
        for coll in ds.collections:
            for f in coll.fields:
                if "consent" in f.name.lower() or "opt_in" in f.name.lower() or "opt_out" in f.name.lower():
                    found.append((ds, f"{coll.name}.{f.name}"))
    return found


def col_consent_record(ctx: Context, act: Activity) -> Cell:
    basis = getattr(act.decl.legal_basis_for_processing, "value", act.decl.legal_basis_for_processing)
    declared_link = str((act.system.meta or {}).get("consent_record") or "")
    fields = _consent_fields(ctx, act)
    checks = verify(ctx, "consent_record", act.system.fides_key)
    declared = [_where(ctx, act, "meta.consent_record", True)] + [
        f"{ctx.map.dataset_file_of(ds.fides_key)}: dataset {ds.fides_key}.{f}" for ds, f in fields]
    said = _join(f"{ds.name or ds.fides_key}: {f}" for ds, f in fields)
    parts = [declared_link] + ([f"{ctx.t('value.consent_fields')} {said}"] if fields else [])
    value = _join(parts)
    if basis != "Consent" and not value:
        return _cell(ctx.t("value.not_applicable"), declared=declared[:1], not_applicable=True)
    return _cell(value, declared=declared, verified=checks, where=declared[0])


def col_breach_record(ctx: Context, act: Activity) -> Cell:
    """Whom a breach of this system must be reported to (the map's breach impact), and the breach register."""
    w = _where(ctx, act, "meta.breach_record", True)
    record = str((act.system.meta or {}).get("breach_record") or "")
    parts = []
    if ctx.map.datamap is not None:
        from datamap.map import breach_impact

        impact = breach_impact(ctx.map.datamap, act.system.fides_key)
        if impact["notify_authority"]:
            parts.append(ctx.t("value.breach_authority"))
        if impact["notify_subjects"]:
            parts.append(ctx.t("value.breach_subjects", categories=", ".join(
                label(c, ctx.lang, "data_category") for c in impact["high_risk_categories"])))
    parts.append(f"{ctx.t('value.breach_register')}: {record}" if record else "")
    declared = [w] + ([_where(ctx, act, "privacy_declarations.data_categories", True)] if parts[:-1] else [])
    return _cell(_join(parts), declared=declared, where=w)


# A register entry is reviewed once a year unless the map says when next (``meta.next_review``).
REVIEW_EVERY = relativedelta(years=1)


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def col_last_review(ctx: Context, act: Activity) -> Cell:
    """A person's review when the map declares one; else "not reviewed" (and, for the auditor, the run that checked)."""
    w = _where(ctx, act, "meta.last_reviewed", True)
    when, who = _per_activity(act, "last_reviewed"), _per_activity(act, "reviewed_by")
    if when:
        return _cell(f"{when} {ctx.t('value.by')} {who}" if who else str(when), declared=[w])
    said = ctx.t("value.not_reviewed")
    if ctx.run is not None and not ctx.for_ap:
        said = ctx.t("value.reviewed_by_audit", run=ctx.run.run_id, as_of=ctx.run.meta.get("as_of") or "")
    return Cell(said, MISSING, False, (w,), (), (), w)


def col_next_review(ctx: Context, act: Activity) -> Cell:
    """The next review: declared, else a year after the last one; none planned without a last review."""
    w = _where(ctx, act, "meta.next_review", True)
    declared = _per_activity(act, "next_review")
    if declared:
        return _cell(str(declared), declared=[w])
    last = _date(_per_activity(act, "last_reviewed"))
    if last is not None:
        return _cell((last + REVIEW_EVERY).isoformat(), declared=[_where(ctx, act, "meta.last_reviewed", True)])
    return Cell(ctx.t("value.no_review_planned"), MISSING, False, (w,), (), (), w)


def col_records(ctx: Context, act: Activity) -> Cell:
    if ctx.run is None:
        return _cell("", where="datamap audit")
    counts = [(ds, ctx.run.rows_of_dataset(ds)) for ds in _datasets_of(act)]
    counts = [(ctx.map.dataset(ds), ds, n) for ds, n in counts if n is not None]
    if not counts:
        return _cell("", where="datamap audit")
    value = _join(f"{(d.name if d else None) or ds}: {_number(n, ctx.lang)}" for d, ds, n in counts)
    return _cell(value, observed=_observed(ctx, act))


def col_checks(ctx: Context, act: Activity) -> Cell:
    if ctx.run is None:
        return _cell("", where="datamap audit")
    verdicts: dict[str, Check] = {}
    for name in verifying_rules():
        for v in verify(ctx, name, act.system.fides_key):
            verdicts[v.check] = v
    if not verdicts:
        return _cell("", where="datamap audit")
    value = _join(v.text(ctx.lang) for v in sorted(verdicts.values(), key=lambda v: v.check))
    return _cell(value, verified=tuple(verdicts.values()))


COLUMNS: dict[str, Callable[[Context, Activity], Cell]] = {
    name[len("col_"):]: fn for name, fn in globals().items() if name.startswith("col_") and callable(fn)
}


# --- the processor register (Art. 30(2)) -------------------------------------------------------


def col_processor(ctx: Context, act: Activity) -> Cell:
    return col_controller(ctx, act)


def col_processor_contact(ctx: Context, act: Activity) -> Cell:
    return col_controller_contact(ctx, act)


def col_on_behalf_of(ctx: Context, act: Activity) -> Cell:
    meta = act.system.meta or {}
    w = _where(ctx, act, "meta.controllers", True)
    value = meta.get("controllers") or meta.get("controller") or act.system.joint_controller_info or ""
    if isinstance(value, list):
        value = _join(str(v) for v in value)
    return _cell(str(value), mandatory=True, declared=[w], where=w)


def col_processing_categories(ctx: Context, act: Activity) -> Cell:
    w = _where(ctx, act, "data_use")
    return _cell(ctx.label(act.decl.data_use, "data_use"), mandatory=True, declared=[w], where=w)


PROCESSOR_COLUMNS: dict[str, Callable[[Context, Activity], Cell]] = {
    **COLUMNS, "processor": col_processor, "processor_contact": col_processor_contact,
    "on_behalf_of": col_on_behalf_of, "processing_categories": col_processing_categories,
}

