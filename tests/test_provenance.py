"""A run records the software that checked, and says when it changed since the previous run.

The upgrade between two runs is faked by changing the version the run reads for Great
Expectations; everything else (the comparison, the summary, the report, the packs, the
constraints a later auditor installs from) reads the run's own records.
"""
from __future__ import annotations

import importlib.metadata
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from register_fixture import write_run, write_workspace

from datamap import cli, provenance
from datamap.audit.archive import what_changed
from datamap.audit.catalogue import DEFAULT_DIR
from datamap.audit.run import Staged, run_audit
from datamap.audit.summary import comparison_lines

REAL_GX = importlib.metadata.version("great-expectations")
UPGRADED_GX = "1.99.0"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """A small workspace audited twice, Great Expectations 'upgraded' and one manifest edited in between."""
    base = tmp_path_factory.mktemp("provenance")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATAMAP_KEY", "provenance-test-key")
        ws = write_workspace(base / "ws")
        store = write_run(base / "fixture-run") / "store.sqlite"
        checks = base / "checks"
        checks.mkdir()
        shutil.copy(DEFAULT_DIR / "P02.yml", checks)  # one map check: quick, and it needs no source

        def audit():
            return run_audit(ws, base / "audit", progress=False, staged=Staged(store, {}), catalogue_dirs=[checks])

        first = audit()
        systems = ws / "manifests" / "systems.yml"
        systems.write_text(systems.read_text(encoding="utf-8") + "# reviewed\n", encoding="utf-8")
        real = provenance.package_version
        with pytest.MonkeyPatch.context() as upgrade:
            upgrade.setattr(provenance, "package_version",
                            lambda name: UPGRADED_GX if name == "great-expectations" else real(name))
            second = audit()
        yield ws, base / "audit", first, second


def record(run) -> dict:
    return json.loads((run.run_dir / "run.json").read_text(encoding="utf-8"))


def test_software_names_datamap_python_the_platform_sqlite_and_every_deciding_library():
    import platform

    import datamap

    found = provenance.software()
    assert found["datamap"] == datamap.__version__
    assert (found["python"], found["platform"], found["sqlite"]) == (platform.python_version(), platform.platform(),
                                                                      sqlite3.sqlite_version)
    for name in ("great-expectations", "fideslang", "pandas", "sqlalchemy", "networkx", "jinja2", "openpyxl",
                 "matplotlib", "python-stdnum", "phonenumbers", "rapidfuzz", "snowballstemmer", "psycopg"):
        assert found[name] == importlib.metadata.version(name)
    assert "chromium" not in found
    assert provenance.software(chromium="Chromium 131.0")["chromium"] == "Chromium 131.0"


def test_a_library_that_is_not_installed_is_recorded_as_none(monkeypatch):
    monkeypatch.setattr(provenance, "package_version", lambda name: None if name == "psycopg" else "1.0")
    assert provenance.software()["psycopg"] is None


def test_datamap_version_prints_the_software_a_run_records(capsys, monkeypatch):
    import datamap.report

    monkeypatch.setattr(datamap.report, "pdf_converter", lambda: ("/usr/bin/chromium", "Chromium 131.0"))
    assert cli.main(["--version"]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    expected = provenance.software(chromium="Chromium 131.0")
    assert lines == {name: version or "not installed" for name, version in expected.items()}


def test_run_json_records_the_software_and_every_installed_package_beside_its_old_keys(two_runs):
    _ws, _audit, first, _second = two_runs
    data = record(first)
    assert {"run", "as_of", "workspace", "pseudonym_key", "sha256", "source_status", "provenance", "checks",
            "findings", "exit_code"} <= set(data)
    assert data["software"] == provenance.software()
    assert data["software"]["great-expectations"] == REAL_GX
    assert data["installed"]["great-expectations"] == REAL_GX
    assert "datamap" not in data["installed"] and "pip" not in data["installed"]


def test_the_first_run_has_nothing_to_compare_its_software_with(two_runs):
    _ws, _audit, first, _second = two_runs
    assert first.comparison["previous_run"] is None
    assert first.comparison["software_changed"] is None and first.comparison["inputs_changed"] is None
    assert comparison_lines(first.comparison) == []


def test_an_upgrade_between_two_runs_is_in_the_comparison_next_to_the_inputs_that_changed(two_runs):
    _ws, audit, first, second = two_runs
    comparison = json.loads((second.run_dir / "comparison.json").read_text(encoding="utf-8"))
    assert comparison == json.loads((audit / "comparison.json").read_text(encoding="utf-8"))
    assert comparison["previous_run"] == first.run_dir.name
    assert comparison["software_changed"] == {"great-expectations": [REAL_GX, UPGRADED_GX]}
    assert comparison["inputs_changed"] == {"changed": ["manifests/systems.yml"], "added": [], "removed": []}
    assert comparison["other_packages_changed"] == {}
    assert comparison["as_of_changed"] is None
    assert record(second)["software"]["great-expectations"] == UPGRADED_GX


def test_the_summary_line_says_the_software_changed_so_a_new_finding_is_not_taken_for_a_violation(two_runs):
    _ws, _audit, first, second = two_runs
    assert comparison_lines(second.comparison) == [
        f"compared with run {first.run_dir.name}: 0 new, 0 resolved, 0 persisting finding(s)",
        f"software changed since run {first.run_dir.name}: great-expectations {REAL_GX} -> {UPGRADED_GX}; "
        "a new finding may come from the change, not from the data",
        f"inputs changed since run {first.run_dir.name}: 1 changed file(s) (comparison.json lists them)",
    ]


def test_a_previous_run_that_recorded_no_software_makes_the_change_unknown_not_none():
    now = {"software": {"pandas": "3.0"}, "installed": {}, "sha256": {}, "as_of": "2026-11-24"}
    comparison = {"previous_run": "20250101T000000.000000Z", "new": [], "resolved": [], "persisting": [],
                  **what_changed({"as_of": "2025-01-01"}, now)}
    assert comparison["software_changed"] is None and comparison["inputs_changed"] is None
    assert comparison["as_of_changed"] == ["2025-01-01", "2026-11-24"]
    assert "run 20250101T000000.000000Z did not record its software: whether it changed is unknown" in comparison_lines(comparison)


def test_the_report_shows_the_upgrade_and_both_versions_of_the_software(two_runs, tmp_path):
    from datamap.report import write_report

    ws, _audit, first, second = two_runs
    html = write_report(ws, second.run_dir, tmp_path / "report.html", pdf=False).read_text(encoding="utf-8")
    changes = html.split('<div id="changes">', 1)[1].split("</div>", 1)[0]
    assert f"Compared with run {first.run_dir.name}" in changes
    assert "The software that checked changed since that run" in changes
    assert f"<tr><td><code>great-expectations</code></td><td>{REAL_GX}</td><td>{UPGRADED_GX}</td></tr>" in changes
    assert "<code>manifests/systems.yml</code> (changed)" in changes
    software = html.split('<table id="software">', 1)[1].split("</table>", 1)[0]
    # the run was checked by the 'upgraded' library; this report is rendered by the real one: marked as differing
    assert (f'<tr class="contradicted"><td><code>great-expectations</code></td><td>{UPGRADED_GX}</td>'
            f"<td>{REAL_GX}</td></tr>") in software
    assert f"<td><code>sqlite</code></td><td>{sqlite3.sqlite_version}</td>" in software


def test_the_report_of_the_first_run_says_there_is_nothing_to_compare(two_runs, tmp_path):
    from datamap.report import write_report

    ws, _audit, first, _second = two_runs
    html = write_report(ws, first.run_dir, tmp_path / "report.html", pdf=False).read_text(encoding="utf-8")
    assert "This is the first run in this archive" in html


def test_every_evidence_pack_names_the_software_that_checked_and_the_software_that_wrote_it(two_runs, tmp_path):
    from datamap.inquiry import Question, build_pack

    ws, audit, _first, second = two_runs
    pack = build_pack(ws, Question("processors"), tmp_path / "packs", audit)
    data = json.loads((pack.folder / "herkomst.json").read_text(encoding="utf-8"))
    assert data["audit_run"] == second.run_dir.name
    assert data["audit_run_software"] == record(second)["software"]
    assert data["software"] == provenance.software()


def test_constraints_from_a_run_pin_every_package_it_recorded(two_runs, capsys):
    _ws, _audit, _first, second = two_runs
    assert cli.main(["constraints", str(second.run_dir)]) == 0
    out = capsys.readouterr().out
    pins = dict(line.split("==") for line in out.splitlines() if line and not line.startswith("#"))
    assert pins == record(second)["installed"]
    assert f"# python {provenance.software()['python']} on " in out
    assert "datamap" not in pins and "pip" not in pins


def test_constraints_from_a_run_that_recorded_only_its_software_pin_the_deciding_libraries():
    text = provenance.constraints({"run": "r1", "software": {"datamap": "0.1.0", "python": "3.11.7", "sqlite": "3.40.1",
                                                           "Great_Expectations": "1.5.3", "psycopg": None}})
    assert text.splitlines()[-2:] == ["# Only the deciding libraries were recorded: their dependencies are not pinned.",
                                      "great-expectations==1.5.3"]


def test_constraints_for_a_run_without_software_is_one_line_and_exit_2(tmp_path, capsys):
    run = write_run(tmp_path / "old-audit")  # the format before runs recorded their software
    assert cli.main(["constraints", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: run.json: software: this run did not record its software (it was made before datamap did) "
                   "(re-run it with the requirements.lock of the datamap version of its day)"]


def test_constraints_for_a_folder_that_is_no_run_is_one_line_and_exit_2(tmp_path, capsys):
    assert cli.main(["constraints", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path}: not an audit run folder: no run.json")


def test_changed_lists_what_differs_and_tells_unknown_from_unchanged():
    assert provenance.changed({"pandas": "2.2.3", "numpy": "2.0"}, {"pandas": "3.0.0", "numpy": "2.0", "rich": "15"}) == {
        "pandas": ["2.2.3", "3.0.0"], "rich": [None, "15"]}
    assert provenance.changed({"pandas": "3.0.0"}, {"pandas": "3.0.0"}) == {}
    assert provenance.changed(None, {"pandas": "3.0.0"}) is None
    assert provenance.describe({"pandas": ["2.2.3", "3.0.0"], "rich": [None, "15"]}) == "pandas 2.2.3 -> 3.0.0, rich none -> 15"
