"""The demo's fixed calendar: every date is built relative to ``AS_OF``, never to "now".

Each product writes dates the way its exporting user's locale does (see ``sources.yml``), so the
formatting lives here next to the dates themselves.
"""
from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

AS_OF = dt.date(2026, 11, 24)
ZONE = ZoneInfo("Europe/Amsterdam")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day(days_ago: int) -> dt.date:
    """The calendar date ``days_ago`` days before AS_OF."""
    return AS_OF - dt.timedelta(days=days_ago)


def before(years: int = 0, months: int = 0, days: int = 0) -> dt.date:
    """AS_OF minus a calendar period (the same arithmetic as the audit's retention rule)."""
    return AS_OF - relativedelta(years=years, months=months, days=days)


def at(date: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    """A local wall-clock time on ``date`` (naive, Europe/Amsterdam)."""
    return dt.datetime(date.year, date.month, date.day, hour, minute, second)


def office_time(date: dt.date, rng: random.Random) -> dt.datetime:
    """A random moment during office hours on ``date`` (08:00-17:59)."""
    return at(date, rng.randint(8, 17), rng.randint(0, 59), rng.randint(0, 59))


def days_between(rng: random.Random, low: int, high: int) -> dt.date:
    """A date between ``high`` and ``low`` days before AS_OF (both inclusive)."""
    return day(rng.randint(low, high))


def aware(moment: dt.datetime) -> dt.datetime:
    """Attach the workspace time zone (summer and winter time as they really fell)."""
    return moment.replace(tzinfo=ZONE)


# --- the formats each export uses (declared per dataset in sources.yml) -------------------------


def crm(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def iso_date(date: dt.date | None) -> str:
    return "" if date is None else date.strftime("%Y-%m-%d")


def books(date: dt.date | dt.datetime | None) -> str:
    return "" if date is None else date.strftime("%d/%m/%Y")


def desk(moment: dt.datetime | None) -> str:
    """``Nov 24, 2026 09:15 AM``, with English month names whatever the machine's locale."""
    if moment is None:
        return ""
    hour = moment.hour % 12 or 12
    return f"{_MONTHS[moment.month - 1]} {moment.day:02d}, {moment.year} {hour:02d}:{moment.minute:02d} " + (
        "AM" if moment.hour < 12 else "PM")


def salesiq(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.strftime("%d-%m-%Y %H:%M")


def campaigns(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.strftime("%d/%m/%Y %H:%M:%S")


def mail_users(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.strftime("%d-%m-%Y %H:%M")


def trace_utc(moment: dt.datetime) -> str:
    """The mail server logs in UTC."""
    return aware(moment).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sql(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def dutch_date(date: dt.date | None) -> str:
    return "" if date is None else date.strftime("%d-%m-%Y")
