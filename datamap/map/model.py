"""The data map's model: the fideslang resources of a workspace, and the words the map is read in.

``DataMap`` holds the parsed resources with where each came from and the graph built from them
(:mod:`datamap.map.load` makes one). The walkers below are the one way to visit a dataset's
collections and nested fields, so that validation, the graph and the queries see the same nodes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from datamap.taxonomy import Taxonomy

if TYPE_CHECKING:  # heavy imports stay lazy
    import networkx as nx
    from fideslang.models import Dataset, Organization, Policy, System

    from datamap.workspace import Policy as WorkspacePolicy

RESOURCE_TYPES = ("organization", "system", "dataset", "policy", "data_category", "data_use", "data_subject")
EXTERNAL_TYPES = ("Processor", "Third Party", "Public Authority")
USER = "user"  # the flow endpoint fideslang calls ``user``: the data subjects themselves

# The European Economic Area: the EU member states plus Iceland, Liechtenstein and Norway.
EEA = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
})


@dataclass
class DataMap:
    """The fideslang resources of a workspace, the graph built from them, and where each came from."""

    taxonomy: Taxonomy
    organizations: dict[str, "Organization"]
    systems: dict[str, "System"]
    datasets: dict[str, "Dataset"]
    policies: dict[str, "Policy"]
    custom_taxonomy: dict[str, dict[str, Any]]
    provenance: dict[tuple[str, str], str]
    graph: "nx.MultiDiGraph" = field(repr=False)
    policy: "WorkspacePolicy | None" = field(default=None, repr=False)

    @property
    def files(self) -> dict[tuple[str, str], str]:
        """``(resource type, fides_key) -> manifest file``, the provenance under the name readers look for."""
        return self.provenance

    def source_of(self, resource_type: str, fides_key: str) -> str:
        """The manifest file (workspace-relative) that declares a resource."""
        return self.provenance[(resource_type, fides_key)]

    def is_external(self, system: str) -> bool:
        return self.systems[system].system_type in EXTERNAL_TYPES

    def internal_systems(self) -> list[str]:
        return sorted(k for k in self.systems if not self.is_external(k))

    def external_parties(self) -> list[str]:
        return sorted(k for k in self.systems if self.is_external(k))


def dataset_nodes(dataset: Any) -> Iterable[tuple[list[str], Any]]:
    """The dataset, each collection and each (nested) field, with its path below the dataset."""
    yield [], dataset
    for coll in dataset.collections:
        yield [coll.name], coll
        yield from field_nodes([coll.name], coll.fields or [])


def field_nodes(prefix: list[str], fields: list[Any]) -> Iterable[tuple[list[str], Any]]:
    for f in fields:
        yield [*prefix, f.name], f
        yield from field_nodes([*prefix, f.name], f.fields or [])
