"""Write the Apora demo workspace: manifests, policy, notice, every export, and the ground truth.

The map, ``sources.yml``, ``policy.yml`` and the notice are fixed files shipped in
``datamap/demo/data``; the data is generated. Subjects are streamed one by one into open
writers, the planted cases are woven in at fixed positions, and only the planted ground truth is
kept in memory, so a million subjects need no more memory than a hundred.
"""
from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path
from typing import Callable

from datamap.demo.estate import Estate, Planted
from datamap.demo.planted import schedule
from datamap.demo.population import base_subject
from datamap.demo.staff import write_staff
from datamap.demo.subject import plant_subject
from datamap.demo.writers import write_plain_csv
from datamap.errors import BadInput

DATA = Path(__file__).with_name("data")
MIN_SUBJECTS, MAX_SUBJECTS = 100, 1_000_000

# Map level: planted in the shipped manifests (datamap/demo/data/manifests).
MAP_CASES = (
    Planted("P02", "purpose.undeclared_use", "zoho_salesiq", "marketing.advertising.profiling",
            "SalesIQ declares visitor profiling for advertising; none of the notice's five purposes covers it"),
    Planted("P03", "sharing.processor_without_dpa", "zoho_desk", "tevreden_enquetes",
            "Desk sends name and e-mail to the survey processor, which has no dpa_location"),
    Planted("P03", "transfer.outside_eea_without_basis", "zoho_campaigns", "adpeak",
            "Campaigns sends e-mail addresses to a US ad platform (eea: false) with no legal_basis_for_transfers"),
    Planted("P13", "notice.category_not_disclosed", "notice", "user.job_title",
            "CRM contacts hold the job title (Title) of customers; §04 of the notice does not disclose it"),
)

# The notice lint on Apora's fixed notice text: exactly the list in docs/rules.md.
NOTICE_CASES = tuple(Planted("P16", rule, "notice", key, note) for rule, key, note in (
    ("notice.missing_legal_basis", "legal-basis", "§02 lists purposes without any Art. 6 basis"),
    ("notice.missing_legitimate_interests", "legitimate-interests", "§04 invokes a legitimate interest without naming it"),
    ("notice.missing_retention_period", "retention-period", "§01 says only 'niet langer dan strikt nodig'"),
    ("notice.missing_recipients", "processors", "Zoho processes as processor; the notice names no recipients"),
    ("notice.missing_transfer_info", "third-country-transfers", "the map declares Zoho support access from India"),
    ("notice.missing_dpo_contact", "dpo-contact", "the organization declares a DPO the notice does not name"),
    ("notice.missing_right", "right-to-restriction", "no right to restriction"),
    ("notice.missing_right", "right-to-object", "no right to object"),
    ("notice.missing_right", "withdraw-consent", "consent is used but withdrawal is not mentioned"),
    ("notice.missing_automated_decision_info", "automated-decision-making", "nothing on automated decisions"),
    ("notice.outdated_authority_name", "college-bescherming-persoonsgegevens",
     "names the College Bescherming Persoonsgegevens, the Autoriteit Persoonsgegevens since 2016"),
))

Progress = Callable[[int, int], None]


def extra_cases(subjects: int) -> int:
    """How many extra planted records per scalable rule: one more per tenfold above 1,000 subjects."""
    return max(0, int(math.log10(subjects / 1000))) if subjects >= 1000 else 0


def generate(out: Path, subjects: int = 2000, seed: int = 42, progress: Progress | None = None) -> Path:
    """Write the demo workspace for ``subjects`` people into ``out`` and return ``out``.

    The same ``subjects`` and ``seed`` give byte-identical files.
    """
    if not MIN_SUBJECTS <= subjects <= MAX_SUBJECTS:
        raise BadInput(None, "--subjects", f"must be between {MIN_SUBJECTS:,} and {MAX_SUBJECTS:,}, got {subjects:,}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BadInput(str(out), None, "exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    _copy_fixed_files(out)
    estate = Estate(out, seed)
    write_staff(estate)
    cases = schedule(extra_cases(subjects))
    positions = {(j + 1) * subjects // (len(cases) + 2): case for j, case in enumerate(cases)}
    subject_at = subjects * (len(cases) + 1) // (len(cases) + 2)
    expected_subject = None
    step = max(1, subjects // 100)
    for index in range(subjects):
        base_subject(estate, index)
        if index in positions:
            positions[index](estate)
        if index == subject_at:
            expected_subject = plant_subject(estate)
        if progress and (index + 1) % step == 0:
            progress(index + 1, subjects)
    write_plain_csv(out / "governance/privacy_requests.csv",
                    ["Request ID", "Type", "Subject Email", "Received", "Completed", "Extended", "Details"],
                    estate.requests)
    estate.close()
    planted = [*estate.planted, *MAP_CASES, *NOTICE_CASES]
    _write_json(out / "expected_findings.json",
                [p.to_dict() for p in sorted(planted, key=lambda p: (p.rule, p.system, p.record_key))])
    _write_json(out / "expected_subject.json", expected_subject)
    return out


def planted_counts(workspace: Path) -> dict[str, int]:
    """Count the planted cases per rule in a generated workspace's ``expected_findings.json``."""
    cases = json.loads((Path(workspace) / "expected_findings.json").read_text(encoding="utf-8"))
    return dict(sorted(Counter(c["rule"] for c in cases).items()))


def _copy_fixed_files(out: Path) -> None:
    shutil.copytree(DATA / "manifests", out / "manifests", dirs_exist_ok=True)
    for name in ("sources.yml", "policy.yml"):
        shutil.copyfile(DATA / name, out / name)
    (out / "notice").mkdir(exist_ok=True)
    shutil.copyfile(DATA / "privacybeleid.txt", out / "notice/privacybeleid.txt")


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
