"""The catalogue of checks: one YAML file per claim of the notice (``checks/P01.yml`` ...).

A privacy officer adds a check by adding YAML; loading validates every entry with pydantic and
turns the first problem into one :class:`~datamap.errors.BadInput` naming the file and the key.
Policy values never appear here: a check names the parameter (``${policy.trials.max_days}``)
and the runner resolves it from ``policy.yml`` into the store's ``params`` table.
"""
from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from datamap.errors import BadInput
from datamap.workspace import read_yaml, validation_error

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "checks"
CLAIM_ID = re.compile(r"^P\d{2}$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PARAM_REF = re.compile(r"^\$\{(?P<path>[A-Za-z_][A-Za-z0-9_.]*)\}$")

Kind = Literal["sql", "column", "map", "discovery", "notice"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FindingSpec(_Model):
    """How one unexpected row becomes a Finding; each text is a ``{column}`` template over the row."""

    record_key: str
    detail: str
    detail_nl: str | None = Field(None, description="the detail in Dutch, with the same {column} fields")
    system: str | None = Field(None, description="default: the manifest system that holds the finding's dataset")
    dataset: str | None = None
    collection: str | None = None
    source_table: str | None = Field(None, description="store table of the record, for the evidence's source")
    row: str | None = Field("_row", description="column holding the data row in the source")
    subject_email: str | None = Field(None, description="column with the subject's e-mail")
    subject_phone: str | None = None
    subject_iban: str | None = None
    evidence: list[str] = Field(default_factory=list, description="columns kept as evidence (pseudonymised)")
    redact: list[str] = Field(default_factory=list, description="evidence columns whose value is never shown")
    pseudonymise: list[str] = Field(default_factory=list,
                                    description="evidence columns shown only as a keyed pseudonym (names, stale values)")

    @model_validator(mode="after")
    def _same_fields(self) -> "FindingSpec":
        _same_fields_as(self.detail, self.detail_nl, "detail_nl")
        return self


class Check(_Model):
    """One verifiable part of a claim."""

    id: str = Field(description="short id, unique within the claim (the full id is <claim>.<id>)")
    name: str
    name_nl: str | None = Field(None, description="the name in Dutch, with the same {system}/{collection} fields")
    rule: str
    severity: Literal["critical", "high", "medium", "low"]
    kind: Kind
    description: str = ""
    # kind: sql -- a gx.expectations.UnexpectedRowsExpectation over the audit store
    table: str | None = Field(None, description="the store table that is the batch ({batch})")
    query: str | None = None
    restricted_query: str | None = Field(None, description="rows kept under a legal duty (reported, not findings)")
    needs: list[str] | None = Field(
        None, description="the store tables whose identifiers the query reads (default: every identity collection)")
    # kind: column -- a column expectation pushed down to the SQL source
    reads: str | None = Field(None, description="kind column: the role (roles.yml) whose SQL source it checks")
    dataset: str | None = None
    collection: str | None = None
    expectation: str | None = Field(None, description="a gx.expectations class name")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    index_columns: list[str] = Field(default_factory=list)
    # every kind
    params: dict[str, str] = Field(default_factory=dict, description="name -> ${policy.path} or ${derived.name}")
    for_each: str | list[dict[str, str]] | None = Field(
        None, description="expand into one check per item: a role (roles.yml), 'policy.retention', or a list of identifier maps"
    )
    rules: list[str] = Field(default_factory=list, description="map/discovery/notice: rule ids or prefixes kept")
    severities: dict[str, Literal["critical", "high", "medium", "low"]] = Field(
        default_factory=dict, description="map/discovery: a finding's severity where it differs from the check's, "
                                          "by its data category (discovery) or record key")
    finding: FindingSpec | None = None
    verifies: list[str] = Field(
        default_factory=list, description="the register's columns (register/questions.yml) whose answer this check verifies")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9_]+", value):
            raise ValueError("use lower-case letters, digits and _ only")
        return value

    @field_validator("verifies")
    @classmethod
    def _verifies(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(r"[a-z_]+", name):
                raise ValueError(f"{name!r} is not a register column name (lower-case letters and _)")
        return value

    @field_validator("params")
    @classmethod
    def _params(cls, value: dict[str, str]) -> dict[str, str]:
        for name, ref in value.items():
            if not PARAM_REF.match(str(ref)):
                raise ValueError(f"parameter {name!r} must be a reference like ${{policy.trials.max_days}}, not a value")
        return value

    @model_validator(mode="after")
    def _kind_fields(self) -> "Check":
        _same_fields_as(self.name, self.name_nl, "name_nl")
        need = {"sql": ("table", "query", "finding"), "column": ("expectation", "finding")}
        for key in need.get(self.kind, ()):
            if getattr(self, key) in (None, ""):
                raise ValueError(f"a check of kind {self.kind} needs '{key}'")
        if self.kind == "column" and not self.reads and not (self.dataset and self.collection):
            raise ValueError("a check of kind column needs 'reads' (a role) or 'dataset' and 'collection'")
        if self.kind in ("map", "discovery", "notice") and not self.rules:
            raise ValueError(f"a check of kind {self.kind} needs 'rules' (the rule ids it reports)")
        if self.query and "{batch}" not in self.query:
            raise ValueError("the query must read its batch table as {batch}")
        return self


class Claim(_Model):
    """One promise of the notice, in plain words, with the checks that verify it."""

    claim: str
    section: str = Field(description="where the notice makes the promise, e.g. '§03'")
    text: str = Field(description="the claim in plain words")
    text_nl: str | None = Field(None, description="the claim in Dutch, in the notice's own words where it can")
    section_nl: str | None = Field(None, description="the section in Dutch, where 'section' has words")
    checks: list[Check] = Field(default_factory=list)
    not_checked: str | None = Field(None, description="why this claim has no data check (e.g. a feature)")

    @field_validator("claim")
    @classmethod
    def _claim(cls, value: str) -> str:
        if not CLAIM_ID.match(value):
            raise ValueError("a claim id looks like P01")
        return value


def _same_fields_as(english: str, dutch: str | None, key: str) -> None:
    """A Dutch text fills the same ``{fields}`` as its English one: the same values, in other words."""
    if dutch is not None and template_fields(dutch) != template_fields(english):
        raise ValueError(f"{key} fills {sorted(template_fields(dutch))}, the English text {sorted(template_fields(english))}")


def untranslated(claims: list[Claim]) -> list[str]:
    """The keys of a catalogue that lack their Dutch text (``P01.checks.retention.name_nl``).

    The shipped catalogue has them all (a test says so); a workspace's own checks may lack them,
    and the Dutch report then shows the English text, marked as English.
    """
    out = []
    for claim in claims:
        if claim.text_nl is None:
            out.append(f"{claim.claim}.text_nl")
        for check in claim.checks:
            if check.name_nl is None:
                out.append(f"{claim.claim}.checks.{check.id}.name_nl")
            if check.finding is not None and check.finding.detail_nl is None:
                out.append(f"{claim.claim}.checks.{check.id}.finding.detail_nl")
    return out


class ResolvedCheck(BaseModel):
    """A check ready to run: the for_each item's identifiers filled in, its full id and claim.

    ``unbound``: the role of its ``for_each`` that no source plays (the check cannot be expanded).
    """

    model_config = ConfigDict(frozen=True)

    claim: str
    check_id: str
    spec: Check
    vars: dict[str, str] = Field(default_factory=dict)
    file: str
    unbound: str | None = None

    @property
    def name(self) -> str:
        return fill(self.spec.name, self.vars)

    @property
    def name_nl(self) -> str | None:
        return fill(self.spec.name_nl, self.vars) if self.spec.name_nl is not None else None


class _Filler(string.Formatter):
    """Fills ``{name}`` and dotted ``{roster.system}`` fields by their whole name; unknown ones stay as they are."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        if field_name in kwargs:
            return kwargs[field_name], field_name
        return "{" + field_name + "}", field_name


def fill(template: str, values: dict[str, Any]) -> str:
    """Fill ``{name}`` fields from values, keeping GE's ``{batch}`` and unknown fields as they are."""
    return _Filler().vformat(template, (), values)


def template_fields(template: str) -> set[str]:
    """The ``{name}`` fields a template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def load_claim(path: Path, root: Path | None = None) -> Claim:
    """Read and validate one claim file."""
    rel = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
    data = read_yaml(path, root)
    if not isinstance(data, dict):
        raise BadInput(rel, None, "expected a mapping with claim, section, text and checks")
    try:
        claim = Claim.model_validate(data)
    except ValidationError as exc:
        raise _named(rel, data, validation_error(rel, exc)) from None
    if claim.claim != path.stem:
        raise BadInput(rel, "claim", f"claim {claim.claim} is in a file named {path.name}", f"name the file {claim.claim}.yml")
    return claim


def _named(rel: str, data: dict[str, Any], err: BadInput) -> BadInput:
    """Name a check by its id rather than its list index (``checks.2`` -> ``checks.retention_expired``)."""
    key = err.key or ""
    match = re.match(r"^checks\.(\d+)(.*)$", key)
    if match:
        try:
            check_id = data["checks"][int(match.group(1))].get("id")
        except (KeyError, IndexError, AttributeError, TypeError):
            check_id = None
        if check_id:
            key = f"checks.{check_id}{match.group(2)}"
    return BadInput(rel, key or None, err.message, err.hint)


def load_catalogue(dirs: list[Path] | None = None) -> list[Claim]:
    """Load every ``P*.yml`` of the given folders (default: the shipped ``checks/``), in claim order.

    A later folder may add claims or replace a shipped claim file of the same id (a workspace's own
    ``checks/`` folder, say); two checks with the same full id are rejected.
    """
    folders = dirs if dirs is not None else [DEFAULT_DIR]
    claims: dict[str, Claim] = {}
    for folder in folders:
        if not folder.is_dir():
            raise BadInput(str(folder), None, "catalogue folder not found")
        for path in sorted(folder.glob("P[0-9][0-9].yml")):
            claim = load_claim(path, folder.parent)
            claims[claim.claim] = claim
    for claim in claims.values():
        seen: set[str] = set()
        for check in claim.checks:
            if check.id in seen:
                raise BadInput(f"{claim.claim}.yml", f"checks.{check.id}", "two checks with the same id")
            seen.add(check.id)
    return [claims[k] for k in sorted(claims)]


def expand(claim: Claim, lists: dict[str, list[dict[str, str]]], file: str | None = None,
           common: dict[str, str] | None = None) -> list[ResolvedCheck]:
    """Expand each check's ``for_each`` into one ResolvedCheck per item (identifiers only).

    ``lists``: what a ``for_each`` may name (``policy.retention``, and each role that many
    collections play, one item per collection). ``common``: values every check may use (the
    tables of the single roles: ``{roster}``, ``{roster.system}``).
    """
    out: list[ResolvedCheck] = []
    file = file or f"checks/{claim.claim}.yml"
    common = common or {}
    for check in claim.checks:
        items: list[dict[str, str]]
        role_items = isinstance(check.for_each, str) and check.for_each != "policy.retention"
        if check.for_each is None:
            items = [{}]
        elif isinstance(check.for_each, list):
            items = check.for_each
        elif check.for_each in lists:
            items = lists[check.for_each]
        else:
            raise BadInput(file, f"checks.{check.id}.for_each", f"unknown list {check.for_each!r}",
                           f"name a role that many sources play ({', '.join(k for k in lists if k != 'policy.retention')}), "
                           "'policy.retention' or give a list of mappings")
        if role_items and not items:
            out.append(ResolvedCheck(claim=claim.claim, check_id=f"{claim.claim}.{check.id}", spec=check,
                                     vars=dict(common), file=file, unbound=str(check.for_each)))
            continue
        seen: set[str] = set()
        for item in items:
            for key, value in item.items():
                if not IDENTIFIER.match(str(value)):
                    raise BadInput(file, f"checks.{check.id}.for_each.{key}",
                                   f"{value!r} is not a plain identifier (only table, column and system names may be filled into SQL)")
            if role_items:  # one collection per system: the system names the check, its collection only on a clash
                suffix = item["system"] if item["system"] not in seen else f"{item['system']}.{item['collection']}"
                seen.add(item["system"])
            else:
                suffix = item.get("suffix") or ".".join(v for k, v in item.items() if k in ("system", "collection"))
            check_id = f"{claim.claim}.{check.id}" + (f".{suffix}" if suffix else "")
            out.append(ResolvedCheck(claim=claim.claim, check_id=check_id, spec=check, vars={**common, **item}, file=file))
    return out


@dataclass(frozen=True)
class RuleHome:
    """Where a rule the map or discovery engine reports lives in the catalogue: claim, check, severities."""

    kind: str
    claim: str
    check: str
    severity: str
    severities: tuple[tuple[str, str], ...] = ()

    def severity_for(self, *keys: str | None) -> str:
        """The severity of a finding named by these keys (its category, its record key), else the check's."""
        table = dict(self.severities)
        return next((table[k] for k in keys if k in table), self.severity)


@functools.cache
def library_rules(folder: Path = DEFAULT_DIR) -> dict[str, RuleHome]:
    """Each rule id a map, discovery or notice check of the shipped catalogue keeps, and that check.

    The engines name their findings' claim, check and severity from here, so the catalogue is the
    one place that says them; an audit run with a workspace's own catalogue applies its checks' again.
    """
    out: dict[str, RuleHome] = {}
    for claim in load_catalogue([folder]):
        for check in claim.checks:
            if check.kind not in ("map", "discovery", "notice"):
                continue
            for rule in check.rules:
                if not rule.startswith("!") and not rule.endswith("*"):
                    out.setdefault(rule, RuleHome(check.kind, claim.claim, f"{claim.claim}.{check.id}", check.severity,
                                                  tuple(sorted(check.severities.items()))))
    return out
