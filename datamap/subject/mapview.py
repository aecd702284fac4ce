"""What a subject request needs from the data map, read once from the manifests."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from datamap.workspace import Workspace


@dataclass(frozen=True)
class FieldInfo:
    categories: tuple[str, ...] = ()
    primary_key: bool = False
    identity: str | None = None


@dataclass
class MapView:
    """What a subject request needs from the data map: systems, fields' categories, flows."""

    organization: dict[str, Any] = field(default_factory=dict)
    systems: dict[str, dict[str, Any]] = field(default_factory=dict)
    dataset_system: dict[str, str] = field(default_factory=dict)
    fields: dict[tuple[str, str], dict[str, FieldInfo]] = field(default_factory=dict)
    received: dict[str, set[str]] = field(default_factory=dict)
    store_keys: dict[tuple[str, str], str] = field(default_factory=dict)

    def system_of(self, dataset: str) -> str:
        return self.dataset_system.get(dataset, dataset)

    def key_column(self, dataset: str, collection: str) -> str | None:
        """The record key's store column: the manifest's primary key, else the one the store indexed on."""
        declared = next((n for n, f in self.fields.get((dataset, collection), {}).items() if f.primary_key), None)
        return declared or self.store_keys.get((dataset, collection))

    def categories(self, dataset: str, collection: str, column: str) -> list[str]:
        return list(self.fields.get((dataset, collection), {}).get(column, FieldInfo()).categories)

    def identity_collections(self, identity: str = "email") -> list[tuple[str, str]]:
        return sorted(k for k, fs in self.fields.items() if any(f.identity == identity for f in fs.values()))

    def recipients(self, system: str) -> list[str]:
        """External parties that receive personal data from an internal system (flows and hosting)."""
        return sorted(party for party, senders in self.received.items() if system in senders)


def read_map(workspace: Workspace) -> MapView:
    """Load the data map (validated by :mod:`datamap.map`) into the view a subject request needs."""
    from datamap.map import external_recipients, load_map, system_of_dataset
    from datamap.sources import collections, key_column

    dm = load_map(workspace)
    org = dm.organizations.get(workspace.policy.organization)
    view = MapView(organization=org.model_dump(mode="json") if org else {},
                   systems={k: s.model_dump(mode="json") for k, s in dm.systems.items()},
                   received={r["party"]: set(r["from"]) for r in external_recipients(dm)})
    staged = collections(workspace)
    # the map's one answer to "which system holds this dataset", asked once per dataset
    view.dataset_system = {d: system_of_dataset(dm, d) for d in sorted(set(dm.datasets) | {d for d, _ in staged})}
    for dataset_key, collection in staged:
        column = key_column(workspace, dataset_key, collection)
        if column:
            view.store_keys[(dataset_key, collection)] = column
    for key, dataset in dm.datasets.items():
        for coll in dataset.model_dump(mode="json").get("collections") or []:
            fields: dict[str, FieldInfo] = {}
            for f in _walk_fields(coll.get("fields")):
                meta = f.get("fides_meta") or {}
                fields[str(f["name"])] = FieldInfo(tuple(f.get("data_categories") or ()), bool(meta.get("primary_key")), meta.get("identity"))
            view.fields[(key, str(coll["name"]))] = fields
    return view


def _walk_fields(items: Any) -> Iterator[dict[str, Any]]:
    for f in items or []:
        if isinstance(f, dict) and f.get("name"):
            yield f
            yield from _walk_fields(f.get("fields"))
