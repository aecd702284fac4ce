"""What the audit's faster paths must keep: the same answers as the plain ones they replaced.

The calendar functions memoise on the day they read; P05 runs the calendar once a day; P09 finds
answers with a left join; discovery samples the audit store instead of parsing the sources again;
a query's rows beyond GE's first page (the restricted list too) come in one more run.
"""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from datamap.audit.catalogue import DEFAULT_DIR, expand, load_catalogue
from datamap.audit.params import add_period, fiscal_year_end, retention_start, write_params


def test_the_calendar_reads_the_day_of_a_date_or_timestamp():
    assert add_period("2024-01-31 23:59:59", "P1M") == add_period("2024-01-31", "P1M") == "2024-02-29"
    assert add_period("  2024-08-31 08:00 ", "P6M") == "2025-02-28"
    assert retention_start("2023-05-01 10:00:00", "fiscal_year_end", "12-31") == "2023-12-31"
    assert retention_start("2023-05-01 10:00:00", "date", "12-31") == "2023-05-01"
    assert fiscal_year_end("2023-07-01 00:00:01", "06-30") == "2024-06-30"
    assert [add_period(v, "P1Y") for v in (None, "", "   ")] == [None, None, None]
    assert add_period("2024-01-01", None) is None
    with pytest.raises(ValueError):
        add_period("01-02-2024", "P1Y")  # not ISO: an error, never a silent NULL
