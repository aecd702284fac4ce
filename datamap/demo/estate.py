"""The demo estate being written: one open writer per export, id counters, and one method per
kind of record.

The base population (:mod:`datamap.demo.population`) and the planted cases
(:mod:`datamap.demo.planted`) both write through these methods, so a planted record has exactly
the shape of a real one and its key is the one the export really holds.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from email.charset import QP, Charset
from email.encoders import encode_base64
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any

from datamap.demo import clock
from datamap.demo.people import Person, format_phone, masked
from datamap.demo.writers import CsvExport, MboxWriter, PortalDb, XlsxExport

_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP  # bodies stay readable ASCII in the mbox, as most mail clients send them
USER_HEADERS = ["User Id", "Full Name", "Email", "Role", "Profile", "Status", "Added Time"]

HEADERS: dict[str, list[str]] = {
    "crm_leads": ["Record Id", "Lead Owner", "Company", "First Name", "Last Name", "Email", "Phone",
                  "Lead Source", "Lead Status", "Street", "City", "Zip Code", "Country", "Email Opt Out",
                  "Created Time", "Modified Time", "Last Activity Time", "Data Processing Basis", "Data Source"],
    "crm_contacts": ["Record Id", "Contact Owner", "Lead Source", "First Name", "Last Name", "Account Name",
                     "Email", "Title", "Phone", "Mobile", "Mailing Street", "Mailing City", "Mailing Zip",
                     "Mailing Country", "Email Opt Out", "Created By", "Modified By", "Created Time",
                     "Modified Time", "Last Activity Time", "Data Processing Basis", "Data Source", "Tag"],
    "crm_accounts": ["Record Id", "Account Owner", "Account Name", "Phone", "Website", "Billing Street",
                     "Billing City", "Billing Code", "Billing Country", "Created Time", "Modified Time"],
    "crm_deals": ["Record Id", "Deal Owner", "Deal Name", "Account Name", "Contact Name", "Stage", "Amount",
                  "Closing Date", "Created Time", "Modified Time"],
    "books_customers": ["Customer ID", "Display Name", "Company Name", "First Name", "Last Name", "EmailID",
                        "Phone", "Mobile Phone", "Billing Address", "Billing City", "Billing Code",
                        "Billing Country", "CF.Customer Number", "Created Time"],
    "books_invoices": ["Invoice Date", "Invoice ID", "Invoice Number", "Invoice Status", "Customer Name",
                       "Contact Person", "Email", "Billing Address", "Billing City", "Billing Code", "Total",
                       "Currency Code"],
    "books_payments": ["Payment Number", "Date", "Invoice Number", "Customer Name", "Amount", "Mode",
                       "Bank Account"],
    # Desk: the standard columns, then Apora's custom fields by their label. Klantnummer and Social
    # Handle are declared in the map; BSN and Geboortedatum are not (discovery must find them).
    "desk_tickets": ["Ticket Id", "Subject", "Status", "Contact Name", "Email", "Phone", "Created Time",
                     "Closed Time", "Ticket Owner", "Department", "Channel", "Klantnummer", "Social Handle",
                     "BSN", "Geboortedatum"],
    "siq_visitors": ["Visitor ID", "Name", "Email", "IP Address", "City", "Country", "First Visit Time",
                     "Last Visit Time", "Number of Visits"],
    # Campaigns: Phone is an extra column the map does not declare.
    "camp_subscribers": ["Subscriber ID", "Contact Email", "First Name", "Last Name", "Status", "Consent Type",
                         "Consent Date", "Unsubscribed Time", "Added Time", "Phone"],
    "camp_sends": ["Send ID", "Campaign Name", "Subscriber ID", "Contact Email", "Sent Time"],
    "mail_trace": ["date_time_utc", "sender_address", "recipient_address", "subject", "message_id", "size",
                   "status"],
}

FILES: dict[str, tuple[str, str]] = {
    "crm_leads": ("exports/zoho_crm/Leads.csv", "zoho"),
    "crm_contacts": ("exports/zoho_crm/Contacts.csv", "zoho"),
    "crm_accounts": ("exports/zoho_crm/Accounts.csv", "zoho"),
    "crm_deals": ("exports/zoho_crm/Deals.csv", "zoho"),
    "books_customers": ("exports/zoho_books/Customers.csv", "zoho"),
    "books_invoices": ("exports/zoho_books/Invoices.csv", "zoho"),
    "books_payments": ("exports/zoho_books/Customer_Payments.csv", "zoho"),
    "desk_tickets": ("exports/zoho_desk/Tickets.csv", "zoho"),
    "siq_visitors": ("exports/zoho_salesiq/Visitors.csv", "excel_nl"),
    "camp_subscribers": ("exports/zoho_campaigns/Subscribers.csv", "zoho"),
    "camp_sends": ("exports/zoho_campaigns/Sends.csv", "zoho"),
    "mail_trace": ("exports/zoho_mail/message_trace.csv", "plain"),
}

USER_FILES = {
    "zoho_crm": "exports/zoho_crm/Users.csv",
    "zoho_books": "exports/zoho_books/Users.csv",
    "zoho_desk": "exports/zoho_desk/Users.xlsx",
    "zoho_salesiq": "exports/zoho_salesiq/Users.csv",
    "zoho_mail": "exports/zoho_mail/Users.csv",
}


@dataclass(frozen=True)
class Planted:
    """One planted violation: the audit must report exactly this (rule, system, record_key)."""

    claim: str
    rule: str
    system: str
    record_key: str
    note: str

    def to_dict(self) -> dict[str, str]:
        return {"claim": self.claim, "rule": self.rule, "system": self.system,
                "record_key": self.record_key, "note": self.note}


@dataclass
class Ids:
    """Sequential ids per kind, so a record's id depends only on the order records are made."""

    counters: dict[str, int] = field(default_factory=dict)

    def next(self, kind: str, start: int = 1) -> int:
        value = self.counters.get(kind, start - 1) + 1
        self.counters[kind] = value
        return value


class Estate:
    """All open outputs of one demo workspace plus the ground truth collected while writing."""

    def __init__(self, root: Path, seed: int):
        self.root = root
        self.seed = seed
        self.ids = Ids()
        self.csv = {name: CsvExport(root / path, HEADERS[name], style) for name, (path, style) in FILES.items()}
        self.sent = MboxWriter(root / "exports/zoho_mail/sent.mbox")
        self.inbox = MboxWriter(root / "exports/zoho_mail/privacy_inbox.mbox")
        self.portal = PortalDb(root / "portal/portal.db")
        self.requests: list[dict[str, str]] = []          # small: the privacy request log
        self.notifications = CsvExport(root / "governance/notice_notifications.csv",
                                       ["version", "customer_number", "sent"], style="plain")
        self.planted: list[Planted] = []

    def rng(self, *labels: object) -> random.Random:
        """A random stream of its own for one subject or one planted case (stable under reordering)."""
        return random.Random(":".join(str(x) for x in (self.seed, *labels)))

    def plant(self, claim: str, rule: str, system: str, record_key: object, note: str) -> None:
        self.planted.append(Planted(claim, rule, system, str(record_key), note))

    def close(self) -> None:
        for export in self.csv.values():
            export.close()
        self.notifications.close()
        self.sent.close()
        self.inbox.close()
        self.portal.close()

    # --- Zoho CRM ------------------------------------------------------------------------------

    def crm_id(self) -> str:
        # 19 digits, as Zoho's: 4150868000000100001, 4150868000000100002, ...
        return f"{4150868 * 10**12 + self.ids.next('crm', 100_001):019d}"

    def lead(self, p: Person, owner: str, last_activity: dt.datetime, *, email: str | None = None,
             first: str | None = None, phone_style: int = 0, opt_out: bool = False,
             basis: str = "Legitimate Interests", source: str = "CRM Webform", status: str = "Contacted") -> str:
        key = self.crm_id()
        created = last_activity - dt.timedelta(days=(p.index * 37) % 200 + 1, hours=3)
        self.csv["crm_leads"].write({
            "Record Id": key, "Lead Owner": owner, "Company": p.company,
            "First Name": p.first if first is None else first, "Last Name": p.last,
            "Email": p.email if email is None else email, "Phone": format_phone(p.phone, phone_style),
            "Lead Source": {"CRM Webform": "Website", "Zoho SalesIQ": "Chat", "Import": "Beurs"}.get(source, "Website"),
            "Lead Status": status, "Street": p.street, "City": p.city, "Zip Code": p.postcode,
            "Country": "Nederland", "Email Opt Out": "true" if opt_out else "false",
            "Created Time": clock.crm(created), "Modified Time": clock.crm(last_activity),
            "Last Activity Time": clock.crm(last_activity), "Data Processing Basis": basis, "Data Source": source,
        })
        return key

    def contact(self, p: Person, owner: str, account: str, created: dt.datetime, last_activity: dt.datetime,
                *, email: str | None = None, last: str | None = None, phone: str | None = None,
                phone_style: int = 0, multiline_street: bool = False, tag: str = "klant") -> str:
        key = self.crm_id()
        street = f"{p.street}\n{p.company}, t.a.v. administratie" if multiline_street else p.street
        self.csv["crm_contacts"].write({
            "Record Id": key, "Contact Owner": owner, "Lead Source": "Website", "First Name": p.first,
            "Last Name": p.last if last is None else last, "Account Name": account,
            "Email": p.email if email is None else email, "Title": p.title,
            "Phone": format_phone(p.company_phone, phone_style),
            "Mobile": format_phone(p.phone if phone is None else phone, phone_style + 1),
            "Mailing Street": street, "Mailing City": p.city, "Mailing Zip": p.postcode,
            "Mailing Country": "Nederland", "Email Opt Out": "false", "Created By": owner, "Modified By": owner,
            "Created Time": clock.crm(created), "Modified Time": clock.crm(last_activity),
            "Last Activity Time": clock.crm(last_activity), "Data Processing Basis": "Contract",
            "Data Source": "CRM Webform", "Tag": tag,
        })
        return key

    def account(self, p: Person, owner: str, created: dt.datetime, modified: dt.datetime) -> str:
        key = self.crm_id()
        self.csv["crm_accounts"].write({
            "Record Id": key, "Account Owner": owner, "Account Name": p.company,
            "Phone": format_phone(p.company_phone, p.index), "Website": f"https://www.{p.company_domain}",
            "Billing Street": p.street, "Billing City": p.city, "Billing Code": p.postcode,
            "Billing Country": "Nederland", "Created Time": clock.crm(created), "Modified Time": clock.crm(modified),
        })
        return key

    def deal(self, owner: str, name: str, account: str, contact: str, stage: str, amount: int,
             closing: dt.date, created: dt.datetime) -> str:
        key = self.crm_id()
        self.csv["crm_deals"].write({
            "Record Id": f"zcrm_{key}", "Deal Owner": owner, "Deal Name": name, "Account Name": account,
            "Contact Name": contact, "Stage": stage, "Amount": f"{amount:.2f}", "Closing Date": clock.iso_date(closing),
            "Created Time": clock.crm(created), "Modified Time": clock.crm(created + dt.timedelta(days=3)),
        })
        return key

    # --- Zoho Books ----------------------------------------------------------------------------

    def books_customer(self, p: Person, customer_number: str, created: dt.date, *, email: str | None = None,
                       display: str | None = None, first: str | None = None, last: str | None = None,
                       phone_style: int = 2, multiline: bool = False) -> str:
        key = f"{460000000000000 + self.ids.next('books_customer', 1001)}"
        address = f"{p.street}\n{p.company}" if multiline else p.street
        self.csv["books_customers"].write({
            "Customer ID": key, "Display Name": p.company if display is None else display,
            "Company Name": p.company, "First Name": p.first if first is None else first,
            "Last Name": p.last if last is None else last, "EmailID": p.email if email is None else email,
            "Phone": format_phone(p.company_phone, 2), "Mobile Phone": format_phone(p.phone, phone_style),
            "Billing Address": address, "Billing City": p.city, "Billing Code": p.postcode,
            "Billing Country": "Netherlands", "CF.Customer Number": customer_number, "Created Time": clock.books(created),
        })
        return key

    def invoice(self, p: Person, date: dt.date, total: float, *, email: str | None = None,
                contact_person: str | None = None, status: str = "Paid") -> str:
        number = f"INV-{self.ids.next('invoice', 101):06d}"
        self.csv["books_invoices"].write({
            "Invoice Date": clock.books(date), "Invoice ID": f"{460000000100000 + self.ids.next('invoice_id')}",
            "Invoice Number": number, "Invoice Status": status, "Customer Name": p.company,
            "Contact Person": p.name if contact_person is None else contact_person,
            "Email": p.email if email is None else email, "Billing Address": p.street, "Billing City": p.city,
            "Billing Code": p.postcode, "Total": f"{total:.2f}", "Currency Code": "EUR",
        })
        return number

    def payment(self, p: Person, date: dt.date, invoice: str, amount: float, *, mask: bool = False,
                mode: str = "Bank Transfer") -> str:
        number = f"{self.ids.next('payment', 1)}"
        self.csv["books_payments"].write({
            "Payment Number": number, "Date": clock.books(date), "Invoice Number": invoice,
            "Customer Name": p.company, "Amount": f"{amount:.2f}", "Mode": mode,
            "Bank Account": masked(p.iban) if mask else p.iban,
        })
        return number

    # --- Zoho Desk -----------------------------------------------------------------------------

    def ticket(self, p: Person, subject: str, created: dt.datetime, closed: dt.datetime | None, owner: str, *,
               email: str | None = None, contact_name: str | None = None, phone: str | None = None,
               channel: str = "Email", customer_number: str = "", social: str = "", bsn: str = "",
               birth_date: dt.date | None = None, department: str = "Klantenservice") -> str:
        key = f"{581000000000000 + self.ids.next('ticket', 120_001)}"
        self.csv["desk_tickets"].write({
            "Ticket Id": key, "Subject": subject, "Status": "Closed" if closed else "Open",
            "Contact Name": p.name if contact_name is None else contact_name,
            "Email": p.email if email is None else email,
            "Phone": format_phone(p.phone, 1) if phone is None else phone,
            "Created Time": clock.desk(created), "Closed Time": clock.desk(closed), "Ticket Owner": owner,
            "Department": department, "Channel": channel, "Klantnummer": customer_number,
            "Social Handle": social, "BSN": bsn, "Geboortedatum": clock.dutch_date(birth_date),
        })
        return key

    # --- Zoho SalesIQ --------------------------------------------------------------------------

    def visitor(self, first_visit: dt.datetime, last_visit: dt.datetime, ip: str, city: str, *,
                name: str = "", email: str = "", country: str = "Netherlands", visits: int = 1) -> str:
        key = f"{53_000_000_000 + self.ids.next('visitor', 1)}"
        self.csv["siq_visitors"].write({
            "Visitor ID": key, "Name": name, "Email": email, "IP Address": ip, "City": city, "Country": country,
            "First Visit Time": clock.salesiq(first_visit), "Last Visit Time": clock.salesiq(last_visit),
            "Number of Visits": visits,
        })
        return key

    # --- Zoho Campaigns ------------------------------------------------------------------------

    def subscriber(self, email: str, first: str, last: str, added: dt.datetime, *, status: str = "Active",
                   consent_type: str = "Double opt-in", consent: dt.datetime | None = None,
                   unsubscribed: dt.datetime | None = None, phone: str = "") -> str:
        key = f"{17_000_000_000 + self.ids.next('subscriber', 1)}"
        self.csv["camp_subscribers"].write({
            "Subscriber ID": key, "Contact Email": email, "First Name": first, "Last Name": last,
            "Status": status, "Consent Type": consent_type, "Consent Date": clock.campaigns(consent),
            "Unsubscribed Time": clock.campaigns(unsubscribed), "Added Time": clock.campaigns(added), "Phone": phone,
        })
        return key

    def send(self, campaign: str, subscriber: str, email: str, when: dt.datetime) -> str:
        key = f"{18_000_000_000 + self.ids.next('send', 1)}"
        self.csv["camp_sends"].write({"Send ID": key, "Campaign Name": campaign, "Subscriber ID": subscriber,
                                      "Contact Email": email, "Sent Time": clock.campaigns(when)})
        return key

    # --- the customer portal -------------------------------------------------------------------

    def portal_account(self, email: str, password_hash: str, created: dt.datetime,
                       closed: dt.datetime | None = None, *, customer_number: str | None = None) -> tuple[int, str]:
        account_id = self.ids.next("account", 1)
        number = customer_number or f"APR-{100_000 + account_id}"
        self.portal.insert("accounts", (account_id, number, email, password_hash, clock.sql(created), clock.sql(closed)))
        return account_id, number

    def trial(self, account_id: int, app: str, started: dt.datetime, ended: dt.datetime | None) -> int:
        return self.portal.insert("trials", (self.ids.next("trial", 1), account_id, app, clock.sql(started),
                                             clock.sql(ended)))

    def cookie(self, visitor_id: str, cookie: str, party: str, set_at: dt.datetime,
               trial_click: dt.datetime | None) -> int:
        return self.portal.insert("cookie_log", (self.ids.next("cookie", 1), visitor_id, cookie, party,
                                                 clock.sql(set_at), clock.sql(trial_click)))

    def notify(self, version: str, customer_number: str, sent: dt.date) -> None:
        self.notifications.write({"version": version, "customer_number": customer_number,
                                  "sent": clock.iso_date(sent)})

    # --- mail ----------------------------------------------------------------------------------

    def message_id(self, when: dt.datetime) -> str:
        n = self.ids.next("message", 1)
        return f"{when.strftime('%Y%m%d%H%M%S')}.{n:07d}@mail.apora.nl"

    def mail(self, box: str, sender: str, to: list[str], subject: str, body: str, when: dt.datetime, *,
             cc: list[str] | None = None, bcc: list[str] | None = None, in_reply_to: str | None = None,
             attachments: list[tuple[str, str, bytes]] | None = None, message_id: str | None = None) -> str:
        """Write one message to ``sent`` or ``privacy_inbox``; a sent one also goes to the trace.

        Bcc recipients never appear in the headers, only in the mail server's trace.
        Returns the Message-ID without angle brackets.
        """
        mid = message_id or self.message_id(when)
        msg: Message = MIMEText(body, "plain", _UTF8_QP)
        if attachments:
            text, msg = msg, MIMEMultipart("mixed", boundary=f"=_apora_{mid.split('@')[0]}")
            msg.attach(text)
            for filename, ctype, data in attachments:
                maintype, subtype = ctype.split("/", 1)
                part = MIMEBase(maintype, subtype)
                part.set_payload(data)
                encode_base64(part)
                part.add_header("Content-Disposition", "attachment", filename=filename)
                msg.attach(part)
        msg["From"] = sender
        msg["To"] = ", ".join(to)
        if cc:
            msg["Cc"] = ", ".join(cc)
        msg["Date"] = format_datetime(clock.aware(when))
        msg["Message-ID"] = f"<{mid}>"
        msg["Subject"] = subject
        if in_reply_to:
            msg["In-Reply-To"] = f"<{in_reply_to}>"
            msg["References"] = f"<{in_reply_to}>"
        if box == "sent":
            self.sent.write(msg, sender, when)
            size = len(msg.as_bytes())
            for rcpt in to + (cc or []) + (bcc or []):
                self.csv["mail_trace"].write({
                    "date_time_utc": clock.trace_utc(when), "sender_address": sender,
                    "recipient_address": parseaddr(rcpt)[1],
                    "subject": subject, "message_id": f"<{mid}>", "size": size, "status": "Delivered"})
        else:
            self.inbox.write(msg, sender, when)
        return mid

    # --- the privacy office --------------------------------------------------------------------

    def request(self, kind: str, email: str, received: dt.date, completed: dt.date | None, *,
                extended: bool = False, details: str = "") -> str:
        key = f"REQ-{self.ids.next('request', 1):04d}"
        self.requests.append({"Request ID": key, "Type": kind, "Subject Email": email,
                              "Received": clock.dutch_date(received), "Completed": clock.dutch_date(completed),
                              "Extended": "yes" if extended else "no", "Details": details})
        return key


def users_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order a user export as Zoho does: by the time the user was added."""
    return sorted(rows, key=lambda r: (r["_added"], r["User Id"]))


def write_users(root: Path, system: str, rows: list[dict[str, Any]]) -> None:
    """Write one system's user export (CSV with BOM, or XLSX for Desk)."""
    path = root / USER_FILES[system]
    export: CsvExport | XlsxExport
    export = XlsxExport(path, USER_HEADERS) if path.suffix == ".xlsx" else CsvExport(path, USER_HEADERS)
    for row in users_rows(rows):
        export.write({k: v for k, v in row.items() if not k.startswith("_")})
    export.close()
