"""The demo's outputs are the same before and after a change that should not alter them.

A refactor (issue 15) or a speed-up must leave the audit's findings, its check states and the
register exactly as they were. This test compares one audit of the shared demo (300 subjects,
seed 7, the test key) with the copies in ``tests/golden/``. Only what changes from run to run by
nature is blanked: the run id, the time of writing, and the seconds a check took.

When a change *means* to alter an output, regenerate the copies and commit them with the change,
so the diff shows the reader what changed::

    DATAMAP_UPDATE_GOLDEN=ropa-en.md,ropa-nl.md .venv/bin/python -m pytest tests/test_outputs_unchanged.py

(``DATAMAP_UPDATE_GOLDEN=all``, or ``1``, rewrites the four, or those ``-k`` selects.)
"""
from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"
RUN_ID = re.compile(r"\d{8}T\d{6}\.\d{6}Z")
WRITTEN_AT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")


def _normal_text(text: str) -> str:
    return WRITTEN_AT.sub("<written at>", RUN_ID.sub("<run id>", text))


def _checks(path: Path) -> str:
    checks = json.loads(path.read_text(encoding="utf-8"))
    for check in checks:
        check.pop("seconds", None)
    return json.dumps(checks, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def _findings(path: Path) -> str:
    return json.dumps(json.loads(path.read_text(encoding="utf-8")), indent=1, ensure_ascii=False, sort_keys=True) + "\n"


@pytest.fixture(scope="module")
def outputs(audited_demo, tmp_path_factory) -> dict[str, str]:
    from datamap.register.ropa import write_register

    ws, audit = audited_demo
    out = tmp_path_factory.mktemp("golden-register")
    texts = {"findings.json": _findings(audit / "findings.json"), "checks.json": _checks(audit / "checks.json")}
    for lang in ("en", "nl"):
        path, _ = write_register(ws, out, "md", lang, audit)
        texts[path.name] = _normal_text(path.read_text(encoding="utf-8"))
    return texts


@pytest.mark.parametrize("name", ["findings.json", "checks.json", "ropa-en.md", "ropa-nl.md"])
def test_the_demo_output_is_unchanged(outputs: dict[str, str], name: str) -> None:
    golden = GOLDEN / name
    update = os.environ.get("DATAMAP_UPDATE_GOLDEN", "").split(",")
    if name in update or {"1", "all"} & set(update):
        golden.write_text(outputs[name], encoding="utf-8")
    expected = golden.read_text(encoding="utf-8")
    diff = list(difflib.unified_diff(expected.splitlines(), outputs[name].splitlines(), "golden/" + name, "now", lineterm="", n=1))
    assert not diff, f"{name} changed ({len(diff)} diff lines); the first:\n" + "\n".join(diff[:60])
