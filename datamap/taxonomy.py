"""The vocabulary of the map: fideslang's default taxonomy, our extensions, a workspace's own keys.

Every data category, data use and data subject in a manifest must be a key of this taxonomy.
Categories and uses are hierarchies (``user.contact`` covers ``user.contact.email``); subjects are
flat. A misspelt key is reported with the nearest valid one, so that a typo costs one glance.

>>> tax = default_taxonomy()
>>> tax.covers("data_category", "user.contact", "user.contact.email")
True
>>> tax.suggest("data_category", "user.contact.emial")
'user.contact.email'
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal, Union

from datamap.errors import BadInput

Kind = Literal["data_category", "data_use", "data_subject"]
KINDS: tuple[Kind, ...] = ("data_category", "data_use", "data_subject")
LABEL: dict[str, str] = {"data_category": "data category", "data_use": "data use", "data_subject": "data subject"}
EXTENSIONS_FILE = Path(__file__).parent / "taxonomy" / "extensions.yml"

# Categories whose loss the GDPR and the AP treat as high risk for the subject (Art. 9, Art. 10,
# financial data, credentials, national identifiers): a breach of any of them needs an Art. 34 notice.
HIGH_RISK_CATEGORIES: dict[str, str] = {
    "user.health_and_medical": "health data (Art. 9)",
    "user.biometric": "biometric data (Art. 9)",
    "user.authorization.biometric": "biometric data (Art. 9)",
    "user.demographic.political_opinion": "political opinions (Art. 9)",
    "user.demographic.race_ethnicity": "racial or ethnic origin (Art. 9)",
    "user.demographic.religious_belief": "religious beliefs (Art. 9)",
    "user.demographic.sexual_orientation": "sexual orientation (Art. 9)",
    "user.criminal_history": "criminal convictions (Art. 10)",
    "user.financial": "financial data",
    "user.authorization": "login credentials",
    "user.government_id": "national identifiers",
}

TaxonomyEntry = Union["DataCategory", "DataUse", "DataSubject"]  # noqa: F821 (fideslang models)


@dataclass(frozen=True)
class Taxonomy:
    """Keys of each kind with their parent (None at the top) and where each was declared."""

    parents: dict[str, dict[str, str | None]]
    names: dict[str, dict[str, str]] = field(default_factory=dict)
    origin: dict[str, dict[str, str]] = field(default_factory=dict)

    def keys(self, kind: Kind) -> list[str]:
        return sorted(self.parents[kind])

    def has(self, kind: Kind, key: str) -> bool:
        return key in self.parents[kind]

    def name(self, kind: Kind, key: str) -> str:
        return self.names.get(kind, {}).get(key) or key

    def lineage(self, kind: Kind, key: str) -> list[str]:
        """The key and its ancestors, nearest first (fides calls this the parent hierarchy)."""
        chain: list[str] = []
        current: str | None = key
        while current is not None and current not in chain:
            chain.append(current)
            current = self.parents[kind].get(current)
        return chain

    def covers(self, kind: Kind, broader: str, narrower: str) -> bool:
        """Tell whether ``broader`` is ``narrower`` or one of its ancestors."""
        return broader in self.lineage(kind, narrower)

    def covered_by_any(self, kind: Kind, key: str, broader: Iterable[str]) -> bool:
        return bool(set(self.lineage(kind, key)) & set(broader))

    def narrower(self, kind: Kind, key: str) -> list[str]:
        """The key and every key below it."""
        return sorted(k for k in self.parents[kind] if self.covers(kind, key, k))

    def suggest(self, kind: Kind, key: str) -> str | None:
        """The nearest valid key, for a did-you-mean hint."""
        from rapidfuzz import fuzz, process

        best = process.extractOne(str(key), list(self.parents[kind]), scorer=fuzz.ratio, score_cutoff=60)
        return best[0] if best else None

    def check(self, kind: Kind, key: str, file: str | None, where: str | None) -> None:
        """Raise BadInput naming file, resource and key when ``key`` is not in the taxonomy."""
        if self.has(kind, key):
            return
        guess = self.suggest(kind, key)
        raise BadInput(file, where, f"unknown {LABEL[kind]} {key!r}", f"did you mean {guess!r}?" if guess else None)

    def extended(self, entries: Iterable[tuple[Kind, TaxonomyEntry, str]]) -> "Taxonomy":
        """Add entries ``(kind, fideslang model, file)``; a parent must be known, a clash is an error."""
        parents = {k: dict(v) for k, v in self.parents.items()}
        names = {k: dict(self.names.get(k, {})) for k in KINDS}
        origin = {k: dict(self.origin.get(k, {})) for k in KINDS}
        pending = list(entries)
        # Parents may come later in the list (or in another file): add in rounds until stable.
        while pending:
            rest = []
            for kind, model, file in pending:
                parent = getattr(model, "parent_key", None)
                if parent is not None and parent not in parents[kind]:
                    rest.append((kind, model, file))
                    continue
                key = model.fides_key
                if key in parents[kind]:
                    if parents[kind][key] != parent:
                        raise BadInput(file, f"{LABEL[kind]} {key}", f"already defined by {origin[kind][key]} with parent {parents[kind][key]!r}")
                    continue  # the same entry declared again (e.g. an export of our extensions)
                parents[kind][key] = parent
                names[kind][key] = model.name or key
                origin[kind][key] = file
            if len(rest) == len(pending):
                kind, model, file = rest[0]
                self_like = Taxonomy(parents, names, origin)
                self_like.check(kind, model.parent_key, file, f"{LABEL[kind]} {model.fides_key}: parent_key")
            pending = rest
        return Taxonomy(parents, names, origin)


def parse_entries(documents: dict, file: str) -> list[tuple[Kind, TaxonomyEntry, str]]:
    """Parse the ``data_category``/``data_use``/``data_subject`` lists of one manifest with fideslang."""
    from fideslang.models import DataCategory, DataSubject, DataUse
    from pydantic import ValidationError

    models = {"data_category": DataCategory, "data_use": DataUse, "data_subject": DataSubject}
    out: list[tuple[Kind, TaxonomyEntry, str]] = []
    for kind in KINDS:
        for i, raw in enumerate(documents.get(kind) or []):
            where = f"{LABEL[kind]} {raw.get('fides_key', f'#{i + 1}')}" if isinstance(raw, dict) else f"{kind}[{i}]"
            try:
                out.append((kind, models[kind].model_validate(raw), file))
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err["loc"])
                raise BadInput(file, where, f"{loc}: {err['msg']}" if loc else err["msg"]) from None
    return out


@functools.lru_cache(maxsize=1)
def fideslang_taxonomy() -> Taxonomy:
    """fideslang's DEFAULT_TAXONOMY as parent maps."""
    from fideslang import DEFAULT_TAXONOMY

    parents: dict[str, dict[str, str | None]] = {k: {} for k in KINDS}
    names: dict[str, dict[str, str]] = {k: {} for k in KINDS}
    origin: dict[str, dict[str, str]] = {k: {} for k in KINDS}
    for kind in KINDS:
        for item in getattr(DEFAULT_TAXONOMY, kind):
            parents[kind][item.fides_key] = getattr(item, "parent_key", None)
            names[kind][item.fides_key] = item.name or item.fides_key
            origin[kind][item.fides_key] = "fideslang"
    return Taxonomy(parents, names, origin)


@functools.lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    """fideslang's default taxonomy plus the extensions shipped with the workbench."""
    return fideslang_taxonomy().extended(shipped_extensions())


def shipped_extensions() -> list[tuple[Kind, TaxonomyEntry, str]]:
    """The entries of ``datamap/taxonomy/extensions.yml``."""
    from datamap.workspace import read_yaml

    return parse_entries(read_yaml(EXTENSIONS_FILE) or {}, "datamap/taxonomy/extensions.yml")


def is_personal(tax: Taxonomy, category: str) -> bool:
    """Personal data in fideslang is everything under ``user``."""
    return tax.covers("data_category", "user", category)


def high_risk_reason(tax: Taxonomy, category: str) -> str | None:
    """Why losing this category is high risk for the subject, or None."""
    for key in tax.lineage("data_category", category):
        if key in HIGH_RISK_CATEGORIES:
            return HIGH_RISK_CATEGORIES[key]
    return None


def category_group(category: str) -> str:
    """The top branch below ``user``/``system`` (``user.contact.email`` -> ``contact``), for colours and legends."""
    parts = category.split(".")
    return parts[1] if len(parts) > 1 else parts[0]
