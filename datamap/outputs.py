"""What every file the workbench writes shares: written whole or not at all, from one template
home, with cells a spreadsheet cannot run.

Files: :func:`write_atomic` is the one writer. It writes beside the target and renames into place,
so a reader (a notebook, a second run, a regulator's copy) sees the old file or the new one,
never half. Templates: :func:`templates` is the one Jinja environment per kind of output, all
loaded from ``datamap/templates`` inside the package (a wheel install has them too).

Cells:

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to
Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)``, ``@SUM(...)``, ``-2+3+cmd|' /C calc'!A0``).
Such text comes from hostile sources and manifests: a lead's name, a column header, a
declaration's name. As OWASP advises, :func:`safe_cell` prefixes it with a single quote, which
the spreadsheet shows as text. A plain number (``-12.50``, a phone ``+31612345678``) is no
formula and stays as it is: an Art. 20 export keeps the subject's own values.
"""
from __future__ import annotations

import html
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

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


def write_atomic(path: str | os.PathLike[str], data: str | bytes, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` in one step: a temporary file beside it, renamed over it.

    ``mode`` is the file's permission: 0o644 for a report anyone on the machine may read, 0o600
    for what only its owner may (a subject's export of his own data).
    Text is written as UTF-8 with the newlines given (no translation). The temporary name starts
    with ``.<name>.<pid>-`` so that a crashed writer's leftovers are recognisable and swept.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> write_atomic(target, "één\\n").read_text(encoding="utf-8")
    'één\\n'
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


TEMPLATE_KINDS = ("html", "markdown")


def templates(kind: str = "html", filters: Mapping[str, Callable[..., Any]] | None = None, **names: Any) -> Any:
    """A new Jinja environment for ``kind``, with ``filters`` and template-wide ``names`` added: ``html`` escapes every value and fails on an unknown
    name; ``markdown`` escapes ``<``, ``>`` and ``&`` in every value (Markdown passes HTML through
    to whoever renders it, so a planted ``<script>`` in a source stays text).

    >>> templates("html").from_string("<b>{{ x }}</b>").render(x="<i>")
    '<b>&lt;i&gt;</b>'
    >>> templates("markdown").from_string("**{{ x }}**").render(x="<i>")
    '**&lt;i&gt;**'
    """
    import jinja2

    common: dict[str, Any] = dict(loader=jinja2.PackageLoader("datamap", "templates"), trim_blocks=True,
                                  lstrip_blocks=True, keep_trailing_newline=True)
    if kind == "html":
        env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, **common)
    elif kind == "markdown":
        escape: Callable[[Any], str] = lambda value: html.escape(str(value), quote=False)
        env = jinja2.Environment(autoescape=False, finalize=escape, **common)
    else:
        raise ValueError(f"unknown template kind {kind!r}: choose one of {', '.join(TEMPLATE_KINDS)}")
    env.filters.update(filters or {})
    env.globals.update(names)
    return env
