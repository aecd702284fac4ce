"""The register of processing activities (Art. 30 GDPR) as plain data: rows of cells with provenance.

One row per processing activity, i.e. per privacy declaration of an internal system. Each cell
says its value and where it came from: declared (manifest file and key, or a policy.yml key),
observed (the audit store's sources and row counts), verified (which check of which run, with
which result). The writers (:mod:`datamap.register.xlsx`, :mod:`datamap.register.html`) only lay this out.

Here: the map as the register reads it (:class:`MapInput`), the register's types, and what every
column function is given (:class:`Context`, :class:`Activity`). The column functions are in
:mod:`datamap.register.columns`, which checks verify them in :mod:`datamap.register.verify`, and
:mod:`datamap.register.build` assembles the register.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from fideslang.models import Dataset, Organization, PrivacyDeclaration, System

from datamap.audit.archive import ArchivedRun
from datamap.labels import label
from datamap.register.terms import t
from datamap.taxonomy import Kind
from datamap.workspace import Policy


# Who reads the register: the privacy office's working copy (marks, provenance, the audit's own
# columns) or the copy for the Autoriteit Persoonsgegevens (the answers only, in plain words).
WORKING, AP = "working", "ap"
AUDIENCES = (WORKING, AP)

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
    dataset_files: dict[str, str] = field(default_factory=dict)  # dataset fides_key -> manifest relpath
    datamap: Any = None  # the datamap.map.DataMap it came from, for the map's queries (breach impact)

    def system(self, key: str) -> System | None:
        return next((s for s in self.systems if s.fides_key == key), None)

    def file_of(self, key: str) -> str:
        return self.files.get(key, "manifests")

    def dataset_file_of(self, key: str) -> str:
        return self.dataset_files.get(key, "manifests")

    def dataset(self, key: str) -> Dataset | None:
        return next((d for d in self.datasets if d.fides_key == key), None)


def map_input_from_datamap(dm: Any) -> MapInput:
    """Adapt :class:`datamap.map.DataMap` (resources by key, provenance by (type, key))."""
    org = next(iter(dm.organizations.values()), None)
    files = {key: rel for (kind, key), rel in dm.provenance.items() if kind in ("organization", "system")}
    dataset_files = {key: rel for (kind, key), rel in dm.provenance.items() if kind == "dataset"}
    return MapInput(org, list(dm.systems.values()), list(dm.datasets.values()), files, dataset_files, dm)


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
        """The one rule of what is missing: a mandatory answer left empty (the gaps sheet and the coverage count these)."""
        return self.status == MISSING and self.mandatory


@dataclass(frozen=True)
class Row:
    activity: str
    system: str  # the system's fides_key: what code filters on; readers see system_name
    declaration: str
    cells: dict[str, Cell]
    system_name: str = ""


@dataclass(frozen=True)
class Gap:
    activity: str
    system: str
    field: str
    where: str
    mandatory: bool
    system_name: str = ""


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
    audience: str = WORKING

    @property
    def for_ap(self) -> bool:
        return self.audience == AP

    def __repr__(self) -> str:
        # short on purpose: the full register holds contact details that logs should not repeat
        return (f"Register(lang={self.lang!r}, activities={len(self.rows)}, processor_activities={len(self.processor_rows)}, "
                f"gaps={len(self.gaps)}, run={self.run_id!r})")

    # In a notebook, datamap.show.register(reg) shows its gaps first and the register framed.


@functools.lru_cache(maxsize=1)
def question_catalogue() -> dict[str, Any]:
    """The regulators' questions, their groups and the register's columns (questions.yml)."""
    return yaml.safe_load(Path(__file__).with_name("questions.yml").read_text(encoding="utf-8"))




# --- what every column function is given --------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What a column reads: the map, the policy, the latest run (None: no audit yet) and the language."""

    map: MapInput
    policy: Policy | None
    run: ArchivedRun | None
    lang: str
    audience: str = WORKING

    @property
    def for_ap(self) -> bool:
        return self.audience == AP

    def t(self, key: str, **values: object) -> str:
        return t(key, self.lang, **values)

    def label(self, key: str, kind: Kind) -> str:
        """A taxonomy key in the register's words; the working copy keeps the key beside it for the auditor."""
        said = label(key, self.lang, kind)
        return said if self.for_ap else f"{said} ({key})"



def _decl_key(system: System, index: int, decl: PrivacyDeclaration) -> str:
    label = decl.name or str(index)
    return f"{system.fides_key}.privacy_declarations[{label}]"


@dataclass(frozen=True)
class Activity:
    """One processing activity: a privacy declaration of an internal system (one row of the register)."""

    system: System
    decl: PrivacyDeclaration
    index: int

    @property
    def file_key(self) -> str:
        return _decl_key(self.system, self.index, self.decl)
