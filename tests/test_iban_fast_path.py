"""The Dutch IBAN fast path of ``normalise_iban`` accepts exactly what python-stdnum's full check accepts."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import iban

from datamap.identity import normalise_iban


def full_check(text: str) -> str | None:
    """The reference: stdnum's compact form when its complete validation holds."""
    compact = iban.compact(text)
    return compact if iban.is_valid(compact) else None


def with_check_digits(bank: str, account: str) -> str:
    """A Dutch IBAN with correct check digits (ISO 7064 mod 97-10)."""
    digits = "".join(str(int(c, 36)) for c in bank + account + "NL00")
    return f"NL{98 - int(digits) % 97:02d}{bank}{account}"


def test_real_shapes():
    assert normalise_iban("NL91 ABNA 0417 1643 00") == full_check("NL91 ABNA 0417 1643 00") == "NL91ABNA0417164300"
    assert normalise_iban("nl91abna0417164300") == "NL91ABNA0417164300"
    assert normalise_iban("NL92ABNA0417164300") is None  # check digits off by one
    assert normalise_iban("XXXXXXXXXXXXXX4300") is None  # masked by the exporting system
    assert normalise_iban("DE89 3704 0044 0532 0130 00") == full_check("DE89370400440532013000")  # outside the fast path
    assert normalise_iban("NL91ABNA041716430") is None  # one digit short


@settings(max_examples=400, deadline=None)
@given(bank=st.from_regex(r"[A-Z]{4}", fullmatch=True), account=st.from_regex(r"[0-9]{10}", fullmatch=True),
       check=st.one_of(st.none(), st.from_regex(r"[0-9]{2}", fullmatch=True)))
def test_fast_path_agrees_with_stdnum(bank, account, check):
    valid = with_check_digits(bank, account)
    text = valid if check is None else f"NL{check}{bank}{account}"
    assert normalise_iban(text) == full_check(text)
    assert normalise_iban(valid) == valid
