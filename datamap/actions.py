"""The action register: who fixes which finding, by when, kept in the workspace's ``actions.yml``.

An audit says what is wrong today; a privacy officer must also show what is being done about it
(Art. 5(2), accountability). ``actions.yml`` gives a finding an owner, a due date and a status, and
:func:`track` sets that register beside two runs' findings: what is new, what persists, what was
resolved, what is overdue, which accepted risks are still there and which "fixed" finding came
back. :func:`carry_over` then writes the register the next run starts from, so the officer only
fills in names and dates.

A finding is named by :func:`finding_id`, a short hash of what already identifies it across runs,
``(rule, system, record_key)`` (:attr:`datamap.findings.Finding.key`): it survives reruns and is
copied as one word from findings.csv or the report. The record key is already pseudonymised
(:meth:`datamap.identity.Pseudonymizer.record_key`), so the register never holds a person's address.

>>> finding_id({"rule": "retention.expired", "system": "zoho_crm", "record_key": "4150868000000100008"})
'fnd-c31ab65f998b'
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from datamap import findings
from datamap.errors import BadInput
from datamap.findings import Finding
from datamap.outputs import write_atomic
from datamap.workspace import read_yaml

ACTIONS_FILE = "actions.yml"
STATUSES = ("open", "accepted", "fixed")
Status = Literal["open", "accepted", "fixed"]
Found = Literal["new", "persisting", "resolved"]
_ID = re.compile(r"fnd-[0-9a-f]{12}")


def finding_id(finding: Finding | Mapping[str, Any]) -> str:
    """The id a person writes in actions.yml: :func:`datamap.findings.finding_id` of ``(rule, system, record_key)``.

    The same finding gets the same id in every run (it is the key :func:`datamap.audit.archive.compare`
    matches runs on); findings.json and findings.csv carry it as ``id``.
    """
    if isinstance(finding, Finding):
        return finding.id
    return findings.finding_id(finding["rule"], finding["system"], finding["record_key"])


# --- the file ----------------------------------------------------------------------------------


class _Problem(ValueError):
    """A broken entry's message and the fix, kept apart so the BadInput line can show both."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


def _date(value: Any) -> dt.date | None:
    """A date as YAML gives it (``2027-01-31``) or as quoted text; a time of day or a word is refused."""
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Problem(f"{str(value)!r} is not a date", "write it as YYYY-MM-DD, e.g. 2027-01-31")


class Action(BaseModel):
    """One entry: one finding (``finding:``) or every finding of a rule (``rule:``, optionally ``system:``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    finding: str | None = None
    rule: str | None = None
    system: str | None = None
    about: str | None = None
    status: Status = "open"
    owner: str | None = None
    due: dt.date | None = None
    reason: str | None = None
    fixed_on: dt.date | None = None
    note: str | None = None

    @field_validator("finding", "rule", "system", "about", "owner", "reason", "note", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        # ``owner:`` left empty (as carry_over writes it) and ``owner: ""`` both mean: nobody yet
        return value.strip() or None if isinstance(value, str) else value

    @field_validator("status", mode="before")
    @classmethod
    def _known_status(cls, value: Any) -> Any:
        if value is None:
            return "open"
        if value not in STATUSES:
            close = difflib.get_close_matches(str(value), STATUSES, n=1)
            raise _Problem(f"unknown status {value!r}",
                           f"did you mean {close[0]!r}?" if close else f"one of: {', '.join(STATUSES)}")
        return value

    @field_validator("due", "fixed_on", mode="before")
    @classmethod
    def _a_date(cls, value: Any) -> dt.date | None:
        return _date(value)

    @field_validator("finding")
    @classmethod
    def _an_id(cls, value: str | None) -> str | None:
        if value is not None and not _ID.fullmatch(value):
            raise _Problem(f"{value!r} is not a finding id",
                           "copy the id (fnd- and 12 hex digits) from findings.csv or the report")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Action":
        if self.finding and self.rule:
            raise _Problem("names both a finding and a rule",
                           "an entry is about one finding (finding:) or about all findings of a rule (rule:)")
        if not self.finding and not self.rule:
            raise _Problem("names no finding and no rule",
                           "add finding: <id from findings.csv>, or rule: <rule> with an optional system:")
        if self.finding and self.system:
            raise _Problem("system: goes with rule:", "a finding id already names its system: remove system:")
        if self.status == "accepted" and not self.reason:
            raise _Problem("status accepted needs a reason",
                           "add reason: the risk the company accepts and why")
        if self.status != "accepted" and self.reason:
            raise _Problem(f"reason: is only for status accepted (this one is {self.status})",
                           "set status: accepted, or move the text to note:")
        if self.status == "fixed" and not self.fixed_on:
            raise _Problem("status fixed needs fixed_on", "add fixed_on: the date it was fixed, e.g. 2027-01-31")
        if self.status != "fixed" and self.fixed_on:
            raise _Problem(f"fixed_on: is only for status fixed (this one is {self.status})",
                           "set status: fixed, or remove fixed_on:")
        return self

    @property
    def selector(self) -> str:
        """The entry in a person's words, for error lines and the register's order."""
        if self.finding:
            return f"finding {self.finding}"
        return f"rule {self.rule}" + (f" on {self.system}" if self.system else "")


@dataclass(frozen=True)
class ActionRegister:
    """The entries of actions.yml, each finding and each (rule, system) named at most once."""

    actions: tuple[Action, ...] = ()

    def cover(self, finding: Finding | Mapping[str, Any]) -> tuple[Action | None, str | None]:
        """The entry that speaks for a finding and how (``"finding"`` or ``"rule"``).

        The most specific wins: the finding's own entry, then its rule on its system, then its rule anywhere.
        """
        data = finding.to_dict() if isinstance(finding, Finding) else finding
        fid = finding_id(data)
        for action in self.actions:
            if action.finding == fid:
                return action, "finding"
        for system in (data["system"], None):
            for action in self.actions:
                if action.rule == data["rule"] and action.system == system:
                    return action, "rule"
        return None, None


def _entry_error(rel: str, number: int, raw: Any, exc: ValidationError) -> BadInput:
    err = exc.errors()[0]
    where = [str(p) for p in err["loc"]]
    label = f"entry {number}"
    if isinstance(raw, dict) and (raw.get("finding") or raw.get("rule")):
        label += f" ({'finding ' + str(raw['finding']) if raw.get('finding') else 'rule ' + str(raw['rule'])})"
    key = ": ".join([label] + where[:1])
    problem = err.get("ctx", {}).get("error")
    if isinstance(problem, _Problem):
        return BadInput(rel, key, str(problem), problem.hint)
    if err["type"] == "extra_forbidden":
        close = difflib.get_close_matches(where[-1], list(Action.model_fields), n=1)
        return BadInput(rel, key, "unknown key", f"did you mean {close[0]!r}?" if close
                        else f"the keys allowed here: {', '.join(Action.model_fields)}")
    return BadInput(rel, key, err["msg"])


def load_actions(workspace_root: Path) -> ActionRegister:
    """Read and validate ``actions.yml``; a workspace without one has an empty register (nothing assigned yet)."""
    path = Path(workspace_root) / ACTIONS_FILE
    if not path.exists():
        return ActionRegister()
    data = read_yaml(path, Path(workspace_root)) or {}
    if not isinstance(data, dict):
        raise BadInput(ACTIONS_FILE, None, "expected a mapping with an actions: list at the top level")
    unknown = sorted(set(map(str, data)) - {"version", "actions"})
    if unknown:
        raise BadInput(ACTIONS_FILE, unknown[0], "unknown key", "the keys allowed here: version, actions")
    if data.get("version", 1) != 1:
        raise BadInput(ACTIONS_FILE, "version", f"unknown version {data['version']!r}",
                       "this workbench reads version: 1")
    raw_entries = data.get("actions") or []
    if not isinstance(raw_entries, list):
        raise BadInput(ACTIONS_FILE, "actions", "expected a list of entries", "start each entry with '- '")
    actions: list[Action] = []
    seen: dict[tuple[Any, ...], int] = {}
    for number, raw in enumerate(raw_entries, start=1):
        if not isinstance(raw, dict):
            raise BadInput(ACTIONS_FILE, f"entry {number}", "expected a mapping of keys (finding:, owner:, ...)")
        try:
            action = Action.model_validate(raw)
        except ValidationError as exc:
            raise _entry_error(ACTIONS_FILE, number, raw, exc) from None
        selector = (action.finding, action.rule, action.system)
        if selector in seen:
            raise BadInput(ACTIONS_FILE, f"entry {number} ({action.selector})",
                           f"names the same {'finding' if action.finding else 'rule'} as entry {seen[selector]}",
                           "keep one entry and remove the other")
        seen[selector] = number
        actions.append(action)
    return ActionRegister(tuple(actions))


_HEADER = """\
# The action register: who fixes which finding, by when (docs/workspace.md, "actions.yml").
#
# Each entry names one finding (finding: its id, from findings.csv or the report) or every
# finding of a rule (rule:, optionally system:); an entry for one finding wins over its rule's.
#
# status: open      still to be fixed: fill in owner: and due: (YYYY-MM-DD); past due it is overdue
#         accepted  a risk the company accepts: reason: says which and why; not counted as open
#         fixed     fixed on fixed_on:; if an audit finds it again, it is flagged as reappeared
#
# Each audit adds an open entry for a finding no entry covers, and marks an open finding that is no
# longer found as fixed. It never changes an owner, a due date, a reason or an accepted or fixed
# status. Comments are rewritten with the file: write remarks in note:.
"""
_FIELDS = ("finding", "rule", "system", "about", "status", "owner", "due", "reason", "fixed_on", "note")


def _order(action: Action) -> tuple[Any, ...]:
    # rule-wide entries first; single findings grouped by their about (which starts with the rule)
    return (action.finding is not None, action.rule or "", action.system or "", action.about or "",
            action.finding or "")


def render_actions(register: ActionRegister) -> str:
    """The text of actions.yml: the status legend, then the entries sorted, blank owner/due left to fill."""
    blocks = []
    for action in sorted(register.actions, key=_order):
        entry = {name: getattr(action, name) for name in _FIELDS}
        keep_blank = {"owner", "due"} if action.status == "open" else set()
        entry = {k: v for k, v in entry.items() if v is not None or k in keep_blank}
        text = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, default_flow_style=False, width=100)
        blocks.append(re.sub(r"^(\s*-?\s*\w+): null$", r"\1:", text, flags=re.M))
    body = "actions:\n\n" + "\n".join(blocks) if blocks else "actions: []\n"
    return f"{_HEADER}\nversion: 1\n{body}"


def write_actions(path: Path, register: ActionRegister) -> Path:
    """Write the register to ``path`` in one step (the officer's file is never left half written)."""
    return write_atomic(path, render_actions(register))


# --- tracking ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackedFinding:
    """One finding of this run or the previous one, with what the register says about it."""

    id: str
    rule: str
    system: str
    record: str
    severity: str | None
    found: Found
    status: Status
    owner: str | None = None
    due: dt.date | None = None
    reason: str | None = None
    fixed_on: dt.date | None = None
    covered_by: Literal["finding", "rule"] | None = None
    overdue: bool = False
    reappeared: bool = False

    @property
    def still_found(self) -> bool:
        return self.found != "resolved"

    @property
    def about(self) -> str:
        """What the finding is, in the words actions.yml shows beside its id."""
        return f"{self.rule} on {self.system}, record {self.record}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "rule": self.rule, "system": self.system, "record": self.record,
                "severity": self.severity, "found": self.found, "status": self.status, "owner": self.owner,
                "due": self.due.isoformat() if self.due else None, "reason": self.reason,
                "fixed_on": self.fixed_on.isoformat() if self.fixed_on else None,
                "covered_by": self.covered_by, "overdue": self.overdue, "reappeared": self.reappeared}


@dataclass(frozen=True)
class Tracking:
    """Every finding of this run and the previous one against the register, on ``today``.

    ``new``, ``persisting`` and ``resolved`` compare the runs; ``open`` (still found and not accepted),
    ``overdue``, ``accepted``, ``reappeared`` and ``unowned`` say what is being done about what is
    still found. A finding may be in several (new and unowned; persisting and overdue).
    """

    today: dt.date
    run: str | None
    items: tuple[TrackedFinding, ...] = field(default_factory=tuple)

    def _where(self, test: Any) -> list[TrackedFinding]:
        return [item for item in self.items if test(item)]

    @property
    def new(self) -> list[TrackedFinding]:
        return self._where(lambda i: i.found == "new")

    @property
    def persisting(self) -> list[TrackedFinding]:
        return self._where(lambda i: i.found == "persisting")

    @property
    def resolved(self) -> list[TrackedFinding]:
        return self._where(lambda i: i.found == "resolved")

    @property
    def open(self) -> list[TrackedFinding]:
        """Still found and not an accepted risk: what the company still has to fix (reappeared included)."""
        return self._where(lambda i: i.still_found and i.status != "accepted")

    @property
    def overdue(self) -> list[TrackedFinding]:
        return self._where(lambda i: i.overdue)

    @property
    def accepted(self) -> list[TrackedFinding]:
        return self._where(lambda i: i.still_found and i.status == "accepted")

    @property
    def reappeared(self) -> list[TrackedFinding]:
        return self._where(lambda i: i.reappeared)

    @property
    def unowned(self) -> list[TrackedFinding]:
        return self._where(lambda i: i.still_found and i.status != "accepted" and not i.owner)

    GROUPS = ("new", "persisting", "resolved", "open", "overdue", "accepted", "reappeared", "unowned")

    def counts(self) -> dict[str, int]:
        """How many findings each group holds, for a report's summary line."""
        return {group: len(getattr(self, group)) for group in self.GROUPS}

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a JSON file beside comparison.json: the groups as lists of ids, and every item."""
        return {"today": self.today.isoformat(), "run": self.run, "counts": self.counts(),
                **{group: [i.id for i in getattr(self, group)] for group in self.GROUPS},
                "items": [i.to_dict() for i in self.items]}


def _tracked(register: ActionRegister, finding: Mapping[str, Any], found: Found, today: dt.date) -> TrackedFinding:
    action, how = register.cover(finding)
    status: Status = action.status if action else "open"
    still = found != "resolved"
    return TrackedFinding(
        id=finding_id(finding), rule=str(finding["rule"]), system=str(finding["system"]),
        record=str(finding["record_key"]), severity=finding.get("severity"), found=found, status=status,
        owner=action.owner if action else None, due=action.due if action else None,
        reason=action.reason if action else None, fixed_on=action.fixed_on if action else None, covered_by=how,
        overdue=still and status == "open" and action is not None and action.due is not None and action.due < today,
        reappeared=still and status == "fixed")


def track(register: ActionRegister, findings_now: list[dict[str, Any]], findings_before: list[dict[str, Any]] | None,
          today: dt.date, run: str | None = None) -> Tracking:
    """Set this run's and the previous run's findings (findings.json dicts) beside the register.

    Without a previous run (``None``) every finding is new. ``today`` decides what is overdue (pass
    the audit's reference date, so a rerun of an old audit says what it said then); ``run`` names this
    run in the note :func:`carry_over` leaves on what it marks fixed.
    """
    now = {finding_id(f): f for f in findings_now}
    before = {finding_id(f): f for f in findings_before or []}
    items = [_tracked(register, f, "persisting" if fid in before else "new", today)
             for fid, f in now.items()]
    items += [_tracked(register, f, "resolved", today) for fid, f in before.items() if fid not in now]
    items.sort(key=lambda i: (i.rule, i.system, i.record, i.id))
    return Tracking(today=today, run=run, items=tuple(items))


def carry_over(register: ActionRegister, tracking: Tracking) -> ActionRegister:
    """The register the next run starts from.

    A finding still found that no entry covers gets an open entry without owner or due date (the
    officer fills those in). A resolved finding that was open becomes fixed on ``tracking.today``
    with a note naming the run; its owner stays. Everything a person set (owners, due dates, reasons,
    accepted and fixed statuses, rule-wide entries) is kept as it is: a finding of a rule-wide entry
    that is resolved gets its own fixed entry, since the rule's other findings may remain.
    """
    by_finding = {a.finding: a for a in register.actions if a.finding}
    rule_wide = [a for a in register.actions if not a.finding]
    where = f"run {tracking.run}" if tracking.run else f"the audit of {tracking.today.isoformat()}"
    for item in tracking.items:
        if item.still_found and item.covered_by is None:
            by_finding[item.id] = Action(finding=item.id, about=item.about)
        elif not item.still_found and item.status == "open":
            own = by_finding.get(item.id)
            note = "; ".join(n for n in ((own.note if own else None), f"no longer found in {where}") if n)
            by_finding[item.id] = Action(finding=item.id, about=(own.about if own else None) or item.about,
                                         status="fixed", owner=item.owner, due=item.due,
                                         fixed_on=tracking.today, note=note)
    return ActionRegister(tuple(sorted(rule_wide + list(by_finding.values()), key=_order)))
