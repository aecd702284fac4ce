"""One pseudonym rule for every output: a person's address is shown as its pseudonym, the company's
declared functional mailboxes (policy.yml ``functional_mailboxes``) as themselves.

The demo declares privacy@, fg@, info@, sales@ and admin@apora.nl; every other address, an
employee's at apora.nl included, counts as a person's.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from datamap.actions import finding_id
from datamap.identity import Pseudonymizer
from fixtures_leak import functional_mailboxes, raw_personal_values

FUNCTIONAL = ["privacy@apora.nl", "fg@apora.nl", "info@apora.nl", "sales@apora.nl", "admin@apora.nl"]
DEPARTED = "jeroen.prins@apora.nl"  # an employee who left; his mailbox is still active (P01)
ASSETS = {".gif", ".png", ".jpg", ".jpeg", ".ico", ".woff", ".woff2", ".ttf", ".eot", ".css", ".js", ".map", ".sqlite", ".db"}


@pytest.fixture(scope="module")
def pseudo() -> Pseudonymizer:
    return Pseudonymizer(os.environ["DATAMAP_KEY"].encode(), FUNCTIONAL)


@pytest.fixture(scope="module")
def findings(audited_demo) -> list[dict]:
    return json.loads((audited_demo[1] / "findings.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def shown(audited_demo, tmp_path_factory) -> dict[str, str]:
    """The text of every output of the audited demo: the audit folder, the report and the registers."""
    from datamap.register.ropa import write_register
    from datamap.report import write_report

    ws, audit = audited_demo
    out = tmp_path_factory.mktemp("pseudonym-outputs")
    files = [p for p in audit.rglob("*") if p.is_file() and p.suffix.lower() not in ASSETS]
    files.append(write_report(ws, audit, out / "report.html", pdf=False))
    for fmt in ("md", "html", "xlsx"):
        files.append(write_register(ws, out, fmt, "en", audit)[0])
    texts = {}
    for path in files:
        if path.suffix == ".xlsx":
            import zipfile

            with zipfile.ZipFile(path) as book:
                texts[path.name] = "\n".join(book.read(n).decode("utf-8", "replace") for n in book.namelist())
        else:
            texts[str(path.relative_to(audit if path.is_relative_to(audit) else out))] = path.read_text("utf-8", "replace")
    return texts


def test_the_demo_declares_its_functional_mailboxes_in_policy_yml(demo_workspace):
    assert functional_mailboxes(Path(demo_workspace)) == set(FUNCTIONAL)


def test_no_personal_mailbox_of_the_demo_appears_raw_in_any_output(audited_demo, shown):
    values = raw_personal_values(audited_demo[0])
    assert DEPARTED in values and "privacy@apora.nl" not in values
    kinds = {"findings.json", "findings.csv", "checks.json", "report.html", "ropa-en.md", "ropa-en.html", "ropa-en.xlsx"}
    assert kinds <= set(shown)
    assert any(name.startswith("data_docs") for name in shown)
    leaks = {name: sorted(v for v in values if v in text)[:5] for name, text in shown.items()}
    assert {name: found for name, found in leaks.items() if found} == {}


def test_every_declared_functional_mailbox_is_shown_as_itself(shown, findings, pseudo):
    report, register = shown["report.html"], shown["ropa-en.md"]
    assert "privacy@apora.nl" in report and "fg@apora.nl" in report  # the annex's controller and DPO contact
    assert "Stationsplein 12, 3511 ED Utrecht, Nederland, privacy@apora.nl" in register
    by_key = {(f["rule"], f["record_key"]): f for f in findings}
    shared = by_key[("access.non_employee_account", "sales@apora.nl")]
    assert shared["evidence"]["values"]["email"] == "sales@apora.nl"
    assert shared["subject_ref"] is None  # a functional mailbox is no data subject
    assert any(f["evidence"].get("values", {}).get("email") == "admin@apora.nl" for f in findings)
    for address in FUNCTIONAL:
        assert not [name for name, text in shown.items() if pseudo.ref(address) in text], address


def test_an_undeclared_company_address_is_pseudonymised(findings, pseudo):
    departed = [f for f in findings if f["rule"] == "access.departed_employee_active" and f["system"] == "zoho_mail"]
    assert [f["record_key"] for f in departed] == [pseudo.ref(DEPARTED)]
    assert departed[0]["detail"].startswith(f"account {pseudo.ref(DEPARTED)} is active")
    assert pseudo.mask("hr@apora.nl and privacy@apora.nl") == f"{pseudo.ref('hr@apora.nl')} and privacy@apora.nl"


def test_a_record_key_keeps_its_id_and_loses_its_address(pseudo):
    assert pseudo.record_key("17000000041") == "17000000041"  # a record id, not a phone number
    assert pseudo.record_key(DEPARTED.upper()) == pseudo.ref(DEPARTED)
    assert pseudo.record_key("<20260707164000.0000021@mail.apora.nl>") == \
        f"<{pseudo.ref('20260707164000.0000021@mail.apora.nl')}>"  # a Message-ID: its pseudonym
    assert pseudo.record_key("sales@apora.nl") == "sales@apora.nl"


def test_no_record_key_of_the_demo_holds_a_personal_address(findings):
    assert sorted(f["record_key"] for f in findings if "@" in f["record_key"]) == ["sales@apora.nl"]
    mail = [f["record_key"] for f in findings if f["rule"] == "sharing.undeclared_recipient" and f["system"] == "zoho_mail"]
    assert len(mail) == 3 and all(k.startswith("subj-") for k in mail)  # the Message-IDs


def test_findings_json_and_csv_carry_the_actions_id_first(audited_demo, findings):
    assert all(f["id"] == finding_id(f) for f in findings)
    assert len({f["id"] for f in findings}) == len(findings)
    rows = list(csv.DictReader(io.StringIO((audited_demo[1] / "findings.csv").read_text(encoding="utf-8"))))
    assert list(rows[0])[0] == "id"
    assert [r["id"] for r in rows] == [f["id"] for f in findings]


def test_the_finding_id_is_stable_across_two_audits_of_the_same_workspace(demo_workspace, findings, tmp_path):
    from datamap.audit import run_audit

    ws = Path(shutil.copytree(demo_workspace, tmp_path / "ws"))
    first = run_audit(ws, tmp_path / "audit", progress=False)
    second = run_audit(ws, tmp_path / "audit", progress=False)
    assert [f.id for f in first.findings] == [f.id for f in second.findings] == [f["id"] for f in findings]
    assert second.comparison["new"] == [] and second.comparison["resolved"] == []
