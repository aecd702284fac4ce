"""The catalogue is the one source of rule metadata: a finding's claim, check and severity are its check's."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from datamap.audit.catalogue import DEFAULT_DIR, library_rules


def _catalogue() -> dict[str, dict]:
    checks = {}
    for path in sorted(DEFAULT_DIR.glob("P[0-9][0-9].yml")):
        claim = yaml.safe_load(path.read_text(encoding="utf-8"))
        for check in claim.get("checks") or []:
            checks[f"{claim['claim']}.{check['id']}"] = check
    return checks


def test_map_and_discovery_findings_carry_the_severity_their_check_declares(audited_demo):
    _, out = audited_demo
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    checks = _catalogue()
    library = [f for f in findings if f["check"] in checks and checks[f["check"]]["kind"] in ("map", "discovery")]
    assert library, "the demo plants map and discovery findings"
    for f in library:
        spec = checks[f["check"]]
        table = spec.get("severities") or {}
        expected = table.get(f["evidence"].get("category"), table.get(f["record_key"], spec["severity"]))
        assert f["severity"] == expected, f
    bsn = [f for f in library if f["evidence"].get("category") == "user.government_id.national_identification_number.bsn"]
    assert bsn and {f["severity"] for f in bsn} == {"critical"}  # P13.yml severities: says so


def test_every_rule_an_engine_reports_has_one_home_in_the_catalogue():
    homes = library_rules()
    assert homes["discovery.undeclared_personal_data"].check == "P13.discovery_declared"
    assert homes["sharing.processor_without_dpa"].check == "P03.map_processors_have_agreement"
    assert homes["discovery.undeclared_personal_data"].severity_for("user.contact.email") == "medium"
    assert homes["discovery.undeclared_personal_data"].severity_for(
        "user.government_id.national_identification_number.bsn") == "critical"


def test_a_workspace_catalogue_that_changes_a_severity_changes_the_findings(demo_workspace, tmp_path):
    import shutil

    from datamap.cli import main

    ws = tmp_path / "ws"
    shutil.copytree(demo_workspace, ws, ignore=shutil.ignore_patterns(".datamap"))
    (ws / "checks").mkdir()
    p03 = yaml.safe_load((DEFAULT_DIR / "P03.yml").read_text(encoding="utf-8"))
    for check in p03["checks"]:
        if check["id"] == "map_transfers_have_basis":
            check["severity"] = "critical"
    (ws / "checks" / "P03.yml").write_text(yaml.safe_dump(p03, sort_keys=False), encoding="utf-8")
    assert main(["audit", str(ws), "--out", str(tmp_path / "out"), "--no-progress"]) == 1
    findings = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))
    transfers = [f for f in findings if f["rule"] == "transfer.outside_eea_without_basis"]
    assert transfers and {f["severity"] for f in transfers} == {"critical"}


def test_every_discovery_name_hint_names_a_fideslang_category_and_a_valid_pattern():
    import re

    import yaml
    from datamap import discovery
    from datamap.taxonomy import default_taxonomy

    categories = set(default_taxonomy().keys("data_category"))
    doc = yaml.safe_load(discovery.HINTS_FILE.read_text(encoding="utf-8"))
    for hint in doc["name_hints"]:
        assert hint["category"] in categories, hint
        re.compile(hint["pattern"])
    assert set(doc["not_personal_names"]["overrides"]) <= categories


def test_an_auditor_adds_a_name_hint_in_yaml_and_discovery_uses_it(tmp_path, monkeypatch):
    import yaml

    from datamap import discovery

    assert discovery.name_hint("lidmaatschapsnummer") is None
    doc = yaml.safe_load(discovery.HINTS_FILE.read_text(encoding="utf-8"))
    doc["name_hints"].insert(0, {"category": "user.unique_id.customer_number", "confidence": 0.85,
                                 "pattern": "(^|_)lidmaatschapsnummer($|_)"})
    (tmp_path / "discovery.yml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    monkeypatch.setattr(discovery, "HINTS_FILE", tmp_path / "discovery.yml")
    discovery._hints.cache_clear()
    try:
        hint = discovery.name_hint("lidmaatschapsnummer")
        assert hint is not None and hint.category == "user.unique_id.customer_number"
    finally:
        discovery._hints.cache_clear()


# --- the Dutch texts of the catalogue (issue 17: no English in the Dutch documents) ----------------


def test_every_shipped_claim_check_and_finding_template_has_its_dutch_text():
    from datamap.audit.catalogue import load_catalogue, untranslated

    assert untranslated(load_catalogue()) == []


def test_every_notice_element_has_its_dutch_words():
    from datamap.notice import load_catalogue as notice_elements

    assert [e.key for e in notice_elements() if not e.what_nl] == []


def test_every_finding_of_the_demo_carries_its_detail_in_dutch(audited_demo):
    _, out = audited_demo
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert [f["rule"] for f in findings if not f.get("detail_nl")] == []
    departed = next(f for f in findings if f["rule"] == "access.departed_employee_active")
    assert departed["detail"] == "account 4150868009000000019 is active; its holder (employee E019) left on 2026-09-30"
    assert departed["detail_nl"] == "account 4150868009000000019 is actief; de houder (medewerker E019) is vertrokken op 2026-09-30"
    found = next(f for f in findings if f["rule"] == "discovery.undeclared_personal_data" and f["evidence"]["column"] == "phone")
    assert found["detail_nl"].startswith("kolom phone bevat telefoonnummer (zekerheid 0,")


def _claim_file(folder: Path, check: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "P17.yml"
    path.write_text(yaml.safe_dump({"claim": "P17", "section": "§04", "text": "Trials stop after two weeks.",
                                    "checks": [check]}), encoding="utf-8")
    return path


TRIAL_CHECK = {
    "id": "trials", "name": "Trials end in time ({system})", "rule": "quality.trial_longer_than_14_days",
    "severity": "low", "kind": "sql", "table": "{trials}", "query": "SELECT trial_id, _row FROM {batch}",
    "finding": {"record_key": "{trial_id}", "detail": "trial {trial_id} ran too long"},
}


def test_a_workspaces_own_check_may_lack_its_dutch_texts(tmp_path):
    from datamap.audit.catalogue import load_claim, untranslated

    claim = load_claim(_claim_file(tmp_path / "checks", TRIAL_CHECK))
    assert untranslated([claim]) == ["P17.text_nl", "P17.checks.trials.name_nl", "P17.checks.trials.finding.detail_nl"]


def test_a_dutch_text_fills_the_same_fields_as_its_english_one(tmp_path):
    import pytest

    from datamap.audit.catalogue import load_claim
    from datamap.errors import BadInput

    wrong = {**TRIAL_CHECK, "name_nl": "Proefversies op tijd beëindigd"}  # lost {system}
    with pytest.raises(BadInput) as err:
        load_claim(_claim_file(tmp_path / "a", wrong))
    assert err.value.key == "checks.trials" and "name_nl" in err.value.message
    wrong = {**TRIAL_CHECK, "finding": {**TRIAL_CHECK["finding"], "detail_nl": "proefversie {trial} duurde te lang"}}
    with pytest.raises(BadInput) as err:
        load_claim(_claim_file(tmp_path / "b", wrong))
    assert err.value.key == "checks.trials.finding" and "detail_nl" in err.value.message
