"""Claim P16 reads meaning, not literal phrases: the same omissions are found whatever the wording.

The notices in tests/notices/ are written by hand, each omitting different things and wording
what it does say differently; tests/notices/expected.yml lists, by hand, exactly what the lint
must find in each.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from datamap.errors import BadInput
from datamap.notice import MapFacts, lint_text, load_catalogue, purpose_sentence, split_sentences

NOTICES = Path(__file__).parent / "notices"
EXPECTED = yaml.safe_load((NOTICES / "expected.yml").read_text(encoding="utf-8"))
CATALOGUE = Path(__file__).parents[1] / "datamap" / "notice_terms.yml"
APORA = (Path(__file__).parent / "fixtures" / "apora-privacybeleid.txt").read_text(encoding="utf-8")


def notice(name: str) -> str:
    return (NOTICES / f"{name}.txt").read_text(encoding="utf-8")


def facts_of(name: str) -> MapFacts:
    spec = EXPECTED["notices"][name]
    raw = EXPECTED["facts"][spec["facts"]]
    purposes = tuple((p["key"], p["text"]) for p in spec.get("purposes", ()))
    return MapFacts(
        processors=tuple(raw.get("processors", ())), transfer_recipients=tuple(raw.get("transfer_recipients", ())),
        dpo_declared=bool(raw.get("dpo_declared", False)), legal_bases=tuple(raw.get("legal_bases", ())),
        purposes=purposes,
    )


def found(name: str, text: str | None = None) -> set[tuple[str, str, tuple[int, ...]]]:
    findings = lint_text(notice(name) if text is None else text, facts_of(name))
    return {(f.rule, f.record_key, tuple(q["line"] for q in f.evidence.get("quotes", []))) for f in findings}


def expected(name: str) -> set[tuple[str, str, tuple[int, ...]]]:
    return {(f["rule"], f["key"], tuple(f["lines"])) for f in EXPECTED["notices"][name]["findings"]}


def record_keys(text: str, facts: MapFacts = MapFacts()) -> set[str]:
    return {f.record_key for f in lint_text(text, facts)}


# --- five notices, five wordings, their hand-listed findings ------------------------------------


def test_there_are_five_differently_worded_notices_each_with_its_expected_findings():
    assert sorted(EXPECTED["notices"]) == ["english", "formal-nl", "informal-nl", "long-nl", "short-nl"]
    assert sorted(p.stem for p in NOTICES.glob("*.txt")) == sorted(EXPECTED["notices"])


@pytest.mark.parametrize("name", sorted(EXPECTED["notices"]))
def test_each_notice_gives_exactly_the_findings_listed_by_hand(name):
    assert found(name) == expected(name)


def test_formal_and_informal_notices_say_the_same_in_other_words_and_give_identical_findings():
    formal = lint_text(notice("formal-nl"), facts_of("formal-nl"))
    informal = lint_text(notice("informal-nl"), facts_of("informal-nl"))
    assert [(f.rule, f.record_key, f.detail) for f in formal] == [(f.rule, f.record_key, f.detail) for f in informal]
    assert {f.record_key for f in formal} == {"dpo-contact", "right-to-object"}


@pytest.mark.parametrize("name, addition", [
    ("formal-nl", "U heeft het recht bezwaar te maken tegen de verwerking van uw persoonsgegevens."),
    ("informal-nl", "Tegen het gebruik van je gegevens kun je altijd bezwaar maken."),
])
def test_stating_the_omitted_right_in_either_wording_clears_only_that_finding(name, addition):
    text = notice(name) + "\n" + addition + "\n"
    assert found(name, text) == {f for f in expected(name) if f[1] != "right-to-object"}


def test_the_long_notice_names_the_purpose_whose_bullet_states_no_basis():
    f = next(f for f in lint_text(notice("long-nl"), facts_of("long-nl")) if f.record_key == "legal-basis")
    assert f.detail.endswith("for some purposes, not for: newsletter")
    assert [q["text"] for q in f.evidence["quotes"]] == ["Het versturen van onze digitale nieuwsbrief met tips over energiebesparing."]


def test_the_short_notice_quotes_the_old_authority_name_and_the_vague_retention():
    by_key = {f.record_key: f for f in lint_text(notice("short-nl"), facts_of("short-nl"))}
    assert by_key["college-bescherming-persoonsgegevens"].detail.startswith("the notice names 'college bescherming persoonsgegevens'")
    assert [q["text"] for q in by_key["retention-period"].evidence["quotes"]] == ["We bewaren je gegevens niet langer dan nodig."]


# --- the defect report: a privacy officer need not reword a notice -----------------------------

BASE = "Voorbeeld B.V. is bereikbaar via privacy@voorbeeld.nl.\n"


def test_plural_doelen_states_the_purposes():
    assert "purposes" in record_keys(BASE + "Wij gebruiken uw naam.")
    assert "purposes" not in record_keys(BASE + "Wij gebruiken uw naam voor de volgende doelen.")


def test_uitvoering_van_de_overeenkomst_alone_is_a_legal_basis():
    assert "legal-basis" in record_keys(BASE + "Wij gebruiken uw adres om te leveren.")
    assert "legal-basis" not in record_keys(BASE + "Wij gebruiken uw adres voor de uitvoering van de overeenkomst.")


def test_gerechtvaardigd_belang_comma_namelijk_names_the_interest():
    facts = MapFacts(legal_bases=("legitimate_interests",))
    assert "legitimate-interests" in record_keys(BASE + "Wij doen dit op grond van ons gerechtvaardigd belang.", facts)
    assert "legitimate-interests" not in record_keys(
        BASE + "Wij doen dit op grond van ons gerechtvaardigd belang, namelijk het voorkomen van fraude.", facts)


@pytest.mark.parametrize("sentence, key", [
    ("Bezwaar tegen de verwerking kunt u altijd maken.", "right-to-object"),  # word order
    ("Uw toestemming kunt u op ieder moment weer intrekken.", "withdraw-consent"),
    ("Trekt u uw toestemming in, dan stoppen wij direct.", "withdraw-consent"),  # separable verb
    ("Klantgegevens worden na twee jaar verwijderd.", "retention-period"),  # participle, number word
    ("Uw gegevens worden, na beëindiging van het contract, gewist.", "retention-period"),  # commas, accent
    ("We keep invoices for 7 years.", "retention-period"),
    ("Uw persoonsgegevens delen wij alleen met zorgvuldig gekozen verwerkers.", "processors"),
    ("Doorgifte naar landen buiten de EER gebeurt op basis van modelcontractbepalingen.", "third-country-transfers"),
    ("The purposes for which we use data are listed below.", "purposes"),
    ("Voor deze verwerking is de uitvoering van de overeenkomst de rechtsgrond.", "legal-basis"),
    ("Ons gerechtvaardigd belang: fraudepreventie.", "legitimate-interests"),  # a colon
    ("Het voorkomen van fraude is ons gerechtvaardigde belang.", "legitimate-interests"),  # inflection, order
    ("Besluiten over u worden niet geautomatiseerd genomen.", "automated-decision-making"),
    ("Onze Functionaris voor de Gegevensbescherming bereikt u via fg@voorbeeld.nl.", "dpo-contact"),
    ("Klachten over ons kunt u melden bij de Autoriteit Persoonsgegevens.", "right-to-complain"),
    ("U krijgt uw gegevens op verzoek in een machine-leesbaar formaat.", "right-to-portability"),
])
def test_a_sentence_worded_its_own_way_states_the_element(sentence, key):
    facts = MapFacts(processors=("zoho_eu",), transfer_recipients=("zoho_india_support",), dpo_declared=True,
                     legal_bases=("consent", "legitimate_interests"))
    assert key in record_keys(BASE, facts)
    assert key not in record_keys(BASE + sentence, facts)


@pytest.mark.parametrize("sentence, key", [
    ("Wij delen uw gegevens niet met verwerkers of andere derden.", "processors"),  # negated
    ("Deze gegevens zijn niet nodig voor de uitvoering van de overeenkomst.", "legal-basis"),  # negated
    ("Dit gebeurt in het geval van een gerechtvaardigd belang.", "legitimate-interests"),  # invoked, not named
    ("Wij bewaren uw gegevens niet langer dan nodig.", "retention-period"),  # no period, no criterion
    ("De website maakt beperkt gebruik van cookies.", "right-to-restriction"),  # "beperkt", not a right
    ("Alleen u of mensen met wie u deze gegevens deelt, kunnen inloggen.", "processors"),  # not we who share
    ("Wij kunnen uw gegevens overdragen aan de politie.", "right-to-portability"),
])
def test_a_sentence_that_only_resembles_the_element_does_not_state_it(sentence, key):
    facts = MapFacts(processors=("zoho_eu",), legal_bases=("legitimate_interests",))
    assert key in record_keys(BASE + sentence, facts)


def test_the_old_authority_is_found_however_it_is_written():
    for sentence in ("Klachten kunt u richten aan het College bescherming persoonsgegevens.",
                     "Het CBP houdt toezicht.", "Zie de website van het college  bescherming  persoonsgegevens (CBP)."):
        assert "college-bescherming-persoonsgegevens" in record_keys(BASE + sentence), sentence


# --- purposes: policy.yml's words match the notice's sentence by meaning ------------------------

APORA_SENTENCES = split_sentences(APORA)


@pytest.mark.parametrize("words, line", [
    # the demo's own policy.yml texts
    ("klanten toegang geven tot onze applicatie websites en diensten (persoonlijk account)", 26),
    ("het aangaan en uitvoeren van diensten (contract / overeenkomst)", 27),
    ("contact opnemen voor advies, ondersteuning en klachten; nieuwsbrieven en uitnodigingen", 28),
    ("het beschermen van onze dienstverlening en het bestrijden van fraude", 29),
    ("inzicht in het gebruik van onze applicaties en websites om ze te evalueren en verbeteren", 30),
    # paraphrases: other order and inflections, shorter, compounds, synonyms
    ("fraude bestrijden en onze dienstverlening beschermen", 29),
    ("fraudebestrijding", 29),
    ("toegang tot het klantaccount", 26),
    ("contracten aangaan en uitvoeren", 27),
    ("evalueren en verbeteren van onze websites en apps", 30),
    ("advies, ondersteuning en klachten", 28),
    # not in the notice
    ("werving en selectie van personeel", None),
    ("marketing", None),
])
def test_a_purpose_is_found_in_the_notice_by_meaning_not_verbatim(words, line):
    sentence = purpose_sentence(APORA_SENTENCES, words)
    assert (sentence.line if sentence else None) == line


@pytest.mark.parametrize("name", sorted(n for n, spec in EXPECTED["notices"].items() if "purposes" in spec))
def test_each_policy_purpose_finds_its_line_in_each_wording(name):
    sentences = split_sentences(notice(name))
    lines = {p["key"]: getattr(purpose_sentence(sentences, p["text"]), "line", None) for p in EXPECTED["notices"][name]["purposes"]}
    assert lines == EXPECTED["notices"][name]["purpose_lines"]


def test_paraphrased_purposes_without_a_basis_on_their_line_are_named():
    paraphrased = (("account_access", "toegang tot de applicaties en websites voor klanten"),
                   ("contracts", "contracten aangaan en uitvoeren"),
                   ("fraud", "fraudebestrijding"))
    text = APORA + "\nDe grondslag voor onze verwerkingen staat in de wet.\n"
    f = next(f for f in lint_text(text, MapFacts(purposes=paraphrased)) if f.record_key == "legal-basis")
    assert f.detail.endswith("for some purposes, not for: account_access, contracts, fraud")
    assert [q["line"] for q in f.evidence["quotes"]] == [26, 27, 29]


def test_a_paraphrased_purpose_whose_line_states_its_basis_passes():
    purposes = (("newsletter", "nieuwsbrief versturen"),)
    text = "Voorbeeld B.V. gebruikt uw gegevens voor deze doelen:\n• Wij versturen u onze nieuwsbrief, op basis van uw toestemming.\n"
    assert "legal-basis" not in {f.record_key for f in lint_text(text, MapFacts(purposes=purposes))}
    text = text.replace(", op basis van uw toestemming", "") + "De grondslag staat in de wet.\n"
    assert "legal-basis" in {f.record_key for f in lint_text(text, MapFacts(purposes=purposes))}


# --- the catalogue stays data ---------------------------------------------------------------------


def _with(tmp_path, key, entry):
    catalogue = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    next(e for e in catalogue["elements"] if e["key"] == key)["present"].append(entry)
    path = tmp_path / "terms.yml"
    path.write_text(yaml.safe_dump(catalogue, allow_unicode=True), encoding="utf-8")
    return load_catalogue(path)


def test_a_phrasing_added_by_an_auditor_covers_its_inflections_and_any_order(tmp_path):
    catalogue = _with(tmp_path, "automated-decision-making", "medewerker beoordelen besluit")
    text = BASE + "Besluiten worden altijd door medewerkers beoordeeld."
    assert "automated-decision-making" in record_keys(text)
    assert "automated-decision-making" not in {f.record_key for f in lint_text(text, MapFacts(), catalogue=catalogue)}


def test_a_regular_expression_entry_still_reads_a_form(tmp_path):
    catalogue = _with(tmp_path, "controller-contact", {"regex": r"\bkvk[- ]?nummer:? ?\d{8}\b"})
    text = "Voorbeeld B.V., KvK-nummer 12345678."
    assert "controller-contact" in record_keys(text)
    assert "controller-contact" not in {f.record_key for f in lint_text(text, MapFacts(), catalogue=catalogue)}


def test_an_unknown_word_list_is_bad_input_naming_the_element(tmp_path):
    path = tmp_path / "terms.yml"
    path.write_text("elements:\n  - {key: x, rule: notice.x, article: '13', present: ['@nowhere belang']}\n")
    with pytest.raises(BadInput) as err:
        load_catalogue(path)
    assert (err.value.key, "nowhere" in err.value.message) == ("elements.x.present", True)


def test_the_catalogue_header_explains_every_key_the_catalogue_uses():
    text = CATALOGUE.read_text(encoding="utf-8")
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    data = yaml.safe_load(text)
    used = set(data) | {k for e in data["elements"] for k in e}
    used |= {k for e in data["elements"] for entries in ("present", "triggers", "quote", "forbidden")
             for entry in e.get(entries, []) for part in (entry if isinstance(entry, list) else [entry])
             if isinstance(part, dict) for k in part}
    undocumented = sorted(k for k in used if not re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])", header))
    assert undocumented == []


def test_every_plain_phrasing_of_the_catalogue_states_its_element_when_written_out():
    # the catalogue's words are stemmed at load time the same way as the notice's words
    for element in load_catalogue():
        for part in (p for entry in element.present for p in entry if hasattr(p, "slots")):
            plain = all(s.keys and not (s.number or s.prefixes or s.suffixes or s.exact) for s in part.slots)
            if plain and "@" not in part.text:
                sentence = " ".join(word.split("|")[-1] for word in part.text.split())
                assert part.find(split_sentences(sentence)[0].tokens) is not None, (element.key, part.text)
