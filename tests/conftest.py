"""Shared fixtures: the demo workspace (fixtures_demo.py), the PostgreSQL server (fixtures_pg.py),
the demo estate's raw personal values for leak tests (fixtures_leak.py), and one audit run over
the demo (fixtures_audit.py)."""
import os

from hypothesis import settings

# CI replays the same bounded examples on every run (a new failure there would cost minutes of
# shrinking and make CI flaky); developers' runs explore new random examples each time.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

from fixtures_audit import *  # noqa: F401,F403
from fixtures_demo import *  # noqa: F401,F403
from fixtures_leak import *  # noqa: F401,F403
from fixtures_pg import *  # noqa: F401,F403
from fixtures_sources import *  # noqa: F401,F403
