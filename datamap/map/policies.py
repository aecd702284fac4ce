"""fideslang Policies against the map: ``fides evaluate``'s matching, and the policies of ``checks/map_policies.yml``.

:func:`fides_evaluate` is exactly ``fides evaluate`` (its local mode), for ``datamap evaluate``;
:func:`evaluate_policy` is the same matching as the map findings (:mod:`datamap.map.findings`)
read it, with each field judged with the declarations that cover it.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from datamap.errors import BadInput
from datamap.map.load import check_exists, is_placeholder, resource_error
from datamap.map.model import DataMap, dataset_nodes, field_nodes
from datamap.taxonomy import Taxonomy

if TYPE_CHECKING:
    from fideslang.models import Policy

    from datamap.workspace import Policy as WorkspacePolicy

# the package sits in datamap/map/, the catalogue beside it in datamap/checks/
MAP_POLICIES_FILE = Path(__file__).resolve().parents[1] / "checks" / "map_policies.yml"


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
                    for path, node in dataset_nodes(dataset):
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
    nodes = {tuple(p): n for p, n in dataset_nodes(dataset)}
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
        check_exists(policy_key, dm.policies, "policy", None, "--fides-key", "no policy")  # type: ignore[arg-type]
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
                            for _path, node in field_nodes([coll.name], coll.fields or []):
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
            raise resource_error(path.name, f"policy {raw.get('fides_key')}", exc) from None
    return out


def _fill_placeholders(raw: Any, policy: "WorkspacePolicy", file: str) -> Any:
    if isinstance(raw, dict):
        if set(raw) == {"matches", "values"}:
            values: list[str] = []
            for v in raw["values"]:
                if isinstance(v, str) and is_placeholder(v):
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
