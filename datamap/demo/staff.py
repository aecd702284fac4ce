"""Apora's staff: the HR roster, every system's user accounts, and the access reviews.

A small fixed cast, written out in full so a reader can see each access case: who is current,
who left (and when, against the deactivation grace of policy.yml), which accounts are still
active. The planted access cases and their near-misses are marked where they are defined.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from datamap.demo import clock
from datamap.demo.estate import Estate, write_users
from datamap.demo.writers import write_plain_csv

GRACE_DAYS = 7  # policy.yml access.deactivation_grace: P7D

USER_ID_BASE = {
    "zoho_crm": 4150868 * 10**12 + 9_000_000_000,
    "zoho_books": 460000000020000,
    "zoho_desk": 581000000010000,
    "zoho_salesiq": 53_900_000_000,
    "zoho_mail": 7_700_000,
}
ROLE_LABELS = {"management": ("CEO", "Administrator"), "finance": ("Finance", "Standard"),
               "sales": ("Sales Rep", "Standard"), "support": ("Support Agent", "Standard"),
               "marketing": ("Marketing", "Standard"), "external": ("Consultant", "Standard"),
               "shared": ("Shared mailbox", "Standard")}


@dataclass(frozen=True)
class Employee:
    employee_id: str
    name: str
    email: str
    role: str
    start: dt.date
    end: dt.date | None
    accounts: dict[str, str] = field(default_factory=dict)   # system -> Active | Inactive | Deleted


def _e(n: int, name: str, email: str, role: str, start: str, end: dt.date | str | None, **accounts: str) -> Employee:
    end_date = dt.date.fromisoformat(end) if isinstance(end, str) else end
    return Employee(f"E{n:03d}", name, email, role, dt.date.fromisoformat(start), end_date, accounts)


A, I, D = "Active", "Inactive", "Deleted"
EMPLOYEES: tuple[Employee, ...] = (
    _e(1, "Marieke Jansen", "marieke.jansen@apora.nl", "management", "2015-03-01", None,
       zoho_crm=A, zoho_books=A, zoho_desk=A, zoho_mail=A, customer_portal=A),
    _e(2, "Pieter van der Linden", "pieter.vanderlinden@apora.nl", "management", "2012-01-01", None,
       zoho_crm=A, zoho_books=A, zoho_mail=A, customer_portal=A),
    _e(3, "Sanne de Boer", "sanne.deboer@apora.nl", "finance", "2018-09-01", None, zoho_books=A, zoho_mail=A),
    _e(4, "Thijs Bakker", "thijs.bakker@apora.nl", "finance", "2021-02-15", None, zoho_books=A, zoho_mail=A),
    _e(5, "Lotte Visser", "lotte.visser@apora.nl", "sales", "2019-04-01", None,
       zoho_crm=A, zoho_salesiq=A, zoho_mail=A, zoho_books=A),          # PLANTED role_not_authorized
    _e(6, "Daan Smit", "daan.smit@apora.nl", "sales", "2020-06-01", None, zoho_crm=A, zoho_salesiq=A, zoho_mail=A),
    _e(7, "Emma Mulder", "emma.mulder@apora.nl", "sales", "2022-01-10", None, zoho_crm=A, zoho_mail=A),
    _e(8, "Noah de Groot", "noah.degroot@apora.nl", "support", "2017-11-01", None,
       zoho_desk=A, zoho_salesiq=A, zoho_mail=A, customer_portal=A, zoho_books=A),  # PLANTED role_not_authorized
    _e(9, "Julia Meijer", "julia.meijer@apora.nl", "support", "2023-03-01", None, zoho_desk=A, zoho_mail=A),
    _e(10, "Sem Bos", "sem.bos@apora.nl", "support", "2020-09-01", None,
       zoho_desk=A, zoho_crm=A, zoho_mail=A, zoho_books=I),             # near-miss: Books account inactive
    _e(11, "Fenna Vos", "fenna.vos@apora.nl", "marketing", "2021-05-01", None,
       zoho_salesiq=A, zoho_crm=A, zoho_mail=A, zoho_books=A),           # PLANTED role_not_authorized
    _e(12, "Lucas Peters", "lucas.peters@apora.nl", "marketing", "2024-02-01", None, zoho_crm=A, zoho_mail=A),
    _e(13, "Zoë Hendriks", "zoe.hendriks@apora.nl", "support", "2022-08-15", None, zoho_desk=A, zoho_mail=A),
    _e(14, "Bram van Dijk", "bram.vandijk@apora.nl", "sales", "2016-01-01", None, zoho_crm=A, zoho_mail=A),
    # near-miss: leaves next month, so still current
    _e(15, "Anouk Dekker", "anouk.dekker@apora.nl", "sales", "2023-01-01", clock.day(-30), zoho_crm=A, zoho_mail=A),
    # near-miss: left 5 days ago, inside the 7-day grace
    _e(16, "Ruben Brouwer", "ruben.brouwer@apora.nl", "support", "2019-01-01", clock.day(GRACE_DAYS - 2),
       zoho_desk=A, zoho_mail=A),
    # near-miss: left exactly 7 days ago: end_date + grace == AS_OF, on the limit
    _e(17, "Iris de Wit", "iris.dewit@apora.nl", "sales", "2020-01-01", clock.day(GRACE_DAYS), zoho_crm=A, zoho_mail=A),
    # left long ago, properly deactivated
    _e(18, "Kees Dijkstra", "kees.dijkstra@apora.nl", "finance", "2014-05-01", "2025-06-30", zoho_books=I, zoho_mail=D),
    # PLANTED departed_employee_active: CRM account still active two months after leaving
    _e(19, "Tim Janssen", "tim.janssen@apora.nl", "sales", "2018-02-01", "2026-09-30",
       zoho_crm=A, zoho_mail=D, zoho_salesiq=I),
    # PLANTED departed_employee_active: left 8 days ago, one day past the grace, Desk agent still active
    _e(20, "Sophie Koster", "sophie.koster@apora.nl", "support", "2021-03-01", clock.day(GRACE_DAYS + 1),
       zoho_desk=A, zoho_mail=D),
    # PLANTED departed_employee_active: mailbox still active almost a year after leaving
    _e(21, "Jeroen Prins", "jeroen.prins@apora.nl", "marketing", "2017-06-01", "2025-12-31",
       zoho_mail=A, zoho_salesiq=I, zoho_crm=D),
)

# Accounts whose holder is not on the roster at all.
OUTSIDERS = (
    # (system, full name, e-mail, status, planted?)
    ("zoho_crm", "Karin Dekker (PartnerConsult)", "k.dekker@partnerconsult.nl", A, True),
    ("zoho_desk", "Mehmet Öztürk (HelpdeskHuren)", "m.ozturk@helpdeskhuren.nl", A, True),
    ("zoho_mail", "Sales (gedeeld)", "sales@apora.nl", A, True),
    ("customer_portal", "Beheer (gedeeld)", "admin@apora.nl", A, True),
    ("zoho_mail", "Info (gedeeld)", "info@apora.nl", I, False),          # near-miss: inactive
    ("zoho_crm", "Zoho Support", "support@zohocorp.com", D, False),       # near-miss: deleted
)

CURRENT_SALES = tuple(e.name for e in EMPLOYEES if e.role == "sales" and e.end is None)
CURRENT_SUPPORT = tuple(e.name for e in EMPLOYEES if e.role == "support" and e.end is None)
CURRENT_SENDERS = tuple(e.email for e in EMPLOYEES if e.end is None and e.role in ("sales", "support"))

# governance/access_reviews.csv: (system, reviewed_on, reviewer)
ACCESS_REVIEWS = (
    ("zoho_crm", clock.before(years=1), "Marieke Jansen"),        # near-miss: exactly on the P1Y limit
    ("zoho_books", dt.date(2026, 3, 10), "Marieke Jansen"),
    ("zoho_desk", dt.date(2024, 5, 2), "Marieke Jansen"),
    ("zoho_desk", dt.date(2026, 6, 1), "Pieter van der Linden"),  # the latest review counts
    ("zoho_mail", clock.before(years=1, days=1), "Marieke Jansen"),  # PLANTED: one day overdue
    ("customer_portal", dt.date(2025, 6, 30), "Pieter van der Linden"),  # PLANTED
    ("zoho_campaigns", dt.date(2026, 1, 15), "Marieke Jansen"),   # not a reviewed system
    # zoho_salesiq: never reviewed (PLANTED)
)

NOTICE_VERSIONS = (("1.0", dt.date(2018, 5, 25), False), ("2.0", dt.date(2022, 5, 16), True),
                   ("2.1", dt.date(2024, 2, 1), False), ("3.0", dt.date(2025, 9, 1), True))


def _account_row(system: str, k: int, name: str, email: str, role: str, status: str, added: dt.date) -> dict:
    label, profile = ROLE_LABELS[role]
    moment = clock.at(added, 9, 30)
    return {"User Id": str(USER_ID_BASE[system] + k), "Full Name": name, "Email": email, "Role": label,
            "Profile": profile, "Status": status, "Added Time": _user_time(system, moment), "_added": moment}


def _user_time(system: str, moment: dt.datetime) -> str:
    return {"zoho_crm": clock.crm, "zoho_books": clock.books, "zoho_desk": clock.desk,
            "zoho_salesiq": clock.salesiq, "zoho_mail": clock.mail_users}[system](moment)


def write_staff(estate: Estate) -> None:
    """Write the roster, every user export, the portal's admins and the access reviews."""
    root: Path = estate.root
    write_plain_csv(root / "hr/roster.csv", ["employee_id", "name", "email", "role", "start_date", "end_date"], (
        {"employee_id": e.employee_id, "name": e.name, "email": e.email, "role": e.role,
         "start_date": clock.iso_date(e.start), "end_date": clock.iso_date(e.end)} for e in EMPLOYEES))
    per_system: dict[str, list[dict]] = {s: [] for s in ("zoho_crm", "zoho_books", "zoho_desk", "zoho_salesiq",
                                                          "zoho_mail")}
    portal_rows: list[tuple] = []
    for k, e in enumerate(EMPLOYEES, start=1):
        for system, status in sorted(e.accounts.items()):
            added = max(e.start, dt.date(2016, 1, 4))
            if system == "customer_portal":
                portal_rows.append((e.email, e.name, e.role, "active" if status == A else "disabled", added, e))
                continue
            row = _account_row(system, k, e.name, e.email, e.role, status, added)
            per_system[system].append(row)
            _plant_access(estate, system, row, e)
    for k, (system, name, email, status, planted) in enumerate(OUTSIDERS, start=101):
        role = "shared" if email.endswith("@apora.nl") else "external"
        if system == "customer_portal":
            portal_rows.append((email, name, role, "active" if status == A else "disabled", dt.date(2024, 4, 8), None))
            continue
        row = _account_row(system, k, name, email, role, status, dt.date(2024, 4, 8))
        per_system[system].append(row)
        if planted:
            key = email if system == "zoho_mail" else row["User Id"]
            estate.plant("P01", "access.non_employee_account", system, key,
                         f"active account of '{name}', who is not on the HR roster")
    for system, rows in per_system.items():
        write_users(root, system, rows)
    for user_id, (email, name, role, status, added, employee) in enumerate(portal_rows, start=1):
        estate.portal.insert("portal_users", (user_id, email, name, role, status,
                                              clock.sql(clock.at(added, 10, 0))))
        if employee is None and status == "active":
            estate.plant("P01", "access.non_employee_account", "customer_portal", user_id,
                         f"active portal admin '{name}' is a shared account, not an employee")
    write_plain_csv(root / "governance/access_reviews.csv", ["system", "reviewed_on", "reviewer"], (
        {"system": s, "reviewed_on": clock.iso_date(d), "reviewer": r} for s, d, r in ACCESS_REVIEWS))
    for system, note in (("zoho_mail", "last review one day more than P1Y before as_of"),
                         ("customer_portal", "last review 2025-06-30, more than P1Y before as_of"),
                         ("zoho_salesiq", "never reviewed: no row in access_reviews.csv")):
        estate.plant("P11", "access.review_overdue", system, system, note)
    write_plain_csv(root / "governance/notice_versions.csv", ["version", "published", "major"], (
        {"version": v, "published": clock.iso_date(d), "major": "yes" if m else "no"} for v, d, m in NOTICE_VERSIONS))


def _plant_access(estate: Estate, system: str, row: dict, e: Employee) -> None:
    """Record the planted access findings of one employee account (the roster decides which)."""
    if row["Status"] != A:
        return
    key = e.email if system == "zoho_mail" else row["User Id"]
    if e.end is not None and e.end + dt.timedelta(days=GRACE_DAYS) < clock.AS_OF:
        estate.plant("P01", "access.departed_employee_active", system, key,
                     f"{e.employee_id} left on {e.end.isoformat()}; end_date + P7D < as_of and the account is active")
    elif (e.end is None or e.end >= clock.AS_OF) and system == "zoho_books" and e.role not in ("finance", "management"):
        estate.plant("P01", "access.role_not_authorized", system, key,
                     f"{e.employee_id} ({e.role}) has an active Zoho Books account; bank data is restricted "
                     "to finance and management")
