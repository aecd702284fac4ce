"""The sources: one reader per format, all giving frames in the audit store's shape.

Every reader streams (chunks of CSV, XLSX rows, mbox messages, SQL partitions), so memory stays
bounded whatever the size of a source. The frames carry the standard snake_case columns of
``formats.yml``, dates as ISO text in the workspace time zone, booleans as 0/1, ``_row`` (the
1-based data row in the file, the message index in an mbox, the row number of a table) and, for
identifier columns, ``<col>__norm`` (normalised through :mod:`datamap.identity`).

Public API::

    from datamap.sources import collection_format, read_collection, source_engine, source_url
    for frame in read_collection(ws, "zoho_crm", "leads", chunksize=10_000):
        ...                                          # store-shaped frames, one chunk at a time
    engine = source_engine(ws, "customer_portal")   # read-only SQLAlchemy engine (pushed-down checks)
    url = source_url(ws, "customer_portal")         # read-only connection string (Great Expectations)
    collection_format("zoho_crm", "leads").key_column   # 'record_id'
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import glob
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import yaml

from datamap import identity
from datamap.errors import BadInput, SourceAbsent, SourceUnavailable
from datamap.workspace import CollectionSource, DatasetSource, Workspace

if TYPE_CHECKING:  # pandas and SQLAlchemy load when a source is read, not when the CLI starts
    import pandas as pd
    from sqlalchemy.engine import Engine

DEFAULT_CHUNKSIZE = 10_000
FORMATS_FILE = Path(__file__).with_name("formats.yml")
SOURCES_FILE = "sources.yml"

_TIME_DIRECTIVE = re.compile(r"%[HIMSpfzTXcR]")
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


@functools.cache
def _formats() -> dict[str, Any]:
    return yaml.safe_load(FORMATS_FILE.read_text(encoding="utf-8"))


def products() -> list[str]:
    """The products whose standard formats the workbench knows."""
    return list(_formats())


def collection_format(product: str, collection: str) -> CollectionFormat:
    """Look up a collection's standard shape; unknown collections get a free-form shape (all text)."""
    spec = _formats().get(product) or _formats()["generic"]
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
    from datamap.workspace import inside_workspace

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
    if isinstance(workspace, Workspace):
        return workspace
    from datamap.workspace import load_workspace

    return load_workspace(workspace)


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


def standard_format(product: str, collection: str, source: CollectionSource, key: str) -> CollectionFormat:
    """The shape a collection must have: its product's standard collection (``standard:``, else its own name),
    or for a generic export that plays a role (``role:``) the shape of that role's standard collection;
    with the collection's own ``dates:`` and ``identifiers:`` added. Those may name a header as the file
    writes it or as ``columns:`` renames it: both are read as the renamed header, the one the store keeps."""
    from datamap.roles import reference_format

    fmt = collection_format(product, source.standard or collection)
    if source.standard and not fmt.headers and product != "generic":
        known = ", ".join(sorted((_formats().get(product) or {}).get("collections") or {}))
        raise BadInput(SOURCES_FILE, f"{key}.standard", f"{product} has no standard collection {source.standard!r}",
                       f"its standard collections: {known}")
    mbox = source.format == "mbox" or (source.format is None and (source.file or "").lower().endswith(".mbox"))
    if not fmt.headers and product != "generic" and not source.key and not mbox:
        # a renamed standard collection (leads_2024) would be read as free text: no key, no dates, no
        # identifiers indexed, so a person held in it would pass for erased. Say what it is instead.
        # (An mbox has one shape whatever its name: sent, privacy_inbox.)
        import difflib

        known = sorted((_formats().get(product) or {}).get("collections") or {})
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


# --- shaping raw frames into the store's columns -------------------------------------------------


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
                           f"its headers: {', '.join(_header_text(h) for h in cleaned if h)}")
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
                           + ", ".join(_header_text(c) for c in columns))
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
        text = values.where(~typed, None).map(lambda v: v if v is None or isinstance(v, str) else _as_text(v))
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


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# --- quoting a value in an error line ------------------------------------------------------------

PERSONAL_KINDS = frozenset({"email", "phone", "iban", "name", "customer_number"})  # identify a person
_DATE_SHAPE = re.compile(r"\d{1,4}([-/.])\d{1,2}\1\d{1,4}(?:[ T]\d{1,2}(?::\d{1,2}){1,2}(?:\.\d+)?\s*(?:[AaPp][Mm])?)?")
_SHOWN = 40


def shown_value(value: Any, kind: str | None = None) -> str:
    """A cell value as an error line (stderr, checks.json, run.json) may quote it.

    As it is (``'24/11/2026 09:15'``), unless the column holds identifiers (``kind``) or the value
    reads as an e-mail address, a phone number or an IBAN, as when columns shift: then only its shape,
    ``<masked +99999999999>``, enough to see what kind of value sits where it should not.
    """
    text = _as_text(value)
    if kind in PERSONAL_KINDS or _looks_personal(text):
        shape = "".join("9" if c.isdigit() else "x" if c.isalpha() else c for c in text[:_SHOWN])
        return f"<masked {shape}{'…' if len(text) > _SHOWN else ''}>"
    return repr(value)


def _looks_personal(text: str) -> bool:
    """An e-mail address, or a phone number or IBAN (nine digits or more), that is not shaped as a date."""
    if "@" in text:
        return True
    if sum(c.isdigit() for c in text) < 9 or _DATE_SHAPE.fullmatch(text.strip()):
        return False
    return bool(identity.normalise_phone(text) or identity.normalise_iban(text))


def _header_text(header: str) -> str:
    """A header for an error line: as it is, masked when it reads as an identifier (a file without header row)."""
    return header if not _looks_personal(header) else shown_value(header)


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
    text = _as_text(value).strip().lower()
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
            raise BadInput(where, f"row {_row_of(frame, i)}, column {_header(src, column)}",
                           f"date {shown_value(values[i], _kind(src, column))} does not match the date format {fmt!r}",
                           f"set date_format in sources.yml {src.config_key}")
        if src.latest is not None and _header(src, column) not in src.fmt.future_dates:
            late = parsed >= pd.Timestamp(src.latest + dt.timedelta(days=1))  # any time on a later day
            if late.any():
                i = late[late].index[0]
                raise BadInput(where, f"row {_row_of(frame, i)}, column {_header(src, column)}",
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
    table = np.array([normalise(_as_text(v)) for v in uniques] + [None], dtype=object)
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
            raise BadInput(where, f"row {_row_of(frame, index)}, column {_header(src, column)}",
                           f"{shown_value(value, _kind(src, column))} is not a boolean",
                           "use true/false, 1/0, Ja/Nee or yes/no") from None
    return pd.Series(out, index=frame.index, dtype="Int64")


def _header(src: ResolvedSource, column: str) -> str:
    """The standard header a store column came from (for error messages)."""
    for header in src.fmt.headers:
        if snake(header) == column:
            return header
    return column


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
