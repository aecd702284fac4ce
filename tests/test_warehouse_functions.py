"""The PostgreSQL dialect layer (datamap/warehouse/postgres.sql) answers as SQLite and Python do.

Every function is called on a real server and on a sqlite3 connection with
:func:`datamap.audit.params.register_functions` (SQLite's built-ins and datamap's functions), on
hand-picked edge values, on what the demo workspace holds, and on hypothesis-generated values. An
outcome is the value or "error" (Python raised, or PostgreSQL refused). Where the answer knowingly
differs, the difference is listed here and asserted as such, never skipped.
"""
from __future__ import annotations

import csv
import sqlite3
import string
import unicodedata
from pathlib import Path
from typing import Any, Iterator

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import datamap
from datamap.audit.params import register_functions

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres")]  # one server, one worker

SQL_FILE = Path(datamap.__file__).parent / "warehouse" / "postgres.sql"
ERROR = "error"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# argument types as the catalogue passes them: text, and integers for substr
SIGNATURES = {"date": ("text",), "lower": ("text",), "julianday": ("text",), "instr": ("text", "text"),
              "substr": ("text", "integer", "integer"), "substr2": ("text", "integer"),
              "add_period": ("text", "text"), "fiscal_year_end": ("text", "text"),
              "retention_start": ("text", "text", "text"),
              "norm_email": ("text",), "norm_phone": ("text",), "norm_name": ("text",)}


@pytest.fixture(scope="module")
def pg(pg_server) -> Iterator[Any]:
    """A database with the functions loaded twice (the file is idempotent), searched before pg_catalog."""
    import psycopg

    name = pg_server.create_database("functions")
    with psycopg.connect(host=str(pg_server.socket_dir), user="postgres", dbname=name, autocommit=True) as conn:
        conn.execute(SQL_FILE.read_text(encoding="utf-8"))
        conn.execute(SQL_FILE.read_text(encoding="utf-8"))
        conn.execute("SET search_path = datamap_sql, pg_catalog, public")
        yield conn


@pytest.fixture(scope="module")
def lite() -> Iterator[sqlite3.Connection]:
    con = sqlite3.connect(":memory:")
    register_functions(con)
    yield con
    con.close()


def in_sqlite(lite: sqlite3.Connection, fn: str, *args: Any) -> Any:
    name = "substr" if fn == "substr2" else fn
    try:
        return lite.execute(f"SELECT {name}({', '.join('?' * len(args))})", args).fetchone()[0]
    except (sqlite3.OperationalError, sqlite3.DataError):  # a Python function raised (DataError: an OverflowError)
        return ERROR


def in_postgres(pg: Any, fn: str, *args: Any) -> Any:
    import psycopg

    name = "substr" if fn == "substr2" else fn
    marks = ", ".join(f"%s::{t}" for t in SIGNATURES[fn])
    try:
        return pg.execute(f"SELECT {name}({marks})", args).fetchone()[0]
    except psycopg.errors.DataError:
        return ERROR


def in_postgres_batch(pg: Any, fn: str, values: list[str | None]) -> list[Any]:
    """One round trip for many values of a one-argument function that never raises."""
    rows = pg.execute(f"SELECT {fn}(v) FROM unnest(%s::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i", (values,))
    return [r[0] for r in rows]


def assert_same(pg: Any, lite: sqlite3.Connection, fn: str, *args: Any) -> None:
    assert in_postgres(pg, fn, *args) == in_sqlite(lite, fn, *args), (fn, args)


def assert_same_batch(pg: Any, lite: sqlite3.Connection, fn: str, values: list[str | None]) -> None:
    got = dict(zip(values, in_postgres_batch(pg, fn, values)))
    differ = {v: (got[v], in_sqlite(lite, fn, v)) for v in values if got[v] != in_sqlite(lite, fn, v)}
    assert not differ, f"{fn}: postgres, sqlite differ on {differ}"


# --- hand-picked edge values ---------------------------------------------------------------------

DATES = [None, "", " ", "\t", "2024-01-31", "2024-02-29", "2023-02-29", "2023-02-31", "2024-12-31 23:59:59",
         "2024-01-31T10:00", "2024-01-31 10:00:00", "2024-01-31T10:00:00Z", "2024-01-31T10:00:00.123456Z",
         "2024-01-01T01:00:00+02:00", "2024-12-31T23:30:00-01:00", "2024-01-01 01:00 +02:00 ", "2024-01-31T",
         "2024-01-31t10:00", "2024-01-3110:00", "2024-01-31 24:00", "2024-01-31Z", "2024-01-31 ", " 2024-01-31",
         "2024-1-31", "20240131", "2024-00-10", "2024-13-01", "2024-01-00", "2024-01-32", "2024-01-31 10:60",
         "2024-01-31 10:00:60", "2024-01-31 10:00:00.", "10:00", "24:00", "12:00+14:00", "12:00+15:00",
         "0000-01-01", "0000-03-01", "-0001-01-01", "0999-12-31", "9999-12-31", "9999-12-31 23:59:59.999",
         "9999-12-31 24:00", "9999-12-31 23:59:59.9999", "2460000", "2460000.5", " 5 ", "5.", ".5", "1e3", "1e",
         "+5", "-5", "0", "5373484.49", "5373484.5", "1e400", "1e-400", "0x10", "inf", "nan", "31-01-2024",
         "2024/01/31", "Jan 31 2024", "2024-01-01\u00a0", "2024-01-01\v", "\u0662\u0660\u0662\u0664-01-01"]
# SQLite reads the clock for 'now'; an IMMUTABLE PostgreSQL function cannot, and answers NULL
NOT_LIKE_SQLITE_DATES = ["now", "NOW"]

SLICES = [("abcdef", s, n) for s in (-10, -6, -2, -1, 0, 1, 2, 6, 7, 10) for n in (-10, -3, -1, 0, 1, 2, 10)]
SLICES += [(None, 1, 2), ("abc", None, 1), ("abc", 1, None), ("", 0, 1), ("éàü", 2, 1), ("a__b", 1, 0)]

CALENDAR = [("2024-01-31", "P1M"), ("2024-03-31", "P1M"), ("2024-02-29", "P1Y"), ("2023-01-31", "P1M"),
            ("2024-01-31", "P1Y6M"), ("2024-08-31", "P1Y6M"), ("2024-01-31", "P30D"), ("2024-12-31", "P2W"),
            ("2024-01-31", "P1Y1M1W1D"), ("2024-01-31T10:00:00", "P1M"), ("2024-01-31 10:00", "P1M"),
            ("2024-01-31T10:00:00Z", "P1M"), (" 2024-01-31 ", "P1M"), ("20240131", "P1D"),
            ("20240131T101500", "P1D"), ("2024-W05-3", "P1D"), ("2024W053", "P1D"), ("2024-W05", "P1D"),
            ("2024W05", "P1D"), ("2020-W53-1", "P1D"), ("2021-W53-1", "P1D"), ("2024-W05-8", "P1D"),
            ("9999-12-01", "P1M"), ("9999-12-31", "P1D"), ("0001-01-01", "P0D"), ("0000-01-01", "P1D"),
            (None, "P1M"), ("", "P1M"), ("  ", "P1M"), ("2024-01-31", None), ("garbage", None), (None, "garbage"),
            ("2024-02-30", "P1D"), ("31-01-2024", "P1D"), ("2024-01-31", "P"), ("2024-01-31", "1 month"),
            ("2024-01-31", "P1.5D"), ("2024-01-31", "PT1H"), ("2024-01-31", "P-1D"), ("2024-01-31", " P1M "),
            ("2024-01-31", "p1m"), ("2024-01-31", ""), ("2024-01-31", "P10000Y")]
FISCAL = [("2024-06-30", "06-30"), ("2024-07-01", "06-30"), ("2024-12-31", None), ("2024-12-31", ""),
          ("2025-01-01", "12-31"), ("2024-02-29", "02-29"), ("2023-01-01", "02-29"), ("2024-03-01", "6-30"),
          ("2024-03-01", " 06-30"), ("2024-03-01", "+06-+30"), ("2024-03-01", "0_6-30"), ("2024-03-01", "06/30"),
          ("2024-03-01", "06-30-01"), ("2024-03-01", "13-01"), ("9999-07-01", "06-30"), (None, "bad"),
          ("2024-01-31T10:00:00", "06-30")]
ANCHORS = [("2024-03-01", "fiscal_year_end", "06-30"), ("2024-03-01", "fiscal_year_end", None),
           ("2024-03-01", "date", "06-30"), ("2024-03-01", None, None), ("2024-03-01", "date", "garbage"),
           (None, "fiscal_year_end", "06-30"), ("", "date", None), ("2024-13-01", "date", None),
           ("2024-07-01T00:00:00", "fiscal_year_end", "06-30")]
EMAILS = [None, "", " ", "Jan@Apora.NL ", " jan @ apora.nl", "mailto:Jan@Apora.nl", "MAILTO: jan@apora.nl",
          "mailto:", "no-at-sign", "jan\u00a0@apora.nl", "JAN@ÄPORA.NL", "İlker@x.tr", "ΣΑΣ@x.gr",
          "j.vandermast.oud@mastinstallatietechniek-tro9y.nl", "a@b@c"]
NAMES = [None, "", "   ", "Émile  de Vries", "  Jan-Willem van den Bergh ", "JANSEN", "Ærø Ødegård",
         "Łukasz Żółć", "Straße", "ĲSSEL", "İlker", "ΟΔΥΣΣΕΥΣ", "Ｆｕｌｌ\u3000Ｗｉｄｔｈ", "ﬁnn", "Zoë\u00a0Smit",
         "Jansen\tde\nWit", "Nguyễn Văn A", "D'Artagnan", "e\u0301mile", "\u0301"]
PHONES_SAME = [None, "", " ", "+31 (0)6-12345678", "0031 6 1234 5678", "06-12345678", "06 12345678", "0612345678",
               "+31612345678", "+31 6 1234 5678", "(06) 12345678", "06.12.34.56.78", "020-1234567", "+31 20 123 4567",
               "0800 1234", "0900-1234567", "612345678", "31612345678", "31 20 1234567", "0000 123", "12", "06-1234567",
               "06-123456789", "+31 6 1234", "(+31) 6 12345678", "+31-6-1234-5678.", "+44 20 7946 0958",
               "+44 (0)20 7946 0958", "0044 20 7946 0958", "+1 212 555 1234", "001 212 555 1234", "+49 30 123456",
               "0049 30 123456", "+49 030 123456", "+39 06 1234 5678", "+800 1234 5678", "+0 123", "+999 1234567",
               "+32 2 123 45 67", "+33 1 23 45 67 89", "0033 6 12 34 56 78", "+", "00", "---", "06\u00a012345678",
               "06\t12345678"]
PHONES_SAME += ["Tel: 06-12345678", "tel:+31612345678", "(+0049 30 123456", "+0031 6 12345678", "06-12345678.",
                "(1/1 2/628550+", "phone 0031-6-1234-5678 ", "06 12345678 ext 12 \u0661"]
# phonenumbers finds a number in these, the SQL approximation (top of postgres.sql) does not: it answers NULL.
PHONES_NOT_LIKE_PHONENUMBERS = ["06 12345678 ext 12", "06-12345678 x12", "06-12345678~12", "0800-FLOWERS",
                                "\u0660\u0666\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668", "06\u201312345678",
                                "+31 6 1234 5678 #1", "\uff0b31 6 12345678", "06 1234 5678 / x 9"]
# national prefixes that phonenumbers strips with its country's own rules (carrier codes, rewrites):
# the SQL approximation keeps (or drops) them by possible lengths alone, and answers differently
PHONES_OTHER_PREFIX_RULES = ["+5 50829 4-1367", "(+81073-600154278", "+6722332-8", "(+570523990899"]


@pytest.mark.parametrize("value", DATES)
def test_date_and_julianday_read_texts_as_sqlite_does(pg, lite, value):
    assert_same(pg, lite, "date", value)
    assert_same(pg, lite, "julianday", value)


@pytest.mark.parametrize("value", NOT_LIKE_SQLITE_DATES)
def test_now_is_null_in_postgresql_where_sqlite_reads_the_clock(pg, lite, value):
    assert in_sqlite(lite, "date", value) is not None
    assert in_postgres(pg, "date", value) is None
    assert in_postgres(pg, "julianday", value) is None


def test_catalogue_calls_with_params_subqueries_resolve_and_agree(pg, lite):
    """P15's day count against an integer parameter, P09's deadline read from params."""
    queries = ["SELECT julianday(date(a)) - julianday(date(b)) > CAST((SELECT value FROM params WHERE name = 'max') AS INTEGER) "
               "FROM (SELECT CAST('2024-03-01 10:00' AS TEXT) AS a, CAST('2024-01-01' AS TEXT) AS b) AS t",
               "SELECT add_period(CAST('2024-01-31' AS TEXT), (SELECT value FROM params WHERE name = 'deadline'))",
               "SELECT add_period(CAST('2024-01-31' AS TEXT), 'P' || (SELECT value FROM params WHERE name = 'max') || 'D')"]
    for db in (pg, lite):
        db.execute("CREATE TEMP TABLE params (name text, value text)")
        db.execute("INSERT INTO params VALUES ('max', '59'), ('deadline', 'P1M')")
    assert [pg.execute(q).fetchone()[0] for q in queries] == [True, "2024-02-29", "2024-03-30"]
    assert [lite.execute(q).fetchone()[0] for q in queries] == [1, "2024-02-29", "2024-03-30"]


@pytest.mark.parametrize("value,start,length", SLICES)
def test_substr_and_instr_follow_sqlite_also_for_negative_and_zero_arguments(pg, lite, value, start, length):
    assert_same(pg, lite, "substr", value, start, length)
    assert_same(pg, lite, "substr2", value, start)
    assert_same(pg, lite, "instr", value, "__" if start is None else (value or "")[1:2])


@pytest.mark.parametrize("value", ["Correction", "ÉMILE Ærø", "İstanbul", "", None])
def test_lower_folds_ascii_letters_only_as_sqlite_does(pg, lite, value):
    assert_same(pg, lite, "lower", value)


def test_group_concat_joins_with_commas_and_leaves_nulls_out(pg, lite):
    query = "SELECT group_concat(x) FROM (SELECT CAST(NULL AS TEXT) AS x UNION ALL SELECT '' UNION ALL SELECT NULL) AS t"
    assert pg.execute(query).fetchone()[0] == lite.execute(query).fetchone()[0] == ""
    pairs = "SELECT group_concat(x) FROM (SELECT CAST('b' AS TEXT) AS x UNION ALL SELECT 'b' UNION ALL SELECT NULL) AS t"
    assert pg.execute(pairs).fetchone()[0] == lite.execute(pairs).fetchone()[0] == "b,b"
    none = "SELECT group_concat(x) FROM (SELECT CAST('a' AS TEXT) AS x) AS t WHERE x <> 'a'"
    assert pg.execute(none).fetchone()[0] is lite.execute(none).fetchone()[0] is None


@pytest.mark.parametrize("value,period", CALENDAR)
def test_add_period_is_relativedelta_arithmetic_with_the_same_errors(pg, lite, value, period):
    assert_same(pg, lite, "add_period", value, period)


@pytest.mark.parametrize("value,month_day", FISCAL)
def test_fiscal_year_end_matches_python(pg, lite, value, month_day):
    assert_same(pg, lite, "fiscal_year_end", value, month_day)


@pytest.mark.parametrize("value,anchor,month_day", ANCHORS)
def test_retention_start_matches_python(pg, lite, value, anchor, month_day):
    assert_same(pg, lite, "retention_start", value, anchor, month_day)


def test_non_ascii_digits_in_periods_and_month_days_raise_in_postgresql_where_python_reads_them(pg, lite):
    assert in_sqlite(lite, "add_period", "2024-01-31", "P\u0661M") == "2024-02-29"
    assert in_postgres(pg, "add_period", "2024-01-31", "P\u0661M") == ERROR
    assert in_sqlite(lite, "fiscal_year_end", "2024-01-31", "\u0666-30") == "2024-06-30"
    assert in_postgres(pg, "fiscal_year_end", "2024-01-31", "\u0666-30") == ERROR


def test_month_ends_clamp_as_relativedelta_does(pg):
    assert in_postgres(pg, "add_period", "2024-01-31", "P1M") == "2024-02-29"
    assert in_postgres(pg, "add_period", "2023-01-31", "P1M") == "2023-02-28"
    assert in_postgres(pg, "add_period", "2024-02-29", "P1Y") == "2025-02-28"
    assert in_postgres(pg, "add_period", "2024-08-31", "P1Y6M") == "2026-02-28"
    assert in_postgres(pg, "add_period", "2024-01-31", "P1M1D") == "2024-03-01"


def test_normalisers_match_identity_on_hand_picked_values(pg, lite):
    assert_same_batch(pg, lite, "norm_email", EMAILS)
    assert_same_batch(pg, lite, "norm_name", NAMES)
    assert_same_batch(pg, lite, "norm_phone", PHONES_SAME)


@pytest.mark.parametrize("value", PHONES_NOT_LIKE_PHONENUMBERS)
def test_phone_shapes_beyond_the_sql_approximation_are_null_where_phonenumbers_finds_a_number(pg, lite, value):
    assert in_sqlite(lite, "norm_phone", value) is not None
    assert in_postgres(pg, "norm_phone", value) is None


@pytest.mark.parametrize("value", PHONES_OTHER_PREFIX_RULES)
def test_foreign_national_prefix_rules_are_approximated(pg, lite, value):
    assert in_postgres(pg, "norm_phone", value) != in_sqlite(lite, "norm_phone", value)


def test_the_copied_phone_metadata_matches_phonenumbers(pg):
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        meta = metadata(code)
        trunk = meta.national_prefix if (meta.national_prefix or "").isdigit() and not meta.national_prefix_transform_rule else ""
        expected = [list(meta.general_desc.possible_length), list(meta.general_desc.possible_length_local_only or ()), trunk]
        assert pg.execute("SELECT phone_country(%s)", (str(code),)).fetchone()[0] == expected, code
    assert pg.execute("SELECT phone_country('999')").fetchone()[0] is None


def test_the_combining_marks_are_those_of_pythons_unicodedata(pg):
    marks = "".join(chr(c) for c in range(0x110000) if unicodedata.combining(chr(c)))
    assert pg.execute("SELECT norm_name('a' || %s::text || 'b')", (marks,)).fetchone()[0] == "ab"
    spaces = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
    assert pg.execute("SELECT norm_name(%s::text || 'a' || %s::text || 'b' || %s::text)", (spaces, spaces, spaces)).fetchone()[0] == "a b"


# --- what the demo workspace holds ---------------------------------------------------------------


def demo_cells(folder: Path) -> list[str]:
    """Every distinct cell of the demo's CSV files, and the old and new values of its correction requests."""
    cells: set[str] = set()
    for path in sorted(folder.rglob("*.csv")):
        with path.open(encoding="utf-8", errors="replace", newline="") as handle:  # some exports are cp1252
            for row in csv.reader(handle):
                cells.update(row)
    with (folder / "governance" / "privacy_requests.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if "->" in row["Details"]:
                field, change = row["Details"].split(":", 1)
                cells.update(part.strip() for part in change.split("->"))
    return sorted(cells)


def test_the_demo_workspace_values_answer_the_same(pg, lite, demo_workspace):
    cells = demo_cells(demo_workspace)
    assert len(cells) > 1000
    for fn in ("date", "julianday", "norm_email", "norm_name"):
        assert_same_batch(pg, lite, fn, cells)
    phones = [c for c in cells if c[:1] in "+0(" and sum(ch.isdigit() for ch in c) >= 6 and "@" not in c]
    assert any("06-" in p for p in phones)
    assert_same_batch(pg, lite, "norm_phone", phones)
    iso_days = [c for c in cells if len(c) >= 10 and c[4:5] == "-" and c[:4].isdigit()]
    assert len(iso_days) > 100
    for value in iso_days[:200]:
        assert_same(pg, lite, "add_period", value, "P1Y6M")
        assert_same(pg, lite, "retention_start", value, "fiscal_year_end", "06-30")


# --- hypothesis ----------------------------------------------------------------------------------

WHITESPACE = st.sampled_from(["", " ", "  ", "\t", "\n", "\v", "T", "TT", " T "])
TWO = st.integers(0, 99).map(lambda n: f"{n:02d}")
date_part = st.builds(lambda sign, y, m, d: f"{sign}{y:04d}-{m:02d}-{d:02d}", st.sampled_from(["", "", "-"]),
                      st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32))
time_part = st.builds(lambda h, m, s, frac, tz, tail: f"{h}:{m}{s}{frac}{tz}{tail}",
                      TWO, st.integers(0, 61).map(lambda n: f"{n:02d}"),
                      st.one_of(st.just(""), TWO.map(lambda s: ":" + s)),
                      st.one_of(st.just(""), st.text(string.digits, min_size=1, max_size=7).map(lambda f: "." + f)),
                      st.sampled_from(["", "Z", "z", " Z", "+02:00", "-01:30", "+14:59", "+15:00", " -00:00", "+2:00"]),
                      st.sampled_from(["", " ", "\t", " x"]))
sqlite_texts = st.one_of(
    st.builds(lambda d, sep, t: d + sep + t, date_part, WHITESPACE, st.one_of(st.just(""), time_part)),
    time_part,
    st.floats(-10, 6e6, allow_nan=False).map(repr),
    st.integers(-10, 6_000_000).map(str),
    st.text(alphabet=string.digits + "-:.TZ +e", max_size=20),
)


@FAST
@given(value=sqlite_texts)
def test_generated_date_texts_read_as_sqlite_reads_them(pg, lite, value):
    assert_same(pg, lite, "date", value)
    assert_same(pg, lite, "julianday", value)


@FAST
@given(value=st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cn")).filter(lambda c: c != "\x00"),
                                          max_size=8)),
       start=st.one_of(st.none(), st.integers(-12, 12)), length=st.one_of(st.none(), st.integers(-12, 12)))
def test_generated_slices_follow_sqlite(pg, lite, value, start, length):
    assert_same(pg, lite, "substr", value, start, length)
    assert_same(pg, lite, "substr2", value, start)


day_texts = st.builds(lambda d, shape, tail: shape(d) + tail, st.dates(),
                      st.sampled_from([lambda d: d.isoformat(), lambda d: d.strftime("%Y%m%d"),
                                       lambda d: "%04d-W%02d-%d" % d.isocalendar(), lambda d: "%04dW%02d%d" % d.isocalendar(),
                                       lambda d: d.isoformat()[:8] + "31"]),
                      st.sampled_from(["", "T10:00:00", " 23:59", "Z", "  "]))
periods = st.builds(lambda y, m, w, d: "P" + "".join(f"{n}{u}" for n, u in ((y, "Y"), (m, "M"), (w, "W"), (d, "D")) if n is not None) or "P0D",
                    *[st.one_of(st.none(), st.integers(0, 40)) for _ in range(4)])


@FAST
@given(value=day_texts, period=periods, month=st.integers(1, 12), dom=st.integers(1, 31))
def test_generated_calendar_arithmetic_matches_python(pg, lite, value, period, month, dom):
    assert_same(pg, lite, "add_period", value, period)
    assert_same(pg, lite, "fiscal_year_end", value, f"{month:02d}-{dom:02d}")
    assert_same(pg, lite, "retention_start", value, "fiscal_year_end", f"{month}-{dom}")


# the characters Unicode 14 (Python 3.11) assigns; PostgreSQL text holds no NUL and no surrogate
assigned = st.characters(blacklist_categories=("Cs", "Cn", "Co")).filter(lambda c: c != "\x00")


@FAST
@given(name=st.text(alphabet=st.one_of(assigned, st.sampled_from("ÉéÅåØøßİıΣσς \u00a0\u3000\u0301\u0308")), max_size=12))
def test_generated_names_and_emails_fold_as_python_folds_them(pg, lite, name):
    assert_same(pg, lite, "norm_name", name)
    assert_same(pg, lite, "norm_email", name)
    assert_same(pg, lite, "norm_email", "mailto:" + name + "@" + name)


SEPARATORS = st.sampled_from(["", " ", "-", ".", "/", "(", ")", " - ", "\u00a0"])
dutch = st.builds(lambda prefix, digits, seps: prefix + "".join(s + d for s, d in zip(seps, digits)),
                  st.sampled_from(["0", "+31", "+31 (0)", "0031 ", "0031 0", "31", "", "+310", "00"]),
                  st.text(string.digits, min_size=1, max_size=13), st.lists(SEPARATORS, min_size=13, max_size=13))


def metadata(code: int) -> Any:
    from phonenumbers import PhoneMetadata
    from phonenumbers.phonenumberutil import region_code_for_country_code

    region = region_code_for_country_code(code)
    return PhoneMetadata.metadata_for_nongeo_region(code) if region == "001" else PhoneMetadata.metadata_for_region(region)


# countries whose national prefix is a plain prefix (no carrier codes, no rewrites): outside them the
# prefix rules are approximated (PHONES_OTHER_PREFIX_RULES)
PLAIN_PREFIX = sorted(c for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
                      if metadata(c).national_prefix_transform_rule is None
                      and metadata(c).national_prefix_for_parsing in (None, metadata(c).national_prefix))


def clean_foreign(code: int, digits: str) -> str:
    """'+<code> <digits>' whose national number does not start with the country's trunk prefix."""
    trunk = metadata(code).national_prefix or "#"
    if digits.startswith(trunk):
        digits = ("2" if trunk.startswith("1") else "1") + digits[1:]
    return f"+{code} {digits}"


foreign = st.builds(clean_foreign, st.sampled_from(PLAIN_PREFIX), st.text(string.digits, min_size=1, max_size=15))


@FAST
@given(phone=st.one_of(dutch, foreign))
def test_generated_dutch_and_clean_international_phones_match_phonenumbers(pg, lite, phone):
    assert_same(pg, lite, "norm_phone", phone)
