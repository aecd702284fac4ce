"""Resolving a collection: where sources.yml says it is, what shape it must have, how to name it.

``resolve`` turns a ``(dataset, collection)`` into a ``ResolvedSource``, everything a reader needs;
``files_of`` is the one place a ``file:`` pattern becomes files inside the workspace.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import glob
from dataclasses import dataclass
from pathlib import Path

from datamap.errors import BadInput, SourceAbsent, SourceUnavailable
from datamap.sources.formats import SOURCES_FILE, CollectionFormat, collection_format, snake, standard_format
from datamap.workspace import CollectionSource, DatasetSource, Workspace, inside_workspace, load_workspace


@dataclass(frozen=True)
class ResolvedSource:
    """Everything needed to read one collection: config, standard shape, where it is, how to name it."""

    dataset: str
    collection: str
    config: DatasetSource
    source: CollectionSource
    fmt: CollectionFormat
    timezone: str
    root: Path
    latest: dt.date | None = None  # no date of this source may lie after it (None: not checked)
    # the fields the manifests mark fides_meta.identity: (store column, kind, manifest file, field name)
    declared: tuple[tuple[str, str, str, str], ...] = ()

    @property
    def is_sql(self) -> bool:
        return bool(self.config.url)

    @property
    def key_column(self) -> str | None:
        """The store column that identifies a record: sources.yml's ``key:``, else the product's standard key."""
        return stored_column(self.source, self.source.key) if self.source.key else self.fmt.key_column

    @property
    def kind(self) -> str:
        """``sql``, ``csv``, ``xlsx``, ``mbox`` or ``message_trace``."""
        if self.is_sql:
            return "sql"
        if self.source.format:
            return self.source.format
        suffix = Path(self.source.file or self.fmt.file or "").suffix.lower()
        if suffix == ".xlsx":
            return "xlsx"
        if suffix == ".mbox" or self.fmt.format == "mbox":
            return "mbox"
        return "message_trace" if self.fmt.format == "message_trace" else "csv"

    @property
    def table(self) -> str:
        return self.source.table or self.fmt.table or self.collection

    @property
    def date_format(self) -> str:
        """The source's date format: the collection's, else the dataset's, else the product default."""
        return self.source.date_format or self.config.date_format or self.fmt.date_format

    @property
    def config_key(self) -> str:
        return f"datasets.{self.dataset}.collections.{self.collection}"

    @property
    def label(self) -> str:
        """How errors and provenance name this source: the file pattern, or dataset.table."""
        if self.is_sql:
            return f"{self.dataset}.{self.table}"
        return self.source.file or f"{self.dataset}.{self.collection}"

    def files(self) -> list[Path]:
        """The files of this collection (a glob may name several); none found is SourceUnavailable."""
        if not self.source.file:
            raise BadInput(SOURCES_FILE, self.config_key, "no file given for this collection",
                           "add file: <path relative to the workspace>")
        return files_of(self.root, self.source.file, self.kind == "mbox", f"{self.config_key}.file")

    def relpath(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


def files_of(root: Path, pattern: str, several: bool = True, key: str | None = None) -> list[Path]:
    """The files a sources.yml ``file:`` names: a path or glob, relative to the workspace or absolute.

    A relative one must stay inside the workspace (``..`` out of it or a symlink outside is BadInput
    naming sources.yml and ``key``); none found is SourceUnavailable. The one place the audit, scan
    and the store resolve a collection's files.
    """
    absolute = Path(pattern).is_absolute()
    full = pattern if absolute else str(root / pattern)
    if glob.has_magic(pattern):
        found = sorted(Path(p) for p in glob.glob(full))
    else:
        found = [Path(full)] if Path(full).is_file() else []
    if not absolute:
        if not found:
            inside_workspace(root, root / pattern.split("*")[0].split("?")[0].split("[")[0], pattern, "sources.yml", key)
        found = [inside_workspace(root, f, pattern, "sources.yml", key) for f in found]
    if not found:
        raise SourceUnavailable(pattern, None, "file not found", f"sources.yml {key.removesuffix('.file') if key else ''}".rstrip())
    if len(found) > 1 and not several:
        raise BadInput(pattern, None, f"matches {len(found)} files; only mbox collections may span several")
    return found


def as_workspace(workspace: "Workspace | str | Path") -> Workspace:
    """Accept a loaded workspace or its folder."""
    return workspace if isinstance(workspace, Workspace) else load_workspace(workspace)


def resolve(workspace: "Workspace | str | Path", dataset: str, collection: str) -> ResolvedSource:
    """Find a collection's configuration in sources.yml; an unknown name is bad input."""
    workspace = as_workspace(workspace)
    datasets = workspace.sources.datasets
    if dataset not in datasets:
        raise BadInput(SOURCES_FILE, f"datasets.{dataset}", "no such dataset",
                       f"known: {', '.join(sorted(datasets))}")
    config = datasets[dataset]
    if collection not in config.collections:
        raise BadInput(SOURCES_FILE, f"datasets.{dataset}.collections.{collection}", "no such collection",
                       f"known: {', '.join(sorted(config.collections))}")
    source = config.collections[collection]
    if source.absent:
        raise SourceAbsent(SOURCES_FILE, f"datasets.{dataset}.collections.{collection}.absent", source.absent)
    src = ResolvedSource(
        dataset=dataset,
        collection=collection,
        config=config,
        source=source,
        fmt=standard_format(config.product, collection, source, f"datasets.{dataset}.collections.{collection}"),
        timezone=workspace.sources.timezone,
        root=workspace.root,
        latest=latest_possible_date(workspace),
    )
    if src.kind == "mbox":  # the mail reader indexes sender, recipients and body itself
        return src
    declared = declared_identities(workspace, dataset, collection)
    known = src.fmt.identifier_columns()
    extra = {column: kind for column, kind, _, _ in declared if column not in known}
    fmt = dataclasses.replace(src.fmt, identifiers={**src.fmt.identifiers, **extra}) if extra else src.fmt
    return dataclasses.replace(src, fmt=fmt, declared=declared)


_IDENTITY_KINDS = {"email": "email", "phone_number": "phone"}  # fides_meta.identity -> identifier kind


def declared_identities(workspace: Workspace, dataset: str, collection: str) -> tuple[tuple[str, str, str, str], ...]:
    """The fields of a collection the manifests mark ``fides_meta.identity`` (where a subject is found).

    Each is ``(store column, identifier kind, manifest file, field name)``. The store indexes them
    whatever sources.yml says of the collection: the erasure check and subject requests look a person
    up in the collections the map names, so one the store did not index would pass for erased.
    """
    found: dict[str, tuple[str, str, str, str]] = {}
    for manifest in workspace.manifests:
        for item in manifest.documents.get("dataset") or []:
            if not isinstance(item, dict) or item.get("fides_key") != dataset:
                continue
            for entry in item.get("collections") or []:
                if not isinstance(entry, dict) or entry.get("name") != collection:
                    continue
                for fld in entry.get("fields") or []:
                    meta = fld.get("fides_meta") if isinstance(fld, dict) else None
                    kind = _IDENTITY_KINDS.get(meta.get("identity")) if isinstance(meta, dict) else None
                    if kind and isinstance(fld.get("name"), str):
                        column = snake(fld["name"])
                        found.setdefault(column, (column, kind, manifest.relpath, fld["name"]))
    return tuple(found.values())


def key_column(workspace: "Workspace | str | Path", dataset: str, collection: str) -> str | None:
    """The store column that identifies a record of a collection (None when neither sources.yml nor the format names one)."""
    workspace = as_workspace(workspace)
    config = workspace.sources.datasets.get(dataset)
    if config is None:
        return None
    source = config.collections.get(collection)
    if source is None:
        return collection_format(config.product, collection).key_column
    if source.key:
        return stored_column(source, source.key)
    return standard_format(config.product, collection, source, f"datasets.{dataset}.collections.{collection}").key_column


def stored_column(source: CollectionSource, header: str) -> str:
    """The store column of a header a collection names in sources.yml: as the file writes it or as ``columns:`` renames it."""
    renamed = {k.strip(): v for k, v in source.columns.items()}
    return snake(renamed.get(header.strip(), header.strip()))


def latest_possible_date(workspace: Workspace) -> dt.date:
    """The last day a recorded event can fall on: today, or the audit's reference date if that is later.

    A creation or contact time after it cannot have happened; such a record would escape every
    period counted from that date (retention, deadlines), so it is refused rather than kept.
    """
    today = dt.date.today()
    as_of = workspace.policy.as_of
    return max(today, as_of) if as_of else today


def collections(workspace: "Workspace | str | Path") -> list[tuple[str, str]]:
    """Every ``(dataset, collection)`` that sources.yml names and the company keeps, in its order."""
    return [(d, c) for d, cfg in as_workspace(workspace).sources.datasets.items()
            for c, src in cfg.collections.items() if not src.absent]
