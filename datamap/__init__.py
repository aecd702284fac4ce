"""datamap: a GDPR audit and data-mapping workbench.

These are the one-call entry points the notebooks and the commands use; everything else is an
implementation detail of a room (``datamap.map``, ``datamap.sources``, ``datamap.audit``, ...,
``docs/design.md`` draws them). The names load on first use (PEP 562), so ``datamap --help`` does
not pay for pydantic, pandas or Great Expectations.

A whole audit of a small demo workspace, step by step (each step is also a command):

>>> import os, tempfile
>>> from pathlib import Path
>>> import datamap
>>> _ = os.environ.setdefault("DATAMAP_KEY", "an-example-key-of-sixteen-bytes")  # the pseudonym key
>>> folder = Path(tempfile.mkdtemp())
>>> ws = datamap.load_workspace(datamap.generate_demo(folder / "ws", subjects=100, seed=3))
>>> dm = datamap.load_map(ws)                          # the fideslang manifests, validated
>>> dm.systems["zoho_books"].name, dm.systems["zoho_books"].system_type
('Zoho Books', 'Application')
>>> run = datamap.run_audit(ws, folder / "audit", progress=False)   # every claim of the notice
>>> run.exit_code                                      # 0 no findings, 1 findings, 2 not run
1
>>> path, register = datamap.write_register(ws, folder / "out", "xlsx", "nl", folder / "audit")
>>> path.name
'ropa-nl.xlsx'
>>> datamap.current_or_new_run(ws, folder / "audit").folder == run.run_dir   # evidence reuses the run
True
>>> import shutil; shutil.rmtree(folder)              # the demo holds (made-up) personal data: leave none behind
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datamap.audit.archive import ArchivedRun
    from datamap.audit.run import AuditRun, run_audit
    from datamap.demo.generator import generate as generate_demo
    from datamap.discovery import scan
    from datamap.errors import BadInput
    from datamap.inquiry import Question
    from datamap.map import DataMap, load_map
    from datamap.register.ropa import write_register
    from datamap.report import write_report
    from datamap.store import stage
    from datamap.workbench import current_or_new_run, inquiry_pack, run_everything
    from datamap.workspace import Workspace, load_workspace

__version__ = "0.1.0"

# name -> (module, attribute): the public API, one home each
_API = {
    "BadInput": ("datamap.errors", "BadInput"),
    "Workspace": ("datamap.workspace", "Workspace"),
    "load_workspace": ("datamap.workspace", "load_workspace"),
    "generate_demo": ("datamap.demo.generator", "generate"),
    "DataMap": ("datamap.map", "DataMap"),
    "load_map": ("datamap.map", "load_map"),
    "stage": ("datamap.store", "stage"),
    "scan": ("datamap.discovery", "scan"),
    "AuditRun": ("datamap.audit.run", "AuditRun"),
    "run_audit": ("datamap.audit.run", "run_audit"),
    "ArchivedRun": ("datamap.audit.archive", "ArchivedRun"),
    "current_or_new_run": ("datamap.workbench", "current_or_new_run"),
    "run_everything": ("datamap.workbench", "run_everything"),
    "write_register": ("datamap.register.ropa", "write_register"),
    "write_report": ("datamap.report", "write_report"),
    "Question": ("datamap.inquiry", "Question"),
    "inquiry_pack": ("datamap.workbench", "inquiry_pack"),
}
__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'datamap' has no attribute {name!r}")
    module, attribute = _API[name]
    return getattr(importlib.import_module(module), attribute)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
