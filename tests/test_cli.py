"""The command line's promises: help at once, and exit codes that never confuse a crash with findings."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from datamap import cli
from datamap.commands import app


def test_help_lists_every_subcommand(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    commands = out[out.index("Commands"):]
    listed = [line.strip("│ ").split()[0] for line in commands.splitlines()[1:] if line.startswith("│ ") and line[2] != " "]
    assert listed == list(cli.COMMANDS)


def test_help_does_not_import_great_expectations_pandas_or_matplotlib():
    code = ("import sys; from datamap import cli; cli._register(); "
            "print(sorted(m for m in ('great_expectations', 'pandas', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_crash_exits_2_not_1_which_means_findings(monkeypatch, capsys):
    @app.command("crash-for-test")
    def crash() -> None:
        raise RuntimeError("boom")

    try:
        assert cli.main(["crash-for-test"]) == 2
        assert "internal error (RuntimeError)" in capsys.readouterr().err
    finally:
        app.registered_commands[:] = [c for c in app.registered_commands if c.name != "crash-for-test"]


def test_an_unknown_subcommand_is_a_usage_error_with_exit_2():
    assert cli.main(["no-such-command"]) == 2


@pytest.mark.parametrize("args, line", [
    (["audit", "/no/such/workspace"], "error: /no/such/workspace: workspace folder not found"),
    (["map", "/no/such/workspace", "summary"], "error: /no/such/workspace: no manifests folder found"),
])
def test_a_missing_workspace_is_one_line_and_exit_2(args, line, capsys):
    assert cli.main(args) == 2
    assert capsys.readouterr().err.strip().splitlines() == [line]


def help_of(args: list[str], capsys) -> str:
    assert cli.main([*args, "--help"]) == 0
    return capsys.readouterr().out


def test_help_shows_on_off_flags_as_flags_not_as_bool_values(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    for args in ([], ["audit"], ["all"], ["subject"], ["demo"]):
        text = help_of(args, capsys)
        assert "<bool>" not in text, args
    assert "--report   " in help_of(["audit"], capsys)


def test_usage_names_the_arguments_in_capitals(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    assert re.search(r" audit \[OPTIONS\] WORKSPACE *$", help_of(["audit"], capsys), re.M)
    assert re.search(r" map \[OPTIONS\] WORKSPACE \[QUERY\] \[ARG\] *$", help_of(["map"], capsys), re.M)
    assert "{workspace}" not in help_of(["scan"], capsys)


@pytest.mark.parametrize("typed, suggested", [
    ("invetory", "'ropa' (the register of processing activities, Art. 30)"),
    ("audti", "'audit'"),
    ("dsar", "'subject'"),
    ("discovery", "'scan'"),
])
def test_a_misspelt_or_guessed_command_gets_a_suggestion_and_exit_2(typed, suggested, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert cli.main([typed]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"No such command '{typed}'. Did you mean {suggested}" in err


def test_a_command_nothing_resembles_lists_the_commands(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert cli.main(["xyzzy"]) == 2
    assert "The commands are demo, map" in " ".join(capsys.readouterr().err.split())
