"""The catalogue of bad inputs (tests/bad_inputs/*.yml): each one breaks a copy of the demo
workspace in one way, runs the real CLI on it, and proves the error is one line naming the file
and the line, row or key, with exit code 2, and that nothing half-made is passed off as complete.

Where the workbench legitimately copes (an encoding or delimiter it detects, a renamed column
mapped in sources.yml), the case says so and proves instead that the data was read correctly.

A case file holds::

    case: what is broken, in a privacy officer's words
    run: [scan, "{ws}"]                 # the CLI's arguments ({ws}, {out}, {pg_host}, {pg_db})
    break:                              # applied in order to the copy (see BREAKS below)
      - replace: {file: policy.yml, old: "organization: apora", new: "organization: [apora"}
    expect:
      exit: 2
      error: "policy.yml: line 4: invalid YAML: ..."   # the one stderr line after "error: "
      stdout_has: ["1 source(s) not read"]             # optional
      no_output: true                                  # optional: --out holds no file at all
      store: {sql: "SELECT ...", rows: [[...]]}        # optional: what the audit store holds
      not_run_reason: "..."                            # optional: an audit whose checks of the
                                                       # broken source did not run, for this reason
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

CASES_DIR = Path(__file__).with_name("bad_inputs")
CASE_FILES = sorted(CASES_DIR.glob("*.yml"))


def load_case(path: Path) -> dict[str, Any]:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(case) <= {"case", "run", "break", "expect", "needs", "env"}, f"{path.name}: unknown keys {set(case)}"
    assert case.get("case") and case.get("run") and case.get("expect"), f"{path.name}: case, run and expect are required"
    return case


# --- how a case breaks its copy of the workspace -----------------------------------------------------


def _text(path: Path) -> tuple[str, str]:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp1252"), "cp1252"


def _replace(ws: Path, file: str, old: str, new: str, count: int = 1) -> None:
    path = ws / file
    text, encoding = _text(path)
    assert text.count(old) >= count, f"{file} does not contain {old!r} (the demo changed: update the case)"
    path.write_text(text.replace(old, new, count), encoding=encoding, newline="")


def _write(ws: Path, file: str, text: str = "", encoding: str = "utf-8") -> None:
    (ws / file).parent.mkdir(parents=True, exist_ok=True)
    (ws / file).write_text(text, encoding=encoding, newline="")


def _delete(ws: Path, file: str) -> None:
    (ws / file).unlink()


def _truncate(ws: Path, file: str, fraction: float) -> None:
    """Cut the file at a fraction of its bytes, mid-line, as an interrupted download leaves it."""
    path = ws / file
    raw = path.read_bytes()
    cut = int(len(raw) * fraction)
    while raw[cut - 1:cut] in (b"\n", b"\r", b'"', b","):  # make sure the cut falls inside a value
        cut -= 1
    path.write_bytes(raw[:cut])


def _reencode(ws: Path, file: str, encoding: str) -> None:
    path = ws / file
    text, _ = _text(path)
    path.write_bytes(text.encode(encoding))


def _rows(path: Path) -> tuple[list[list[str]], str, str]:
    text, encoding = _text(path)
    dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=dialect.delimiter)), encoding, dialect.delimiter


def _save_rows(path: Path, rows: list[list[str]], encoding: str, delimiter: str) -> None:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def _redelimit(ws: Path, file: str, delimiter: str) -> None:
    rows, encoding, _ = _rows(ws / file)
    _save_rows(ws / file, rows, encoding, {"tab": "\t"}.get(delimiter, delimiter))


def _drop_column(ws: Path, file: str, column: str) -> None:
    rows, encoding, delimiter = _rows(ws / file)
    i = rows[0].index(column)
    _save_rows(ws / file, [r[:i] + r[i + 1:] for r in rows], encoding, delimiter)


def _rename_column(ws: Path, file: str, old: str, new: str) -> None:
    rows, encoding, delimiter = _rows(ws / file)
    rows[0][rows[0].index(old)] = new
    _save_rows(ws / file, rows, encoding, delimiter)


def _set_cell(ws: Path, file: str, row: int, column: str, value: str) -> None:
    """Set one cell; ``row`` is the 1-based data row (the header is row 0)."""
    rows, encoding, delimiter = _rows(ws / file)
    rows[row][rows[0].index(column)] = value
    _save_rows(ws / file, rows, encoding, delimiter)


def _duplicate_row(ws: Path, file: str, row: int, at: int) -> None:
    """Copy data row ``row`` so that it is also data row ``at`` (a record exported twice)."""
    rows, encoding, delimiter = _rows(ws / file)
    rows.insert(at, list(rows[row]))
    _save_rows(ws / file, rows, encoding, delimiter)


def _yaml_set(ws: Path, file: str, key: str, value: Any) -> None:
    """Set (or with value ~, delete) a dotted key of a YAML file (comments are lost, as in any re-save)."""
    path = ws / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    *parents, last = key.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is None:
        del node[int(last) if isinstance(node, list) else last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _yaml_rename(ws: Path, file: str, key: str, to: str) -> None:
    """Rename a dotted key of a YAML file in place (a misspelling), keeping its value and position."""
    path = ws / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    *parents, last = key.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    renamed = {(to if k == last else k): v for k, v in node.items()}
    node.clear()
    node.update(renamed)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _append(ws: Path, file: str, text: str) -> None:
    with (ws / file).open("a", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _mbox_header(ws: Path, file: str, message: int, header: str, value: str) -> None:
    """Rewrite one header of the n-th message (1-based) of an mbox."""
    path = ws / file
    text = path.read_text(encoding="utf-8")
    starts = [m.start() for m in re.finditer(r"^From ", text, flags=re.M)]
    begin, end = starts[message - 1], (starts[message] if message < len(starts) else len(text))
    head, sep, body = text[begin:end].partition("\n\n")
    head, n = re.subn(rf"^{re.escape(header)}: .*$", f"{header}: {value}", head, count=1, flags=re.M)
    assert n == 1, f"message {message} of {file} has no {header} header"
    path.write_text(text[:begin] + head + sep + body + text[end:], encoding="utf-8")


def _sqlite(ws: Path, file: str, sql: str) -> None:
    with sqlite3.connect(ws / file) as db:
        db.executescript(sql)
    db.close()

def _pg_sql(ws: Path, sql: str, host: str, database: str) -> None:
    """Run SQL as the superuser on the case's PostgreSQL database (e.g. a role that may not log in)."""
    import psycopg

    with psycopg.connect(host=host, user="postgres", dbname=database, autocommit=True) as conn:
        conn.execute(sql)


BREAKS: dict[str, Callable[..., None]] = {
    "replace": _replace, "write": _write, "delete": _delete, "truncate": _truncate, "reencode": _reencode,
    "redelimit": _redelimit, "drop_column": _drop_column, "rename_column": _rename_column, "set_cell": _set_cell,
    "duplicate_row": _duplicate_row, "yaml_set": _yaml_set, "yaml_rename": _yaml_rename, "append": _append,
    "mbox_header": _mbox_header, "sqlite": _sqlite, "pg_sql": _pg_sql,
}


def apply_break(ws: Path, step: dict[str, Any], values: dict[str, str]) -> None:
    ((op, args),) = step.items()
    if isinstance(args, str):
        args = {"file": args}
    args = {k: fill(v, values) for k, v in args.items()}
    BREAKS[op](ws, **args)


def fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, v in values.items():
            value = value.replace("{" + name + "}", v)
    elif isinstance(value, list):
        return [fill(v, values) for v in value]
    elif isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    return value


# --- running a case ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case_file", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_bad_input_gives_one_line_and_exit_2(case_file: Path, demo_workspace: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from datamap.cli import main

    case = load_case(case_file)
    ws = tmp_path / "ws"
    shutil.copytree(demo_workspace, ws, ignore=shutil.ignore_patterns(".datamap"))
    out = tmp_path / "out"
    values = {"ws": str(ws), "out": str(out), "ws_url": urllib.parse.quote(str(ws), safe=""),
              "latest": latest_possible_date(ws).isoformat()}
    if "postgres" in (case.get("needs") or []):
        values.update(_postgres(request, ws))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name, value in (fill(case.get("env") or {}, values)).items():
        monkeypatch.setenv(name, value)
    for step in case.get("break") or []:
        apply_break(ws, step, values)

    code = main([str(a) for a in fill(case["run"], values)])
    captured = capsys.readouterr()
    expect = fill(case["expect"], values)

    errors = [line[len("error: "):] for line in captured.err.splitlines() if line.startswith("error: ")]
    assert "Traceback" not in captured.err + captured.out
    assert code == expect["exit"], f"exit {code}; stderr: {captured.err[-2000:]}"
    if "error" in expect:
        assert errors == [expect["error"]]
    else:
        assert errors == []
    for text in expect.get("stdout_has") or []:
        assert text in captured.out
    if expect.get("no_output"):
        assert not out.exists() or [p for p in out.rglob("*") if p.is_file()] == []
    if "not_run_reason" in expect:  # the audit ran the rest and says which checks it could not run, and why
        checks = json.loads((out / "checks.json").read_text(encoding="utf-8"))
        not_run = [c for c in checks if c["status"] == "not_run"]
        assert not_run and all(expect["not_run_reason"] in c["reason"] for c in not_run)
        assert json.loads((out / "run.json").read_text(encoding="utf-8"))["exit_code"] == 2
        assert expect["not_run_reason"] in captured.out.replace("\n", "")
    if "store" in expect:
        with sqlite3.connect(ws / ".datamap" / "store.sqlite") as db:
            rows = [list(r) for r in db.execute(expect["store"]["sql"])]
        db.close()
        assert rows == expect["store"]["rows"]


def latest_possible_date(ws: Path) -> dt.date:
    """Today, or the policy's audit date when that is later: no record may be dated after it."""
    as_of = yaml.safe_load((ws / "policy.yml").read_text(encoding="utf-8")).get("as_of")
    return max(dt.date.today(), as_of) if isinstance(as_of, dt.date) else dt.date.today()


def _postgres(request: pytest.FixtureRequest, ws: Path) -> dict[str, str]:
    """Load the copy's portal into a fresh PostgreSQL database; name the server's socket and the database."""
    from fixtures_pg import portal_to_postgres

    server = request.getfixturevalue("pg_server")
    database = portal_to_postgres(server, ws / "portal" / "portal.db")
    return {"pg_host": str(server.socket_dir), "pg_host_url": urllib.parse.quote(str(server.socket_dir), safe=""),
            "pg_db": database}



def test_the_catalogue_holds_at_least_thirty_bad_inputs() -> None:
    cases = [load_case(p) for p in CASE_FILES]
    assert len(cases) >= 30
    assert len({c["case"] for c in cases}) == len(cases)
