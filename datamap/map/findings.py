"""The map-level findings of docs/rules.md "Map level", from the manifests and policy.yml alone.

The rule ids, claims and severities are the catalogue's (``datamap/checks``, ``kind: map``); the
findings that judge the map against the notice come from the fideslang Policies of
:mod:`datamap.map.policies`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datamap.errors import BadInput
from datamap.findings import dutch_list, in_dutch
from datamap.map.graph import dataset_categories, declared_flows, unattached_datasets
from datamap.map.model import DataMap
from datamap.map.policies import evaluate_policy, map_policies
from datamap.map.queries import outside_eea
from datamap.taxonomy import is_personal

if TYPE_CHECKING:
    from fideslang.models import Policy

    from datamap.findings import Finding
    from datamap.workspace import Policy as WorkspacePolicy


# rule id -> (claim, check, severity); the rule ids are the contract of docs/rules.md "Map level".
def map_rules() -> dict[str, Any]:
    """The map-level rule ids and their claim, check and severity, as the catalogue (``datamap/checks``) says them."""
    from datamap.audit.catalogue import library_rules

    return {rule: home for rule, home in library_rules().items() if home.kind == "map"}


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


def _finding(rule: str, system: str, record_key: str, detail: tuple[str, str], evidence: dict[str, Any],
             dataset: str | None = None) -> "Finding":
    """``detail``: the sentence in English and in Dutch, from the same values."""
    from datamap.findings import Finding

    home = map_rules()[rule]
    claim, check, severity = home.claim, home.check, home.severity_for(record_key)
    return Finding(claim=claim, rule=rule, severity=severity, system=system, record_key=record_key,
                   detail=detail[0], detail_nl=detail[1], check=check, dataset=dataset, evidence=evidence)


def _unattached_findings(dm: DataMap) -> list["Finding"]:
    """``map.dataset_unattached``: a dataset no system references; the register cannot place it.

    No system holds it, so ``system`` is the dataset's own key, as elsewhere for a dataset without one.
    """
    out = []
    for key in unattached_datasets(dm):
        personal = sorted(c for c in dataset_categories(dm, key) if is_personal(dm.taxonomy, c))
        holds = f"holds {len(personal)} personal data categories" if personal else "holds no personal data category"
        holds_nl = (f"bevat {len(personal)} {'categorie' if len(personal) == 1 else 'categorieën'} persoonsgegevens"
                    if personal else "bevat geen persoonsgegevens")
        out.append(_finding(
            "map.dataset_unattached", key, key,
            (f"dataset {key} ({holds}) is referenced by no system, so the register cannot say which processing it serves; "
             f"attach it: add {key} to the dataset_references of the privacy declaration (or system) that holds it",
             f"dataset {key} ({holds_nl}) hoort bij geen enkel systeem, dus het register kan niet zeggen welke verwerking "
             f"hij dient; koppel hem: zet {key} in de dataset_references van de verwerking (of het systeem) die hem bevat"),
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
                    (f"declaration {decl.name or decl.data_use!r} uses {', '.join(uncovered)} for {decl.data_use}, "
                     "which no purpose in the notice covers",
                     f"verwerking {decl.name or in_dutch(decl.data_use)!r} gebruikt {dutch_list(uncovered)} voor "
                     f"{in_dutch(decl.data_use)}, een gebruik dat geen doel in de privacyverklaring dekt"),
                    {"source": dm.source_of("system", key), "declaration": decl.name, "data_use": decl.data_use,
                     "uncovered_categories": uncovered}))
    return out


def _processor_and_transfer_findings(dm: DataMap) -> list["Finding"]:
    """``sharing.processor_without_dpa`` and ``transfer.outside_eea_without_basis`` on direct flows."""
    out = []
    for (src, dst), flow in sorted(declared_flows(dm).items()):
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
                                (f"{src} sends personal data to processor {dst}, which has no processing agreement (dpa_location) on file",
                                 f"{src} stuurt persoonsgegevens naar verwerker {dst}, zonder verwerkersovereenkomst (dpa_location) "
                                 "in het dossier"), evidence))
        if outside_eea(party) and not party.legal_basis_for_transfers:
            country = (party.meta or {}).get("country")
            out.append(_finding("transfer.outside_eea_without_basis", src, dst,
                                (f"{src} sends personal data to {dst} ({country or 'outside the EEA'}) without a legal basis for the transfer",
                                 f"{src} stuurt persoonsgegevens naar {dst} ({country or 'buiten de EER'}) zonder grondslag voor de doorgifte"),
                                evidence))
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
            element_nl = "de verwerking zelf" if v["element"] == "declaration" else v["element"]  # or "dataset <path>"
            out.append(_finding(v["rule"], system, record_key,
                                (f"{v['system']} holds {cat} of {', '.join(v['data_subjects'])} ({v['element']}), "
                                 "which the notice does not disclose",
                                 f"{v['system']} bevat {in_dutch(cat)} van {dutch_list(v['data_subjects'])} ({element_nl}), "
                                 "wat de privacyverklaring niet vermeldt"),
                                {"source": dm.source_of("system", v["system"]), "policy": v["policy"],
                                 "element": v["element"], "data_use": v["data_uses"], "data_subjects": v["data_subjects"]}))
    return out
