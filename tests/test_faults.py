"""Faults: honest partial results.

One source failing turns exactly its checks to ``not_run`` with the reason, the rest of the audit
completes, and checks.json and the report say which claims could not be verified. An audit killed
part-way (SIGKILL or SIGINT) leaves no half-written run in the archive, and two audits started at
once on the same workspace do not corrupt each other's output.

The audits run as real subprocesses of the CLI. The two concurrent audits are also the runs on
which the missing source is judged, so the expensive part runs once per session.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from reliability_runs import clean_env, datamap_command, locked, shared_root

MISSING = "exports/zoho_desk/Tickets.csv"
# The checks that read Desk tickets: their retention; mail sharing, correction and erasure, which
# look a person up in every collection holding an identity e-mail; and discovery, which scans all.
DESK_TICKETS_CHECKS = ["P03.mail_recipients_approved", "P05.retention.zoho_desk.tickets", "P07.corrections_applied",
                       "P08.erasure_propagated", "P13.discovery_declared"]


def _copy(demo_workspace: Path, target: Path) -> Path:
    shutil.copytree(demo_workspace, target, ignore=shutil.ignore_patterns(".datamap"))
    return target


@pytest.fixture(scope="module")
def concurrent(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two audits started at once on one workspace whose Desk tickets export is missing, one output folder."""
    root = shared_root(tmp_path_factory) / "concurrent"
    with locked(root.with_suffix(".lock")):
        if not (root / "done.json").exists():
            shutil.rmtree(root, ignore_errors=True)
            ws = _copy(demo_workspace, root / "ws")
            (ws / MISSING).unlink()
            env = clean_env(DATAMAP_KEY="fault-tests-key-not-secret")
            procs = []
            for n in (1, 2):
                log = open(root / f"audit{n}.log", "wb")
                procs.append((subprocess.Popen(datamap_command("audit", str(ws), "--out", str(root / "out"), "--no-progress"),
                                               env=env, stdout=log, stderr=subprocess.STDOUT), log))
            codes = []
            for proc, log in procs:
                codes.append(proc.wait(timeout=900))
                log.close()
            (root / "done.json").write_text(json.dumps({"exit_codes": codes}), encoding="utf-8")
    return root


def _runs(out: Path) -> list[Path]:
    return sorted(p for p in (out / "runs").iterdir() if not p.name.startswith("."))


def _checks(run: Path) -> dict[str, dict]:
    return {c["check"]: c for c in json.loads((run / "checks.json").read_text(encoding="utf-8"))}


@pytest.mark.slow
def test_a_missing_source_turns_exactly_its_checks_to_not_run_and_the_rest_completes(concurrent: Path) -> None:
    assert json.loads((concurrent / "done.json").read_text())["exit_codes"] == [2, 2]
    run = _runs(concurrent / "out")[0]
    checks = _checks(run)
    not_run = sorted(k for k, c in checks.items() if c["status"] == "not_run")
    assert not_run == DESK_TICKETS_CHECKS
    for name in not_run:
        assert MISSING in checks[name]["reason"]
    done = [c for c in checks.values() if c["status"] in ("passed", "failed")]
    assert len(done) == len(checks) - len(DESK_TICKETS_CHECKS) and sum(c["findings"] for c in done) > 50
    manifest = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert manifest["exit_code"] == 2 and manifest["checks"]["not_run"] == len(DESK_TICKETS_CHECKS)
    assert manifest["source_status"]["zoho_desk__tickets"].startswith(MISSING)


@pytest.mark.slow
def test_the_report_says_which_claims_could_not_be_verified(concurrent: Path, tmp_path: Path) -> None:
    from datamap.report import write_report

    run = _runs(concurrent / "out")[0]
    os.environ.setdefault("DATAMAP_KEY", "fault-tests-key-not-secret")
    page = write_report(concurrent / "ws", run, tmp_path / "report.html").read_text(encoding="utf-8").replace("<wbr>", "")  # a path may break after its slashes
    assert "not run" in page.lower() or "not_run" in page
    for claim in ("P03", "P05", "P07", "P08", "P13"):
        assert claim in page
    assert MISSING in page


@pytest.mark.slow
def test_two_audits_at_once_each_archive_a_whole_run(concurrent: Path) -> None:
    out = concurrent / "out"
    runs = _runs(out)
    assert len(runs) == 2 and runs[0].name != runs[1].name
    assert [p.name for p in (out / "runs").iterdir() if p.name.startswith(".")] == []  # no temporary folder left
    first, second = (json.loads((r / "findings.json").read_text(encoding="utf-8")) for r in runs)
    assert first == second and len(first) > 50
    assert {k: c["status"] for k, c in _checks(runs[0]).items()} == {k: c["status"] for k, c in _checks(runs[1]).items()}
    assert json.loads((out / "findings.json").read_text(encoding="utf-8")) == first  # the latest copy is whole too
    for run in runs:
        for name in ("findings.json", "checks.json", "run.json", "comparison.json"):
            json.loads((run / name).read_text(encoding="utf-8"))


def _start_then_stop(demo_workspace: Path, root: Path, sig: int) -> tuple[Path, int, str]:
    ws = _copy(demo_workspace, root / "ws")
    out = root / "out"
    log = root / "audit.log"
    with open(log, "wb") as handle:
        proc = subprocess.Popen(datamap_command("audit", str(ws), "--out", str(out), "--no-progress"),
                                env=clean_env(DATAMAP_KEY="fault-tests-key-not-secret"), stdout=handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            if list((out / "runs").glob(".incomplete-*")) if (out / "runs").is_dir() else []:
                break
            time.sleep(0.05)
        # part-way: the run folder exists and is being written; stop it now, not after a guessed pause
        assert proc.poll() is None, "the audit finished before it could be stopped"
        proc.send_signal(sig)
        code = proc.wait(timeout=120)
    return out, code, log.read_text(errors="replace")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_an_audit_stopped_part_way_leaves_no_half_written_run(demo_workspace: Path, tmp_path: Path, sig: int) -> None:
    from datamap.audit.archive import finished_runs

    out, code, log = _start_then_stop(demo_workspace, tmp_path, sig)
    assert code != 0
    assert finished_runs(out) == []
    assert [p.name for p in (out / "runs").iterdir() if not p.name.startswith(".")] == []
    assert not (out / "findings.json").exists() and not (out / "checks.json").exists()
