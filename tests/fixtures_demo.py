"""Demo-workspace fixtures (owned by the demo generator's tests).

``demo_workspace``: one small Apora workspace (300 subjects, seed 7) generated once per session.
``make_demo(subjects, seed)``: any other size or seed, generated once per session per pair.
Every test runs with ``DATAMAP_KEY`` set, so no test writes a pseudonym key to the home folder.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

DEMO_SUBJECTS = 300
DEMO_SEED = 7


@pytest.fixture(scope="session", autouse=True)
def pseudonym_key_in_environment() -> None:
    """Give every test a pseudonym key through the environment, never through ~/.config."""
    previous = os.environ.get("DATAMAP_KEY")
    os.environ["DATAMAP_KEY"] = previous or "datamap-test-key-not-secret"
    yield
    if previous is None:
        os.environ.pop("DATAMAP_KEY", None)


@pytest.fixture(scope="session")
def make_demo(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int, int], Path]:
    """Generate a demo workspace per (subjects, seed), once per session; returns its folder."""
    from datamap.demo import generate

    made: dict[tuple[int, int], Path] = {}

    def make(subjects: int = DEMO_SUBJECTS, seed: int = DEMO_SEED) -> Path:
        if (subjects, seed) not in made:
            folder = tmp_path_factory.mktemp(f"demo-{subjects}-{seed}")
            made[(subjects, seed)] = generate(folder, subjects=subjects, seed=seed)
        return made[(subjects, seed)]

    return make


@pytest.fixture(scope="session")
def demo_workspace(make_demo: Callable[[int, int], Path]) -> Path:
    """The shared small demo workspace (300 subjects, seed 7). Read it, never write into it."""
    return make_demo(DEMO_SUBJECTS, DEMO_SEED)
