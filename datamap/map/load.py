"""Loading the map: parse each manifest with fideslang's models, validate every key and reference, graph it.

``load_map`` checks every data category, use and subject key against the taxonomy (fideslang's
defaults, the shipped extensions and the workspace's own entries) and that flows, dataset
references and hosting point at declared resources; a bad manifest is one ``BadInput`` naming the
file, the resource and, where it can, the key meant.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from datamap.errors import BadInput
from datamap.map.graph import build_graph
from datamap.map.model import RESOURCE_TYPES, DataMap, dataset_nodes
from datamap.taxonomy import KINDS, Taxonomy, default_taxonomy, parse_entries

if TYPE_CHECKING:
    from datamap.workspace import Policy as WorkspacePolicy
    from datamap.workspace import Workspace


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
                    raise resource_error(rel, where, exc) from None
                except TypeError:  # fideslang sorts named lists in a validator; a null name breaks the sort
                    raise BadInput(rel, where, "an item of its lists has no name",
                                   "every privacy declaration, collection and field needs a name") from None
                if (rtype, model.fides_key) in provenance:
                    raise BadInput(rel, where, "duplicate fides_key", f"also declared in {provenance[(rtype, model.fides_key)]}")
                resources[rtype][model.fides_key] = model
                provenance[(rtype, model.fides_key)] = rel
    return resources, provenance


def resource_error(rel: str, where: str, exc: Any) -> BadInput:
    """One line for the first error of a fideslang model, naming the file and the resource."""
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
        for path, node in dataset_nodes(dataset):
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
                    if not is_placeholder(v):
                        tax.check(kind, v, rel, where)  # type: ignore[arg-type]


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
            check_exists(ref, dm.datasets, "dataset", rel, where, "references undeclared dataset")
        for direction in ("egress", "ingress"):
            for flow in getattr(system, direction) or []:
                if flow.type == "system":
                    check_exists(flow.fides_key, dm.systems, "system", rel, where, f"{direction} {'to' if direction == 'egress' else 'from'} undeclared system")
                elif flow.type == "dataset":
                    check_exists(flow.fides_key, dm.datasets, "dataset", rel, where, f"{direction} {'to' if direction == 'egress' else 'from'} undeclared dataset")
        host = (system.meta or {}).get("hosted_by")
        if host is not None:
            check_exists(str(host), dm.systems, "system", rel, where, "meta.hosted_by names undeclared system")


def check_exists(key: str, known: Mapping[str, Any], kind: str, rel: str, where: str, message: str) -> None:
    """Raise bad input, with the nearest declared key, unless ``key`` is declared."""
    if key in known:
        return
    from rapidfuzz import fuzz, process

    best = process.extractOne(key, list(known), scorer=fuzz.ratio, score_cutoff=60)
    raise BadInput(rel, where, f"{message} {key!r}", f"did you mean {best[0]!r}?" if best else f"no {kind} {key!r} in the manifests")


def is_placeholder(value: str) -> bool:
    """Tell whether a policy value is a ``<notice.x>`` placeholder, filled from policy.yml."""
    return value.startswith("<") and value.endswith(">")
