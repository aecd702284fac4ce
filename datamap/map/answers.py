"""The map's answers as plain text for the terminal, and the map in numbers (``datamap map``)."""
from __future__ import annotations

from typing import Any

from datamap.map.graph import dataset_categories, system_categories, unattached_datasets
from datamap.map.model import DataMap
from datamap.taxonomy import is_personal


def summary(dm: DataMap) -> dict[str, Any]:
    """The map in numbers and names: organization, systems, datasets, parties, categories."""
    held = {c for s in dm.systems for c in system_categories(dm, s)}
    held |= {c for d in unattached_datasets(dm) for c in dataset_categories(dm, d)}
    personal = sorted(c for c in held if is_personal(dm.taxonomy, c))
    return {
        "organization": sorted(dm.organizations) or sorted({s.organization_fides_key for s in dm.systems.values()}),
        "internal_systems": dm.internal_systems(),
        "external_parties": {k: dm.systems[k].system_type for k in dm.external_parties()},
        "datasets": sorted(dm.datasets),
        "unattached_datasets": unattached_datasets(dm),
        "personal_data_categories": personal,
        "flows": sum(1 for _a, _b, k in dm.graph.edges(keys=True) if k == "flows_to"),
    }


def as_text(query: str, answer: Any) -> str:
    """Render a query's answer as short lines for the terminal."""
    if query == "where":
        lines = [f"{answer['category']} is held by {len(answer['systems'])} systems: {', '.join(answer['systems']) or '-'}"]
        if answer.get("unattached"):
            lines.append(f"  and by {len(answer['unattached'])} datasets no system references: {', '.join(answer['unattached'])}")
        lines += [f"  {f}  ({c})" for f, c in answer["fields"].items()]
        return "\n".join(lines)
    if query in ("flows",):
        return "\n".join(" -> ".join(p) for p in answer) or "no flows"
    if query == "recipients":
        return "\n".join(
            f"{r['party']} ({r['role']}, {r['country'] or '?'}"
            f"{', outside the EEA' if r['outside_eea'] else ''}): "
            f"{_agreement_text(r['processing_agreement'])}; "
            f"transfer basis {', '.join(r['transfer_basis']) or '-'}; from {', '.join(r['from'])} via {', '.join(r['via'])}; "
            f"categories {', '.join(r['categories'])}"
            for r in answer) or "no external recipients"
    if query == "breach":
        lines = [f"breach of {answer['system']}: {len(answer['categories'])} personal data categories of {', '.join(answer['subjects']) or '-'}",
                 f"  notify the Autoriteit Persoonsgegevens (Art. 33): {'likely yes' if answer['notify_authority'] else 'no'}",
                 f"  notify the subjects (Art. 34): {'likely yes' if answer['notify_subjects'] else 'no'}",
                 f"  records: {answer['total_records'] if answer['total_records'] is not None else 'unknown'}"]
        lines += [f"  - {r}" for r in answer["reasons"]]
        return "\n".join(lines)
    if query == "findings":
        return "\n".join(f"{f['rule']}  {f['system']}  {f['record_key']}: {f['detail']}" for f in answer) or "no map findings"
    if query in ("draw", "export"):
        return "\n".join(answer)
    if query == "evaluate":  # fides evaluate's own lines (local mode: nothing is sent to a server)
        import pprint

        lines = ["Evaluating the following policies:", *(f"- {k}" for k in answer["policies"]), "-" * 10,
                 "Checking for missing resources...", "Executing Policy evaluation(s)..."]
        if answer["status"] == "FAIL":
            shown = {k: answer[k] for k in ("message", "status", "violations")}  # type: ignore[literal-required]
            lines.append(pprint.pformat(shown, indent=2, width=80, compact=True))
        else:
            lines.append("Evaluation passed!")
        return "\n".join(lines)
    return "\n".join(f"{k}: {', '.join(f'{a} ({b})' for a, b in v.items()) if isinstance(v, dict) else (', '.join(v) if isinstance(v, list) else v)}"
                     for k, v in answer.items())


def _agreement_text(agreement: bool | None) -> str:
    if agreement is None:
        return "own controller, no processing agreement needed"
    return "processing agreement on file" if agreement else "NO processing agreement on file"
