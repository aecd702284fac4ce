"""The request: who it is about (:class:`Subject`), what was found (:class:`Match`), and the
confidence each kind of evidence earns (the table in :mod:`datamap.subject`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from datamap.errors import BadInput
from datamap.identity import (normalise_customer_number, normalise_email, normalise_iban, normalise_name,
                              normalise_phone)

REPORT_AT = 0.8
STRONG_NAME = 92.0
INITIAL_COST = 5.0

UNIQUE_KINDS = ("email", "customer_number", "iban", "invoice_number")
CONFIDENCE = {"email": 1.0, "customer_number": 1.0, "iban": 1.0, "invoice_number": 1.0, "phone": 0.9}
FOLLOWED_KINDS = ("email", "customer_number", "iban", "invoice_number", "phone")
MAX_HOPS = 2  # the person's record -> his other account -> its records; further chains drift to other people
STEP_COST = 0.05
DERIVED = CONFIDENCE["email"] - STEP_COST  # one step from the request on a unique identifier
SHARED_LINE = 0.4
UNSETTLED = 0.5  # a followed value reached a record that may as well be someone else's: a candidate
OTHER_NAME = 60.0  # below this a name is someone else's
NAME_AND_PLACE = 0.85
NAME_ALONE_MAX = 0.5


@dataclass(frozen=True)
class Subject:
    """Who the request is about: normalised identifiers, and optionally where they live."""

    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    customer_numbers: tuple[str, ...] = ()
    ibans: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    city: str | None = None

    @classmethod
    def of(cls, email: Iterable[str] = (), phone: Iterable[str] = (), customer_number: Iterable[str] = (),
           iban: Iterable[str] = (), name: Iterable[str] = (), city: str | None = None) -> "Subject":
        """Normalise what the requester gave; a value that is not what it claims is bad input."""
        def norm(values: Iterable[str], fn: Any, option: str) -> tuple[str, ...]:
            out = []
            for value in values:
                n = fn(value)
                if not n:
                    raise BadInput(None, option, f"not a valid {option.lstrip('-').replace('-', ' ')}: {value!r}")
                out.append(n)
            return tuple(dict.fromkeys(out))

        subject = cls(norm(email, normalise_email, "--email"), norm(phone, normalise_phone, "--phone"),
                      norm(customer_number, normalise_customer_number, "--customer-number"),
                      norm(iban, normalise_iban, "--iban"), norm(name, normalise_name, "--name"),
                      normalise_name(city) if city else None)
        if not subject.identifiers() and not subject.names:
            raise BadInput(None, None, "no identifier given", "pass --email, --phone, --customer-number, --iban or --name")
        return subject

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> "Subject":
        """Build a request from a mapping (``email``, ``phone``, ``customer_number``, ``iban``, ``name``: one or a list; ``city``)."""
        def many(key: str) -> list[str]:
            value = data.get(key)
            return [] if value in (None, "") else [str(v) for v in (value if isinstance(value, list) else [value])]

        return cls.of(email=many("email"), phone=many("phone"), customer_number=many("customer_number"),
                      iban=many("iban"), name=many("name"), city=data.get("city"))

    def identifiers(self) -> list[tuple[str, str]]:
        """The ``(kind, value)`` pairs the store's identifier index is searched on."""
        return ([("email", v) for v in self.emails] + [("phone", v) for v in self.phones]
                + [("customer_number", v) for v in self.customer_numbers] + [("iban", v) for v in self.ibans])


@dataclass(frozen=True)
class Match:
    """One record that belongs (or may belong) to the person, with why and how sure."""

    system: str
    dataset: str
    collection: str
    table: str
    record_key: str
    confidence: float
    reasons: tuple[str, ...]

    @property
    def is_subject(self) -> bool:
        return self.confidence >= REPORT_AT

    def where(self) -> dict[str, str]:
        return {"system": self.system, "collection": self.collection, "record_key": self.record_key}


def match_table(matches: Iterable[Match]) -> list[dict[str, Any]]:
    """A match table fit for reports and notebooks: where and why, never the matched values."""
    return [{**m.where(), "confidence": m.confidence, "reported": m.is_subject, "matched_on": "; ".join(m.reasons)} for m in matches]
