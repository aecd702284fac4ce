"""Shaping raw frames into the audit store's columns.

The frames carry the standard snake_case columns of ``formats.yml``, dates as ISO text in the
workspace time zone, booleans as 0/1, ``_row`` (the 1-based data row in the file, the message index
in an mbox, the row number of a table) and, for identifier columns, ``<col>__norm`` (normalised
through :mod:`datamap.identity`). A value that does not fit its column is BadInput naming the row.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from typing import TYPE_CHECKING, Any

from datamap import identity
from datamap.errors import BadInput
from datamap.sources.formats import SOURCES_FILE, snake
from datamap.sources.quoting import cell_text, header_text, shown_value
from datamap.sources.resolved import ResolvedSource, stored_column

if TYPE_CHECKING:
    import pandas as pd

_TIME_DIRECTIVE = re.compile(r"%[HIMSpfzTXcR]")


def map_headers(headers: list[str], src: ResolvedSource, where: str) -> list[str]:
    """Apply the workspace's ``columns:`` mapping and check the standard headers are all there."""
    mapping = {k.strip(): v for k, v in src.source.columns.items()}
    cleaned = [str(h).strip().lstrip("\ufeff") if h is not None else "" for h in headers]
    mapped = [mapping.get(h, h) for h in cleaned]
    required = list(src.fmt.headers)
    if required:
        present = set(mapped)
        missing = [h for h in required if h not in present]
        if len(missing) == len(required) and len(required) > 1:
            raise BadInput(where, None, "no header row: the first row names none of the standard columns",
                           f"expected {', '.join(required[:4])}, ...")
        other = [h for h in mapped if h and h not in required]
        if missing:
            raise BadInput(where, None, f"missing standard column{'s' if len(missing) > 1 else ''} "
                           + ", ".join(repr(m) for m in missing),
                           f"map your header to it with columns: in sources.yml {src.config_key}"
                           + (f"; headers there that are not standard: {', '.join(other)}" if other else ""))
    columns = [snake(h) for h in mapped]
    named = [("key", h) for h in [src.source.key] if h] + [("dates", h) for h in src.source.dates] + \
        [("identifiers", h) for h in src.source.identifiers] + [("values", h) for h in src.source.values]
    for option, header in named:
        if stored_column(src.source, header) not in columns:
            raise BadInput(SOURCES_FILE, f"{src.config_key}.{option}",
                           f"names {header!r}, a header {where} does not have",
                           f"its headers: {', '.join(header_text(h) for h in cleaned if h)}")
    seen: dict[str, str] = {}
    for header, column in zip(mapped, columns):
        if not header:
            raise BadInput(where, None, "a column has an empty header")
        if column in seen:  # a file without a header row has values here: never quote one that may identify someone
            raise BadInput(where, None, f"headers {shown_value(seen[column])} and {shown_value(header)} give the same "
                           f"column {shown_value(column)}")
        seen[column] = header
    for column, _kind, manifest, name in src.declared:
        if column not in columns:
            raise BadInput(manifest, f"dataset {src.dataset} collection {src.collection} field {name}",
                           f"is marked fides_meta.identity, but {where} has no column {column!r}: nobody could be "
                           "found by it", "name the field after the column that holds it; its columns: "
                           + ", ".join(header_text(c) for c in columns))
    return columns


def date_part(fmt: str) -> str:
    """The date-only part of a date-time format: ``%d-%m-%Y %H:%M`` -> ``%d-%m-%Y``."""
    if fmt.upper() == "ISO8601":
        return fmt
    match = _TIME_DIRECTIVE.search(fmt)
    return fmt[: match.start()].rstrip(" T,") if match else fmt


def _parse_dates(values: "pd.Series", kind: str, src: ResolvedSource) -> tuple["pd.Series", str]:
    """Parse one column with the source's explicit format; returns naive Timestamps in the workspace zone.

    Text goes through the one format of the source (never guessed row by row); values that already
    are dates (typed XLSX cells, SQL timestamps) are taken as they are.
    """
    import pandas as pd

    fmt = src.date_format if kind != "date" else date_part(src.date_format)
    iso = fmt.upper() == "ISO8601"
    if set(map(type, values)) <= {str, type(None)}:  # text, as in every CSV: nothing typed to set aside
        typed, text = pd.Series(False, index=values.index), values
    else:
        typed = values.map(lambda v: isinstance(v, (dt.date, dt.datetime)))
        text = values.where(~typed, None).map(lambda v: v if v is None or isinstance(v, str) else cell_text(v))
    utc = kind == "datetime_utc"
    parsed = pd.to_datetime(text, format="ISO8601" if iso else fmt, errors="coerce", utc=utc or iso)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(src.timezone).dt.tz_localize(None)
    if typed.any():
        parsed = parsed.astype("datetime64[us]")
        for index in typed[typed].index:
            parsed[index] = _local(values[index], src.timezone, utc)
    return parsed, fmt


def _local(value: "dt.date", timezone: str, utc: bool) -> "pd.Timestamp":
    """A typed date or timestamp as a naive Timestamp in the workspace zone."""
    import pandas as pd

    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None and utc:
        stamp = stamp.tz_localize("UTC")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(timezone).tz_localize(None)
    return stamp


def _kind(src: "ResolvedSource", column: str) -> str | None:
    return src.fmt.identifier_columns().get(column)


_TRUE = {"true", "1", "ja", "yes", "y", "waar", "j"}
_FALSE = {"false", "0", "nee", "no", "n", "onwaar"}


def parse_bool(value: Any) -> int | None:
    """Read a Zoho or Excel boolean (true/false, TRUE/FALSE, 1/0, Ja/Nee, yes/no) as 1/0; empty is None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    text = cell_text(value).strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return 1
    if text in _FALSE:
        return 0
    raise ValueError(value)


_CRM_ID = re.compile(r"^zcrm_(\d+)$")


def crm_id(value: Any) -> Any:
    """Strip the ``zcrm_`` prefix some CRM exports put before the 19-digit record id."""
    if isinstance(value, str):
        match = _CRM_ID.match(value.strip())
        if match:
            return match.group(1)
        return value.strip()
    return value


def message_id(value: Any) -> Any:
    """A Message-ID as the store keeps it: without angle brackets (``<a@b>`` -> ``a@b``)."""
    if isinstance(value, str):
        text = value.strip()
        return text[1:-1].strip() if text.startswith("<") and text.endswith(">") else text
    return value


_cached = functools.partial(functools.lru_cache, maxsize=1 << 12)  # one person's e-mail recurs on every invoice
NORMALISERS = {
    "email": _cached()(identity.normalise_email),
    "phone": _cached()(identity.normalise_phone),
    "iban": _cached()(identity.normalise_iban),
    "customer_number": _cached()(identity.normalise_customer_number),
    "invoice_number": _cached()(identity.normalise_invoice_number),
    "name": _cached()(identity.normalise_name),
}


def _row_of(frame: "pd.DataFrame", index: Any) -> int:
    return int(frame.at[index, "_row"])


def shape(frame: "pd.DataFrame", src: ResolvedSource, where: str, identifiers: bool = True) -> "pd.DataFrame":
    """Turn a raw frame (snake_case columns, ``_row``) into the store's shape; bad values raise BadInput."""
    import pandas as pd

    frame = frame.copy()
    frame["_row"] = frame["_row"].astype("int64")
    for column in frame.columns:
        if column != "_row":
            frame[column] = _blanks_to_none(frame[column])
    for header, words in src.source.values.items():  # the export's own words for the standard values
        column = stored_column(src.source, header)
        if column in frame.columns:
            table = {str(k).strip().lower(): v for k, v in words.items()}
            frame[column] = _objects(frame[column], lambda v: table.get(str(v).strip().lower(), v))
    for column, kind in src.fmt.date_columns().items():
        if column not in frame.columns:
            continue
        values = frame[column]
        parsed, fmt = _parse_dates(values, kind, src)
        bad = values.notna() & parsed.isna()
        if bad.any():
            i = bad[bad].index[0]
            raise BadInput(where, f"row {_row_of(frame, i)}, column {src.fmt.header_of(column)}",
                           f"date {shown_value(values[i], _kind(src, column))} does not match the date format {fmt!r}",
                           f"set date_format in sources.yml {src.config_key}")
        if src.latest is not None and src.fmt.header_of(column) not in src.fmt.future_dates:
            late = parsed >= pd.Timestamp(src.latest + dt.timedelta(days=1))  # any time on a later day
            if late.any():
                i = late[late].index[0]
                raise BadInput(where, f"row {_row_of(frame, i)}, column {src.fmt.header_of(column)}",
                               f"date {shown_value(values[i], _kind(src, column))} lies in the future "
                               f"(after {src.latest.isoformat()})",
                               "a record cannot be dated after the audit; check the export's date_format")
        frame[column] = _iso_text(parsed, kind == "date")
    for header in src.fmt.booleans:
        column = snake(header)
        if column in frame.columns:
            frame[column] = _booleans(frame, column, src, where)
    for header in src.fmt.ids:
        column = snake(header)
        if column in frame.columns:
            frame[column] = _objects(frame[column], crm_id)
    for header in src.fmt.message_ids:
        column = snake(header)
        if column in frame.columns:
            frame[column] = _objects(frame[column], message_id)
    for column, kind in (src.fmt.identifier_columns() if identifiers else {}).items():
        if column not in frame.columns:
            continue
        if kind == "iban":
            frame[f"{column}__masked"] = pd.Series(
                [None if v is None else int(identity.is_masked(v)) for v in frame[column]], index=frame.index, dtype="Int64")
        frame[f"{column}__norm"] = _normalised(frame[column], NORMALISERS[kind])
    return frame


def _iso_text(parsed: "pd.Series", date_only: bool) -> "pd.Series":
    """Timestamps as ``%Y-%m-%d`` or ``%Y-%m-%d %H:%M:%S`` text (None for NaT), formatted by numpy, not per cell."""
    import numpy as np
    import pandas as pd

    stamps = parsed.to_numpy(dtype="datetime64[s]")
    text = np.datetime_as_string(stamps, unit="D" if date_only else "s")  # 2024-01-31T09:05:00
    if not date_only and len(text):
        text.view(np.uint32).reshape(len(text), -1)[:, 10] = ord(" ")  # the 'T' becomes a space
    out = text.astype(object)
    out[np.isnat(stamps)] = None
    return pd.Series(out, index=parsed.index, dtype=object)


def _normalised(series: "pd.Series", normalise: Any) -> "pd.Series":
    """Normalise each distinct value once (one customer's e-mail recurs on every invoice); None stays None."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(series, use_na_sentinel=True)  # None and NaN get -1
    table = np.array([normalise(cell_text(v)) for v in uniques] + [None], dtype=object)
    return pd.Series(table[codes], index=series.index, dtype=object)  # -1 picks the trailing None


def _blanks_to_none(series: "pd.Series") -> "pd.Series":
    """Empty text, NaN and NaT become None; an all-text column (every CSV) is done without Python per cell."""
    import numpy as np
    import pandas as pd

    values = series.to_numpy(dtype=object)
    if set(map(type, values)) == {str}:
        blank = (values == "") | np.fromiter(map(str.isspace, values), dtype=bool, count=len(values))
        values = values.copy()
        values[blank] = None
        return pd.Series(values, index=series.index, dtype=object)
    return _objects(series, _blank_to_none)


def _objects(series: "pd.Series", fn: Any) -> "pd.Series":
    """Map values to an object column (pandas' own map would turn None into NaN in a string column)."""
    import pandas as pd

    return pd.Series([fn(v) for v in series], index=series.index, dtype=object)


def _booleans(frame: "pd.DataFrame", column: str, src: ResolvedSource, where: str) -> "pd.Series":
    import pandas as pd

    out = []
    for index, value in frame[column].items():
        try:
            out.append(parse_bool(value))
        except ValueError:
            raise BadInput(where, f"row {_row_of(frame, index)}, column {src.fmt.header_of(column)}",
                           f"{shown_value(value, _kind(src, column))} is not a boolean",
                           "use true/false, 1/0, Ja/Nee or yes/no") from None
    return pd.Series(out, index=frame.index, dtype="Int64")


def _blank_to_none(value: Any) -> Any:
    """Empty text, NaN and NaT become None (called per cell: kept free of imports)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    return value
