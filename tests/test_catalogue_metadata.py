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
