"""The one-page summary of the map (``map.md``, for ``make audit``): systems, recipients, flows, findings.

It sits beside the drawings (:mod:`datamap.map.draw`) it links, and names keys and parties only,
never personal values.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from datamap.map.answers import summary
from datamap.map.draw import draw_all
from datamap.map.findings import map_findings
from datamap.map.graph import dataset_categories, declared_flows, system_categories
from datamap.map.model import DataMap
from datamap.map.queries import external_recipients
from datamap.outputs import write_atomic
from datamap.taxonomy import is_personal

if TYPE_CHECKING:
    from datamap.workspace import Policy as WorkspacePolicy


def write_map_summary(dm: DataMap, out_dir: str | os.PathLike[str], policy: "WorkspacePolicy | None" = None,
                      categories: list[str] | None = None) -> Path:
    """Write ``map.md`` (one page: systems, recipients, flows, findings) and the drawings into ``out_dir``.

    The page names keys and parties only, never personal values. Returns the Markdown file's path.
    """
    policy = policy or dm.policy
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    drawings = [p for p in draw_all(dm, folder, categories) if p.suffix == ".png"]
    s = summary(dm)
    lines = [f"# Data map: {', '.join(o.name or k for k, o in dm.organizations.items()) or ', '.join(s['organization'])}", "",
             f"{len(s['internal_systems'])} own systems, {len(s['external_parties'])} external parties, "
             f"{len(s['datasets'])} datasets, {len(s['personal_data_categories'])} personal data categories, "
             f"{s['flows']} declared flows.", "", "![the data map](map.png)", "",
             "## Own systems", "", "| system | subjects | uses | personal data categories | hosted by |", "|---|---|---|---|---|"]
    for key in dm.internal_systems():
        system = dm.systems[key]
        subjects = sorted({x for d in system.privacy_declarations for x in d.data_subjects})
        uses = sorted({d.data_use for d in system.privacy_declarations})
        cats = [c for c in system_categories(dm, key) if is_personal(dm.taxonomy, c)]
        lines.append(f"| {key} | {', '.join(subjects)} | {', '.join(uses)} | {len(cats)} | {(system.meta or {}).get('hosted_by') or '-'} |")
    lines += ["", "## Who receives personal data outside the organization", "",
              "| party | role | country | outside EEA | processing agreement | transfer basis | from | categories |",
              "|---|---|---|---|---|---|---|---|"]
    for r in external_recipients(dm):
        agreement = {None: "n/a", True: "on file", False: "**none on file**"}[r["processing_agreement"]]
        basis = ", ".join(r["transfer_basis"]) or ("**none**" if r["outside_eea"] else "-")
        lines.append(f"| {r['party']} | {r['role']} | {r['country'] or '?'} | {'yes' if r['outside_eea'] else 'no'} | "
                     f"{agreement} | {basis} | {', '.join(r['from'])} ({', '.join(r['via'])}) | {len(r['categories'])} |")
    lines += ["", "## Flows", ""]
    for (src, dst), flow in sorted(declared_flows(dm).items()):
        lines.append(f"- {src} → {dst}: {', '.join(sorted(flow['categories']))}")
    if s["unattached_datasets"]:
        lines += ["", "## Datasets no system references", "",
                  "The register cannot place these: add each to the dataset_references of the system that holds it.", ""]
        lines += [f"- {k} ({dm.source_of('dataset', k)}): {sum(is_personal(dm.taxonomy, c) for c in dataset_categories(dm, k))} "
                  "personal data categories" for k in s["unattached_datasets"]]
    if policy is not None:
        found = map_findings(dm, policy)
        lines += ["", f"## Map findings ({len(found)})", ""]
        lines += [f"- `{f.rule}` {f.system} / {f.record_key}: {f.detail}" for f in found] or ["none"]
    lines += ["", "## Drawings per category", ""]
    lines += [f"- [{p.stem}]({p.name})" for p in drawings if p.stem != "map"]
    return write_atomic(folder / "map.md", "\n".join(lines) + "\n")
