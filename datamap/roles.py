"""The roles a company's sources play for the checks (``datamap/checks/roles.yml``).

A check reads ``{roster}`` or runs ``for_each: accounts``; this module decides, from sources.yml
alone, which store tables those are: a collection plays a role by its product's standard
collection (``hr.roster``) or by its own ``role:``. Nothing here knows a company's names.

Example::

    >>> sorted(load_roles())[:3]
    ['access_reviews', 'accounts', 'billing_customers']
    >>> load_roles()["roster"].reference
    ('hr', 'roster')
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from datamap.errors import BadInput

if TYPE_CHECKING:
    from datamap.workspace import Workspace

ROLES_FILE = Path(__file__).with_name("checks") / "roles.yml"


@dataclass(frozen=True)
class Role:
    """One thing a check reads, in domain terms."""

    name: str
    means: str
    plays: tuple[tuple[str, str], ...] = ()
    many: bool = False
    derived_from: str | None = None
    derived_table: str | None = None
    derived_with: tuple[str, ...] = ()

    @property
    def reference(self) -> tuple[str, str] | None:
        """The standard collection whose columns a generic export playing this role must have."""
        return self.plays[0] if self.plays else None


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


@functools.cache
def load_roles(path: Path = ROLES_FILE) -> dict[str, Role]:
    """Read the roles catalogue (shipped with the package)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    roles: dict[str, Role] = {}
    for name, raw in (data.get("roles") or {}).items():
        plays = tuple(tuple(p.split(".", 1)) for p in raw.get("plays") or [])
        derived = raw.get("derived") or {}
        roles[name] = Role(name, str(raw.get("means", "")), plays, bool(raw.get("many", False)),  # type: ignore[arg-type]
                           derived.get("from"), derived.get("table"), tuple(derived.get("with") or ()))
    return roles


def role_of(product: str, standard: str, declared: str | None = None) -> str | None:
    """The role a collection plays: its own ``role:``, else the role its product's standard collection plays."""
    if declared:
        return declared
    for role in load_roles().values():
        if (product, standard) in role.plays:
            return role.name
    return None


def reference_format(role: str, where: str, key: str) -> tuple[str, str]:
    """The standard collection a generic export playing ``role`` follows; an unknown role is bad input."""
    import difflib

    roles = load_roles()
    found = roles.get(role)
    if found is None or found.reference is None:
        playable = sorted(r for r, spec in roles.items() if spec.reference)
        close = difflib.get_close_matches(role, playable, n=1)
        raise BadInput(where, key, f"unknown role {role!r}",
                       f"did you mean {close[0]!r}?" if close else f"the roles: {', '.join(playable)}")
    return found.reference


def system_of(workspace: "Workspace", dataset: str) -> str:
    """The fides_key of the manifest system whose ``dataset_references`` hold the dataset (else the dataset's own key)."""
    for manifest in workspace.manifests:
        for item in manifest.documents.get("system") or []:
            if isinstance(item, dict) and dataset in (item.get("dataset_references") or []):
                return str(item.get("fides_key"))
    return dataset


def bindings(workspace: "Workspace") -> dict[str, list[Binding]]:
    """Every role and the collections of sources.yml that play it, in sources.yml order (derived roles included)."""
    from datamap.sources import key_column
    from datamap.store import table_name

    out: dict[str, list[Binding]] = {name: [] for name in load_roles()}
    for dataset, config in workspace.sources.datasets.items():
        system = system_of(workspace, dataset)
        for collection, source in config.collections.items():
            role = role_of(config.product, source.standard or collection, source.role)
            if role is None:
                continue
            if role not in out:
                reference_format(role, "sources.yml", f"datasets.{dataset}.collections.{collection}.role")
            table = f"{dataset}__{collection}" if source.absent else table_name(workspace, dataset, collection)
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


def roles_markdown(roles: dict[str, Role] | None = None) -> str:
    """The roles a collection can play, as the Markdown table of docs/workspace.md (kept in sync by a test)."""
    lines = ["| role | what it is | standard collections that play it |", "|---|---|---|"]
    for r in (roles or load_roles()).values():
        if r.derived_from:
            continue  # built by the store from another role's collection: nothing to declare
        means = r.means + ("; one check per system" if r.many else "")
        lines.append(f"| `{r.name}` | {means} | {', '.join('.'.join(p) for p in r.plays)} |")
    return "\n".join(lines)


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
