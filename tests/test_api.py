"""The public API is the one-call entry points of ``datamap/__init__.py``, and its examples run."""
from __future__ import annotations

import doctest
import importlib

import datamap
import datamap.outputs


def test_every_public_name_has_one_home_that_exists():
    for name in datamap.__all__:
        module, attribute = datamap._API[name]
        assert getattr(importlib.import_module(module), attribute) is getattr(datamap, name)


def test_the_walkthrough_in_the_package_docstring_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(datamap, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted >= 10 and result.failed == 0


def test_the_outputs_examples_run():
    result = doctest.testmod(datamap.outputs, verbose=False)
    assert result.attempted >= 5 and result.failed == 0
