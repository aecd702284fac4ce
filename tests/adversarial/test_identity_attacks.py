"""Identifiers hidden in free text (issue #16 item 7, the outputs part): what ``mask()`` must catch.

Every output (reports, logs, checks.json, run.json, notebooks) passes its text through
:meth:`datamap.identity.Pseudonymizer.mask`. A Dutch phone number or an IBAN written the way
people write them, inside a sentence, must become its pseudonym; dates, times, amounts, invoice
numbers, record ids, postcodes and KvK numbers must stay as they are.
"""
from __future__ import annotations

import signal

import pytest

from datamap.identity import Pseudonymizer
from datamap.report import scrub

PSEUDO = Pseudonymizer(b"identity-attacks-test-key-not-secret")
MOBILE = PSEUDO.ref("+31612345678")
AMSTERDAM = PSEUDO.ref("+31201234567")
ROTTERDAM = PSEUDO.ref("+31101234567")
IBAN = PSEUDO.ref("NL91ABNA0417164300")
DE_IBAN = PSEUDO.ref("DE89370400440532013000")
EMAIL = PSEUDO.ref("jan.de.vries@example.nl")

# (text, exactly what mask() must give)
MASKED = [
    ("06-12-34-56-78", MOBILE),
    ("06 12 34 56 78", MOBILE),
    ("(06) 1234-5678", MOBILE),
    ("0031-6-12345678", MOBILE),
    ("0031 6 1234 5678", MOBILE),
    ("+31 (0)6 12345678", MOBILE),
    ("0612345678", MOBILE),
    ("020-1234567", AMSTERDAM),
    ("010 123 45 67", ROTTERDAM),
    ("Bel 06-12-34-56-78 na vijven.", f"Bel {MOBILE} na vijven."),
    ("Mobiel: (06) 1234-5678, vast: 020-1234567.", f"Mobiel: {MOBILE}, vast: {AMSTERDAM}."),
    ("tel: 0031-6-12345678", f"tel: {MOBILE}"),
    ("tel:0031-6-12345678", f"tel:{MOBILE}"),
    ("Tel. 0031 6 1234 5678 (privé)", f"Tel. {MOBILE} (privé)"),
    ("bereikbaar op +31 (0)6 12345678 of 010 123 45 67", f"bereikbaar op {MOBILE} of {ROTTERDAM}"),
    ("IBAN NL91 ABNA 0417 1643 00, graag.", f"IBAN {IBAN}, graag."),
    ("iban nl91 abna 0417 1643 00.", f"iban {IBAN}."),
    ("Betaal op NL91ABNA0417164300; dank!", f"Betaal op {IBAN}; dank!"),
    ("rekening (nl91abna0417164300)", f"rekening ({IBAN})"),
    ("IBAN: NL91 ABNA 0417 1643 00 op 24-11-2026", f"IBAN: {IBAN} op 24-11-2026"),
    ("Duitse rekening DE89 3704 0044 0532 0130 00.", f"Duitse rekening {DE_IBAN}."),
    ("mail Jan.de.Vries@Example.NL, tel 06-12345678", f"mail {EMAIL}, tel {MOBILE}"),
    ("<jan.de.vries@example.nl>", f"<{EMAIL}>"),
    # a cell that is one identifier becomes its pseudonym, as before
    ("NL91 ABNA 0417 1643 00", IBAN),
    ("jan.de.vries@example.nl", EMAIL),
]

# Left as they are, and why:
LEFT = [
    "24-11-2026",  # a date: PhoneNumberMatcher skips slash/dash-separated dates
    "op 24-11-2026 om 10:15",
    "2026-11-24 10:15",  # a time stamp: skipped by the matcher
    "2026-11-24T10:15:00Z",
    "10:15",  # a time: too short to be a number
    "totaal EUR 1.234,56",  # an amount: too short
    "EUR 1.234.567,89",
    "factuur INV-000123",  # an invoice number: six digits, too short to be a valid Dutch number
    "record 4150868000000100007",  # a 19-digit Zoho record id: too long to be a valid number
    "Zoho id 4150868000000100007 van 2026-11-24 10:15",
    "postcode 1011 AA Amsterdam",  # a postcode: four digits
    "KvK 12345678",  # a KvK number is eight digits, a Dutch phone number ten (0 + nine)
    "KvK-nummer: 12345678",
    "NL91 ABNA 0417 1643 01",  # a wrong IBAN check (stdnum refuses it): not an IBAN
    "versie 1.2.3, build 20261124",
    "subj-0123456789ab",  # a pseudonym already
    "",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_a_dutch_phone_number_or_iban_in_free_text_is_masked(text: str, expected: str) -> None:
    assert PSEUDO.mask(text) == expected


@pytest.mark.parametrize("text", LEFT)
def test_dates_amounts_ids_postcodes_and_kvk_numbers_are_left_as_they_are(text: str) -> None:
    assert PSEUDO.mask(text) == text


def test_none_stays_none() -> None:
    assert PSEUDO.mask(None) is None


def test_the_report_scrub_masks_the_same_forms() -> None:
    text = "Klant belde vanaf tel: 0031-6-12345678 over iban nl91 abna 0417 1643 00, factuur INV-000123 van 24-11-2026."
    assert scrub(text, PSEUDO.mask) == (
        f"Klant belde vanaf tel: {MOBILE} over iban {IBAN}, factuur INV-000123 van 24-11-2026.")


def test_many_identifiers_in_one_text_are_all_masked() -> None:
    # the matcher's default gives up after 65535 candidates; mask() must not stop early
    line = "op 24-11-2026 10:15 belde 06-12-34-56-78 over NL91 ABNA 0417 1643 00 (INV-000123, 1.234,56)\n"
    masked = PSEUDO.mask(line * 3000)
    assert masked == f"op 24-11-2026 10:15 belde {MOBILE} over {IBAN} (INV-000123, 1.234,56)\n" * 3000


class _TooSlow(Exception):
    pass


@pytest.mark.parametrize("text", [
    "a" * 200_000 + "@example.nl",  # a long local part: the e-mail pattern must not retry every start
    "a." * 100_000 + "@",
    "NL91 " * 40_000,  # IBAN prefixes everywhere
    "ab12" + "a1" * 100_000,
    "1" * 200_000,
    "1 " * 100_000,
    "(0" * 100_000,
    "24-11-2026 " * 18_000,
    "Jan belde 06-12-34-56-78 over NL91 ABNA 0417 1643 00 op 24-11-2026. " * 3_000,
], ids=["email-run", "dotted-run", "iban-prefixes", "alnum-run", "digits", "spaced-digits", "brackets", "dates",
        "sentences"])
def test_masking_200_kb_of_hostile_text_finishes(text: str) -> None:
    """No quadratic pattern: each text takes about a second; the alarm only fires on a blow-up."""
    def too_slow(signum: int, frame: object) -> None:
        raise _TooSlow(f"mask() did not finish {len(text)} characters in 60 s")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(60)
    try:
        masked = PSEUDO.mask(text)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert "06-12-34-56-78" not in masked and "ABNA 0417" not in masked
