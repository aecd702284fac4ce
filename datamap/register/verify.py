"""Which checks of the latest audit run verify which answer of the register.

The catalogue says which register field each check verifies (``verifies:`` in ``checks/P*.yml``);
the register matches a run's checks by their rule, so that a run of a workspace's own catalogue
is read the same way. A check that found nothing verifies a field only for the systems it looked
at: every internal system for a check of the map (``kind: map``), else the systems the policy
points it at or that the check lists in checks.json (``systems``).
"""
from __future__ import annotations

import functools
from typing import Any, Iterable

from datamap.audit.archive import ArchivedRun
from datamap.errors import BadInput
from datamap.register.model import Check, Context, question_catalogue


@functools.cache
def verifying_rules() -> dict[str, tuple[str, ...]]:
    """Register field -> the rules whose checks verify it (the shipped catalogue's ``verifies:``), in column order."""
    from datamap.audit.catalogue import load_catalogue

    cat = question_catalogue()
    columns = list(dict.fromkeys(cat["columns"] + cat["processor_columns"]))
    said: dict[str, tuple[str, tuple[str, ...]]] = {}  # rule -> (the check that said it first, its fields)
    for claim in load_catalogue():
        for check in claim.checks:
            where, key = f"checks/{claim.claim}.yml", f"checks.{check.id}.verifies"
            for name in check.verifies:
                if name not in columns:
                    raise BadInput(where, key, f"{name!r} is not a column of the register",
                                   f"choose from {', '.join(columns)} (datamap/register/questions.yml)")
            first = said.setdefault(check.rule, (f"{claim.claim}.{check.id}", tuple(check.verifies)))
            if first[1] != tuple(check.verifies):
                raise BadInput(where, key, f"rule {check.rule} verifies {list(first[1])} in {first[0]}",
                               "the register matches checks by rule: give every check of a rule the same verifies:")
    return {name: tuple(rule for rule, (_, fields) in said.items() if name in fields)
            for name in columns if any(name in fields for _, fields in said.values())}


@functools.cache
def map_level_rules() -> frozenset[str]:
    """The rules of the catalogue's map checks: they judge every system of the map at once."""
    from datamap.audit.catalogue import load_catalogue

    return frozenset(check.rule for claim in load_catalogue() for check in claim.checks if check.kind == "map")


def _finding_check(finding: dict[str, Any]) -> str:
    return str(finding.get("check") or finding.get("rule") or "")


def _checks_for_rules(run: ArchivedRun, rules: Iterable[str]) -> list[dict[str, Any]]:
    wanted = set(rules)
    return [c for c in run.checks if c.get("rule") in wanted]


def _relevant(ctx: Context, check: dict[str, Any], system: str) -> bool:
    """Did this check look at ``system``? (so that no finding there means it holds there)."""
    if isinstance(check.get("systems"), list):
        return system in check["systems"]
    rule = check.get("rule", "")
    if rule in map_level_rules():
        return True
    if ctx.policy is None:
        return False
    if rule == "retention.expired":
        return any(r.system == system for r in ctx.policy.retention)
    if rule == "access.review_overdue":
        return system in ctx.policy.access.reviewed_systems
    return False


def _scope(ctx: Context, check_id: str, system: str, suffixes: Iterable[str] | None) -> bool | None:
    """Whether a check's id names this system (``P05.retention.zoho_crm.leads``); None when it names none."""
    systems = {s.fides_key for s in ctx.map.systems}
    named = [p for p in check_id.split(".") if p in systems]
    if not named:
        return None
    if suffixes is not None:
        return any(check_id.endswith("." + s) for s in suffixes)
    return system in named


def verify(ctx: Context, field_name: str, system: str, record_keys: Iterable[str] | None = None,
           suffixes: Iterable[str] | None = None) -> tuple[Check, ...]:
    """The verdicts of the latest run's checks on one column of one system's activity.

    ``record_keys`` narrows the findings to those about given keys (a data use, a recipient);
    ``suffixes`` narrows checks run per item to the items of this activity (``zoho_crm.leads``).
    """
    if ctx.run is None:
        return ()
    keys = set(record_keys) if record_keys is not None else None
    suffix_list = list(suffixes) if suffixes is not None else None
    verdicts = []
    for check in _checks_for_rules(ctx.run, verifying_rules().get(field_name, ())):
        cid = str(check.get("check") or check.get("rule"))
        scope = _scope(ctx, cid, system, suffix_list)
        if scope is False:
            continue
        hits = [
            f for f in ctx.run.findings
            if f.get("system") == system and f.get("rule") == check.get("rule") and _finding_check(f) in (cid, check.get("rule"))
            and (keys is None or str(f.get("record_key")) in keys)
        ]
        status = check.get("status")
        if status in ("not_run", "not_applicable"):  # never counted as held
            verdicts.append(Check(cid, ctx.run.run_id, str(status), 0, str(check.get("reason") or "")))
        elif hits:
            verdicts.append(Check(cid, ctx.run.run_id, "failed", len(hits)))
        elif status in ("passed", "failed") and (scope or _relevant(ctx, check, system)):
            verdicts.append(Check(cid, ctx.run.run_id, "passed"))
    return tuple(verdicts)
