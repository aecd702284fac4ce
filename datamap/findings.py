"""A finding: one record (or map element) that breaks one rule, with pseudonymised evidence.

Every stage that judges (map policies, discovery, the notice lint, the audit's checks) returns
these, so reports and comparisons handle one shape. See docs/design.md for the JSON form.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterable

from datamap.identity import Pseudonymizer

SEVERITIES = ("critical", "high", "medium", "low")


def in_dutch(key: str) -> str:
    """A taxonomy key as a Dutch ``detail_nl`` says it: its Dutch label (``labels/nl.yml``) in running text.

    A key the labels lack (a workspace's own extension) is said as itself: a finding never fails for want
    of a word, and a key is a code, not English.
    """
    from datamap.errors import BadInput
    from datamap.labels import label

    try:
        word = label(key, "nl")
    except BadInput:
        return key
    return word[:1].lower() + word[1:] if word[1:2].islower() else word  # "IP-adres" keeps its capitals


def dutch_list(keys: Iterable[str]) -> str:
    """Taxonomy keys said in Dutch, comma-separated."""
    return ", ".join(in_dutch(k) for k in keys)


def finding_id(rule: str, system: str, record_key: str) -> str:
    """``fnd-`` and 12 hex digits of ``(rule, system, record_key)``: the same finding gets the same id in every run.

    The record key is the pseudonymised one outputs show, so no raw address is needed to compute it;
    48 bits leave a collision among a million findings unlikely.
    """
    digest = hashlib.sha256("\x1f".join(map(str, (rule, system, record_key))).encode("utf-8")).hexdigest()
    return f"fnd-{digest[:12]}"


@dataclass(frozen=True)
class Finding:
    claim: str
    rule: str
    severity: str
    system: str
    record_key: str
    detail: str
    detail_nl: str | None = None  # the same sentence in Dutch, for the Dutch documents (None: a workspace's own check says none)
    check: str = ""
    dataset: str | None = None
    collection: str | None = None
    subject_ref: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies a finding across runs and against planted cases."""
        return (self.rule, self.system, self.record_key)

    @property
    def id(self) -> str:
        """The id a privacy officer copies into actions.yml (:func:`finding_id` of :attr:`key`)."""
        return finding_id(*self.key)

    def shown_by(self, pseudo: Pseudonymizer) -> Finding:
        """This finding as outputs show it: an address in its record key by :meth:`Pseudonymizer.record_key`."""
        return replace(self, record_key=pseudo.record_key(self.record_key))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **asdict(self)}
