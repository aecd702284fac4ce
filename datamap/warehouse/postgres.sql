-- datamap's SQL dialect layer for PostgreSQL: the functions the check catalogue calls.
--
-- Why: a catalogue check (datamap/checks/P*.yml, kind: sql) is written once, in the SQL SQLite
-- understands, and runs unchanged on a PostgreSQL audit store. The functions below live in the
-- schema datamap_sql, which datamap.warehouse.postgres puts on the search_path BEFORE pg_catalog:
-- where PostgreSQL has a function of the same name and argument types (substr), ours wins; where
-- it has none (instr, julianday, group_concat, datamap's own), ours is the only one.
--
-- Each function answers as SQLite does on text (the store's columns and the params values are
-- text), and datamap's functions answer as their Python originals in datamap/audit/params.py
-- (SQL_FUNCTIONS) do: the same value for the same text, NULL where Python returns None, and an
-- error where Python raises (a check that errors in SQLite errors here too).
-- tests/test_warehouse_functions.py holds every function to that against SQLite on a real server.
--
-- The file is idempotent (CREATE OR REPLACE) and needs PostgreSQL 13+ (normalize) built with ICU
-- (the collation "und-x-icu", for Python's Unicode lower-casing; Debian's and the official images
-- are). Every body names its callees with their schema, so it runs under any search_path.
--
-- Where the answer differs (the test asserts each difference it can show, as expected):
-- * date(), julianday() follow SQLite 3.40 (the version the tests run); they return NULL for
--   'now' (SQLite: today; an IMMUTABLE function cannot read the clock). In theory, fractional
--   seconds of more than 15 digits could round the millisecond differently (never seen).
-- * add_period, fiscal_year_end, retention_start: Python reads non-ASCII digits in periods and
--   month-days ('P١M', int('٦')); these read ASCII digits only and raise instead.
-- * norm_email, norm_name: letter case comes from ICU, decompositions from PostgreSQL's Unicode
--   tables; both agree with Python 3.11 (Unicode 14) on every character Unicode 14 assigns, and
--   may not on characters assigned later.
-- * A function name that is also a type name, date, with a bare string literal, date('2024-01-31'),
--   is read by PostgreSQL as a cast to its date type, never as a call: write date(CAST(x AS TEXT)).
--   The catalogue passes columns and expressions, which are calls. date() of a timestamp column is
--   PostgreSQL's own date(timestamp) (a date, not text): the store's columns are text.
-- * norm_phone: the Dutch shapes (_DUTCH_PHONE in datamap/identity.py) are exact. Every other
--   number is parsed as phonenumbers.parse(text, 'NL') parses it, from its digits: what comes before
--   the first '+' or digit is dropped ('Tel: '), so are trailing separators, then '+' or the IDD 00
--   and a country code, else a Dutch national number. Two simplifications:
--   (1) the number itself may hold only '+'s first, ASCII digits and the separators
--       ' ' U+00A0 U+00AD U+200B U+2060 U+3000 ( ) [ ] . / -. Anything else gives NULL where
--       phonenumbers may still find a number: an extension ('ext. 12', 'x12', '~12', '#'), letters
--       (vanity numbers like 0800-FLOWERS), '*', non-ASCII digits, dashes or brackets (U+2013,
--       fullwidth forms), a second number after '/ x', a ';phone-context=' parameter.
--   (2) outside +31, a national prefix (the trunk 0 of '+44 (0)20 ...') is dropped by its digits
--       and the country's possible lengths alone. phonenumbers also applies the country's number
--       pattern and its national-prefix rules with carrier codes and rewrites (Argentina, Brazil,
--       Colombia, Japan, Korea, Mexico, Norfolk Island, ...): there the results can differ (a random
--       sweep of 37,700 digit-and-separator strings found 8 such numbers, all in those countries).
--   Dutch numbers (national, 0031, +31, or 31 without a prefix) follow phonenumbers exactly: NL's
--   possible lengths and its national number pattern are copied below. Whether a number is
--   possible is decided, as phonenumbers does, by its country's possible lengths (copied from
--   phonenumbers 9.0.43's metadata: regenerate them when phonenumbers is upgraded; the test says so).

CREATE SCHEMA IF NOT EXISTS datamap_sql;


-- --- helpers: Python's text rules ----------------------------------------------------------------

-- Raise an error from SQL: where Python raises (a date that is no date), the check must fail here too.
CREATE OR REPLACE FUNCTION datamap_sql.fail(message text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'data_exception', MESSAGE = message;
END $$;

-- Python's str.strip(): Unicode whitespace (U+00A0, U+3000, ...), where btrim takes spaces only.
-- The class is every character Python's str.isspace() (and re's \s) accepts.
CREATE OR REPLACE FUNCTION datamap_sql.py_strip(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT regexp_replace(value, '^[\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$', '', 'g') $$;

-- Python's int() of a text: surrounding whitespace, a sign, underscores between digits.
CREATE OR REPLACE FUNCTION datamap_sql.py_int(value text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN datamap_sql.py_strip(value) ~ '^[+-]?[0-9]+(_[0-9]+)*$'
              THEN replace(datamap_sql.py_strip(value), '_', '')::integer
              ELSE datamap_sql.fail('invalid literal for int(): ' || coalesce(quote_literal(value), 'NULL'))::integer END $$;


-- --- SQLite built-ins ----------------------------------------------------------------------------

-- SQLite's reading of a date/time text (date.c parseDateOrTime, SQLite 3.40), once, for date() and
-- julianday(): jd_ms is SQLite's iJD (milliseconds since Julian day 0), day what date() shows.
-- Accepted as SQLite accepts them: 'YYYY-MM-DD' (optionally '-' first), then any spaces or 'T's,
-- then 'HH:MM[:SS[.fff]]' with an optional 'Z' or '+HH:MM' offset (converted to UTC, as SQLite
-- does); a time alone (on 2000-01-01); or a number, read as a Julian day. Days up to 31 in every
-- month are accepted and run on into the next month, as in SQLite; NULL for anything else.
CREATE OR REPLACE FUNCTION datamap_sql.sqlite_instant(value text, OUT jd_ms bigint, OUT day text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  p text[];
  y integer := 2000; mo integer := 1; d integer := 1;
  h integer; mi integer; sec float8; frac float8 := 0; scale float8 := 1;
  tz integer := 0;
  yy integer; mm integer; a integer; b integer;
  r float8;
  k bigint;
  verbatim boolean := false;
  shown date;
BEGIN
  IF value IS NULL THEN
    RETURN;
  END IF;
  p := regexp_match(value,
    '^(?:(-?)([0-9]{4})-([0-9]{2})-([0-9]{2})[\u0009-\u000d T]*)?'
    '(?:([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?[\u0009-\u000d ]*'
    '(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))?[\u0009-\u000d ]*)?$');
  IF p IS NOT NULL AND (p[2] IS NOT NULL OR p[5] IS NOT NULL) THEN
    IF p[2] IS NOT NULL THEN
      y := p[2]::integer * CASE WHEN p[1] = '-' THEN -1 ELSE 1 END;
      mo := p[3]::integer;
      d := p[4]::integer;
      IF mo NOT BETWEEN 1 AND 12 OR d NOT BETWEEN 1 AND 31 THEN
        RETURN;
      END IF;
      verbatim := true;  -- SQLite shows the parsed Y-M-D unless an offset moved it
    END IF;
    IF y < -4713 THEN
      RETURN;
    END IF;
    -- computeJD, with C's truncating integer division (PostgreSQL's is the same)
    yy := y; mm := mo;
    IF mm <= 2 THEN
      yy := yy - 1; mm := mm + 12;
    END IF;
    a := yy / 100;
    b := 2 - a + a / 4;
    k := ((36525 * (yy + 4716) / 100) + (306001 * (mm + 1) / 10000) + d + b)::bigint * 86400000 - 131716800000;
    IF p[5] IS NOT NULL THEN
      h := p[5]::integer; mi := p[6]::integer; sec := coalesce(p[7], '0')::float8;
      IF h > 24 OR mi > 59 OR sec > 59 THEN
        RETURN;
      END IF;
      IF p[8] IS NOT NULL THEN  -- the fraction as SQLite sums it, digit by digit in doubles
        FOR i IN 1 .. length(p[8]) LOOP
          frac := frac * 10 + ascii(pg_catalog.substr(p[8], i, 1)) - 48;
          scale := scale * 10;
        END LOOP;
        frac := frac / scale;
      END IF;
      IF p[10] IS NOT NULL THEN
        IF p[11]::integer > 14 OR p[12]::integer > 59 THEN
          RETURN;
        END IF;
        tz := CASE WHEN p[10] = '-' THEN -1 ELSE 1 END * (p[11]::integer * 60 + p[12]::integer);
      END IF;
      k := k + h * 3600000 + mi * 60000 + trunc((sec + frac) * 1000 + 0.5)::bigint - tz::bigint * 60000;
      verbatim := verbatim AND tz = 0;
    END IF;
  ELSIF value ~ '^[\u0009-\u000d ]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[\u0009-\u000d ]*$' THEN
    BEGIN
      r := value::float8;
    EXCEPTION WHEN numeric_value_out_of_range THEN  -- SQLite reads 1e-400 as 0 and 1e400 as infinity
      r := CASE WHEN value ~ '[eE][\u0009-\u000d ]*-' THEN 0 END;
    END;
    IF r IS NULL OR NOT (r >= 0 AND r < 5373484.5) THEN
      RETURN;
    END IF;
    k := trunc(r * 86400000 + 0.5)::bigint;
  ELSE
    RETURN;  -- including 'now': SQLite reads the clock, an IMMUTABLE function cannot
  END IF;
  IF k < 0 OR k > 464269060799999 THEN  -- validJulianDay: 4713 BC to 9999 AD
    RETURN;
  END IF;
  jd_ms := k;
  IF verbatim THEN
    day := CASE WHEN y < 0 THEN '-' ELSE '' END || lpad(abs(y)::text, 4, '0') || '-'
           || lpad(mo::text, 2, '0') || '-' || lpad(d::text, 2, '0');
  ELSE  -- computeYMD: the proleptic Gregorian day of the Julian day, astronomical years (0 = 1 BC)
    shown := date '4714-11-24 BC' + ((k + 43200000) / 86400000)::integer;
    y := extract(year FROM shown)::integer;
    y := CASE WHEN y < 0 THEN y + 1 ELSE y END;
    day := CASE WHEN y < 0 THEN '-' ELSE '' END || lpad(abs(y)::text, 4, '0') || to_char(shown, '-MM-DD');
  END IF;
END $$;

-- SQLite's date(x): the 'YYYY-MM-DD' of a date or timestamp text, NULL when SQLite reads none.
-- PostgreSQL's date() takes a timestamp, not text. The common shapes ('YYYY-MM-DD', with a time
-- to the millisecond and no offset) are answered inline; the rest by sqlite_instant.
CREATE OR REPLACE FUNCTION datamap_sql.date(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN value ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,3})?)?)?$'
              THEN pg_catalog.left(value, 10)
              ELSE (datamap_sql.sqlite_instant(value)).day END $$;

-- SQLite's julianday(x): days since noon, 24 November 4714 BC, as a double; PostgreSQL has none.
-- Checks subtract two of them (julianday(date(a)) - julianday(date(b))). A date with an optional
-- time to the second (no offset) is computed here, as SQLite's milliseconds over 86400000.0, the
-- rest by sqlite_instant. PL/pgSQL: the argument is an expression (date(x)) read several times.
CREATE OR REPLACE FUNCTION datamap_sql.julianday(value text) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  ms bigint;
BEGIN
  IF value ~ '^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?)?$' THEN
    ms := (make_date(pg_catalog.left(value, 4)::integer, pg_catalog.substr(value, 6, 2)::integer, 1)
           - date '4714-11-24 BC' + pg_catalog.substr(value, 9, 2)::integer - 1)::bigint * 86400000 - 43200000;
    IF length(value) >= 16 THEN
      ms := ms + pg_catalog.substr(value, 12, 2)::bigint * 3600000 + pg_catalog.substr(value, 15, 2)::bigint * 60000;
    END IF;
    IF length(value) = 19 THEN
      ms := ms + pg_catalog.substr(value, 18, 2)::bigint * 1000;
    END IF;
    RETURN ms / 86400000.0::float8;
  END IF;
  RETURN (datamap_sql.sqlite_instant(value)).jd_ms / 86400000.0::float8;
END $$;

-- SQLite's lower(x) folds the ASCII letters only ('É' stays 'É'); PostgreSQL's folds by the database's
-- locale, so the same check could match other rows on another server. The catalogue means SQLite's.
CREATE OR REPLACE FUNCTION datamap_sql.lower(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT pg_catalog.translate(value, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') $$;

-- SQLite's instr(x, y): where y first occurs in x (1-based), 0 when it does not; PostgreSQL calls it strpos.
CREATE OR REPLACE FUNCTION datamap_sql.instr(value text, part text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT strpos(value, part) $$;

-- SQLite's substr with a start where the slice would begin counted 0-based: q < 0 clips the slice.
-- A NEGATIVE length takes the characters BEFORE the start (substr(x, 3, -2) is the first two);
-- PostgreSQL's substr raises on it. Catalogue queries rely on both: substr(t, 1, instr(t, '__') - 1)
-- is '' when there is no '__'.
CREATE OR REPLACE FUNCTION datamap_sql.sqlite_slice(value text, q integer, length integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN q IS NULL OR length IS NULL THEN NULL  -- greatest() and least() would pass over a NULL
              WHEN length >= 0
              THEN pg_catalog.substr(value, greatest(q, 0) + 1, greatest(length + least(q, 0), 0))
              ELSE pg_catalog.substr(value, greatest(greatest(q, 0) - greatest(least(q, 0) - length, 0), 0) + 1,
                                     least(greatest(q, 0), greatest(least(q, 0) - length, 0))) END $$;

-- SQLite's substr(x, start, length): 1-based; 0 starts before the first character (substr(x, 0, 2)
-- is one character); a negative start counts from the end; see sqlite_slice for a negative length.
CREATE OR REPLACE FUNCTION datamap_sql.substr(value text, start integer, length integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT datamap_sql.sqlite_slice(value,
           CASE WHEN start > 0 THEN start - 1 WHEN start < 0 THEN start + pg_catalog.length(value) WHEN start = 0 THEN -1 END,
           length) $$;

-- SQLite's substr(x, start): to the end, with the same start rules.
CREATE OR REPLACE FUNCTION datamap_sql.substr(value text, start integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN start > 0 THEN pg_catalog.substr(value, start)
              WHEN start = 0 THEN value
              WHEN start < 0 THEN pg_catalog.substr(value, greatest(start + pg_catalog.length(value), 0) + 1) END $$;

-- SQLite's group_concat(x): the values joined by ',', NULLs left out, NULL for none, in no stated
-- order. datamap.warehouse.postgres turns the catalogue's group_concat(DISTINCT x) into a sorted
-- string_agg, so no catalogue query needs this aggregate: it is here for a query written by hand.
CREATE OR REPLACE FUNCTION datamap_sql.comma_join(joined text, value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN value IS NULL THEN joined WHEN joined IS NULL THEN value ELSE joined || ',' || value END $$;

CREATE OR REPLACE AGGREGATE datamap_sql.group_concat(text) (
  SFUNC = datamap_sql.comma_join, STYPE = text, COMBINEFUNC = datamap_sql.comma_join, PARALLEL = SAFE);


-- --- datamap's calendar functions (datamap/audit/params.py, datamap/workspace.py) ----------------

-- The ISO week date (Python's date.fromisoformat): the Monday of week 1 holds 4 January; week 53
-- only in a year that has one, else Python raises.
CREATE OR REPLACE FUNCTION datamap_sql.iso_week_date(year integer, week integer, weekday integer) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN week BETWEEN 1 AND extract(week FROM make_date(year, 12, 28))::integer AND weekday BETWEEN 1 AND 7
              THEN make_date(year, 1, 4) - extract(isodow FROM make_date(year, 1, 4))::integer + 1
                   + (week - 1) * 7 + weekday - 1
              ELSE datamap_sql.fail('invalid ISO week date: ' || year::text || '-W' || week::text || '-' || weekday::text)::date END $$;

-- Python 3.11's date.fromisoformat on the ten characters params._day keeps: 'YYYY-MM-DD',
-- 'YYYYMMDD', 'YYYY-Www[-D]', 'YYYYWww[D]'. Python counts the length in UTF-8 bytes and, for the
-- compact shapes, ignores what follows the parsed part ('20240131T1' is 31 January). make_date
-- raises where Python raises (year 0, 30 February).
CREATE OR REPLACE FUNCTION datamap_sql.iso_prefix_date(head text) RETURNS date
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN CASE
    WHEN head IS NULL THEN NULL
    WHEN octet_length(head) = 10 AND head ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
      THEN make_date(pg_catalog.left(head, 4)::integer, pg_catalog.substr(head, 6, 2)::integer, pg_catalog.substr(head, 9, 2)::integer)
    WHEN octet_length(head) IN (8, 10) AND head ~ '^[0-9]{8}'
      THEN make_date(pg_catalog.left(head, 4)::integer, pg_catalog.substr(head, 5, 2)::integer, pg_catalog.substr(head, 7, 2)::integer)
    WHEN octet_length(head) = 8 AND head ~ '^[0-9]{4}-W[0-9]{2}$'
      THEN datamap_sql.iso_week_date(pg_catalog.left(head, 4)::integer, pg_catalog.substr(head, 7, 2)::integer, 1)
    WHEN octet_length(head) = 10 AND head ~ '^[0-9]{4}-W[0-9]{2}-[0-9]$'
      THEN datamap_sql.iso_week_date(pg_catalog.left(head, 4)::integer, pg_catalog.substr(head, 7, 2)::integer,
                                     pg_catalog.substr(head, 10, 1)::integer)
    WHEN octet_length(head) = 7 AND head ~ '^[0-9]{4}W[0-9]{2}$'
      THEN datamap_sql.iso_week_date(pg_catalog.left(head, 4)::integer, pg_catalog.substr(head, 6, 2)::integer, 1)
    WHEN octet_length(head) IN (8, 10) AND head ~ '^[0-9]{4}W[0-9]{3}'
      THEN datamap_sql.iso_week_date(pg_catalog.left(head, 4)::integer, pg_catalog.substr(head, 6, 2)::integer,
                                     pg_catalog.substr(head, 8, 1)::integer)
    ELSE datamap_sql.fail('Invalid isoformat string: ' || quote_literal(head))::date END;
END $$;

-- params._day then fromisoformat: the date part of a date or timestamp text, NULL for NULL or blank.
-- A value that starts 'YYYY-MM-DD' (nearly all) is read inline.
CREATE OR REPLACE FUNCTION datamap_sql.iso_date(value text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN value ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'
              THEN make_date(pg_catalog.left(value, 4)::integer, pg_catalog.substr(value, 6, 2)::integer,
                             pg_catalog.substr(value, 9, 2)::integer)
              ELSE datamap_sql.iso_prefix_date(nullif(pg_catalog.left(datamap_sql.py_strip(value), 10), '')) END $$;

-- date.isoformat(): Python has no year after 9999 and raises where PostgreSQL would go on. Built
-- from IMMUTABLE pieces: to_char() and format() are STABLE, and PostgreSQL inlines an IMMUTABLE
-- SQL function only when everything in it is IMMUTABLE.
CREATE OR REPLACE FUNCTION datamap_sql.iso_text(day date) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN day > date '9999-12-31' THEN datamap_sql.fail('year ' || extract(year FROM day)::text || ' is out of range')
              ELSE lpad(extract(year FROM day)::integer::text, 4, '0') || '-' || lpad(extract(month FROM day)::integer::text, 2, '0')
                   || '-' || lpad(extract(day FROM day)::integer::text, 2, '0') END $$;

-- workspace.parse_duration: an ISO-8601 date duration (P2Y, P6M, P2W, P14D, combined in that
-- order), else an error. PostgreSQL's own interval input would also take '1 day', 'PT1H' or 'P-1D'.
-- Added to a date, an interval adds the months first, clamped to the month's end ('2024-01-31' +
-- P1M is 29 February), then the days: the order relativedelta follows.
CREATE OR REPLACE FUNCTION datamap_sql.iso_period(period text) RETURNS interval
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  text_ text := datamap_sql.py_strip(period);
  parts text[];
  n integer;
BEGIN
  -- called once per row: one number and one unit (P1M, P30D) are read without capturing groups,
  -- which cost PostgreSQL several microseconds a call (so does a look-ahead: 'P' alone is tested apart)
  IF period ~ '^P[0-9]{1,9}[YMWD]$' THEN
    n := pg_catalog.substr(period, 2, length(period) - 2)::integer;
    RETURN CASE pg_catalog.right(period, 1) WHEN 'Y' THEN make_interval(years => n) WHEN 'M' THEN make_interval(months => n)
                                            WHEN 'W' THEN make_interval(weeks => n) ELSE make_interval(days => n) END;
  END IF;
  parts := regexp_match(text_, '^P(?:([0-9]+)Y)?(?:([0-9]+)M)?(?:([0-9]+)W)?(?:([0-9]+)D)?$');
  IF parts IS NULL OR text_ = 'P' THEN
    PERFORM datamap_sql.fail('not an ISO-8601 duration like P2Y, P6M or P14D: ' || coalesce(quote_literal(period), 'NULL'));
  END IF;
  RETURN make_interval(years => coalesce(parts[1], '0')::integer, months => coalesce(parts[2], '0')::integer,
                       weeks => coalesce(parts[3], '0')::integer, days => coalesce(parts[4], '0')::integer);
END $$;

-- add_period(value, period): value + period in calendar arithmetic, as 'YYYY-MM-DD'; NULL for a
-- NULL period or a NULL or blank value, and then the other is not read (as in Python).
-- PL/pgSQL, not SQL: a check passes the period as a subquery, (SELECT value FROM params ...), and
-- PostgreSQL does not inline an SQL function that reads such an argument twice.
CREATE OR REPLACE FUNCTION datamap_sql.add_period(value text, period text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  day date;
BEGIN
  IF period IS NULL THEN
    RETURN NULL;
  END IF;
  day := datamap_sql.iso_date(value);
  IF day IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN datamap_sql.iso_text((day + datamap_sql.iso_period(period))::date);
END $$;

-- workspace.fiscal_year_end_of: the last day of the fiscal year that holds day, month_day split as
-- Python splits it (two parts around '-', each an int()). Python's dt.date(year, month, day) raises
-- on an impossible end ('02-29' in a common year); make_date too.
CREATE OR REPLACE FUNCTION datamap_sql.fiscal_end(day date, month_day text) RETURNS date
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  parts text[] := string_to_array(month_day, '-');
  month integer;
  dom integer;
  year integer := extract(year FROM day)::integer;
BEGIN
  IF cardinality(parts) <> 2 THEN
    PERFORM datamap_sql.fail('a fiscal year end is month-day like 06-30, not ' || quote_literal(month_day));
  END IF;
  month := datamap_sql.py_int(parts[1]);
  dom := datamap_sql.py_int(parts[2]);
  IF day <= make_date(year, month, dom) THEN
    RETURN make_date(year, month, dom);
  END IF;
  RETURN make_date(year + 1, month, dom);
END $$;

-- fiscal_year_end(value, month_day): params.fiscal_year_end; a NULL or empty month_day is '12-31'.
CREATE OR REPLACE FUNCTION datamap_sql.fiscal_year_end(value text, month_day text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  day date := datamap_sql.iso_date(value);
BEGIN
  IF day IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN datamap_sql.iso_text(datamap_sql.fiscal_end(day, coalesce(nullif(month_day, ''), '12-31')));
END $$;

-- retention_start(value, anchor, month_day): where a retention period starts, the date itself or,
-- for the Dutch fiscal duty (anchor 'fiscal_year_end'), the end of its fiscal year.
CREATE OR REPLACE FUNCTION datamap_sql.retention_start(value text, anchor text, month_day text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF anchor = 'fiscal_year_end' THEN
    RETURN datamap_sql.fiscal_year_end(value, month_day);
  END IF;
  RETURN datamap_sql.iso_text(datamap_sql.iso_date(value));
END $$;


-- --- datamap's normalisers (datamap/identity.py), for correction values read in SQL (P07) ---------

CREATE OR REPLACE FUNCTION datamap_sql.email_or_null(address text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN strpos(address, '@') > 0 THEN address END $$;

-- normalise_email: no whitespace anywhere, lower case (Python's full Unicode mapping, which ICU
-- shares and the C locale's lower() lacks), no 'mailto:'; NULL without an '@'.
CREATE OR REPLACE FUNCTION datamap_sql.norm_email(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT datamap_sql.email_or_null(regexp_replace(
           pg_catalog.lower(regexp_replace(value, '[\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+', '', 'g') COLLATE "und-x-icu"), '^mailto:', '')) $$;

-- normalise_name: lower case, NFKD, combining marks dropped (Émile -> emile), whitespace runs
-- made one space, stripped, lower case again; NULL when nothing is left. The class below is every
-- character with a nonzero canonical combining class (unicodedata.combining, Unicode 14), which
-- PostgreSQL's regular expressions cannot name.
CREATE OR REPLACE FUNCTION datamap_sql.norm_name(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT nullif(pg_catalog.lower(btrim(regexp_replace(regexp_replace(normalize(pg_catalog.lower(value COLLATE "und-x-icu"), NFKD),
    '['
    '\u0300-\u034e\u0350-\u036f\u0483-\u0487\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7'
    '\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed\u0711'
    '\u0730-\u074a\u07eb-\u07f3\u07fd\u0816-\u0819\u081b-\u0823\u0825-\u0827\u0829-\u082d'
    '\u0859-\u085b\u0898-\u089f\u08ca-\u08e1\u08e3-\u08ff\u093c\u094d\u0951-\u0954\u09bc\u09cd\u09fe'
    '\u0a3c\u0a4d\u0abc\u0acd\u0b3c\u0b4d\u0bcd\u0c3c\u0c4d\u0c55\u0c56\u0cbc\u0ccd\u0d3b\u0d3c\u0d4d'
    '\u0dca\u0e38-\u0e3a\u0e48-\u0e4b\u0eb8-\u0eba\u0ec8-\u0ecb\u0f18\u0f19\u0f35\u0f37\u0f39\u0f71'
    '\u0f72\u0f74\u0f7a-\u0f7d\u0f80\u0f82-\u0f84\u0f86\u0f87\u0fc6\u1037\u1039\u103a\u108d'
    '\u135d-\u135f\u1714\u1715\u1734\u17d2\u17dd\u18a9\u1939-\u193b\u1a17\u1a18\u1a60\u1a75-\u1a7c'
    '\u1a7f\u1ab0-\u1abd\u1abf-\u1ace\u1b34\u1b44\u1b6b-\u1b73\u1baa\u1bab\u1be6\u1bf2\u1bf3\u1c37'
    '\u1cd0-\u1cd2\u1cd4-\u1ce0\u1ce2-\u1ce8\u1ced\u1cf4\u1cf8\u1cf9\u1dc0-\u1dff\u20d0-\u20dc\u20e1'
    '\u20e5-\u20f0\u2cef-\u2cf1\u2d7f\u2de0-\u2dff\u302a-\u302f\u3099\u309a\ua66f\ua674-\ua67d\ua69e'
    '\ua69f\ua6f0\ua6f1\ua806\ua82c\ua8c4\ua8e0-\ua8f1\ua92b-\ua92d\ua953\ua9b3\ua9c0\uaab0'
    '\uaab2-\uaab4\uaab7\uaab8\uaabe\uaabf\uaac1\uaaf6\uabed\ufb1e\ufe20-\ufe2f\U000101fd\U000102e0'
    '\U00010376-\U0001037a\U00010a0d\U00010a0f\U00010a38-\U00010a3a\U00010a3f\U00010ae5\U00010ae6'
    '\U00010d24-\U00010d27\U00010eab\U00010eac\U00010f46-\U00010f50\U00010f82-\U00010f85\U00011046'
    '\U00011070\U0001107f\U000110b9\U000110ba\U00011100-\U00011102\U00011133\U00011134\U00011173'
    '\U000111c0\U000111ca\U00011235\U00011236\U000112e9\U000112ea\U0001133b\U0001133c\U0001134d'
    '\U00011366-\U0001136c\U00011370-\U00011374\U00011442\U00011446\U0001145e\U000114c2\U000114c3'
    '\U000115bf\U000115c0\U0001163f\U000116b6\U000116b7\U0001172b\U00011839\U0001183a\U0001193d'
    '\U0001193e\U00011943\U000119e0\U00011a34\U00011a47\U00011a99\U00011c3f\U00011d42\U00011d44'
    '\U00011d45\U00011d97\U00016af0-\U00016af4\U00016b30-\U00016b36\U00016ff0\U00016ff1\U0001bc9e'
    '\U0001d165-\U0001d169\U0001d16d-\U0001d172\U0001d17b-\U0001d182\U0001d185-\U0001d18b'
    '\U0001d1aa-\U0001d1ad\U0001d242-\U0001d244\U0001e000-\U0001e006\U0001e008-\U0001e018'
    '\U0001e01b-\U0001e021\U0001e023\U0001e024\U0001e026-\U0001e02a\U0001e130-\U0001e136\U0001e2ae'
    '\U0001e2ec-\U0001e2ef\U0001e8d0-\U0001e8d6\U0001e944-\U0001e94a'
    ']', '', 'g'),
    '[\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+', ' ', 'g'), ' ') COLLATE "und-x-icu"), '') $$;

-- Where phonenumbers puts a national significant number of this many digits, against its
-- country's possible lengths (phonenumberutil._test_number_length): possible, local (only),
-- short, long or invalid.
CREATE OR REPLACE FUNCTION datamap_sql.phone_fit(digits integer, possible integer[], local_only integer[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN digits = ANY (local_only) THEN 'local'
              WHEN digits = possible[1] THEN 'possible'
              WHEN digits < possible[1] THEN 'short'
              WHEN digits > possible[cardinality(possible)] THEN 'long'
              WHEN digits = ANY (possible) THEN 'possible'
              ELSE 'invalid' END $$;

-- phonenumbers' metadata per country calling code: its possible lengths, local-only lengths and
-- national (trunk) prefix ('' where there is none, or where it is rewritten rather than dropped).
-- Generated from phonenumbers 9.0.43 (tests/test_warehouse_functions.py checks it still matches).
CREATE OR REPLACE FUNCTION datamap_sql.phone_country(calling_code text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ('{'
          '"1":[[10],[7],"1"],"7":[[10,14],[7],"8"],"20":[[8,9,10],[6,7],"0"],"27":[[5,6,7,8,9,10],[],"0"],'
          '"30":[[10,11,12],[],""],"31":[[5,6,7,8,9,10,11],[],"0"],"32":[[8,9],[],"0"],"33":[[9],[],"0"],'
          '"34":[[9],[],""],"36":[[8,9],[6,7],"06"],"39":[[6,7,8,9,10,11,12],[],""],"40":[[6,9],[],"0"],'
          '"41":[[9,12],[],"0"],"43":[[4,5,6,7,8,9,10,11,12,13],[3],"0"],"44":[[7,9,10],[4,5,6,8],"0"],"45":[[8],[],""],'
          '"46":[[6,7,8,9,10,12],[],"0"],"47":[[5,8],[],""],"48":[[6,7,8,9,10],[],""],'
          '"49":[[4,5,6,7,8,9,10,11,12,13,14,15],[2,3],"0"],"51":[[8,9],[6,7],"0"],"52":[[10],[7,8],""],'
          '"53":[[6,7,8,10],[4,5],"0"],"54":[[10,11],[6,7,8],""],"55":[[8,9,10,11],[],""],"56":[[9,10,11],[],""],'
          '"57":[[8,10,11],[4,7],"0"],"58":[[10],[7],"0"],"60":[[8,9,10],[6,7],"0"],"61":[[5,6,7,8,9,10,12],[],"0"],'
          '"62":[[7,8,9,10,11,12,13,14,15,16,17],[5,6],"0"],"63":[[6,8,9,10,11,12,13],[4,5,7],"0"],'
          '"64":[[5,6,7,8,9,10],[],"0"],"65":[[8,10,11],[],""],"66":[[8,9,10,13],[],"0"],'
          '"81":[[8,9,10,11,12,13,14,15,16,17],[],""],"82":[[5,6,8,9,10,11,12,13,14],[3,4,7],"0"],'
          '"84":[[7,8,9,10],[],"0"],"86":[[7,8,9,10,11,12],[5,6],"0"],"90":[[7,10,12,13],[],"0"],'
          '"91":[[8,9,10,11,12,13],[6,7],"0"],"92":[[8,9,10,11,12],[5,6,7],"0"],"93":[[9],[7],"0"],"94":[[9],[7],"0"],'
          '"95":[[6,7,8,9,10],[5],"0"],"98":[[4,5,6,7,10],[8],"0"],"211":[[9],[],"0"],"212":[[9],[],"0"],'
          '"213":[[8,9],[],"0"],"216":[[8],[],""],"218":[[9],[7],"0"],"220":[[7,9],[],""],"221":[[9],[],""],'
          '"222":[[8],[],""],"223":[[8],[],""],"224":[[8,9],[],""],"225":[[10],[],""],"226":[[8],[],""],'
          '"227":[[8],[],""],"228":[[8],[],""],"229":[[10],[],""],"230":[[7,8,10],[],""],"231":[[7,8,9],[],"0"],'
          '"232":[[8],[6],"0"],"233":[[8,9],[7],"0"],"234":[[10,11,12,13,14],[6,7],"0"],"235":[[8],[],""],'
          '"236":[[8],[],""],"237":[[8,9],[],""],"238":[[7],[],""],"239":[[7],[],""],"240":[[9],[],""],'
          '"241":[[7,8],[],""],"242":[[9],[],""],"243":[[7,8,9,10],[],"0"],"244":[[9],[],""],"245":[[7,9],[],""],'
          '"246":[[7],[],""],"247":[[5,6],[],""],"248":[[7],[],""],"249":[[9],[],"0"],"250":[[8,9],[],"0"],'
          '"251":[[9],[7],"0"],"252":[[6,7,8,9],[],"0"],"253":[[8],[],""],"254":[[7,8,9,10],[],"0"],"255":[[9],[],"0"],'
          '"256":[[9],[5,6,7],"0"],"257":[[8],[],""],"258":[[8,9],[],""],"260":[[9],[6],"0"],"261":[[9],[7],""],'
          '"262":[[9],[],"0"],"263":[[7,9,10],[6],"0"],"264":[[8,9],[],"0"],"265":[[7,9],[],"0"],"266":[[8],[],""],'
          '"267":[[7,8,10],[],""],"268":[[8,9],[],""],"269":[[7],[4],""],"290":[[4,5],[],""],"291":[[7],[6],"0"],'
          '"297":[[7],[],""],"298":[[6],[],""],"299":[[6],[],""],"350":[[8],[],""],"351":[[9],[],""],'
          '"352":[[4,5,6,7,8,9,10,11],[],""],"353":[[7,8,9,10],[5,6],"0"],"354":[[7,9],[],""],"355":[[6,7,8,9],[5],"0"],'
          '"356":[[8],[],""],"357":[[8],[],""],"358":[[5,6,7,8,9,10,11,12],[],"0"],"359":[[6,7,8,9,12],[4,5],"0"],'
          '"370":[[8],[],"0"],"371":[[8],[],""],"372":[[7,8,10],[],""],"373":[[8],[],"0"],"374":[[8],[5,6],"0"],'
          '"375":[[6,7,8,9,10,11],[5],"8"],"376":[[6,8,9],[],""],"377":[[8,9],[],"0"],"378":[[8,10],[6],""],'
          '"380":[[9,10],[5,6,7],"0"],"381":[[6,7,8,9,10,11,12],[4,5],"0"],"382":[[8,9],[6],"0"],'
          '"383":[[8,9,10,11,12],[],"0"],"385":[[7,8,9],[6],"0"],"386":[[5,6,7,8],[],"0"],"387":[[8,9],[6],"0"],'
          '"389":[[8],[6,7],"0"],"420":[[9,10,11,12],[],""],"421":[[6,7,9],[],"0"],"423":[[7,9],[],"0"],'
          '"500":[[5],[],""],"501":[[7,11],[],""],"502":[[8,11],[],""],"503":[[7,8,11],[],""],"504":[[8,11],[],""],'
          '"505":[[8],[],""],"506":[[8,10],[],""],"507":[[7,8,10,11],[],""],"508":[[6,9],[],"0"],"509":[[8],[],""],'
          '"590":[[9],[],"0"],"591":[[8,9],[7],"0"],"592":[[7],[],""],"593":[[8,9,10,11],[7],"0"],"594":[[9],[],"0"],'
          '"595":[[6,7,8,9,10,11],[5],"0"],"596":[[9],[],"0"],"597":[[6,7],[],""],'
          '"598":[[4,5,6,7,8,9,10,11,12,13],[],"0"],"599":[[7,8],[],""],"670":[[7,8],[],""],"672":[[6],[5],""],'
          '"673":[[7],[],""],"674":[[7],[],""],"675":[[7,8],[],""],"676":[[5,7],[],""],"677":[[5,7],[],""],'
          '"678":[[5,7],[],""],"679":[[7,11],[],""],"680":[[7],[],""],"681":[[6,9],[],""],"682":[[5],[],""],'
          '"683":[[4,7],[],""],"685":[[5,6,7,10],[],""],"686":[[5,8],[],"0"],"687":[[6],[],""],"688":[[5,6,7],[],""],'
          '"689":[[6,8,9],[],""],"690":[[4,5,6,7],[],""],"691":[[7],[],""],"692":[[7],[],"1"],"800":[[8],[],""],'
          '"808":[[8],[],""],"850":[[8,10],[6,7],"0"],"852":[[5,6,7,8,9,11],[],""],"853":[[7,8],[],""],'
          '"855":[[8,9,10],[6,7],"0"],"856":[[8,9,10],[6],"0"],"870":[[9,12],[],""],"878":[[12],[],""],'
          '"880":[[6,7,8,9,10],[],"0"],"881":[[9,10],[],""],"882":[[7,8,9,10,11,12],[],""],"883":[[8,9,10,11,12],[],""],'
          '"886":[[7,8,9,10,11],[],"0"],"888":[[11],[],""],"960":[[7,10],[],""],"961":[[7,8],[],"0"],'
          '"962":[[8,9],[],"0"],"963":[[8,9],[6,7],"0"],"964":[[8,9,10],[6,7],"0"],"965":[[7,8],[],""],'
          '"966":[[9,10],[7],"0"],"967":[[7,8,9],[6],"0"],"968":[[7,8,9],[],""],"970":[[8,9,10],[7],"0"],'
          '"971":[[5,6,7,8,9,10,11,12],[],"0"],"972":[[7,8,9,10,11,12],[],"0"],"973":[[8],[],""],'
          '"974":[[7,8,9,11],[],""],"975":[[7,8],[6],""],"976":[[8,9,10],[4,5,6],"0"],"977":[[8,10,11],[6,7],"0"],'
          '"979":[[9],[8],""],"992":[[9],[3,5,6,7],""],"993":[[8],[],"8"],"994":[[9],[7],"0"],"995":[[9],[6,7],"0"],'
          '"996":[[9,10],[5,6],"0"],"998":[[9],[],""]'
          '}'::jsonb) -> calling_code $$;

-- NL's national number pattern (phonenumbers' general description), to decide as phonenumbers does
-- whether a Dutch number keeps its leading 0 or its leading 31.
CREATE OR REPLACE FUNCTION datamap_sql.dutch_viable(digits text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT digits ~ '^(?:(?:[124-7][0-9][0-9]|3(?:[02-9][0-9]|1[0-8]))[0-9]{6}|8[0-9]{6,9}|9[0-9]{6,10}|1[0-9]{4,5})$' $$;

-- phonenumbers' national prefix stripping for NL: drop the trunk 0 unless that turns a viable number into none.
CREATE OR REPLACE FUNCTION datamap_sql.dutch_trunk_dropped(digits text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN pg_catalog.left(digits, 1) = '0'
                   AND NOT (datamap_sql.dutch_viable(digits) AND NOT datamap_sql.dutch_viable(pg_catalog.substr(digits, 2)))
              THEN pg_catalog.substr(digits, 2) ELSE digits END $$;

-- A number's country and national significant number, finished as phonenumbers.parse finishes
-- them, then E.164 when the number is possible: '+' country code national number.
CREATE OR REPLACE FUNCTION datamap_sql.phone_e164(calling_code text, significant text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  country jsonb := datamap_sql.phone_country(calling_code);
  possible integer[];
  local_only integer[];
  trunk text;
  dropped text;
BEGIN
  IF country IS NULL OR length(significant) < 2 THEN
    RETURN NULL;
  END IF;
  possible := ARRAY(SELECT jsonb_array_elements_text(country -> 0)::integer);
  local_only := ARRAY(SELECT jsonb_array_elements_text(country -> 1)::integer);
  trunk := country ->> 2;
  IF calling_code = '31' THEN
    dropped := datamap_sql.dutch_trunk_dropped(significant);
  ELSIF trunk <> '' AND pg_catalog.left(significant, length(trunk)) = trunk THEN
    dropped := pg_catalog.substr(significant, length(trunk) + 1);
  ELSE
    dropped := significant;
  END IF;
  IF datamap_sql.phone_fit(length(dropped), possible, local_only) IN ('possible', 'long') THEN
    significant := dropped;
  END IF;
  IF length(significant) > 17 OR datamap_sql.phone_fit(length(significant), possible, local_only) NOT IN ('possible', 'local') THEN
    RETURN NULL;
  END IF;
  RETURN '+' || calling_code || significant;
END $$;

-- phonenumbers.parse(text, 'NL') for the numbers the Dutch shapes leave (see the top of this file
-- for what it cannot read). As phonenumbers does: whatever comes before the first '+' or digit is
-- dropped ('Tel: ', 'tel:'), and so are trailing separators; then '+' (or the IDD 00) and a country
-- code, else a Dutch national number, which may start with 31 without a '+' (taken as the country
-- code when phonenumbers would take it).
CREATE OR REPLACE FUNCTION datamap_sql.phone_parsed(text_ text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  parts text[] := regexp_match(text_, '^([^+0-9]*)(.*?)[\u0020-\u0022\u0024-\u002f\u003a-\u0040\u005b-\u0060\u007b-\u007e\u00a0\u3000]*$');
  number text := parts[2];
  plus boolean := pg_catalog.left(number, 1) = '+';
  digits text := regexp_replace(number, '[^0-9]', '', 'g');
  code text;
  rest text;
BEGIN
  -- junk before the number must be ASCII (a non-ASCII digit there would start the number for
  -- phonenumbers); the number itself only '+'s first, ASCII digits and phonenumbers' separators
  -- (not '~', which starts an extension)
  IF length(text_) > 250 OR parts[1] ~ '[^\u0020-\u007e]'
     OR number !~ '^\+*[0-9 \u00a0\u00ad\u200b\u2060\u3000()\[\]./-]*$' THEN
    RETURN NULL;
  END IF;
  IF plus AND digits ~ '^00[1-9]' THEN
    digits := pg_catalog.substr(digits, 3);  -- '+00 49 ...': the IDD after all (phonenumbers retries without the '+')
  ELSIF NOT plus AND digits ~ '^00[1-9]' THEN
    digits := pg_catalog.substr(digits, 3);
    plus := true;
  END IF;
  IF plus THEN
    IF length(digits) <= 2 OR pg_catalog.left(digits, 1) = '0' THEN
      RETURN NULL;
    END IF;
    FOR n IN 1 .. 3 LOOP
      code := pg_catalog.left(digits, n);
      EXIT WHEN datamap_sql.phone_country(code) IS NOT NULL;
      code := NULL;
    END LOOP;
    RETURN datamap_sql.phone_e164(code, pg_catalog.substr(digits, length(code) + 1));
  END IF;
  IF pg_catalog.left(digits, 2) = '31' THEN
    rest := datamap_sql.dutch_trunk_dropped(pg_catalog.substr(digits, 3));
    IF (NOT datamap_sql.dutch_viable(digits) AND datamap_sql.dutch_viable(rest)) OR length(digits) > 11 THEN
      RETURN datamap_sql.phone_e164('31', rest);
    END IF;
  END IF;
  RETURN datamap_sql.phone_e164('31', digits);
END $$;

-- The Dutch shapes first, exactly as _DUTCH_PHONE reads them (only ' -./()' removed, ASCII digits),
-- then phone_parsed.
CREATE OR REPLACE FUNCTION datamap_sql.phone_text(text_ text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN translate(text_, ' -./()', '') ~ '^(?:(?:\+31|0031)0?|0)[1-9][0-9]{8}$'
              THEN '+31' || pg_catalog.right(translate(text_, ' -./()', ''), 9)
              ELSE datamap_sql.phone_parsed(text_) END $$;

-- normalise_phone: E.164 ('+31612345678') or NULL; NULL for NULL or blank.
CREATE OR REPLACE FUNCTION datamap_sql.norm_phone(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT datamap_sql.phone_text(nullif(datamap_sql.py_strip(value), '')) $$;
