"""Which of a workspace's tables play the roles the checks read (``datamap/checks/roles.yml``).

From sources.yml alone: a collection plays the role its product's standard collection plays
(``standard:`` when renamed) or the one it names with ``role:``; its system is the manifest system
that holds its dataset (:func:`datamap.map.system_of_dataset`). Nothing here knows a company's names.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from datamap.errors import BadInput
from datamap.roles import load_roles, reference_format, role_of

if TYPE_CHECKING:
    from datamap.workspace import Workspace


@dataclass(frozen=True)
class Binding:
    """A collection of the workspace playing a role: where its rows are and whose system holds them."""

    role: str
    dataset: str
    collection: str
    table: str
    system: str
    key: str
    absent: str | None = None

    def vars(self, prefix: str = "") -> dict[str, str]:
        """Template values: ``{table}``, ``{system}``, ... (or ``{roster}``, ``{roster.system}`` with a prefix)."""
        values = {"table": self.table, "system": self.system, "dataset": self.dataset,
                  "collection": self.collection, "key": self.key}
        if not prefix:
            return values
        return {prefix: self.table, **{f"{prefix}.{k}": v for k, v in values.items()}}


def bindings(workspace: "Workspace") -> dict[str, list[Binding]]:
    """Every role and the collections of sources.yml that play it, in sources.yml order (derived roles included)."""
    from datamap.map import load_map, system_of_dataset
    from datamap.sources import key_column
    from datamap.store import table_name

    data_map = load_map(workspace)
    out: dict[str, list[Binding]] = {name: [] for name in load_roles()}
    for dataset, config in workspace.sources.datasets.items():
        system = system_of_dataset(data_map, dataset)
        for collection, source in config.collections.items():
            role = role_of(config.product, source.standard or collection, source.role)
            if role is None:
                continue
            if role not in out:
                reference_format(role, "sources.yml", f"datasets.{dataset}.collections.{collection}.role")
            table = table_name(workspace, dataset, collection)  # an absent collection keeps its plain name
            out[role].append(Binding(role, dataset, collection, table, system,
                                     key_column(workspace, dataset, collection) or "_row", source.absent))
    for name, role in load_roles().items():
        if role.derived_from:
            out[name] = [Binding(name, b.dataset, b.collection, f"{b.dataset}__{role.derived_table}", b.system,
                                 b.key, b.absent) for b in out.get(role.derived_from, [])]
    return out


def declared_absent(workspace: "Workspace", role: str) -> str | None:
    """Why the company keeps no data of this role (sources.yml ``absent:``), or None."""
    roles = load_roles()
    reason = workspace.sources.absent.get(role)
    if reason is None and role in roles and roles[role].derived_from:
        return workspace.sources.absent.get(roles[role].derived_from)
    return reason


def table_of(workspace: "Workspace", role: str) -> str:
    """The store table of a role one collection plays (the request log, the roster); bad input naming sources.yml otherwise."""
    found = [b for b in bindings(workspace).get(role, []) if not b.absent]
    means = load_roles()[role].means
    if not found:
        reason = declared_absent(workspace, role)
        raise BadInput("sources.yml", None, f"the company keeps no {means}" + (f": {reason}" if reason else ""),
                       None if reason else f"add the export that is {means} (role {role})")
    if len(found) > 1:
        raise BadInput("sources.yml", None, f"{len(found)} sources are {means}: "
                       + ", ".join(f"{b.dataset}.{b.collection}" for b in found), "keep one")
    return found[0].table
