"""The Dutch phone fast path of ``normalise_phone`` gives exactly what a full phonenumbers parse gives."""
from __future__ import annotations

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from datamap.identity import normalise_phone


def full_parse(text: str) -> str | None:
    """The reference: phonenumbers' own parse, possibility check and E.164 format."""
    try:
        number = phonenumbers.parse(text, "NL")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_common_dutch_spellings_give_the_e164_number():
    for text in ("06-12345678", "+31 6 1234 5678", "+31612345678", "0031 6 12345678", "06 1234 5678",
                 "(020) 123 4567", "020-1234567", "020/1234567", "06.12.34.56.78", "+31 (0)6-12345678",
                 "+31 (0)20-1234567", "0031 (0)20 1234567"):
        assert normalise_phone(text) == full_parse(text)
    assert normalise_phone("06-12345678") == "+31612345678"
    assert normalise_phone("(020) 123 4567") == "+31201234567"
    assert normalise_phone("+31 (0)6-12345678") == "+31612345678"


def test_shapes_outside_the_fast_path_still_get_a_full_parse():
    assert normalise_phone("+31 (0)0612345678") == full_parse("+31 (0)0612345678")  # two zeros: not the fast path
    assert normalise_phone("+32 470 12 34 56") == full_parse("+32 470 12 34 56") == "+32470123456"
    assert normalise_phone("0612345") == full_parse("0612345")  # six digits: a possible Dutch length
    assert normalise_phone("12") is None
    assert normalise_phone("06-1234567٨") == full_parse("06-1234567٨")  # a non-ASCII digit: full parse


separators = st.sampled_from(["", "", "", " ", "-", ".", "/", "(", ")"])


@settings(max_examples=400, deadline=None)
@given(prefix=st.sampled_from(["0", "+31", "0031", "+31 ", "0031 ", "+31-", "+31 (0)", "0031 (0)", "+310", "+31 0",
                                "+31(0)", "00310"]),
       digits=st.from_regex(r"[1-9][0-9]{8}", fullmatch=True), seps=st.lists(separators, min_size=9, max_size=9))
def test_fast_path_agrees_with_a_full_parse(prefix, digits, seps):
    text = prefix + "".join(s + d for s, d in zip(seps, digits))
    assert normalise_phone(text) == full_parse(text) == "+31" + digits
