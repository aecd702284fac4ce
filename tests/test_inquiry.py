"""Evidence packs for the AP: each topic writes its letter, register extract, checks and annexes."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from datamap.errors import BadInput
from datamap.inquiry import Question, build_pack

pytestmark = pytest.mark.xdist_group("audited_demo")  # share the worker that audits the demo once


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def packs(audited_demo, tmp_path_factory):
    ws, audit = audited_demo
    out = tmp_path_factory.mktemp("inquiries")
    requests = rows(ws / "governance" / "privacy_requests.csv")
    erased = next(r for r in requests if r["Type"] == "erasure" and r["Completed"])
    questions = {
        "register": Question("register"),
        "processors": Question("processors"),
        "retention": Question("retention", category="user.device.ip_address"),
        "request": Question("request", request_id=erased["Request ID"]),
        "breach": Question("breach", system="zoho_books"),
    }
    return {topic: build_pack(ws, q, out, audit) for topic, q in questions.items()}, erased


def test_every_topic_writes_a_dutch_letter_to_the_ap_a_register_extract_checks_and_provenance(packs):
    built, _ = packs
    for topic, pack in built.items():
        names = [p.name for p in pack.files]
        assert names[:3] == ["brief-aan-de-AP.md", "register-uittreksel.html", "controles.csv"], topic
        assert names[-1] == "herkomst.json"
        letter = (pack.folder / "brief-aan-de-AP.md").read_text(encoding="utf-8")
        assert "Autoriteit Persoonsgegevens" in letter and "Postbus 93374" in letter
        assert "artikel 58, eerste lid, onder a" in letter
        provenance = json.loads((pack.folder / "herkomst.json").read_text())
        assert provenance["audit_run"] == pack.run_id and provenance["audit_run_sha256"]["policy"]
        assert set(provenance["files"]) == set(names[:-1])


def test_the_processors_pack_names_the_processor_without_an_agreement_and_the_transfer_without_a_basis(packs):
    built, _ = packs
    annex = {r["partij"]: r for r in rows(built["processors"].folder / "bijlage-ontvangers.csv")}
    assert annex["tevreden_enquetes"]["verwerkersovereenkomst"] == "ONTBREEKT"
    assert annex["adpeak"]["buiten_EER"] == "ja" and annex["adpeak"]["doorgiftegrondslag"] == ""
    assert annex["zoho_corporation"]["verwerkersovereenkomst"] == "aanwezig"
    letter = (built["processors"].folder / "brief-aan-de-AP.md").read_text(encoding="utf-8")
    assert "Zonder verwerkersovereenkomst: tevreden_enquetes." in letter
    assert "Doorgifte buiten de EER zonder grondslag: adpeak." in letter
    checks = rows(built["processors"].folder / "controles.csv")
    assert {c["claim"] for c in checks} == {"P03"}


def test_the_retention_pack_gives_the_schedule_and_the_expired_visitor_records(packs, audited_demo):
    built, _ = packs
    schedule = rows(built["retention"].folder / "bijlage-bewaartermijnen.csv")
    assert [(r["systeem"], r["collectie"], r["termijn"]) for r in schedule] == [("zoho_salesiq", "visitors", "P6M")]
    expired = rows(built["retention"].folder / "bijlage-overschrijdingen.csv")
    planted = json.loads((audited_demo[0] / "expected_findings.json").read_text())
    expected = {p["record_key"] for p in planted if p["rule"] == "retention.expired" and p["system"] == "zoho_salesiq"}
    assert {r["record"] for r in expired} == expected and expected


def test_the_request_pack_concerns_the_named_person_and_shows_what_a_legal_duty_keeps(packs):
    built, erased = packs
    folder = built["request"].folder
    letter = (folder / "brief-aan-de-AP.md").read_text(encoding="utf-8")
    assert erased["Subject Email"].strip().lower() in letter  # the inquiry is about this person
    log = rows(folder / "bijlage-verzoeken.csv")
    assert [r["request_id"] for r in log] == [erased["Request ID"]]
    assert "bijlage-verwijdering.csv" in [p.name for p in built["request"].files]


def test_the_breach_pack_assesses_art_33_and_34_for_bank_data(packs):
    built, _ = packs
    letter = (built["breach"].folder / "brief-aan-de-AP.md").read_text(encoding="utf-8")
    assert "Melding aan de AP (art. 33): waarschijnlijk vereist." in letter
    assert "Mededeling aan betrokkenen (art. 34): waarschijnlijk vereist." in letter
    categories = {r["categorie"] for r in rows(built["breach"].folder / "bijlage-categorieen.csv")}
    assert "user.financial.bank_account" in categories


def test_packs_other_than_a_request_show_no_raw_personal_data(packs, demo_raw_values):
    built, _ = packs
    for topic, pack in built.items():
        if topic == "request":
            continue
        for path in pack.files:
            if path.suffix in (".md", ".csv", ".html", ".json"):
                text = path.read_text(encoding="utf-8")
                assert sorted(v for v in demo_raw_values if v in text) == [], (topic, path.name)


@pytest.mark.parametrize("question, key", [
    (Question("gossip"), "--topic"),
    (Question("breach"), "--system"),
    (Question("retention"), "--category"),
    (Question("request"), "--email"),
])
def test_an_incomplete_question_is_bad_input_naming_the_option(question, key, demo_workspace, tmp_path):
    with pytest.raises(BadInput) as err:
        build_pack(demo_workspace, question, tmp_path)
    assert err.value.key == key


def test_a_pack_without_an_audit_run_is_refused_not_written_with_every_check_not_run(demo_workspace, tmp_path):
    from datamap.cli import main

    with pytest.raises(BadInput) as err:
        build_pack(demo_workspace, Question("processors"), tmp_path / "packs")
    assert err.value.key == "--audit" and "needs an audit run" in err.value.message
    assert main(["inquiry", str(demo_workspace), "--topic", "processors", "--out", str(tmp_path / "cli"),
                 "--audit", str(tmp_path / "no-run-here")]) == 2
    assert not list((tmp_path / "cli").glob("*/brief-aan-de-AP.md"))


def test_the_breach_pack_for_books_holds_only_books_checks(demo_workspace, audited_demo, tmp_path):
    import csv

    ws, audit = audited_demo
    pack = build_pack(ws, Question("breach", system="zoho_books"), tmp_path, audit)
    checks = list(csv.DictReader((pack.folder / "controles.csv").open(encoding="utf-8")))
    ids = [c["check"] for c in checks]
    assert "P01.non_employee_account.zoho_books" in ids
    others = ("zoho_crm", "zoho_desk", "zoho_mail", "zoho_salesiq", "customer_portal")
    assert not [i for i in ids if i.rsplit(".", 1)[-1] in others]
