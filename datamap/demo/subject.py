"""The planted data subject for subject-request tests, and a namesake who must not match.

Jan-Willem van den Bergh is in every system under the spellings real systems produce (e-mail
case and stray spaces, ``06-12345678`` versus ``+31 6 1234 5678``, ``J.W. v.d. Bergh``, a name
without its tussenvoegsel, a typed diacritic). A stranger with the same first and last name but
another e-mail, phone and city must never be taken for him.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from datamap.demo import clock
from datamap.demo.estate import Estate
from datamap.demo.people import make_person
from datamap.demo.population import password_hash
from datamap.demo.staff import CURRENT_SALES, CURRENT_SUPPORT

EMAIL = "jw.vandenbergh@bergh-advies.nl"
PHONE = "0612345678"
STRANGER_EMAIL = "janwillem.vandenbergh@ziggo.nl"
STRANGER_PHONE = "0613572468"


def plant_subject(estate: Estate) -> dict[str, Any]:
    """Write the subject and the stranger; return the content of ``expected_subject.json``."""
    rng = estate.rng("subject-request")
    p = dataclasses.replace(make_person(50_100_000, rng), first="Jan-Willem", last="van den Bergh", email=EMAIL,
                            phone=PHONE, city="Utrecht", street="Oudegracht 231", postcode="3511 NK",
                            company="Bergh Advies B.V.", company_domain="bergh-advies.nl", title="Eigenaar")
    records: list[dict[str, str]] = []

    def at(system: str, collection: str, key: object) -> None:
        records.append({"system": system, "collection": collection, "record_key": str(key)})

    owner, agent = CURRENT_SALES[0], CURRENT_SUPPORT[0]
    created = clock.at(dt.date(2025, 10, 1), 10, 12)
    account_id, number = estate.portal_account(EMAIL, password_hash(rng), created)
    at("customer_portal", "accounts", account_id)
    estate.account(p, owner, created, clock.at(dt.date(2026, 10, 2), 11))   # the company, not the person
    at("zoho_crm", "contacts", estate.contact(p, owner, p.company, created, clock.at(dt.date(2026, 10, 2), 11),
                                              email="JW.vandenBergh@bergh-advies.nl", phone_style=5))
    at("zoho_books", "customers", estate.books_customer(p, number, created.date(), email=f"{EMAIL} ",
                                                        display="J.W. v.d. Bergh", first="J.W.", last="v.d. Bergh",
                                                        phone_style=1))
    invoice = estate.invoice(p, dt.date(2025, 10, 3), 1452.0, contact_person="J.W. v.d. Bergh")
    at("zoho_books", "invoices", invoice)
    at("zoho_books", "customer_payments", estate.payment(p, dt.date(2025, 10, 10), invoice, 1452.0))
    at("zoho_desk", "tickets", estate.ticket(p, "Vraag over licentie", clock.at(dt.date(2026, 9, 14), 9, 40),
                                             clock.at(dt.date(2026, 9, 15), 14, 5), agent,
                                             email=" JW.vandenBergh@Bergh-Advies.nl ",
                                             contact_name="Jan-Willem van den Bërgh", phone="+31 6 1234 5678",
                                             customer_number=number))
    last_visit = clock.at(dt.date(2026, 10, 28), 20, 15)
    at("zoho_salesiq", "visitors", estate.visitor(last_visit - dt.timedelta(days=40), last_visit, "145.53.12.200",
                                                  "Utrecht", name="Jan-Willem Bergh", email=EMAIL, visits=7))
    subscriber = estate.subscriber("Jw.VandenBergh@bergh-advies.nl", "Jan-Willem", "van den Bergh",
                                   clock.at(dt.date(2025, 10, 1), 10, 20), consent=clock.at(dt.date(2025, 10, 1), 10, 18))
    at("zoho_campaigns", "subscribers", subscriber)
    for name, when in (("Nieuwsbrief 11-2025", clock.at(dt.date(2025, 11, 10), 10)),
                       ("Nieuwsbrief 05-2026", clock.at(dt.date(2026, 5, 10), 10))):
        at("zoho_campaigns", "sends", estate.send(name, subscriber, "Jw.VandenBergh@bergh-advies.nl", when))
    mid = estate.mail("sent", "daan.smit@apora.nl", ["J.W. v.d. Bergh <JW.vandenBergh@bergh-advies.nl>"],
                      "Verlenging licenties", "Beste Jan-Willem,\n\nDe licenties zijn verlengd.\n\nGroet, Daan\n",
                      clock.at(dt.date(2026, 10, 2), 11, 30))
    at("zoho_mail", "messages", mid)
    at("zoho_mail", "message_trace", mid)

    s = dataclasses.replace(p, email=STRANGER_EMAIL, phone=STRANGER_PHONE, city="Groningen",
                            street="Herestraat 12", postcode="9711 LM", company="Van den Bergh Installatietechniek",
                            company_domain="ziggo.nl")
    stranger: list[dict[str, str]] = []
    stranger.append({"system": "zoho_crm", "collection": "leads",
                     "record_key": estate.lead(s, owner, clock.at(dt.date(2026, 8, 19), 15), phone_style=0)})
    visit = clock.at(dt.date(2026, 9, 2), 19)
    stranger.append({"system": "zoho_salesiq", "collection": "visitors",
                     "record_key": estate.visitor(visit, visit, "86.92.4.18", "Groningen",
                                                  name="Jan-Willem van den Bergh", email=STRANGER_EMAIL)})
    stranger.append({"system": "zoho_desk", "collection": "tickets",
                     "record_key": estate.ticket(s, "Offerte aanvragen", clock.at(dt.date(2026, 9, 3), 9),
                                                 clock.at(dt.date(2026, 9, 3), 16), agent,
                                                 phone="06-13572468")})
    return {
        "subject": {
            "name": "Jan-Willem van den Bergh", "email": EMAIL, "phone": "06-12345678", "iban": p.iban,
            "customer_number": number, "city": "Utrecht",
            "spellings": {
                "email": ["jw.vandenbergh@bergh-advies.nl", "JW.vandenBergh@bergh-advies.nl",
                          " JW.vandenBergh@Bergh-Advies.nl ", "jw.vandenbergh@bergh-advies.nl ",
                          "Jw.VandenBergh@bergh-advies.nl"],
                "phone": ["06-12345678", "+31 6 1234 5678", "+31612345678"],
                "name": ["Jan-Willem van den Bergh", "J.W. v.d. Bergh", "Jan-Willem Bergh", "Jan-Willem van den Bërgh"],
            },
        },
        "records": sorted(records, key=lambda r: (r["system"], r["collection"], r["record_key"])),
        "not_records": "the CRM account 'Bergh Advies B.V.' is the company, not the person, and holds none "
                       "of his identifiers",
        "stranger": {
            "name": "Jan-Willem van den Bergh", "email": STRANGER_EMAIL, "phone": "06-13572468", "city": "Groningen",
            "records": sorted(stranger, key=lambda r: (r["system"], r["collection"], r["record_key"])),
        },
    }
