"""The follow-up of an audit run: its findings set beside the action register (``actions.yml``).

Called once at the end of :func:`datamap.audit.run.run_audit`. The tracking is written into the
run folder as ``actions.json`` (beside ``comparison.json``), so the run records what was open,
overdue or reappeared on its reference date. The carried-over register (new findings added as open,
resolved ones marked fixed) is kept beside the run archive, as ``<audit folder>/actions.yml``: the
officer edits owners, due dates and statuses there, and the next run starts from it. The audit never
writes into the workspace (it may be read-only, and it is what the audit judges); an
``actions.yml`` in the workspace only seeds the register of the first run.
"""
from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datamap.actions import ACTIONS_FILE, Tracking, carry_over, load_actions, track, write_actions
from datamap.audit.archive import write_json
from datamap.errors import BadInput


@dataclass(frozen=True)
class Followup:
    """What :func:`follow_up` wrote: the tracking, and the carried-over register (None: not written)."""

    tracking: Tracking | None
    register: Path | None
    problem: str | None = None  # actions.yml could not be read: nothing was tracked


def follow_up(workspace_root: Path, run_folder: Path, out_dir: Path, findings: list[dict[str, Any]],
              previous: list[dict[str, Any]] | None, today: dt.date, run: str) -> Followup:
    """Track ``findings`` against the register, write ``actions.json`` into ``run_folder`` and carry the register over.

    ``today`` is the audit's reference date (an old audit rerun says what was overdue then). A broken
    actions.yml does not cost the audit: nothing is tracked, and the problem is returned as one line.
    """
    kept = Path(out_dir) / ACTIONS_FILE
    try:
        register = load_actions(register_home(workspace_root, out_dir))
    except BadInput as exc:
        print(f"the action register was not updated: {exc}", file=sys.stderr)
        return Followup(None, None, problem=str(exc))
    tracking = track(register, findings, previous, today, run=run)
    write_json(run_folder / "actions.json", tracking.to_dict())
    write_actions(kept, carry_over(register, tracking))
    return Followup(tracking, kept)


def register_home(workspace_root: Path, out_dir: Path) -> Path:
    """The folder whose ``actions.yml`` holds the register: the audit folder's, once a run kept one there,
    else the workspace's (a register the officer wrote before the first run)."""
    return Path(out_dir) if (Path(out_dir) / ACTIONS_FILE).exists() else Path(workspace_root)
