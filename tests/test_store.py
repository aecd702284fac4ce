"""The audit store stages what the checks need, says where it came from, and never touches a source."""
from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import text

from datamap.store import stage


def checksums(root: Path) -> dict[str, str]:
    """sha256 of every file of the workspace except the store itself."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".datamap" not in p.parts}


def query(store, sql: str, **params) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def test_staging_every_source_leaves_every_source_byte_for_byte_unchanged(sources_workspace):
    before = checksums(sources_workspace)
    store = stage(sources_workspace)
    assert store.errors() == {}
    assert checksums(sources_workspace) == before
    assert store.path == sources_workspace / ".datamap/store.sqlite"


def test_each_collection_lands_in_its_own_table_with_rows_and_provenance(sources_workspace):
    store = stage(sources_workspace)
    counts = {k: (s.state, s.table, s.rows) for k, s in store.status.items()}
    assert counts == {
        ("zoho_crm", "leads"): ("ok", "zoho_crm__leads", 3),
        ("zoho_books", "invoices"): ("ok", "zoho_books__invoices", 0),
        ("zoho_books", "customer_payments"): ("ok", "zoho_books__customer_payments", 3),
        ("zoho_desk", "tickets"): ("ok", "zoho_desk__tickets", 2),
        ("zoho_desk", "users"): ("ok", "zoho_desk__users", 2),
        ("zoho_salesiq", "visitors"): ("ok", "zoho_salesiq__visitors", 3),
        ("zoho_mail", "messages"): ("ok", "zoho_mail__messages", 3),
        ("zoho_mail", "message_trace"): ("ok", "zoho_mail__message_trace", 4),
        ("customer_portal", "accounts"): ("ok", "customer_portal__accounts", 2),
        ("customer_portal", "trials"): ("ok", "customer_portal__trials", 1),
        ("customer_portal", "cookie_log"): ("ok", "customer_portal__cookie_log", 2),
        ("customer_portal", "portal_users"): ("ok", "customer_portal__portal_users", 1),
        ("hr", "roster"): ("ok", "hr__roster", 2),
    }
    prov = {p["tbl"]: p for p in store.provenance()}
    leads = prov["zoho_crm__leads"]
    assert (leads["source"], leads["rows"], leads["url"]) == ("exports/zoho_crm/Leads.csv", 3, None)
    assert leads["sha256"] == hashlib.sha256((sources_workspace / "exports/zoho_crm/Leads.csv").read_bytes()).hexdigest()
    portal = prov["customer_portal__accounts"]
    assert (portal["source"], portal["url"], portal["rows"]) == ("accounts", "sqlite:///portal/portal.db", 2)
    assert prov["zoho_mail__messages"]["source"] == "exports/zoho_mail/privacy_inbox.mbox, exports/zoho_mail/sent.mbox"
    indexes = {r[1] for r in query(store, "PRAGMA index_list('zoho_crm__leads')")}
    # a record by its key (CAST(record_id AS TEXT) = ?); values are looked up in the table's identifiers,
    # so no index per normalised column (the checks that join on one get an automatic index)
    assert indexes == {"zoho_crm__leads__record_key"}
    assert {r[1] for r in query(store, "PRAGMA index_list('zoho_crm__leads__identifiers')")} == {
        "zoho_crm__leads__identifiers_kind_value", "zoho_crm__leads__identifiers_key"}
    assert query(store, "SELECT record_id, email__norm, last_activity_time, _row FROM zoho_crm__leads ORDER BY _row") == [
        ("4150868000000100007", "jan.devries@example.nl", "2024-02-01 10:00:00", 1),
        ("4150868000000100008", "piet@jansen.example", None, 2),
        ("4150868000000100009", "eva.smit@example.org", "2025-11-02 08:00:00", 3),
    ]


def test_the_identifier_index_finds_one_person_across_systems(sources_workspace):
    store = stage(sources_workspace)
    hits = query(store, "SELECT tbl, record_key FROM identifiers WHERE kind = 'email' AND value = :v ORDER BY tbl, record_key",
                 v="jan.devries@example.nl")
    assert hits == [
        ("customer_portal__accounts", "1"),
        ("zoho_crm__leads", "4150868000000100007"),
        ("zoho_desk__tickets", "581000000123457"),
        ("zoho_mail__message_trace", "msg-001@apora.nl"),
        ("zoho_mail__messages", "msg-001@apora.nl"),
        ("zoho_mail__messages", "req-100@example.nl"),
    ]
    assert query(store, "SELECT tbl, record_key FROM identifiers WHERE kind = 'iban'") == [
        ("zoho_books__customer_payments", "PMT-0001"), ("zoho_mail__messages", "msg-001@apora.nl")]


def test_mail_recipients_join_to_cc_and_the_trace_so_a_bcc_is_visible(sources_workspace):
    store = stage(sources_workspace)
    assert query(store, "SELECT address__norm, via FROM zoho_mail__recipients WHERE message_id = 'msg-002@apora.nl' "
                        "ORDER BY via, address__norm") == [
        ("partner@marketing.example", "to"), ("geheim@bcc.example", "trace"), ("partner@marketing.example", "trace")]
    assert query(store, "SELECT kind, value FROM zoho_mail__body_identifiers ORDER BY kind") == [
        ("email", "piet@jansen.example"), ("iban", "NL91ABNA0417164300"), ("phone", "+31612345678")]


def test_message_bodies_are_never_stored(sources_workspace):
    store = stage(sources_workspace)
    store.close()
    stored = b"".join(p.read_bytes() for p in store.path.parent.iterdir())
    assert b"genoteerd" not in stored and b"Graag al mijn gegevens" not in stored


def test_a_run_keeps_its_parameters_in_its_own_database_and_reads_the_store_read_only(sources_workspace, tmp_path):
    import contextlib
    import sqlite3

    import pytest

    from datamap.audit.params import put_params, standard_params
    from datamap.audit.run import run_database
    from datamap.workspace import load_workspace

    store = stage(sources_workspace)
    store.close()
    before = hashlib.sha256(store.path.read_bytes()).hexdigest()
    params = standard_params(load_workspace(sources_workspace), __import__("datetime").date(2026, 11, 24), {})
    with contextlib.closing(run_database(tmp_path / "run.sqlite", store.path)) as db:
        put_params(db, {**params, "audit.run": "r1"})
        value = lambda name: db.execute("SELECT value FROM params WHERE name = ?", (name,)).fetchall()  # noqa: E731
        assert value("trials.max_days") == [("14",)]
        assert value("as_of") == [("2026-11-24",)]
        assert value("recipients.own_domains") == [("apora.nl",)]
        assert value("retention.zoho_crm.leads.period") == [("P1Y",)]
        assert value("audit.run") == [("r1",)]
        assert db.execute("SELECT count(*) FROM zoho_crm__leads").fetchone()[0] > 0  # the store's tables, unqualified
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            db.execute("DELETE FROM zoho_crm__leads")
    assert hashlib.sha256(store.path.read_bytes()).hexdigest() == before
    assert query(store, "SELECT name FROM sqlite_master WHERE name = 'params'") == []


def test_only_the_requested_collections_are_staged(sources_workspace):
    store = stage(sources_workspace, collections=[("zoho_crm", "leads"), ("hr", "roster")])
    assert list(store.status) == [("zoho_crm", "leads"), ("hr", "roster")]
    tables = {r[0] for r in query(store, "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%\\_\\_%' ESCAPE '\\'")}
    assert tables == {f"{t}{own}" for t in ("zoho_crm__leads", "hr__roster") for own in ("", "__identifiers", "__name_words")}


def test_an_unchanged_source_is_reused_and_a_changed_one_restaged(sources_workspace):
    first = stage(sources_workspace)
    assert not any(s.reused for s in first.status.values())
    first.close()
    roster = sources_workspace / "hr/roster.csv"
    roster.write_text(roster.read_text() + "E003,Nina Vos,nina@apora.nl,finance,2026-01-01,\n")
    again = stage(sources_workspace)
    reused = {k for k, s in again.status.items() if s.reused}
    assert reused == set(first.status) - {("hr", "roster")}
    assert again.status[("hr", "roster")].rows == 3
    assert query(again, "SELECT count(*) FROM identifiers WHERE tbl = 'hr__roster' AND kind = 'email'") == [(3,)]
    assert query(again, "SELECT count(*) FROM zoho_mail__recipients") == [(8,)]


def test_one_broken_source_is_an_error_line_and_the_others_are_still_staged(sources_workspace):
    visitors = sources_workspace / "exports/zoho_salesiq/Visitors.csv"
    visitors.write_bytes(visitors.read_bytes().replace(b"Email;", b"Mail;"))
    (sources_workspace / "hr/roster.csv").unlink()
    store = stage(sources_workspace)
    assert store.errors() == {
        ("zoho_salesiq", "visitors"): "exports/zoho_salesiq/Visitors.csv: missing standard column 'Email' (map your "
                                      "header to it with columns: in sources.yml datasets.zoho_salesiq.collections.visitors; "
                                      "headers there that are not standard: Mail)",
        ("hr", "roster"): "hr/roster.csv: file not found (sources.yml datasets.hr.collections.roster)",
    }
    assert store.status[("zoho_crm", "leads")].state == "ok"
    assert len([s for s in store.status.values() if s.ok]) == 11


def test_a_failed_restage_keeps_no_half_table(sources_workspace):
    stage(sources_workspace).close()
    leads = sources_workspace / "exports/zoho_crm/Leads.csv"
    leads.write_text(leads.read_text(encoding="utf-8-sig").replace("2025-10-30 23:59:59", "gisteren", 1), encoding="utf-8-sig")
    store = stage(sources_workspace, chunksize=1)
    assert store.status[("zoho_crm", "leads")].error.startswith("exports/zoho_crm/Leads.csv: row 3, column Created Time")
    assert query(store, "SELECT count(*) FROM zoho_crm__leads") == [(3,)]  # the last good staging, rolled back to


def test_a_file_is_hashed_again_only_when_it_changed(tmp_path):
    import os

    from datamap.store import sha256_file

    f = tmp_path / "Leads.csv"
    f.write_text("Record Id,Email\n1,a@b.nl\n", encoding="utf-8")
    first = sha256_file(f)
    assert sha256_file(f) == first == hashlib.sha256(f.read_bytes()).hexdigest()
    before = f.stat()
    f.write_text("Record Id,Email\n1,x@b.nl\n", encoding="utf-8")  # same size, and the old modification time put back
    os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert sha256_file(f) == hashlib.sha256(f.read_bytes()).hexdigest() != first


def test_scan_trusts_a_collection_staged_from_the_same_bytes_and_reads_a_changed_one_again(sources_workspace):
    from datamap.store import staged_as_is
    from datamap.workspace import load_workspace

    ws = load_workspace(sources_workspace)
    assert not staged_as_is(ws, "zoho_crm", "leads")  # nothing staged yet
    stage(ws).close()
    assert staged_as_is(ws, "zoho_crm", "leads")
    leads = sources_workspace / "exports/zoho_crm/Leads.csv"
    leads.write_bytes(leads.read_bytes() + b"\n")
    assert not staged_as_is(load_workspace(sources_workspace), "zoho_crm", "leads")
