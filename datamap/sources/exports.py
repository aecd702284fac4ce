"""CSV and XLSX exports, as Zoho writes them and as Dutch Excel re-saves them.

Encoding (UTF-8, UTF-8 with BOM, cp1252) and delimiter (``,`` ``;`` tab) are detected once per
file from its bytes and header line, never per row. Rows are read in chunks (pandas
``chunksize``; openpyxl ``read_only`` ``iter_rows``) so a large export never sits in memory whole.
"""
from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from datamap.errors import BadInput
from datamap.sources.quoting import cell_text
from datamap.sources.shape import map_headers

if TYPE_CHECKING:
    import pandas as pd

    from datamap.sources.resolved import ResolvedSource

DELIMITERS = (",", ";", "\t")
_BLOCK = 1 << 20


def detect_encoding(path: Path) -> str:
    """Tell UTF-8 with BOM, UTF-8 and cp1252 apart by reading the bytes once, block by block."""
    with path.open("rb") as handle:
        if handle.read(3) == codecs.BOM_UTF8:
            return "utf-8-sig"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for block in iter(lambda: handle.read(_BLOCK), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def undecodable(path: Path, encoding: str) -> tuple[int, str] | None:
    """Decode the whole file block by block; say where it fails: the line, and the byte's position in the file."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                position = offset - (len(exc.object) - len(block)) + exc.start  # the decoder may hold earlier bytes
                return (line_of(path, position),
                        f"'{exc.encoding}' codec can't decode byte 0x{exc.object[exc.start]:02x} in position "
                        f"{position}: {exc.reason}")
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            return (line_of(path, max(0, offset - 1)),
                    f"'{exc.encoding}' codec can't decode the last bytes of the file: {exc.reason}")
    return None


def line_of(path: Path, position: int) -> int:
    """The 1-based line of the file that holds the byte at ``position`` (line breaks counted as bytes)."""
    lines, offset = 1, 0
    with path.open("rb") as handle:
        while offset < position:
            block = handle.read(min(_BLOCK, position - offset))
            if not block:
                break
            lines += block.count(b"\n")
            offset += len(block)
    return lines


def nul_byte(path: Path) -> int | None:
    """The position of the first NUL byte of the file, or None (text in an 8-bit encoding holds none)."""
    offset = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            found = block.find(b"\0")
            if found != -1:
                return offset + found
            offset += len(block)
    return None


def _starts_with_bom(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(3) == codecs.BOM_UTF8


def first_line(path: Path, encoding: str) -> str:
    """The header line (a quoted header may not span lines in a real export)."""
    with path.open("r", encoding=encoding, newline="") as handle:
        return handle.readline()


def detect_delimiter(header_line: str, suffix: str = "") -> str:
    """Pick the delimiter that splits the header line into the most fields (tab for a .tsv)."""
    if suffix == ".tsv":
        return "\t"
    counts = {d: len(next(csv.reader(io.StringIO(header_line), delimiter=d), [])) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 1 else ","


def read_export(src: "ResolvedSource", chunksize: int) -> Iterator[tuple["pd.DataFrame", str]]:
    """Yield raw frames (snake_case columns, text values, ``_row``) and the file they came from."""
    (path,) = src.files()
    where = src.relpath(path)
    if src.kind == "xlsx":
        yield from _read_xlsx(path, where, src, chunksize)
    else:
        yield from _read_csv(path, where, src, chunksize)


def _read_csv(path: Path, where: str, src: "ResolvedSource", chunksize: int) -> Iterator[tuple["pd.DataFrame", str]]:
    import pandas as pd

    try:
        encoding = detect_encoding(path) if src.source.encoding == "auto" else codecs.lookup(src.source.encoding).name
    except LookupError as exc:
        raise BadInput(where, None, f"cannot read the file as {src.source.encoding}: {exc}") from None
    if encoding == "utf-8" and _starts_with_bom(path):  # declared utf-8, saved with a BOM: not part of the first header
        encoding = "utf-8-sig"
    if not encoding.startswith(("utf-16", "utf-32")) and (nul := nul_byte(path)) is not None:
        # pandas keeps a NUL inside the value: 'jan@example.nl\0' would be another address to every lookup
        raise BadInput(where, f"line {line_of(path, nul)}", f"holds a NUL byte (0x00) at byte {nul}: not a text export",
                       "export it again, or remove the NUL bytes")
    # the declaration wins: say so; a cp1252 guess is checked too (five of its bytes stand for no character)
    problem = undecodable(path, encoding) if src.source.encoding != "auto" or encoding == "cp1252" else None
    if problem:
        line_number, reason = problem
        raise BadInput(where, f"line {line_number}",
                       f"cannot read the file as {src.source.encoding if src.source.encoding != 'auto' else encoding}: "
                       f"{reason}")
    try:
        line = first_line(path, encoding)
    except UnicodeDecodeError as exc:  # not expected after the checks above: still say where
        found = undecodable(path, encoding)
        raise BadInput(where, f"line {found[0] if found else 1}", f"not text in {encoding}: {exc.reason}") from None
    if not line.strip():
        raise BadInput(where, None, "no header row (the file is empty)")
    delimiter = detect_delimiter(line, path.suffix.lower()) if src.source.delimiter == "auto" else _delimiter(src.source.delimiter)
    headers = next(csv.reader(io.StringIO(line), delimiter=delimiter))
    if len(headers) == 1 and len(src.fmt.headers) > 1 and (other := detect_delimiter(line)) != delimiter:
        raise BadInput(where, "line 1", f"the header does not split on the declared delimiter {delimiter!r} "
                       f"but on {other!r}", f"fix delimiter: in sources.yml {src.config_key}, or leave it auto")
    columns = map_headers(headers, src, where)
    _check_not_cut_off(path, encoding, delimiter, len(headers), where)
    offset = 0
    reader = None
    try:  # pandas may meet a broken row while opening the file already
        reader = pd.read_csv(
            path, sep=delimiter, encoding=encoding, dtype=object, header=0, names=columns,
            keep_default_na=False, na_filter=False, chunksize=chunksize, engine="c",
            skip_blank_lines=True,
        )
        for chunk in reader:
            if not isinstance(chunk.index, pd.RangeIndex):  # pandas took the extra field(s) of row 1 for an index
                raise BadInput(where, "row 1", f"has more fields than the header's {len(columns)}: the columns would shift")
            if chunk.empty:
                continue
            chunk.insert(0, "_row", range(offset + 1, offset + len(chunk) + 1))
            offset += len(chunk)
            yield chunk, where
    except UnicodeDecodeError as exc:
        found = undecodable(path, encoding)
        raise BadInput(where, f"line {found[0]}" if found else (f"after row {offset}" if offset else None),
                       f"not text in {encoding}: {found[1] if found else exc.reason}") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise BadInput(where, f"after row {offset}" if offset else None,
                       f"cannot parse the CSV: {str(exc).strip().splitlines()[-1]}") from None
    finally:
        if reader is not None:
            reader.close()
    if offset == 0:  # a header and no rows: a valid, empty export
        yield pd.DataFrame({"_row": pd.Series([], dtype="int64"), **{c: pd.Series([], dtype=object) for c in columns}}), where


def _check_not_cut_off(path: Path, encoding: str, delimiter: str, width: int, where: str) -> None:
    """Refuse an export whose last row stops short without a line break (an interrupted download).

    pandas fills the missing fields of a short row with empty values, so a record cut in half would
    pass for a complete one. Only the file's tail is read; a last line holding an open quote is
    the end of a multi-line value (pandas itself reports a quote that never closes).
    """
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - _BLOCK))
        tail = handle.read()
    if not tail or tail.endswith((b"\n", b"\r")):
        return
    last = tail.rsplit(b"\n", 1)[-1].decode(encoding, "replace")
    if last.count('"') % 2:
        return
    try:
        fields = len(next(csv.reader(io.StringIO(last), delimiter=delimiter), []))
    except csv.Error:  # not a plain row at all: pandas will say what is wrong with it
        return
    if 0 < fields < width:
        raise BadInput(where, "last row", f"has {fields} of the header's {width} fields and no line break: "
                       "the file is cut off", "export it again")


def _delimiter(text: str) -> str:
    return {"\\t": "\t", "tab": "\t"}.get(text, text)


def _read_xlsx(path: Path, where: str, src: "ResolvedSource", chunksize: int) -> Iterator[tuple["pd.DataFrame", str]]:
    import openpyxl
    import pandas as pd

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise BadInput(where, None, f"not a readable XLSX workbook: {exc}") from None
    try:
        sheet = book.worksheets[0]
        # The sheet's stored <dimension> is what the writing program claimed, not what it wrote: read
        # read_only, openpyxl stops at it, and rows below it (or columns right of it) would vanish.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        header = next((r for r in rows if any(v not in (None, "") for v in r)), None)
        if header is None:
            raise BadInput(where, None, "no header row (the sheet is empty)")
        width = max(i for i, v in enumerate(header) if v not in (None, "")) + 1
        columns = map_headers([str(v) if v is not None else "" for v in header[:width]], src, where)
        typed = [c in src.fmt.date_columns() for c in columns]  # date cells stay typed; all else is text
        batch: list[list[object]] = []
        row = 0
        for values in rows:
            values = list(values[:width]) + [None] * (width - len(values))
            if all(v in (None, "") for v in values):
                continue
            row += 1
            batch.append([row] + [v if keep or v is None else cell_text(v) for v, keep in zip(values, typed)])
            if len(batch) >= chunksize:
                yield pd.DataFrame(batch, columns=["_row"] + columns, dtype=object), where
                batch = []
        if batch or row == 0:
            frame = pd.DataFrame(batch, columns=["_row"] + columns, dtype=object)
            frame["_row"] = frame["_row"].astype("int64")
            yield frame, where
    finally:
        book.close()
