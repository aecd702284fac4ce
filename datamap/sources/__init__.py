"""The sources: one reader per format, all giving frames in the audit store's shape.

The package is split by job: ``formats`` (the standard shapes of ``formats.yml``), ``resolved``
(a collection as sources.yml configures it), ``read`` (dispatch to the readers ``exports``, ``mail``
and ``sql``), ``shape`` (raw frames into the store's columns) and ``quoting`` (a value as an error
line may show it). This module only re-exports what the rest of the workbench uses.

Public API::

    from datamap.sources import collection_format, read_collection, source_engine, source_url
    for frame in read_collection(ws, "zoho_crm", "leads", chunksize=10_000):
        ...                                          # store-shaped frames, one chunk at a time
    engine = source_engine(ws, "customer_portal")   # read-only SQLAlchemy engine (pushed-down checks)
    url = source_url(ws, "customer_portal")         # read-only connection string (Great Expectations)
    collection_format("zoho_crm", "leads").key_column   # 'record_id'
"""
from __future__ import annotations

from datamap.sources.formats import FORMATS_FILE, collection_format, snake, standard_format
from datamap.sources.quoting import shown_value
from datamap.sources.read import DEFAULT_CHUNKSIZE, read_collection, read_resolved, source_engine, source_url
from datamap.sources.resolved import ResolvedSource, collections, files_of, key_column, resolve
from datamap.sources.shape import crm_id, date_part, parse_bool

__all__ = [
    "DEFAULT_CHUNKSIZE",
    "FORMATS_FILE",
    "ResolvedSource",
    "collection_format",
    "collections",
    "crm_id",
    "date_part",
    "files_of",
    "key_column",
    "parse_bool",
    "read_collection",
    "read_resolved",
    "resolve",
    "shown_value",
    "snake",
    "source_engine",
    "source_url",
    "standard_format",
]
