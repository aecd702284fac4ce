"""Shared fixtures: the demo workspace (fixtures_demo.py) and the PostgreSQL server (fixtures_pg.py)."""
from fixtures_demo import *  # noqa: F401,F403
from fixtures_pg import *  # noqa: F401,F403
