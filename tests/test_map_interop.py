"""fideslang in and out: the export validates with fideslang and reloads unchanged; a Fides-style
manifest set the workbench did not write loads, graphs, evaluates and draws."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fideslang import DEFAULT_TAXONOMY
from fideslang.parse import load_manifests_into_taxonomy

from datamap.map import evaluate_policy, flows, load_map, node_id, to_manifests, where, write_manifests

ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA = ROOT / "datamap" / "demo" / "data"
FIDES_DEMO = ROOT / "tests" / "fixtures" / "fides_demo"


def resources(dm) -> dict:
    return {(t, k): m.model_dump() for t, group in (("organization", dm.organizations), ("system", dm.systems),
                                                     ("dataset", dm.datasets), ("policy", dm.policies)) for k, m in group.items()}


@pytest.mark.parametrize("source", [DEMO_DATA, FIDES_DEMO], ids=["apora-demo", "fides-style"])
def test_export_reloads_to_equal_fideslang_models(source, tmp_path):
    before = load_map(source)
    write_manifests(before, tmp_path / "manifests")
    after = load_map(tmp_path)
    assert resources(after) == resources(before)
    assert sorted(after.systems) == sorted(before.systems)


def test_export_validates_with_fideslang_alone(tmp_path):
    write_manifests(load_map(DEMO_DATA), tmp_path)
    union: dict[str, list] = {}
    for path in sorted(tmp_path.glob("*.yml")):
        for rtype, items in yaml.safe_load(path.read_text(encoding="utf-8")).items():
            union.setdefault(rtype, []).extend(items)
    taxonomy = load_manifests_into_taxonomy(union)  # fideslang's own parser: raises on an invalid resource
    known = {c.fides_key for c in DEFAULT_TAXONOMY.data_category} | {c.fides_key for c in taxonomy.data_category}
    used = {c for s in taxonomy.system for d in s.privacy_declarations for c in d.data_categories}
    assert len(taxonomy.system) == 16 and len(taxonomy.dataset) == 9
    assert used - known == set()


def test_export_keeps_each_resource_in_its_source_file(tmp_path):
    files = to_manifests(load_map(DEMO_DATA), include_extensions=False)
    assert sorted(files) == ["datasets.yml", "external.yml", "organization.yml", "systems.yml"]
    assert [s["fides_key"] for s in files["external.yml"]["system"]][:2] == ["zoho_corporation", "transip"]  # source order


def test_fides_style_manifests_load_and_graph():
    dm = load_map(FIDES_DEMO)
    assert sorted(dm.systems) == ["shop_newsletter", "shop_storefront"]
    assert dm.internal_systems() == ["shop_newsletter", "shop_storefront"]  # system_type Service is internal
    g = dm.graph
    assert g.has_edge(node_id("system", "shop_storefront"), node_id("dataset", "shop_customers_dataset"), key="stores")
    assert g.has_edge(node_id("system", "shop_storefront"), node_id("system", "shop_newsletter"), key="flows_to")
    assert g.has_edge(node_id("category", "user.contact.email"), node_id("category", "user.contact"), key="is_a")
    assert g.nodes[node_id("organization", "default_organization")]["label"] == "Example Shop"


def test_fides_style_manifests_answer_queries():
    dm = load_map(FIDES_DEMO)
    assert where(dm, "user.financial") == {
        "category": "user.financial", "systems": ["shop_storefront"],
        "fields": {"shop_customers_dataset.payments.card_last4": "user.financial.credit_card"}}
    assert flows(dm, "user.contact.email") == [["shop_storefront", "shop_newsletter"]]


def test_fides_style_policy_flags_contact_data_used_for_marketing():
    dm = load_map(FIDES_DEMO)
    assert evaluate_policy(dm, dm.policies["shop_privacy_policy"]) == [{
        "policy": "shop_privacy_policy", "rule": "No contact data for marketing", "system": "shop_newsletter",
        "declaration": "Send offers by e-mail", "element": "declaration",
        "data_categories": ["user.contact.email"], "data_uses": ["marketing.communications.email"],
        "data_subjects": ["customer"]}]


def test_fides_style_manifests_draw(tmp_path):
    from datamap.map.draw import draw_all

    written = draw_all(load_map(FIDES_DEMO), tmp_path, ["user.contact.email"])
    assert [p.name for p in written] == ["map.png", "map.svg", "map_user_contact_email.png", "map_user_contact_email.svg"]
    assert all(p.stat().st_size > 5_000 for p in written)


def test_export_keeps_a_workspaces_own_taxonomy_entries(tmp_path):
    manifests = tmp_path / "in" / "manifests"
    manifests.mkdir(parents=True)
    (manifests / "taxonomy.yml").write_text(yaml.safe_dump({
        "data_category": [{"fides_key": "user.contact.loyalty_card", "parent_key": "user.contact", "name": "Loyalty card"}],
        "data_use": [{"fides_key": "marketing.loyalty", "parent_key": "marketing", "name": "Loyalty programme"}]}), encoding="utf-8")
    (manifests / "s.yml").write_text(yaml.safe_dump({"system": [{
        "fides_key": "shop", "system_type": "Application", "privacy_declarations": [{
            "name": "Loyalty", "data_use": "marketing.loyalty", "data_subjects": ["customer"],
            "data_categories": ["user.contact.loyalty_card"]}]}]}), encoding="utf-8")
    before = load_map(tmp_path / "in")
    write_manifests(before, tmp_path / "out" / "manifests", include_extensions=False)
    after = load_map(tmp_path / "out")
    assert {k: m.model_dump() for k, m in after.custom_taxonomy["data_category"].items()} == \
        {k: m.model_dump() for k, m in before.custom_taxonomy["data_category"].items()}
    assert sorted(after.custom_taxonomy["data_use"]) == ["marketing.loyalty"]
    assert resources(after) == resources(before)
