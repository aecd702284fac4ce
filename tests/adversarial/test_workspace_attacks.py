"""Hostile and awkward workspaces (issue #16, items 13, 14 and 20): paths that leave the workspace,
read-only workspaces, stale temporary folders and concurrent runs.

Each test is named after the attack it repels; the defect numbers are those of the issue.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from datamap.errors import BadInput
from datamap.sources import resolve
from datamap.workspace import load_workspace


def demo_copy(demo_workspace: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(demo_workspace, tmp_path / "ws", ignore=shutil.ignore_patterns(".datamap")))


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


LEADS = "exports/zoho_crm/Leads.csv"
LEADS_KEY = "datasets.zoho_crm.collections.leads.file"


# --- 14. paths leading outside the workspace ------------------------------------------------------


def test_14_dotdot_out_of_the_workspace_is_refused_naming_sources_yml_and_the_key(demo_workspace, tmp_path):
    ws = demo_copy(demo_workspace, tmp_path)
    (tmp_path / "elsewhere").mkdir()
    shutil.copy(ws / LEADS, tmp_path / "elsewhere" / "Leads.csv")
    replace_in(ws / "sources.yml", f"file: {LEADS}", "file: ../elsewhere/Leads.csv")
    with pytest.raises(BadInput) as caught:
        resolve(load_workspace(ws), "zoho_crm", "leads").files()
    line = caught.value.line()
    assert line.startswith(f"sources.yml: {LEADS_KEY}: '../elsewhere/Leads.csv' is outside the workspace")
    assert "'..'" in line and "\n" not in line


def test_14_dotdot_that_stays_inside_the_workspace_is_read(demo_workspace, tmp_path):
    ws = demo_copy(demo_workspace, tmp_path)
    replace_in(ws / "sources.yml", f"file: {LEADS}", "file: exports/zoho_books/../zoho_crm/Leads.csv")
    assert [p.name for p in resolve(load_workspace(ws), "zoho_crm", "leads").files()] == ["Leads.csv"]


def test_14_symlink_leading_outside_the_workspace_is_refused(demo_workspace, tmp_path):
    ws = demo_copy(demo_workspace, tmp_path)
    outside = tmp_path / "secret.csv"
    shutil.copy(ws / LEADS, outside)
    (ws / LEADS).unlink()
    (ws / LEADS).symlink_to(outside)
    with pytest.raises(BadInput) as caught:
        resolve(load_workspace(ws), "zoho_crm", "leads").files()
    assert caught.value.line().startswith(f"sources.yml: {LEADS_KEY}: '{LEADS}' is outside the workspace: "
                                          f"a symlink leads outside it, to {outside.resolve()}")


def test_14_symlinked_mbox_in_a_glob_leading_outside_is_refused(demo_workspace, tmp_path):
    ws = demo_copy(demo_workspace, tmp_path)
    mbox = sorted((ws / "exports/zoho_mail").glob("*.mbox"))[0]
    (ws / "exports/zoho_mail/zz-extra.mbox").symlink_to(shutil.copy(mbox, tmp_path / "other.mbox"))
    with pytest.raises(BadInput) as caught:
        resolve(load_workspace(ws), "zoho_mail", "messages").files()
    assert "is outside the workspace: a symlink leads outside it" in caught.value.line()
    assert caught.value.file == "sources.yml"


def test_14_symlink_inside_the_workspace_is_read(demo_workspace, tmp_path):
    ws = demo_copy(demo_workspace, tmp_path)
    (ws / "exports/crm-link").symlink_to(ws / "exports/zoho_crm", target_is_directory=True)
    replace_in(ws / "sources.yml", f"file: {LEADS}", "file: exports/crm-link/Leads.csv")
    assert resolve(load_workspace(ws), "zoho_crm", "leads").files() == [ws / "exports/crm-link/Leads.csv"]


def test_14_absolute_path_is_an_explicit_choice_and_is_read(demo_workspace, tmp_path):
    ws = demo_copy(demo_workspace, tmp_path)
    outside = Path(shutil.copy(ws / LEADS, tmp_path / "Leads.csv"))
    replace_in(ws / "sources.yml", f"file: {LEADS}", f"file: {outside}")
    assert resolve(load_workspace(ws), "zoho_crm", "leads").files() == [outside]


def test_14_notice_file_outside_the_workspace_is_refused_naming_policy_yml(demo_workspace, tmp_path):
    ws = demo_copy(demo_workspace, tmp_path)
    notice = load_workspace(ws).policy.notice.file
    shutil.copy(ws / notice, tmp_path / "notice.md")
    replace_in(ws / "policy.yml", notice, "../notice.md")
    with pytest.raises(BadInput) as caught:
        load_workspace(ws).notice_path
    assert caught.value.line().startswith("policy.yml: notice.file: '../notice.md' is outside the workspace")


def test_14_absolute_glob_works_in_scan_and_in_audit(demo_workspace, tmp_path, capsys):
    """It used to scan fine and then crash the audit after every check had run (Path.glob of an absolute pattern)."""
    from datamap.audit import run_audit
    from datamap.cli import main

    ws = demo_copy(demo_workspace, tmp_path)
    mail = tmp_path / "mail"
    shutil.copytree(ws / "exports/zoho_mail", mail)
    replace_in(ws / "sources.yml", "file: exports/zoho_mail/*.mbox", f"file: {mail}/*.mbox")
    expected = sorted(mail.glob("*.mbox"))
    assert expected and resolve(load_workspace(ws), "zoho_mail", "messages").files() == expected

    assert main(["scan", str(ws)]) in (0, 1)
    assert "Traceback" not in capsys.readouterr().err
    run_audit(ws, tmp_path / "audit", progress=False)
    record = json.loads((tmp_path / "audit" / "run.json").read_text())
    assert {str(p) for p in expected} <= set(record["sha256"]["sources"])


# --- 20. a killed run's temporaries; concurrent runs' comparison ----------------------------------


def _dead_pid() -> int:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_20_stale_data_docs_temporaries_of_a_killed_run_are_swept_at_the_next_run(tmp_path):
    import os
    import time

    from datamap.audit import archive

    out = tmp_path / "audit"
    out.mkdir()
    dead = _dead_pid()
    killed = [out / f".data_docs.{dead}-abcd1234", out / f".data_docs.old-{dead}-.data_docs.{dead}-x"]
    for folder in killed:
        (folder / "expectations").mkdir(parents=True)
    killed_file = out / f".findings.json.{dead}-q1w2e3"
    killed_file.write_text("{}")
    legacy = out / ".data_docs.k3j4h5g6"  # an older version's, without a pid: swept once a day old
    legacy.mkdir()
    old = time.time() - archive.LEGACY_TEMP_AGE - 60
    os.utime(legacy, (old, old))
    live = out / f".data_docs.{os.getpid()}-live0001"  # a run in progress: left alone
    live.mkdir()
    fresh_legacy = out / ".data_docs.zz99yy88"
    fresh_legacy.mkdir()
    kept = [out / ".gitignore", out / "data_docs"]
    kept[0].write_text("*\n")
    kept[1].mkdir()

    archive.new_run_folder(out)  # where every run starts

    assert not any(p.exists() for p in killed + [killed_file, legacy])
    assert live.is_dir() and fresh_legacy.is_dir() and all(p.exists() for p in kept)


def test_20_replace_tree_and_replace_file_name_their_temporaries_with_their_pid(tmp_path, monkeypatch):
    import os
    import tempfile

    from datamap.audit import archive

    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (tmp_path / "findings.json").write_text("[]")
    seen = []
    real_dir, real_file = tempfile.mkdtemp, tempfile.mkstemp
    monkeypatch.setattr(archive.tempfile, "mkdtemp", lambda **kw: seen.append(kw["prefix"]) or real_dir(**kw))
    monkeypatch.setattr(archive.tempfile, "mkstemp", lambda **kw: seen.append(kw["prefix"]) or real_file(**kw))
    archive.replace_tree(src, tmp_path / "data_docs")
    archive.replace_file(tmp_path / "findings.json", tmp_path / "out.json")
    assert seen == [f".data_docs.{os.getpid()}-", f".out.json.{os.getpid()}-"]
    assert all(archive._TEMP.match(p + "abc").group("pid") == str(os.getpid()) for p in seen)


def _fake_run(out: Path, name: str, finished: str | None, findings: list[dict]) -> None:
    folder = out / "runs" / name
    folder.mkdir(parents=True)
    (folder / "findings.json").write_text(json.dumps(findings))
    if finished is not None:
        (folder / "run.json").write_text(json.dumps({"run": name, "started_utc": name, "finished_utc": finished}))


def test_20_comparison_uses_the_latest_run_that_finished_before_this_one_started(tmp_path):
    from datamap.audit import archive

    out = tmp_path / "audit"
    me = "20261203T100000.000000Z"
    _fake_run(out, "20261203T090000.000000Z", "20261203T091000.000000Z", [{"n": "early"}])
    _fake_run(out, "20261203T093000.000000Z", "20261203T095900.000000Z", [{"n": "finished-before"}])
    _fake_run(out, "20261203T094500.000000Z", "20261203T100500.000000Z", [{"n": "still-running"}])
    _fake_run(out, "20261203T100100.000000Z", "20261203T100200.000000Z", [{"n": "started-later"}])
    assert archive.latest_findings(out, started=me) == ("20261203T093000.000000Z", [{"n": "finished-before"}])
    assert archive.latest_findings(out)[0] == "20261203T100100.000000Z"  # without a start: the newest, as before
    assert archive.latest_findings(out, started="20261203T080000.000000Z") == (None, None)


def test_20_audit_comparison_ignores_a_run_that_started_later(demo_workspace, tmp_path, monkeypatch):
    """Two audits side by side: the one that started first must not be compared with the later one."""
    from datamap.audit import archive, run_audit

    ws = demo_copy(demo_workspace, tmp_path)
    out = tmp_path / "audit"
    first = run_audit(ws, out, progress=False)
    real_stamp = archive.run_stamp
    early = "20000101T000000.000000Z"  # this run "started" before the first one finished
    calls = iter([early])
    monkeypatch.setattr(archive, "run_stamp", lambda now=None: next(calls, None) or real_stamp(now))
    second = run_audit(ws, out, progress=False)
    assert first.comparison["previous_run"] is None
    assert second.comparison["previous_run"] is None, "a run that finished after this one started is not its previous"
    third = run_audit(ws, out, progress=False)
    # the third started after both finished: the second finished last, so it is the previous one
    assert third.comparison["previous_run"] == second.run_dir.name == early


# --- 13. a read-only workspace: the audit store elsewhere -----------------------------------------


def _snapshot(folder: Path) -> dict[str, str]:
    """Every entry under a folder with its mode and (for files) sha256: what a run must leave alone."""
    import hashlib

    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        mode = oct(p.lstat().st_mode)
        out[rel] = mode + (":" + hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "")
    return out


def _read_only_tree(folder: Path) -> None:
    for p in sorted(folder.rglob("*"), reverse=True):
        p.chmod(0o555 if p.is_dir() else 0o444)
    folder.chmod(0o555)


def _writable_tree(folder: Path) -> None:
    folder.chmod(0o755)
    for p in folder.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)


def test_13_read_only_workspace_audits_with_store_elsewhere_and_is_left_unchanged(demo_workspace, tmp_path, capsys):
    from datamap.cli import main

    ws = demo_copy(demo_workspace, tmp_path)
    _read_only_tree(ws)
    before = _snapshot(ws)
    try:
        store = str(tmp_path / "store")
        code = main(["audit", str(ws), "--out", str(tmp_path / "audit"), "--store", store, "--no-progress"])
        err = capsys.readouterr().err
        assert code in (0, 1), err
        # the other commands that stage take --store too
        assert main(["subject", str(ws), "--email", "nobody@example.invalid", "--store", store]) == 0, \
            capsys.readouterr().err
        assert main(["inquiry", str(ws), "--topic", "request", "--email", "nobody@example.invalid", "--audit",
                     str(tmp_path / "audit"), "--out", str(tmp_path / "inq"), "--store", store]) == 0, \
            capsys.readouterr().err
        after = _snapshot(ws)
    finally:
        _writable_tree(ws)
    assert "Traceback" not in err
    assert not (ws / ".datamap").exists()
    assert after == before  # no file added, changed or re-moded in the workspace
    assert (tmp_path / "store" / "store.sqlite").is_file()
    record = json.loads((tmp_path / "audit" / "run.json").read_text())
    assert record["sha256"]["store"]


def test_13_store_that_cannot_be_created_is_one_line_and_exit_2(demo_workspace, tmp_path, capsys):
    from datamap.cli import main

    ws = demo_copy(demo_workspace, tmp_path)
    (ws / ".datamap").write_text("not a folder\n")  # as a read-only workspace refuses it, even for root
    code = main(["audit", str(ws), "--out", str(tmp_path / "audit"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {ws / '.datamap'}: the audit store cannot be created here: ")
    assert "--store" in lines[0] and "store: FOLDER in sources.yml" in lines[0]


def test_13_empty_store_option_is_refused(demo_workspace, tmp_path, capsys):
    from datamap.cli import main

    ws = demo_copy(demo_workspace, tmp_path)
    code = main(["audit", str(ws), "--out", str(tmp_path / "audit"), "--store", "", "--no-progress"])
    assert code == 2
    assert "error: --store: an empty path" in capsys.readouterr().err
    assert not (ws / ".datamap").exists()


def test_13_sources_yml_store_setting_puts_the_store_there(demo_workspace, tmp_path):
    from datamap.store import stage

    ws = demo_copy(demo_workspace, tmp_path)
    text = (ws / "sources.yml").read_text(encoding="utf-8")
    (ws / "sources.yml").write_text(text.replace("\ndatasets:", "\nstore: ../elsewhere-store\ndatasets:", 1),
                                    encoding="utf-8")
    workspace = load_workspace(ws)
    assert workspace.sources.store == "../elsewhere-store"
    staged = stage(workspace, collections=[("zoho_crm", "leads")])
    staged.close()
    assert staged.path == ws / "../elsewhere-store/store.sqlite"
    assert (tmp_path / "elsewhere-store" / "store.sqlite").is_file()
    assert not (ws / ".datamap").exists()
    # --store wins over the setting; an absolute setting is taken as written
    assert workspace.with_store(tmp_path / "cli").store_folder == tmp_path / "cli"
    absolute = workspace.sources.model_copy(update={"store": str(tmp_path / "abs")})
    assert load_workspace(ws).__class__(ws, absolute, workspace.policy).store_folder == tmp_path / "abs"
