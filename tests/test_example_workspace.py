"""The second example workspace, examples/vrijloop: a small Dutch bicycle shop, not the demo company.

Every source is a `product: generic` CSV export with Dutch headers, mapped with `columns:` and
`role:`; the company declares with `absent:` what it does not keep. The shipped catalogue audits
it and must give exactly the findings written by hand in its expected_findings.yml (precision and
recall 1.0 on rule, system and record key), with exit code 1 and no check that could not run.
The register and the discovery scan run on it too.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from datamap.cli import main

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "vrijloop"

# the checks that read only roles the company declared absent in sources.yml, and those roles
ABSENT_CHECKS = {
    "P03.mail_recipients_approved": ["mail_messages"],
    "P04.sends_have_consent": ["campaign_sends", "campaign_subscribers"],
    "P04.sends_respect_opt_out": ["campaign_sends", "campaign_subscribers"],
    "P09.privacy_mail_answered": ["mail_messages"],
    "P10.major_changes_notified": ["customer_accounts", "notice_versions", "notice_notifications"],
    "P11.credentials_hashed": ["customer_accounts"],
    "P14.portal_numbers_unique": ["customer_accounts"],
    "P14.billing_numbers_match_portal": ["billing_customers", "customer_accounts"],
    "P15.third_party_cookies_after_trial_click": ["cookie_log"],
    "P15.trials_end_in_time": ["trials"],
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example: the audit stages its store into the workspace, never into the repository."""
    target = tmp_path_factory.mktemp("example") / "vrijloop"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".datamap"))
    return target


@pytest.fixture(scope="module")
def audit(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    out = tmp_path_factory.mktemp("example-audit")
    return main(["audit", str(workspace), "--out", str(out), "--no-progress"]), out


def _checks(out: Path) -> dict[str, dict]:
    return {c["check"]: c for c in json.loads((out / "checks.json").read_text(encoding="utf-8"))}


def test_the_example_has_findings_and_every_check_could_run(audit):
    code, out = audit
    checks = _checks(out)
    assert code == 1, "findings, and no check that could not run: exit 1, not 2"
    assert not {k: c["reason"] for k, c in checks.items() if c["status"] == "not_run"}


def test_checks_of_what_the_company_does_not_keep_are_not_applicable(audit, workspace):
    _, out = audit
    checks = _checks(out)
    reasons = yaml.safe_load((workspace / "sources.yml").read_text(encoding="utf-8"))["absent"]
    assert {k for k, c in checks.items() if c["status"] == "not_applicable"} == set(ABSENT_CHECKS)
    for check, roles in ABSENT_CHECKS.items():
        for role in roles:
            assert reasons[role] in checks[check]["reason"], (check, role)
    # every other check read the company's data (or its map and notice) and answered
    assert {c["status"] for k, c in checks.items() if k not in ABSENT_CHECKS} <= {"passed", "failed"}
    # one account check of each kind per user list, named by the manifest system that holds it
    for system in ("klantbeheer", "facturatie", "helpdesk"):
        for kind in ("non_employee_account", "departed_employee_active", "role_not_authorized"):
            assert checks[f"P01.{kind}.{system}"]["status"] in ("passed", "failed")


def test_the_audit_finds_exactly_the_hand_written_findings(audit, workspace):
    _, out = audit
    expected_file = yaml.safe_load((workspace / "expected_findings.yml").read_text(encoding="utf-8"))
    expected = {(f["rule"], f["system"], str(f["record_key"])) for f in expected_file["findings"]}
    found = {(f["rule"], f["system"], str(f["record_key"]))
             for f in json.loads((out / "findings.json").read_text(encoding="utf-8"))}
    hits = found & expected
    precision = len(hits) / len(found) if found else 0.0
    recall = len(hits) / len(expected) if expected else 0.0
    missed, extra = sorted(expected - found), sorted(found - expected)
    report = (f"precision {precision:.3f}, recall {recall:.3f}\n"
              "expected, not found:\n  " + "\n  ".join(map(str, missed)) + "\n"
              "found, not expected:\n  " + "\n  ".join(map(str, extra)))
    assert found == expected, report
    assert precision == recall == 1.0
    assert len(expected) == len(expected_file["findings"]), "expected_findings.yml lists a finding twice"


def test_erased_subjects_invoices_under_the_fiscal_duty_are_restricted_not_findings(audit):
    _, out = audit
    erasure = _checks(out)["P08.erasure_propagated"]
    assert {(r["request_id"], r["record_key"]) for r in erasure["restricted"]} == {
        ("AVG-2026-02", "F-2025-0107"), ("AVG-2026-04", "F-2026-0033")}


def test_the_register_is_written(workspace, audit, tmp_path):
    _, out = audit
    for lang in ("en", "nl"):
        code = main(["ropa", str(workspace), "--format", "md", "--lang", lang, "--out", str(tmp_path), "--audit", str(out)])
        assert code == 0
        text = (tmp_path / f"ropa-{lang}.md").read_text(encoding="utf-8")
        assert "Rijwielhuis De Vrijloop B.V." in text


def test_the_scan_reads_every_source_and_finds_the_undeclared_column(workspace, capsys):
    code = main(["scan", str(workspace)])
    printed = capsys.readouterr().out
    assert code == 1, "1: undeclared personal data; never 2 (a source could not be read)"
    assert "crm_export.klanten.geboortedatum" in printed
    assert "0 source(s) not read" in printed


def test_dates_and_identifiers_may_name_a_header_that_columns_renames():
    """A header renamed by columns: is stored under its new name; dates: and identifiers: may use either.

    Named by the file's header, they used to be ignored silently: the dates stayed unparsed text
    and the e-mails unindexed, so an erased subject's leftover went unreported.
    """
    from datamap.sources import standard_format
    from datamap.workspace import CollectionSource

    tickets = CollectionSource(file="vragen.csv", key="Ticket Id",
                               columns={"Ticketnummer": "Ticket Id", "Gesloten": "Closed Time", "E-mail": "Email"},
                               dates={"Aangemaakt": "datetime", "Gesloten": "datetime"},
                               identifiers={"E-mail": "email", "Telefoon": "phone"})
    fmt = standard_format("generic", "tickets", tickets, "datasets.helpdesk.collections.tickets")
    assert fmt.date_columns() == {"aangemaakt": "datetime", "closed_time": "datetime"}
    assert fmt.identifier_columns() == {"email": "email", "telefoon": "phone"}

    roster = CollectionSource(file="personeel.csv", role="roster",
                              columns={"Uit dienst": "end_date", "Privé e-mail": "private_email"},
                              dates={"Uit dienst": "date"}, identifiers={"Privé e-mail": "email"})
    fmt = standard_format("generic", "personeel", roster, "datasets.hr.collections.personeel")
    assert fmt.headers[:3] == ("employee_id", "name", "email")      # still the roster's standard headers
    assert fmt.date_columns()["end_date"] == "date"
    assert fmt.identifier_columns()["private_email"] == "email"
