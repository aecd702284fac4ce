"""Whatever text an export holds, in whichever encoding and delimiter, it is read back as written."""
from __future__ import annotations

import csv
import io

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datamap.sources import read_collection
from datamap.workspace import load_workspace

# Text a Dutch export really holds: letters with diacritics, digits, the three delimiters, quotes,
# line breaks inside a value, leading and trailing spaces. Every character exists in cp1252.
ALPHABET = "abcxyzABCXYZéëïöüÉçñß’€0123 ,;\t\"'\n-.@"
value = st.text(alphabet=ALPHABET, max_size=12).filter(lambda v: v.strip() != "")
ENCODINGS = ("utf-8-sig", "utf-8", "cp1252")
DELIMITERS = (",", ";", "\t")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(value, value, value), min_size=0, max_size=6),
       encoding=st.sampled_from(ENCODINGS), delimiter=st.sampled_from(DELIMITERS))
def test_any_text_round_trips_through_the_csv_reader(sources_workspace, rows, encoding, delimiter):
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["Code", "Omschrijving", "Notitie"])
    writer.writerows(rows)
    (sources_workspace / "exports" / "extra.csv").write_bytes(out.getvalue().encode(encoding))
    sources = sources_workspace / "sources.yml"
    if "  extra:" not in sources.read_text():
        sources.write_text(sources.read_text() + "  extra:\n    product: generic\n    collections:\n"
                           "      notes: {file: exports/extra.csv}\n")
    frames = list(read_collection(load_workspace(sources_workspace), "extra", "notes", chunksize=4))
    frame = pd.concat(frames, ignore_index=True)
    assert list(frame.columns) == ["_row", "code", "omschrijving", "notitie"]
    assert list(frame["_row"]) == list(range(1, len(rows) + 1))
    assert [tuple(r) for r in frame[["code", "omschrijving", "notitie"]].itertuples(index=False, name=None)] == rows
