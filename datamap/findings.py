"""A finding: one record (or map element) that breaks one rule, with pseudonymised evidence.

Every stage that judges (map policies, discovery, the notice lint, the audit's checks) returns
these, so reports and comparisons handle one shape. See docs/design.md for the JSON form.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low")


@dataclass(frozen=True)
class Finding:
    claim: str
    rule: str
    severity: str
    system: str
    record_key: str
    detail: str
    check: str = ""
    dataset: str | None = None
    collection: str | None = None
    subject_ref: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies a finding across runs and against planted cases."""
        return (self.rule, self.system, self.record_key)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
