"""The software that checked: datamap's version and the versions of the libraries that decide a finding.

An audit run is evidence, and a regulator or a later auditor may ask to reproduce it. The same
workspace audited next quarter may be checked by other code, so every run records ``software()``
in ``run.json`` (and ``installed()``, every distribution in the environment), the comparison with
the previous run names what changed (``changed``), and ``constraints`` turns a run's record back
into a pip constraints file that re-creates its environment (docs/reproduce.md).

>>> software()["sqlite"]  # doctest: +SKIP
'3.40.1'
>>> changed({"pandas": "2.2.3"}, {"pandas": "3.0.0"})
{'pandas': ['2.2.3', '3.0.0']}
"""
from __future__ import annotations

import functools
import importlib.metadata
import json
import platform
import re
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import datamap
from datamap.errors import BadInput

# Each library whose version can change a finding or a rendered document, and what it decides.
DECIDING: dict[str, str] = {
    "great-expectations": "runs the checks",
    "sqlalchemy": "reads SQL sources and the audit store",
    "psycopg": "reads PostgreSQL sources",
    "pandas": "reads the exports",
    "numpy": "pandas' numbers",
    "openpyxl": "reads XLSX exports, writes the register",
    "fideslang": "the data map's models and taxonomy",
    "pydantic": "validates the workspace files",
    "pyyaml": "reads the workspace and the check catalogue",
    "networkx": "the map's queries",
    "python-stdnum": "IBAN, BSN, KvK and BTW checksums",
    "phonenumbers": "phone numbers to E.164",
    "python-dateutil": "retention periods and dates",
    "rapidfuzz": "fuzzy name matching",
    "snowballstemmer": "the notice lint's word stems",
    "jinja2": "the HTML reports",
    "matplotlib": "the figures",
}
# What is not a library: named in ``software()`` but never in a constraints file.
ENVIRONMENT = ("datamap", "datamap_commit", "python", "platform", "sqlite", "chromium")
# Installers, not software that checks: pinning them would fight the build of datamap itself.
NOT_PINNED = {"datamap", "pip", "setuptools", "wheel", "uv"}


def normalise(name: str) -> str:
    """A distribution's name as PyPI compares it (PEP 503): ``Great_Expectations`` -> ``great-expectations``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def package_version(name: str) -> str | None:
    """The installed version of a distribution, None when it is not installed."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=1)
def source_commit() -> str | None:
    """The git commit datamap's code was loaded from, ``+modified`` when its files differ; None outside a checkout.

    Asked once per process: it describes the code this process runs, which a later edit does not change.
    """
    root = Path(datamap.__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "datamap"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = head.stdout.strip()
    if head.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40}", commit):
        return None
    return commit + ("+modified" if dirty.returncode == 0 and dirty.stdout.strip() else "")


def software(chromium: str | None = None) -> dict[str, str | None]:
    """datamap, Python, the platform, SQLite and every deciding library, with versions; ``chromium`` when a PDF is made.

    A library that is not installed has the version None (psycopg, for a company without PostgreSQL).
    """
    out: dict[str, str | None] = {"datamap": datamap.__version__}
    commit = source_commit()
    if commit:
        out["datamap_commit"] = commit
    out.update({"python": platform.python_version(), "platform": platform.platform(), "sqlite": sqlite3.sqlite_version})
    out.update({name: package_version(name) for name in DECIDING})
    if chromium:
        out["chromium"] = chromium
    return out


def as_text(record: dict[str, Any]) -> str:
    """A record of software as ``name  version`` lines (``datamap --version``); ``not installed`` for None."""
    width = max(map(len, record), default=0)
    return "\n".join(f"{name:<{width}}  {version or 'not installed'}" for name, version in record.items()) + "\n"


def installed() -> dict[str, str]:
    """Every distribution in this environment and its version, by normalised name (datamap and installers aside)."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = normalise(dist.metadata["Name"] or "")
        if name and name not in NOT_PINNED:
            found.setdefault(name, dist.version)
    return dict(sorted(found.items()))


def changed(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, list[Any]] | None:
    """What differs between two records of software, as ``{name: [before, after]}``; None when ``before`` is unknown.

    A run archived before datamap recorded its software has no record: "unknown" is not "unchanged".
    """
    if not isinstance(before, dict):
        return None
    return {name: [before.get(name), after.get(name)] for name in sorted(set(before) | set(after))
            if before.get(name) != after.get(name)}


def describe(changes: dict[str, list[Any]]) -> str:
    """``great-expectations 1.5.3 -> 1.6.0, python 3.11.7 -> 3.12.1`` (``none`` for what was not installed)."""
    return ", ".join(f"{name} {old or 'none'} -> {new or 'none'}" for name, (old, new) in changes.items())


def run_record(run_dir: str | Path) -> dict[str, Any]:
    """The ``run.json`` of an archived run folder."""
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        raise BadInput(str(run_dir), None, "not an audit run folder: no run.json", "give a folder under <audit>/runs/")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadInput(str(path), f"line {exc.lineno}", f"invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise BadInput(str(path), None, "not a run record: expected a JSON object")
    return data


def constraints(record: dict[str, Any]) -> str:
    """A pip constraints file with the versions an archived run recorded (its ``run.json``), to re-run it exactly.

    Every installed distribution is pinned when the run recorded them (``installed``); a run that
    recorded only ``software`` pins the deciding libraries, and says so.
    """
    soft = record.get("software")
    if not isinstance(soft, dict):
        raise BadInput("run.json", "software", "this run did not record its software (it was made before datamap did)",
                       "re-run it with the requirements.lock of the datamap version of its day")
    pins = record.get("installed") if isinstance(record.get("installed"), dict) else None
    commit = f", git commit {soft['datamap_commit']}" if soft.get("datamap_commit") else ""
    lines = [f"# The software of audit run {record.get('run', '?')} (as of {record.get('as_of', '?')}), from its run.json.",
             f"# python {soft.get('python')} on {soft.get('platform')}; SQLite {soft.get('sqlite')}",
             f"# datamap {soft.get('datamap')}{commit}",
             "# Re-run it as docs/reproduce.md says: pip install -c THIS_FILE -e '.[test]'"]
    if pins is None:
        lines.append("# Only the deciding libraries were recorded: their dependencies are not pinned.")
        pins = {normalise(k): v for k, v in soft.items() if k not in ENVIRONMENT and v}
    for name, version in sorted(pins.items()):
        if normalise(name) not in NOT_PINNED:
            lines.append(f"{normalise(name)}=={version}")
    return "\n".join(lines) + "\n"
