"""Policy parameters for the checks: resolved from ``policy.yml`` into the run's ``params`` table.

The table lives in the run's own small database, attached beside the read-only store
(:func:`datamap.audit.run.run_database`): a run's parameters never touch the store, and two runs
with different reference dates never disturb each other.

Great Expectations' ``UnexpectedRowsExpectation`` cannot bind parameters, so a check reads a
policy value as ``(SELECT value FROM params WHERE name = '...')``; the value is written here with
bound parameters and never formatted into SQL text. Durations are ISO-8601 (added with the SQL function ``add_period``, calendar arithmetic). Lists are
one row per item, read as ``x IN (SELECT value FROM params WHERE name = '...')``.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import re
from typing import Any, Iterable, Iterator, Mapping

from datamap import identity
from datamap.errors import BadInput
from datamap.workspace import Workspace, fiscal_year_end_of, parse_duration
from datamap.workspace import retention_start as workspace_retention_start

PARAM_NAME = re.compile(r"params\s+WHERE\s+name\s*=\s*'([^']+)'", re.IGNORECASE)


ParamValue = str | list[str] | None


def as_param(value: Any) -> ParamValue:
    """Text form of a parameter: dates ISO, booleans 0/1, lists one text per item (one row each)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        return [str(as_param(v)) for v in value]
    if isinstance(value, dict) or hasattr(value, "model_dump"):
        raise TypeError("a parameter is a value or a list of values, not a mapping")
    return str(value)


def policy_value(workspace: Workspace, path: str, file: str, key: str) -> Any:
    """Follow a dotted path (``policy.trials.max_days``) into the loaded policy."""
    parts = path.split(".")
    if parts[0] != "policy":
        raise BadInput(file, key, f"unknown parameter source ${{{path}}}", "use ${policy.<key>...}")
    value: Any = workspace.policy
    for part in parts[1:]:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif hasattr(value, part) and not part.startswith("_"):
            value = getattr(value, part)
        else:
            raise BadInput(file, key, f"policy.yml has no {path[len('policy.'):]}")
    return value


def standard_params(workspace: Workspace, as_of: dt.date, manifest_facts: dict[str, Any]) -> dict[str, ParamValue]:
    """Parameters every run provides, named as the store names them (``datamap.store.policy_params``).

    Policy values under their dotted names (lists one row per item), the run's reference date as
    ``as_of``, and the map-derived facts (``access.restricted.<system>``, ``subject.tables``).
    """
    out: dict[str, ParamValue] = {}
    for name, value in policy_params(workspace):
        if name in out:
            current = out[name]
            out[name] = (current if isinstance(current, list) else [current]) + [value]  # type: ignore[operator]
        else:
            out[name] = value
    # Lists that policy_params flattened to one row must stay lists; empty lists have no rows at all.
    policy = workspace.policy
    lists = {
        "recipients.own_domains": [d.lower() for d in policy.recipients.own_domains],
        "recipients.approved_domains": [d.lower() for d in policy.recipients.approved_domains],
        "recipients.approved_addresses": [a.strip().lower() for a in policy.recipients.approved_addresses],
        "access.reviewed_systems": list(policy.access.reviewed_systems),
    }
    out.update(lists)
    notice = policy.notice
    out["notice.notify_versions"] = list(notice.notify_versions or [])
    out["notice.notify_major"] = "1" if notice.notify_versions is None else "0"
    out["notice.current_version"] = notice.version
    out["as_of"] = as_of.isoformat()
    out["fiscal_year_end"] = policy.fiscal_year_end
    for rule in policy.retention:
        base = f"retention.{rule.system}.{rule.collection}"
        out[f"{base}.period"] = rule.period
        out[f"{base}.anchor"] = rule.anchor
        out[f"{base}.legal_duty"] = rule.legal_duty
    for name, value in manifest_facts.items():
        out[name] = as_param(value)
    return out


# --- the run's parameters table ------------------------------------------------------------------


def policy_params(workspace: Workspace) -> Iterator[tuple[str, str]]:
    """Flatten policy.yml into ``(name, value)`` rows: dotted names, one row per list item.

    Retention rules become ``retention.<system>.<collection>.<key>``; ``as_of`` is the reference date.
    """
    policy = workspace.policy
    data = policy.model_dump(mode="json", exclude={"retention", "notice"})
    data["as_of"] = policy.reference_date().isoformat()
    yield from _flatten("", data)
    yield from _flatten("notice.", {k: v for k, v in policy.notice.model_dump(mode="json").items() if k != "purposes"})
    for rule in policy.retention:
        yield from _flatten(f"retention.{rule.system}.{rule.collection}.",
                            rule.model_dump(mode="json", exclude={"system", "collection"}))


def _flatten(prefix: str, data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(f"{name}.", value)
        elif isinstance(value, list):
            for item in value:
                if not isinstance(item, (dict, list)):
                    yield name, _text(item)
        elif value is not None:
            yield name, _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return value if isinstance(value, str) else json.dumps(value)


def put_params(db: Any, values: Mapping[str, str | list[str] | None]) -> None:
    """The one writer of the ``params`` table (a DB-API connection): bound parameters only, a row per list item.

    The names given replace their earlier rows. No value is ever formatted into SQL.
    """
    db.execute("CREATE TABLE IF NOT EXISTS params (name TEXT, value TEXT)")
    db.executemany("DELETE FROM params WHERE name = ?", [(n,) for n in sorted(values)])
    rows: list[tuple[str, str | None]] = []
    for name, value in sorted(values.items()):
        rows += [(name, v) for v in value] if isinstance(value, list) else [(name, value)]
    db.executemany("INSERT INTO params (name, value) VALUES (?, ?)", rows)
    db.commit()


def referenced(query: str) -> set[str]:
    """The params a query reads."""
    return set(PARAM_NAME.findall(query))


# --- calendar functions the store's SQL uses (registered on every connection) ------------------


def _day(value: Any) -> str | None:
    """The part of a date or timestamp the calendar reads (``YYYY-MM-DD``); None for NULL or blank."""
    return None if value is None else str(value).strip()[:10] or None


# SQLite calls these once per row. They read only the date part, and days repeat far more than
# timestamps (the 129,734 cookie timestamps at 100k subjects fall on 382 days), so each is
# memoised on that part: one calendar computation per day instead of one per row.
_memo = functools.lru_cache(maxsize=1 << 16)


@_memo
def _add_period(day: str | None, period: Any) -> str | None:
    if day is None or period is None:
        return None
    return (dt.date.fromisoformat(day) + parse_duration(str(period))).isoformat()


@_memo
def _fiscal_year_end(day: str | None, month_day: Any) -> str | None:
    return fiscal_year_end_of(dt.date.fromisoformat(day), str(month_day or "12-31")).isoformat() if day else None


@_memo
def _retention_start(day: str | None, anchor: Any, month_day: Any) -> str | None:
    if day is None:
        return None
    return workspace_retention_start(dt.date.fromisoformat(day), str(anchor), str(month_day or "12-31")).isoformat()


def add_period(value: Any, period: Any) -> str | None:
    """``value + period`` in calendar arithmetic (relativedelta), as ``YYYY-MM-DD``; NULL stays NULL."""
    return _add_period(_day(value), period)


def fiscal_year_end(value: Any, month_day: Any) -> str | None:
    """SQL form of :func:`datamap.workspace.fiscal_year_end_of`: ISO text in and out; NULL stays NULL."""
    return _fiscal_year_end(_day(value), month_day)


def retention_start(value: Any, anchor: Any, month_day: Any) -> str | None:
    """SQL form of :func:`datamap.workspace.retention_start`: ISO text in and out; NULL stays NULL."""
    return _retention_start(_day(value), anchor, month_day)


def _norm(fn: Any) -> Any:
    return lambda value: fn(value) if value is not None else None


SQL_FUNCTIONS = {"add_period": (2, add_period), "fiscal_year_end": (2, fiscal_year_end),
                 "retention_start": (3, retention_start),
                 # the one place that normalises identifiers, available to SQL (correction values)
                 "norm_email": (1, _memo(_norm(identity.normalise_email))),
                 "norm_phone": (1, _memo(_norm(identity.normalise_phone))),
                 "norm_name": (1, _memo(_norm(identity.normalise_name)))}


class SortedConcat:
    """``group_concat(x)`` as every engine of datamap reads it: the values sorted, joined by ``,``.

    SQLite joins in the order rows arrive, which depends on the plan; PostgreSQL and Spark
    (``datamap.warehouse``) sort, so a finding's text is the same on all three.
    """

    def __init__(self) -> None:
        self.values: list[str] = []

    def step(self, value: Any) -> None:
        if value is not None:
            self.values.append(str(value))

    def finalize(self) -> str | None:
        return ",".join(sorted(self.values)) if self.values else None


def register_functions(connection: Any) -> None:
    """Give a sqlite3 connection the calendar functions (deterministic, so SQLite may cache them)."""
    for name, (nargs, fn) in SQL_FUNCTIONS.items():
        connection.create_function(name, nargs, fn, deterministic=True)
    connection.create_aggregate("group_concat", 1, SortedConcat)  # replaces the built-in of one argument


def missing_params(queries: Iterable[str], available: dict[str, Any] | set[str]) -> list[str]:
    """Parameter names the queries read that the run does not provide."""
    names: set[str] = set()
    for query in queries:
        names |= referenced(query)
    return sorted(n for n in names if n not in available)
