"""The data map: a workspace's fideslang manifests, validated, as a networkx graph with queries.

``load_map`` parses every manifest with fideslang's own models, checks every data category, use
and subject key against the taxonomy (fideslang's defaults, the shipped extensions and the
workspace's own entries), checks that flows and dataset references point at declared resources,
and builds a graph whose nodes are the organization, systems (internal and external parties),
datasets, collections, fields, categories, uses and subjects. The queries take the map first
and return plain data, networkx style:

>>> dm = load_map("workspace/demo")                     # doctest: +SKIP
>>> where(dm, "user.financial.bank_account")            # doctest: +SKIP
{'category': 'user.financial.bank_account', 'systems': ['zoho_books'],
 'fields': {'zoho_books.customer_payments.bank_account': 'user.financial.bank_account'}}
>>> flows(dm, "user.device.ip_address")                 # doctest: +SKIP
[['zoho_salesiq', 'zoho_corporation']]

Public API: ``load_map``, ``where``, ``flows``, ``external_recipients``, ``breach_impact``,
``unattached_datasets`` (datasets no system references), ``map_findings`` and ``manifest_findings``
(docs/rules.md "Map level"), ``evaluate_policy`` (``fides evaluate``'s matching, as the map
findings read it), ``fides_evaluate`` (exactly ``fides evaluate``, for ``datamap evaluate``),
``write_manifests`` / ``to_manifests`` (back to fideslang YAML). The drawings and the one-page
summary (``write_map_summary``, for ``make audit``) are in :mod:`datamap.draw`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, NotRequired, TypedDict

from datamap.errors import BadInput
from datamap.taxonomy import (
    KINDS,
    Kind,
    Taxonomy,
    default_taxonomy,
    high_risk_reason,
    is_personal,
    parse_entries,
)

if TYPE_CHECKING:  # heavy imports stay lazy
    import networkx as nx
    from fideslang.models import Dataset, Organization, Policy, System

    from datamap.findings import Finding
    from datamap.workspace import Policy as WorkspacePolicy
    from datamap.workspace import Workspace

RESOURCE_TYPES = ("organization", "system", "dataset", "policy", "data_category", "data_use", "data_subject")
EXTERNAL_TYPES = ("Processor", "Third Party", "Public Authority")
USER = "user"  # the flow endpoint fideslang calls ``user``: the data subjects themselves


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


# --- loading -----------------------------------------------------------------------------------


def load_map(workspace: "Workspace | str | os.PathLike[str]") -> DataMap:
    """Parse, validate and graph a workspace's manifests.

    ``workspace`` is a loaded :class:`~datamap.workspace.Workspace`, a workspace folder (its
    ``manifests/*.yml``), or a bare folder of fideslang manifests such as Fides's demo resources.
    """
    from datamap.workspace import load_workspace

    if not hasattr(workspace, "manifests") and (Path(workspace) / "policy.yml").exists():
        workspace = load_workspace(workspace)  # a workspace folder: keep its policy for map_findings
    files = _manifest_documents(workspace)
    resources, provenance = _parse(files)
    custom = [e for rel, docs in files for e in parse_entries(docs, rel)]
    taxonomy = default_taxonomy().extended(custom)
    dm = DataMap(
        taxonomy=taxonomy,
        organizations=resources["organization"],
        systems=resources["system"],
        datasets=resources["dataset"],
        policies=resources["policy"],
        custom_taxonomy={k: resources[k] for k in KINDS},
        provenance=provenance,
        graph=None,  # type: ignore[arg-type]
        policy=getattr(workspace, "policy", None),
    )
    _validate_keys(dm)
    _validate_references(dm)
    if dm.policy is not None:
        validate_policy_keys(dm.taxonomy, dm.policy)
    dm.graph = build_graph(dm)
    return dm


def validate_policy_keys(tax: Taxonomy, policy: "WorkspacePolicy", file: str = "policy.yml") -> None:
    """Every category, use and subject policy.yml names must be a taxonomy key (a typo would silently
    change what the checks find)."""
    notice = policy.notice
    for i, purpose in enumerate(notice.purposes):
        for u in purpose.data_uses:
            tax.check("data_use", u, file, f"notice.purposes.{i}.data_uses")
        for c in purpose.data_categories:
            tax.check("data_category", c, file, f"notice.purposes.{i}.data_categories")
    for c in notice.disclosed_categories:
        tax.check("data_category", c, file, "notice.disclosed_categories")
    for s in notice.subjects:
        tax.check("data_subject", s, file, "notice.subjects")
    for i, rule in enumerate(policy.retention):
        for c in rule.categories:
            tax.check("data_category", c, file, f"retention.{i}.categories")
    for role, cats in policy.access.roles.items():
        for c in cats:
            tax.check("data_category", c, file, f"access.roles.{role}")
    for c in policy.access.restricted_categories:
        tax.check("data_category", c, file, "access.restricted_categories")


def _manifest_documents(workspace: Any) -> list[tuple[str, dict]]:
    from datamap.workspace import Workspace, read_yaml

    if isinstance(workspace, Workspace):
        return [(m.relpath, m.documents) for m in workspace.manifests]
    root = Path(workspace)
    if root.is_file() and root.suffix in (".yml", ".yaml"):  # one manifest, as fides accepts it
        root, folder, paths = root.parent, root.parent, [root]
    else:
        folder = root / "manifests" if (root / "manifests").is_dir() else root
        if not folder.is_dir():
            raise BadInput(str(root), None, "no manifests folder found")
        paths = sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml"))
    if not paths:
        raise BadInput(str(folder), None, "no fideslang manifests (*.yml) found")
    out = []
    for path in paths:
        docs = read_yaml(path, root)
        if not isinstance(docs, dict):
            raise BadInput(str(path.relative_to(root)), None, "expected a mapping of fideslang resource lists")
        out.append((str(path.relative_to(root)), docs))
    return out


def _parse(files: list[tuple[str, dict]]) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], str]]:
    """Parse each resource with its fideslang model; duplicates and unknown types are bad input."""
    from fideslang import model_map
    from pydantic import ValidationError

    resources: dict[str, dict[str, Any]] = {t: {} for t in RESOURCE_TYPES}
    provenance: dict[tuple[str, str], str] = {}
    for rel, docs in files:
        for rtype, items in docs.items():
            if rtype not in RESOURCE_TYPES:
                raise BadInput(rel, str(rtype), "unknown fideslang resource type", f"one of {', '.join(RESOURCE_TYPES)}")
            if not isinstance(items, list):
                raise BadInput(rel, rtype, "expected a list of resources")
            for i, raw in enumerate(items):
                label = rtype.replace("_", " ")
                key = raw.get("fides_key") if isinstance(raw, dict) else None
                where = f"{label} {key}" if key else f"{label} #{i + 1}"
                try:
                    model = model_map[rtype].model_validate(raw)
                except ValidationError as exc:
                    raise _validation_error(rel, where, exc) from None
                except TypeError:  # fideslang sorts named lists in a validator; a null name breaks the sort
                    raise BadInput(rel, where, "an item of its lists has no name",
                                   "every privacy declaration, collection and field needs a name") from None
                if (rtype, model.fides_key) in provenance:
                    raise BadInput(rel, where, "duplicate fides_key", f"also declared in {provenance[(rtype, model.fides_key)]}")
                resources[rtype][model.fides_key] = model
                provenance[(rtype, model.fides_key)] = rel
    return resources, provenance


def _validation_error(rel: str, where: str, exc: Any) -> BadInput:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Assertion failed, ").removeprefix("Value error, ")
    if err["type"] == "missing":
        msg = "required key is missing"
    return BadInput(rel, where, f"{loc}: {msg}" if loc else msg)


def _validate_keys(dm: DataMap) -> None:
    """Every category, use and subject key must be in the taxonomy (with a did-you-mean)."""
    tax = dm.taxonomy
    for key, system in dm.systems.items():
        rel, where = dm.source_of("system", key), f"system {key}"
        for decl in system.privacy_declarations:
            for c in decl.data_categories:
                tax.check("data_category", c, rel, where)
            tax.check("data_use", decl.data_use, rel, where)
            for s in decl.data_subjects:
                tax.check("data_subject", s, rel, where)
        for flow in (system.egress or []) + (system.ingress or []):
            for c in flow.data_categories or []:
                tax.check("data_category", c, rel, where)
    for key, dataset in dm.datasets.items():
        rel = dm.source_of("dataset", key)
        for path, node in _dataset_nodes(dataset):
            where = f"dataset {'.'.join([key, *path])}"
            for c in node.data_categories or []:
                tax.check("data_category", c, rel, where)
            for u in getattr(node, "data_uses", None) or []:
                tax.check("data_use", u, rel, where)
            for s in getattr(node, "data_subjects", None) or []:
                tax.check("data_subject", s, rel, where)
    for key, policy in dm.policies.items():
        rel = dm.source_of("policy", key)
        for rule in policy.rules:
            where = f"policy {key}: rule {rule.name}"
            for kind, prule in (("data_category", rule.data_categories), ("data_use", rule.data_uses), ("data_subject", rule.data_subjects)):
                for v in prule.values:
                    if not _is_placeholder(v):
                        tax.check(kind, v, rel, where)  # type: ignore[arg-type]


def _dataset_nodes(dataset: Any) -> Iterable[tuple[list[str], Any]]:
    """The dataset, each collection and each (nested) field, with its path below the dataset."""
    yield [], dataset
    for coll in dataset.collections:
        yield [coll.name], coll
        yield from _field_nodes([coll.name], coll.fields or [])


def _field_nodes(prefix: list[str], fields: list[Any]) -> Iterable[tuple[list[str], Any]]:
    for f in fields:
        yield [*prefix, f.name], f
        yield from _field_nodes([*prefix, f.name], f.fields or [])


def _validate_references(dm: DataMap) -> None:
    """Flows, dataset references and hosting must name declared resources.

    A dataset no system references is valid fideslang (Fides keeps many, linked to a connection for
    privacy requests): it loads, and ``map.dataset_unattached`` reports it.
    """
    for key, system in dm.systems.items():
        rel, where = dm.source_of("system", key), f"system {key}"
        refs = list(system.dataset_references or [])
        for decl in system.privacy_declarations:
            refs += decl.dataset_references or []
        for ref in refs:
            _check_exists(ref, dm.datasets, "dataset", rel, where, "references undeclared dataset")
        for direction in ("egress", "ingress"):
            for flow in getattr(system, direction) or []:
                if flow.type == "system":
                    _check_exists(flow.fides_key, dm.systems, "system", rel, where, f"{direction} {'to' if direction == 'egress' else 'from'} undeclared system")
                elif flow.type == "dataset":
                    _check_exists(flow.fides_key, dm.datasets, "dataset", rel, where, f"{direction} {'to' if direction == 'egress' else 'from'} undeclared dataset")
        host = (system.meta or {}).get("hosted_by")
        if host is not None:
            _check_exists(str(host), dm.systems, "system", rel, where, "meta.hosted_by names undeclared system")


def unattached_datasets(dm: DataMap) -> list[str]:
    """The datasets no system references (by ``dataset_references``, a declaration's, or a dataset flow).

    They are part of the map, but no system holds them, so the register cannot say which
    processing they serve.

    >>> unattached_datasets(load_map("fides/data/dataset"))      # doctest: +SKIP
    ['postgres_example_test_dataset']
    """
    referenced: set[str] = set()
    for key, system in dm.systems.items():
        referenced.update(_system_datasets(dm, key))
        for flow in (system.egress or []) + (system.ingress or []):
            if flow.type == "dataset":
                referenced.add(flow.fides_key)
    return sorted(set(dm.datasets) - referenced)


def _check_exists(key: str, known: Mapping[str, Any], kind: str, rel: str, where: str, message: str) -> None:
    if key in known:
        return
    from rapidfuzz import fuzz, process

    best = process.extractOne(key, list(known), scorer=fuzz.ratio, score_cutoff=60)
    raise BadInput(rel, where, f"{message} {key!r}", f"did you mean {best[0]!r}?" if best else f"no {kind} {key!r} in the manifests")


def _is_placeholder(value: str) -> bool:
    return value.startswith("<") and value.endswith(">")


# --- the graph ---------------------------------------------------------------------------------


def node_id(kind: str, key: str) -> str:
    """Graph node ids are ``kind:key`` (``system:zoho_crm``, ``category:user.contact.email``)."""
    return f"{kind}:{key}"


def system_categories(dm: DataMap, system: str) -> list[str]:
    """Every category a system holds: its declarations' and its datasets' fields'."""
    cats: set[str] = set()
    sysm = dm.systems[system]
    for decl in sysm.privacy_declarations:
        cats.update(decl.data_categories)
    for ds in _system_datasets(dm, system):
        for _path, node in _dataset_nodes(dm.datasets[ds]):
            cats.update(node.data_categories or [])
    return sorted(cats)


def dataset_categories(dm: DataMap, dataset: str) -> set[str]:
    """Every category a dataset declares, on itself, its collections or any (nested) field."""
    return {c for _, node in _dataset_nodes(dm.datasets[dataset]) for c in (node.data_categories or [])}


def identity_collections(dm: DataMap, identity: str = "email") -> list[tuple[str, str]]:
    """``(dataset, collection)`` pairs with a field marked ``fides_meta.identity``: where a subject is found."""
    found = set()
    for key, dataset in dm.datasets.items():
        for path, node in _dataset_nodes(dataset):
            meta = getattr(node, "fides_meta", None)
            if len(path) >= 2 and meta is not None and getattr(meta, "identity", None) == identity:
                found.add((key, path[0]))
    return sorted(found)


def _system_datasets(dm: DataMap, system: str) -> list[str]:
    sysm = dm.systems[system]
    refs = set(sysm.dataset_references or [])
    for decl in sysm.privacy_declarations:
        refs.update(decl.dataset_references or [])
    return sorted(refs)


def _flows(dm: DataMap) -> dict[tuple[str, str], dict[str, Any]]:
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
        for ds in _system_datasets(dm, key):
            g.add_edge(sid, node_id("dataset", ds), key="stores")
    loose = set(unattached_datasets(dm))
    for key, ds in sorted(dm.datasets.items()):
        did = node_id("dataset", key)
        g.add_node(did, kind="dataset", key=key, label=ds.name or key, unattached=key in loose)
        for path, node in _dataset_nodes(ds):
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
    for (src, dst), flow in sorted(_flows(dm).items()):
        for end in (src, dst):
            if end == USER and USER not in g:
                g.add_node(USER, kind="source", key=USER, label="Data subjects")
        a = src if src == USER or src.startswith("dataset:") else node_id("system", src)
        b = dst if dst == USER or dst.startswith("dataset:") else node_id("system", dst)
        g.add_edge(a, b, key="flows_to", categories=sorted(flow["categories"]), declared_by=flow["declared_by"])
    return g


# --- queries -----------------------------------------------------------------------------------


class Location(TypedDict):
    """Where a category lives: the systems, and each field with the categories it holds.

    ``unattached`` is there only when datasets no system references hold the category too.
    """

    category: str
    systems: list[str]
    fields: dict[str, str]
    unattached: NotRequired[list[str]]


# One party outside the organization that receives personal data, and on which terms
# (``processing_agreement`` None: not a processor, no Art. 28 agreement needed). Functional form:
# ``from`` is a keyword.
Recipient = TypedDict("Recipient", {
    "party": str, "name": str, "role": str, "processing_agreement": "bool | None", "dpa_location": "str | None",
    "country": "str | None", "outside_eea": bool, "transfer_basis": list[str], "categories": list[str],
    "from": list[str], "via": list[str],
})


class BreachImpact(TypedDict):
    """What a breach of one system exposes, and whether notifications are likely due (with why)."""

    system: str
    categories: list[str]
    subjects: list[str]
    records: dict[str, int | None]
    total_records: int | None
    flows_on: list[list[str]]
    notify_authority: bool
    notify_subjects: bool
    high_risk_categories: list[str]
    reasons: list[str]


def where(dm: DataMap, category: str) -> Location:
    """Every system and field holding a category or a narrower one (``user.contact`` finds e-mail too).

    Returns ``{"category", "systems": [fides_key], "fields": {"dataset.collection.field": category}}``;
    fields of datasets no system references are listed too, and those datasets under ``unattached``.
    """
    dm.taxonomy.check("data_category", category, None, None)
    tax = dm.taxonomy
    fields: dict[str, str] = {}
    holders: set[str] = set()
    loose: set[str] = set()

    def held(ds: str) -> bool:
        found = False
        for path, node in _dataset_nodes(dm.datasets[ds]):
            hits = [c for c in node.data_categories or [] if tax.covers("data_category", category, c)]
            if hits:
                found = True
                if len(path) >= 2:
                    fields[".".join([ds, *path])] = ", ".join(sorted(hits))
        return found

    for key in dm.systems:
        for decl in dm.systems[key].privacy_declarations:
            if any(tax.covers("data_category", category, c) for c in decl.data_categories):
                holders.add(key)
        for ds in _system_datasets(dm, key):
            if held(ds):
                holders.add(key)
    for ds in unattached_datasets(dm):
        if held(ds):
            loose.add(ds)
    answer: Location = {"category": category, "systems": sorted(holders), "fields": dict(sorted(fields.items()))}
    if loose:
        answer["unattached"] = sorted(loose)
    return answer


def _carries(dm: DataMap, carried: Iterable[str], category: str) -> bool:
    """A flow carries a category when it names it, a narrower one, or a broader one (``user.contact`` holds e-mail)."""
    tax = dm.taxonomy
    return any(tax.covers("data_category", category, c) or tax.covers("data_category", c, category) for c in carried)


def flow_graph(dm: DataMap, category: str | None = None) -> "nx.DiGraph":
    """The flows between systems (and the subjects), optionally only those carrying a category.

    A system's host (``meta.hosted_by``) receives everything the system holds, so hosting is a
    flow too (edge attribute ``via: hosting``).
    """
    import networkx as nx

    g = nx.DiGraph()
    for a, b, k, data in dm.graph.edges(keys=True, data=True):
        if k == "flows_to" and (category is None or _carries(dm, data["categories"], category)):
            g.add_edge(_short(a), _short(b), categories=data["categories"], via="flow")
    for key, system in sorted(dm.systems.items()):
        host = (system.meta or {}).get("hosted_by")
        held = system_categories(dm, key)
        if host and (category is None or _carries(dm, held, category)) and not g.has_edge(key, str(host)):
            g.add_edge(key, str(host), categories=held, via="hosting")
    return g


def _short(nid: str) -> str:
    """Systems by their fides_key; a dataset keeps its ``dataset:`` prefix (it may share the key)."""
    return nid.split(":", 1)[1] if nid.startswith("system:") else nid


def flows(dm: DataMap, category: str) -> list[list[str]]:
    """Every path a category takes, from where it is collected to each recipient, internal and external.

    A path starts at ``user`` (collected from the subjects) or, when no flow brings the category in,
    at a system that holds it; it ends where the category flows no further. Paths are lists of
    fides_keys, sorted.
    """
    import networkx as nx

    dm.taxonomy.check("data_category", category, None, None)
    g = flow_graph(dm, category)
    holders = set(where(dm, category)["systems"])
    starts = {n for n in g if n == USER or (n in holders and g.in_degree(n) == 0)}
    paths: list[list[str]] = []

    def walk(start: str) -> None:
        for end in g:
            if end != start:
                paths.extend(list(p) for p in nx.all_simple_paths(g, start, end) if not _extends(p, g))

    for start in sorted(starts):
        walk(start)
    on_paths = {n for p in paths for n in p}
    for holder in sorted(holders & set(g) - on_paths):  # a cycle nothing feeds: start at each of its holders
        walk(holder)
    for holder in sorted(holders - set(g)):  # kept where it is: a path of one system
        paths.append([holder])
    return sorted(paths)


def _extends(path: list[str], g: "nx.DiGraph") -> bool:
    """Tell whether a simple path can still go on (then only its longest form is reported)."""
    return any(nxt not in path for nxt in g.successors(path[-1]))


def external_recipients(dm: DataMap) -> list[Recipient]:
    """Who receives personal data outside the organization: role, agreement, EEA, transfer basis.

    A party receives data through a flow from a system or by hosting a system (``meta.hosted_by``).
    """
    received: dict[str, dict[str, set[str]]] = {}
    for (src, dst), flow in _flows(dm).items():
        if dst in dm.systems and dm.is_external(dst):
            personal = {c for c in flow["categories"] if is_personal(dm.taxonomy, c)}
            if personal:
                entry = received.setdefault(dst, {"categories": set(), "from": set(), "via": set()})
                entry["categories"] |= personal
                entry["from"].add(src)
                entry["via"].add("flow")
    for key, system in dm.systems.items():
        host = (system.meta or {}).get("hosted_by")
        if host and str(host) in dm.systems and dm.is_external(str(host)):
            personal = {c for c in system_categories(dm, key) if is_personal(dm.taxonomy, c)}
            if personal:
                entry = received.setdefault(str(host), {"categories": set(), "from": set(), "via": set()})
                entry["categories"] |= personal
                entry["from"].add(key)
                entry["via"].add("hosting")
    out = []
    for key in sorted(received):
        party = dm.systems[key]
        meta = party.meta or {}
        outside = outside_eea(party)
        out.append({
            "party": key,
            "name": party.name or key,
            "role": party.system_type,
            # only a processor needs an Art. 28 agreement; None means not applicable
            "processing_agreement": bool(party.dpa_location) if party.system_type == "Processor" else None,
            "dpa_location": party.dpa_location,
            "country": meta.get("country"),
            "outside_eea": outside,
            "transfer_basis": list(party.legal_basis_for_transfers or []),
            "categories": sorted(received[key]["categories"]),
            "from": sorted(received[key]["from"]),
            "via": sorted(received[key]["via"]),
        })
    return out


# The European Economic Area: the EU member states plus Iceland, Liechtenstein and Norway.
EEA = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
})


def outside_eea(party: "System") -> bool:
    """Tell whether data sent to a party leaves the EEA: it says so (``meta.eea: false``,
    ``does_international_transfers``), or its ``meta.country`` lies outside the EEA and it does not
    claim ``meta.eea: true``. The map rules and the register ask this one question."""
    meta = party.meta or {}
    if meta.get("eea") is False or party.does_international_transfers:
        return True
    country = str(meta.get("country") or "").upper()
    return bool(country) and country not in EEA and meta.get("eea") is not True


def breach_impact(dm: DataMap, system: str, counts: Mapping[str, int] | None = None) -> BreachImpact:
    """What a breach of one system exposes and whether Art. 33 and Art. 34 notifications are likely due.

    ``counts`` maps ``dataset.collection`` to a record count (the audit store can supply them);
    without it the record counts are unknown (None). The reasoning is returned with the answer.
    """
    if system not in dm.systems:
        _check_exists(system, dm.systems, "system", None, None, "unknown system")  # type: ignore[arg-type]
    tax = dm.taxonomy
    categories = system_categories(dm, system)
    personal = [c for c in categories if is_personal(tax, c)]
    subjects = sorted({s for d in dm.systems[system].privacy_declarations for s in d.data_subjects})
    collections = [f"{ds}.{c.name}" for ds in _system_datasets(dm, system) for c in dm.datasets[ds].collections]
    records = {c: (counts or {}).get(c) for c in collections}
    known = [n for n in records.values() if n is not None]
    onward = _onward_paths(dm, system)
    reasons: list[str] = []
    high = {c: high_risk_reason(tax, c) for c in personal}
    high = {c: r for c, r in high.items() if r}
    if personal:
        reasons.append(f"holds {len(personal)} categories of personal data of {', '.join(subjects) or 'unnamed subjects'}: "
                       "report to the Autoriteit Persoonsgegevens within 72 hours unless the breach is unlikely to result in a risk (Art. 33(1))")
    else:
        reasons.append("holds no personal data: no notification, but document the breach (Art. 33(5))")
    for c, why in sorted(high.items()):
        reasons.append(f"{c} is {why}: high risk to the subjects, tell them without undue delay (Art. 34(1))")
    if personal and not high:
        reasons.append("no special, financial, credential or national-id data: a notice to the subjects is not presumed (Art. 34)")
    if known:
        reasons.append(f"{sum(known)} records in {len(known)} of its {len(records)} collections are exposed "
                       "(collections without a count are not included)" if len(known) < len(records)
                       else f"{sum(known)} records in its {len(records)} collections are exposed")
    if onward:
        recipients = sorted({n for p in onward for n in p[1:]})
        reasons.append(f"the data flows on to {', '.join(recipients)}: include them in the assessment")
    return {
        "system": system,
        "categories": personal,
        "subjects": subjects,
        "records": records,
        "total_records": sum(known) if known else None,
        "flows_on": onward,
        "notify_authority": bool(personal),
        "notify_subjects": bool(high),
        "high_risk_categories": sorted(high),
        "reasons": reasons,
    }


def _onward_paths(dm: DataMap, system: str) -> list[list[str]]:
    import networkx as nx

    g = flow_graph(dm)
    if system not in g:
        return []
    paths = []
    for end in g:
        if end != system:
            for path in nx.all_simple_paths(g, system, end):
                if not _extends(path, g):
                    paths.append(list(path))
    return sorted(paths)


# --- map-level findings ------------------------------------------------------------------------

MAP_POLICIES_FILE = Path(__file__).resolve().parent / "checks" / "map_policies.yml"

# rule id -> (claim, check, severity); the rule ids are the contract of docs/rules.md "Map level".
def map_rules() -> dict[str, Any]:
    """The map-level rule ids and their claim, check and severity, as the catalogue (``datamap/checks``) says them."""
    from datamap.audit.catalogue import library_rules

    return {rule: home for rule, home in library_rules().items() if home.kind == "map"}


def evaluate_policy(dm: DataMap, policy: "Policy") -> list[dict[str, Any]]:
    """Evaluate a fideslang Policy with ``fides evaluate``'s matching, as the map findings read it.

    One violation per rule and evaluated element. Unlike :func:`fides_evaluate` (exactly Fides),
    a declaration without ``dataset_references`` is judged with its system's datasets, a field's
    own subjects count, and a field's category only with the declarations that cover it
    (``_attributed``).

    For each rule, system and privacy declaration, the declaration and every dataset, collection
    and field it references are evaluated. Per dimension ANY flags the declared keys whose
    lineage meets the rule's values, ALL does so only when every declared key does, NONE flags
    all declared keys when none does, OTHER flags the declared keys whose lineage misses them. A
    violation needs all three dimensions flagged. Subjects have no hierarchy. A field's own
    ``data_subjects`` (else its collection's or dataset's) replace the declaration's.
    """
    out: list[dict[str, Any]] = []
    for rule in policy.rules:
        for key, system in sorted(dm.systems.items()):
            for decl in system.privacy_declarations:
                elements: list[tuple[str, list[str], list[str]]] = [("declaration", list(decl.data_categories), list(decl.data_subjects))]
                refs = decl.dataset_references if decl.dataset_references is not None else system.dataset_references
                others = [c for d in system.privacy_declarations if d is not decl for c in d.data_categories]
                for ds in refs or []:
                    dataset = dm.datasets[ds]
                    for path, node in _dataset_nodes(dataset):
                        if not node.data_categories:
                            continue
                        own = _element_subjects(dataset, path)
                        cats = list(node.data_categories) if own else _attributed(dm.taxonomy, list(node.data_categories),
                                                                                  list(decl.data_categories), others)
                        if cats:
                            out_where = "dataset " + ".".join([ds, *path])
                            elements.append((out_where, cats, own or list(decl.data_subjects)))
                for element, cats, subjects in elements:
                    hit = _evaluate_rule(dm.taxonomy, rule, cats, decl.data_use, subjects)
                    if hit:
                        out.append({"policy": policy.fides_key, "rule": rule.name, "system": key,
                                    "declaration": decl.name, "element": element, **hit})
    return out


def _attributed(tax: Taxonomy, categories: list[str], declared: list[str], others: list[str]) -> list[str]:
    """The categories of a field without its own ``data_subjects`` that belong to this declaration.

    A system's dataset serves all its declarations; a field inherits the subjects of a declaration
    only when that declaration covers its category, or when no other declaration of the system
    does (undeclared data is everyone's concern). So a category that only the employee declaration
    holds is not judged as held about customers.
    """
    def covered(category: str, by: list[str]) -> bool:
        return any(tax.covers("data_category", d, category) or tax.covers("data_category", category, d) for d in by)

    return [c for c in categories if covered(c, declared) or not covered(c, others)]


def _element_subjects(dataset: Any, path: list[str]) -> list[str]:
    """The most specific ``data_subjects`` on the way from the dataset down to this element."""
    found: list[str] = list(getattr(dataset, "data_subjects", None) or [])
    nodes = {tuple(p): n for p, n in _dataset_nodes(dataset)}
    for depth in range(1, len(path) + 1):
        node = nodes[tuple(path[:depth])]
        if getattr(node, "data_subjects", None):
            found = list(node.data_subjects)
    return found


def _evaluate_rule(tax: Taxonomy, rule: Any, categories: list[str], use: str, subjects: list[str]) -> dict[str, list[str]] | None:
    cats = _compare(rule.data_categories, [tax.lineage("data_category", c) for c in categories])
    uses = _compare(rule.data_uses, [tax.lineage("data_use", use)])
    subs = _compare(rule.data_subjects, [[s] for s in subjects])
    if cats and uses and subs:
        return {"data_categories": sorted(cats), "data_uses": sorted(uses), "data_subjects": sorted(subs)}
    return None


def _compare(prule: Any, lineages: list[list[str]]) -> set[str]:
    """The declared keys a rule dimension flags (fides' compare_rule_to_declaration semantics)."""
    values = set(prule.values)
    matched = {lin[0] for lin in lineages if values & set(lin)}
    missed = {lin[0] for lin in lineages if not values & set(lin)}
    match = getattr(prule.matches, "value", prule.matches)
    if match == "ANY":
        return matched
    if match == "ALL":
        return matched if len(matched) == len(lineages) else set()
    if match == "NONE":
        return missed if not matched else set()
    return missed  # OTHER


class FidesEvaluation(TypedDict):
    """What ``fides evaluate`` decides: ``PASS`` or ``FAIL``, with one violation per rule and evaluated element.

    ``violations``: ``[{"detail": str, "violating_attributes": {"data_categories", "data_uses",
    "data_subjects"}}]``, fideslang's ``Violation``; the whole is fideslang's ``Evaluation``
    without the ``fides_key`` a Fides server gives it, plus the ``policies`` evaluated and the
    ``datasets_not_evaluated`` (no privacy declaration references them, so no rule reached them).
    """

    policies: list[str]
    message: str
    status: str
    violations: list[dict[str, Any]]
    datasets_not_evaluated: list[str]


def fides_evaluate(dm: DataMap, policy_key: str | None = None, message: str = "") -> FidesEvaluation:
    """Evaluate the manifests' fideslang Policies as ``fides evaluate`` does (its local mode: no server).

    Each rule of each policy (or of ``policy_key`` only) meets each privacy declaration of each
    system, then each dataset that *declaration* lists in ``dataset_references`` (a system's own
    ``dataset_references`` are not evaluated, nor are datasets no declaration references): the
    dataset's, each collection's and each nested field's own ``data_categories``, always with the
    declaration's use and subjects. Per dimension ANY, ALL, NONE and OTHER as in
    :func:`evaluate_policy`; a violation needs all three dimensions flagged. The details are Fides'
    wording, their keys sorted (Fides prints them in set order).

    >>> fides_evaluate(load_map("fides/demo_resources"))["status"]       # doctest: +SKIP
    'PASS'
    """
    if not dm.policies:
        raise BadInput(None, "policy", "the manifests hold no fideslang Policy to evaluate",
                       "fides evaluate needs at least one: add a policy resource with rules")
    if policy_key is not None and policy_key not in dm.policies:
        _check_exists(policy_key, dm.policies, "policy", None, "--fides-key", "no policy")  # type: ignore[arg-type]
    policies = [dm.policies[policy_key]] if policy_key is not None else list(dm.policies.values())
    violations: list[dict[str, Any]] = []
    for policy in policies:
        for rule in policy.rules:
            for key, system in dm.systems.items():
                for decl in system.privacy_declarations:
                    said = f"Declaration ({decl.name}) of system ({key}) failed rule ({rule.name}) from policy ({policy.fides_key})"
                    elements = [(said, list(decl.data_categories))]
                    for ds in decl.dataset_references or []:
                        dataset = dm.datasets[ds]
                        elements.append((f"{said} for dataset ({ds})", list(dataset.data_categories or [])))
                        for coll in dataset.collections:
                            elements.append((f"{said} for dataset collection ({coll.name})", list(coll.data_categories or [])))
                            for _path, node in _field_nodes([coll.name], coll.fields or []):
                                elements.append((f"{said} for dataset field ({node.name})", list(node.data_categories or [])))
                    for said_where, cats in elements:
                        if not cats:
                            continue  # Fides skips an element without categories; none could violate a rule
                        hit = _evaluate_rule(dm.taxonomy, rule, cats, decl.data_use, list(decl.data_subjects))
                        if hit:
                            violations.append({
                                "detail": f"{said_where}. Violated usage of data categories ({','.join(hit['data_categories'])}) "
                                          f"for data uses ({','.join(hit['data_uses'])}) and subjects ({','.join(hit['data_subjects'])})",
                                "violating_attributes": hit})
    reached = {ds for system in dm.systems.values() for decl in system.privacy_declarations for ds in decl.dataset_references or []}
    return {"policies": [p.fides_key for p in policies], "message": message,
            "status": "FAIL" if violations else "PASS", "violations": violations,
            "datasets_not_evaluated": sorted(set(dm.datasets) - reached)}


def map_policies(policy: "WorkspacePolicy", path: Path = MAP_POLICIES_FILE) -> list["Policy"]:
    """The fideslang Policies of ``checks/map_policies.yml``, ``<notice.x>`` values filled from policy.yml."""
    from fideslang.models import Policy
    from pydantic import ValidationError

    from datamap.workspace import read_yaml

    docs = read_yaml(path) or {}
    out = []
    for raw in docs.get("policy") or []:
        filled = _fill_placeholders(raw, policy, str(path.name))
        try:
            out.append(Policy.model_validate(filled))
        except ValidationError as exc:
            raise _validation_error(path.name, f"policy {raw.get('fides_key')}", exc) from None
    return out


def _fill_placeholders(raw: Any, policy: "WorkspacePolicy", file: str) -> Any:
    if isinstance(raw, dict):
        if set(raw) == {"matches", "values"}:
            values: list[str] = []
            for v in raw["values"]:
                if isinstance(v, str) and _is_placeholder(v):
                    values += _policy_value(policy, v[1:-1], file)
                else:
                    values.append(v)
            return {"matches": raw["matches"], "values": values}
        return {k: _fill_placeholders(v, policy, file) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_fill_placeholders(v, policy, file) for v in raw]
    return raw


def _policy_value(policy: "WorkspacePolicy", dotted: str, file: str) -> list[str]:
    value: Any = policy
    for part in dotted.split("."):
        value = getattr(value, part, None)
        if value is None:
            raise BadInput(file, f"<{dotted}>", "placeholder names no list in policy.yml")
    return [str(v) for v in value]


def map_findings(dm: DataMap, policy: "WorkspacePolicy | None" = None) -> list["Finding"]:
    """The map-level findings of docs/rules.md, from the manifests and policy.yml alone.

    ``policy`` defaults to the policy of the workspace the map was loaded from.
    """
    policy = policy or dm.policy
    if policy is None:
        raise BadInput(None, "policy.yml", "map findings need the workspace's policy.yml", "load the map from a workspace folder")
    findings = manifest_findings(dm) + _undeclared_uses(dm, policy)
    for fides_policy in map_policies(policy):
        findings += _policy_findings(dm, fides_policy)
    unique = {f.key: f for f in findings}
    return sorted(unique.values(), key=lambda f: f.key)


def manifest_findings(dm: DataMap) -> list["Finding"]:
    """The map-level findings the manifests alone give, without policy.yml (a bare folder of Fides manifests).

    ``map.dataset_unattached``, ``sharing.processor_without_dpa`` and ``transfer.outside_eea_without_basis``;
    :func:`map_findings` adds those that judge the map against the notice.
    """
    findings = _unattached_findings(dm) + _processor_and_transfer_findings(dm)
    return sorted({f.key: f for f in findings}.values(), key=lambda f: f.key)


def _finding(rule: str, system: str, record_key: str, detail: str, evidence: dict[str, Any],
             dataset: str | None = None) -> "Finding":
    from datamap.findings import Finding

    home = map_rules()[rule]
    claim, check, severity = home.claim, home.check, home.severity_for(record_key)
    return Finding(claim=claim, rule=rule, severity=severity, system=system, record_key=record_key,
                   detail=detail, check=check, dataset=dataset, evidence=evidence)


def _unattached_findings(dm: DataMap) -> list["Finding"]:
    """``map.dataset_unattached``: a dataset no system references; the register cannot place it.

    No system holds it, so ``system`` is the dataset's own key, as elsewhere for a dataset without one.
    """
    out = []
    for key in unattached_datasets(dm):
        personal = sorted(c for c in dataset_categories(dm, key) if is_personal(dm.taxonomy, c))
        holds = f"holds {len(personal)} personal data categories" if personal else "holds no personal data category"
        out.append(_finding(
            "map.dataset_unattached", key, key,
            f"dataset {key} ({holds}) is referenced by no system, so the register cannot say which processing it serves; "
            f"attach it: add {key} to the dataset_references of the privacy declaration (or system) that holds it",
            {"source": dm.source_of("dataset", key), "collections": [c.name for c in dm.datasets[key].collections],
             "personal_categories": personal},
            dataset=key))
    return out


def _undeclared_uses(dm: DataMap, policy: "WorkspacePolicy") -> list["Finding"]:
    """``purpose.undeclared_use``: a declared use no notice purpose covers for one of its categories.

    Computed directly rather than as a fideslang Policy: fides policies are deny rules, and a
    notice purpose is an allow rule whose reach grows with a more specific use or category, which
    one deny rule per dimension cannot express exactly.
    """
    tax = dm.taxonomy
    out = []
    for key in dm.internal_systems():
        for decl in dm.systems[key].privacy_declarations:
            uncovered = [c for c in decl.data_categories if not any(
                any(tax.covers("data_use", u, decl.data_use) for u in p.data_uses)
                and (not p.data_categories or tax.covered_by_any("data_category", c, p.data_categories))
                for p in policy.notice.purposes)]
            if uncovered:
                out.append(_finding(
                    "purpose.undeclared_use", key, decl.data_use,
                    f"declaration {decl.name or decl.data_use!r} uses {', '.join(uncovered)} for {decl.data_use}, "
                    "which no purpose in the notice covers",
                    {"source": dm.source_of("system", key), "declaration": decl.name, "data_use": decl.data_use,
                     "uncovered_categories": uncovered}))
    return out


def _processor_and_transfer_findings(dm: DataMap) -> list["Finding"]:
    """``sharing.processor_without_dpa`` and ``transfer.outside_eea_without_basis`` on direct flows."""
    out = []
    for (src, dst), flow in sorted(_flows(dm).items()):
        if src not in dm.systems or dst not in dm.systems or dm.is_external(src) or not dm.is_external(dst):
            continue
        personal = sorted(c for c in flow["categories"] if is_personal(dm.taxonomy, c))
        if not personal:
            continue
        party = dm.systems[dst]
        evidence = {"source": dm.source_of("system", src), "recipient_source": dm.source_of("system", dst),
                    "categories": personal, "declared_by": flow["declared_by"]}
        if party.system_type == "Processor" and not party.dpa_location:
            out.append(_finding("sharing.processor_without_dpa", src, dst,
                                f"{src} sends personal data to processor {dst}, which has no processing agreement (dpa_location) on file", evidence))
        if outside_eea(party) and not party.legal_basis_for_transfers:
            where_ = (party.meta or {}).get("country") or "outside the EEA"
            out.append(_finding("transfer.outside_eea_without_basis", src, dst,
                                f"{src} sends personal data to {dst} ({where_}) without a legal basis for the transfer", evidence))
    return out


def _policy_findings(dm: DataMap, policy: "Policy") -> list["Finding"]:
    """Findings from a fideslang Policy whose rule names are rule ids (``notice.*`` rules land on ``notice``)."""
    out = []
    for v in evaluate_policy(dm, policy):
        if v["rule"] not in map_rules():
            continue
        system = "notice" if v["rule"].startswith("notice.") else v["system"]
        for cat in v["data_categories"]:
            record_key = cat if v["rule"].startswith("notice.") else v["data_uses"][0]
            out.append(_finding(v["rule"], system, record_key,
                                f"{v['system']} holds {cat} of {', '.join(v['data_subjects'])} ({v['element']}), "
                                "which the notice does not disclose",
                                {"source": dm.source_of("system", v["system"]), "policy": v["policy"],
                                 "element": v["element"], "data_use": v["data_uses"], "data_subjects": v["data_subjects"]}))
    return out


# --- fideslang export --------------------------------------------------------------------------


def to_manifests(dm: DataMap, include_extensions: bool = True) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The map as fideslang manifests, one per source file (``file -> {resource type: [resource]}``).

    Only what was set in the manifests is written, so a reload gives equal models. With
    ``include_extensions`` the shipped extensions are added as ``datamap_extensions.yml`` so the
    export validates with fideslang alone.
    """
    from datamap.taxonomy import shipped_extensions

    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    collections = {"organization": dm.organizations, "system": dm.systems, "dataset": dm.datasets,
                   "policy": dm.policies, **dm.custom_taxonomy}
    for rtype in RESOURCE_TYPES:
        for key, model in collections[rtype].items():
            file = Path(dm.source_of(rtype, key)).name
            out.setdefault(file, {}).setdefault(rtype, []).append(_dump(model))
    if include_extensions:
        for kind, model, _file in shipped_extensions():
            out.setdefault("datamap_extensions.yml", {}).setdefault(kind, []).append(_dump(model))
    return out


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_unset=True)


def write_manifests(dm: DataMap, out_dir: str | os.PathLike[str], include_extensions: bool = True) -> list[Path]:
    """Write the map back as fideslang YAML files into ``out_dir``; return the paths written."""
    import yaml

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, docs in sorted(to_manifests(dm, include_extensions).items()):
        path = folder / name
        path.write_text(yaml.safe_dump(docs, sort_keys=False, allow_unicode=True), encoding="utf-8")
        written.append(path)
    return written


# --- plain-text answers ------------------------------------------------------------------------


def summary(dm: DataMap) -> dict[str, Any]:
    """The map in numbers and names: organization, systems, datasets, parties, categories."""
    held = {c for s in dm.systems for c in system_categories(dm, s)}
    held |= {c for d in unattached_datasets(dm) for c in dataset_categories(dm, d)}
    personal = sorted(c for c in held if is_personal(dm.taxonomy, c))
    return {
        "organization": sorted(dm.organizations) or sorted({s.organization_fides_key for s in dm.systems.values()}),
        "internal_systems": dm.internal_systems(),
        "external_parties": {k: dm.systems[k].system_type for k in dm.external_parties()},
        "datasets": sorted(dm.datasets),
        "unattached_datasets": unattached_datasets(dm),
        "personal_data_categories": personal,
        "flows": sum(1 for _a, _b, k in dm.graph.edges(keys=True) if k == "flows_to"),
    }


def as_text(query: str, answer: Any) -> str:
    """Render a query's answer as short lines for the terminal."""
    if query == "where":
        lines = [f"{answer['category']} is held by {len(answer['systems'])} systems: {', '.join(answer['systems']) or '-'}"]
        if answer.get("unattached"):
            lines.append(f"  and by {len(answer['unattached'])} datasets no system references: {', '.join(answer['unattached'])}")
        lines += [f"  {f}  ({c})" for f, c in answer["fields"].items()]
        return "\n".join(lines)
    if query in ("flows",):
        return "\n".join(" -> ".join(p) for p in answer) or "no flows"
    if query == "recipients":
        return "\n".join(
            f"{r['party']} ({r['role']}, {r['country'] or '?'}"
            f"{', outside the EEA' if r['outside_eea'] else ''}): "
            f"{_agreement_text(r['processing_agreement'])}; "
            f"transfer basis {', '.join(r['transfer_basis']) or '-'}; from {', '.join(r['from'])} via {', '.join(r['via'])}; "
            f"categories {', '.join(r['categories'])}"
            for r in answer) or "no external recipients"
    if query == "breach":
        lines = [f"breach of {answer['system']}: {len(answer['categories'])} personal data categories of {', '.join(answer['subjects']) or '-'}",
                 f"  notify the Autoriteit Persoonsgegevens (Art. 33): {'likely yes' if answer['notify_authority'] else 'no'}",
                 f"  notify the subjects (Art. 34): {'likely yes' if answer['notify_subjects'] else 'no'}",
                 f"  records: {answer['total_records'] if answer['total_records'] is not None else 'unknown'}"]
        lines += [f"  - {r}" for r in answer["reasons"]]
        return "\n".join(lines)
    if query == "findings":
        return "\n".join(f"{f['rule']}  {f['system']}  {f['record_key']}: {f['detail']}" for f in answer) or "no map findings"
    if query in ("draw", "export"):
        return "\n".join(answer)
    if query == "evaluate":  # fides evaluate's own lines (local mode: nothing is sent to a server)
        import pprint

        lines = ["Evaluating the following policies:", *(f"- {k}" for k in answer["policies"]), "-" * 10,
                 "Checking for missing resources...", "Executing Policy evaluation(s)..."]
        if answer["status"] == "FAIL":
            shown = {k: answer[k] for k in ("message", "status", "violations")}  # type: ignore[literal-required]
            lines.append(pprint.pformat(shown, indent=2, width=80, compact=True))
        else:
            lines.append("Evaluation passed!")
        return "\n".join(lines)
    return "\n".join(f"{k}: {', '.join(f'{a} ({b})' for a, b in v.items()) if isinstance(v, dict) else (', '.join(v) if isinstance(v, list) else v)}"
                     for k, v in answer.items())


def _agreement_text(agreement: bool | None) -> str:
    if agreement is None:
        return "own controller, no processing agreement needed"
    return "processing agreement on file" if agreement else "NO processing agreement on file"


def declared_flows(dm: DataMap) -> dict[tuple[str, str], dict[str, Any]]:
    """Every declared flow between two systems: ``(source, destination) -> {categories, declared_by}``."""
    return _flows(dm)
