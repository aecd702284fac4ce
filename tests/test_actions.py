"""The action register (actions.yml): who fixes which finding by when, carried from one run to the next."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from datamap.actions import (ActionRegister, carry_over, finding_id, load_actions, render_actions, track,
                             write_actions)
from datamap.errors import BadInput

TODAY = dt.date(2026, 12, 3)
DOC = Path(__file__).resolve().parents[1] / "docs" / "workspace.md"


def finding(rule: str, system: str, record_key: str, subject_ref: str | None = None) -> dict:
    """A findings.json entry with the fields tracking reads and plausible others."""
    return {"claim": rule.split(".")[0], "rule": rule, "severity": "high", "system": system,
            "record_key": record_key, "detail": f"{record_key} breaks {rule}", "check": f"X.{rule}.{system}",
            "dataset": system, "collection": "leads", "subject_ref": subject_ref, "evidence": {}}


LEAD_1 = finding("retention.expired", "zoho_crm", "4150868000000100071", "subj-aaaaaaaaaaaa")
LEAD_2 = finding("retention.expired", "zoho_crm", "4150868000000100072", "subj-bbbbbbbbbbbb")
INVOICE = finding("retention.expired", "zoho_books", "INV-000149", "subj-cccccccccccc")
# findings.json names a personal mailbox by its pseudonym (Pseudonymizer.record_key): so does the register
MAILBOX = finding("access.departed_employee_active", "zoho_mail", "subj-f6e00684b0c9", "subj-f6e00684b0c9")


def register_from(tmp_path: Path, text: str) -> ActionRegister:
    (tmp_path / "actions.yml").write_text(text, encoding="utf-8")
    return load_actions(tmp_path)


def bad(tmp_path: Path, text: str) -> str:
    with pytest.raises(BadInput) as caught:
        register_from(tmp_path, text)
    return str(caught.value)


def by_id(tracking, f: dict):
    return next(item for item in tracking.items if item.id == finding_id(f))


# --- the id ------------------------------------------------------------------------------------


def test_a_finding_id_is_the_same_in_every_run_and_differs_per_record():
    rerun = dict(LEAD_1, detail="other words", severity="low", evidence={"row": 9})
    assert finding_id(rerun) == finding_id(LEAD_1)
    assert finding_id(LEAD_2) != finding_id(LEAD_1)
    assert re.fullmatch(r"fnd-[0-9a-f]{12}", finding_id(LEAD_1))


def test_a_tracked_mailbox_is_named_by_its_pseudonym_never_by_its_address():
    item = by_id(track(ActionRegister(), [MAILBOX], None, TODAY), MAILBOX)
    assert item.record == "subj-f6e00684b0c9"
    assert "@" not in json.dumps(item.to_dict())


# --- reading the file --------------------------------------------------------------------------


def test_a_workspace_without_actions_yml_has_an_empty_register(tmp_path):
    assert load_actions(tmp_path) == ActionRegister()


def test_an_accepted_risk_needs_a_reason(tmp_path):
    assert bad(tmp_path, f"actions:\n- finding: {finding_id(LEAD_1)}\n  status: accepted\n") == (
        f"actions.yml: entry 1 (finding {finding_id(LEAD_1)}): status accepted needs a reason "
        "(add reason: the risk the company accepts and why)")


def test_an_unknown_status_is_named_with_the_nearest_one(tmp_path):
    assert bad(tmp_path, "actions:\n- rule: retention.expired\n  status: fixd\n") == (
        "actions.yml: entry 1 (rule retention.expired): status: unknown status 'fixd' (did you mean 'fixed'?)")


def test_a_due_date_that_is_not_a_date_is_refused(tmp_path):
    assert bad(tmp_path, "actions:\n- rule: retention.expired\n  due: next week\n") == (
        "actions.yml: entry 1 (rule retention.expired): due: 'next week' is not a date "
        "(write it as YYYY-MM-DD, e.g. 2027-01-31)")


def test_an_entry_that_names_no_finding_and_no_rule_is_refused(tmp_path):
    assert bad(tmp_path, "actions:\n- rule: retention.expired\n- owner: Anna\n") == (
        "actions.yml: entry 2: names no finding and no rule "
        "(add finding: <id from findings.csv>, or rule: <rule> with an optional system:)")


def test_a_finding_id_not_copied_whole_is_refused(tmp_path):
    assert bad(tmp_path, "actions:\n- finding: fnd-12ab\n") == (
        "actions.yml: entry 1 (finding fnd-12ab): finding: 'fnd-12ab' is not a finding id "
        "(copy the id (fnd- and 12 hex digits) from findings.csv or the report)")


def test_a_fixed_finding_needs_the_date_it_was_fixed(tmp_path):
    assert "status fixed needs fixed_on" in bad(tmp_path, f"actions:\n- finding: {finding_id(LEAD_1)}\n  status: fixed\n")


def test_a_misspelt_key_is_named_with_the_right_one(tmp_path):
    assert bad(tmp_path, "actions:\n- rule: retention.expired\n  ownr: Anna\n") == (
        "actions.yml: entry 1 (rule retention.expired): ownr: unknown key (did you mean 'owner'?)")


def test_the_same_finding_twice_is_refused(tmp_path):
    fid = finding_id(LEAD_1)
    assert bad(tmp_path, f"actions:\n- finding: {fid}\n- finding: {fid}\n  owner: Anna\n") == (
        f"actions.yml: entry 2 (finding {fid}): names the same finding as entry 1 (keep one entry and remove the other)")


# --- tracking ----------------------------------------------------------------------------------


def test_runs_are_compared_into_new_persisting_and_resolved():
    tracking = track(ActionRegister(), [LEAD_1, INVOICE], [LEAD_1, LEAD_2], TODAY)
    assert [i.id for i in tracking.new] == [finding_id(INVOICE)]
    assert [i.id for i in tracking.persisting] == [finding_id(LEAD_1)]
    assert [i.id for i in tracking.resolved] == [finding_id(LEAD_2)]


def test_an_open_action_past_its_due_date_is_overdue(tmp_path):
    register = register_from(tmp_path, f"""actions:
- finding: {finding_id(LEAD_1)}
  owner: Anna de Vries
  due: 2026-12-02
- finding: {finding_id(LEAD_2)}
  owner: Anna de Vries
  due: 2026-12-03
""")
    tracking = track(register, [LEAD_1, LEAD_2], [LEAD_1, LEAD_2], TODAY)
    assert [i.id for i in tracking.overdue] == [finding_id(LEAD_1)]
    assert by_id(tracking, LEAD_1).owner == "Anna de Vries"


def test_an_accepted_risk_is_not_counted_as_open(tmp_path):
    register = register_from(tmp_path, f"""actions:
- finding: {finding_id(INVOICE)}
  status: accepted
  reason: the tax office may ask for the invoice until 2028
""")
    tracking = track(register, [INVOICE, LEAD_1], None, TODAY)
    assert [i.id for i in tracking.accepted] == [finding_id(INVOICE)]
    assert [i.id for i in tracking.open] == [finding_id(LEAD_1)]
    assert by_id(tracking, INVOICE).reason == "the tax office may ask for the invoice until 2028"


def test_a_fixed_finding_that_is_found_again_is_flagged_as_reappeared(tmp_path):
    register = register_from(tmp_path, f"""actions:
- finding: {finding_id(LEAD_1)}
  status: fixed
  fixed_on: 2026-11-20
  owner: Anna de Vries
""")
    tracking = track(register, [LEAD_1], [], TODAY)
    assert [i.id for i in tracking.reappeared] == [finding_id(LEAD_1)]
    assert [i.id for i in tracking.open] == [finding_id(LEAD_1)]


def test_a_rule_wide_entry_covers_its_findings_but_a_single_finding_entry_wins(tmp_path):
    register = register_from(tmp_path, f"""actions:
- rule: retention.expired
  system: zoho_crm
  owner: Sales operations
  due: 2027-01-31
- rule: retention.expired
  owner: Finance
  due: 2027-03-31
- finding: {finding_id(LEAD_2)}
  owner: Anna de Vries
  due: 2026-12-15
""")
    tracking = track(register, [LEAD_1, LEAD_2, INVOICE], None, TODAY)
    assert [(i.record, i.owner, i.covered_by) for i in tracking.items] == [
        ("INV-000149", "Finance", "rule"),
        ("4150868000000100071", "Sales operations", "rule"),
        ("4150868000000100072", "Anna de Vries", "finding"),
    ]


def test_findings_nobody_owns_yet_are_listed():
    tracking = track(ActionRegister(), [LEAD_1], None, TODAY)
    assert [i.id for i in tracking.unowned] == [finding_id(LEAD_1)]
    assert tracking.counts() == {"new": 1, "persisting": 0, "resolved": 0, "open": 1, "overdue": 0,
                                 "accepted": 0, "reappeared": 0, "unowned": 1}


# --- carrying the register over ----------------------------------------------------------------


def test_new_findings_get_an_open_entry_for_the_officer_to_fill_in():
    register = carry_over(ActionRegister(), track(ActionRegister(), [LEAD_1], None, TODAY, run="R1"))
    (entry,) = register.actions
    assert (entry.finding, entry.status, entry.owner, entry.due) == (finding_id(LEAD_1), "open", None, None)
    assert entry.about == "retention.expired on zoho_crm, record 4150868000000100071"


def test_a_resolved_open_finding_becomes_fixed_with_the_run_that_no_longer_found_it(tmp_path):
    register = register_from(tmp_path, f"actions:\n- finding: {finding_id(LEAD_2)}\n  owner: Anna de Vries\n")
    after = carry_over(register, track(register, [LEAD_1], [LEAD_1, LEAD_2], TODAY, run="20261203T101500.000000Z"))
    (fixed,) = [a for a in after.actions if a.finding == finding_id(LEAD_2)]
    assert (fixed.status, fixed.fixed_on, fixed.owner, fixed.note) == (
        "fixed", TODAY, "Anna de Vries", "no longer found in run 20261203T101500.000000Z")


def test_a_person_s_owner_and_status_survive_carry_over(tmp_path):
    register = register_from(tmp_path, f"""actions:
- rule: retention.expired
  system: zoho_crm
  owner: Sales operations
- finding: {finding_id(INVOICE)}
  status: accepted
  reason: kept for the tax office
  owner: Finance
""")
    after = carry_over(register, track(register, [LEAD_1, LEAD_2, INVOICE], None, TODAY))
    assert after == register  # everything is covered: nothing added, nothing changed


def test_a_status_carries_from_one_run_to_the_next(tmp_path):
    """Run 1 writes the register, the officer fills it in, run 2 reads it back and keeps it."""
    first = track(ActionRegister(), [LEAD_1, LEAD_2], None, TODAY, run="R1")
    write_actions(tmp_path / "actions.yml", carry_over(ActionRegister(), first))
    text = (tmp_path / "actions.yml").read_text(encoding="utf-8")
    fid = finding_id(LEAD_1)
    text = text.replace(f"- finding: {fid}\n  about: retention.expired on zoho_crm, record 4150868000000100071\n"
                        "  status: open\n  owner:\n  due:\n",
                        f"- finding: {fid}\n  status: open\n  owner: Anna de Vries\n  due: 2026-12-01\n")
    (tmp_path / "actions.yml").write_text(text, encoding="utf-8")

    second = track(load_actions(tmp_path), [LEAD_1, LEAD_2], [LEAD_1, LEAD_2], TODAY + dt.timedelta(days=7), run="R2")
    assert (by_id(second, LEAD_1).owner, by_id(second, LEAD_1).overdue) == ("Anna de Vries", True)
    write_actions(tmp_path / "actions.yml", carry_over(load_actions(tmp_path), second))
    kept = {a.finding: a for a in load_actions(tmp_path).actions}
    assert (kept[fid].owner, kept[fid].due, kept[fid].status) == ("Anna de Vries", dt.date(2026, 12, 1), "open")


def test_the_written_register_reads_back_the_same_and_explains_the_statuses(tmp_path):
    register = register_from(tmp_path, f"""actions:
- finding: {finding_id(INVOICE)}
  status: accepted
  reason: "kept: the tax office may ask"
- rule: retention.expired
  system: zoho_crm
  owner: Sales operations
  due: 2027-01-31
""")
    text = render_actions(register)
    assert "# status: open" in text and "accepted  a risk the company accepts" in text
    assert text.index("rule: retention.expired") < text.index(f"finding: {finding_id(INVOICE)}")  # sorted
    write_actions(tmp_path / "actions.yml", register)
    assert set(load_actions(tmp_path).actions) == set(register.actions)


# --- the demo and the documentation ------------------------------------------------------------


def test_the_demo_audit_s_findings_are_each_given_an_open_entry_and_carried_by_id(audited_demo, tmp_path):
    _, audit_dir = audited_demo
    findings = json.loads((audit_dir / "findings.json").read_text(encoding="utf-8"))
    tracking = track(ActionRegister(), findings, findings, TODAY, run="demo")
    assert len(tracking.persisting) == len({finding_id(f) for f in findings}) == len(findings)
    assert not tracking.new and not tracking.resolved
    write_actions(tmp_path / "actions.yml", carry_over(ActionRegister(), tracking))
    register = load_actions(tmp_path)
    assert {a.finding for a in register.actions} == {finding_id(f) for f in findings}
    text = (tmp_path / "actions.yml").read_text(encoding="utf-8")
    assert "jeroen.prins@apora.nl" not in text and "subj-f6e00684b0c9" in text


def test_the_documented_actions_yml_loads_and_names_the_example_s_expired_lead(tmp_path):
    section = DOC.read_text(encoding="utf-8").split("## actions.yml", 1)[1]
    block = re.search(r"```yaml\n# actions.yml\n(.*?)```", section, flags=re.S).group(1)
    register = register_from(tmp_path, block)
    lead = finding("retention.expired", "zoho_crm", "4150868000000100008")
    action, how = register.cover(lead)
    assert (how, action.owner, action.due) == ("finding", "Sanne Bakker", dt.date(2027, 1, 15))
    action, how = register.cover(finding("notice.missing_right", "notice", "right-to-object"))
    assert (how, action.owner) == ("rule", "Sanne Bakker")
