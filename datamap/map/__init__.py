"""The data map: a workspace's fideslang manifests, validated, as a networkx graph with queries.

The queries take the map first and return plain data, networkx style:

>>> dm = load_map("workspace/demo")                     # doctest: +SKIP
>>> where(dm, "user.financial.bank_account")            # doctest: +SKIP
{'category': 'user.financial.bank_account', 'systems': ['zoho_books'],
 'fields': {'zoho_books.customer_payments.bank_account': 'user.financial.bank_account'}}

One job per module, each importing only the ones above it in this list:

- ``model``: ``DataMap`` and the words of the map (``EXTERNAL_TYPES``, ``USER``, ``EEA``)
- ``graph``: what each system and dataset holds, the declared flows, the networkx graph
- ``load``: ``load_map``, parsing with fideslang's models and validating keys and references
- ``queries``: ``where``, ``flows``, ``external_recipients``, ``breach_impact``, ``system_of_dataset``
- ``policies``: fideslang Policies, ``fides_evaluate`` (exactly ``fides evaluate``) and ``evaluate_policy``
- ``findings``: the map-level findings of docs/rules.md (``map_findings``, ``manifest_findings``)
- ``export``: back to fideslang YAML (``to_manifests``, ``write_manifests``)
- ``answers``: ``summary`` and ``as_text`` for the terminal
- ``draw`` and ``page``: the drawings, and the one-page ``map.md`` (``write_map_summary``, for ``make audit``)

This file only re-exports; the modules import each other directly, never from here.
"""
from __future__ import annotations

from datamap.map.answers import as_text, summary
from datamap.map.draw import draw_all, draw_map
from datamap.map.export import to_manifests, write_manifests
from datamap.map.findings import manifest_findings, map_findings
from datamap.map.graph import (
    dataset_categories,
    declared_flows,
    identity_collections,
    node_id,
    system_categories,
    unattached_datasets,
)
from datamap.map.load import load_map
from datamap.map.model import EEA, EXTERNAL_TYPES, USER, DataMap
from datamap.map.page import write_map_summary
from datamap.map.policies import evaluate_policy, fides_evaluate, map_policies
from datamap.map.queries import breach_impact, external_recipients, flow_graph, flows, outside_eea, system_of_dataset, where

__all__ = [
    "EEA",
    "EXTERNAL_TYPES",
    "USER",
    "DataMap",
    "as_text",
    "breach_impact",
    "dataset_categories",
    "declared_flows",
    "draw_all",
    "draw_map",
    "evaluate_policy",
    "external_recipients",
    "fides_evaluate",
    "flow_graph",
    "flows",
    "identity_collections",
    "load_map",
    "manifest_findings",
    "map_findings",
    "map_policies",
    "node_id",
    "outside_eea",
    "summary",
    "system_categories",
    "system_of_dataset",
    "to_manifests",
    "unattached_datasets",
    "where",
    "write_manifests",
    "write_map_summary",
]
