"""Map-level fideslang Policies are evaluated with the semantics of ``fides evaluate``."""
from __future__ import annotations

import pytest
import yaml
from fideslang.models import Policy

from datamap.map import evaluate_policy, load_map, map_policies

DECLARATION = {"name": "Newsletter", "data_use": "marketing.communications.email", "data_subjects": ["customer", "visitor"],
               "data_categories": ["user.contact.email", "user.device.ip_address"]}


@pytest.fixture(scope="module")
def dm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("policy") / "manifests"
    folder.mkdir()
    system = {"fides_key": "campaigns", "system_type": "Application", "privacy_declarations": [DECLARATION]}
    (folder / "s.yml").write_text(yaml.safe_dump({"system": [system]}), encoding="utf-8")
    return load_map(folder.parent)


def rule(categories: tuple[str, list[str]], uses: tuple[str, list[str]] = ("ANY", ["marketing"]),
         subjects: tuple[str, list[str]] = ("ANY", ["customer"])) -> Policy:
    dims = {"data_categories": categories, "data_uses": uses, "data_subjects": subjects}
    return Policy.model_validate({"fides_key": "p", "rules": [
        {"name": "r", **{k: {"matches": m, "values": v} for k, (m, v) in dims.items()}}]})


def flagged(dm, policy: Policy) -> list[tuple[list[str], list[str], list[str]]]:
    return [(v["data_categories"], v["data_uses"], v["data_subjects"]) for v in evaluate_policy(dm, policy)]


def test_any_flags_the_declared_keys_under_a_rule_value(dm):
    assert flagged(dm, rule(("ANY", ["user.contact"]))) == [(["user.contact.email"], ["marketing.communications.email"], ["customer"])]


def test_all_needs_every_declared_category_to_match(dm):
    assert flagged(dm, rule(("ALL", ["user.contact"]))) == []
    assert flagged(dm, rule(("ALL", ["user.contact", "user.device"]))) == [
        (["user.contact.email", "user.device.ip_address"], ["marketing.communications.email"], ["customer"])]


def test_none_flags_all_declared_keys_only_when_none_matches(dm):
    assert flagged(dm, rule(("NONE", ["user.financial"])))[0][0] == ["user.contact.email", "user.device.ip_address"]
    assert flagged(dm, rule(("NONE", ["user.contact"]))) == []


def test_other_flags_the_declared_keys_outside_the_rule_values(dm):
    assert flagged(dm, rule(("OTHER", ["user.contact"])))[0][0] == ["user.device.ip_address"]


def test_no_violation_unless_all_three_dimensions_match(dm):
    assert flagged(dm, rule(("ANY", ["user"]), subjects=("ANY", ["employee"]))) == []
    assert flagged(dm, rule(("ANY", ["user"]), uses=("ANY", ["essential"]))) == []


def test_map_policies_fill_placeholders_from_policy_yml():
    from datamap.workspace import load_workspace
    from pathlib import Path

    ws = load_workspace(Path(__file__).resolve().parents[1] / "datamap" / "demo" / "data")
    [policy] = map_policies(ws.policy)
    [r] = policy.rules
    assert r.name == "notice.category_not_disclosed"
    assert r.data_subjects.values == ["customer", "prospect", "visitor"]
    assert r.data_categories.values[0] == "user.name" and r.data_categories.values[-1] == "system"


def test_a_collections_own_subjects_replace_the_declarations_for_its_fields(tmp_path):
    folder = tmp_path / "manifests"
    folder.mkdir()
    system = {"fides_key": "crm", "system_type": "Application", "dataset_references": ["crm"],
              "privacy_declarations": [{"name": "Sales", "data_use": "sales", "data_subjects": ["customer"],
                                        "data_categories": ["user.name"]}]}
    dataset = {"fides_key": "crm", "collections": [
        {"name": "users", "data_subjects": ["employee"], "fields": [{"name": "role", "data_categories": ["user.job_title"]}]},
        {"name": "contacts", "fields": [{"name": "title", "data_categories": ["user.job_title"]}]}]}
    (folder / "m.yml").write_text(yaml.safe_dump({"system": [system], "dataset": [dataset]}), encoding="utf-8")
    dm = load_map(tmp_path)
    found = evaluate_policy(dm, rule(("ANY", ["user.job_title"]), uses=("OTHER", []), subjects=("ANY", ["customer"])))
    assert [v["element"] for v in found] == ["dataset crm.contacts.title"]


def test_a_category_only_the_employee_declaration_holds_is_not_judged_as_held_about_customers(tmp_path):
    """One system, one dataset, two declarations: the BSN field belongs to the payroll declaration."""
    folder = tmp_path / "manifests"
    folder.mkdir()
    system = {"fides_key": "office", "system_type": "Application", "dataset_references": ["office"],
              "privacy_declarations": [
                  {"name": "Customers", "data_use": "essential.service", "data_subjects": ["customer"],
                   "data_categories": ["user.name", "user.contact.email"]},
                  {"name": "Payroll", "data_use": "employment", "data_subjects": ["employee"],
                   "data_categories": ["user.name", "user.government_id"]}]}
    dataset = {"fides_key": "office", "collections": [{"name": "people", "fields": [
        {"name": "name", "data_categories": ["user.name"]},
        {"name": "email", "data_categories": ["user.contact.email"]},
        {"name": "bsn", "data_categories": ["user.government_id.national_identification_number"]},
        {"name": "phone", "data_categories": ["user.contact.phone_number"]}]}]}
    (folder / "m.yml").write_text(yaml.safe_dump({"system": [system], "dataset": [dataset]}), encoding="utf-8")
    dm = load_map(tmp_path)
    undisclosed = rule(("OTHER", ["user.name", "user.contact.email", "system"]), uses=("OTHER", []),
                       subjects=("ANY", ["customer"]))
    flagged_categories = sorted({c for v in evaluate_policy(dm, undisclosed) for c in v["data_categories"]})
    # the BSN is the payroll declaration's; the phone number no declaration covers, so it is everyone's
    assert flagged_categories == ["user.contact.phone_number"]


def test_a_us_party_without_eea_false_is_a_transfer_for_the_map_rules_and_the_register_alike(tmp_path):
    """One answer to 'outside the EEA': meta.country US is enough, unless the party says eea: true."""
    from datamap.map import outside_eea
    from datamap.map.findings import _processor_and_transfer_findings

    folder = tmp_path / "manifests"
    folder.mkdir()
    shop = {"fides_key": "shop", "system_type": "Application", "privacy_declarations": [
        {"name": "Surveys", "data_use": "functional.service.improve", "data_subjects": ["customer"],
         "data_categories": ["user.contact.email"]}],
        "egress": [{"fides_key": "survey_us", "type": "system", "data_categories": ["user.contact.email"]},
                   {"fides_key": "mailer_eu", "type": "system", "data_categories": ["user.contact.email"]},
                   {"fides_key": "cdn_us_eea_claimed", "type": "system", "data_categories": ["user.contact.email"]}]}
    parties = [{"fides_key": key, "system_type": "Processor", "dpa_location": "https://example.org/dpa",
                "meta": meta, "privacy_declarations": []}
               for key, meta in (("survey_us", {"country": "US"}), ("mailer_eu", {"country": "DE"}),
                                 ("cdn_us_eea_claimed", {"country": "US", "eea": True}))]
    (folder / "m.yml").write_text(yaml.safe_dump({"system": [shop, *parties]}), encoding="utf-8")
    dm = load_map(tmp_path)
    assert [k for k in ("survey_us", "mailer_eu", "cdn_us_eea_claimed") if outside_eea(dm.systems[k])] == ["survey_us"]
    transfers = [f.record_key for f in _processor_and_transfer_findings(dm) if f.rule == "transfer.outside_eea_without_basis"]
    assert transfers == ["survey_us"]
