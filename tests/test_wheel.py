"""A wheel install works: the catalogue, the map policies and every template travel inside it.

The wheel is built from the working tree and installed without its dependencies into a folder of
its own, which comes first on the path: the test's ``datamap`` is then the wheel's, never the
editable checkout (the test asserts so). From there ``datamap demo`` and ``datamap all`` run.
"""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel pip builds from this checkout (in pip's isolated build environment, as a user's would)."""
    import shutil

    # Built from a copy of what the package is made of: setuptools writes into the source's build/
    # folder, and two xdist workers building from the checkout at once collided there
    # ("File exists: ...dist-info", a fresh-clone CI run).
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "datamap", source / "datamap", ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(source)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    (found,) = dist.glob("datamap-*.whl")
    return found


@pytest.fixture(scope="module")
def installed_wheel(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    return target


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = "import sys; from datamap.cli import main; sys.argv[0] = 'datamap'; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_the_wheel_carries_the_catalogue_and_the_templates(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"datamap/checks/{p.name}" for p in (ROOT / "datamap" / "checks").glob("*.yml")}
    shipped |= {f"datamap/templates/{p.name}" for p in (ROOT / "datamap" / "templates").iterdir()}
    assert shipped and shipped <= names, sorted(shipped - names)


@pytest.mark.slow
def test_a_wheel_install_runs_the_demo_audit(installed_wheel: Path, tmp_path: Path):
    where = subprocess.run([sys.executable, "-c", "import datamap; print(datamap.__file__)"], cwd=tmp_path,
                           env={**os.environ, "PYTHONPATH": str(installed_wheel)}, capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(installed_wheel), where.stdout

    demo = _run(installed_wheel, tmp_path, "demo", "--out", "ws", "--subjects", "120", "--seed", "3")
    assert demo.returncode == 0, demo.stderr
    run = _run(installed_wheel, tmp_path, "all", "ws", "--out", "out")
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-2000:]  # the demo's planted findings
    assert "catalogue folder not found" not in run.stderr
    assert (tmp_path / "out" / "audit" / "findings.json").exists()
    assert (tmp_path / "out" / "audit-report.html").exists()
    assert list((tmp_path / "out" / "register").glob("ropa-nl.*"))
