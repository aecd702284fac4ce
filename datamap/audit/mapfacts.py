"""Facts about the declared map that data checks need as parameters.

Which internal system's dataset holds a restricted category (and so which roles may reach it),
and which collections identify a subject by e-mail (where an erased subject must not remain).
Read from the validated data map (:mod:`datamap.map`), so the taxonomy decides what covers what.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datamap.workspace import Policy

if TYPE_CHECKING:
    from datamap.map import DataMap

REQUEST_LOG = "governance__privacy_requests"


def identity_tables(dm: "DataMap", identity: str = "email") -> list[str]:
    """Store tables (``<dataset>__<collection>``) with a field marked ``fides_meta.identity``."""
    from datamap.map import identity_collections

    return [f"{dataset}__{collection}" for dataset, collection in identity_collections(dm, identity)]


def allowed_roles(dm: "DataMap", policy: Policy) -> dict[str, list[str] | None]:
    """For each internal system: the roles allowed to reach all restricted categories its data holds (None: unrestricted)."""
    from datamap.map import dataset_categories

    restricted = policy.access.restricted_categories
    out: dict[str, list[str] | None] = {}
    for system in dm.internal_systems():
        cats = {c for ref in dm.systems[system].dataset_references or [] if ref in dm.datasets
                for c in dataset_categories(dm, ref)}
        roles: set[str] | None = None
        for category, allowed in restricted.items():
            if any(dm.taxonomy.covers("data_category", category, c) for c in cats):
                roles = set(allowed) if roles is None else roles & set(allowed)
        out[system] = sorted(roles) if roles is not None else None
    return out


def manifest_facts(dm: "DataMap", policy: Policy) -> dict[str, Any]:
    """The map-derived parameters a run writes into the store's ``params`` table."""
    tables = identity_tables(dm, "email")
    facts: dict[str, Any] = {
        "identity.tables": tables,
        # Where a subject's data lives: every identity collection except the request log itself,
        # which must keep the request as the controller's proof of handling it (Art. 5(2)).
        "subject.tables": [t for t in tables if t != REQUEST_LOG],
    }
    for system, roles in allowed_roles(dm, policy).items():
        facts[f"access.restricted.{system}"] = roles is not None
        facts[f"access.allowed_roles.{system}"] = roles or []
    return facts
