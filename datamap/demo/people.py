"""Dutch people, companies and their identifiers for the demo estate.

Names, streets and cities come from faker's ``nl_NL`` lists (tussenvoegsels and diacritics
included), drawn with the caller's ``random.Random`` so the same seed gives the same people.
Identifiers that must never collide (e-mail, mobile, IBAN) are derived from the subject's index
through a bijection, so a million subjects never share one by accident and no registry is kept.
"""
from __future__ import annotations

import functools
import random
import re
import unicodedata
from dataclasses import dataclass

from stdnum import iban as _iban

FREE_MAIL = ("gmail.com", "hotmail.com", "outlook.com", "ziggo.nl", "kpnmail.nl", "xs4all.nl", "live.nl")
BANKS = ("INGB", "ABNA", "RABO", "TRIO", "SNSB", "KNAB", "BUNQ")
COMPANY_FORMS = ("B.V.", "BV", "V.O.F.", "", "Holding B.V.")
TRADES = (
    "Advies", "Installatietechniek", "Bouw", "Administratie", "Logistiek", "Makelaardij", "Zorg",
    "IT Services", "Groothandel", "Architecten", "Bakkerij", "Transport", "Interieur", "Media",
)
JOB_TITLES = (
    "Directeur", "Eigenaar", "Office manager", "Financieel medewerker", "Inkoper", "IT-beheerder",
    "Salesmanager", "Projectleider", "Controller", "Administrateur",
)
# The full range of Dutch mobile numbers the base population uses: 06-20000000 .. 06-99999999.
# Planted people use 06-1xxxxxxx, which the base can therefore never produce.
_MOBILE_SPAN = 80_000_000
_LANDLINE_AREAS = ("010", "020", "030", "040", "050", "070", "073", "076", "024", "026")


@functools.lru_cache(maxsize=1)
def pools() -> dict[str, tuple[str, ...]]:
    """Load faker's Dutch word lists once (sorted, de-duplicated: stable across runs)."""
    from faker.providers.address.nl_NL import Provider as Address
    from faker.providers.person.nl_NL import Provider as Person

    streets = sorted({f"{root}{suffix}" for root in Person.last_names[:400]
                      for suffix in Address.street_suffixes if " " not in root and "'" not in root})
    return {
        "first_female": tuple(sorted(set(Person.first_names_female))),
        "first_male": tuple(sorted(set(Person.first_names_male))),
        "last": tuple(sorted(set(Person.last_names))),
        "cities": tuple(sorted(set(Address.cities))),
        "streets": tuple(streets),
    }


def ascii_fold(text: str) -> str:
    """Drop diacritics and anything but letters and digits, for e-mail local parts and slugs."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", text.lower())


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def mobile(index: int) -> str:
    """A unique Dutch mobile number (digits only, ``06xxxxxxxx``) for subject ``index``."""
    return f"06{20_000_000 + (index * 7919 + 1_234_567) % _MOBILE_SPAN:08d}"


def landline(index: int) -> str:
    """A unique Dutch landline (digits only) for company ``index``."""
    area = _LANDLINE_AREAS[index % len(_LANDLINE_AREAS)]
    return f"{area}{1_000_000 + (index // len(_LANDLINE_AREAS) * 4999 + 777) % 9_000_000:07d}"


def format_phone(digits: str, style: int) -> str:
    """Write a Dutch number the way people and systems do: ``06-12345678``, ``+31 6 1234 5678``, ..."""
    national = digits[1:]
    if digits.startswith("06"):
        styles = (f"06-{digits[2:]}", f"+31 6 {digits[2:6]} {digits[6:]}", digits, f"+31{national}",
                  f"06 {digits[2:6]} {digits[6:]}", f"+31 (0)6-{digits[2:]}")
    else:
        area, rest = digits[:3], digits[3:]
        styles = (f"{area}-{rest}", f"+31 {area[1:]} {rest}", digits, f"+31{national}",
                  f"{area} {rest[:3]} {rest[3:]}", f"+31 (0){area[1:]}-{rest}")
    return styles[style % len(styles)]


def iban(index: int, bank: str) -> str:
    """A valid Dutch IBAN (checksum holds) whose account number is unique per ``index``."""
    account = f"{(index * 104_729 + 31_415) % 10_000_000_000:010d}"
    check = _iban.calc_check_digits(f"NL00{bank}{account}")
    return f"NL{check}{bank}{account}"


def masked(iban_text: str) -> str:
    """Zoho Books' masking of a bank account when sensitive PII is not exported."""
    return "XXXXXX" + iban_text[-4:]


def bsn(rng: random.Random) -> str:
    """A BSN that passes the eleven test (``stdnum.nl.bsn``), first digit non-zero."""
    from stdnum.nl import bsn as _bsn

    while True:
        candidate = f"{rng.randint(10_000_000, 99_999_999)}"
        for last in range(10):
            if _bsn.is_valid(candidate + str(last)):
                return candidate + str(last)


@dataclass(frozen=True)
class Person:
    """One data subject as the base population knows them."""

    index: int
    first: str
    last: str                 # may hold a tussenvoegsel: ``van den Bergh``
    email: str
    phone: str                # digits only; systems format it differently
    street: str
    postcode: str
    city: str
    company: str
    company_domain: str
    title: str
    bank: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def iban(self) -> str:
        return iban(self.index, self.bank)

    @property
    def company_phone(self) -> str:
        return landline(self.index)


def make_person(index: int, rng: random.Random) -> Person:
    """Draw one Dutch person with a unique e-mail, mobile and IBAN from ``index``."""
    p = pools()
    female = rng.random() < 0.5
    first = rng.choice(p["first_female"] if female else p["first_male"])
    last = rng.choice(p["last"])
    trade = rng.choice(TRADES)
    company_root = last.split()[-1] if rng.random() < 0.6 else rng.choice(p["cities"])
    company = " ".join(x for x in (company_root, trade, rng.choice(COMPANY_FORMS)) if x)
    domain = f"{ascii_fold(company_root)}{ascii_fold(trade)}-{base36(index)}.nl"
    local = f"{ascii_fold(first)}.{ascii_fold(last)}"
    if rng.random() < 0.55:
        email = f"{ascii_fold(first)[:1]}.{ascii_fold(last)}@{domain}"
    else:
        email = f"{local}.{base36(index)}@{rng.choice(FREE_MAIL)}"
    street = f"{rng.choice(p['streets'])} {rng.randint(1, 240)}{rng.choice(('', '', '', 'a', 'b', '-2'))}"
    postcode = f"{rng.randint(1011, 9999)} {rng.choice('ABCDEGHJKLMNPRSTVWXZ')}{rng.choice('ABCDEGHJKLMNPRSTVWXZ')}"
    return Person(
        index=index, first=first, last=last, email=email, phone=mobile(index), street=street,
        postcode=postcode, city=rng.choice(p["cities"]), company=company, company_domain=domain,
        title=rng.choice(JOB_TITLES), bank=rng.choice(BANKS),
    )
