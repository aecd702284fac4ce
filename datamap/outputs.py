"""What every CSV and XLSX the workbench writes shares: cells a spreadsheet cannot run.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to
Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)``, ``@SUM(...)``, ``-2+3+cmd|' /C calc'!A0``).
Such text comes from hostile sources and manifests: a lead's name, a column header, a
declaration's name. As OWASP advises, :func:`safe_cell` prefixes it with a single quote, which
the spreadsheet shows as text. A plain number (``-12.50``, a phone ``+31612345678``) is no
formula and stays as it is: an Art. 20 export keeps the subject's own values.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")


def safe_cell(value: Any) -> Any:
    """Return ``value`` with a leading ``'`` when a spreadsheet would read it as a formula.

    >>> safe_cell("=1+1"), safe_cell("-12.5"), safe_cell("Jan"), safe_cell(3)
    ("'=1+1", '-12.5', 'Jan', 3)
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A CSV row (column name to value) with every value through :func:`safe_cell`."""
    return {k: safe_cell(v) for k, v in row.items()}


def safe_cells(values: Iterable[Any]) -> list[Any]:
    """A row of cells (an XLSX row, a CSV header) through :func:`safe_cell`."""
    return [safe_cell(v) for v in values]
