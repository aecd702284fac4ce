"""The standard collections and headers of each product, as Markdown for docs/workspace.md.

The page's section between the two marker lines is generated from ``formats.yml`` (never edited
by hand); ``tests/test_formats_doc.py`` fails when the two disagree. Regenerate it with::

    python -m datamap.sources.formats_doc docs/workspace.md

    from datamap.sources.formats_doc import formats_markdown
    print(formats_markdown())        # '... ### zoho_crm\\n\\nDates: `%Y-%m-%d %H:%M:%S` ...'
"""
from __future__ import annotations

import sys
from pathlib import Path

from datamap.errors import BadInput, EXIT_CANNOT_RUN, EXIT_OK
from datamap.sources import formats

BEGIN = "<!-- standard-headers:begin -->"
END = "<!-- standard-headers:end -->"

FORMAT_NAMES = {"csv": "CSV", "xlsx": "XLSX", "mbox": "mbox", "message_trace": "message trace (CSV)",
                "sql": "database table"}
DATE_MARKS = {"date": "date", "datetime": "date-time", "datetime_utc": "UTC date-time"}
IDENTIFIER_MARKS = {"email": "e-mail", "phone": "phone", "iban": "IBAN", "customer_number": "customer number",
                    "name": "name", "invoice_number": "invoice number"}

LEGEND = """\
Marks after a header: **[date]**, **[date-time]** and **[UTC date-time]** are read with the
source's `date_format` (the product's default below, unless sources.yml sets one); a date that
does not match it makes the whole source unreadable. **[e-mail]**, **[phone]**, **[IBAN]**,
**[customer number]** and **[name]** are the identifiers a person is found by (normalised and
indexed for subject requests and the checks across systems); an **[invoice number]** ties a
payment to its invoice, so a subject request follows it. **[yes/no]** holds a boolean.
In the manifests and policy.yml a header is written as its store column, in snake_case:
`Last Activity Time` is `last_activity_time`.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _header(header: str, fmt: "formats.CollectionFormat") -> str:
    marks = []
    if header in fmt.dates:
        mark = DATE_MARKS.get(fmt.dates[header], fmt.dates[header])
        marks.append(f"{mark}, may lie ahead" if header in fmt.future_dates else mark)
    if header in fmt.identifiers:
        marks.append(IDENTIFIER_MARKS.get(fmt.identifiers[header], fmt.identifiers[header]))
    if header in fmt.booleans:
        marks.append("yes/no")
    return header + "".join(f" **[{m}]**" for m in marks)


def _format_name(fmt: "formats.CollectionFormat") -> str:
    kind = "xlsx" if fmt.format == "csv" and (fmt.file or "").lower().endswith(".xlsx") else fmt.format
    return FORMAT_NAMES.get(kind, kind)


def _collection_row(fmt: "formats.CollectionFormat") -> str:
    where = f"`{fmt.file}`" if fmt.file else f"`{fmt.table or fmt.name}`"
    key = fmt.key or "-"
    if fmt.key and not fmt.unique_key:
        key += " (may repeat)"
    headers = ", ".join(_header(h, fmt) for h in fmt.headers)
    return "| " + " | ".join(_cell(c) for c in (f"`{fmt.name}`", where, _format_name(fmt), key, headers)) + " |"


def formats_markdown() -> str:
    """Render every product of ``formats.yml``: its date format and a table of its collections."""
    out = [LEGEND]
    for product in formats.products():
        spec = formats.product_formats()[product] or {}
        out.append(f"### {product}\n")
        out.append(f"Dates: `{spec.get('date_format', '%Y-%m-%d %H:%M:%S')}` unless sources.yml sets `date_format`.\n")
        names = list(spec.get("collections") or {})
        if not names:
            out.append("No standard collections: every header is kept as a text column, and sources.yml names "
                       "each collection's `key:`.\n")
            continue
        rows = ["| collection | default file or table | format | key | standard headers, in order |",
                "|---|---|---|---|---|"]
        rows += [_collection_row(formats.collection_format(product, name)) for name in names]
        out.append("\n".join(rows) + "\n")
    return "\n".join(out).rstrip("\n") + "\n"


def replace_region(text: str, body: str, file: str = "docs/workspace.md") -> str:
    """Put ``body`` between the marker lines of ``text``, leaving everything else as it is."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise BadInput(file, None, f"no region between {BEGIN} and {END}",
                       "add the two marker lines, each on a line of its own, where the list belongs")
    return text[:start + len(BEGIN)] + "\n" + body.rstrip("\n") + "\n" + text[end:]


def region(text: str, file: str = "docs/workspace.md") -> str:
    """What stands between the marker lines, from the line after the first to the line of the second."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise BadInput(file, None, f"no region between {BEGIN} and {END}")
    return text[start + len(BEGIN):end].removeprefix("\n")


def regenerate(path: Path) -> bool:
    """Rewrite the region of the page at ``path``; returns whether it changed."""
    text = path.read_text(encoding="utf-8")
    new = replace_region(text, formats_markdown(), str(path))
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m datamap.sources.formats_doc docs/workspace.md", file=sys.stderr)
        return EXIT_CANNOT_RUN
    try:
        changed = regenerate(Path(args[0]))
    except (BadInput, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    print(f"{args[0]}: {'standard headers regenerated' if changed else 'standard headers up to date'}")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
