"""The clean base population: prospects, customers and ex-customers of Apora, one at a time.

Every record here keeps every rule of docs/rules.md: dates inside their retention period,
consent before every send, hashed passwords, trials of at most 14 days, cookies only after a
trial click, notifications for every major notice version, unique customer numbers. Each subject
draws from its own random stream, so the base never depends on what was planted around it.
"""
from __future__ import annotations

import base64
import bisect
import datetime as dt
import random

from datamap.demo import clock
from datamap.demo.estate import Estate
from datamap.demo.people import Person, bsn, format_phone, make_person, pools
from datamap.demo.staff import CURRENT_SALES, CURRENT_SENDERS, CURRENT_SUPPORT, NOTICE_VERSIONS

DEALS = ("Zoho One licenties", "CRM implementatie", "Books migratie", "Desk inrichting", "Training", "Support-contract")
OPEN_STAGES = ("Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review")
TICKET_SUBJECTS = ("Vraag over factuur", "Inloggen lukt niet", "Licentie uitbreiden", "Koppeling Books, CRM",
                   "Wachtwoord vergeten", "Proefversie verlengen?", "Export uit Desk", "Storing e-mail")
TRIAL_APPS = ("Zoho CRM", "Zoho Books", "Zoho Desk", "Zoho Projects", "Zoho People", "Zoho One")
FIRST_PARTY = ("apora_session", "apora_analytics")
THIRD_PARTY = ("zalb_ba05f91d88", "_zcsr_tmp", "zps-tgr-dts", "JSESSIONID")


def campaigns() -> tuple[list[dt.datetime], list[str]]:
    """Apora's newsletters and invitations of the last three years, in time order."""
    times, names = [], []
    for year in (2024, 2025, 2026):
        for month in range(1, 13):
            moment = clock.at(dt.date(year, month, 10), 10, 0)
            if moment.date() < clock.AS_OF:
                times.append(moment)
                names.append(f"Nieuwsbrief {month:02d}-{year}")
        moment = clock.at(dt.date(year, 9, 18), 14, 30)
        times.append(moment)
        names.append(f"Uitnodiging Zoho-dag {year}")
    order = sorted(range(len(times)), key=times.__getitem__)
    return [times[i] for i in order], [names[i] for i in order]


CAMPAIGN_TIMES, CAMPAIGN_NAMES = campaigns()


def password_hash(rng: random.Random) -> str:
    """A well-formed bcrypt, argon2id or PBKDF2 hash (never a readable password)."""
    kind = rng.random()
    salt = base64.b64encode(rng.randbytes(16)).decode("ascii").rstrip("=")
    digest = base64.b64encode(rng.randbytes(32)).decode("ascii").rstrip("=")
    if kind < 0.6:
        return "$2b$12$" + (salt + digest).replace("+", ".")[:53]
    if kind < 0.85:
        return f"$argon2id$v=19$m=65536,t=3,p=4${salt}${digest}"
    return f"pbkdf2_sha256$600000${salt}${digest}="


def ip_address(rng: random.Random) -> str:
    """A public IPv4 or IPv6 address (private and reserved ranges avoided)."""
    if rng.random() < 0.25:
        return "2a02:" + ":".join(f"{rng.randint(0, 0xffff):x}" for _ in range(7))
    return f"{rng.choice((31, 62, 77, 80, 82, 84, 86, 89, 145, 178, 188, 212, 213, 217))}." \
           f"{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def subscribe(estate: Estate, rng: random.Random, email: str, first: str, last: str, since: dt.date,
              phone: str = "") -> None:
    """A newsletter subscription with recorded consent, and sends only inside its consent window."""
    consent = clock.office_time(max(since, dt.date(2024, 1, 2)), rng)
    if consent.date() >= clock.AS_OF:
        return
    roll = rng.random()
    status, unsub = "Active", None
    if roll < 0.10:
        unsub_day = consent.date() + dt.timedelta(days=rng.randint(20, 300))
        if unsub_day < clock.AS_OF:
            status, unsub = "Unsubscribed", clock.office_time(unsub_day, rng)
    elif roll < 0.14:
        status = "Bounced"
    key = estate.subscriber(email, first, last, consent + dt.timedelta(minutes=2), status=status,
                            consent_type=rng.choice(("Double opt-in", "Double opt-in", "Single opt-in")),
                            consent=consent, unsubscribed=unsub, phone=phone)
    low = bisect.bisect_right(CAMPAIGN_TIMES, consent)
    high = bisect.bisect_left(CAMPAIGN_TIMES, unsub) if unsub else len(CAMPAIGN_TIMES)
    window = list(range(low, high))
    for i in sorted(rng.sample(window, min(len(window), rng.randint(0, 3)))):
        estate.send(CAMPAIGN_NAMES[i], key, email, CAMPAIGN_TIMES[i])


def anonymous_traffic(estate: Estate, rng: random.Random) -> None:
    """Website visits without a name: SalesIQ visitors and the portal's cookie log."""
    p = pools()
    if rng.random() < 0.8:
        last = clock.office_time(clock.days_between(rng, 1, 175), rng)
        estate.visitor(last - dt.timedelta(days=rng.randint(0, 60)), last, ip_address(rng), rng.choice(p["cities"]),
                       visits=rng.randint(1, 9))
    visitor_id = rng.randbytes(8).hex()
    set_at = clock.office_time(clock.days_between(rng, 1, 380), rng)
    estate.cookie(visitor_id, rng.choice(FIRST_PARTY), "first", set_at, None)
    if rng.random() < 0.3:
        click = set_at + dt.timedelta(minutes=rng.randint(1, 30))
        estate.cookie(visitor_id, rng.choice(THIRD_PARTY), "third", click + dt.timedelta(seconds=rng.randint(1, 20)),
                      click)


def prospect(estate: Estate, p: Person, rng: random.Random) -> None:
    """A lead that never became a customer: CRM lead, maybe a chat visit and a subscription."""
    last = clock.office_time(clock.days_between(rng, 1, 360), rng)
    source = rng.choice(("CRM Webform", "Zoho SalesIQ", "Import", "API"))
    estate.lead(p, rng.choice(CURRENT_SALES), last, phone_style=rng.randint(0, 5), source=source,
                opt_out=rng.random() < 0.1, basis=rng.choice(("Legitimate Interests", "Consent")),
                status=rng.choice(("Not Contacted", "Attempted to Contact", "Contact in Future", "Contacted")))
    if source == "Zoho SalesIQ" or rng.random() < 0.2:
        visit = clock.office_time(clock.days_between(rng, 1, 175), rng)
        estate.visitor(visit - dt.timedelta(days=rng.randint(0, 30)), visit, ip_address(rng), p.city, name=p.name,
                       email=p.email, visits=rng.randint(1, 12))
    if rng.random() < 0.4:
        subscribe(estate, rng, p.email, p.first, p.last, last.date() - dt.timedelta(days=30))


def customer(estate: Estate, p: Person, rng: random.Random, *, former: bool = False,
             invoices_only: bool = False) -> None:
    """A customer (or, ``former``, one whose account closed within the last two years).

    ``invoices_only`` writes what stays of a customer erased on request: the invoices and
    payments the fiscal duty keeps (restricted, not leftovers).
    """
    created = clock.office_time(clock.days_between(rng, 400, 2500), rng)
    closed = clock.office_time(clock.days_between(rng, 5, 700), rng) if former else None
    if closed and closed <= created + dt.timedelta(days=60):
        closed = created + dt.timedelta(days=60 + rng.randint(0, 30))
    end = (closed or clock.at(clock.AS_OF, 0)).date()
    owner = rng.choice(CURRENT_SALES)
    number = None
    if not invoices_only:
        account_id, number = estate.portal_account(p.email, password_hash(rng), created, closed)
        for version, published, major in NOTICE_VERSIONS:
            if major and created.date() <= published and (closed is None or closed.date() > published):
                estate.notify(version, number, published + dt.timedelta(days=rng.randint(0, 10)))
        if rng.random() < 0.3:
            start_day = created.date() + dt.timedelta(days=rng.randint(0, 30))
            started = clock.office_time(start_day, rng)
            length = dt.timedelta(days=rng.randint(1, 13), hours=rng.randint(0, 23))
            estate.trial(account_id, rng.choice(TRIAL_APPS), started, started + length)
        since_end = max(1, (clock.AS_OF - end).days)
        last_activity = clock.office_time(clock.days_between(rng, since_end, max(since_end, 690)), rng)
        if last_activity < created:
            last_activity = created + dt.timedelta(days=1)
        account_name = p.company
        estate.account(p, owner, created, last_activity)
        estate.contact(p, owner, account_name, created, last_activity, phone_style=rng.randint(0, 5),
                       multiline_street=rng.random() < 0.1, tag=rng.choice(("klant", "klant", "partner;klant")))
        for _ in range(rng.randint(1, 2)):
            stage = rng.choice(("Closed Won", "Closed Won", "Closed Lost") + OPEN_STAGES)
            closing = created.date() + dt.timedelta(days=rng.randint(10, 90))
            contact_name = p.name if rng.random() < 0.8 else ""
            estate.deal(owner, f"{p.company} - {rng.choice(DEALS)}", account_name, contact_name, stage,
                        rng.randint(5, 400) * 50, closing, created)
        estate.books_customer(p, number, created.date(), phone_style=rng.randint(0, 5),
                              multiline=rng.random() < 0.15)
    first_invoice = max(created.date(), dt.date(2020, 1, 2))
    span = max(1, (end - first_invoice).days)
    for _ in range(rng.randint(1, 4)):
        date = first_invoice + dt.timedelta(days=rng.randint(0, span - 1))
        if date >= clock.AS_OF:
            continue
        total = rng.randint(4, 900) * 12.1
        paid_on = date + dt.timedelta(days=rng.randint(1, 30))
        invoice = estate.invoice(p, date, total, status="Paid" if paid_on < clock.AS_OF else "Sent")
        if paid_on < clock.AS_OF:
            estate.payment(p, paid_on, invoice, total, mask=rng.random() < 0.2,
                           mode=rng.choice(("Bank Transfer", "Bank Transfer", "iDEAL via Mollie")))
    if invoices_only:
        return
    if rng.random() < 0.4:
        for _ in range(rng.randint(1, 3)):
            ticket(estate, p, rng, number, end)
    if rng.random() < 0.5:
        subscribe(estate, rng, p.email, p.first, p.last, created.date(),
                  phone=format_phone(p.phone, 0) if rng.random() < 0.3 else "")
    if rng.random() < 0.3:
        visit = clock.office_time(clock.days_between(rng, 1, 175), rng)
        estate.visitor(visit - dt.timedelta(days=rng.randint(0, 90)), visit, ip_address(rng), p.city, name=p.name,
                       email=p.email, visits=rng.randint(1, 30))
    if rng.random() < 0.06:
        correspondence(estate, p, rng)


def ticket(estate: Estate, p: Person, rng: random.Random, number: str, end: dt.date) -> None:
    """A support ticket: closed within the last two years, or open and recent."""
    channel = rng.choice(("Email", "Email", "Phone", "Web", "Chat", "Twitter", "Facebook"))
    social = f"@{p.first.lower()}{p.index % 1000}" if channel in ("Twitter", "Facebook") else ""
    if rng.random() < 0.85:
        closed = clock.office_time(clock.days_between(rng, max(1, (clock.AS_OF - end).days), 700), rng)
        created = closed - dt.timedelta(days=rng.randint(0, 20), hours=rng.randint(1, 8))
    else:
        closed = None
        created = clock.office_time(clock.days_between(rng, 1, 60), rng)
    estate.ticket(p, rng.choice(TICKET_SUBJECTS), created, closed, rng.choice(CURRENT_SUPPORT), channel=channel,
                  customer_number=number if rng.random() < 0.7 else "", social=social,
                  bsn=bsn(rng) if rng.random() < 0.03 else "",
                  birth_date=dt.date(rng.randint(1950, 2002), rng.randint(1, 12), rng.randint(1, 28))
                  if rng.random() < 0.04 else None,
                  phone=format_phone(p.phone, rng.randint(0, 5)))


def correspondence(estate: Estate, p: Person, rng: random.Random) -> None:
    """An ordinary outbound mail to a customer: no export attached, no one else's identifiers."""
    when = clock.office_time(clock.days_between(rng, 1, 600), rng)
    attachments = []
    if rng.random() < 0.5:
        attachments = [(f"offerte-{p.index}.pdf", "application/pdf", b"%PDF-1.4\n% Apora offerte\n")]
    estate.mail("sent", rng.choice(CURRENT_SENDERS), [p.email], "Uw offerte van Apora",
                f"Beste {p.first},\n\nIn de bijlage vindt u onze offerte.\n\nMet vriendelijke groet,\nApora B.V.\n",
                when, attachments=attachments)


def privacy_contact(estate: Estate, p: Person, rng: random.Random) -> None:
    """A question to privacy@apora.nl, answered well within the month."""
    received = clock.office_time(clock.days_between(rng, 1, 500), rng)
    mid = estate.mail("privacy_inbox", p.email, ["privacy@apora.nl"], "Vraag over mijn gegevens",
                      "Goedemiddag,\n\nWelke gegevens bewaren jullie van mij?\n\nGroet\n", received)
    answered = received + dt.timedelta(days=rng.randint(1, 25), hours=2)
    if answered.date() < clock.AS_OF:
        estate.mail("sent", "privacy@apora.nl", [p.email], "RE: Vraag over mijn gegevens",
                    "Beste klant,\n\nDank voor uw vraag. Wij bewaren uw naam, adres en contactgegevens.\n",
                    answered, in_reply_to=mid)


def handled_request(estate: Estate, p: Person, rng: random.Random) -> None:
    """A rights request (access, portability, objection, restriction) completed in time."""
    received = clock.days_between(rng, 40, 700)
    estate.request(rng.choice(("access", "portability", "objection", "restriction")), p.email, received,
                   received + dt.timedelta(days=rng.randint(1, 28)))


def base_subject(estate: Estate, index: int) -> None:
    """Write one subject of the base population (a prospect, a customer or a former customer).

    A few subjects exercised a right: erased ones keep only their invoices (fiscal duty), a
    corrected phone number is corrected everywhere, other requests were answered in time.
    """
    rng = estate.rng("subject", index)
    p = make_person(index, rng)
    roll, rights = rng.random(), rng.random()
    if rights < 0.003:
        received = clock.days_between(rng, 60, 900)
        estate.request("erasure", p.email, received, received + dt.timedelta(days=rng.randint(2, 27)))
        customer(estate, p, rng, invoices_only=True)
    elif roll < 0.35:
        prospect(estate, p, rng)
    elif roll < 0.85:
        customer(estate, p, rng)
    else:
        customer(estate, p, rng, former=True)
    if 0.003 <= rights < 0.006 and roll >= 0.35:
        received = clock.days_between(rng, 40, 700)
        old = f"06-1{rng.randint(5_000_000, 9_999_999)}"
        estate.request("correction", p.email, received, received + dt.timedelta(days=rng.randint(1, 20)),
                       details=f"Phone: {old} -> {format_phone(p.phone, 0)}")
    elif 0.006 <= rights < 0.012:
        handled_request(estate, p, rng)
    elif 0.012 <= rights < 0.017:
        privacy_contact(estate, p, rng)
    anonymous_traffic(estate, rng)
