"""An archived audit run is reused only while it is of the workspace as it is now (``current_run``).

The notebooks and the evidence packs reuse the latest run instead of auditing again; a run whose
inputs have changed since must not be cited, so these tests change one source file's bytes.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from datamap.audit.archive import run_folders
from datamap.workbench import current_or_new_run, current_run
from datamap.store import sha256_file

SOURCE = "exports/zoho_crm/Users.csv"


@pytest.fixture(scope="module")
def audited_copy(demo_workspace, tmp_path_factory) -> tuple[Path, Path, Path]:
    """(workspace, audit folder, run folder): a private copy, audited once; the tests here only read it."""
    from datamap.audit import run_audit

    base = tmp_path_factory.mktemp("reuse")
    ws = Path(shutil.copytree(demo_workspace, base / "ws"))
    run = run_audit(ws, base / "audit", progress=False)
    return ws, base / "audit", run.run_dir


@pytest.fixture
def own_audited_copy(demo_workspace, tmp_path) -> tuple[Path, Path, Path]:
    """Like ``audited_copy`` but for one test that changes the workspace."""
    from datamap.audit import run_audit

    ws = Path(shutil.copytree(demo_workspace, tmp_path / "ws"))
    run = run_audit(ws, tmp_path / "audit", progress=False)
    return ws, tmp_path / "audit", run.run_dir


def test_the_latest_run_is_current_while_nothing_changed(audited_copy):
    ws, audit, run_dir = audited_copy
    found = current_run(ws, audit)
    assert found is not None
    assert found.folder == run_dir
    assert found.meta["sha256"]["sources"][SOURCE] == sha256_file(ws / SOURCE)


def test_evidence_for_an_unchanged_workspace_cites_the_run_there_without_auditing_again(audited_copy):
    ws, audit, run_dir = audited_copy
    assert current_or_new_run(ws, audit).folder == run_dir
    assert run_folders(audit) == [run_dir]


def test_no_run_is_current_in_an_empty_or_missing_audit_folder(demo_workspace, tmp_path):
    assert current_run(demo_workspace, tmp_path / "nothing-here") is None
    (tmp_path / "empty").mkdir()
    assert current_run(demo_workspace, tmp_path / "empty") is None


def test_a_run_of_another_workspace_folder_is_not_current(audited_copy, demo_workspace):
    _ws, audit, _run_dir = audited_copy
    assert current_run(demo_workspace, audit) is None  # same bytes, but the run judged the copy


def test_a_run_made_with_another_pseudonym_key_is_not_current(audited_copy, monkeypatch):
    ws, audit, run_dir = audited_copy
    assert current_run(ws, audit).folder == run_dir
    monkeypatch.setenv("DATAMAP_KEY", "another-key-so-other-pseudonyms")
    assert current_run(ws, audit) is None  # its findings name people by pseudonyms no other output uses now


@pytest.mark.slow
def test_after_one_source_changes_the_run_is_stale_and_evidence_comes_from_a_new_audit(own_audited_copy):
    ws, audit, old_run = own_audited_copy
    assert current_run(ws, audit).folder == old_run

    source = ws / SOURCE
    source.write_bytes(source.read_bytes() + b"\n")  # one trailing blank line: the same rows, other bytes
    assert current_run(ws, audit) is None

    cited = current_or_new_run(ws, audit).folder
    assert cited != old_run
    assert run_folders(audit) == [old_run, cited]
    recorded = json.loads((cited / "run.json").read_text(encoding="utf-8"))["sha256"]["sources"][SOURCE]
    assert recorded == sha256_file(source)
    assert current_run(ws, audit).folder == cited
    assert current_or_new_run(ws, audit).folder == cited  # and no third audit


def test_a_source_file_added_under_a_glob_makes_the_run_stale(own_audited_copy):
    ws, audit, old_run = own_audited_copy
    assert current_run(ws, audit).folder == old_run
    mailboxes = sorted((ws / "exports" / "zoho_mail").glob("*.mbox"))
    shutil.copyfile(mailboxes[0], mailboxes[0].with_name("archive.mbox"))  # sources.yml reads exports/zoho_mail/*.mbox
    assert current_run(ws, audit) is None
