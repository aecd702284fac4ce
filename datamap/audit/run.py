"""One audit run: stage the sources, run every check of the catalogue, keep the results whole.

Three honest states per check: ``passed``, ``failed`` (with findings) and ``not_run`` (with the
reason: its source could not be read, a parameter is missing, the engine failed). A check that
could not run never looks like a pass, and the others still run.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from datamap.audit import archive
from datamap.audit.catalogue import (DEFAULT_DIR, IDENTIFIER, Claim, ResolvedCheck, expand, fill, load_catalogue,
                                     template_fields)
from datamap.audit.evidence import row_columns, row_finding
from datamap.audit.mapfacts import workspace_facts
from datamap.outputs import safe_cell
from datamap.audit.params import missing_params, policy_value, put_params, register_functions, standard_params
from datamap.errors import EXIT_CANNOT_RUN, EXIT_FINDINGS, EXIT_OK, BadInput
from datamap.findings import Finding
from datamap.identity import Pseudonymizer
from datamap.binding import Binding, bindings, declared_absent
from datamap.roles import load_roles
from datamap.sources import files_of
from datamap.store import columns_of, digest, open_read_only, pg_store, reading, sha256_file
from datamap.warehouse.postgres import PgStore
from datamap.workspace import Workspace, load_workspace

TABLE_TOKEN = re.compile(r"\b([a-z][a-z0-9_]*?)__([a-z][a-z0-9_]*)\b")


@dataclass(frozen=True)
class Staged:
    """The audit store of a run and what staging said of each source table (None: read fine).

    ``collections``: the same per ``(dataset, collection)`` (mailboxes of a dataset share a table).
    """

    path: Path
    status: dict[str, str | None]
    collections: dict[tuple[str, str], str | None] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()  # the mail messages staging left out, each with its one line (run.json)
    pg: PgStore | None = None  # where the checks read when the store is a PostgreSQL schema (else ``path``)

    @property
    def location(self) -> "Path | PgStore":
        """The store the checks, the register and the subject lookup read."""
        return self.pg or self.path


STATES = ("passed", "failed", "not_run", "not_applicable")


@dataclass
class CheckResult:
    claim: str
    check: str
    name: str
    rule: str
    kind: str
    severity: str
    status: str
    name_nl: str | None = None  # the name in Dutch, for the Dutch report (None: a workspace's own check says none)
    reason: str | None = None
    rows_examined: int | None = None
    findings: int = 0
    seconds: float = 0.0
    restricted: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if self.restricted is None:
            data.pop("restricted")
        return data


@dataclass
class AuditRun:
    """The live outcome of ``run_audit``: typed findings and check results, the exit code, the Data Docs.

    Once written, a run is read back as one :class:`datamap.audit.archive.ArchivedRun` (:meth:`archived`).
    """

    findings: list[Finding]
    checks: list[CheckResult]
    claims: list[Claim]
    run_dir: Path
    out_dir: Path
    as_of: dt.date
    comparison: dict[str, Any] = field(default_factory=dict)
    docs_index: Path | None = None
    store_path: Path | None = None
    pg: PgStore | None = None

    @property
    def exit_code(self) -> int:
        if any(c.status == "not_run" for c in self.checks):
            return EXIT_CANNOT_RUN
        return EXIT_FINDINGS if self.findings else EXIT_OK

    def archived(self) -> archive.ArchivedRun:
        """This run as read back from its folder: what the charts, the register and the report read."""
        return archive.load_run(self.run_dir, store=self.store_path, pg=self.pg)


# --- staging ------------------------------------------------------------------------------------


def stage_sources(workspace: Workspace, path: Path | None = None, progress: bool = False) -> Staged:
    """Stage the workspace's sources into the audit store (``datamap.store``) with per-source status."""
    from datamap import store

    say = (lambda line: print(f"  {line}", file=sys.stderr, flush=True)) if progress else None
    staged = store.stage(workspace, path=path, progress=say)
    try:
        status = {s.table: s.error for s in staged.status.values()}
        # an mbox collection stages into <dataset>__messages; a failed one must still be known there
        for (dataset, collection), s in staged.status.items():
            status.setdefault(f"{dataset}__{collection}", s.error)
        skipped = tuple(line for s in staged.status.values() for line in s.skipped)
        for line in skipped:  # the checks run without them: never silently
            print(f"warning: {line}", file=sys.stderr, flush=True)
        return Staged(Path(staged.path), status, {k: s.error for k, s in staged.status.items()}, skipped, staged.pg)
    finally:
        staged.close()


def default_catalogue_dirs(ws: Workspace) -> list[Path]:
    """The shipped ``checks/`` plus the workspace's own ``checks/`` folder when it has one."""
    return [DEFAULT_DIR] + ([ws.root / "checks"] if (ws.root / "checks").is_dir() else [])


def input_hashes(ws: Workspace, dirs: list[Path]) -> dict[str, dict[str, str]]:
    """The sha256 of everything a run judges (run.json's ``sha256`` without the store): what makes a run current."""
    return {
        "manifests": archive.hashes([m.path for m in ws.manifests], ws.root),
        "policy": archive.hashes([ws.root / "policy.yml"], ws.root),
        "sources_yml": archive.hashes([ws.root / "sources.yml"], ws.root),
        "catalogue": _catalogue_hashes(dirs, ws),
        "sources": archive.hashes(_source_files(ws), ws.root),
    }


def changed_input(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> BadInput | None:
    """The first file whose sha256 differs between two :func:`input_hashes` (added and removed files too), or None."""
    for group in sorted(set(before) | set(after)):
        old, new = before.get(group, {}), after.get(group, {})
        for name in sorted(set(old) | set(new)):
            if old.get(name) != new.get(name):
                what = "appeared" if name not in old else "disappeared" if name not in new else "changed"
                return BadInput(name, None, f"{what} while the audit ran: its findings would mix two versions, "
                                "so the run is not kept", "audit again once the file no longer changes")
    return None


def _catalogue_hashes(dirs: list[Path], ws: Workspace) -> dict[str, str]:
    """sha256 of each catalogue file, named ``checks/P01.yml`` (the workspace's own under ``workspace/``)."""
    out = {}
    for folder in dirs:
        label = "workspace/checks" if folder.resolve() == (ws.root / "checks").resolve() else "checks"
        for path in sorted(folder.glob("P[0-9][0-9].yml")):
            out[f"{label}/{path.name}"] = sha256_file(path)
    return out


def _source_files(workspace: Workspace) -> list[Path]:
    files: list[Path] = []
    for dataset in workspace.sources.datasets.values():
        for collection in dataset.collections.values():
            if collection.file:
                # the store's own resolution (absolute globs too); a file it cannot read is its source's not_run
                with contextlib.suppress(BadInput):
                    files.extend(files_of(workspace.root, collection.file))
        if dataset.url and dataset.url.startswith("sqlite:///"):
            with contextlib.suppress(BadInput):
                database = _sqlite_file(workspace, dataset.url)
                files += [database, database.with_name(database.name + "-wal")]  # its log holds rows too (when there)
    return files


def _sqlite_file(workspace: Workspace, url: str) -> Path:
    return workspace.path(url[len("sqlite:///"):].split("?")[0])


# --- which sources a check needs ----------------------------------------------------------------


COLUMN_SUFFIXES = {"norm", "masked"}  # <col>__norm, <col>__masked are columns, not tables


def resolve_checks(ws: Workspace, claims: list[Claim], bind: dict[str, list[Binding]] | None = None) -> list[ResolvedCheck]:
    """Every check of the catalogue bound to this workspace's sources: ``for_each`` expanded, roles filled in.

    A role that many collections play (``accounts``) gives one check per collection; a single
    role (``roster``) fills ``{roster}``, ``{roster.system}``, ... in every check.
    """
    bind = bind if bind is not None else bindings(ws)
    roles = load_roles()
    lists: dict[str, list[dict[str, str]]] = {"policy.retention": retention_items(ws)}
    common: dict[str, str] = {}
    for name, role in roles.items():
        if role.many:
            lists[name] = [b.vars() for b in bind.get(name, [])]
        elif len(bind.get(name, [])) == 1:
            common.update(bind[name][0].vars(prefix=name))
    return [c for claim in claims for c in expand(claim, lists, common=common)]


def referenced_roles(check: ResolvedCheck) -> set[str]:
    """The roles a check reads: ``{roster}`` or ``{roster.system}`` in its texts, its ``reads:``, its ``for_each``."""
    roles = load_roles()
    spec = check.spec
    texts = [spec.name, spec.table or "", spec.query or "", spec.restricted_query or ""]
    if spec.finding is not None:
        f = spec.finding
        texts += [f.system or "", f.record_key, f.detail, f.dataset or "", f.collection or "", f.source_table or ""]
    found = {name.split(".")[0] for t in texts for name in template_fields(t)} & set(roles)
    if spec.reads:
        found.add(spec.reads)
    if isinstance(spec.for_each, str) and spec.for_each in roles:
        found.add(spec.for_each)
    return found


def _unbound(role: str) -> str:
    means = load_roles()[role].means if role in load_roles() else role
    return (f"nothing in sources.yml is {means} (role {role}): add the export that is, "
            f"or say the company keeps none with absent: {{{role}: <why>}} in sources.yml")


def applicability(check: ResolvedCheck, ws: Workspace, bind: dict[str, list[Binding]]) -> tuple[str, str] | None:
    """``not_applicable`` when the check reads what the company declared it does not keep; ``not_run`` when
    what it reads is not bound to any source (or ambiguously to several); None when it can run."""
    roles = load_roles()
    absent: list[str] = []
    missing: list[str] = []
    if check.unbound:
        reason = declared_absent(ws, check.unbound)
        (absent if reason else missing).append(f"{check.unbound}: {reason}" if reason else _unbound(check.unbound))
    dataset, collection = check.vars.get("dataset"), check.vars.get("collection")
    if isinstance(check.spec.for_each, str) and dataset and collection:
        config = ws.sources.datasets.get(dataset)
        source = config.collections.get(collection) if config else None
        if source is not None and source.absent:
            absent.append(f"{dataset}.{collection}: {source.absent}")
    # a derived table (mail recipients) is there when its source role is: report that role
    wanted = {roles[r].derived_from or r for r in referenced_roles(check)}
    for role in sorted(wanted):
        if roles[role].many:
            continue  # read one collection per check (for_each)
        found = bind.get(role, [])
        if not found:
            reason = declared_absent(ws, role)
            (absent if reason else missing).append(f"{role}: {reason}" if reason else _unbound(role))
        elif len(found) > 1:
            names = ", ".join(f"{b.dataset}.{b.collection}" for b in found)
            missing.append(f"{len(found)} sources are {roles[role].means} (role {role}): {names}; "
                           "keep one, or mark the others absent: in sources.yml")
        elif found[0].absent:
            absent.append(f"{found[0].dataset}.{found[0].collection}: {found[0].absent}")
    if absent:
        return "not_applicable", "; ".join(absent)  # the company's own words, after its role or collection
    if missing:
        return "not_run", "; ".join(missing)
    return None


def _derived_bases(bind: dict[str, list[Binding]]) -> dict[str, set[str]]:
    """Each derived table (mail recipients) and the staged tables it is built from."""
    roles = load_roles()
    out: dict[str, set[str]] = {}
    for name, role in roles.items():
        if not role.derived_from:
            continue
        for b in bind.get(name, []):
            bases = {x.table for r in (role.derived_from, *role.derived_with) for x in bind.get(r, [])
                     if x.dataset == b.dataset and not x.absent}
            out[b.table] = bases
    return out


def needed_tables(check: ResolvedCheck, workspace: Workspace, params: dict[str, Any],
                  bind: dict[str, list[Binding]] | None = None) -> list[str]:
    """The store tables a check reads (``<dataset>__<collection>``), so an unread source stops only its checks."""
    spec = check.spec
    if spec.kind == "column":
        dataset, collection = column_target(check)
        return [f"{dataset}__{collection}"]
    if spec.kind != "sql":
        return []
    derived = _derived_bases(bind if bind is not None else bindings(workspace))
    text = " ".join(fill(t, check.vars) for t in (spec.table or "", spec.query or "", spec.restricted_query or ""))
    tables: set[str] = set()
    for dataset, collection in TABLE_TOKEN.findall(text):
        collection = collection.removesuffix("__identifiers")  # a table's own identifiers come with it
        if collection not in COLUMN_SUFFIXES:
            table = f"{dataset}__{collection}"
            tables |= derived.get(table, {table})
    if re.search(r"\bidentifiers\b", text):
        tables |= ({fill(t, check.vars) for t in spec.needs} if spec.needs is not None
                   else set(params.get("identity.tables") or []))
    return sorted(tables)


def column_target(check: ResolvedCheck) -> tuple[str, str]:
    """The (dataset, collection) a column check pushes down to: its role's, or as the entry names them."""
    spec = check.spec
    if spec.reads:
        return check.vars.get(f"{spec.reads}.dataset", ""), check.vars.get(f"{spec.reads}.collection", "")
    return spec.dataset or "", spec.collection or ""


def unreadable(tables: list[str], staged: Staged, workspace: Workspace) -> str | None:
    """The reason a check cannot run for lack of a source, or None."""
    reasons = []
    for table in tables:
        dataset, _, collection = table.partition("__")
        name = f"{dataset}.{collection}"
        if table not in staged.status:
            configured = workspace.sources.datasets.get(dataset)
            if configured is None or collection not in configured.collections:
                reasons.append(f"{name} is not in sources.yml")
            else:
                reasons.append(f"{name} was not staged")
        elif staged.status[table]:
            reasons.append(f"source {name} could not be read: {staged.status[table]}")
    return "; ".join(reasons) or None


def missing_column(store: "Path | PgStore", item: dict[str, str], ws: Workspace) -> str | None:
    """A retention rule whose date column its collection does not have: the line that says what would fix it."""
    db = open_read_only(store)
    try:
        columns = columns_of(db, item["table"])
    finally:
        db.close()
    if not columns:
        return None
    import difflib

    from datamap.sources import resolve

    index = next((i for i, r in enumerate(ws.policy.retention)
                  if (r.system, r.collection, r.date_column) == (item["system"], item["collection"], item["date_column"])), 0)
    key = f"retention.{index}.date_column"
    where = f"{item['dataset']}.{item['collection']}"
    if item["date_column"] in columns:
        try:
            dates = resolve(ws, item["dataset"], item["collection"]).fmt.date_columns()
        except BadInput:
            return None
        if item["date_column"] in dates:
            return None
        return BadInput("policy.yml", key, f"{where} column {item['date_column']!r} is not read as a date",
                        f"name its header under dates: in sources.yml datasets.{item['dataset']}.collections."
                        f"{item['collection']}, or count from one of its dates: {', '.join(sorted(dates)) or 'none'}").line()
    shown = [c for c in columns if not c.startswith("_") and not c.endswith(("__norm", "__masked"))]
    close = difflib.get_close_matches(item["date_column"], shown, n=1)
    return BadInput("policy.yml", key, f"{where} has no column {item['date_column']!r}",
                    (f"did you mean {close[0]!r}? " if close else "") + f"its columns: {', '.join(shown)}").line()


# --- running ------------------------------------------------------------------------------------


def _rule_matches(rule: str, patterns: list[str]) -> bool:
    """``notice.*`` keeps a family, ``!notice.x`` drops one rule of it."""
    def hit(p: str) -> bool:
        return rule == p or (p.endswith("*") and rule.startswith(p[:-1]))

    return any(hit(p) for p in patterns if not p.startswith("!")) and not any(hit(p[1:]) for p in patterns if p.startswith("!"))


def _engine_findings(kind: str, workspace: Workspace, engines: dict[str, Any]) -> list[Finding]:
    """Run the map policies, discovery or the notice lint once, on the audit's one loaded map."""
    dm = engines["data_map"]
    if kind == "map":
        from datamap import map as data_map

        return list(data_map.map_findings(dm, workspace.policy))
    if kind == "discovery":
        from datamap import discovery

        # collections the store holds as staged are sampled there, not parsed again
        result = discovery.scan(workspace, dm, store=engines.get("store"),
                                staged=[k for k, error in engines.get("staged", {}).items() if error is None])
        engines["scan"] = result  # its column table is kept with the run
        errors = list(dict.fromkeys(getattr(result, "errors", {}).values()))
        if errors:  # findings from the sources that were read would pass for the whole answer
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise BadInput(None, None, f"discovery could not read every source: {errors[0]}{more}")
        return list(getattr(result, "findings", result))
    from datamap import notice

    return list(notice.lint(workspace, dm))


def _library_findings(check: ResolvedCheck, workspace: Workspace, cache: dict[str, Any]) -> list[Finding]:
    """Findings of the map, discovery or notice engines (each run once per audit), kept for this check's rules."""
    kind = check.spec.kind
    if kind not in cache:
        try:
            cache[kind] = _engine_findings(kind, workspace, cache)
        except Exception as exc:  # noqa: BLE001 -- remembered so every check of this engine says why
            cache[kind] = exc
    if isinstance(cache[kind], Exception):
        raise cache[kind]
    kept = [f for f in cache[kind] if _rule_matches(f.rule, check.spec.rules)]
    return [dataclasses.replace(f, claim=check.claim, check=check.check_id, severity=_severity(check, f)) for f in kept]


def _severity(check: ResolvedCheck, finding: Finding) -> str:
    """The run's catalogue decides: a map or discovery finding has its check's severity (or the one its
    ``severities`` give its category or record key); a notice finding its element's (datamap/notice_terms.yml)."""
    spec = check.spec
    table = spec.severities
    keyed = next((table[k] for k in (finding.evidence.get("category"), finding.record_key) if k in table), None)
    if keyed:
        return keyed
    return finding.severity if spec.kind == "notice" else spec.severity


def _sql_source_url(workspace: Workspace, dataset: str) -> str:
    """The read-only URL of a SQL source, for the engine Great Expectations builds itself."""
    from datamap.sources import source_url

    config = workspace.sources.datasets.get(dataset)
    if config is None or not config.url:
        raise BadInput("sources.yml", f"datasets.{dataset}.url", "a column check needs a SQL source")
    return source_url(workspace, dataset)


def _column_kwargs(check: ResolvedCheck, workspace: Workspace) -> dict[str, Any]:
    kwargs = dict(check.spec.kwargs)
    for name, ref in check.spec.params.items():
        kwargs[name] = policy_value(workspace, ref[2:-1], check.file, f"checks.{check.spec.id}.params.{name}")
    return kwargs


def _provenance_rows(store: Path) -> list[dict[str, Any]]:
    """What every store table was read from (file or redacted URL, sha256, rows, time): kept with the run."""
    try:
        with sqlite3.connect(store) as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute("SELECT * FROM _provenance ORDER BY tbl")]
    except sqlite3.Error:
        return []


def _provenance(store: Path) -> dict[str, str]:
    try:
        with sqlite3.connect(store) as db:
            return {t: s for t, s in db.execute("SELECT tbl, source FROM _provenance")}
    except sqlite3.Error:
        return {}


def with_rows(findings: list[Finding], store: "Path | PgStore", ws: Workspace) -> list[Finding]:
    """Add the data row to evidence that names its record only by key (erasure leftovers, stale records)."""
    from datamap.sources import key_column
    from datamap.store import table_name

    out = []
    where: dict[tuple[str, str], tuple[str | None, str]] = {}  # (dataset, collection) -> key column, table: once each
    con = open_read_only(store)
    try:
        for f in findings:
            dataset = ws.sources.datasets.get(f.dataset or "")
            if "row" in f.evidence or dataset is None or not f.collection:
                out.append(f)
                continue
            pair = (f.dataset or "", f.collection)
            if pair not in where:
                where[pair] = (key_column(ws, *pair), table_name(ws, *pair))
            key, table = where[pair]
            if not key or not IDENTIFIER.match(key) or not IDENTIFIER.match(table):
                out.append(f)
                continue
            try:
                hit = con.execute(f'SELECT _row FROM "{table}" WHERE CAST("{key}" AS TEXT) = ? LIMIT 1',
                                  (f.record_key,)).fetchone()
            except sqlite3.Error:
                hit = None
            if hit is None:
                out.append(f)
                continue
            evidence = {"source": f.evidence.get("source"), "row": hit[0],
                        **{k: v for k, v in f.evidence.items() if k not in ("source", "row")}}
            out.append(dataclasses.replace(f, evidence=evidence))
    finally:
        con.close()
    return out


def _dataset_of(ws: Workspace, system: str) -> str:
    """The dataset a system's data lives in: its own key when sources.yml has it, else its first dataset reference."""
    if system in ws.sources.datasets:
        return system
    for manifest in ws.manifests:
        for item in manifest.documents.get("system") or []:
            if isinstance(item, dict) and item.get("fides_key") == system and item.get("dataset_references"):
                return str(item["dataset_references"][0])
    return system


def retention_items(ws: Workspace) -> list[dict[str, str]]:
    """One for_each item per retention rule: system, collection, store table, date column, record key."""
    from datamap.sources import key_column
    from datamap.store import table_name

    items = []
    for rule in ws.policy.retention:
        name = _dataset_of(ws, rule.system)
        items.append({"system": rule.system, "dataset": name, "collection": rule.collection,
                      "date_column": rule.date_column, "table": table_name(ws, name, rule.collection),
                      "key": key_column(ws, name, rule.collection) or "_row"})
    return items


def run_database(path: Path, store: Path) -> sqlite3.Connection:
    """The run's own database (its ``params`` and ``retention_due``) with the store attached read-only.

    Unqualified names find the run's tables first, then the store's; nothing can be written to the store.
    """
    db = sqlite3.connect(path.absolute().as_uri(), uri=True)
    db.execute("ATTACH DATABASE ? AS store", (f"{store.absolute().as_uri()}?mode=ro",))
    own = db.execute("SELECT name FROM store.sqlite_master WHERE name IN ('params', 'retention_due')").fetchone()
    if own:  # the checks read the store first: its table would hide the run's
        db.close()
        raise BadInput(str(store), None, f"the audit store holds a {own[0]} table of its own (an older datamap made it)",
                       "delete the store file; the next audit stages it again")
    return db


@contextlib.contextmanager
def run_tables(staged: Staged, work: Path, engine: str = "sql") -> Iterator[tuple[Any, "Path | str"]]:
    """Where a run keeps its ``params`` and ``retention_due``: a database of its own beside the SQLite
    store (0600 in the run's 0700 folder), or a schema of its own beside the PostgreSQL one.

    Yields the connection that fills them and what the validator attaches (the file, or the schema).
    Spark reads them from the run's SQLite database, as it reads the store from staging's file.
    """
    if staged.pg is not None and engine == "sql":
        from datamap.warehouse.postgres import run_schema

        with run_schema(staged.pg) as (name, con):
            yield con, name
        return
    run_db = work / "run.sqlite"
    os.close(os.open(run_db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    with contextlib.closing(run_database(run_db, staged.path)) as db:
        register_functions(db)
        yield db, run_db


ENGINES = ("sql", "spark")


def _spark_session(staged: Staged, run_db: Path, master: str | None, progress: bool) -> Any:
    """A Spark session whose temp views are the store's tables (as Parquet beside the store) and the run's."""
    from datamap.warehouse import spark

    if progress:
        print(f"  exporting the store to Parquet for Spark ({master or spark.LOCAL})", file=sys.stderr, flush=True)
    session = spark.session(master)
    spark.register_functions(session)
    folder = staged.path.parent / "parquet"
    spark.export_tables(staged.path, folder)
    spark.register_views(session, folder, run_db)
    return session


def build_retention_due(db: sqlite3.Connection, items: list[dict[str, str]], staged: Staged, ws: Workspace) -> None:
    """Derive ``retention_due(tbl, record_key, kept_until, legal_duty)`` for every record a legal duty keeps.

    The erasure check restricts such a record instead of counting it as a miss while its period
    runs; a record no legal duty keeps is never restricted, so it needs no row (the schedule's
    other collections are most of the store). Table and column names come from the retention
    schedule (identifiers only), values from ``params``.
    """
    db.execute("DROP TABLE IF EXISTS retention_due")
    db.execute("CREATE TABLE retention_due (tbl TEXT, record_key TEXT, kept_until TEXT, legal_duty TEXT)")
    for index, item in enumerate(items):
        for key in ("table", "key", "date_column"):
            if not IDENTIFIER.match(item[key]):
                raise BadInput("policy.yml", f"retention.{index}.{key}", f"{item[key]!r} is not a plain column or table name")
        if staged.status.get(item["table"], "missing") is not None or missing_column(staged.location, item, ws):
            continue
        base = f"retention.{item['system']}.{item['collection']}"
        duty = db.execute("SELECT value FROM params WHERE name = ?", (f"{base}.legal_duty",)).fetchone()
        if duty is None or duty[0] is None:
            continue
        # the calendar runs once per distinct date (163k invoices carry 2,463 at 100k subjects), not per record
        db.execute(
            f"""INSERT INTO retention_due
                WITH kept AS MATERIALIZED (
                  SELECT dated, add_period(retention_start(dated,
                                                           (SELECT value FROM params WHERE name = '{base}.anchor'),
                                                           (SELECT value FROM params WHERE name = 'fiscal_year_end')),
                                           (SELECT value FROM params WHERE name = '{base}.period')) AS kept_until
                  FROM (SELECT DISTINCT "{item['date_column']}" AS dated FROM "{item['table']}") AS days)
                SELECT '{item['table']}', CAST(r."{item['key']}" AS TEXT), kept.kept_until,
                       (SELECT value FROM params WHERE name = '{base}.legal_duty')
                FROM "{item['table']}" AS r LEFT JOIN kept ON kept.dated = r."{item['date_column']}" """)
    db.execute("CREATE INDEX retention_due_key ON retention_due (tbl, record_key)")
    # without statistics the planner walks every duty record of a table instead of looking up the
    # erased subjects' few (the restricted list on the 100k estate: 0.3 s a query, 0.005 s after)
    db.execute("ANALYZE retention_due")
    db.commit()


def _watch_interrupts() -> tuple[Callable[[], bool], Callable[[], None]]:
    """Remember a SIGINT during the run, so a run interrupted inside a library is still not published.

    Great Expectations turns exceptions inside a metric into a failed result, KeyboardInterrupt
    included; the flag survives that. Only the main thread can install a signal handler.
    """
    import signal
    import threading

    seen = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        return seen.is_set, lambda: None
    previous = signal.getsignal(signal.SIGINT) or signal.default_int_handler

    def on_sigint(signum: int, frame: Any) -> None:
        seen.set()
        signal.signal(signal.SIGINT, previous)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    return seen.is_set, lambda: signal.signal(signal.SIGINT, previous)


def run_audit(workspace: Workspace | str | os.PathLike[str], out_dir: str | os.PathLike[str],
              as_of: dt.date | None = None, progress: bool = True, *,
              staged: Staged | None = None, catalogue_dirs: list[Path] | None = None,
              store_path: str | os.PathLike[str] | None = None, engine: str = "sql",
              spark_master: str | None = None) -> AuditRun:
    """Verify every claim of the notice against the map and the data; archive the run under ``out_dir``.

    ``staged`` lets a caller pass an already staged store (tests); by default the sources are
    staged with :mod:`datamap.store` (into ``store_path``, default the workspace's store folder, ``Workspace.store_folder``).
    ``catalogue_dirs`` defaults to the shipped ``checks/`` plus the workspace's own ``checks/``
    folder when it has one. ``engine``: where the SQL checks run, ``sql`` (the store's own database:
    SQLite, or the PostgreSQL schema sources.yml ``store:`` names) or ``spark`` (the store as
    Parquet in a Spark session: ``spark_master``, default ``local[2]``; ``datamap.warehouse.spark``).
    """
    from datamap.audit.params import as_param
    from datamap.provenance import installed, software

    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    if engine not in ENGINES:
        raise BadInput(None, "--engine", f"unknown engine {engine!r}", f"choose {' or '.join(ENGINES)}")
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    day = as_of or ws.policy.reference_date()
    dirs = catalogue_dirs if catalogue_dirs is not None else default_catalogue_dirs(ws)
    claims = load_catalogue(dirs)
    items = retention_items(ws)
    bind = bindings(ws)
    resolved = resolve_checks(ws, claims, bind)
    from datamap.map import load_map, system_of_dataset

    dm = load_map(ws)
    params = standard_params(ws, day, workspace_facts(dm, ws, bind))
    for check in resolved:
        for name, ref in check.spec.params.items():
            if check.spec.kind == "sql":
                params[name] = as_param(policy_value(ws, ref[2:-1], check.file, f"checks.{check.spec.id}.params.{name}"))

    inputs = input_hashes(ws, dirs)  # before staging; compared after the checks (changed_input)
    pseudo = Pseudonymizer.of(ws)  # a refused key stops the run before minutes of staging
    target = pg_store(ws)
    if target is not None and staged is None:
        target.connect().close()  # so does a PostgreSQL store that cannot be reached
    staged = staged or stage_sources(ws, Path(store_path) if store_path else None, progress)
    stamp = archive.run_stamp()
    tmp = archive.new_run_folder(out)
    interrupted, stop_watching = _watch_interrupts()
    try:
        # The checks read the store itself, read-only; the run's parameters and the records a legal
        # duty keeps live in a small database of its own, attached beside it (0600 in a 0700 folder),
        # so two runs never disturb each other and no run copies gigabytes. Staging waits meanwhile.
        with reading(staged.path), tempfile.TemporaryDirectory(prefix="datamap-audit-", ignore_cleanup_errors=True) as work, \
                run_tables(staged, Path(work), engine) as (db, run_db):
            put_params(db, params)
            build_retention_due(db, items, staged, ws)
            spark = _spark_session(staged, Path(run_db), spark_master, progress) if engine == "spark" else None
            sources = _provenance(staged.path)
            provenance = _provenance_rows(staged.path)
            from datamap.audit.validation import Validator

            validator = Validator(staged.location, tmp / "data_docs", run_name=stamp, mask=pseudo.mask, run_db=run_db,
                                  spark=spark)
            # discovery samples staging's own file: its rows keep the order they were read (SQLite's rowid),
            # which a PostgreSQL copy does not promise (there the sample fell back to parsing every source)
            engines: dict[str, Any] = {"data_map": dm, "store": staged.path, "staged": staged.collections, "bind": bind,
                                       "systems": {d: system_of_dataset(dm, d) for d in ws.sources.datasets}}
            results, findings = _run_checks(resolved, ws, engines, staged, params, validator, pseudo, sources, progress)
            if engines.get("scan") is not None:  # which columns hold personal data: categories, never values
                table = engines["scan"].table()  # column names come from the sources: formula-safe
                table.map(safe_cell).rename(columns=safe_cell).to_csv(tmp / "discovery.csv", index=False)
            findings = [f.shown_by(pseudo) for f in with_rows(findings, staged.location, ws)]  # rows found by the raw key
            docs = validator.build_docs()
            validator.close()
        changed = changed_input(inputs, input_hashes(ws, dirs))  # a source edited during the run: not evidence
        if changed is not None:
            raise changed
        findings.sort(key=lambda f: (f.claim, f.rule, f.system, f.record_key))
        prev_name, prev = archive.latest_findings(out, started=stamp)  # the latest run finished before this one began
        comparison = {"previous_run": prev_name, **archive.compare(prev, findings)}
        result = AuditRun(findings, results, claims, tmp, out, day, comparison, store_path=staged.path, pg=staged.pg)
        manifest = {
            "run": stamp, "as_of": day.isoformat(), "workspace": str(ws.root.resolve()), "pseudonym_key": pseudo.key_id(),
            "started_utc": stamp, "finished_utc": archive.run_stamp(), "exit_code": result.exit_code,
            "checks": {s: sum(1 for c in results if c.status == s) for s in STATES},
            "findings": len(findings),
            "sha256": {**inputs, "store": digest(staged.path)},  # what it holds: its tables' fingerprints
            **({"store": staged.pg.shown()} if staged.pg else {}),  # where the checks read it (password hidden)
            **({"engine": f"spark ({spark_master or 'local[2]'})"} if engine == "spark" else {}),
            "source_status": {t: (e or "ok") for t, e in sorted(staged.status.items())},
            "provenance": provenance,
            "skipped": list(staged.skipped),  # mail messages staging could not read; the checks ran without them
            "software": software(), "installed": installed(),  # the code that checked (datamap.provenance)
        }
        comparison.update(archive.what_changed(archive.run_record(out, prev_name), manifest))
        archive.write_json(tmp / "findings.json", [f.to_dict() for f in findings])
        (tmp / "findings.csv").write_text(archive.findings_csv(findings), encoding="utf-8")
        archive.write_json(tmp / "checks.json", [c.to_dict() for c in results])
        archive.write_json(tmp / "comparison.json", comparison)
        archive.write_json(tmp / "run.json", manifest)
        if interrupted():  # a library may have swallowed the KeyboardInterrupt: never publish such a run
            raise KeyboardInterrupt
        run_dir = archive.publish_run(tmp, out, stamp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # an interrupted run leaves no half run behind
        raise
    finally:
        stop_watching()
    for name in ("findings.json", "findings.csv", "checks.json", "comparison.json", "run.json", "discovery.csv"):
        if (run_dir / name).exists():
            archive.replace_file(run_dir / name, out / name)
    if (run_dir / "data_docs").is_dir():
        archive.replace_tree(run_dir / "data_docs", out / "data_docs")
    result.run_dir = run_dir
    result.docs_index = (run_dir / "data_docs" / "index.html") if docs else None
    from datamap.audit.followup import follow_up  # the action register: actions.json beside comparison.json

    follow_up(ws.root, run_dir, out, [f.to_dict() for f in findings], prev, day, stamp)
    return result


def _run_checks(resolved: list[ResolvedCheck], ws: Workspace, cache: dict[str, Any], staged: Staged,
                params: dict[str, Any], validator: Any, pseudo: Pseudonymizer, sources: dict[str, str],
                progress: bool) -> tuple[list[CheckResult], list[Finding]]:
    """Run every check; ``cache`` holds the loaded map and what each engine (map, discovery, notice) found."""
    results: list[CheckResult] = []
    findings: list[Finding] = []
    with _progress(progress, len(resolved)) as advance:
        for check in resolved:
            advance(f"{check.check_id}: {check.name}")
            started = time.perf_counter()
            res, found = _run_one(check, ws, staged, params, validator, pseudo, sources, cache)
            res.seconds = round(time.perf_counter() - started, 3)
            results.append(res)
            findings.extend(found)
        advance(None)
    return results, findings


def _run_one(check: ResolvedCheck, ws: Workspace, staged: Staged, params: dict[str, Any],
             validator: Any, pseudo: Pseudonymizer, sources: dict[str, str],
             cache: dict[str, Any]) -> tuple[CheckResult, list[Finding]]:
    spec = check.spec
    res = CheckResult(check.claim, check.check_id, check.name, spec.rule, spec.kind, spec.severity, "not_run",
                      name_nl=check.name_nl)
    bind = cache.get("bind") if cache.get("bind") is not None else bindings(ws)
    state = applicability(check, ws, bind)
    if state:
        res.status, res.reason = state
        return res, []
    reason = unreadable(needed_tables(check, ws, params, bind), staged, ws)
    if reason:
        res.reason = reason
        return res, []
    if spec.for_each == "policy.retention" and cache.get("store") is not None:
        reason = missing_column(cache["store"], check.vars, ws)
        if reason:
            res.reason = reason
            return res, []
    queries = [fill(q, check.vars) for q in (spec.query, spec.restricted_query) if q]
    missing = missing_params(queries, params)
    if missing:
        res.reason = f"parameter(s) not provided: {', '.join(missing)}"
        return res, []
    try:
        if spec.kind == "sql":
            outcome = validator.run_sql(check)
        elif spec.kind == "column":
            dataset, name = column_target(check)
            url = _sql_source_url(ws, dataset)
            collection = ws.sources.datasets[dataset].collections[name]
            outcome = validator.run_column(check, dataset, url, collection.table or name, _column_kwargs(check, ws))
        else:
            found = _library_findings(check, ws, cache)
            res.status = "failed" if found else "passed"
            res.findings = len(found)
            return res, found
    except BadInput as exc:
        res.reason = exc.line()
        return res, []
    except ImportError as exc:
        res.reason = f"the {spec.kind} engine is not available: {exc}"
        return res, []
    except Exception as exc:  # noqa: BLE001 -- an engine error makes this one check not_run, never a pass
        res.reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return res, []
    absent = sorted(row_columns(check) - set(outcome.rows[0])) if outcome.rows else []
    if absent:
        res.reason = (f"{check.file}: checks.{spec.id}.finding names column(s) {', '.join(absent)} "
                      "that the query does not return")
        return res, []
    found = [row_finding(check, row, pseudo, sources, cache.get("systems")) for row in outcome.rows]
    res.rows_examined = outcome.rows_examined
    res.findings = len(found)
    res.status = "failed" if found else "passed"
    if outcome.truncated:
        res.reason = "Great Expectations returned only the first unexpected rows; more records break the rule"
    if spec.restricted_query is not None:
        rows = [_restricted(row, pseudo) for row in outcome.restricted]  # in a fixed order: SQL's depends on the plan
        res.restricted = sorted(rows, key=lambda r: [(k, str(v)) for k, v in sorted(r.items())])
    return res, found


def _restricted(row: dict[str, Any], pseudo: Pseudonymizer) -> dict[str, Any]:
    """A record kept under a legal duty: named by system and key, its subject pseudonymised."""
    out = {k: v for k, v in row.items() if k not in ("email", "value")}
    if "email" in row or "value" in row:
        out["subject_ref"] = pseudo.subject_ref(email=row.get("email") or row.get("value"))
    return out


class _progress:
    """A rich progress line per check on stderr (nothing when switched off)."""

    def __init__(self, enabled: bool, total: int):
        self.enabled = enabled
        self.total = total

    def __enter__(self) -> Callable[[str | None], None]:
        if not self.enabled:
            return lambda name: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            console=Console(file=sys.stderr), transient=False)
        self.bar.__enter__()
        self.task = self.bar.add_task("audit", total=self.total)
        self.started = False

        def advance(name: str | None) -> None:
            if self.started:
                self.bar.advance(self.task)
            self.started = True
            self.bar.update(self.task, description=name or "audit done")

        return advance

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self.bar.__exit__(*exc)
