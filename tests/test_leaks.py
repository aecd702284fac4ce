"""No output of ``make audit`` shows a raw e-mail address, IBAN or phone number of the demo estate.

``make audit`` runs ``datamap all WORKSPACE --out DIR``; the hardened run (tests/reliability_runs.py)
is that command on a copy of the demo workspace. Every file it wrote is scanned: reports, the
register, the run archive, Data Docs, the map pages, discovery's table, and the run's own stdout
and stderr. Subject exports are the one place raw values belong; ``datamap all`` writes none.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from fixtures_leak import raw_personal_values
from reliability_runs import hardened_run, output_files


@pytest.fixture(scope="module")
def run(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory):
    return hardened_run(demo_workspace, tmp_path_factory)


# Great Expectations' own page assets (pictures, fonts, style sheets, scripts) hold no data.
ASSETS = {".gif", ".png", ".jpg", ".jpeg", ".ico", ".woff", ".woff2", ".ttf", ".eot", ".css", ".js", ".map"}


def readable_text(path: Path) -> str:
    """A file's text as a reader would see it (XLSX unpacked, PDF text extracted by pypdf)."""
    raw = path.read_bytes()
    if path.suffix == ".pdf":
        return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    return raw.decode("utf-8", "replace")


def is_subject_export(path: Path, out: Path) -> bool:
    """A subject-access export (raw values by design): a file under a ``subject*`` folder of the output."""
    return path.is_relative_to(out) and path.relative_to(out).parts[0].lower().startswith("subject")


@pytest.mark.slow
def test_no_output_of_make_audit_shows_a_raw_email_iban_or_phone(run) -> None:
    values = raw_personal_values(run.workspace)
    assert len(values) > 500  # the estate's addresses, IBANs and phones, raw and normalised
    files = [p for p in output_files(run.out, run.logs) if not is_subject_export(p, run.out)]
    kinds = {p.suffix for p in files}
    assert {".html", ".json", ".csv", ".xlsx", ".txt"} <= kinds
    leaks = {}
    for path in files:
        if path.suffix.lower() in ASSETS:
            continue
        text = readable_text(path)
        found = sorted(v for v in values if v in text)
        if found:
            leaks[str(path.relative_to(run.root))] = found[:5]
    assert leaks == {}


@pytest.mark.slow
def test_the_leak_scan_would_see_a_raw_value_written_anywhere(run, tmp_path: Path) -> None:
    """The scan above can fail: the same scan on a copy with one planted raw address finds it."""
    values = raw_personal_values(run.workspace)
    planted = sorted(v for v in values if "@" in v)[0]
    page = tmp_path / "page.html"
    page.write_text(f"<p>contact: {planted}</p>", encoding="utf-8")
    assert [v for v in values if v in readable_text(page)] != []
