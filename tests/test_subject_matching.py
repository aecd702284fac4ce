"""The subject search finds exactly the hand-checked records and candidates of each matching case.

The cases (tests/subject_matching/cases.yml) are people chosen by hand from the demo estate at
10,000 subjects (seed 42); this module runs them at that size. ``python -m benchmarks.matching``
runs the same file at 100,000.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Iterator

import pytest

from benchmarks.matching import differences, found, load_cases
from datamap import subject
from datamap.demo import generate
from datamap.store import open_read_only, stage
from datamap.workspace import load_workspace

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("subject_matching")]

SUBJECTS = 10_000
SEED = 42
Estate = tuple[sqlite3.Connection, subject.MapView, tuple[str, ...]]
CASES: list[dict[str, Any]] = load_cases()


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    """The 10,000-subject demo estate, staged once: the read-only store, its map and the company's domains."""
    folder = generate(tmp_path_factory.mktemp("matching") / "demo", subjects=SUBJECTS, seed=SEED)
    ws = load_workspace(folder)
    staged = stage(ws, path=folder.parent / "store.sqlite")
    staged.close()
    con = open_read_only(staged.path)
    yield con, subject.read_map(ws), tuple(ws.policy.recipients.own_domains)
    con.close()


@pytest.mark.parametrize("case", [c for c in CASES if SUBJECTS in c["expected"]], ids=lambda c: c["id"])
def test_find_returns_the_expected_records(estate: Estate, case: dict[str, Any]) -> None:
    diff = differences(case["expected"][SUBJECTS], found(*estate, case["request"]))
    assert not (diff["missing"] or diff["unexpected"]), (
        f"{case['id']} ({case['why']})\nmissing: {diff['missing'][:10]}\nunexpected: {diff['unexpected'][:10]}")


def test_cases_cover_enough_people_and_both_sizes() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(CASES) >= 50
    assert sum(1 for c in CASES if c["request"].get("name")) >= 15
    for case in CASES:
        assert case["why"].strip(), case["id"]
        assert 100_000 in case["expected"] or case.get("only_10k"), f"{case['id']}: no 100000 expectations and no only_10k reason"
        for size, expected in case["expected"].items():
            for part in ("subject", "candidates"):
                if isinstance(expected[part], list):
                    assert expected[part] == sorted(set(expected[part])), f"{case['id']} {size} {part}: not sorted or repeated"
