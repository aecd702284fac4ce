"""The audit: verify every claim of the privacy notice against the map and the data.

``run_audit(workspace, out_dir)`` loads the catalogue (``checks/P*.yml``), stages the sources,
runs each check with Great Expectations and archives the run; see docs/design.md for the files.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# Great Expectations reads this once, when first imported: no usage analytics leave the machine.
os.environ["GX_ANALYTICS_ENABLED"] = "false"

if TYPE_CHECKING:
    from datamap.audit.run import AuditRun, CheckResult

__all__ = ["run_audit", "AuditRun", "CheckResult", "load_catalogue"]


def __getattr__(name: str) -> Any:
    # Lazy: importing datamap.audit must not pull in Great Expectations.
    if name in ("run_audit", "AuditRun", "CheckResult", "Staged"):
        from datamap.audit import run

        return getattr(run, name)
    if name == "load_catalogue":
        from datamap.audit.catalogue import load_catalogue

        return load_catalogue
    raise AttributeError(name)
