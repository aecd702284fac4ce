"""The standard formats: the shape each product's collections have, as ``formats.yml`` gives it.

A collection's shape is its headers, its key, which columns hold dates, booleans, record ids and
identifiers, and the product's date format. ``standard_format`` adds what sources.yml says of one
collection (``standard:``, ``role:``, its own ``dates:`` and ``identifiers:``).
"""
from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from datamap.errors import BadInput

if TYPE_CHECKING:
    from datamap.workspace import CollectionSource

FORMATS_FILE = Path(__file__).with_name("formats.yml")
SOURCES_FILE = "sources.yml"

_NOT_WORD = re.compile(r"[^0-9a-z]+")


def snake(header: str) -> str:
    """Name a store column after a header: ``Last Activity Time`` -> ``last_activity_time``."""
    return _NOT_WORD.sub("_", str(header).strip().lower()).strip("_") or "column"


@dataclass(frozen=True)
class CollectionFormat:
    """The standard shape of one collection (one entry of ``formats.yml``)."""

    product: str
    name: str
    format: str = "csv"
    file: str | None = None
    table: str | None = None
    headers: tuple[str, ...] = ()
    key: str | None = None
    dates: dict[str, str] = field(default_factory=dict)
    booleans: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    message_ids: tuple[str, ...] = ()
    identifiers: dict[str, str] = field(default_factory=dict)
    date_format: str = "%Y-%m-%d %H:%M:%S"
    unique_key: bool = True
    future_dates: tuple[str, ...] = ()

    @property
    def key_column(self) -> str | None:
        return snake(self.key) if self.key else None

    def identifier_columns(self) -> dict[str, str]:
        """Store column -> identifier kind."""
        return {snake(h): kind for h, kind in self.identifiers.items()}

    def date_columns(self) -> dict[str, str]:
        """Store column -> ``datetime``, ``date`` or ``datetime_utc``."""
        return {snake(h): kind for h, kind in self.dates.items()}

    def header_of(self, column: str) -> str:
        """The standard header a store column came from (errors name the column as the export does)."""
        for header in self.headers:
            if snake(header) == column:
                return header
        return column


@functools.cache
def product_formats() -> dict[str, Any]:
    """``formats.yml`` as read: product -> its date format and standard collections."""
    return yaml.safe_load(FORMATS_FILE.read_text(encoding="utf-8"))


def products() -> list[str]:
    """The products whose standard formats the workbench knows."""
    return list(product_formats())


def collection_format(product: str, collection: str) -> CollectionFormat:
    """Look up a collection's standard shape; unknown collections get a free-form shape (all text)."""
    spec = product_formats().get(product) or product_formats()["generic"]
    default_format = spec.get("date_format", "%Y-%m-%d %H:%M:%S")
    entry = (spec.get("collections") or {}).get(collection)
    if entry is None:
        return CollectionFormat(product=product, name=collection, date_format=default_format)
    return CollectionFormat(
        product=product,
        name=collection,
        format=entry.get("format", "csv"),
        file=entry.get("file"),
        table=entry.get("table"),
        headers=tuple(entry.get("headers", ())),
        key=entry.get("key"),
        dates=dict(entry.get("dates") or {}),
        booleans=tuple(entry.get("booleans") or ()),
        ids=tuple(entry.get("ids") or ()),
        message_ids=tuple(entry.get("message_ids") or ()),
        identifiers=dict(entry.get("identifiers") or {}),
        date_format=default_format,
        unique_key=entry.get("unique_key", True),
        future_dates=tuple(entry.get("future_dates") or ()),
    )


def standard_format(product: str, collection: str, source: CollectionSource, key: str) -> CollectionFormat:
    """The shape a collection must have: its product's standard collection (``standard:``, else its own name),
    or for a generic export that plays a role (``role:``) the shape of that role's standard collection;
    with the collection's own ``dates:`` and ``identifiers:`` added. Those may name a header as the file
    writes it or as ``columns:`` renames it: both are read as the renamed header, the one the store keeps."""
    from datamap.roles import reference_format

    fmt = collection_format(product, source.standard or collection)
    if source.standard and not fmt.headers and product != "generic":
        known = ", ".join(sorted((product_formats().get(product) or {}).get("collections") or {}))
        raise BadInput(SOURCES_FILE, f"{key}.standard", f"{product} has no standard collection {source.standard!r}",
                       f"its standard collections: {known}")
    mbox = source.format == "mbox" or (source.format is None and (source.file or "").lower().endswith(".mbox"))
    if not fmt.headers and product != "generic" and not source.key and not mbox:
        # a renamed standard collection (leads_2024) would be read as free text: no key, no dates, no
        # identifiers indexed, so a person held in it would pass for erased. Say what it is instead.
        # (An mbox has one shape whatever its name: sent, privacy_inbox.)
        import difflib

        known = sorted((product_formats().get(product) or {}).get("collections") or {})
        close = difflib.get_close_matches(collection, known, n=1, cutoff=0.5) or \
            [k for k in known if k in collection or collection in k][:1]
        raise BadInput(SOURCES_FILE, key, f"{product} has no standard collection {collection!r}, so its shape is unknown",
                       (f"add standard: {close[0]} if it is {product}'s {close[0]} export under another name; "
                        if close else f"add standard: <one of {', '.join(known)}> if it is one of them under another name; ")
                       + "for an export of your own, give its key: and identifiers:")
    if product == "generic" and source.role:
        ref_product, ref_collection = reference_format(source.role, SOURCES_FILE, f"{key}.role")
        fmt = dataclasses.replace(collection_format(ref_product, ref_collection), product=product, name=collection,
                                  date_format=fmt.date_format)
    if source.dates or source.identifiers:
        # a header the file writes and columns: renames is stored under its new name (map_headers):
        # read through the same mapping, or its dates stay unparsed text and its identifiers unindexed
        renamed = {k.strip(): v for k, v in source.columns.items()}

        def stored(headers: dict[str, str]) -> dict[str, str]:
            return {renamed.get(h.strip(), h.strip()): kind for h, kind in headers.items()}

        fmt = dataclasses.replace(fmt, dates={**fmt.dates, **stored(source.dates)},
                                  identifiers={**fmt.identifiers, **stored(source.identifiers)})
    return fmt
