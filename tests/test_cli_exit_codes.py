"""Every command keeps the README's promise: exit 0 no findings, 1 findings, 2 bad input or could not run.

One test per command, each on a workspace with findings (the demo) and, where the command can find
something, on one without (the small example of docs/workspace.md with a compliant notice).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from datamap.cli import main

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def demo(demo_workspace, tmp_path_factory) -> Path:
    """A copy of the shared demo: commands stage into the workspace's own .datamap folder."""
    return Path(shutil.copytree(demo_workspace, tmp_path_factory.mktemp("exit-codes") / "demo"))


@pytest.fixture(scope="module")
def demo_audit(demo, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exit-codes-audit")
    assert main(["audit", str(demo), "--out", str(out), "--no-progress"]) == 1
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """docs/workspace.md's example with a notice that states every Art. 13 element and no lead past its period."""
    from test_workspace_doc import write_example

    ws = write_example(tmp_path_factory.mktemp("exit-codes-clean") / "voorbeeld")
    shutil.copyfile(FIXTURES / "compliant-privacyverklaring.txt", ws / "notice" / "privacyverklaring.txt")
    leads = ws / "exports" / "Leads.csv"
    leads.write_text(leads.read_text(encoding="utf-8").replace("2024-01-15 16:40:00", "2026-01-15 16:40:00"), encoding="utf-8")
    return ws


def test_demo_exit_codes(tmp_path, capsys):
    ws = tmp_path / "ws"
    assert main(["demo", "--out", str(ws), "--subjects", "100"]) == 0
    assert main(["demo", "--out", str(tmp_path / "other"), "--subjects", "10"]) == 2
    policy = ws / "policy.yml"
    edited = policy.read_text(encoding="utf-8") + "# reviewed by the privacy officer\n"
    policy.write_text(edited, encoding="utf-8")
    capsys.readouterr()
    assert main(["demo", "--out", str(ws), "--subjects", "100"]) == 2, "a folder that is not empty is refused"
    assert capsys.readouterr().err.startswith(f"error: {ws}: not an empty folder")
    assert policy.read_text(encoding="utf-8") == edited
    assert main(["demo", "--out", str(ws), "--subjects", "100", "--force"]) == 0
    (kept,) = ws.glob("policy.yml.edited-*")
    assert kept.read_text(encoding="utf-8") == edited, "--force keeps the edited file aside"
    assert f"kept your edited file as {kept}" in capsys.readouterr().out


def test_demo_force_replaces_only_what_the_demo_wrote(tmp_path):
    ws = tmp_path / "ws"
    assert main(["demo", "--out", str(ws), "--subjects", "100"]) == 0
    (ws / "notes.txt").write_text("mine\n", encoding="utf-8")
    assert main(["demo", "--out", str(ws), "--subjects", "150", "--force"]) == 0
    assert list(ws.rglob("*.edited-*")) == [], "files the demo wrote and nobody edited are simply regenerated"
    assert (ws / "notes.txt").read_text(encoding="utf-8") == "mine\n"


def test_map_exit_codes(demo, clean, tmp_path):
    assert main(["map", str(demo), "summary"]) == 0
    assert main(["map", str(demo), "where", "user.contact.email"]) == 0
    assert main(["map", str(demo), "findings"]) == 1
    assert main(["map", str(clean), "findings"]) == 0
    assert main(["map", str(demo), "no-such-query"]) == 2
    assert main(["map", str(demo), "export", "--out", str(demo / "manifests")]) == 2, "never over its own manifests"
    assert main(["map", str(tmp_path / "missing"), "summary"]) == 2


def test_scan_exit_codes(demo, clean, tmp_path):
    assert main(["scan", str(demo)]) == 1
    assert main(["scan", str(clean)]) == 0
    assert main(["scan", str(tmp_path / "missing")]) == 2


def test_audit_exit_codes(demo, demo_audit, clean, tmp_path):
    assert json.loads((demo_audit / "findings.json").read_text(encoding="utf-8")), "the demo fixture exited 1 on findings"
    assert main(["audit", str(clean), "--out", str(tmp_path / "clean"), "--no-progress"]) == 0
    assert main(["audit", str(demo), "--out", str(tmp_path / "x"), "--as-of", "24-11-2026"]) == 2


def test_ropa_exit_codes(demo, demo_audit, tmp_path, capsys):
    capsys.readouterr()
    assert main(["ropa", str(demo), "--format", "md", "--out", str(tmp_path), "--audit", str(demo_audit)]) == 0
    printed = capsys.readouterr().out
    assert "|---|" not in printed, "a short summary, not the Markdown coverage table"
    assert printed.splitlines()[0].startswith("Processing activities: ")
    assert main(["ropa", str(demo), "--format", "pdf", "--out", str(tmp_path)]) == 2


def test_subject_exit_codes(demo, capsys):
    from datamap import subject as sr
    from datamap.workspace import load_workspace

    ws = load_workspace(demo)
    checks = sr.erasure_checks(sr.open_store(ws), ws, sr.read_map(ws))
    incomplete = next(c.request_id for c in checks if not c.complete)
    complete = next(c.request_id for c in checks if c.complete)
    person = json.loads((demo / "expected_subject.json").read_text(encoding="utf-8"))["subject"]
    assert main(["subject", str(demo), "--email", person["email"]]) == 0, "finding a person is not a finding"
    assert main(["subject", str(demo), "--request", incomplete, "--erasure-check"]) == 1
    assert main(["subject", str(demo), "--request", complete, "--erasure-check"]) == 0
    assert main(["subject", str(demo), "--erasure-check"]) == 1, "every completed erasure, one of them incomplete"
    capsys.readouterr()
    assert main(["subject", str(demo), "--requests"]) == 1, "the log holds overdue requests"
    assert "overdue (answered after the deadline or open past it): " in capsys.readouterr().out
    assert main(["subject", str(demo), "--request", "REQ-9999"]) == 2


def test_subject_requests_exit_0_when_none_is_overdue(demo_workspace, tmp_path):
    ws = Path(shutil.copytree(demo_workspace, tmp_path / "ws"))
    log = ws / "governance" / "privacy_requests.csv"
    header, *rows = log.read_text(encoding="utf-8").splitlines()
    from datamap import subject as sr
    from datamap.workspace import load_workspace

    loaded = load_workspace(ws)
    in_time = {r.request_id for r in sr.request_log(sr.open_store(loaded), loaded) if r.status == "done_in_time"}
    log.write_text("\n".join([header, *(r for r in rows if r.split(",")[0] in in_time)]) + "\n", encoding="utf-8")
    assert main(["subject", str(ws), "--requests"]) == 0


def test_inquiry_exit_codes(demo, demo_audit, tmp_path):
    assert main(["inquiry", str(demo), "--topic", "processors", "--audit", str(demo_audit), "--out", str(tmp_path)]) == 0
    assert main(["inquiry", str(demo), "--topic", "weather", "--out", str(tmp_path)]) == 2


def test_notice_exit_codes(demo, clean, tmp_path):
    assert main(["notice", str(demo)]) == 1
    assert main(["notice", str(clean)]) == 0
    assert main(["notice", str(tmp_path / "missing")]) == 2


def test_all_exit_codes(demo, clean, tmp_path, capsys):
    assert main(["all", str(clean), "--out", str(tmp_path / "clean"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["all", str(demo), "--out", str(tmp_path / "demo"), "--no-progress"]) == 1
    printed = capsys.readouterr().out
    assert "audit report (PDF)" in printed, "the results say where the PDF is, or why there is none"
    assert main(["all", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 2
