"""Staging in worker processes gives the same store as staging in one, and cleans up after itself."""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from datamap.store import stage

SKIP = {"_provenance", "sqlite_stat1", "sqlite_stat4"}  # times and planner statistics differ by nature


def contents(path: Path) -> dict[str, object]:
    """Every table's declaration and rows in rowid order, and every index's declaration."""
    con = sqlite3.connect(path)
    try:
        schema = sorted(con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))
        tables = [name for kind, name, _, _ in schema if kind == "table" and name not in SKIP]
        rows = {t: con.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}
        provenance = con.execute("SELECT tbl, dataset, collection, source, sha256, url, rows FROM _provenance "
                                 "ORDER BY tbl").fetchall()
        return {"schema": schema, "rows": rows, "provenance": provenance}
    finally:
        con.close()


def test_two_workers_stage_exactly_what_one_process_stages(demo_workspace, tmp_path):
    one = stage(demo_workspace, path=tmp_path / "one.sqlite", workers=1)
    two = stage(demo_workspace, path=tmp_path / "two.sqlite", workers=2)
    assert one.errors() == two.errors() == {}
    assert {k: s.rows for k, s in one.status.items()} == {k: s.rows for k, s in two.status.items()}
    expected, got = contents(one.path), contents(two.path)
    assert got["schema"] == expected["schema"]
    assert got["provenance"] == expected["provenance"]
    for table, rows in expected["rows"].items():
        assert got["rows"][table] == rows, table
    assert sum(len(r) for r in got["rows"].values()) > 10_000  # the demo is not trivially small


def test_a_source_failing_in_a_worker_is_its_error_line_and_the_others_are_staged(sources_workspace, tmp_path):
    leads = sources_workspace / "exports/zoho_crm/Leads.csv"
    leads.write_text(leads.read_text(encoding="utf-8").replace("Record Id", "Recordnummer", 1), encoding="utf-8")
    store = stage(sources_workspace, path=tmp_path / "s.sqlite", workers=2)
    errors = store.errors()
    assert list(errors) == [("zoho_crm", "leads")]
    assert "missing standard column 'Record Id'" in errors[("zoho_crm", "leads")]
    assert store.status[("zoho_desk", "tickets")].ok and store.status[("zoho_desk", "tickets")].rows == 2


def test_no_scratch_parts_are_left_next_to_the_store_even_after_a_killed_run(demo_workspace, tmp_path):
    left = tmp_path / ".s.sqlite.parts-killed"  # what a run killed while staging leaves behind
    left.mkdir()
    (left / "0.sqlite").write_bytes(b"half a part")
    store = stage(demo_workspace, path=tmp_path / "s.sqlite", workers=2,
                  collections=[("zoho_crm", "leads"), ("zoho_desk", "tickets")])
    store.close()
    assert store.errors() == {}
    assert [p.name for p in tmp_path.iterdir() if "parts" in p.name] == []


def _die(*_job):
    """A worker that is killed while reading (what the kernel's out-of-memory killer does)."""
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_while_reading_fails_the_staging_instead_of_hanging_it(tmp_path):
    from concurrent.futures.process import BrokenProcessPool

    from datamap.store import _load_parts, _Part

    parts = [_Part(None, f"t{i}", [], None, None, 0) for i in range(3)]  # the reader never looks at them
    outcome: list[object] = []

    def consume() -> None:
        try:
            outcome.append(list(_load_parts(parts, tmp_path, 10, workers=2, reader=_die)))
        except BaseException as exc:  # noqa: BLE001 -- the outcome is what the test reads
            outcome.append(exc)

    runner = threading.Thread(target=consume, daemon=True)
    runner.start()
    runner.join(timeout=120)
    assert not runner.is_alive(), "staging waits for ever for a dead worker"
    assert isinstance(outcome[0], BrokenProcessPool)
