"""Any company's workspace: the checks follow the workspace's names, and a company can say what it does not keep.

The demo, renamed so that no system, dataset or collection keeps a demo name, gives the same
findings, names aside. Sources a company declares absent make their checks `not_applicable`
(exit 1, not 2); a listed source that cannot be read stops only the checks that read it.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from datamap.cli import main
from workspace_variants import renamed, with_absent

pytestmark = pytest.mark.slow


def _audit(ws: Path, out: Path) -> tuple[int, list[dict], dict[str, dict]]:
    code = main(["audit", str(ws), "--out", str(out), "--no-progress"])
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    checks = {c["check"]: c for c in json.loads((out / "checks.json").read_text(encoding="utf-8"))}
    return code, findings, checks


@pytest.fixture(scope="module")
def original(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory):
    return _audit(demo_workspace, tmp_path_factory.mktemp("original"))


def _named_back(value: str | None, back: dict[str, str]) -> str | None:
    if value is None:
        return None
    return ".".join(back.get(part, part) for part in value.split("."))


def test_the_renamed_demo_gives_the_same_findings_names_aside(original, demo_workspace, tmp_path):
    names = renamed(demo_workspace, tmp_path / "ws")
    back = names.back()
    assert not set(back.values()) & set(back), "the new names share nothing with the demo's"
    code, findings, checks = _audit(tmp_path / "ws", tmp_path / "out")
    base_code, base_findings, base_checks = original

    def key(f: dict, b: dict[str, str]) -> tuple:
        return (f["rule"], f["check"] and _named_back(f["check"], b), _named_back(f["system"], b),
                _named_back(f.get("dataset"), b), _named_back(f.get("collection"), b), _named_back(f["record_key"], b),
                f.get("subject_ref"))

    assert code == base_code == 1
    assert sorted(key(f, back) for f in findings) == sorted(key(f, {}) for f in base_findings)
    assert {_named_back(k, back): (c["status"], c["findings"]) for k, c in checks.items()} == \
        {k: (c["status"], c["findings"]) for k, c in base_checks.items()}
    # every finding names a system of the renamed manifests, never a dataset or a demo name
    assert {f["system"] for f in findings} <= set(names.systems.values()) | {"notice"}


def test_user_lists_a_company_does_not_keep_are_not_applicable(original, demo_workspace, tmp_path):
    reasons = {("zoho_salesiq", "users"): "SalesIQ operators are not exported in our plan",
               ("zoho_mail", "users"): "mailboxes are listed in the roster",
               ("customer_portal", "portal_users"): "the portal has no admin accounts of its own"}
    with_absent(demo_workspace, tmp_path / "ws", reasons)
    code, findings, checks = _audit(tmp_path / "ws", tmp_path / "out")
    base_code, base_findings, base_checks = original

    assert code == 1
    gone = {"zoho_salesiq", "zoho_mail", "customer_portal"}
    for check in ("non_employee_account", "departed_employee_active", "role_not_authorized"):
        for system, (dataset, coll) in zip(("zoho_salesiq", "zoho_mail", "customer_portal"), reasons):
            result = checks[f"P01.{check}.{system}"]
            assert result["status"] == "not_applicable"
            assert reasons[(dataset, coll)] in result["reason"]
    assert not [c for c in checks.values() if c["status"] == "not_run"]
    # the other checks answer as before; only the findings on the absent user lists are gone
    assert {k: c["status"] for k, c in checks.items() if c["status"] != "not_applicable"} == \
        {k: c["status"] for k, c in base_checks.items() if k in checks and checks[k]["status"] != "not_applicable"}
    expected = [f for f in base_findings if not (f["rule"].startswith("access.") and f["system"] in gone
                                                 and f["rule"] != "access.review_overdue")]
    assert sorted((f["check"], f["record_key"]) for f in findings) == sorted((f["check"], f["record_key"]) for f in expected)
    run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert run["checks"]["not_applicable"] == 9


def test_a_role_nothing_plays_and_nobody_declared_absent_is_not_run(demo_workspace, tmp_path):
    """Taking the campaigns out of sources.yml without a word is not a pass and not 'not applicable'."""
    import yaml

    with_absent(demo_workspace, tmp_path / "ws", {})
    sources = yaml.safe_load((tmp_path / "ws" / "sources.yml").read_text())
    sources["datasets"]["zoho_campaigns"]["collections"].pop("sends")
    (tmp_path / "ws" / "sources.yml").write_text(yaml.safe_dump(sources))
    datasets = tmp_path / "ws" / "manifests" / "datasets.yml"  # the map no longer declares the send log either
    manifest = yaml.safe_load(datasets.read_text())
    for dataset in manifest["dataset"]:
        dataset["collections"] = [c for c in dataset["collections"]
                                  if (dataset["fides_key"], c["name"]) != ("zoho_campaigns", "sends")]
    datasets.write_text(yaml.safe_dump(manifest))
    code, _, checks = _audit(tmp_path / "ws", tmp_path / "out")
    assert code == 2
    assert checks["P04.sends_have_consent"]["status"] == "not_run"
    assert "absent: {campaign_sends: <why>}" in checks["P04.sends_have_consent"]["reason"]

    sources["absent"] = {"campaign_sends": "the newsletter tool keeps no send log"}
    (tmp_path / "ws" / "sources.yml").write_text(yaml.safe_dump(sources))
    code, _, checks = _audit(tmp_path / "ws", tmp_path / "out2")
    assert checks["P04.sends_have_consent"]["status"] == "not_applicable"
    assert "the newsletter tool keeps no send log" in checks["P04.sends_have_consent"]["reason"]
    assert code == 1


def test_an_unreadable_books_export_stops_only_the_checks_that_read_it(original, demo_workspace, tmp_path):
    with_absent(demo_workspace, tmp_path / "ws", {})
    (tmp_path / "ws" / "exports" / "zoho_books" / "Customers.csv").write_bytes(b"\x00\x01 not a csv \xff")
    code, _, checks = _audit(tmp_path / "ws", tmp_path / "out")
    not_run = {k for k, c in checks.items() if c["status"] == "not_run"}
    assert code == 2
    # the billing check reads Books customers; discovery reads every source; the checks that tell one
    # person from another (whose address is this?) read every collection that holds a subject's
    # e-mail, Books customers among them. The privacy-mailbox check and the other systems' checks run.
    assert not_run == {"P14.billing_numbers_match_portal", "P13.discovery_declared",
                       "P03.mail_recipients_approved", "P07.corrections_applied", "P08.erasure_propagated"}
    assert "zoho_books.customers" in checks["P14.billing_numbers_match_portal"]["reason"]
    assert checks["P09.privacy_mail_answered"]["status"] == original[2]["P09.privacy_mail_answered"]["status"]
    assert checks["P01.non_employee_account.zoho_books"]["status"] == original[2]["P01.non_employee_account.zoho_books"]["status"]


def test_a_retention_date_column_that_does_not_exist_is_named_in_policy_yml_with_the_columns_there(demo_workspace, tmp_path):
    import yaml

    with_absent(demo_workspace, tmp_path / "ws", {})
    policy = yaml.safe_load((tmp_path / "ws" / "policy.yml").read_text())
    policy["retention"][0]["date_column"] = "last_activty_time"
    (tmp_path / "ws" / "policy.yml").write_text(yaml.safe_dump(policy))
    code, _, checks = _audit(tmp_path / "ws", tmp_path / "out")
    reason = checks["P05.retention.zoho_crm.leads"]["reason"]
    assert code == 2
    assert reason.startswith("policy.yml: retention.0.date_column: zoho_crm.leads has no column 'last_activty_time'")
    assert "did you mean 'last_activity_time'?" in reason and "created_time" in reason
    assert "sqlite3" not in reason and "OperationalError" not in reason
