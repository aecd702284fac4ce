"""An audited demo: a copy of the shared demo workspace and the folder of one audit run over it.

Session-scoped, so the report, register, inquiry and leak tests share one audit instead of
each running its own.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def audited_demo(demo_workspace, tmp_path_factory) -> tuple[Path, Path]:
    """(workspace, audit folder): staging writes its store into the workspace, so this is a copy."""
    from datamap.audit import run_audit

    base = tmp_path_factory.mktemp("audited-demo")
    ws = Path(shutil.copytree(demo_workspace, base / "ws"))
    run_audit(ws, base / "audit", progress=False)
    return ws, base / "audit"
