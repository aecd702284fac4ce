"""The queries on Apora's demo map, with answers worked out by hand from the demo manifests.

The demo manifests (shipped in ``datamap/demo/data/manifests``, copied into every generated workspace)
declare nine own systems, seven external parties and seven flows. Each expected value below was
read off those files, not computed by the code under test.
"""
from __future__ import annotations

import pytest

from datamap.map import breach_impact, external_recipients, flows, load_map, map_findings, where

INTERNAL = ["customer_portal", "hr_roster", "privacy_office", "zoho_books", "zoho_campaigns", "zoho_crm",
            "zoho_desk", "zoho_mail", "zoho_salesiq"]
ZOHO_HOSTED = ["zoho_books", "zoho_campaigns", "zoho_crm", "zoho_desk", "zoho_mail", "zoho_salesiq"]


@pytest.fixture(scope="module")
def workspace(request, tmp_path_factory):
    """A generated demo workspace (the shared fixture when there is one, else a small one of our own)."""
    try:
        return request.getfixturevalue("demo_workspace")
    except pytest.FixtureLookupError:
        from datamap.demo.generator import generate

        return generate(tmp_path_factory.mktemp("demo"), subjects=100, seed=42)


@pytest.fixture(scope="module")
def dm(workspace):
    return load_map(workspace)


def test_demo_map_has_the_declared_systems_and_parties(dm):
    assert dm.internal_systems() == INTERNAL
    assert dm.external_parties() == ["adpeak", "belastingdienst", "mollie", "tevreden_enquetes", "transip",
                                     "van_dijk_accountants", "zoho_corporation"]
    assert dm.source_of("system", "adpeak") == "manifests/external.yml"
    assert dm.source_of("dataset", "zoho_crm") == "manifests/datasets.yml"


def test_email_address_lives_in_every_own_system(dm):
    answer = where(dm, "user.contact.email")
    assert answer["systems"] == INTERNAL
    assert answer["fields"]["zoho_crm.leads.email"] == "user.contact.email"
    assert answer["fields"]["zoho_salesiq.visitors.email"] == "user.contact.email"
    assert answer["fields"]["zoho_books.customers.emailid"] == "user.contact.email"


def test_contact_data_covers_narrower_categories(dm):
    answer = where(dm, "user.contact")
    assert answer["fields"]["zoho_crm.leads.zip_code"] == "user.contact.address.postal_code"
    assert answer["fields"]["zoho_crm.leads.email"] == "user.contact.email"
    assert "zoho_crm.leads.record_id" not in answer["fields"]


def test_ip_address_lives_only_in_salesiq_visitors(dm):
    assert where(dm, "user.device.ip_address") == {
        "category": "user.device.ip_address", "systems": ["zoho_salesiq"],
        "fields": {"zoho_salesiq.visitors.ip_address": "user.device.ip_address"}}


def test_bank_details_live_only_in_books_payments(dm):
    assert where(dm, "user.financial.bank_account") == {
        "category": "user.financial.bank_account", "systems": ["zoho_books"],
        "fields": {"zoho_books.customer_payments.bank_account": "user.financial.bank_account"}}


def test_bank_details_flow_to_the_accountant_the_tax_authority_and_zoho(dm):
    assert flows(dm, "user.financial.bank_account") == [
        ["zoho_books", "belastingdienst"], ["zoho_books", "van_dijk_accountants"], ["zoho_books", "zoho_corporation"]]


def test_ip_address_goes_only_to_zoho_as_host(dm):
    assert flows(dm, "user.device.ip_address") == [["zoho_salesiq", "zoho_corporation"]]


def test_email_address_paths_from_collection_to_every_recipient(dm):
    assert flows(dm, "user.contact.email") == [
        ["customer_portal", "mollie"],
        ["customer_portal", "transip"],
        ["customer_portal", "zoho_books", "zoho_corporation"],
        ["hr_roster"],
        ["privacy_office"],
        ["zoho_campaigns", "adpeak"],
        ["zoho_campaigns", "zoho_corporation"],
        ["zoho_desk", "tevreden_enquetes"],
        ["zoho_desk", "zoho_corporation"],
        ["zoho_mail", "zoho_corporation"],
        ["zoho_salesiq", "zoho_corporation"],
        ["zoho_salesiq", "zoho_crm", "zoho_corporation"],
    ]


def test_external_recipients_with_role_agreement_eea_and_basis(dm):
    table = {r["party"]: (r["role"], r["processing_agreement"], r["country"], r["outside_eea"], r["transfer_basis"], r["from"], r["via"])
             for r in external_recipients(dm)}
    assert table == {
        "adpeak": ("Processor", True, "US", True, [], ["zoho_campaigns"], ["flow"]),
        "belastingdienst": ("Public Authority", None, "NL", False, [], ["zoho_books"], ["flow"]),
        "mollie": ("Processor", True, "NL", False, [], ["customer_portal"], ["flow"]),
        "tevreden_enquetes": ("Processor", False, "NL", False, [], ["zoho_desk"], ["flow"]),
        "transip": ("Processor", True, "NL", False, [], ["customer_portal"], ["hosting"]),
        "van_dijk_accountants": ("Third Party", None, "NL", False, [], ["zoho_books"], ["flow"]),
        "zoho_corporation": ("Processor", True, "NL", True, ["SCCs"], ZOHO_HOSTED, ["hosting"]),
    }
    adpeak = next(r for r in external_recipients(dm) if r["party"] == "adpeak")
    assert adpeak["categories"] == ["user.contact.email"]


def test_breach_of_books_needs_both_notifications_because_of_bank_details(dm):
    impact = breach_impact(dm, "zoho_books", counts={"zoho_books.customers": 120, "zoho_books.customer_payments": 40})
    assert impact["notify_authority"] is True
    assert impact["notify_subjects"] is True
    assert impact["high_risk_categories"] == ["user.financial.bank_account"]
    assert impact["subjects"] == ["customer", "employee"]
    assert impact["records"] == {"zoho_books.customer_payments": 40, "zoho_books.customers": 120,
                                 "zoho_books.invoices": None, "zoho_books.users": None}
    assert impact["total_records"] == 160
    assert impact["flows_on"] == [["zoho_books", "belastingdienst"], ["zoho_books", "van_dijk_accountants"],
                                  ["zoho_books", "zoho_corporation"]]
    assert any("financial data" in r and "Art. 34" in r for r in impact["reasons"])


def test_breach_of_desk_needs_the_authority_but_not_a_notice_to_subjects(dm):
    impact = breach_impact(dm, "zoho_desk")
    assert (impact["notify_authority"], impact["notify_subjects"], impact["total_records"]) == (True, False, None)
    assert impact["flows_on"] == [["zoho_desk", "tevreden_enquetes"], ["zoho_desk", "zoho_corporation"]]


def test_breach_of_the_portal_is_high_risk_because_of_passwords(dm):
    assert breach_impact(dm, "customer_portal")["high_risk_categories"] == ["user.authorization.password"]


def test_map_findings_are_the_four_cases_the_demo_manifests_hold(dm):
    keys = [f.key for f in map_findings(dm)]
    assert keys == [
        ("notice.category_not_disclosed", "notice", "user.job_title"),
        ("purpose.undeclared_use", "zoho_salesiq", "marketing.advertising.profiling"),
        ("sharing.processor_without_dpa", "zoho_desk", "tevreden_enquetes"),
        ("transfer.outside_eea_without_basis", "zoho_campaigns", "adpeak"),
    ]
    claims = {f.rule: (f.claim, f.severity) for f in map_findings(dm)}
    assert claims == {"notice.category_not_disclosed": ("P13", "medium"), "purpose.undeclared_use": ("P02", "medium"),
                      "sharing.processor_without_dpa": ("P03", "high"), "transfer.outside_eea_without_basis": ("P03", "high")}


def test_graph_holds_hosting_uses_subjects_fields_and_the_category_hierarchy(dm):
    from datamap.map import node_id

    g = dm.graph
    assert g.has_edge(node_id("system", "zoho_corporation"), node_id("system", "zoho_crm"), key="processes_for")
    assert g.has_edge(node_id("system", "transip"), node_id("organization", "apora"), key="processes_for")
    assert g.has_edge(node_id("organization", "apora"), node_id("system", "zoho_crm"), key="operates")
    assert g.has_edge(node_id("system", "zoho_books"), node_id("dataset", "zoho_books"), key="stores")
    assert g.has_edge(node_id("collection", "zoho_books.customer_payments"),
                      node_id("field", "zoho_books.customer_payments.bank_account"), key="stores")
    assert g.has_edge(node_id("field", "zoho_books.customer_payments.bank_account"),
                      node_id("category", "user.financial.bank_account"), key="holds")
    assert g.has_edge(node_id("category", "user.financial.bank_account"), node_id("category", "user.financial"), key="is_a")
    assert g.has_edge(node_id("system", "zoho_campaigns"), node_id("use", "marketing.communications.email"),
                      key="used_for:Nieuwsbrieven en uitnodigingen")
    assert g.has_edge(node_id("system", "zoho_salesiq"), node_id("subject", "visitor"), key="concerns:analytics.reporting")
    flow = g.get_edge_data(node_id("system", "zoho_campaigns"), node_id("system", "adpeak"), key="flows_to")
    assert flow["categories"] == ["user.contact.email"]
    assert g.nodes[node_id("system", "adpeak")]["role"] == "Processor"
    assert g.nodes[node_id("system", "adpeak")]["eea"] is False


def test_map_findings_equal_the_planted_ground_truth(dm, workspace):
    import json
    from pathlib import Path

    planted = json.loads((Path(workspace) / "expected_findings.json").read_text(encoding="utf-8"))
    map_rules = {"purpose.undeclared_use", "sharing.processor_without_dpa", "transfer.outside_eea_without_basis",
                 "notice.category_not_disclosed"}
    expected = sorted((p["rule"], p["system"], p["record_key"]) for p in planted if p["rule"] in map_rules)
    assert [f.key for f in map_findings(dm)] == expected
