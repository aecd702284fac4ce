"""Write the Apora demo workspace: manifests, policy, notice, every export, and the ground truth.

The map, ``sources.yml``, ``policy.yml`` and the notice are fixed files shipped in
``datamap/demo/data``; the data is generated. Subjects are streamed one by one into open
writers, the planted cases are woven in at fixed positions, and only the planted ground truth is
kept in memory, so a million subjects need no more memory than a hundred.

A folder that already holds something is refused: the README starts a company's own workspace
from this command, and a second run must not destroy an edited ``policy.yml``. With ``force`` the
demo is regenerated, and every file whose bytes are not what the demo last wrote there (the
record is ``.datamap/demo-files.json``) is first moved aside as ``<name>.edited-<UTC time>``.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import tempfile
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
RECORD = ".datamap/demo-files.json"  # what the demo wrote, by sha256: a file that differs was edited
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


def generate(out: Path, subjects: int = 2000, seed: int = 42, progress: Progress | None = None,
             force: bool = False) -> Path:
    """Write the demo workspace for ``subjects`` people into ``out`` and return ``out``.

    The same ``subjects`` and ``seed`` give byte-identical files. ``out`` must be new or empty;
    with ``force`` the demo is written over it and the files edited there are kept
    (:func:`kept_files` lists them).
    """
    if not MIN_SUBJECTS <= subjects <= MAX_SUBJECTS:
        raise BadInput(None, "--subjects", f"must be between {MIN_SUBJECTS:,} and {MAX_SUBJECTS:,}, got {subjects:,}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BadInput(str(out), None, "exists and is not a folder")
    held = sorted((p.name for p in out.iterdir()), key=lambda n: (n.startswith("."), n)) if out.is_dir() else []
    if held and not force:
        shown = ", ".join(held[:4]) + (", ..." if len(held) > 4 else "")
        raise BadInput(str(out), None, f"not an empty folder (it holds {shown}); the demo would overwrite it",
                       "write the demo into a new folder, or pass --force: files you edited are then kept "
                       "as NAME.edited-TIME")
    if not held:
        _write(out, subjects, seed, progress)
        _record(out, _hashes(out), [])
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{out.name}.demo-", dir=out.parent))  # same file system: moves are renames
    try:
        _write(fresh, subjects, seed, progress)
        _merge(fresh, out)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    return out


def kept_files(workspace: Path) -> list[Path]:
    """The edited files the last forced regeneration of ``workspace`` moved aside (``NAME.edited-TIME``)."""
    try:
        kept = json.loads((Path(workspace) / RECORD).read_text(encoding="utf-8")).get("kept", [])
    except (OSError, ValueError):
        return []
    return [Path(workspace) / rel for rel in kept]


def _write(out: Path, subjects: int, seed: int, progress: Progress | None) -> None:
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


def _hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by path relative to it (the workbench's .datamap aside)."""
    from datamap.store import sha256_file

    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and ".datamap" not in p.relative_to(folder).parts}


def _record(out: Path, hashes: dict[str, str], kept: list[str]) -> None:
    path = out / RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json(path, {"files": hashes, "kept": kept})


def _merge(fresh: Path, out: Path) -> None:
    """Move the freshly written demo into ``out``; a file there the demo did not write as it is now is kept aside."""
    try:
        written = json.loads((out / RECORD).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        written = {}
    from datamap.store import sha256_file

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    new = _hashes(fresh)
    kept = []
    for rel, digest in new.items():
        target = out / rel
        if target.is_file():
            current = sha256_file(target)
            if current == digest:
                continue
            if written.get(rel) != current:  # edited since the demo wrote it, or never the demo's
                aside = target.with_name(f"{target.name}.edited-{stamp}")
                target.rename(aside)
                kept.append(aside.relative_to(out).as_posix())
        elif target.exists():
            raise BadInput(str(target), None, "is a folder where the demo writes a file", "move it, then run demo again")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(fresh / rel, target)
    _record(out, new, kept)


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
