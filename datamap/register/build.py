"""Assemble the register: one row per processing activity, its gaps and the regulators' question coverage."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from fideslang.models import System

from datamap.audit.archive import ArchivedRun
from datamap.map import EXTERNAL_TYPES
from datamap.register.columns import COLUMNS, PROCESSOR_COLUMNS
from datamap.register.model import (AUDIENCES, CONTRADICTED, MISSING, VERIFIED, WORKING, Activity, Cell, Context,
                                    Coverage, Gap, MapInput, Register, Row, question_catalogue)
from datamap.workspace import Policy


def _is_internal(system: System) -> bool:
    return system.system_type not in EXTERNAL_TYPES


def activities(map_input: MapInput) -> list[Activity]:
    """Every processing activity: the privacy declarations of the internal systems, in map order."""
    return [
        Activity(s, d, i)
        for s in map_input.systems if _is_internal(s) and s.processes_personal_data
        for i, d in enumerate(s.privacy_declarations)
    ]


def _is_processor_activity(act: Activity) -> bool:
    return "Processor" in [str(r) for r in act.system.responsibility or []]


def _row(ctx: Context, act: Activity, columns: list[str], table: dict[str, Callable[[Context, Activity], Cell]],
         mandatory: set[str]) -> Row:
    cells = {}
    for name in columns:
        cell = table[name](ctx, act)
        if name in mandatory and not cell.mandatory:
            cell = Cell(cell.value, cell.status, True, cell.declared, cell.observed, cell.verified, cell.where)
        cells[name] = cell
    return Row(cells["activity"].value, act.system.fides_key, act.file_key, cells, act.system.name or act.system.fides_key)


def gaps_of(rows: list[Row]) -> list[Gap]:
    """The mandatory answers left empty (:attr:`Cell.is_gap`): the gaps sheet lists these, the coverage counts them."""
    return [Gap(row.activity, row.system, name, cell.where, cell.mandatory, row.system_name)
            for row in rows for name, cell in row.cells.items() if cell.is_gap]


def group_of(field: str) -> str:
    """The question group a column's gap counts in: its first question's (``processor_groups`` for the rest)."""
    cat = question_catalogue()
    first = next((q["group"] for q in cat["questions"] if q["field"] == field), None)
    return first or cat["processor_groups"].get(field) or cat["questions"][0]["group"]


def coverage(rows: list[Row], questions: list[dict[str, Any]], gaps: list[Gap] | None = None) -> list[Coverage]:
    """Per question group: answers expected (questions x activities), answered, verified, and the gaps.

    A missing answer is counted once per empty mandatory cell, as on the gaps sheet, not once per
    question that cell answers: the two totals agree.
    """
    gaps = gaps_of(rows) if gaps is None else gaps
    groups: dict[str, list[dict[str, Any]]] = {}
    for q in questions:
        groups.setdefault(q["group"], []).append(q)
    table = []
    for group, qs in groups.items():
        cells = [row.cells[q["field"]] for q in qs for row in rows]
        table.append(Coverage(
            group=group,
            questions=len(qs),
            answers=len(cells),
            answered=sum(c.status != MISSING for c in cells),
            verified=sum(c.status == VERIFIED for c in cells),
            contradicted=sum(c.status == CONTRADICTED for c in cells),
            missing=sum(group_of(g.field) == group for g in gaps),
        ))
    return table


def build_register(map_input: MapInput, policy: Policy | None = None, run: ArchivedRun | None = None,
                   lang: str = "en", generated: dt.datetime | None = None, audience: str = WORKING) -> Register:
    """Build the controller and processor registers, their gaps and the question coverage.

    ``audience="ap"`` builds the copy for the Autoriteit Persoonsgegevens: labels without keys and
    without the audit's own columns (the writers leave out marks and provenance too).
    """
    from datamap.errors import BadInput
    from datamap.register.terms import check_language

    if audience not in AUDIENCES:
        raise BadInput(None, "--for", f"unknown audience {audience!r}", "leave it out for the working copy, or say --for ap")
    ctx = Context(map_input, policy, run, check_language(lang), audience)
    cat = question_catalogue()
    hidden = set(cat["internal_columns"]) if ctx.for_ap else set()
    columns = [c for c in cat["columns"] if c not in hidden]
    pcolumns = [c for c in cat["processor_columns"] if c not in hidden]
    mandatory = set(cat["art30_columns"])
    acts = activities(map_input)
    rows = [_row(ctx, a, columns, COLUMNS, mandatory) for a in acts]
    prows = [_row(ctx, a, pcolumns, PROCESSOR_COLUMNS, mandatory | {"on_behalf_of", "processing_categories"})
             for a in acts if _is_processor_activity(a)]
    gaps = gaps_of(rows + prows)
    org = map_input.organization
    stamp = (generated or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    return Register(
        lang=lang,
        organization=(org.name or org.fides_key) if org else "",
        generated=stamp,
        run_id=run.run_id if run else None,
        columns=columns,
        processor_columns=pcolumns,
        rows=rows,
        processor_rows=prows,
        gaps=gaps,
        coverage=coverage(rows, cat["questions"], gaps),
        questions=list(cat["questions"]),
        audience=audience,
    )
