"""Dutch that reads as Dutch: every taxonomy key has a Dutch label, and no English hides in one."""
from __future__ import annotations

import doctest
import re

import pytest

import datamap.labels
from datamap.errors import BadInput
from datamap.labels import catalogue, label, period
from datamap.taxonomy import KINDS, default_taxonomy

# Dutch labels allowed to equal their English fideslang name (compared case-insensitively,
# ignoring hyphens). Dutch spells the compound "Cookie-ID", and both words are ordinary Dutch.
SAME_IN_BOTH = {"user.device.cookie_id"}

# English words that are not also Dutch words: none may stand as a word in a Dutch label.
# Words that are Dutch too (of, mail, status, record, sensor, fax, links, website, cookie,
# privacy, marketing, sms) are not here.
ENGLISH = set("""
the and or for with from to by on at user users contact data information info account accounts
number address email name phone employee employees customer customers essential service services
personal history payment password settings street city country state postal birth date health medical
government job title search browsing purchase advertising analytics sharing third party first legal
obligation security notifications improve improvement storage preferences profiling targeted employment
recruitment finance sales operations support device location precise imprecise behavior behaviour content
public private children childrens social unique financial bank card credit passport license vehicle
registration insurance voice fingerprint retina retinal image political opinion race religion
sexual orientation gender language marital profile age range system authentication authorization
credentials biometric genetic telemetry workplace organization organisation
visitor trainee shareholder supplier vendor prospect passenger commuter citizen voter next kin applicant
anonymous consultant train functional personalize personalization limited collect consumption
immigration capping targeting communications patient
""".split())


def _keys(kind: str) -> list[str]:
    return default_taxonomy().keys(kind)


@pytest.mark.parametrize("kind", KINDS)
def test_every_taxonomy_key_has_a_dutch_label(kind):
    missing = [k for k in _keys(kind) if not catalogue("nl").get(kind, {}).get(k)]
    assert missing == []


@pytest.mark.parametrize("kind", KINDS)
def test_the_catalogue_holds_no_key_the_taxonomy_lacks(kind):
    assert sorted(set(catalogue("nl")[kind]) - set(_keys(kind))) == []


@pytest.mark.parametrize("kind", KINDS)
def test_no_two_keys_of_a_kind_share_a_dutch_label(kind):
    labels = [label(k, "nl", kind) for k in _keys(kind)]
    assert sorted({x for x in labels if labels.count(x) > 1}) == []


def test_no_dutch_label_is_its_english_name_unless_allowed():
    def same(a: str, b: str) -> bool:
        return re.sub(r"[\s-]+", " ", a).casefold() == re.sub(r"[\s-]+", " ", b).casefold()

    alike = {k for kind in KINDS for k in _keys(kind) if same(label(k, "nl", kind), label(k, "en", kind))}
    assert alike == SAME_IN_BOTH


def test_no_dutch_label_contains_an_english_word():
    found = {k: label(k, "nl", kind) for kind in KINDS for k in _keys(kind)
             if ENGLISH & {w.casefold() for w in re.findall(r"[^\W\d_]+", label(k, "nl", kind))}}
    assert found == {}


def test_dutch_labels_are_in_sentence_case():
    """Only the first word starts with a capital, save abbreviations (IBAN, BSN, IP-adres, KvK-nummer)."""
    def shouting(word: str) -> bool:
        head = word.strip("()").split("-")[0]
        return head[:1].isupper() and not (head.isupper() or head == "KvK")

    loud = {k: text for kind in KINDS for k in _keys(kind) for text in [label(k, "nl", kind)]
            if not text[0].isupper() or any(shouting(w) for w in text.split()[1:])}
    assert loud == {}


def test_labels_read_as_a_dutch_privacy_officer_writes_them():
    assert [label(k, "nl") for k in ("user.authorization.password", "user.contact.address.city",
                                      "essential.service.security", "employee", "user.contact.email")] == [
        "Wachtwoord", "Woonplaats", "Noodzakelijk voor beveiliging", "Medewerker", "E-mailadres"]


def test_english_labels_are_fideslangs_names():
    assert label("user.contact.address.city", "en") == "User Contact City"
    assert label("employee", "en", "data_subject") == "Employee"
    assert label("user.contact.organization.kvk_number", "en") == "KvK Number"  # our extension's name


def test_a_workspaces_own_key_is_humanised_in_english():
    assert label("user.contact.loyalty_card", "en", "data_category") == "Loyalty card"


def test_a_workspaces_own_key_without_a_dutch_label_is_an_error_not_english():
    with pytest.raises(BadInput) as exc:
        label("user.contact.loyalty_card", "nl", "data_category")
    assert str(exc.value) == ("datamap/labels/nl.yml: data category user.contact.loyalty_card: no 'nl' label "
                              "(add one to the catalogue, or write this document in English (--lang en))")


def test_an_unknown_language_names_the_choices():
    with pytest.raises(BadInput, match="unknown language 'de'.*choose one of en, nl"):
        label("user", "de")


@pytest.mark.parametrize(("iso", "lang", "anchor", "words"), [
    ("P2Y", "nl", "de laatste activiteit", "twee jaar na de laatste activiteit"),
    ("P7Y", "nl", None, "zeven jaar"),
    ("P18M", "en", None, "18 months"),
    ("P18M", "nl", None, "achttien maanden"),
    ("P1Y6M", "nl", None, "een jaar en zes maanden"),
    ("P1Y6M", "en", None, "one year and six months"),
    ("P1Y", "nl", None, "een jaar"),
    ("P2W", "nl", None, "twee weken"),
    ("P1W", "en", None, "one week"),
    ("P30D", "nl", None, "dertig dagen"),
    ("P45D", "nl", None, "45 dagen"),
    ("P1D", "nl", None, "een dag"),
    ("P1Y2M3W4D", "nl", None, "een jaar, twee maanden, drie weken en vier dagen"),
    ("P2Y0M", "nl", None, "twee jaar"),
    ("P0D", "nl", None, "nul dagen"),
    ("P2Y", "en", "the last activity", "two years after the last activity"),
])
def test_a_period_is_said_in_words(iso, lang, anchor, words):
    assert period(iso, lang, anchor) == words


@pytest.mark.parametrize("bad", ["P", "2Y", "P2H", "PT12H", "two years", ""])
def test_a_period_that_is_not_iso_8601_is_bad_input(bad):
    with pytest.raises(BadInput, match="not an ISO 8601 period"):
        period(bad, "nl")


def test_the_examples_in_the_module_docstring_hold():
    assert doctest.testmod(datamap.labels).failed == 0
