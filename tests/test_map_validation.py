"""Bad manifests are refused with one line naming file, resource and key, with the nearest valid key."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from datamap.errors import BadInput
from datamap.map import load_map, where
from datamap.taxonomy import default_taxonomy

SYSTEM = {
    "fides_key": "zoho_crm", "name": "Zoho CRM", "system_type": "Application",
    "dataset_references": ["zoho_crm"],
    "privacy_declarations": [{"name": "Sales", "data_use": "sales", "data_subjects": ["customer"],
                              "data_categories": ["user.contact.email", "user.name"]}],
}
DATASET = {"fides_key": "zoho_crm", "collections": [{"name": "leads", "fields": [
    {"name": "email", "data_categories": ["user.contact.email"]}]}]}


def write(folder: Path, files: dict[str, dict]) -> Path:
    (folder / "manifests").mkdir(parents=True, exist_ok=True)
    for name, docs in files.items():
        (folder / "manifests" / name).write_text(yaml.safe_dump(docs), encoding="utf-8")
    return folder


def bad_line(folder: Path) -> str:
    with pytest.raises(BadInput) as exc:
        load_map(folder)
    return exc.value.line()


def with_categories(*cats: str) -> dict:
    return {**SYSTEM, "privacy_declarations": [{**SYSTEM["privacy_declarations"][0], "data_categories": list(cats)}]}


def test_a_small_valid_map_loads(tmp_path):
    dm = load_map(write(tmp_path, {"zoho_crm.yml": {"system": [SYSTEM], "dataset": [DATASET]}}))
    assert sorted(dm.systems) == ["zoho_crm"]
    assert dm.source_of("system", "zoho_crm") == "manifests/zoho_crm.yml"
    assert dm.source_of("dataset", "zoho_crm") == "manifests/zoho_crm.yml"


def test_misspelt_category_names_file_system_key_and_suggestion(tmp_path):
    folder = write(tmp_path, {"zoho_crm.yml": {"system": [with_categories("user.contact.emial")], "dataset": [DATASET]}})
    assert bad_line(folder) == ("manifests/zoho_crm.yml: system zoho_crm: unknown data category "
                                "'user.contact.emial' (did you mean 'user.contact.email'?)")


def test_misspelt_data_use_and_subject_are_refused(tmp_path):
    decl = {**SYSTEM["privacy_declarations"][0], "data_use": "marketing.comunications.email"}
    folder = write(tmp_path, {"s.yml": {"system": [{**SYSTEM, "privacy_declarations": [decl]}], "dataset": [DATASET]}})
    assert bad_line(folder) == ("manifests/s.yml: system zoho_crm: unknown data use 'marketing.comunications.email' "
                                "(did you mean 'marketing.communications.email'?)")
    decl = {**SYSTEM["privacy_declarations"][0], "data_subjects": ["custmer"]}
    folder = write(tmp_path / "b", {"s.yml": {"system": [{**SYSTEM, "privacy_declarations": [decl]}], "dataset": [DATASET]}})
    assert bad_line(folder) == "manifests/s.yml: system zoho_crm: unknown data subject 'custmer' (did you mean 'customer'?)"


def test_misspelt_category_in_a_dataset_field_names_the_field(tmp_path):
    dataset = {"fides_key": "zoho_crm", "collections": [{"name": "leads", "fields": [
        {"name": "phone", "data_categories": ["user.contact.phone_numbr"]}]}]}
    folder = write(tmp_path, {"a.yml": {"system": [SYSTEM]}, "d.yml": {"dataset": [dataset]}})
    assert bad_line(folder) == ("manifests/d.yml: dataset zoho_crm.leads.phone: unknown data category "
                                "'user.contact.phone_numbr' (did you mean 'user.contact.phone_number'?)")


def test_duplicate_fides_key_across_files_is_refused(tmp_path):
    folder = write(tmp_path, {"a.yml": {"system": [SYSTEM], "dataset": [DATASET]}, "b.yml": {"system": [SYSTEM]}})
    assert bad_line(folder) == "manifests/b.yml: system zoho_crm: duplicate fides_key (also declared in manifests/a.yml)"


def test_flow_to_an_undeclared_system_is_refused(tmp_path):
    system = {**SYSTEM, "egress": [{"fides_key": "zoho_deskk", "type": "system"}]}
    desk = {"fides_key": "zoho_desk", "system_type": "Application", "privacy_declarations": []}
    folder = write(tmp_path, {"a.yml": {"system": [system, desk], "dataset": [DATASET]}})
    assert bad_line(folder) == "manifests/a.yml: system zoho_crm: egress to undeclared system 'zoho_deskk' (did you mean 'zoho_desk'?)"


def test_dataset_no_system_references_loads_as_unattached(tmp_path):
    from datamap.map import unattached_datasets

    orphan = {"fides_key": "old_export", "collections": [{"name": "rows", "fields": [{"name": "email"}]}]}
    folder = write(tmp_path, {"a.yml": {"system": [SYSTEM], "dataset": [DATASET, orphan]}})
    assert unattached_datasets(load_map(folder)) == ["old_export"]  # a finding, not bad input (tests/test_fides_manifests.py)


def test_fideslang_model_errors_name_the_resource_and_field(tmp_path):
    broken = {k: v for k, v in SYSTEM.items() if k != "system_type"}
    folder = write(tmp_path, {"a.yml": {"system": [broken], "dataset": [DATASET]}})
    assert bad_line(folder) == "manifests/a.yml: system zoho_crm: system_type: required key is missing"


def test_a_workspace_may_add_its_own_category(tmp_path):
    custom = {"fides_key": "user.contact.loyalty_card", "parent_key": "user.contact", "name": "Loyalty card"}
    folder = write(tmp_path, {"a.yml": {"system": [with_categories("user.contact.loyalty_card")], "dataset": [DATASET]},
                              "taxonomy.yml": {"data_category": [custom]}})
    dm = load_map(folder)
    assert where(dm, "user.contact")["systems"] == ["zoho_crm"]
    assert dm.taxonomy.lineage("data_category", "user.contact.loyalty_card") == ["user.contact.loyalty_card", "user.contact", "user"]


def test_a_custom_category_under_an_unknown_parent_is_refused(tmp_path):
    custom = {"fides_key": "user.contactt.loyalty_card", "parent_key": "user.contactt", "name": "Loyalty card"}
    folder = write(tmp_path, {"a.yml": {"system": [SYSTEM], "dataset": [DATASET]}, "taxonomy.yml": {"data_category": [custom]}})
    assert bad_line(folder) == ("manifests/taxonomy.yml: data category user.contactt.loyalty_card: parent_key: "
                                "unknown data category 'user.contactt' (did you mean 'user.contact'?)")


def test_shipped_extensions_hold_the_dutch_identifiers_and_business_contact_data():
    tax = default_taxonomy()
    assert tax.lineage("data_category", "user.government_id.national_identification_number.bsn")[1] == \
        "user.government_id.national_identification_number"
    assert tax.parents["data_category"]["user.contact.organization.kvk_number"] == "user.contact.organization"
    assert tax.parents["data_category"]["user.contact.organization.vat_number"] == "user.contact.organization"
    assert tax.narrower("data_category", "user.contact.business") == [
        "user.contact.business", "user.contact.business.address", "user.contact.business.email",
        "user.contact.business.phone_number"]


def test_cli_prints_one_line_and_exits_2_on_a_misspelt_category(tmp_path):
    folder = write(tmp_path, {"zoho_crm.yml": {"system": [with_categories("user.contact.emial")], "dataset": [DATASET]}})
    run = subprocess.run([sys.executable, "-m", "datamap.cli", "map", str(folder)], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr == ("error: manifests/zoho_crm.yml: system zoho_crm: unknown data category 'user.contact.emial' "
                          "(did you mean 'user.contact.email'?)\n")


def test_cli_refuses_an_unknown_query_and_a_misspelt_query_category(tmp_path):
    folder = write(tmp_path, {"zoho_crm.yml": {"system": [SYSTEM], "dataset": [DATASET]}})
    run = subprocess.run([sys.executable, "-m", "datamap.cli", "map", str(folder), "wher"], capture_output=True, text=True)
    assert run.returncode == 2 and run.stderr.startswith("error: wher: unknown map query (one of summary, where")
    run = subprocess.run([sys.executable, "-m", "datamap.cli", "map", str(folder), "where", "user.contact.emial"],
                         capture_output=True, text=True)
    assert (run.returncode, run.stderr) == (2, "error: unknown data category 'user.contact.emial' (did you mean 'user.contact.email'?)\n")


def test_flows_start_where_the_subjects_hand_the_data_over(tmp_path):
    crm = {**SYSTEM, "ingress": [{"fides_key": "user", "type": "user", "data_categories": ["user.contact.email"]}],
           "egress": [{"fides_key": "mailer", "type": "system", "data_categories": ["user.contact.email"]}]}
    mailer = {"fides_key": "mailer", "system_type": "Processor", "privacy_declarations": [], "dpa_location": "dpa.pdf"}
    dm = load_map(write(tmp_path, {"a.yml": {"system": [crm, mailer], "dataset": [DATASET]}}))
    from datamap.map import flows

    assert flows(dm, "user.contact.email") == [["user", "zoho_crm", "mailer"]]
    assert flows(dm, "user.name") == [["zoho_crm"]]  # held, never sent on


def test_a_map_with_collection_from_the_subjects_draws(tmp_path):
    from datamap.map.draw import draw_all

    crm = {**SYSTEM, "ingress": [{"fides_key": "user", "type": "user", "data_categories": ["user.contact.email"]}]}
    dm = load_map(write(tmp_path, {"a.yml": {"system": [crm], "dataset": [DATASET]}}))
    assert [p.name for p in draw_all(dm, tmp_path / "out")] == [
        "map.png", "map.svg", "map_user_contact_email.png", "map_user_contact_email.svg"]


def test_undeclared_dataset_reference_and_host_are_refused(tmp_path):
    system = {**SYSTEM, "dataset_references": ["zoho_crm", "zoho_crn"]}
    folder = write(tmp_path, {"a.yml": {"system": [system], "dataset": [DATASET]}})
    assert bad_line(folder) == "manifests/a.yml: system zoho_crm: references undeclared dataset 'zoho_crn' (did you mean 'zoho_crm'?)"
    system = {**SYSTEM, "meta": {"hosted_by": "zoho_corporation"}}
    folder = write(tmp_path / "b", {"a.yml": {"system": [system], "dataset": [DATASET]}})
    assert bad_line(folder) == ("manifests/a.yml: system zoho_crm: meta.hosted_by names undeclared system 'zoho_corporation' "
                                "(no system 'zoho_corporation' in the manifests)")


def test_a_misspelt_category_in_policy_yml_is_refused(tmp_path):
    import shutil

    from datamap.demo.generator import generate

    ws = generate(tmp_path / "ws", subjects=100, seed=42)
    text = (ws / "policy.yml").read_text(encoding="utf-8")
    (ws / "policy.yml").write_text(text.replace("user.financial.bank_account: [finance", "user.financial.bank_acount: [finance"),
                                   encoding="utf-8")
    assert bad_line(ws) == ("policy.yml: access.restricted_categories: unknown data category 'user.financial.bank_acount' "
                            "(did you mean 'user.financial.bank_account'?)")
    shutil.rmtree(ws)


def test_a_flow_into_a_dataset_stays_a_dataset_even_when_a_system_shares_its_key(tmp_path):
    from datamap.map import node_id

    system = {**SYSTEM, "egress": [{"fides_key": "zoho_crm", "type": "dataset", "data_categories": ["user.name"]}]}
    dm = load_map(write(tmp_path, {"a.yml": {"system": [system], "dataset": [DATASET]}}))
    assert dm.graph.has_edge(node_id("system", "zoho_crm"), node_id("dataset", "zoho_crm"), key="flows_to")
    assert not dm.graph.has_edge(node_id("system", "zoho_crm"), node_id("system", "zoho_crm"), key="flows_to")
    system = {**SYSTEM, "egress": [{"fides_key": "zoho_crn", "type": "dataset"}]}
    folder = write(tmp_path / "b", {"a.yml": {"system": [system], "dataset": [DATASET]}})
    assert bad_line(folder) == "manifests/a.yml: system zoho_crm: egress to undeclared dataset 'zoho_crn' (did you mean 'zoho_crm'?)"


def test_flows_in_a_cycle_are_still_reported(tmp_path):
    from datamap.map import flows

    a = {**SYSTEM, "egress": [{"fides_key": "books", "type": "system", "data_categories": ["user.name"]}],
         "ingress": [{"fides_key": "books", "type": "system", "data_categories": ["user.name"]}]}
    b = {"fides_key": "books", "system_type": "Application", "privacy_declarations": [{
        "name": "Invoices", "data_use": "finance", "data_subjects": ["customer"], "data_categories": ["user.name"]}]}
    dm = load_map(write(tmp_path, {"a.yml": {"system": [a, b], "dataset": [DATASET]}}))
    assert flows(dm, "user.name") == [["books", "zoho_crm"], ["zoho_crm", "books"]]


def test_a_declaration_without_a_name_among_named_ones_is_one_line_not_a_traceback(tmp_path):
    """Found by fuzzing: fideslang sorts named lists in a validator, and a null name broke the sort."""
    unnamed = {**SYSTEM["privacy_declarations"][0], "name": None}
    system = {**SYSTEM, "privacy_declarations": [SYSTEM["privacy_declarations"][0], unnamed]}
    folder = write(tmp_path, {"s.yml": {"system": [system], "dataset": [DATASET]}})
    assert bad_line(folder) == ("manifests/s.yml: system zoho_crm: an item of its lists has no name "
                                "(every privacy declaration, collection and field needs a name)")
