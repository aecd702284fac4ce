"""What the notebooks show: every row, the rows that need action first, long text whole, nothing unescaped."""
from __future__ import annotations

import pandas as pd

from datamap import show


def rows(n: int) -> list[dict]:
    return [{"field": f"col_{i}", "status": "undeclared" if i in (50, 70) else "declared",
             "detail": "a long explanation " * 8} for i in range(n)]


def test_a_table_keeps_every_row_and_puts_the_ones_that_need_action_first():
    t = show.table(rows(93), first={"status": "undeclared"})
    text = repr(t)
    lines = text.splitlines()
    assert lines[0] == "93 row(s); 2 with status undeclared, marked and first"
    assert len(lines) == 2 + 93 and "..." not in text
    assert [line.split()[0] for line in lines[2:4]] == ["col_50", "col_70"]
    assert t.marked[:3] == [True, True, False]
    assert ("a long explanation " * 8).strip() in text, "long text whole, not cut at 50 characters"


def test_the_html_scrolls_instead_of_eliding_and_escapes_what_it_shows():
    t = show.table([{"name": "<script>x</script>", "key": "user.government_id.national_identification_number.bsn"}])
    html = t._repr_html_()
    assert "overflow:auto" in html and "<script>x" not in html and "&lt;script&gt;" in html
    assert "user.<wbr>government_<wbr>id." in html, "a long key may break after its dots and underscores"


def test_a_pandas_index_becomes_a_column_and_missing_values_show_as_nothing():
    frame = pd.DataFrame({"status": ["failed", None], "n": [1.0, float("nan")]}, index=pd.Index(["P01", "P02"], name="claim"))
    lines = repr(show.table(frame, first={"status": "failed"})).splitlines()
    assert lines[1].split() == ["claim", "status", "n"]
    assert lines[2].split() == ["P01", "failed", "1"]
    assert lines[3].split() == ["P02"]


def test_facts_are_a_two_column_table_not_a_python_repr():
    text = repr(show.facts({"precision": 1.0, "misses": ("a.b", "c.d")}))
    assert "{" not in text and "a.b, c.d" in text
