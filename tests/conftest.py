"""Shared fixtures: the demo workspace (fixtures_demo.py), the PostgreSQL server (fixtures_pg.py),
the demo estate's raw personal values for leak tests (fixtures_leak.py), and one audit run over
the demo (fixtures_audit.py)."""
from fixtures_audit import *  # noqa: F401,F403
from fixtures_demo import *  # noqa: F401,F403
from fixtures_leak import *  # noqa: F401,F403
from fixtures_pg import *  # noqa: F401,F403
from fixtures_sources import *  # noqa: F401,F403
