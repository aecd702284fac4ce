"""The roles a company's sources play for the checks (``datamap/checks/roles.yml``).

A check reads ``{roster}`` or runs ``for_each: accounts``; a collection plays a role by its
product's standard collection (``hr.roster``) or by its own ``role:``. This module is the
catalogue of roles; :mod:`datamap.binding` finds which of a workspace's tables play them.

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

import yaml

from datamap.errors import BadInput

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


def roles_markdown(roles: dict[str, Role] | None = None) -> str:
    """The roles a collection can play, as the Markdown table of docs/workspace.md (kept in sync by a test)."""
    lines = ["| role | what it is | standard collections that play it |", "|---|---|---|"]
    for r in (roles or load_roles()).values():
        if r.derived_from:
            continue  # built by the store from another role's collection: nothing to declare
        means = r.means + ("; one check per system" if r.many else "")
        lines.append(f"| `{r.name}` | {means} | {', '.join('.'.join(p) for p in r.plays)} |")
    return "\n".join(lines)

