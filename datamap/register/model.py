"""The register of processing activities (Art. 30 GDPR) as plain data: rows of cells with provenance.

One row per processing activity, i.e. per privacy declaration of an internal system. Each cell
says its value and where it came from: declared (manifest file and key, or a policy.yml key),
observed (the audit store's sources and row counts), verified (which check of which run, with
which result). The writers (:mod:`datamap.register.xlsx`, :mod:`datamap.register.html`) only lay this out.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml
from fideslang.models import Dataset, Organization, PrivacyDeclaration, System

from datamap.map import EXTERNAL_TYPES, outside_eea
from datamap.register.run import ArchivedRun
from datamap.register.terms import duration, t, t_or
from datamap.workspace import Policy


# Status of a cell: answered from a declaration; verified / contradicted by a check of the run;
# missing (a gap when mandatory); not applicable (an answer too, e.g. no representative needed).
ANSWERED, VERIFIED, CONTRADICTED, MISSING, NOT_APPLICABLE = (
    "answered", "verified", "contradicted", "missing", "not_applicable",
)


# --- the input: the map as fideslang resources -------------------------------------------------


@dataclass(frozen=True)
class MapInput:
    """The map as the register needs it: fideslang resources and the manifest file of each."""

    organization: Organization | None
    systems: list[System]
    datasets: list[Dataset]
    files: dict[str, str] = field(default_factory=dict)  # organization/system fides_key -> manifest relpath
    names: dict[str, str] = field(default_factory=dict)  # taxonomy key -> human name
    dataset_files: dict[str, str] = field(default_factory=dict)  # dataset fides_key -> manifest relpath
    datamap: Any = None  # the datamap.map.DataMap it came from, for the map's queries (breach impact)

    def system(self, key: str) -> System | None:
        return next((s for s in self.systems if s.fides_key == key), None)

    def file_of(self, key: str) -> str:
        return self.files.get(key, "manifests")

    def dataset_file_of(self, key: str) -> str:
        return self.dataset_files.get(key, "manifests")

    def name(self, key: str) -> str:
        return self.names.get(key) or key


def taxonomy_names(taxonomy: Any) -> dict[str, str]:
    """Flatten a :class:`datamap.taxonomy.Taxonomy`'s names (categories, uses, subjects) by key."""
    names: dict[str, str] = {}
    for kind in ("data_category", "data_use", "data_subject"):
        names.update(taxonomy.names.get(kind, {}))
    return names


def map_input_from_datamap(dm: Any) -> MapInput:
    """Adapt :class:`datamap.map.DataMap` (resources by key, provenance by (type, key))."""
    org = next(iter(dm.organizations.values()), None)
    files = {key: rel for (kind, key), rel in dm.provenance.items() if kind in ("organization", "system")}
    dataset_files = {key: rel for (kind, key), rel in dm.provenance.items() if kind == "dataset"}
    return MapInput(org, list(dm.systems.values()), list(dm.datasets.values()), files, taxonomy_names(dm.taxonomy),
                    dataset_files, dm)


def load_map_input(workspace: Any) -> MapInput:
    """Load the workspace's map with :func:`datamap.map.load_map` and adapt it."""
    from datamap.map import load_map

    return map_input_from_datamap(load_map(workspace))


# --- the output: rows of cells -------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One check's verdict on one cell."""

    check: str
    run: str
    result: str  # passed | failed | not_run | not_applicable
    findings: int = 0
    reason: str = ""

    def text(self, lang: str) -> str:
        words = f"{self.check}: {t('status.' + self.result, lang)}"
        if self.result == "failed":
            words += f", {self.findings}"
        if self.result in ("not_run", "not_applicable") and self.reason:
            words += f": {self.reason}"
        return words


@dataclass(frozen=True)
class Cell:
    value: str
    status: str
    mandatory: bool = False
    declared: tuple[str, ...] = ()
    observed: tuple[str, ...] = ()
    verified: tuple[Check, ...] = ()
    where: str = ""  # where to fill it in when missing

    @property
    def is_gap(self) -> bool:
        return self.status == MISSING and self.mandatory


@dataclass(frozen=True)
class Row:
    activity: str
    system: str
    declaration: str
    cells: dict[str, Cell]


@dataclass(frozen=True)
class Gap:
    activity: str
    system: str
    field: str
    where: str
    mandatory: bool


@dataclass(frozen=True)
class Coverage:
    group: str
    questions: int
    answers: int
    answered: int
    verified: int
    contradicted: int
    missing: int


@dataclass(frozen=True)
class Register:
    lang: str
    organization: str
    generated: str
    run_id: str | None
    columns: list[str]
    processor_columns: list[str]
    rows: list[Row]
    processor_rows: list[Row]
    gaps: list[Gap]
    coverage: list[Coverage]
    questions: list[dict[str, Any]]

    def __repr__(self) -> str:
        # short on purpose: the full register holds contact details that logs should not repeat
        return (f"Register(lang={self.lang!r}, activities={len(self.rows)}, processor_activities={len(self.processor_rows)}, "
                f"gaps={len(self.gaps)}, run={self.run_id!r})")

    # In a notebook, datamap.show.register(reg) shows its gaps first and the register framed.


@functools.lru_cache(maxsize=1)
def question_catalogue() -> dict[str, Any]:
    """The regulators' questions, their groups and the register's columns (questions.yml)."""
    return yaml.safe_load(Path(__file__).with_name("questions.yml").read_text(encoding="utf-8"))


# --- building -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    map: MapInput
    policy: Policy | None
    run: ArchivedRun | None
    lang: str

    def t(self, key: str, **values: object) -> str:
        return t(key, self.lang, **values)


# Which rules verify which column, and for which systems a check that found nothing counts as
# having verified it. Map-level rules look at every internal system; data-level ones only at the
# systems the policy points them at, or that the check lists in checks.json (`systems`).
VERIFYING_RULES: dict[str, tuple[str, ...]] = {
    "purpose": ("purpose.undeclared_use",),
    "data_categories": ("discovery.undeclared_personal_data",),
    "recipients": ("sharing.undeclared_recipient", "sharing.processor_without_dpa"),
    "processors": ("sharing.processor_without_dpa",),
    "third_parties": ("sharing.undeclared_recipient",),
    "transfers": ("transfer.outside_eea_without_basis",),
    "safeguards": ("transfer.outside_eea_without_basis",),
    "retention": ("retention.expired",),
    "retention_adherence": ("retention.expired",),
    "security": ("access.non_employee_account", "access.departed_employee_active",
                 "access.role_not_authorized", "access.review_overdue", "quality.plaintext_credentials"),
    "rights": ("rights.erasure_incomplete", "rights.correction_not_applied", "rights.request_overdue"),
    "consent_record": ("consent.missing", "consent.opt_out_ignored"),
}
MAP_LEVEL_RULES = ("purpose.undeclared_use", "sharing.processor_without_dpa", "transfer.outside_eea_without_basis")


def _finding_check(finding: dict[str, Any]) -> str:
    return str(finding.get("check") or finding.get("rule") or "")


def _checks_for_rules(run: ArchivedRun, rules: Iterable[str]) -> list[dict[str, Any]]:
    wanted = set(rules)
    return [c for c in run.checks if c.get("rule") in wanted]


def _relevant(ctx: _Context, check: dict[str, Any], system: str) -> bool:
    """Did this check look at ``system``? (so that no finding there means it holds there)."""
    if isinstance(check.get("systems"), list):
        return system in check["systems"]
    rule = check.get("rule", "")
    if rule in MAP_LEVEL_RULES:
        return True
    if ctx.policy is None:
        return False
    if rule == "retention.expired":
        return any(r.system == system for r in ctx.policy.retention)
    if rule == "access.review_overdue":
        return system in ctx.policy.access.reviewed_systems
    return False


def _scope(ctx: _Context, check_id: str, system: str, suffixes: Iterable[str] | None) -> bool | None:
    """Whether a check's id names this system (``P05.retention.zoho_crm.leads``); None when it names none."""
    systems = {s.fides_key for s in ctx.map.systems}
    named = [p for p in check_id.split(".") if p in systems]
    if not named:
        return None
    if suffixes is not None:
        return any(check_id.endswith("." + s) for s in suffixes)
    return system in named


def verify(ctx: _Context, field_name: str, system: str, record_keys: Iterable[str] | None = None,
           suffixes: Iterable[str] | None = None) -> tuple[Check, ...]:
    """The verdicts of the latest run's checks on one column of one system's activity.

    ``record_keys`` narrows the findings to those about given keys (a data use, a recipient);
    ``suffixes`` narrows checks run per item to the items of this activity (``zoho_crm.leads``).
    """
    if ctx.run is None:
        return ()
    keys = set(record_keys) if record_keys is not None else None
    suffix_list = list(suffixes) if suffixes is not None else None
    verdicts = []
    for check in _checks_for_rules(ctx.run, VERIFYING_RULES.get(field_name, ())):
        cid = str(check.get("check") or check.get("rule"))
        scope = _scope(ctx, cid, system, suffix_list)
        if scope is False:
            continue
        hits = [
            f for f in ctx.run.findings
            if f.get("system") == system and f.get("rule") == check.get("rule") and _finding_check(f) in (cid, check.get("rule"))
            and (keys is None or str(f.get("record_key")) in keys)
        ]
        status = check.get("status")
        if status in ("not_run", "not_applicable"):  # never counted as held
            verdicts.append(Check(cid, ctx.run.run_id, str(status), 0, str(check.get("reason") or "")))
        elif hits:
            verdicts.append(Check(cid, ctx.run.run_id, "failed", len(hits)))
        elif status in ("passed", "failed") and (scope or _relevant(ctx, check, system)):
            verdicts.append(Check(cid, ctx.run.run_id, "passed"))
    return tuple(verdicts)


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


def _decl_key(system: System, index: int, decl: PrivacyDeclaration) -> str:
    label = decl.name or str(index)
    return f"{system.fides_key}.privacy_declarations[{label}]"


def _is_parent_or_self(parent: str, key: str) -> bool:
    return key == parent or key.startswith(parent + ".")


# --- the columns: one small function each --------------------------------------------------------


@dataclass(frozen=True)
class _Activity:
    system: System
    decl: PrivacyDeclaration
    index: int

    @property
    def file_key(self) -> str:
        return _decl_key(self.system, self.index, self.decl)


def _where(ctx: _Context, act: _Activity, key: str, on_system: bool = False) -> str:
    base = act.system.fides_key if on_system else act.file_key
    return f"{ctx.map.file_of(act.system.fides_key)}: {base}.{key}"


def _org_where(ctx: _Context, key: str) -> str:
    org = ctx.map.organization
    name = org.fides_key if org else (ctx.policy.organization if ctx.policy else "organization")
    return f"{ctx.map.file_of(name)}: organization {name}.{key}"


def col_activity(ctx: _Context, act: _Activity) -> Cell:
    name = act.decl.name or f"{act.system.name or act.system.fides_key}: {ctx.map.name(act.decl.data_use)}"
    return _cell(name, mandatory=True, declared=[_where(ctx, act, "name")], where=_where(ctx, act, "name"))


def col_system(ctx: _Context, act: _Activity) -> Cell:
    s = act.system
    return _cell(f"{s.name or s.fides_key} ({s.fides_key})", declared=[_where(ctx, act, "name", True)])


def col_system_description(ctx: _Context, act: _Activity) -> Cell:
    w = _where(ctx, act, "description", True)
    return _cell(act.system.description or "", declared=[w], where=w)


def col_controller(ctx: _Context, act: _Activity) -> Cell:
    org = ctx.map.organization
    name = (org.controller.name if org and org.controller else None) or (org.name if org else "")
    return _cell(name or "", mandatory=True, declared=[_org_where(ctx, "controller.name")], where=_org_where(ctx, "controller"))


def col_controller_contact(ctx: _Context, act: _Activity) -> Cell:
    org = ctx.map.organization
    details = org.controller if org else None
    value = ", ".join(p for p in (getattr(details, "address", ""), getattr(details, "email", ""), getattr(details, "phone", "")) if p) if details else ""
    return _cell(value, mandatory=True, declared=[_org_where(ctx, "controller")], where=_org_where(ctx, "controller"))


def col_joint_controllers(ctx: _Context, act: _Activity) -> Cell:
    w = _where(ctx, act, "joint_controller_info", True)
    if act.system.joint_controller_info:
        return _cell(act.system.joint_controller_info, mandatory=True, declared=[w])
    return _cell(ctx.t("value.no_joint_controllers"), mandatory=True, declared=[w], not_applicable=True)


def col_representative(ctx: _Context, act: _Activity) -> Cell:
    org = ctx.map.organization
    w = _org_where(ctx, "representative")
    if org and org.representative:
        return _cell(_contact(org.representative), mandatory=True, declared=[w])
    # Art. 27 asks for a representative only of controllers established outside the Union.
    return _cell(ctx.t("value.no_representative"), mandatory=True, declared=[w], not_applicable=True)


def col_dpo(ctx: _Context, act: _Activity) -> Cell:
    org = ctx.map.organization
    w = _org_where(ctx, "data_protection_officer")
    value = _contact(org.data_protection_officer) if org else ""
    return _cell(value, mandatory=True, declared=[w], where=w)


def col_role(ctx: _Context, act: _Activity) -> Cell:
    w = _where(ctx, act, "responsibility", True)
    roles = act.system.responsibility or []
    if not roles and ctx.map.organization is not None:
        # an internal system without a declared role is the organisation's own: it is the controller
        return _cell(t("role.Controller", ctx.lang), declared=[w, _org_where(ctx, "controller")])
    return _cell(_join(t_or(f"role.{r}", ctx.lang, str(r)) for r in roles), declared=[w], where=w)


def col_department(ctx: _Context, act: _Activity) -> Cell:
    w = _where(ctx, act, "administrating_department", True)
    dep = act.system.administrating_department
    return _cell("" if dep in (None, "Not defined") else dep, declared=[w], where=w)


def col_data_steward(ctx: _Context, act: _Activity) -> Cell:
    w = _where(ctx, act, "meta.data_steward", True)
    return _cell(str((act.system.meta or {}).get("data_steward") or ""), declared=[w], where=w)


def _purposes_for(ctx: _Context, act: _Activity) -> list[tuple[int, Any]]:
    if ctx.policy is None:
        return []
    found = []
    for i, purpose in enumerate(ctx.policy.notice.purposes):
        if any(_is_parent_or_self(use, act.decl.data_use) for use in purpose.data_uses):
            found.append((i, purpose))
    return found


def col_purpose(ctx: _Context, act: _Activity) -> Cell:
    use = act.decl.data_use
    declared = [_where(ctx, act, "data_use")]
    purposes = _purposes_for(ctx, act)
    declared += [f"policy.yml: notice.purposes[{p.key}]" for _, p in purposes]
    value = f"{ctx.map.name(use)} ({use})"
    if purposes:
        value += " — " + _join(f"{p.key}: {p.text}" for _, p in purposes)
    checks = verify(ctx, "purpose", act.system.fides_key, [use])
    return _cell(value, mandatory=True, declared=declared, verified=checks, where=declared[0])


def col_legal_basis(ctx: _Context, act: _Activity) -> Cell:
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


def col_legitimate_interest(ctx: _Context, act: _Activity) -> Cell:
    basis = getattr(act.decl.legal_basis_for_processing, "value", act.decl.legal_basis_for_processing)
    w_lia = _where(ctx, act, "impact_assessment_location")
    w_url = _where(ctx, act, "legitimate_interest_disclosure_url", True)
    parts = [act.decl.impact_assessment_location or "", str(act.system.legitimate_interest_disclosure_url or "")]
    value = _join(parts)
    if basis != "Legitimate interests":
        return _cell(value or ctx.t("value.not_applicable"), declared=[w_lia, w_url], not_applicable=not value)
    return _cell(value, declared=[w_lia, w_url], where=w_lia)


def col_special_category_basis(ctx: _Context, act: _Activity) -> Cell:
    w = _where(ctx, act, "special_category_legal_basis")
    if not act.decl.processes_special_category_data:
        return _cell(ctx.t("value.no_special_categories"), declared=[_where(ctx, act, "processes_special_category_data")], not_applicable=True)
    basis = act.decl.special_category_legal_basis
    return _cell(str(getattr(basis, "value", basis) or ""), declared=[w], where=w)


def col_data_subjects(ctx: _Context, act: _Activity) -> Cell:
    w = _where(ctx, act, "data_subjects")
    return _cell(_join(f"{ctx.map.name(s)} ({s})" for s in act.decl.data_subjects), mandatory=True, declared=[w], where=w)


def _datasets_of(act: _Activity) -> list[str]:
    return list(act.decl.dataset_references or act.system.dataset_references or [])


def _observed(ctx: _Context, act: _Activity) -> list[str]:
    if ctx.run is None:
        return []
    seen = []
    for ds in _datasets_of(act):
        for src in ctx.run.sources_of_dataset(ds):
            seen.append(f"{src.get('source') or src.get('tbl')}: {ctx.t('value.records', n=src.get('rows'))}")
    return seen


def col_data_categories(ctx: _Context, act: _Activity) -> Cell:
    w = _where(ctx, act, "data_categories")
    value = _join(f"{ctx.map.name(c)} ({c})" for c in act.decl.data_categories)
    checks = verify(ctx, "data_categories", act.system.fides_key)
    return _cell(value, mandatory=True, declared=[w], observed=_observed(ctx, act), verified=checks, where=w)


def col_source(ctx: _Context, act: _Activity) -> Cell:
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


def _recipients(ctx: _Context, act: _Activity) -> list[tuple[System, list[str], str]]:
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


def col_recipients(ctx: _Context, act: _Activity) -> Cell:
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


def col_processors(ctx: _Context, act: _Activity) -> Cell:
    procs = [r for r in _recipients(ctx, act) if r[0].system_type == "Processor"]
    parts = []
    for proc, cats, _ in procs:
        dpa = proc.dpa_location or ctx.t("value.no_agreement")
        parts.append(f"{_party(proc)} [{_join(cats)}] — {ctx.t('value.agreement')}: {dpa}")
    declared = [d for _, _, d in procs] + [f"{ctx.map.file_of(p.fides_key)}: {p.fides_key}.dpa_location" for p, _, _ in procs]
    checks = verify(ctx, "processors", act.system.fides_key, [p.fides_key for p, _, _ in procs])
    value = _join(parts) if procs else ctx.t("value.none")
    return _cell(value, declared=declared, verified=checks, not_applicable=not procs)


def col_third_parties(ctx: _Context, act: _Activity) -> Cell:
    third = [r for r in _recipients(ctx, act) if r[0].system_type in ("Third Party", "Public Authority")]
    w = _where(ctx, act, "data_shared_with_third_parties")
    parts = [f"{_party(p)} [{_join(c)}]" for p, c, _ in third]
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


def _transfers(ctx: _Context, act: _Activity) -> list[tuple[System, list[str], str]]:
    return [r for r in _external(_recipients(ctx, act)) if outside_eea(r[0])]


def col_transfers(ctx: _Context, act: _Activity) -> Cell:
    transfers = _transfers(ctx, act)
    checks = verify(ctx, "transfers", act.system.fides_key, [p.fides_key for p, _, _ in transfers] if transfers else None)
    if not transfers:
        return _cell(ctx.t("value.no_transfers"), mandatory=True, declared=[d for _, _, d in _external(_recipients(ctx, act))], verified=checks, not_applicable=True)
    value = _join(f"{_party(p)}: {', '.join(_transfer_countries(p))}" for p, _, _ in transfers)
    declared = [f"{ctx.map.file_of(p.fides_key)}: {p.fides_key}.{'meta.transfer_countries' if (p.meta or {}).get('transfer_countries') else 'meta.country'}"
                for p, _, _ in transfers]
    return _cell(value, mandatory=True, declared=declared, verified=checks)


def col_safeguards(ctx: _Context, act: _Activity) -> Cell:
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


def _retention_rules(ctx: _Context, act: _Activity) -> list[tuple[int, Any]]:
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


def col_retention(ctx: _Context, act: _Activity) -> Cell:
    w = _where(ctx, act, "retention_period")
    rules = _retention_rules(ctx, act)
    parts = []
    if act.decl.retention_period:
        parts.append(act.decl.retention_period)
    for _, rule in rules:
        start = ctx.t("value.after_fiscal_year_end") if rule.anchor == "fiscal_year_end" else ctx.t("value.from")
        text = f"{rule.collection}: {duration(rule.period, ctx.lang)} {start} {rule.date_column}"
        if rule.legal_duty:
            text += f" ({ctx.t('value.legal_duty')}: {rule.legal_duty})"
        parts.append(text)
    declared = ([w] if act.decl.retention_period else []) + [f"policy.yml: retention[{i}] ({r.system}.{r.collection})" for i, r in rules]
    checks = verify(ctx, "retention", act.system.fides_key, suffixes=[f"{r.system}.{r.collection}" for _, r in rules])
    return _cell(_join(parts), mandatory=True, declared=declared or [w], verified=checks, where=f"{w} / policy.yml: retention")


def col_retention_adherence(ctx: _Context, act: _Activity) -> Cell:
    rules = _retention_rules(ctx, act)
    if not rules:
        return _cell("", where=f"policy.yml: retention (system {act.system.fides_key})")
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
        value = ""
    return _cell(value, declared=[f"policy.yml: retention[{i}]" for i, _ in rules], verified=checks,
                 where="datamap audit (check retention.expired)")


def col_security(ctx: _Context, act: _Activity) -> Cell:
    org = ctx.map.organization
    parts = [act.system.data_security_practices or ""]
    if org and org.security_policy:
        parts.append(str(org.security_policy))
    w = _where(ctx, act, "data_security_practices", True)
    checks = verify(ctx, "security", act.system.fides_key)
    return _cell(_join(parts), mandatory=True, declared=[w, _org_where(ctx, "security_policy")], verified=checks, where=w)


def col_storage_location(ctx: _Context, act: _Activity) -> Cell:
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


def col_automated_decisions(ctx: _Context, act: _Activity) -> Cell:
    s = act.system
    w = _where(ctx, act, "uses_profiling", True)
    if not s.uses_profiling:
        return _cell(ctx.t("value.no_profiling"), declared=[w])
    bases = _join(str(getattr(b, "value", b)) for b in s.legal_basis_for_profiling)
    desc = str((s.meta or {}).get("profiling") or "")
    return _cell(_join([ctx.t("value.yes"), desc, bases]), declared=[w, _where(ctx, act, "legal_basis_for_profiling", True)])


def col_dpia(ctx: _Context, act: _Activity) -> Cell:
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


def col_rights(ctx: _Context, act: _Activity) -> Cell:
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
                               deadline=duration(ctx.policy.requests.deadline, ctx.lang))
        declared.append("policy.yml: requests")
    return _cell(value, declared=declared, verified=verify(ctx, "rights", act.system.fides_key))


def col_notice_link(ctx: _Context, act: _Activity) -> Cell:
    parts = [str(act.system.privacy_policy or "")]
    declared = [_where(ctx, act, "privacy_policy", True)]
    if ctx.policy is not None:
        parts.append(ctx.policy.notice.file)
        declared.append("policy.yml: notice.file")
    return _cell(_join(parts), declared=declared, where="policy.yml: notice.file")


def _consent_fields(ctx: _Context, act: _Activity) -> list[str]:
    found = []
    for ds in ctx.map.datasets:
        if ds.fides_key not in _datasets_of(act):
            continue
        for coll in ds.collections:
            for f in coll.fields:
                if "consent" in f.name.lower() or "opt_in" in f.name.lower() or "opt_out" in f.name.lower():
                    found.append(f"{ds.fides_key}.{coll.name}.{f.name}")
    return found


def col_consent_record(ctx: _Context, act: _Activity) -> Cell:
    basis = getattr(act.decl.legal_basis_for_processing, "value", act.decl.legal_basis_for_processing)
    declared_link = str((act.system.meta or {}).get("consent_record") or "")
    fields = _consent_fields(ctx, act)
    checks = verify(ctx, "consent_record", act.system.fides_key)
    declared = [_where(ctx, act, "meta.consent_record", True)] + [f"{ctx.map.dataset_file_of(f.split('.')[0])}: dataset {f}" for f in fields]
    parts = [declared_link] + ([f"{ctx.t('value.consent_fields')} {_join(fields)}"] if fields else [])
    value = _join(parts)
    if basis != "Consent" and not value:
        return _cell(ctx.t("value.not_applicable"), declared=declared[:1], not_applicable=True)
    return _cell(value, declared=declared, verified=checks, where=declared[0])


def col_breach_record(ctx: _Context, act: _Activity) -> Cell:
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
            parts.append(ctx.t("value.breach_subjects", categories=", ".join(impact["high_risk_categories"])))
    parts.append(f"{ctx.t('value.breach_register')}: {record}" if record else "")
    declared = [w] + ([_where(ctx, act, "privacy_declarations.data_categories", True)] if parts[:-1] else [])
    return _cell(_join(parts), declared=declared, where=w)


def col_last_review(ctx: _Context, act: _Activity) -> Cell:
    """A person's review when the map declares one; else the audit run that last checked the entry."""
    meta = act.system.meta or {}
    w = _where(ctx, act, "meta.last_reviewed", True)
    when, who = meta.get("last_reviewed"), meta.get("reviewed_by")
    if when:
        return _cell(f"{when} {ctx.t('value.by')} {who}" if who else str(when), declared=[w])
    if ctx.run is not None:
        as_of = ctx.run.meta.get("as_of") or ""
        return _cell(ctx.t("value.reviewed_by_audit", run=ctx.run.run_id, as_of=as_of), declared=[w],
                     observed=[f"{ctx.t('label.audit_run')} {ctx.run.folder.name}"], where=w)
    return _cell("", declared=[w], where=w)


def col_records(ctx: _Context, act: _Activity) -> Cell:
    if ctx.run is None:
        return _cell("", where="datamap audit")
    counts = [(ds, ctx.run.rows_of_dataset(ds)) for ds in _datasets_of(act)]
    counts = [(ds, n) for ds, n in counts if n is not None]
    if not counts:
        return _cell("", where="datamap audit")
    value = _join(f"{ds}: {n:,}".replace(",", "." if ctx.lang == "nl" else ",") for ds, n in counts)
    return _cell(value, observed=_observed(ctx, act))


def col_checks(ctx: _Context, act: _Activity) -> Cell:
    if ctx.run is None:
        return _cell("", where="datamap audit")
    verdicts: dict[str, Check] = {}
    for name in VERIFYING_RULES:
        for v in verify(ctx, name, act.system.fides_key):
            verdicts[v.check] = v
    if not verdicts:
        return _cell("", where="datamap audit")
    value = _join(v.text(ctx.lang) for v in sorted(verdicts.values(), key=lambda v: v.check))
    return _cell(value, verified=tuple(verdicts.values()))


COLUMNS: dict[str, Callable[[_Context, _Activity], Cell]] = {
    name[len("col_"):]: fn for name, fn in globals().items() if name.startswith("col_") and callable(fn)
}


# --- the processor register (Art. 30(2)) -------------------------------------------------------


def col_processor(ctx: _Context, act: _Activity) -> Cell:
    return col_controller(ctx, act)


def col_processor_contact(ctx: _Context, act: _Activity) -> Cell:
    return col_controller_contact(ctx, act)


def col_on_behalf_of(ctx: _Context, act: _Activity) -> Cell:
    meta = act.system.meta or {}
    w = _where(ctx, act, "meta.controllers", True)
    value = meta.get("controllers") or meta.get("controller") or act.system.joint_controller_info or ""
    if isinstance(value, list):
        value = _join(str(v) for v in value)
    return _cell(str(value), mandatory=True, declared=[w], where=w)


def col_processing_categories(ctx: _Context, act: _Activity) -> Cell:
    w = _where(ctx, act, "data_use")
    return _cell(f"{ctx.map.name(act.decl.data_use)} ({act.decl.data_use})", mandatory=True, declared=[w], where=w)


PROCESSOR_COLUMNS: dict[str, Callable[[_Context, _Activity], Cell]] = {
    **COLUMNS, "processor": col_processor, "processor_contact": col_processor_contact,
    "on_behalf_of": col_on_behalf_of, "processing_categories": col_processing_categories,
}


# --- assembling ---------------------------------------------------------------------------------


def _is_internal(system: System) -> bool:
    return system.system_type not in EXTERNAL_TYPES


def activities(map_input: MapInput) -> list[_Activity]:
    """Every processing activity: the privacy declarations of the internal systems, in map order."""
    return [
        _Activity(s, d, i)
        for s in map_input.systems if _is_internal(s) and s.processes_personal_data
        for i, d in enumerate(s.privacy_declarations)
    ]


def _is_processor_activity(act: _Activity) -> bool:
    return "Processor" in [str(r) for r in act.system.responsibility or []]


def _row(ctx: _Context, act: _Activity, columns: list[str], table: dict[str, Callable[[_Context, _Activity], Cell]],
         mandatory: set[str]) -> Row:
    cells = {}
    for name in columns:
        cell = table[name](ctx, act)
        if name in mandatory and not cell.mandatory:
            cell = Cell(cell.value, cell.status, True, cell.declared, cell.observed, cell.verified, cell.where)
        cells[name] = cell
    return Row(cells["activity"].value, act.system.fides_key, act.file_key, cells)


def coverage(rows: list[Row], questions: list[dict[str, Any]]) -> list[Coverage]:
    """Per question group: answers expected (questions x activities), answered, verified, missing."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for q in questions:
        groups.setdefault(q["group"], []).append(q)
    table = []
    for group, qs in groups.items():
        cells = [row.cells[q["field"]] for q in qs for row in rows]
        table.append(Coverage(
            group=group,
            questions=len(qs),
            answers=len(cells),
            answered=sum(c.status != MISSING for c in cells),
            verified=sum(c.status == VERIFIED for c in cells),
            contradicted=sum(c.status == CONTRADICTED for c in cells),
            missing=sum(c.status == MISSING for c in cells),
        ))
    return table


def build_register(map_input: MapInput, policy: Policy | None = None, run: ArchivedRun | None = None,
                   lang: str = "en", generated: dt.datetime | None = None) -> Register:
    """Build the controller and processor registers, their gaps and the question coverage."""
    from datamap.register.terms import check_language

    ctx = _Context(map_input, policy, run, check_language(lang))
    cat = question_catalogue()
    columns, pcolumns = list(cat["columns"]), list(cat["processor_columns"])
    mandatory = set(cat["art30_columns"])
    acts = activities(map_input)
    rows = [_row(ctx, a, columns, COLUMNS, mandatory) for a in acts]
    prows = [_row(ctx, a, pcolumns, PROCESSOR_COLUMNS, mandatory | {"on_behalf_of", "processing_categories"})
             for a in acts if _is_processor_activity(a)]
    gaps = [
        Gap(row.activity, row.system, name, cell.where, cell.mandatory)
        for r_list in (rows, prows) for row in r_list for name, cell in row.cells.items() if cell.is_gap
    ]
    org = map_input.organization
    stamp = (generated or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    return Register(
        lang=lang,
        organization=(org.name or org.fides_key) if org else "",
        generated=stamp,
        run_id=run.run_id if run else None,
        columns=columns,
        processor_columns=pcolumns,
        rows=rows,
        processor_rows=prows,
        gaps=gaps,
        coverage=coverage(rows, cat["questions"]),
        questions=list(cat["questions"]),
    )
