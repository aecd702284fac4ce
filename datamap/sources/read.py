"""Reading a collection: dispatch to its reader (export, mbox, SQL table), then shape the frames.

Every reader streams (chunks of CSV, XLSX rows, mbox messages, SQL partitions), so memory stays
bounded whatever the size of a source. The SQL sources also open read-only for checks pushed
down to the database (``source_engine``) and for Great Expectations (``source_url``).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from datamap.errors import BadInput
from datamap.sources.formats import SOURCES_FILE
from datamap.sources.resolved import ResolvedSource, as_workspace, resolve
from datamap.sources.shape import shape

if TYPE_CHECKING:  # pandas and SQLAlchemy load when a source is read, not when the CLI starts
    import pandas as pd
    from sqlalchemy.engine import Engine

    from datamap.workspace import DatasetSource, Workspace

DEFAULT_CHUNKSIZE = 10_000


def read_collection(
    workspace: "Workspace | str | Path", dataset: str, collection: str, chunksize: int = DEFAULT_CHUNKSIZE,
    identifiers: bool = True,
) -> Iterator["pd.DataFrame"]:
    """Stream one collection as frames in the store's shape (see the module docstring).

    An export with a header and no rows yields one empty frame with the columns. Bad input (missing
    file, missing standard column, a date that does not parse) raises BadInput naming the source.
    ``identifiers=False`` skips the ``__norm``/``__masked`` columns (discovery needs only the values).
    """
    src = resolve(as_workspace(workspace), dataset, collection)
    yield from read_resolved(src, chunksize, identifiers)


def read_resolved(src: ResolvedSource, chunksize: int = DEFAULT_CHUNKSIZE, identifiers: bool = True,
                  skip_bad: bool = False) -> Iterator["pd.DataFrame"]:
    """Stream an already resolved source (the store uses this to avoid resolving twice).

    ``skip_bad``: a message of an mbox that cannot be read is left out, and said in the frames'
    ``attrs["skipped"]``, instead of making the whole mailbox unreadable (the store stages so).
    """
    kind = src.kind
    if kind == "sql":
        from datamap.sources.sql import read_table

        raw = read_table(src, chunksize)
    elif kind == "mbox":
        from datamap.sources.mail import read_mbox

        yield from read_mbox(src, chunksize, skip_bad)
        return
    else:
        from datamap.sources.exports import read_export

        raw = read_export(src, chunksize)
    for frame, where in raw:
        yield shape(frame, src, where, identifiers)


def _sql_config(workspace: Workspace, dataset: str) -> DatasetSource:
    if dataset not in workspace.sources.datasets:
        raise BadInput(SOURCES_FILE, f"datasets.{dataset}", "no such dataset")
    config = workspace.sources.datasets[dataset]
    if not config.url:
        raise BadInput(SOURCES_FILE, f"datasets.{dataset}", "not a SQL dataset (it has no url:)")
    return config


def source_engine(workspace: "Workspace | str | Path", dataset: str) -> "Engine":
    """Open a read-only SQLAlchemy engine on a SQL dataset (SQLite ``mode=ro``, PostgreSQL read-only sessions).

    For checks pushed down to the source; the caller disposes of it. An unreachable database is
    SourceUnavailable naming ``sources.yml`` and the redacted URL.
    """
    from datamap.sources.sql import readonly_engine

    workspace = as_workspace(workspace)
    config = _sql_config(workspace, dataset)
    return readonly_engine(config.url or "", workspace.root, f"datasets.{dataset}.url")


def source_url(workspace: "Workspace | str | Path", dataset: str) -> str:
    """The read-only connection string of a SQL dataset, for a library that builds its own engine (GE).

    It carries the password when sources.yml gives one through ``${ENV_VAR}``: pass it on, never print it.
    """
    from datamap.sources.sql import readonly_url_string

    workspace = as_workspace(workspace)
    config = _sql_config(workspace, dataset)
    return readonly_url_string(config.url or "", workspace.root, f"datasets.{dataset}.url")
