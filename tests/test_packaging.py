"""One set of dependencies, declared three times, in agreement.

pyproject.toml holds the ranges a library user installs within; requirements.lock (made by
``uv pip compile``) the exact version of every package that ``make install`` and CI install;
environment.yml the same exact versions for conda users.
"""
from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK_COMMAND = "uv pip compile pyproject.toml --extra test --universal --python-version 3.11 -o requirements.lock"


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", requirement)
    assert match, requirement
    return _name(match.group(1)), match.group(3).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = list(data["project"]["dependencies"]) + list(data["project"]["optional-dependencies"]["test"])
    return dict(_split(r) for r in reqs)


def environment(path: Path = ROOT / "environment.yml") -> tuple[list[str], list[str]]:
    """(conda's own dependencies, the lines of its pip section)."""
    env = yaml.safe_load(path.read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [line for d in env["dependencies"] if isinstance(d, dict) for line in d["pip"]]
    return conda, pip


def environment_requirements(path: Path = ROOT / "environment.yml") -> dict[str, str]:
    return dict(_split(r) for r in environment(path)[1] if not r.startswith("-"))


def environment_python(path: Path = ROOT / "environment.yml") -> str:
    return next(d.split("=", 1)[1] for d in environment(path)[0] if d.startswith("python="))


def lock_pins(path: Path = ROOT / "requirements.lock", python: str | None = None) -> dict[str, str]:
    """Name -> version for this platform, and for Python ``python`` (default: the running one)."""
    given = {"python_version": python, "python_full_version": f"{python}.0"} if python else {}
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        requirement, _, marker = line.split("#", 1)[0].partition(";")
        if not requirement.strip() or line.startswith(" "):
            continue
        if marker.strip() and not Marker(marker.strip()).evaluate(given):
            continue
        name, sep, version = requirement.strip().partition("==")
        assert sep, f"requirements.lock: {line!r} is not pinned with =="
        assert _name(name) not in pins, f"requirements.lock pins {name} twice for this platform"
        pins[_name(name)] = version
    return pins


def disagreements(env: dict[str, str], lock: dict[str, str], declared: dict[str, str]) -> list[str]:
    """What keeps environment.yml, the lock and pyproject.toml from being one set, in words."""
    out = [f"{n}: in pyproject.toml, not in environment.yml" for n in sorted(set(declared) - set(env))]
    out += [f"{n}: in environment.yml, not in pyproject.toml" for n in sorted(set(env) - set(declared))]
    for name, spec in sorted(declared.items()):
        if name not in lock:
            out.append(f"{name}: in pyproject.toml, not in requirements.lock")
        elif Version(lock[name]) not in SpecifierSet(spec):
            out.append(f"{name}: requirements.lock pins {lock[name]}, outside pyproject.toml's {spec}")
        if name in env and name in lock and env[name] != f"=={lock[name]}":
            out.append(f"{name}: environment.yml says {env[name]}, requirements.lock =={lock[name]}")
    return out


def test_the_split_of_requirements_sees_names_and_ranges():
    assert _split("psycopg[binary]>=3.2,<4") == ("psycopg", ">=3.2,<4")
    assert _split("python-stdnum>=1.20,<3") == ("python-stdnum", ">=1.20,<3")
    assert _split("Great_Expectations==1.24.1") == ("great-expectations", "==1.24.1")


def test_the_lock_pins_every_declared_package_inside_its_range_and_environment_yml_the_same_versions():
    assert disagreements(environment_requirements(), lock_pins(python=environment_python()), pyproject_requirements()) == []


def test_the_lock_holds_the_recent_additions_and_every_package_they_need():
    pins = lock_pins()
    assert {"pypdf", "snowballstemmer", "great-expectations", "fideslang", "psycopg", "psycopg-binary"} <= set(pins)
    assert len(pins) > len(pyproject_requirements())  # dependencies of dependencies too: the whole set


def test_the_lock_says_how_it_was_made_and_environment_yml_installs_with_it():
    assert LOCK_COMMAND in (ROOT / "requirements.lock").read_text()
    assert "-c requirements.lock" in environment()[1]
    assert environment_python() == re.search(r"--python-version (\S+)", LOCK_COMMAND).group(1)
    assert set(environment()[0]) == {f"python={environment_python()}", "pip"}  # every package comes from pip, pinned


def test_the_makefile_installs_with_the_lock_as_constraints():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet -c requirements.lock -e '.[test]'" in makefile
    assert re.search(r"^\$\(BIN\)/datamap: .*requirements\.lock", makefile, re.M)  # a new lock reinstalls


@pytest.mark.parametrize("change", ["another version", "a package dropped", "a pin outside the range", "lock without it"])
def test_environment_yml_the_lock_and_pyproject_disagreeing_is_noticed(change):
    env, lock, declared = environment_requirements(), lock_pins(python=environment_python()), pyproject_requirements()
    if change == "another version":
        env["networkx"] = "==3.2"
        expected = [f"networkx: environment.yml says ==3.2, requirements.lock =={lock['networkx']}"]
    elif change == "a package dropped":
        del env["networkx"]
        expected = ["networkx: in pyproject.toml, not in environment.yml"]
    elif change == "a pin outside the range":
        lock["networkx"], env["networkx"] = "4.0", "==4.0"
        expected = [f"networkx: requirements.lock pins 4.0, outside pyproject.toml's {declared['networkx']}"]
    else:
        del lock["pypdf"]
        expected = ["pypdf: in pyproject.toml, not in requirements.lock"]
    assert disagreements(env, lock, declared) == expected


def test_a_lock_line_without_an_exact_pin_is_refused(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("networkx>=3.2\n")
    with pytest.raises(AssertionError, match="not pinned"):
        lock_pins(lock)


def test_this_environment_holds_exactly_the_locked_versions():
    """What `make install` promises a fresh clone: pip installs with the lock as constraints."""
    wrong = {}
    for name, version in lock_pins().items():
        try:
            found = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found = None
        if found != version:
            wrong[name] = (version, found)
    assert wrong == {}, "run `make install` (it installs with requirements.lock as constraints)"


def test_datamap_says_the_version_pyproject_declares():
    import datamap

    assert datamap.__version__ == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
