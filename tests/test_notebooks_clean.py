"""Notebooks are committed without outputs: outputs can carry personal data."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tracked_notebooks() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True)
    listed = [ROOT / line for line in out.stdout.splitlines() if line]
    return listed or sorted((ROOT / "notebooks").glob("*.ipynb"))


def has_outputs(path: Path) -> bool:
    nb = json.loads(path.read_text())
    return any(c.get("outputs") or c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code")


def test_every_notebook_is_committed_without_outputs():
    dirty = [p.name for p in tracked_notebooks() if has_outputs(p)]
    assert dirty == []


def test_a_notebook_with_an_output_is_caught(tmp_path):
    nb = {"cells": [{"cell_type": "code", "execution_count": 1, "outputs": [{"output_type": "stream", "text": "x"}],
                      "source": "1", "metadata": {}}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb))
    assert has_outputs(path)
