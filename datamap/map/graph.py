"""The map as a graph: what each system and dataset holds, the declared flows, and the networkx graph of them.

Nodes are the organization, systems (internal and external parties), datasets, collections,
fields, categories, uses and subjects, with ids ``kind:key`` (:func:`node_id`); edge keys are the
relation (``stores``, ``holds``, ``flows_to``, ...). The queries (:mod:`datamap.map.queries`) read
these facts; nothing here answers a question.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datamap.map.model import EXTERNAL_TYPES, USER, DataMap, dataset_nodes
from datamap.taxonomy import Kind

if TYPE_CHECKING:
    import networkx as nx


def node_id(kind: str, key: str) -> str:
    """Graph node ids are ``kind:key`` (``system:zoho_crm``, ``category:user.contact.email``)."""
    return f"{kind}:{key}"


def system_categories(dm: DataMap, system: str) -> list[str]:
    """Every category a system holds: its declarations' and its datasets' fields'."""
    cats: set[str] = set()
    sysm = dm.systems[system]
    for decl in sysm.privacy_declarations:
        cats.update(decl.data_categories)
    for ds in system_datasets(dm, system):
        for _path, node in dataset_nodes(dm.datasets[ds]):
            cats.update(node.data_categories or [])
    return sorted(cats)


def dataset_categories(dm: DataMap, dataset: str) -> set[str]:
    """Every category a dataset declares, on itself, its collections or any (nested) field."""
    return {c for _, node in dataset_nodes(dm.datasets[dataset]) for c in (node.data_categories or [])}


def identity_collections(dm: DataMap, identity: str = "email") -> list[tuple[str, str]]:
    """``(dataset, collection)`` pairs with a field marked ``fides_meta.identity``: where a subject is found."""
    found = set()
    for key, dataset in dm.datasets.items():
        for path, node in dataset_nodes(dataset):
            meta = getattr(node, "fides_meta", None)
            if len(path) >= 2 and meta is not None and getattr(meta, "identity", None) == identity:
                found.add((key, path[0]))
    return sorted(found)


def system_datasets(dm: DataMap, system: str) -> list[str]:
    """The datasets a system references, itself or in a privacy declaration (its ``stores`` edges)."""
    sysm = dm.systems[system]
    refs = set(sysm.dataset_references or [])
    for decl in sysm.privacy_declarations:
        refs.update(decl.dataset_references or [])
    return sorted(refs)


def unattached_datasets(dm: DataMap) -> list[str]:
    """The datasets no system references (by ``dataset_references``, a declaration's, or a dataset flow).

    They are part of the map, but no system holds them, so the register cannot say which
    processing they serve.

    >>> unattached_datasets(load_map("fides/data/dataset"))      # doctest: +SKIP
    ['postgres_example_test_dataset']
    """
    referenced: set[str] = set()
    for key, system in dm.systems.items():
        referenced.update(system_datasets(dm, key))
        for flow in (system.egress or []) + (system.ingress or []):
            if flow.type == "dataset":
                referenced.add(flow.fides_key)
    return sorted(set(dm.datasets) - referenced)


def declared_flows(dm: DataMap) -> dict[tuple[str, str], dict[str, Any]]:
    """Every flow as ``(from, to) -> {categories, declared_by}``; egress and ingress of one flow merge.

    A flow without ``data_categories`` carries everything its sender holds (fideslang leaves it
    unspecified; assuming less would hide data).
    """
    flows: dict[tuple[str, str], dict[str, Any]] = {}

    def add(src: str, dst: str, cats: list[str] | None, by: str) -> None:
        sender = src if src in dm.systems else None
        carried = list(cats) if cats is not None else (system_categories(dm, sender) if sender else [])
        entry = flows.setdefault((src, dst), {"categories": set(), "declared_by": []})
        entry["categories"].update(carried)
        entry["declared_by"].append(by)

    for key, system in sorted(dm.systems.items()):
        for flow in system.egress or []:
            add(key, _flow_end(flow), flow.data_categories, f"egress of {key}")
        for flow in system.ingress or []:
            add(_flow_end(flow), key, flow.data_categories, f"ingress of {key}")
    return flows


def _flow_end(flow: Any) -> str:
    """A flow's other end: a system's fides_key, ``user``, or ``dataset:<key>`` (a dataset may share a system's key)."""
    if flow.type == "user":
        return USER
    return f"dataset:{flow.fides_key}" if flow.type == "dataset" else flow.fides_key


def build_graph(dm: DataMap) -> "nx.MultiDiGraph":
    """Build the map's graph; edge keys are the relation (``stores``, ``flows_to``, ...).

    A dataset node has ``unattached=True`` when no system references it (no ``stores`` edge reaches it).
    """
    import networkx as nx

    g = nx.MultiDiGraph()
    tax = dm.taxonomy
    orgs = set(dm.organizations) | {s.organization_fides_key for s in dm.systems.values()}
    for org in sorted(orgs):
        model = dm.organizations.get(org)
        g.add_node(node_id("organization", org), kind="organization", key=org, label=(model.name if model and model.name else org))

    def add_taxonomy_node(kind: Kind, key: str) -> str:
        prefix = {"data_category": "category", "data_use": "use", "data_subject": "subject"}[kind]
        lineage = tax.lineage(kind, key)
        for child, parent in zip(lineage, lineage[1:] + [None]):
            nid = node_id(prefix, child)
            if nid not in g:
                g.add_node(nid, kind=prefix, key=child, label=tax.name(kind, child))
            if parent is not None:
                g.add_edge(nid, node_id(prefix, parent), key="is_a")
        return node_id(prefix, key)

    for key, s in sorted(dm.systems.items()):
        meta = s.meta or {}
        role = s.system_type if s.system_type in EXTERNAL_TYPES else "internal"
        g.add_node(
            node_id("system", key), kind="system", key=key, label=s.name or key, role=role,
            external=role != "internal", country=meta.get("country"), eea=meta.get("eea"),
            dpa_location=s.dpa_location, transfer_basis=list(s.legal_basis_for_transfers or []),
            international=bool(s.does_international_transfers),
        )
    for key, s in sorted(dm.systems.items()):
        sid = node_id("system", key)
        org = node_id("organization", s.organization_fides_key)
        if s.system_type == "Processor":
            g.add_edge(sid, org, key="processes_for")
        elif s.system_type not in EXTERNAL_TYPES:
            g.add_edge(org, sid, key="operates")
        host = (s.meta or {}).get("hosted_by")
        if host:
            g.add_edge(node_id("system", str(host)), sid, key="processes_for")
        for decl in s.privacy_declarations:
            use = add_taxonomy_node("data_use", decl.data_use)
            g.add_edge(sid, use, key=f"used_for:{decl.name or decl.data_use}", relation="used_for",
                       declaration=decl.name, categories=list(decl.data_categories),
                       subjects=list(decl.data_subjects), legal_basis=decl.legal_basis_for_processing)
            for c in decl.data_categories:
                g.add_edge(sid, add_taxonomy_node("data_category", c), key="holds")
            for subj in decl.data_subjects:
                g.add_edge(sid, add_taxonomy_node("data_subject", subj), key=f"concerns:{decl.data_use}",
                           relation="concerns", categories=list(decl.data_categories), data_use=decl.data_use)
        for ds in system_datasets(dm, key):
            g.add_edge(sid, node_id("dataset", ds), key="stores")
    loose = set(unattached_datasets(dm))
    for key, ds in sorted(dm.datasets.items()):
        did = node_id("dataset", key)
        g.add_node(did, kind="dataset", key=key, label=ds.name or key, unattached=key in loose)
        for path, node in dataset_nodes(ds):
            if not path:
                nid = did
            else:
                kind = "collection" if len(path) == 1 else "field"
                nid = node_id(kind, ".".join([key, *path]))
                parent = did if len(path) == 1 else node_id("collection" if len(path) == 2 else "field", ".".join([key, *path[:-1]]))
                meta = getattr(node, "fides_meta", None)
                g.add_node(nid, kind=kind, key=".".join([key, *path]), label=path[-1],
                           identity=getattr(meta, "identity", None) if meta else None,
                           primary_key=bool(getattr(meta, "primary_key", False)) if meta else False)
                g.add_edge(parent, nid, key="stores")
            for c in node.data_categories or []:
                g.add_edge(nid, add_taxonomy_node("data_category", c), key="holds")
    for (src, dst), flow in sorted(declared_flows(dm).items()):
        for end in (src, dst):
            if end == USER and USER not in g:
                g.add_node(USER, kind="source", key=USER, label="Data subjects")
        a = src if src == USER or src.startswith("dataset:") else node_id("system", src)
        b = dst if dst == USER or dst.startswith("dataset:") else node_id("system", dst)
        g.add_edge(a, b, key="flows_to", categories=sorted(flow["categories"]), declared_by=flow["declared_by"])
    return g
