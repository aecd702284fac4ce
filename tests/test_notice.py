"""Claim P16: the notice lint finds exactly what a careful reading of Apora's notice finds."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from datamap.cli import main
from datamap.errors import BadInput
from datamap.map import load_map
from datamap.notice import MapFacts, facts_from_map, lint, lint_text, load_catalogue, split_sentences
from datamap.workspace import load_workspace

FIXTURES = Path(__file__).parent / "fixtures"
APORA = (FIXTURES / "apora-privacybeleid.txt").read_text(encoding="utf-8")
COMPLIANT = (FIXTURES / "compliant-privacyverklaring.txt").read_text(encoding="utf-8")

# The map's facts of Apora's estate: Zoho processes, Zoho group support reaches India, a DPO exists.
APORA_MAP = MapFacts(processors=("zoho_eu",), transfer_recipients=("zoho_india_support",), dpo_declared=True)
ALL_OWED = MapFacts(processors=("zoho_eu",), transfer_recipients=("zoho_india_support",), dpo_declared=True,
                    legal_bases=("consent", "contract", "legal_obligation", "legitimate_interests"))

# docs/rules.md, "The notice": the findings of a careful reading, by hand.
APORA_FINDINGS = [
    ("notice.missing_automated_decision_info", "automated-decision-making"),
    ("notice.missing_dpo_contact", "dpo-contact"),
    ("notice.missing_legal_basis", "legal-basis"),
    ("notice.missing_legitimate_interests", "legitimate-interests"),
    ("notice.missing_recipients", "processors"),
    ("notice.missing_retention_period", "retention-period"),
    ("notice.missing_right", "right-to-object"),
    ("notice.missing_right", "right-to-restriction"),
    ("notice.missing_right", "withdraw-consent"),
    ("notice.missing_transfer_info", "third-country-transfers"),
    ("notice.outdated_authority_name", "college-bescherming-persoonsgegevens"),
]


def keys(findings):
    return sorted((f.rule, f.record_key) for f in findings)


def by_key(findings):
    return {f.record_key: f for f in findings}


def test_apora_notice_gives_exactly_the_findings_of_a_careful_reading():
    assert keys(lint_text(APORA, APORA_MAP)) == APORA_FINDINGS


def test_every_notice_finding_is_claim_p16_on_system_notice():
    for f in lint_text(APORA, APORA_MAP):
        assert (f.claim, f.system, f.check) == ("P16", "notice", "P16.notice_lint")


def test_a_notice_finding_is_as_severe_as_what_the_reader_is_not_told():
    """notice_terms.yml: a missing legal basis or transfer is high; a missing period, recipient or right medium."""
    assert {f.record_key: f.severity for f in lint_text(APORA, APORA_MAP)} == {
        "legal-basis": "high", "third-country-transfers": "high",
        "legitimate-interests": "medium", "retention-period": "medium", "processors": "medium",
        "dpo-contact": "medium", "right-to-restriction": "medium", "right-to-object": "medium",
        "withdraw-consent": "medium", "automated-decision-making": "medium",
        "college-bescherming-persoonsgegevens": "low",
    }


def test_outdated_authority_name_quotes_the_sentence_naming_the_college():
    f = by_key(lint_text(APORA, APORA_MAP))["college-bescherming-persoonsgegevens"]
    assert f.evidence["quotes"] == [{
        "line": 3,
        "text": "Voor algemene informatie over de bescherming van persoonsgegevens en AVG verwijzen wij u graag door "
                "naar de website van het College Bescherming Persoonsgegevens.",
    }]


def test_vague_retention_is_quoted_as_falling_short():
    f = by_key(lint_text(APORA, APORA_MAP))["retention-period"]
    assert [q["text"] for q in f.evidence["quotes"]] == [
        "Apora B.V. bewaart de persoonsgegevens niet langer dan strikt nodig is voor de zakelijke dienstverlening met haar klanten"
    ]


def test_missing_recipients_quotes_the_no_third_parties_promise_and_names_the_processor():
    f = by_key(lint_text(APORA, APORA_MAP))["processors"]
    assert [q["text"] for q in f.evidence["quotes"]] == ["Apora B.V. zal uw gegevens niet aan derden ter beschikking stellen."]
    assert "zoho_eu" in f.detail


def test_unnamed_legitimate_interest_quotes_the_sentence_invoking_it():
    f = by_key(lint_text(APORA, APORA_MAP))["legitimate-interests"]
    assert f.evidence["quotes"] == [{"line": 74, "text": "Dit gebeurt in het geval van een gerechtvaardigd belang of met uw toestemming."}]


def test_profiling_in_the_map_is_named_as_a_reason_for_the_automated_decision_finding():
    f = by_key(lint_text(APORA, MapFacts(profiling=("zoho_salesiq (marketing.advertising.profiling)",))))["automated-decision-making"]
    assert f.detail.endswith("owed because Art. 13 requires it of every notice; "
                             "the map declares profiling: zoho_salesiq (marketing.advertising.profiling)")


def test_a_finding_without_a_sentence_at_fault_says_what_is_missing():
    f = by_key(lint_text(APORA, APORA_MAP))["right-to-object"]
    assert "quotes" not in f.evidence
    assert f.detail.startswith("the notice does not state the right to object (Art. 13(2)(b))")


def test_map_dependent_elements_are_not_owed_when_the_map_does_not_call_for_them():
    assert keys(lint_text(APORA, MapFacts())) == [
        k for k in APORA_FINDINGS
        if k[1] not in ("dpo-contact", "processors", "third-country-transfers")
    ]


def test_a_compliant_dutch_notice_passes_every_element():
    assert lint_text(COMPLIANT, ALL_OWED) == []


def test_stating_a_retention_period_clears_the_retention_finding():
    text = APORA + "\nKlantgegevens verwijderen wij 2 jaar na het einde van de overeenkomst.\n"
    assert "retention-period" not in by_key(lint_text(text, APORA_MAP))


def test_stating_legal_bases_clears_the_legal_basis_finding():
    text = APORA + "\nDe grondslag voor het aangaan van diensten is de uitvoering van de overeenkomst.\n"
    assert "legal-basis" not in by_key(lint_text(text, APORA_MAP))


# policy.yml's purposes in the notice's own words (the demo's, by hand)
APORA_PURPOSES = (
    ("account_access", "klanten toegang geven tot onze applicatie websites en diensten (persoonlijk account)"),
    ("contracts", "het aangaan en uitvoeren van diensten (contract / overeenkomst)"),
    ("fraud", "het beschermen van onze dienstverlening en het bestrijden van fraude"),
)


def test_a_basis_named_once_does_not_cover_purposes_stated_without_one():
    text = APORA + "\nDe grondslag voor onze verwerkingen staat in de wet.\n"
    facts = MapFacts(purposes=APORA_PURPOSES)
    f = by_key(lint_text(text, facts))["legal-basis"]
    assert f.detail.endswith("for some purposes, not for: account_access, contracts, fraud")
    assert [q["line"] for q in f.evidence["quotes"]] == [26, 27, 29]


def test_purposes_each_stating_their_basis_pass():
    purposes = (("contract", "Het uitvoeren van uw overeenkomst"), ("newsletter", "Het versturen van onze nieuwsbrief"),
                ("fraud", "Het bestrijden van fraude"), ("invoices", "Het bewaren van facturen"))
    assert lint_text(COMPLIANT, MapFacts(purposes=purposes)) == []


def test_a_negated_contract_necessity_is_not_a_legal_basis():
    text = "Wij verwerken gegevens die niet noodzakelijk zijn voor de uitvoering van een overeenkomst."
    assert "legal-basis" in by_key(lint_text(text, MapFacts()))


def test_naming_the_autoriteit_persoonsgegevens_instead_of_the_college_passes():
    text = APORA.replace("College Bescherming Persoonsgegevens", "Autoriteit Persoonsgegevens")
    assert "college-bescherming-persoonsgegevens" not in by_key(lint_text(text, APORA_MAP))


def test_adding_the_missing_rights_clears_them():
    text = APORA + (
        "\nU heeft het recht op beperking van de verwerking."
        "\nU kunt bezwaar maken tegen de verwerking."
        "\nU kunt uw toestemming altijd intrekken.\n"
    )
    found = by_key(lint_text(text, APORA_MAP))
    assert {"right-to-restriction", "right-to-object", "withdraw-consent"}.isdisjoint(found)


def test_a_notice_without_rights_misses_all_of_them():
    text = "Voorbeeld B.V. gebruikt uw gegevens voor het doel van de overeenkomst. Mail privacy@voorbeeld.nl."
    rights = sorted(f.record_key for f in lint_text(text, MapFacts()) if f.rule == "notice.missing_right")
    assert rights == ["right-of-access", "right-to-erasure", "right-to-object", "right-to-portability",
                      "right-to-rectification", "right-to-restriction"]


def test_an_english_notice_is_read_too():
    text = ("Example Ltd is the controller; contact privacy@example.com. We use your data for these purposes. "
            "Our legal basis is your consent. You have the right of access, the right to rectification, "
            "the right to erasure, the right to restrict processing, the right to object and the right to data portability. "
            "You may withdraw your consent at any time. You may complain to the supervisory authority. "
            "We keep data for 2 years after the end of the contract. We do not use automated decision-making or profiling. "
            "Without your e-mail address it is not possible to create an account, so we cannot serve you.")
    assert keys(lint_text(text, MapFacts())) == []


def test_sentences_do_not_split_after_bv_or_inside_a_line_before_a_lower_case_word():
    sentences = split_sentences("Apora B.V. bewaart gegevens. Wij delen niets.\n  • Een bullet")
    assert [(s.line, s.text) for s in sentences] == [
        (1, "Apora B.V. bewaart gegevens."), (1, "Wij delen niets."), (2, "Een bullet"),
    ]


def test_an_auditor_adds_a_phrasing_in_the_catalogue(tmp_path):
    catalogue = yaml.safe_load((Path(__file__).parents[1] / "datamap" / "notice_terms.yml").read_text())
    element = next(e for e in catalogue["elements"] if e["key"] == "automated-decision-making")
    element["present"].append("wij beslissen niets automatisch")  # a phrasing is words, not a regular expression
    path = tmp_path / "terms.yml"
    path.write_text(yaml.safe_dump(catalogue))
    text = APORA + "\nWij beslissen niets automatisch.\n"
    assert "automated-decision-making" not in by_key(lint_text(text, APORA_MAP, catalogue=load_catalogue(path)))


def test_a_bad_pattern_in_the_catalogue_is_bad_input_naming_the_element(tmp_path):
    path = tmp_path / "terms.yml"
    path.write_text("elements:\n  - {key: x, rule: notice.x, article: '13', present: ['(unclosed']}\n")
    with pytest.raises(BadInput) as err:
        load_catalogue(path)
    assert err.value.key == "elements.x.present"


# --- against a workspace (manifests give the map's facts) ---------------------------------------

POLICY = {
    "version": 1, "organization": "apora",
    "notice": {"file": "notice/privacybeleid.txt", "purposes": [
        {"key": "accounts", "text": "toegang", "data_uses": ["essential.service"], "legal_basis": "Contract"},
        {"key": "newsletter", "text": "nieuwsbrieven", "data_uses": ["marketing.communications"], "legal_basis": "Consent"},
    ]},
    "retention": [], "access": {"roles": {"sales": []}}, "recipients": {},
    "requests": {"privacy_mailbox": "privacy@apora.nl"},
}
MANIFEST = {
    "organization": [{"fides_key": "apora", "name": "Apora B.V.", "data_protection_officer": {"name": "F. G.", "email": "fg@apora.nl"}}],
    "system": [
        {"fides_key": "zoho_crm", "name": "CRM", "system_type": "Application", "meta": {"hosted_by": "zoho_eu"},
         "egress": [{"fides_key": "zoho_india_support", "type": "system", "data_categories": ["user.contact"]}],
         "privacy_declarations": [{"data_use": "essential.service", "data_categories": ["user.contact"],
                                   "legal_basis_for_processing": "Legitimate interests"}]},
        {"fides_key": "zoho_eu", "name": "Zoho EU", "system_type": "Processor", "meta": {"country": "NL", "eea": True},
         "privacy_declarations": []},
        {"fides_key": "zoho_india_support", "name": "Zoho support", "system_type": "Processor",
         "meta": {"country": "IN", "eea": False}, "privacy_declarations": []},
        {"fides_key": "belastingdienst", "name": "Belastingdienst", "system_type": "Public Authority", "meta": {"eea": True},
         "privacy_declarations": []},
    ],
}


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "manifests").mkdir()
    (tmp_path / "notice").mkdir()
    (tmp_path / "manifests" / "map.yml").write_text(yaml.safe_dump(MANIFEST))
    (tmp_path / "sources.yml").write_text(yaml.safe_dump({"version": 1, "datasets": {}}))
    (tmp_path / "policy.yml").write_text(yaml.safe_dump(POLICY))
    (tmp_path / "notice" / "privacybeleid.txt").write_text(APORA, encoding="utf-8")
    return tmp_path


def test_map_facts_come_from_the_data_map(workspace):
    ws = load_workspace(workspace)
    assert facts_from_map(load_map(ws), ws) == MapFacts(
        processors=("zoho_eu", "zoho_india_support"), transfer_recipients=("zoho_india_support",),
        dpo_declared=True, legal_bases=("consent", "contract", "legitimate_interests"),
        purposes=(("accounts", "toegang"), ("newsletter", "nieuwsbrieven")),
    )


def test_lint_of_a_workspace_gives_the_apora_findings(workspace):
    assert keys(lint(load_workspace(workspace))) == APORA_FINDINGS


def test_cli_prints_one_line_per_finding_and_exits_1(workspace, capsys):
    assert main(["notice", str(workspace)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(APORA_FINDINGS) + 1
    assert out[-1] == "11 finding(s) in notice/privacybeleid.txt"


def test_cli_exits_0_on_a_compliant_notice(workspace, capsys):
    (workspace / "notice" / "privacybeleid.txt").write_text(COMPLIANT, encoding="utf-8")
    assert main(["notice", str(workspace)]) == 0


def test_cli_missing_notice_is_one_line_and_exit_2(workspace, capsys):
    (workspace / "notice" / "privacybeleid.txt").unlink()
    assert main(["notice", str(workspace)]) == 2
    assert capsys.readouterr().err.strip() == "error: notice/privacybeleid.txt: notice file not found (set notice.file in policy.yml)"
