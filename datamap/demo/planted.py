"""The planted cases: known violations of every rule in docs/rules.md, and their near-misses.

Each function writes a few records through :class:`~datamap.demo.estate.Estate` (so they have
the real export shape) and records every violation with :meth:`Estate.plant`. Near-misses are
written the same way and deliberately not planted: the audit must stay silent on them. The notes
say which reading of a rule a case relies on.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Callable

from datamap.demo import clock
from datamap.demo.estate import Estate
from datamap.demo.people import Person, format_phone, make_person
from datamap.demo.population import CAMPAIGN_NAMES, CAMPAIGN_TIMES, password_hash
from datamap.demo.staff import CURRENT_SALES, CURRENT_SUPPORT, NOTICE_VERSIONS

PLANT_INDEX = 50_000_000  # person indexes of planted people: far outside any base population
SUPPORT = CURRENT_SUPPORT[0]
SALES = CURRENT_SALES[0]
ACCOUNTANT = "controle@vandijk-accountants.nl"


def person(estate: Estate, k: int, **changes: object) -> Person:
    """A planted person: a mobile in 06-10000000.. (never drawn by the base), otherwise as the base."""
    p = make_person(PLANT_INDEX + k, estate.rng("planted-person", k))
    return dataclasses.replace(p, phone=f"0610{k:06d}", **changes)


def campaign(name: str) -> dt.datetime:
    return CAMPAIGN_TIMES[CAMPAIGN_NAMES.index(name)]


def _hash(estate: Estate, label: str) -> str:
    return password_hash(estate.rng("hash", label))


# --- P05 retention -------------------------------------------------------------------------------


def retention(estate: Estate, extra: int) -> None:
    note = "start + period < as_of"
    cases = [(1, 1, 11), (2, 3 * 365, 14)] + [(40 + i, 400 + 37 * i, 10) for i in range(extra)]
    for k, days_past, hour in cases:
        p = person(estate, k)
        moment = clock.at(clock.before(years=1, days=days_past), hour)
        key = estate.lead(p, SALES, moment)
        estate.plant("P05", "retention.expired", "zoho_crm", key,
                     f"lead, last activity {moment.date()}; P1Y; {note}"
                     + (" (exactly one day past)" if days_past == 1 else ""))
    p = person(estate, 3)
    estate.lead(p, SALES, clock.at(clock.before(years=1), 9))          # near-miss: exactly on the limit
    p = person(estate, 4)
    last = clock.at(clock.before(years=2, days=40), 15)
    estate.account(p, SALES, last - dt.timedelta(days=900), last)
    key = estate.contact(p, SALES, p.company, last - dt.timedelta(days=900), last)
    estate.plant("P05", "retention.expired", "zoho_crm", key, f"contact, last activity {last.date()}; P2Y")
    p = person(estate, 5)
    invoice = estate.invoice(p, dt.date(2018, 6, 14), 1210.0)
    payment = estate.payment(p, dt.date(2018, 6, 20), invoice, 1210.0)
    estate.plant("P05", "retention.expired", "zoho_books", invoice,
                 "invoice of 2018-06-14: fiscal year ends 2018-12-31, + P7Y = 2025-12-31 < as_of")
    estate.plant("P05", "retention.expired", "zoho_books", payment,
                 "payment of 2018-06-20: fiscal year ends 2018-12-31, + P7Y = 2025-12-31 < as_of")
    p = person(estate, 6)                                               # near-miss: 1 January seven years ago
    invoice = estate.invoice(p, dt.date(2019, 1, 1), 605.0)
    estate.payment(p, dt.date(2019, 1, 15), invoice, 605.0)
    p = person(estate, 7)
    closed = clock.at(clock.before(years=2, days=1), 16)
    key = estate.ticket(p, "Factuur klopt niet", closed - dt.timedelta(days=2), closed, SUPPORT)
    estate.plant("P05", "retention.expired", "zoho_desk", key,
                 f"ticket closed {closed.date()}; P2Y from closed_time; exactly one day past")
    p = person(estate, 8)                                               # near-miss: closed exactly two years ago
    closed = clock.at(clock.before(years=2), 11)
    estate.ticket(p, "Licentie opzeggen", closed - dt.timedelta(days=1), closed, SUPPORT)
    p = person(estate, 9)                                               # near-miss: open for three years
    estate.ticket(p, "Koppeling werkt niet", clock.at(clock.before(years=3), 10), None, SUPPORT)
    for k, months, days in [(10, 6, 10)] + [(60 + i, 7 + i, 3) for i in range(extra)]:
        p = person(estate, k, first="Noël") if k == 10 else person(estate, k)
        last = clock.at(clock.before(months=months, days=days), 13)
        key = estate.visitor(last - dt.timedelta(days=20), last, f"84.{k}.17.{k + 1}", p.city, name=p.name,
                             email=p.email, visits=4)
        estate.plant("P05", "retention.expired", "zoho_salesiq", key, f"visitor, last visit {last.date()}; P6M")
    last = clock.at(clock.before(months=6), 12)                         # near-miss: exactly six months
    estate.visitor(last - dt.timedelta(days=3), last, "2a02:a45e:1c2:0:4d1:9bff:fe3a:11", "Zwolle", visits=2)
    p = person(estate, 11)
    closed = clock.at(clock.before(years=2, days=5), 17)
    account_id, _ = estate.portal_account(p.email, _hash(estate, "ret-1"), clock.at(dt.date(2023, 1, 10), 10), closed)
    estate.plant("P05", "retention.expired", "customer_portal", account_id,
                 f"portal account closed {closed.date()}; P2Y from closed_at")
    p = person(estate, 12)                                              # near-miss: closed exactly two years ago
    estate.portal_account(p.email, _hash(estate, "ret-2"), clock.at(dt.date(2023, 2, 1), 10),
                          clock.at(clock.before(years=2), 9))
    set_at = clock.at(clock.before(months=13, days=1), 20)
    entry = estate.cookie("c0ffee0000000001", "apora_analytics", "first", set_at, None)
    estate.plant("P05", "retention.expired", "customer_portal", entry, f"cookie set {set_at.date()}; P13M")
    estate.cookie("c0ffee0000000002", "apora_analytics", "first", clock.at(clock.before(months=13), 8), None)


# --- P04 consent ---------------------------------------------------------------------------------


def consent(estate: Estate, extra: int) -> None:
    march, april, june = campaign("Nieuwsbrief 03-2026"), campaign("Nieuwsbrief 04-2026"), campaign("Nieuwsbrief 06-2026")
    cases = [
        (20, "", None, march, "no Consent Type and no Consent Date"),
        (21, "Single opt-in", None, march, "Consent Type recorded but Consent Date empty"),
        (22, "Double opt-in", clock.at(dt.date(2026, 5, 20), 9, 12), april, "Consent Date 2026-05-20 is after the send"),
    ] + [(70 + i, "", None, june, "no consent recorded") for i in range(extra)]
    for k, kind, given, sent, why in cases:
        p = person(estate, k)
        sub = estate.subscriber(p.email, p.first, p.last, clock.at(dt.date(2026, 1, 5), 11), consent_type=kind,
                                consent=given)
        key = estate.send(CAMPAIGN_NAMES[CAMPAIGN_TIMES.index(sent)], sub, p.email, sent)
        estate.plant("P04", "consent.missing", "zoho_campaigns", key, why)
    p = person(estate, 23)                                  # near-miss: consent given at the very minute of the send
    sub = estate.subscriber(p.email, p.first, p.last, june, consent=june)
    estate.send("Nieuwsbrief 06-2026", sub, p.email, june)
    p = person(estate, 24)
    unsub = clock.at(dt.date(2026, 2, 15), 10)
    sub = estate.subscriber(p.email, p.first, p.last, clock.at(dt.date(2025, 3, 1), 9), status="Unsubscribed",
                            consent=clock.at(dt.date(2025, 3, 1), 9), unsubscribed=unsub)
    estate.send("Nieuwsbrief 02-2026", sub, p.email, campaign("Nieuwsbrief 02-2026"))   # before: fine
    for name in ("Nieuwsbrief 03-2026", "Nieuwsbrief 06-2026"):
        key = estate.send(name, sub, p.email, campaign(name))
        estate.plant("P04", "consent.opt_out_ignored", "zoho_campaigns", key,
                     f"sent {campaign(name).date()} after unsubscribing on 2026-02-15")
    p = person(estate, 25)
    unsub = clock.at(dt.date(2025, 12, 1), 16)
    sub = estate.subscriber(p.email, p.first, p.last, clock.at(dt.date(2024, 11, 1), 9), status="Unsubscribed",
                            consent=clock.at(dt.date(2024, 11, 1), 9), unsubscribed=unsub)
    key = estate.send("Nieuwsbrief 01-2026", sub, p.email, campaign("Nieuwsbrief 01-2026"))
    estate.plant("P04", "consent.opt_out_ignored", "zoho_campaigns", key,
                 "sent 2026-01-10 after unsubscribing on 2025-12-01 (violations are days apart, so a "
                 "date-only and a timestamp comparison agree)")
    p = person(estate, 26)                                  # near-miss: the send the minute before unsubscribing
    may = campaign("Nieuwsbrief 05-2026")
    sub = estate.subscriber(p.email, p.first, p.last, clock.at(dt.date(2025, 5, 1), 9), status="Unsubscribed",
                            consent=clock.at(dt.date(2025, 5, 1), 9), unsubscribed=may + dt.timedelta(minutes=1))
    estate.send("Nieuwsbrief 05-2026", sub, p.email, may)


# --- P06 contracts -------------------------------------------------------------------------------


def contracts(estate: Estate) -> None:
    created = clock.at(dt.date(2026, 8, 3), 10)
    for stage, amount in (("Negotiation/Review", 4800), ("Closed Won", 12500), ("Proposal/Price Quote", 2300)):
        key = estate.deal(SALES, f"Zoho One uitrol ({stage})", "", "", stage, amount, dt.date(2026, 12, 1), created)
        estate.plant("P06", "quality.contract_without_customer_name", "zoho_crm", key,
                     f"deal in stage {stage} with neither Account Name nor Contact Name (Record Id written zcrm_...)")
    estate.deal(SALES, "Oude offerte", "", "", "Closed Lost", 900, dt.date(2026, 6, 1), created)  # near-miss
    p = person(estate, 30)                                                                  # near-miss
    estate.deal(SALES, "Training Books", "", p.name, "Closed Won", 1500, dt.date(2026, 9, 1), created)


# --- P08 erasure ---------------------------------------------------------------------------------


def erasure(estate: Estate) -> None:
    received = dt.date(2026, 3, 2)
    for k, where in ((31, "desk"), (32, "campaigns"), (33, "salesiq"), (34, "crm")):
        p = person(estate, k)
        req = estate.request("erasure", p.email, received + dt.timedelta(days=k - 31),
                             received + dt.timedelta(days=k - 20))
        if where == "desk":
            variant = p.email.split("@")[0].title() + "@" + p.email.split("@")[1].upper()
            key = estate.ticket(p, "Account opheffen", clock.at(dt.date(2026, 1, 20), 10),
                                clock.at(dt.date(2026, 1, 22), 15), SUPPORT, email=variant)
            for date in (dt.date(2024, 3, 1), dt.date(2025, 3, 1)):   # near-miss: invoices under the fiscal duty
                invoice = estate.invoice(p, date, 363.0)
                estate.payment(p, date + dt.timedelta(days=5), invoice, 363.0)
            estate.plant("P08", "rights.erasure_incomplete", "zoho_desk", key,
                         f"{req} completed; the ticket still holds the subject under a differently-cased e-mail. "
                         "The subject's two invoices are kept under the fiscal duty: restricted, not findings")
        elif where == "campaigns":
            key = estate.subscriber(p.email, p.first, p.last, clock.at(dt.date(2025, 4, 1), 9),
                                    consent=clock.at(dt.date(2025, 4, 1), 9))
            estate.plant("P08", "rights.erasure_incomplete", "zoho_campaigns", key,
                         f"{req} completed; still a subscriber (no sends)")
        elif where == "salesiq":
            last = clock.at(dt.date(2026, 10, 1), 12)
            key = estate.visitor(last - dt.timedelta(days=50), last, "89.20.114.7", p.city, name=p.name,
                                 email=p.email, visits=6)
            estate.plant("P08", "rights.erasure_incomplete", "zoho_salesiq", key, f"{req} completed; visitor kept")
        else:
            key = estate.lead(p, SALES, clock.at(dt.date(2026, 2, 20), 10), email=f" {p.email} ")
            estate.plant("P08", "rights.erasure_incomplete", "zoho_crm", key,
                         f"{req} completed; lead kept (e-mail with surrounding spaces)")
    p = person(estate, 35)                     # near-miss: erasure requested 10 days ago, not yet carried out
    estate.request("erasure", p.email, clock.day(10), None)
    estate.lead(p, SALES, clock.at(clock.day(12), 10))


# --- P07 correction ------------------------------------------------------------------------------


def correction(estate: Estate) -> None:
    done = dt.date(2026, 4, 20)
    p = person(estate, 36)
    old = "0611000036"
    req = estate.request("correction", p.email, dt.date(2026, 4, 2), done,
                         details=f"Phone: {format_phone(old, 0)} -> {format_phone(p.phone, 0)}")
    estate.contact(p, SALES, p.company, clock.at(dt.date(2024, 5, 1), 9), clock.at(dt.date(2026, 4, 21), 9))
    key = estate.ticket(p, "Nieuw telefoonnummer", clock.at(dt.date(2026, 3, 30), 9), clock.at(dt.date(2026, 3, 31), 9),
                        SUPPORT, phone=format_phone(old, 1))
    estate.plant("P07", "rights.correction_not_applied", "zoho_desk", key,
                 f"{req}: phone corrected in CRM, the ticket still has the old number (written +31 6 ...)")
    p = person(estate, 37, last="Jansen")
    req = estate.request("correction", p.email, dt.date(2026, 5, 4), dt.date(2026, 5, 12),
                         details="Last Name: Jansen -> Jansen-de Wit")
    key = estate.contact(p, SALES, p.company, clock.at(dt.date(2023, 9, 1), 9), clock.at(dt.date(2026, 5, 13), 9))
    estate.books_customer(p, "", dt.date(2023, 9, 1), last="Jansen-de Wit")
    estate.plant("P07", "rights.correction_not_applied", "zoho_crm", key,
                 f"{req}: Books has the new last name, the CRM contact still the old")
    p = person(estate, 38)
    old_email = p.email.replace("@", ".oud@")
    req = estate.request("correction", p.email, dt.date(2026, 6, 1), dt.date(2026, 6, 9),
                         details=f"Email: {old_email} -> {p.email}")
    estate.contact(p, SALES, p.company, clock.at(dt.date(2024, 1, 8), 9), clock.at(dt.date(2026, 6, 10), 9))
    key = estate.subscriber(old_email, p.first, p.last, clock.at(dt.date(2025, 2, 1), 9),
                            consent=clock.at(dt.date(2025, 2, 1), 9))
    estate.plant("P07", "rights.correction_not_applied", "zoho_campaigns", key,
                 f"{req}: the subscriber still has the old address (matched on the old address; "
                 "Subject Email is the new one)")
    p = person(estate, 39)                        # near-miss: correction requested, not yet completed
    estate.request("correction", p.email, clock.day(6), None, details="Last Name: Smit -> Smits")
    estate.lead(p, SALES, clock.at(clock.day(7), 11))


# --- P08/P09 request deadlines -------------------------------------------------------------------


def deadlines(estate: Estate) -> None:
    log = [  # (k, type, received, completed, extended, planted note or None)
        (41, "access", dt.date(2026, 5, 4), dt.date(2026, 6, 5), False, "completed 2026-06-05, deadline 2026-06-04"),
        (42, "objection", dt.date(2026, 8, 10), None, False, "not completed; deadline 2026-09-10 passed"),
        (43, "portability", dt.date(2026, 3, 2), dt.date(2026, 6, 3), True,
         "extended; completed 2026-06-03, deadline + extension 2026-06-02"),
        (44, "access", dt.date(2026, 4, 10), dt.date(2026, 5, 10), False, None),     # exactly on the deadline
        (45, "restriction", dt.date(2026, 6, 1), dt.date(2026, 8, 14), True, None),  # extended, in time
        (46, "access", clock.day(10), None, False, None),                           # open, not yet due
    ]
    for k, kind, received, completed, extended, note in log:
        key = estate.request(kind, person(estate, k).email, received, completed, extended=extended)
        if note:
            estate.plant("P08", "rights.request_overdue", "privacy_office", key, note)
    mailbox = [  # (k, received, reply after (days) or None, planted note or None)
        (47, clock.at(dt.date(2026, 8, 3), 10), None, "no reply at all; received 2026-08-03"),
        (48, clock.at(dt.date(2026, 6, 15), 10), 31, "replied 2026-07-16, deadline 2026-07-15"),
        (49, clock.at(dt.date(2026, 9, 1), 10), 30, None),       # replied on the last allowed day (2026-10-01)
        (50, clock.at(clock.day(12), 10), None, None),            # not yet due
    ]
    for k, received, reply_days, note in mailbox:
        p = person(estate, k)
        mid = estate.mail("privacy_inbox", p.email, ["privacy@apora.nl"], "Klacht over nieuwsbrief",
                          "Beste Apora,\n\nIk wil graag weten waarom ik jullie nieuwsbrief krijg.\n", received)
        if reply_days is not None:
            estate.mail("sent", "privacy@apora.nl", [p.email], "RE: Klacht over nieuwsbrief",
                        "Beste,\n\nExcuses, wij hebben u afgemeld.\n", received + dt.timedelta(days=reply_days, hours=5),
                        in_reply_to=mid)
        if note:
            estate.plant("P09", "rights.request_overdue", "zoho_mail", mid, note)
    # near-miss: a colleague forwarding to the privacy mailbox is not a request from outside
    estate.mail("privacy_inbox", "lotte.visser@apora.nl", ["privacy@apora.nl"], "Doorgestuurd: vraag klant",
                "Zie onder.\n", clock.at(dt.date(2026, 7, 1), 11))


# --- P10 notice changes, P11 credentials, P14 customer numbers, P15 cookies and trials ----------------


def portal(estate: Estate, extra: int) -> None:
    v3 = next(v for v, d, m in NOTICE_VERSIONS if v == "3.0")
    for k in (51, 52, 53):
        p = person(estate, k)
        account_id, _ = estate.portal_account(p.email, _hash(estate, k), clock.at(dt.date(2024, 3, k - 40), 10))
        estate.plant("P10", "notice.change_not_notified", "customer_portal", account_id,
                     f"account active on 2025-09-01 (version {v3}, major) and no notification row")
    p = person(estate, 54)                                   # near-miss: created the day after version 3.0
    estate.portal_account(p.email, _hash(estate, 54), clock.at(dt.date(2025, 9, 2), 10))
    p = person(estate, 55)                                   # near-miss: closed before version 3.0
    estate.portal_account(p.email, _hash(estate, 55), clock.at(dt.date(2023, 6, 1), 10),
                          clock.at(dt.date(2025, 8, 15), 10))
    recent = clock.at(dt.date(2025, 10, 6), 10)
    for k, (pw, why) in enumerate((("Welkom2024!", "a readable password"),
                                   ("5f4dcc3b5aa765d61d8327deb882cf99", "an unsalted MD5 hex digest"),
                                   ("$1$Zx8kPq2a$u1dLJ8m5yqv0u9hWbq6cX.", "an MD5-crypt hash ($1$)"))
                                  + tuple((f"Zomer{2020 + i}", "a readable password") for i in range(extra)), start=80):
        p = person(estate, k)
        account_id, _ = estate.portal_account(p.email, pw, recent + dt.timedelta(days=k))
        estate.plant("P11", "quality.plaintext_credentials", "customer_portal", account_id,
                     f"password_hash is {why}")
    for k, pw in ((56, "$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$3Rz2bAFMR8a1tQ4r9Y0vKw"),
                  (57, "$2y$10$Qm9vLm9uZS5zYWx0LnN0cmluZ2FzaGVkcGFzc3dvcmRoYXNoMTIz")):  # near-misses
        estate.portal_account(person(estate, k).email, pw, recent)
    p, q = person(estate, 58), person(estate, 59)
    first, number = estate.portal_account(p.email, _hash(estate, 58), recent)
    second, _ = estate.portal_account(q.email, _hash(estate, 59), recent, customer_number=number)
    for account_id, other in ((first, second), (second, first)):
        estate.plant("P14", "quality.duplicate_customer_number", "customer_portal", account_id,
                     f"customer number {number} is also held by portal account {other}")
    p, q = person(estate, 60), person(estate, 61)
    _, number = estate.portal_account(p.email, _hash(estate, 60), recent)
    key = estate.books_customer(q, number, recent.date())
    estate.plant("P14", "quality.duplicate_customer_number", "zoho_books", key,
                 f"CF.Customer Number {number} belongs to a portal account with another e-mail")
    p = person(estate, 62)                                   # near-miss: same number, same e-mail in other case
    _, number = estate.portal_account(p.email, _hash(estate, 62), recent)
    estate.books_customer(p, number, recent.date(), email=p.email.upper())
    day = clock.at(dt.date(2026, 10, 14), 15)
    for n, (click_after, why) in enumerate(((None, "no trial click at all"), (None, "no trial click at all"),
                                            (3, "set 3 seconds before the trial click"))):
        set_at = day + dt.timedelta(minutes=n)
        click = None if click_after is None else set_at + dt.timedelta(seconds=click_after)
        entry = estate.cookie(f"b10c{n:012d}", "zalb_ba05f91d88", "third", set_at, click)
        estate.plant("P15", "cookies.third_party_without_trial_click", "customer_portal", entry, why)
    estate.cookie("b10c000000000099", "_zcsr_tmp", "third", day, day)   # near-miss: set at the click itself
    p = person(estate, 63)
    account_id, _ = estate.portal_account(p.email, _hash(estate, 63), clock.at(dt.date(2025, 9, 20), 10))
    start = clock.at(dt.date(2026, 6, 1), 10)
    for length, why in ((15, "ended after 15 days"), (30, "ended after 30 days")):
        trial = estate.trial(account_id, "Zoho CRM", start, start + dt.timedelta(days=length))
        estate.plant("P15", "quality.trial_longer_than_14_days", "customer_portal", trial, why)
    trial = estate.trial(account_id, "Zoho Desk", clock.at(clock.day(15), 10), None)
    estate.plant("P15", "quality.trial_longer_than_14_days", "customer_portal", trial,
                 "still running; started 15 days before as_of")
    estate.trial(account_id, "Zoho Books", start, start + dt.timedelta(days=14))      # near-miss: exactly 14 days
    estate.trial(account_id, "Zoho One", clock.at(clock.day(14), 10), None)          # near-miss: running 14 days


# --- P03 outbound mail -----------------------------------------------------------------------------


def export_csv(people: list[Person]) -> bytes:
    lines = ["Naam,Email,Telefoon"] + [f"{p.name},{p.email},{format_phone(p.phone, 0)}" for p in people]
    return ("\n".join(lines) + "\n").encode("utf-8")


def sharing(estate: Estate) -> None:
    export = export_csv([person(estate, k) for k in (90, 91, 92)])
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    when = clock.at(dt.date(2026, 7, 7), 16, 40)
    mid = estate.mail("sent", "lotte.visser@apora.nl", ["lotte.visser1987@gmail.com"], "klantenlijst voor thuis",
                      "Even naar mezelf gestuurd.\n", when, attachments=[("klanten_export.csv", "text/csv", export)])
    estate.plant("P03", "sharing.undeclared_recipient", "zoho_mail", mid,
                 "CSV export of customers sent to a private gmail address")
    other = person(estate, 93)
    mid = estate.mail("sent", "daan.smit@apora.nl", ["info@zohopartners-benelux.nl"], "Lead voor jullie",
                      f"Hoi,\n\nKunnen jullie deze klant bellen? {other.name}, {other.email}, "
                      f"{format_phone(other.phone, 0)}.\n", clock.at(dt.date(2026, 8, 12), 11, 5))
    estate.plant("P03", "sharing.undeclared_recipient", "zoho_mail", mid,
                 "body holds another person's e-mail and phone; sent to a partner domain that is not approved")
    mid = estate.mail("sent", "sanne.deboer@apora.nl", [ACCOUNTANT], "Debiteurenlijst Q2",
                      "Bijgaand de debiteurenlijst.\n", clock.at(dt.date(2026, 7, 15), 9, 30),
                      bcc=["boekhoudhulp.sanne@outlook.com"],
                      attachments=[("debiteuren_q2.xlsx", xlsx, b"PK\x03\x04 debiteuren")])
    estate.plant("P03", "sharing.undeclared_recipient", "zoho_mail", mid,
                 "XLSX export to the approved accountant, but a Bcc to an outlook.com address shows only "
                 "in message_trace.csv")
    own = person(estate, 94)                # near-miss: the subject's own export, sent to the subject
    estate.mail("sent", "privacy@apora.nl", [own.email], "Uw gegevens (inzageverzoek)",
                f"Beste {own.first},\n\nBijgaand alle gegevens die wij van {own.email} bewaren.\n",
                clock.at(dt.date(2026, 9, 3), 14), attachments=[("uw_gegevens.csv", "text/csv", export_csv([own]))])
    estate.mail("sent", "sanne.deboer@apora.nl", [ACCOUNTANT], "Betalingen Q3",   # near-miss: approved accountant
                "Bijgaand de betalingen.\n", clock.at(dt.date(2026, 10, 6), 9),
                attachments=[("betalingen_q3.xlsx", xlsx, b"PK\x03\x04 betalingen")])
    estate.mail("sent", "noah.degroot@apora.nl", ["julia.meijer@apora.nl"], "Tickets export",  # near-miss: internal
                "Voor de analyse.\n", clock.at(dt.date(2026, 10, 20), 10),
                attachments=[("tickets.csv", "text/csv", export)])


# --- P13 discovery --------------------------------------------------------------------------------


def discovery(estate: Estate) -> None:
    """Make sure the undeclared columns hold values whatever N (the base fills them only sometimes)."""
    p = person(estate, 95)
    rng = estate.rng("discovery")
    from datamap.demo.people import bsn

    estate.ticket(p, "Contract op naam zetten", clock.at(dt.date(2026, 9, 8), 10), clock.at(dt.date(2026, 9, 9), 10),
                  SUPPORT, bsn=bsn(rng), birth_date=dt.date(1978, 4, 12))
    estate.subscriber(p.email, p.first, p.last, clock.at(dt.date(2026, 2, 2), 9), consent=clock.at(dt.date(2026, 2, 2), 9),
                      phone=format_phone(p.phone, 0))
    for field, note in (("bsn", "Desk custom field BSN (citizen service numbers; severity critical), not in the map"),
                        ("geboortedatum", "Desk custom field Geboortedatum (dates of birth), not in the map")):
        estate.plant("P13", "discovery.undeclared_personal_data", "zoho_desk", f"zoho_desk.tickets.{field}", note)
    estate.plant("P13", "discovery.undeclared_personal_data", "zoho_campaigns", "zoho_campaigns.subscribers.phone",
                 "Campaigns subscriber export has a Phone column the map does not declare")


def escaping(estate: Estate) -> None:
    """A lead whose first name is a script tag (for HTML-escaping tests); otherwise a clean lead."""
    p = person(estate, 96, first="<script>alert('x')</script>")
    estate.lead(p, SALES, clock.at(clock.day(20), 10), source="CRM Webform")


def schedule(extra: int) -> list[Callable[[Estate], None]]:
    """The planted cases in the order they are woven into the base population."""
    return [
        lambda e: retention(e, extra), lambda e: consent(e, extra), contracts, erasure, correction, deadlines,
        lambda e: portal(e, extra), sharing, discovery, escaping,
    ]
