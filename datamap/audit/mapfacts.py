"""Facts about the declared map that data checks need as parameters.

Which internal system's dataset holds a restricted category (and so which roles may reach it),
and which collections identify a subject by e-mail (where an erased subject must not remain).
Read from the validated data map (:mod:`datamap.map`), so the taxonomy decides what covers what.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from datamap.workspace import Policy, Workspace

if TYPE_CHECKING:
    from datamap.binding import Binding
    from datamap.map import DataMap


def identity_tables(dm: "DataMap", identity: str = "email",
                    table_of: "Callable[[str, str], str] | None" = None) -> list[str]:
    """Store tables with a field marked ``fides_meta.identity`` (``table_of`` names a collection's table;
    default ``<dataset>__<collection>``)."""
    from datamap.map import identity_collections

    name = table_of or (lambda dataset, collection: f"{dataset}__{collection}")
    return list(dict.fromkeys(name(dataset, collection) for dataset, collection in identity_collections(dm, identity)))


def allowed_roles(dm: "DataMap", policy: Policy) -> dict[str, list[str] | None]:
    """For each internal system: the roster roles that may hold an account on it (None: any role).

    Three parts of policy.yml say so (rules.md, access.role_not_authorized): ``access.systems``
    names a system's roles outright; a restricted category the system's data holds
    (``access.restricted_categories``) admits only its roles; and when ``access.roles`` lists
    what each role's job needs, a role whose categories cover none of the system's data has no
    business there.
    """
    from datamap.map import dataset_categories

    access = policy.access
    covers = dm.taxonomy.covers
    out: dict[str, list[str] | None] = {}
    for system in dm.internal_systems():
        cats = {c for ref in dm.systems[system].dataset_references or [] if ref in dm.datasets
                for c in dataset_categories(dm, ref)}
        roles: set[str] | None = set(access.systems[system]) if system in access.systems else None
        for category, allowed in access.restricted_categories.items():
            if any(covers("data_category", category, c) for c in cats):
                roles = set(allowed) if roles is None else roles & set(allowed)
        if access.roles and cats:
            needed = {role for role, job in access.roles.items()
                      if any(covers("data_category", j, c) or covers("data_category", c, j) for j in job for c in cats)}
            roles = needed if roles is None else roles & needed
        out[system] = sorted(roles) if roles is not None else None
    return out


def manifest_facts(dm: "DataMap", policy: Policy, request_logs: set[str] | frozenset[str] = frozenset(),
                   absent: set[str] | frozenset[str] = frozenset(),
                   table_of: "Callable[[str, str], str] | None" = None) -> dict[str, Any]:
    """The map-derived parameters a run writes into the store's ``params`` table.

    ``request_logs``: the store tables of the request log (kept as proof, never a subject's
    leftover); ``absent``: tables of collections the company declared it does not keep.
    """
    tables = [t for t in identity_tables(dm, "email", table_of) if t not in absent]
    facts: dict[str, Any] = {
        "identity.tables": tables,
        # Where a subject's data lives: every identity collection except the request log itself,
        # which must keep the request as the controller's proof of handling it (Art. 5(2)).
        "subject.tables": [t for t in tables if t not in request_logs],
    }
    for system, roles in allowed_roles(dm, policy).items():
        facts[f"access.restricted.{system}"] = roles is not None
        facts[f"access.allowed_roles.{system}"] = roles or []
    return facts


def workspace_facts(dm: "DataMap", ws: Workspace, bind: "dict[str, list[Binding]] | None" = None) -> dict[str, Any]:
    """:func:`manifest_facts` for a workspace: its request log (``bind``: the run's bindings, when it has them)
    and absent collections read from sources.yml."""
    from datamap.binding import bindings
    from datamap.store import table_name

    bind = bind if bind is not None else bindings(ws)
    absent = {f"{d}__{c}" for d, cfg in ws.sources.datasets.items() for c, src in cfg.collections.items() if src.absent}
    return manifest_facts(dm, ws.policy, {b.table for b in bind["request_log"]}, absent,
                          lambda dataset, collection: table_name(ws, dataset, collection))
