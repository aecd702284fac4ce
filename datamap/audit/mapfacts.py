"""Facts about the declared map that data checks need as parameters (read from the manifests).

Which internal system's dataset holds a restricted category (and so which roles may reach it),
and which collections identify a subject by e-mail (where an erased subject must not remain).
"""
from __future__ import annotations

from typing import Any, Iterator

from datamap.workspace import Workspace

REQUEST_LOG = "governance__privacy_requests"


def _resources(workspace: Workspace, kind: str) -> Iterator[dict[str, Any]]:
    for manifest in workspace.manifests:
        for item in manifest.documents.get(kind) or []:
            if isinstance(item, dict):
                yield item


def _fields(items: list[dict[str, Any]] | None) -> Iterator[dict[str, Any]]:
    for field in items or []:
        if isinstance(field, dict):
            yield field
            yield from _fields(field.get("fields"))


def dataset_categories(dataset: dict[str, Any]) -> set[str]:
    """Every data category a dataset declares, at any level."""
    cats = set(dataset.get("data_categories") or [])
    for collection in dataset.get("collections") or []:
        cats |= set(collection.get("data_categories") or [])
        for field in _fields(collection.get("fields")):
            cats |= set(field.get("data_categories") or [])
    return cats


def identity_tables(workspace: Workspace, identity: str = "email") -> list[str]:
    """Store tables (``<dataset>__<collection>``) with a field marked ``fides_meta.identity``."""
    tables = []
    for dataset in _resources(workspace, "dataset"):
        for collection in dataset.get("collections") or []:
            if any((f.get("fides_meta") or {}).get("identity") == identity for f in _fields(collection.get("fields"))):
                tables.append(f"{dataset['fides_key']}__{collection['name']}")
    return sorted(tables)


def _covers(parent: str, category: str) -> bool:
    return category == parent or category.startswith(parent + ".")


def allowed_roles(workspace: Workspace) -> dict[str, list[str] | None]:
    """For each internal system: the roles allowed to reach all restricted categories its data holds (None: unrestricted)."""
    restricted = workspace.policy.access.restricted_categories
    datasets = {d["fides_key"]: d for d in _resources(workspace, "dataset") if "fides_key" in d}
    out: dict[str, list[str]] = {}
    for system in _resources(workspace, "system"):
        if system.get("system_type", "Application") != "Application":
            continue
        cats: set[str] = set()
        for ref in system.get("dataset_references") or []:
            if ref in datasets:
                cats |= dataset_categories(datasets[ref])
        roles: set[str] | None = None
        for category, allowed in restricted.items():
            if any(_covers(category, c) for c in cats):
                roles = set(allowed) if roles is None else roles & set(allowed)
        out[system["fides_key"]] = sorted(roles) if roles is not None else None
    return out


def manifest_facts(workspace: Workspace) -> dict[str, Any]:
    """The map-derived parameters a run writes into the store's ``params`` table."""
    tables = identity_tables(workspace, "email")
    facts: dict[str, Any] = {
        "identity.tables": tables,
        # Where a subject's data lives: every identity collection except the request log itself,
        # which must keep the request as the controller's proof of handling it (Art. 5(2)).
        "subject.tables": [t for t in tables if t != REQUEST_LOG],
    }
    for system, roles in allowed_roles(workspace).items():
        facts[f"access.restricted.{system}"] = roles is not None
        facts[f"access.allowed_roles.{system}"] = roles or []
    return facts
