"""The project declares one set of dependencies, twice: pyproject.toml and environment.yml agree."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", requirement)
    assert match, requirement
    return match.group(1).lower().replace("_", "-"), match.group(3).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = list(data["project"]["dependencies"]) + list(data["project"]["optional-dependencies"]["test"])
    return dict(_split(r) for r in reqs)


def environment_requirements(path: Path = ROOT / "environment.yml") -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    reqs: list[str] = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            reqs.extend(dep["pip"])
        elif not dep.startswith(("python", "pip")) or dep.startswith("python-"):
            reqs.append(dep)
    return dict(_split(r) for r in reqs)


def test_environment_yml_declares_the_same_packages_and_ranges_as_pyproject():
    assert environment_requirements() == pyproject_requirements()


def test_the_split_of_requirements_sees_names_and_ranges():
    assert _split("psycopg[binary]>=3.2,<4") == ("psycopg", ">=3.2,<4")
    assert _split("python-stdnum>=1.20,<3") == ("python-stdnum", ">=1.20,<3")


def test_environment_yml_and_pyproject_disagreeing_is_noticed(tmp_path):
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    env["dependencies"] = [d for d in env["dependencies"] if not (isinstance(d, str) and d.startswith("networkx"))]
    altered = tmp_path / "environment.yml"
    altered.write_text(yaml.safe_dump(env))
    assert "networkx" not in environment_requirements(altered)
    assert environment_requirements(altered) != pyproject_requirements()
