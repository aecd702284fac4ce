"""The readers read real-format exports, mail and databases into the store's shape, or say exactly why not."""
from __future__ import annotations

import codecs
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest

from datamap.errors import BadInput, SourceUnavailable
from datamap.sources import crm_id, date_part, parse_bool, read_collection, snake, source_engine
from datamap.sources.exports import detect_delimiter, detect_encoding
from datamap.sources.mail import body_identifiers
from datamap.workspace import load_workspace


def rows(ws_root: Path, dataset: str, collection: str, chunksize: int = 10_000) -> list[dict]:
    ws = load_workspace(ws_root)
    frame = pd.concat(list(read_collection(ws, dataset, collection, chunksize=chunksize)), ignore_index=True)
    return [{k: (None if (not isinstance(v, str) and pd.isna(v)) else v) for k, v in r.items()}
            for r in frame.to_dict("records")]


def edit_sources(ws_root: Path, old: str, new: str) -> None:
    path = ws_root / "sources.yml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_store_column_names_are_snake_case_of_the_standard_headers():
    assert snake("Last Activity Time") == "last_activity_time"
    assert snake("CF.Customer Number") == "cf_customer_number"
    assert snake("EmailID") == "emailid"
    assert snake(" Klant BSN ") == "klant_bsn"


def test_crm_export_with_bom_zcrm_ids_and_a_multiline_address_reads_as_standard_columns(sources_workspace):
    first, second, third = rows(sources_workspace, "zoho_crm", "leads")
    assert first["_row"] == 1
    assert first["record_id"] == "4150868000000100007"  # written as zcrm_4150868000000100007
    assert second["record_id"] == "4150868000000100008"
    assert first["street"] == "Dorpsstraat 1\r\n2e verdieping, achterom"
    assert first["email__norm"] == "jan.devries@example.nl"
    assert first["phone__norm"] == "+31612345678"
    assert second["phone__norm"] == "+31201234567"
    assert first["last_name__norm"] == "de vries"
    assert (first["email_opt_out"], second["email_opt_out"], third["email_opt_out"]) == (0, 1, 1)  # false, TRUE, Ja
    assert first["created_time"] == "2024-01-15 09:15:02"
    assert second["last_activity_time"] is None
    assert third["company"] is None


def test_semicolon_cp1252_export_with_dutch_diacritics_reads_names_places_and_local_dates(sources_workspace):
    raw = (sources_workspace / "exports/zoho_salesiq/Visitors.csv").read_bytes()
    assert b";" in raw.splitlines()[0] and "Müller".encode("cp1252") in raw
    visitors = rows(sources_workspace, "zoho_salesiq", "visitors")
    assert [v["name"] for v in visitors] == ["José Müller", None, "Geneviève Dupré"]
    assert [v["city"] for v in visitors] == ["’s-Hertogenbosch", "Zoeterwoude", "Liège"]
    assert [v["ip_address"] for v in visitors] == ["192.168.10.12", "2001:db8::1", "10.0.0.7"]
    assert visitors[0]["first_visit_time"] == "2026-11-24 09:15:00"  # 24-11-2026 09:15, date_format %d-%m-%Y %H:%M
    assert visitors[1]["last_visit_time"] == "2025-03-02 08:00:00"
    assert visitors[2]["name__norm"] == "genevieve dupre"


def test_encoding_is_detected_from_the_bytes(tmp_path):
    text = "Name;City\r\nJosé;Liège\r\n"
    (tmp_path / "bom.csv").write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    (tmp_path / "utf8.csv").write_bytes(text.encode("utf-8"))
    (tmp_path / "excel.csv").write_bytes(text.encode("cp1252"))
    assert detect_encoding(tmp_path / "bom.csv") == "utf-8-sig"
    assert detect_encoding(tmp_path / "utf8.csv") == "utf-8"
    assert detect_encoding(tmp_path / "excel.csv") == "cp1252"


def test_delimiter_is_detected_from_the_header_line():
    assert detect_delimiter("Record Id,Lead Owner,Company\r\n") == ","
    assert detect_delimiter("Visitor ID;Name;Email\r\n") == ";"
    assert detect_delimiter("Ticket Id\tSubject\tStatus\n") == "\t"
    assert detect_delimiter('"Street, number";City;Zip\n') == ";"


def test_tab_separated_desk_export_keeps_custom_fields_as_text_and_parses_us_dates(sources_workspace):
    first, second = rows(sources_workspace, "zoho_desk", "tickets")
    assert first["ticket_id"] == "581000000123457"
    assert first["created_time"] == "2025-11-24 09:15:00"  # Nov 24, 2025 09:15 AM
    assert first["closed_time"] == "2025-11-25 14:30:00"  # Nov 25, 2025 02:30 PM
    assert second["closed_time"] is None
    assert first["klant_bsn"] == "111222333"  # a custom field, kept as text
    assert first["geboortedatum"] == "12-05-1980"


def test_xlsx_user_export_reads_typed_cells_as_text_and_dates(sources_workspace):
    users = rows(sources_workspace, "zoho_desk", "users")
    assert [(u["user_id"], u["full_name"], u["email__norm"], u["added_time"]) for u in users] == [
        ("581000000001001", "Sanne Bakker", "sanne@apora.nl", "2022-03-01 09:00:00"),
        ("581000000001002", "Extern Bureau", "help@outsourcing.example", "2023-06-15 14:30:00"),
    ]


def test_an_export_with_a_header_and_no_rows_is_a_valid_empty_export(sources_workspace):
    ws = load_workspace(sources_workspace)
    frames = list(read_collection(ws, "zoho_books", "invoices"))
    assert [len(f) for f in frames] == [0]
    assert list(frames[0].columns)[:4] == ["_row", "invoice_date", "invoice_id", "invoice_number"]
    assert "email__norm" in frames[0].columns


def test_masked_bank_account_is_recognised_as_masked_not_as_a_malformed_iban(sources_workspace):
    payments = rows(sources_workspace, "zoho_books", "customer_payments")
    assert [(p["bank_account__norm"], p["bank_account__masked"]) for p in payments] == [
        ("NL91ABNA0417164300", 0), (None, 1), (None, None)]
    assert payments[0]["date"] == "2024-03-01"


def test_reading_is_chunked_and_keeps_the_original_row_numbers(sources_workspace):
    ws = load_workspace(sources_workspace)
    frames = list(read_collection(ws, "zoho_crm", "leads", chunksize=2))
    assert [list(f["_row"]) for f in frames] == [[1, 2], [3]]


def test_a_missing_standard_column_is_bad_input_naming_the_file(sources_workspace):
    path = sources_workspace / "exports/zoho_crm/Leads.csv"
    text = path.read_text(encoding="utf-8-sig").replace(",Email,", ",E-mail adres,", 1)
    path.write_text(text, encoding="utf-8-sig")
    with pytest.raises(BadInput) as err:
        rows(sources_workspace, "zoho_crm", "leads")
    assert err.value.line() == ("exports/zoho_crm/Leads.csv: missing standard column 'Email' (map your header to it "
                                "with columns: in sources.yml datasets.zoho_crm.collections.leads; "
                                "headers there that are not standard: E-mail adres)")


def test_a_renamed_header_is_mapped_with_columns_in_sources_yml(sources_workspace):
    path = sources_workspace / "exports/zoho_crm/Leads.csv"
    path.write_text(path.read_text(encoding="utf-8-sig").replace(",Email,", ",E-mail adres,", 1), encoding="utf-8-sig")
    edit_sources(sources_workspace, "leads: {file: exports/zoho_crm/Leads.csv}",
                 'leads: {file: exports/zoho_crm/Leads.csv, columns: {"E-mail adres": Email}}')
    assert [r["email__norm"] for r in rows(sources_workspace, "zoho_crm", "leads")] == [
        "jan.devries@example.nl", "piet@jansen.example", "eva.smit@example.org"]


def test_a_file_without_a_header_is_bad_input(sources_workspace):
    path = sources_workspace / "exports/zoho_crm/Leads.csv"
    path.write_bytes(b"")
    with pytest.raises(BadInput) as err:
        rows(sources_workspace, "zoho_crm", "leads")
    assert err.value.line() == "exports/zoho_crm/Leads.csv: no header row (the file is empty)"
    lines = (sources_workspace / "exports/zoho_books/Customer_Payments.csv").read_text(encoding="utf-8-sig").splitlines()
    (sources_workspace / "exports/zoho_books/Customer_Payments.csv").write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(BadInput) as err:
        rows(sources_workspace, "zoho_books", "customer_payments")
    assert err.value.line().startswith("exports/zoho_books/Customer_Payments.csv: no header row: the first row names "
                                       "none of the standard columns")


def test_a_missing_file_is_source_unavailable_naming_the_source(sources_workspace):
    (sources_workspace / "exports/zoho_crm/Leads.csv").unlink()
    with pytest.raises(SourceUnavailable) as err:
        rows(sources_workspace, "zoho_crm", "leads")
    assert err.value.line() == "exports/zoho_crm/Leads.csv: file not found (sources.yml datasets.zoho_crm.collections.leads)"


def test_a_date_that_does_not_match_the_format_names_file_row_and_column(sources_workspace):
    path = sources_workspace / "exports/zoho_crm/Leads.csv"
    path.write_text(path.read_text(encoding="utf-8-sig").replace("2025-10-30 23:59:59", "30-10-2025 23:59", 1),
                    encoding="utf-8-sig")
    with pytest.raises(BadInput) as err:
        rows(sources_workspace, "zoho_crm", "leads")
    assert err.value.line() == ("exports/zoho_crm/Leads.csv: row 3, column Created Time: date '30-10-2025 23:59' does "
                                "not match the date format '%Y-%m-%d %H:%M:%S' (set date_format in sources.yml "
                                "datasets.zoho_crm.collections.leads)")


def test_a_value_that_is_no_boolean_names_row_and_column(sources_workspace):
    path = sources_workspace / "exports/zoho_crm/Leads.csv"
    path.write_text(path.read_text(encoding="utf-8-sig").replace(",TRUE,", ",misschien,", 1), encoding="utf-8-sig")
    with pytest.raises(BadInput) as err:
        rows(sources_workspace, "zoho_crm", "leads")
    assert err.value.line().startswith("exports/zoho_crm/Leads.csv: row 2, column Email Opt Out: 'misschien' is not a boolean")


def test_zoho_booleans_crm_ids_and_date_parts():
    assert [parse_bool(v) for v in ("true", "false", "TRUE", "FALSE", "1", "0", "Ja", "Nee", "yes", "no", "", None)] == [
        1, 0, 1, 0, 1, 0, 1, 0, 1, 0, None, None]
    assert crm_id("zcrm_4150868000000100007") == "4150868000000100007"
    assert crm_id("4150868000000100007") == "4150868000000100007"
    assert date_part("%d-%m-%Y %H:%M") == "%d-%m-%Y"
    assert date_part("%b %d, %Y %I:%M %p") == "%b %d, %Y"
    assert date_part("%Y-%m-%d") == "%Y-%m-%d"


def test_mbox_messages_keep_headers_recipients_local_dates_attachments_and_body_identifiers(sources_workspace):
    messages = {m["message_id"]: m for m in rows(sources_workspace, "zoho_mail", "messages")}
    assert sorted(messages) == ["msg-001@apora.nl", "msg-002@apora.nl", "req-100@example.nl"]
    first = messages["msg-001@apora.nl"]
    assert (first["mailbox"], first["_row"], first["from_addr"]) == ("sent", 1, "sanne@apora.nl")
    assert (first["to_addrs"], first["cc_addrs"]) == ("jan.devries@example.nl", "boekhouder@extern.example")
    assert first["date"] == "2025-03-10 09:15:00"
    assert (first["attachment_names"], first["attachment_types"]) == ("factuur-INV-000123.pdf", "application/pdf")
    assert (first["body_emails"], first["body_ibans"], first["body_phones"]) == (
        "piet@jansen.example", "NL91ABNA0417164300", "+31612345678")
    assert messages["msg-002@apora.nl"]["attachment_types"] == "text/csv"
    inbox = messages["req-100@example.nl"]
    assert (inbox["mailbox"], inbox["date"]) == ("privacy_inbox", "2025-03-02 04:30:00")  # 22:30 -0500
    assert not any("genoteerd" in str(v) for v in first.values())  # the body's text is not kept


def test_body_scan_finds_normalised_identifiers_only():
    found = body_identifiers("Mail J.Jansen@Example.com, bel +31 (0)20 123 4567, IBAN NL91 ABNA 0417 1643 00, "
                             "geen IBAN NL00 ABNA 0417 1643 00.")
    assert found == {"email": ["j.jansen@example.com"], "iban": ["NL91ABNA0417164300"], "phone": ["+31201234567"]}


def test_message_trace_times_are_converted_from_utc_to_the_workspace_zone(sources_workspace):
    trace = rows(sources_workspace, "zoho_mail", "message_trace")
    assert [(t["message_id"], t["recipient_address__norm"], t["date_time_utc"]) for t in trace] == [
        ("msg-001@apora.nl", "jan.devries@example.nl", "2025-03-10 09:15:00"),
        ("msg-001@apora.nl", "boekhouder@extern.example", "2025-03-10 09:15:00"),
        ("msg-002@apora.nl", "partner@marketing.example", "2025-03-11 13:00:00"),
        ("msg-002@apora.nl", "geheim@bcc.example", "2025-03-11 13:00:00"),
    ]


def test_portal_tables_read_from_sqlite_with_iso_dates_and_normalised_identifiers(sources_workspace):
    accounts = rows(sources_workspace, "customer_portal", "accounts")
    assert [(a["account_id"], a["customer_number__norm"], a["email__norm"], a["closed_at"]) for a in accounts] == [
        (1, "APR-100042", "jan.devries@example.nl", None),
        (2, "APR-100043", "piet@jansen.example", "2024-02-29 17:00:00"),
    ]
    assert rows(sources_workspace, "customer_portal", "trials")[0]["ended_at"] == "2025-01-20 09:00:00"


def test_a_write_through_the_source_connection_is_refused(sources_workspace):
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    engine = source_engine(load_workspace(sources_workspace), "customer_portal")
    with pytest.raises(OperationalError, match="readonly database"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM accounts"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM accounts")).scalar_one() == 2
    engine.dispose()


def test_an_unreachable_database_names_the_source_and_hides_the_password(sources_workspace, monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_PW", "s3cret-pw")
    edit_sources(sources_workspace, "url: sqlite:///portal/portal.db",
                 f'url: "postgresql+psycopg://audit:${{PORTAL_PW}}@/portal?host={tmp_path}/nowhere"')
    with pytest.raises(SourceUnavailable) as err:
        rows(sources_workspace, "customer_portal", "accounts")
    line = err.value.line()
    host = quote(f"{tmp_path}/nowhere", safe="")
    assert line.startswith(f"sources.yml: datasets.customer_portal.url: cannot connect to "
                           f"postgresql+psycopg://audit:***@/portal?host={host}: ")
    assert "s3cret-pw" not in line


def test_a_missing_password_variable_is_bad_input(sources_workspace, monkeypatch):
    monkeypatch.delenv("PORTAL_PW", raising=False)
    edit_sources(sources_workspace, "url: sqlite:///portal/portal.db",
                 'url: "postgresql+psycopg://audit:${PORTAL_PW}@localhost/portal"')
    with pytest.raises(BadInput) as err:
        rows(sources_workspace, "customer_portal", "accounts")
    assert err.value.line() == "sources.yml: datasets.customer_portal.url: environment variable PORTAL_PW is not set"


def test_the_read_only_sqlite_connection_string_refuses_writes_in_an_engine_built_elsewhere(sources_workspace):
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from datamap.sources import source_url

    url = source_url(load_workspace(sources_workspace), "customer_portal")
    assert url.endswith("/portal/portal.db?mode=ro&immutable=1&uri=true") and url.startswith("sqlite:///file:")
    engine = create_engine(url)
    with pytest.raises(OperationalError, match="readonly database"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM trials"))
    engine.dispose()


def test_a_record_dated_on_a_day_after_today_and_the_audit_date_is_bad_input(sources_workspace):
    import datetime as dt

    latest = max(dt.date.today(), dt.date(2026, 11, 24))  # the fixture policy's as_of
    path = sources_workspace / "exports/zoho_crm/Leads.csv"
    original = path.read_text(encoding="utf-8-sig")
    path.write_text(original.replace("2025-10-30 23:59:59", f"{latest} 23:59:59", 1), encoding="utf-8-sig")
    assert rows(sources_workspace, "zoho_crm", "leads")[2]["created_time"] == f"{latest} 23:59:59"
    late = latest + dt.timedelta(days=1)
    path.write_text(original.replace("2025-10-30 23:59:59", f"{late} 00:00:00", 1), encoding="utf-8-sig")
    with pytest.raises(BadInput) as err:
        rows(sources_workspace, "zoho_crm", "leads")
    assert err.value.line() == (f"exports/zoho_crm/Leads.csv: row 3, column Created Time: date '{late} 00:00:00' lies "
                                f"in the future (after {latest}) (a record cannot be dated after the audit; check the "
                                "export's date_format)")
