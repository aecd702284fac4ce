"""The workspace: a folder with manifests, sources.yml, policy.yml and the notice.

Loading validates the two workbench files (``sources.yml``, ``policy.yml``) against typed models
and turns every problem into one :class:`~datamap.errors.BadInput` line naming file and key.
The fideslang manifests are parsed by :mod:`datamap.map`; here they are only read as YAML.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from datamap.errors import BadInput

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?$"
)


def parse_duration(text: str) -> relativedelta:
    """Parse an ISO-8601 date duration (``P2Y``, ``P6M``, ``P14D``) into a calendar delta."""
    match = _DURATION.match(str(text).strip())
    if not match:
        raise ValueError(f"not an ISO-8601 duration like P2Y, P6M or P14D: {text!r}")
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    return relativedelta(
        years=parts.get("years", 0),
        months=parts.get("months", 0),
        days=parts.get("days", 0) + 7 * parts.get("weeks", 0),
    )


def fiscal_year_end_of(day: dt.date, month_day: str = "12-31") -> dt.date:
    """The last day of the fiscal year that holds ``day`` (``month_day`` like ``12-31``)."""
    month, dom = (int(p) for p in month_day.split("-"))
    end = dt.date(day.year, month, dom)
    return end if day <= end else dt.date(day.year + 1, month, dom)


def retention_start(day: dt.date, anchor: str, month_day: str = "12-31") -> dt.date:
    """Where a retention period starts: the date itself, or the end of its fiscal year (Dutch fiscal duty)."""
    return fiscal_year_end_of(day, month_day) if anchor == "fiscal_year_end" else day


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Duration = str


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


def _check_timezone(value: str) -> str:
    """Refuse a time zone the IANA database does not know, before any date is converted with it."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (an IANA name like Europe/Amsterdam)") from None
    return value


# --- sources.yml -------------------------------------------------------------------------------

Product = Literal[
    "zoho_crm", "zoho_books", "zoho_desk", "zoho_salesiq", "zoho_campaigns", "zoho_mail",
    "customer_portal", "hr", "governance", "generic",
]
FileFormat = Literal["csv", "xlsx", "mbox", "message_trace"]


class CollectionSource(_Model):
    """Where one collection's rows are: an export file (glob allowed) or a table."""

    file: str | None = None
    table: str | None = None
    format: FileFormat | None = None
    encoding: str = "auto"
    delimiter: str = "auto"
    date_format: str | None = None
    columns: dict[str, str] = Field(default_factory=dict, description="their header -> standard header")
    key: str | None = Field(None, description="the header of the column that identifies a record, when the product has no standard one")
    standard: str | None = Field(None, description="the product's standard collection this is, when its key is another name")
    role: str | None = Field(None, description="what the checks read it as (datamap/checks/roles.yml), for a generic export")
    dates: dict[str, Literal["date", "datetime", "datetime_utc"]] = Field(
        default_factory=dict, description="header -> date kind, beyond the product's standard dates")
    identifiers: dict[str, Literal["email", "phone", "iban", "customer_number", "name", "invoice_number"]] = Field(
        default_factory=dict, description="header -> identifier kind, beyond the product's standard identifiers")
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="header -> {the export's word: the standard value} (Actief: active)")
    absent: str | None = Field(None, description="the company keeps no such export: why (its checks are not applicable)")

    @model_validator(mode="after")
    def _absent_or_somewhere(self) -> "CollectionSource":
        if self.absent is not None and not self.absent.strip():
            raise ValueError("absent: needs the reason the company keeps no such data")
        if self.absent is not None and (self.file or self.table):
            raise ValueError("a collection is either absent or has a file/table, not both")
        return self


class DatasetSource(_Model):
    """A dataset of the map and where its data lives."""

    product: Product = "generic"
    url: str | None = Field(None, description="SQLAlchemy URL; secrets only as ${ENV_VAR}")
    date_format: str | None = None
    collections: dict[str, CollectionSource]

    @field_validator("url")
    @classmethod
    def _no_inline_secret(cls, value: str | None) -> str | None:
        if value and re.search(r"://[^/@:]+:(?!\$\{)[^@/]+@", value):
            raise ValueError("a password in a database URL must be given as ${ENV_VAR}")
        return value


class SourcesConfig(_Model):
    version: Literal[1] = 1
    timezone: str = "Europe/Amsterdam"
    datasets: dict[str, DatasetSource]
    store: str | None = Field(
        None, description="the folder of the audit store (relative to the workspace, or absolute), or a PostgreSQL "
                          "URL (postgresql://user:${PGPASSWORD}@host/db?schema=datamap); default .datamap")
    absent: dict[str, str] = Field(
        default_factory=dict, description="role (datamap/checks/roles.yml) -> why the company keeps no such data")

    @field_validator("absent")
    @classmethod
    def _reasons(cls, value: dict[str, str]) -> dict[str, str]:
        import difflib

        from datamap.roles import load_roles

        roles = load_roles()
        for role, reason in value.items():
            if role not in roles:
                close = difflib.get_close_matches(role, list(roles), n=1)
                raise ValueError(f"{role!r} is not a role the checks read; "
                                 + (f"did you mean {close[0]!r}?" if close else f"the roles: {', '.join(roles)}"))
            if not str(reason or "").strip():
                raise ValueError(f"absent.{role} needs the reason the company keeps no such data")
        return value

    _tz = field_validator("timezone")(_check_timezone)


# --- policy.yml --------------------------------------------------------------------------------


class NoticePurpose(_Model):
    key: str
    text: str = Field(description="the notice's own words for this purpose")
    data_uses: list[str]
    data_categories: list[str] = Field(default_factory=list, description="empty: any category")
    legal_basis: str | None = None


class NoticePolicy(_Model):
    file: str
    version: str | None = Field(None, description="the version of the notice under audit, as the version log names it")
    notify_versions: list[str] | None = Field(
        None, description="the versions customers must have been told of (default: every version the log marks major)")
    purposes: list[NoticePurpose]
    disclosed_categories: list[str] = Field(default_factory=list)
    subjects: list[str] = Field(default_factory=lambda: ["customer", "prospect", "visitor"])


class RetentionRule(_Model):
    system: str
    collection: str
    period: Duration
    date_column: str = Field(description="the store column the period counts from")
    anchor: Literal["date", "fiscal_year_end"] = "date"
    categories: list[str] = Field(default_factory=list)
    legal_duty: str | None = Field(None, description="a law that obliges keeping: erasure restricts instead")
    basis: str | None = None

    _v = field_validator("period")(_check_duration)


class AccessPolicy(_Model):
    roles: dict[str, list[str]] = Field(description="roster role -> data categories its job needs")
    restricted_categories: dict[str, list[str]] = Field(
        default_factory=dict, description="category -> the only roles that may reach it"
    )
    systems: dict[str, list[str]] = Field(
        default_factory=dict, description="system fides_key -> the only roster roles that may hold an account on it")
    review_interval: Duration = "P1Y"
    deactivation_grace: Duration = "P1D"
    reviewed_systems: list[str] = Field(default_factory=list)

    _v = field_validator("review_interval", "deactivation_grace")(_check_duration)


class RecipientPolicy(_Model):
    approved_domains: list[str] = Field(default_factory=list)
    approved_addresses: list[str] = Field(default_factory=list)
    own_domains: list[str] = Field(default_factory=list)


class RequestPolicy(_Model):
    deadline: Duration = "P1M"
    extension: Duration = "P2M"
    privacy_mailbox: str

    _v = field_validator("deadline", "extension")(_check_duration)


class TrialPolicy(_Model):
    max_days: int = 14


class Policy(_Model):
    version: Literal[1] = 1
    organization: str = Field(description="fides_key of the Organization (the controller)")
    as_of: dt.date | None = Field(None, description="the audit's reference date; default today")
    timezone: str = "Europe/Amsterdam"
    fiscal_year_end: str = "12-31"
    notice: NoticePolicy
    retention: list[RetentionRule]
    access: AccessPolicy
    recipients: RecipientPolicy
    requests: RequestPolicy
    trials: TrialPolicy = TrialPolicy()
    functional_mailboxes: list[str] = Field(
        default_factory=list, description="the company's own functional addresses (privacy@, info@): shown as they are; "
                                          "any other address, in the own domains too, is a person's and shown as a pseudonym")

    _tz = field_validator("timezone")(_check_timezone)

    def reference_date(self) -> dt.date:
        """``as_of``, else today in the company's time zone (at 00:30 in Amsterdam it is not yet today in UTC)."""
        from zoneinfo import ZoneInfo

        return self.as_of or dt.datetime.now(ZoneInfo(self.timezone)).date()


# --- loading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestFile:
    path: Path
    relpath: str
    documents: dict[str, Any]


@dataclass(frozen=True)
class Workspace:
    root: Path
    sources: SourcesConfig
    policy: Policy
    manifests: list[ManifestFile] = field(default_factory=list)

    def path(self, relative: str, file: str = "sources.yml", key: str | None = None) -> Path:
        """Resolve a workspace-relative path (absolute paths stay as they are: an explicit choice).

        A relative path must stay inside the workspace: one whose ``..`` or symlink leads outside it is
        BadInput naming ``file`` and ``key`` (:func:`inside_workspace`).
        """
        p = Path(relative)
        return p if p.is_absolute() else inside_workspace(self.root, self.root / p, relative, file, key)

    @property
    def store_url(self) -> str | None:
        """The PostgreSQL database the audit store lives in (sources.yml ``store:`` or ``--store`` as a URL), or None."""
        return self.sources.store.strip() if self.sources.store and is_store_url(self.sources.store) else None

    @property
    def store_folder(self) -> Path:
        """Where the audit store lives: sources.yml ``store:`` (or ``--store``), else ``<workspace>/.datamap``.

        With a PostgreSQL store, this folder keeps staging's own SQLite file (what changed since the last staging).
        """
        if not self.sources.store or self.store_url:
            return self.root / ".datamap"
        p = Path(self.sources.store).expanduser()
        return p if p.is_absolute() else self.root / p

    def with_store(self, folder: str | os.PathLike[str] | None) -> "Workspace":
        """This workspace with its audit store in ``folder`` (the ``--store`` option); None: unchanged."""
        import dataclasses

        if folder is None:
            return self
        if not str(folder).strip():
            raise BadInput(None, "--store", "an empty path: name the folder the audit store goes in")
        if is_store_url(str(folder)):  # checked, and its server reached, before staging (datamap.store.pg_store)
            return dataclasses.replace(self, sources=self.sources.model_copy(update={"store": str(folder).strip()}))
        sources = self.sources.model_copy(update={"store": str(Path(folder).expanduser().absolute())})
        return dataclasses.replace(self, sources=sources)

    @property
    def notice_path(self) -> Path:
        return self.path(self.policy.notice.file, "policy.yml", "notice.file")


def is_store_url(text: str | None) -> bool:
    """Whether a ``store:`` value names a PostgreSQL database (``datamap.warehouse.postgres``) rather than a folder."""
    return bool(text) and str(text).strip().lower().startswith(("postgresql:", "postgresql+", "postgres:"))


def inside_workspace(root: Path, path: Path, written: str, file: str = "sources.yml",
                     key: str | None = None) -> Path:
    """``path`` (a relative path ``written`` joined to the workspace ``root``), refused when it leads outside.

    The rule (docs/workspace.md, "Paths"): a relative path names a file inside the workspace; a
    ``..`` that climbs out of it, or a symlink that resolves outside it, is BadInput. An absolute path
    is read where it points (callers do not pass those here).
    """
    base = root.resolve()
    target = path.resolve()
    if target == base or target.is_relative_to(base):
        return path
    lexical = Path(os.path.normpath(path))
    how = ("climbs out of it with '..'" if not Path(os.path.abspath(lexical)).is_relative_to(os.path.abspath(root))
           else f"a symlink leads outside it, to {target}")
    raise BadInput(file, key, f"{written!r} is outside the workspace: {how}",
                   "write an absolute path to read a file outside the workspace on purpose")


ALIAS_ALLOWANCE = 100_000  # values aliases may add to a YAML file (beyond as many again as it writes out)


class _WorkspaceLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing what only a broken or hostile file needs.

    Aliases that expand a file past its own size plus ``ALIAS_ALLOWANCE`` values (777 bytes of nested
    aliases stand for billions: every reader of the result would walk them), an alias inside the very
    structure it names (a value that holds itself), and dates that do not exist (``2026-02-30``).
    """

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return self.construct_document(node)

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:  # type: ignore[override]
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(None, None, f"{node.value!r} is not a date: {exc}",
                                                    node.start_mark) from None


_WorkspaceLoader.add_constructor("tag:yaml.org,2002:timestamp", _WorkspaceLoader.construct_yaml_timestamp)


def _check_expansion(root: yaml.Node) -> None:
    """Count the values of the document with every alias expanded, each distinct node once (so it is quick)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_nodes:
            raise yaml.composer.ComposerError(None, None, "an alias refers to the structure that holds it",
                                              node.start_mark)
        open_nodes.add(id(node))
        children = node.value if isinstance(node, yaml.SequenceNode) else \
            [part for pair in node.value for part in pair] if isinstance(node, yaml.MappingNode) else []
        total = 1 + sum(size(child) for child in children)
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    expanded = size(root)
    if expanded - len(sizes) > max(ALIAS_ALLOWANCE, len(sizes)):
        raise yaml.composer.ComposerError(None, None, f"its aliases expand {len(sizes):,} values to {expanded:,}: "
                                          "refused (write the values out)", root.start_mark)


def read_yaml(path: Path, root: Path | None = None) -> Any:
    """Read one YAML file, turning a syntax error into a BadInput naming file and line.

    Loaded with a safe loader that also refuses alias bombs, self-holding aliases and impossible dates
    (:class:`_WorkspaceLoader`): every workspace file is read through here.
    """
    rel = _rel(path, root)
    if not path.exists():
        raise BadInput(rel, None, "file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(rel, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return yaml.load(text, Loader=_WorkspaceLoader)  # noqa: S506 -- a SafeLoader, with the checks above
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadInput(rel, where, f"invalid YAML: {problem}") from None
    except RecursionError:
        raise BadInput(rel, None, "invalid YAML: nested too deeply") from None


def _rel(path: Path, root: Path | None) -> str:
    try:
        return str(path.relative_to(root)) if root else str(path)
    except ValueError:
        return str(path)


def validation_error(rel: str, exc: ValidationError, model: type[BaseModel] | None = None) -> BadInput:
    """Turn the first pydantic error into one BadInput line with the dotted key.

    A misspelt key is named with the nearest key the file allows at that place (``model``, when
    given, says which keys those are; else the keys pydantic found missing beside it).
    """
    import difflib

    errors = exc.errors()
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    err = unknown[0] if unknown else errors[0]
    key = re.sub(r"[\x00-\x1f]", lambda m: repr(m.group())[1:-1], ".".join(str(p) for p in err["loc"])) or None  # one line
    msg, hint = err["msg"], None
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
        parent, name = err["loc"][:-1], str(err["loc"][-1])
        missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and e["loc"][:-1] == parent]
        allowed = allowed_keys(model, parent) if model is not None else []
        close = difflib.get_close_matches(name, missing, n=1, cutoff=0.6) or \
            difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean {close[0]!r}?"
        elif allowed:
            hint = f"the keys allowed here: {', '.join(allowed)}"
    elif err["type"] == "missing":
        msg = "required key is missing"
    return BadInput(rel, key, msg.removeprefix("Value error, "), hint)


def allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys a model allows at a dotted place (``("access",)`` -> AccessPolicy's fields)."""
    import types
    import typing

    def unwrap(annotation: Any) -> Any:
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            return args[0] if args else annotation
        return annotation

    current: Any = model
    parts = list(loc)
    while parts:
        current = unwrap(current)
        origin = typing.get_origin(current)
        if origin in (dict, list):
            parts.pop(0)
            current = typing.get_args(current)[-1]
        elif isinstance(current, type) and issubclass(current, BaseModel) and parts[0] in current.model_fields:
            current = current.model_fields[parts.pop(0)].annotation
        else:
            return []
    current = unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _load_model(model: type[BaseModel], path: Path, root: Path) -> Any:
    data = read_yaml(path, root)
    if not isinstance(data, dict):
        raise BadInput(_rel(path, root), None, "expected a mapping at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(_rel(path, root), exc, model) from None


def load_workspace(root: str | os.PathLike[str]) -> Workspace:
    """Load and validate a workspace folder (manifests are read as YAML, not yet as a map)."""
    base = Path(root)
    if not base.is_dir():
        raise BadInput(str(base), None, "workspace folder not found")
    sources = _load_model(SourcesConfig, base / "sources.yml", base)
    policy = _load_model(Policy, base / "policy.yml", base)
    manifest_dir = base / "manifests"
    files = sorted(manifest_dir.glob("*.yml")) + sorted(manifest_dir.glob("*.yaml"))
    if not files:
        raise BadInput(_rel(manifest_dir, base), None, "no fideslang manifests (*.yml) found")
    manifests = []
    for path in files:
        data = read_yaml(path, base)
        if not isinstance(data, dict):
            raise BadInput(_rel(path, base), None, "expected a mapping of fideslang resource lists")
        manifests.append(ManifestFile(path, _rel(path, base), data))
    return Workspace(base, sources, policy, manifests)


def unsourced_datasets(workspace: Workspace) -> list[BadInput]:
    """The datasets of the map that no source in sources.yml describes: their data cannot be read.

    A misspelt source name is the usual cause, so a source the map does not know is suggested.
    """
    import difflib

    declared = {item.get("fides_key") for m in workspace.manifests for item in m.documents.get("dataset") or []
                if isinstance(item, dict)}
    strays = [name for name in workspace.sources.datasets if name not in declared]
    problems = []
    for manifest in workspace.manifests:
        for item in manifest.documents.get("dataset") or []:
            name = item.get("fides_key") if isinstance(item, dict) else None
            if isinstance(name, str) and name not in workspace.sources.datasets:
                close = difflib.get_close_matches(name, strays, n=1)
                hint = (f"sources.yml has datasets.{close[0]}: a misspelling?" if close
                        else f"add datasets.{name} to sources.yml with where its data lives")
                problems.append(BadInput(manifest.relpath, f"dataset {name}",
                                         "no source in sources.yml describes this dataset", hint))
    return problems


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(value: str, file: str = "sources.yml", key: str | None = None) -> str:
    """Replace ``${VAR}`` with the environment's value; a missing variable is bad input."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise BadInput(file, key, f"environment variable {name} is not set")
        return os.environ[name]

    return _ENV.sub(sub, value)
