"""Turning a check's unexpected rows into Findings with pseudonymised evidence.

The evidence is what a regulator would ask for: the source file or table, the data row, and the
values that break the rule. Every e-mail, phone number or IBAN in it is replaced by its keyed
pseudonym; values a catalogue entry marks ``redact`` (a readable password) are never shown.
"""
from __future__ import annotations

from typing import Any

from datamap.audit.catalogue import ResolvedCheck, fill, template_fields
from datamap.findings import Finding
from datamap.identity import Pseudonymizer

REDACTED = "[redacted]"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def masked_row(row: dict[str, Any], pseudo: Pseudonymizer, redact: list[str]) -> dict[str, Any]:
    """The row with identifiers pseudonymised and redacted columns hidden."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in redact and value is not None:
            out[key] = REDACTED
        elif isinstance(value, str):
            out[key] = pseudo.mask(value) if value else value
        else:
            out[key] = value
    return out


def row_finding(check: ResolvedCheck, row: dict[str, Any], pseudo: Pseudonymizer,
                sources: dict[str, str], systems: dict[str, str] | None = None) -> Finding:
    """Build the Finding for one unexpected row (``sources`` maps store table -> source file).

    A finding whose catalogue entry names no ``system`` is the system's that holds its dataset
    (``systems``: dataset -> the manifest system whose ``dataset_references`` name it).
    """
    spec = check.spec.finding
    assert spec is not None
    safe = masked_row(row, pseudo, spec.redact)
    for col in spec.pseudonymise:
        if row.get(col) not in (None, ""):
            safe[col] = pseudo.ref(str(row[col]), kind="value")
    raw_context = {**check.vars, **{k: _text(v) for k, v in row.items()}}
    safe_context = {**check.vars, **{k: _text(v) for k, v in safe.items()}}
    for key in template_fields(spec.record_key):  # a record id is no personal data; an address in it is
        if key in raw_context:
            safe_context[key] = pseudo.record_key(raw_context[key])
    table = fill(spec.source_table, raw_context) if spec.source_table else fill(check.spec.table or "", check.vars)
    evidence: dict[str, Any] = {"source": sources.get(table, table)}
    if spec.row and row.get(spec.row) is not None:
        evidence["row"] = row[spec.row]
    evidence["values"] = {col: safe.get(col) for col in spec.evidence if col in safe}
    subject = pseudo.subject_ref(
        email=row.get(spec.subject_email) if spec.subject_email else None,
        phone=row.get(spec.subject_phone) if spec.subject_phone else None,
        iban=row.get(spec.subject_iban) if spec.subject_iban else None,
    )
    dataset = fill(spec.dataset, raw_context) if spec.dataset else None
    system = fill(spec.system, raw_context) if spec.system else (systems or {}).get(dataset or "", dataset or "")
    return Finding(
        claim=check.claim,
        rule=fill(check.spec.rule, raw_context),
        severity=check.spec.severity,
        system=system,
        record_key=fill(spec.record_key, raw_context),
        detail=fill(spec.detail, safe_context),
        detail_nl=fill(spec.detail_nl, safe_context) if spec.detail_nl is not None else None,  # the same masked values
        check=check.check_id,
        dataset=dataset,
        collection=fill(spec.collection, raw_context) if spec.collection else None,
        subject_ref=subject,
        evidence=evidence,
    )


def row_columns(check: ResolvedCheck) -> set[str]:
    """The row columns a check's finding template reads (to validate a catalogue entry)."""
    spec = check.spec.finding
    if spec is None:
        return set()
    cols: set[str] = set()
    for text in (spec.system or "", spec.record_key, spec.detail, spec.dataset or "", spec.collection or "",
                 spec.source_table or ""):
        cols |= template_fields(text)
    return cols - set(check.vars)
