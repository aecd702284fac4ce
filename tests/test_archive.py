"""The run archive holds whole runs only: a killed run's temporary folder is swept by the next run."""
from __future__ import annotations

import os
import subprocess
import sys

from datamap.audit.archive import INCOMPLETE, new_run_folder, sweep_abandoned


def test_the_folder_of_a_killed_run_is_swept_and_a_live_ones_is_kept(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = runs / f"{INCOMPLETE}{dead.stdout.strip()}-abc"
    killed.mkdir()
    (killed / "findings.json").write_text("[]")
    live = runs / f"{INCOMPLETE}{os.getpid()}-def"
    live.mkdir()
    assert sweep_abandoned(runs) == [killed]
    assert not killed.exists() and live.exists()


def test_a_new_run_folder_names_its_writer_and_sweeps_first(tmp_path):
    (tmp_path / "runs").mkdir()
    folder = new_run_folder(tmp_path)
    assert folder.name.startswith(f"{INCOMPLETE}{os.getpid()}-")
