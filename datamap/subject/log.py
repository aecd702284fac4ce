"""The request log: every logged subject request with its answer-by date (Art. 12(3)) and status."""
from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from datamap.subject.store import checked_name

if TYPE_CHECKING:
    from datamap.workspace import Workspace


@dataclass(frozen=True)
class RequestStatus:
    request_id: str
    type: str
    received: dt.date
    deadline: dt.date
    extended: bool
    completed: dt.date | None
    status: str  # open | done_in_time | overdue

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(self).items()}


def request_status(received: dt.date, completed: dt.date | None, extended: bool, deadline: str, extension: str,
                   as_of: dt.date) -> tuple[dt.date, str]:
    """The answer-by date of a request (Art. 12(3)) and whether it is open, done in time or overdue."""
    from datamap.workspace import parse_duration

    limit = received + parse_duration(deadline)
    if extended:
        limit = limit + parse_duration(extension)
    if completed is not None:
        return limit, "done_in_time" if completed <= limit else "overdue"
    return limit, "overdue" if limit < as_of else "open"


def request_log(con: sqlite3.Connection, workspace: Workspace, as_of: dt.date | None = None) -> list[RequestStatus]:
    """Every logged subject request with its deadline and status."""
    from datamap.binding import table_of

    table = table_of(workspace, "request_log")
    as_of = as_of or workspace.policy.reference_date()
    policy = workspace.policy.requests
    out = []
    for row in con.execute(f'SELECT * FROM "{checked_name(table)}" ORDER BY received, request_id'):
        received = dt.date.fromisoformat(str(row["received"])[:10])
        completed = dt.date.fromisoformat(str(row["completed"])[:10]) if row["completed"] else None
        extended = str(row["extended"]).strip().lower() in ("1", "yes", "true", "ja")
        limit, status = request_status(received, completed, extended, policy.deadline, policy.extension, as_of)
        out.append(RequestStatus(str(row["request_id"]), str(row["type"]), received, limit, extended, completed, status))
    return out
