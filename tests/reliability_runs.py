"""Full runs of the workbench that several reliability tests judge (security, leaks, network).

A full ``datamap all`` takes tens of seconds, so it runs once per test session and is shared:
the first xdist worker that asks runs it under a file lock, the others wait and read its outputs.

The hardened run is ``make audit``'s command on a copy of the demo workspace, run in a subprocess
- with SQL in policy.yml's approved domains and addresses (it must be treated as data),
- with no ``DATAMAP_KEY``: the pseudonym key is created as a file under its own config folder,
- in a network namespace of its own when the tests run as root (``unshare -n``), and always with
  ``socket`` patched by a ``sitecustomize`` that records and refuses any non-unix connection.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import yaml

INJECTED_DOMAIN = "x'); DROP TABLE zoho_crm__leads; --"
INJECTED_ADDRESS = "a@b.nl'; DELETE FROM params; --"
RUN_TIMEOUT = 900

SITECUSTOMIZE = r'''
"""Record and refuse every network connection of this process (unix sockets are local files)."""
import os
import socket

_LOG = os.environ["DATAMAP_NET_LOG"]
open(_LOG + ".loaded", "w").close()  # proves the guard was in place (an empty log alone proves nothing)


def _refuse(what):
    with open(_LOG, "a", encoding="utf-8") as handle:
        handle.write(what + "\n")
    raise OSError(f"network blocked by the test: {what}")


_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def connect(self, address):
    if self.family == getattr(socket, "AF_UNIX", None):
        return _connect(self, address)
    _refuse(f"connect {address!r}")


def connect_ex(self, address):
    if self.family == getattr(socket, "AF_UNIX", None):
        return _connect_ex(self, address)
    _refuse(f"connect_ex {address!r}")


def getaddrinfo(host, *args, **kwargs):
    _refuse(f"getaddrinfo {host!r}")


socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = getaddrinfo
socket.gethostbyname = lambda host: _refuse(f"gethostbyname {host!r}")
'''


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this session sees (and no other session)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    root = base / "datamap-reliability"
    root.mkdir(exist_ok=True)
    return root


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file under a folder (the workbench's own store folder aside)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and ".datamap" not in p.relative_to(folder).parts}


def output_files(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*") if p.is_file())


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without the pseudonym key settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATAMAP_KEY", "DATAMAP_KEY_FILE")}
    env.update(extra)
    return env


def datamap_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "datamap.cli", *args]


@dataclass(frozen=True)
class HardenedRun:
    root: Path

    @property
    def workspace(self) -> Path:
        return self.root / "ws"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def net_log(self) -> Path:
        return self.root / "net.log"

    @property
    def result(self) -> dict:
        return json.loads((self.root / "done.json").read_text(encoding="utf-8"))


def hardened_run(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> HardenedRun:
    """Run ``datamap all`` once per session on the hardened copy (see the module docstring)."""
    run = HardenedRun(shared_root(tmp_path_factory) / "hardened")
    with locked(run.root.with_suffix(".lock")):
        if not (run.root / "done.json").exists():
            _run_hardened(run, demo_workspace)
    return run


def _run_hardened(run: HardenedRun, demo_workspace: Path) -> None:
    shutil.rmtree(run.root, ignore_errors=True)
    shutil.copytree(demo_workspace, run.workspace, ignore=shutil.ignore_patterns(".datamap"))
    policy_file = run.workspace / "policy.yml"
    policy = yaml.safe_load(policy_file.read_text(encoding="utf-8"))
    policy["recipients"]["approved_domains"].append(INJECTED_DOMAIN)
    policy["recipients"]["approved_addresses"].append(INJECTED_ADDRESS)
    policy_file.write_text(yaml.safe_dump(policy, sort_keys=False, allow_unicode=True), encoding="utf-8")
    before = checksums(run.workspace)

    blocker = run.root / "netblock"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    run.net_log.write_text("", encoding="utf-8")
    run.logs.mkdir()
    env = clean_env(XDG_CONFIG_HOME=str(run.config), DATAMAP_NET_LOG=str(run.net_log),
                    PYTHONPATH=os.pathsep.join([str(blocker), env_path()]))
    command = datamap_command("all", str(run.workspace), "--out", str(run.out), "--no-progress")
    namespace = os.geteuid() == 0 and shutil.which("unshare") is not None
    if namespace:
        command = ["unshare", "-n", *command]
    with open(run.logs / "stdout.txt", "wb") as out, open(run.logs / "stderr.txt", "wb") as err:
        code = subprocess.run(command, env=env, stdout=out, stderr=err, timeout=RUN_TIMEOUT, cwd=run.root).returncode
    after = checksums(run.workspace)
    (run.root / "done.json").write_text(json.dumps(
        {"exit_code": code, "namespace": namespace, "before": before, "after": after}), encoding="utf-8")


def env_path() -> str:
    """The test process's PYTHONPATH (may be empty)."""
    return os.environ.get("PYTHONPATH", "")
