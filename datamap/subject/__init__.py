"""Subject requests: find one person in every system, export their data, verify an erasure.

Finding a person is a matter of evidence, so every match says why it matched and how sure it is.
Identifiers are compared after :mod:`datamap.identity` normalised them (the store's
``identifiers`` index holds the normalised values). The confidence model:

==========================================  ==========  =============================================
evidence                                    confidence  why
==========================================  ==========  =============================================
same e-mail, customer number or IBAN        1.00        personal and unique by how the systems use them
e-mail, customer number or IBAN found on a  0.95, 0.90  the person's other e-mail or account, one or two
record matched on one (followed)                        steps away: each step costs 0.05
phone found on such a record, and the       0.85, 0.80  a phone alone could be the office switchboard,
record reached names the person (>= 92)                 so the name must agree as well
same phone number                           0.90        personal, but a household or office line can be shared
same phone, but the record names someone    0.40        a shared line: the name on the record says it is not them
else (name score < 60)
name (score >= 92) and the same city or     0.85        a near-certain name plus where they live or work:
organisation as the person                              the combination identifies, a name alone does not
name alone                                  <= 0.50     namesakes are common (``Jan de Vries``): never reported
==========================================  ==========  =============================================

Following identifiers (:func:`datamap.subject.match._follow`) is bounded: at most
:data:`~datamap.subject.request.MAX_HOPS` steps from the request, never from a record that also
holds someone else's address (a message to or from another person), never through the company's
own addresses, and never through a value that is shared (a record holding it names someone else):
the records behind a shared value stay candidates (0.40 when the record names someone else, else
0.50). See docs/subject-requests.md.

A match is reported as the person at :data:`REPORT_AT` (0.8) or above. Names are folded by
:func:`datamap.identity.normalise_name` (case, diacritics), tussenvoegsels (``van``, ``de``, ``ter``;
:data:`datamap.identity.NAME_PARTICLES`) are set aside, word order is ignored (``Vries, Jan de``)
and an initial matches its name at a small cost (``J. de Vries`` scores 95 against ``Jan de Vries``).
The person's city and organisation come from the request or from the records matched on a unique
identifier.

The subject export (:func:`build_export`) is the one place where raw values appear.

One job per module: :mod:`~datamap.subject.request` (the request, a match, the constants of
matching), :mod:`~datamap.subject.mapview` (what a request needs from the map),
:mod:`~datamap.subject.store` (reading the audit store), :mod:`~datamap.subject.match` (finding the
person), :mod:`~datamap.subject.export` (Art. 15 and 20), :mod:`~datamap.subject.erasure` (Art. 17
and 19), :mod:`~datamap.subject.log` (the request log and its deadlines).
"""
from datamap.subject.erasure import ErasureCheck, Retained, erasure_check, erasure_checks, request_email
from datamap.subject.export import SCHEMA, build_export, records_of, summary, validate_export, write_export
from datamap.subject.log import RequestStatus, request_log, request_status
from datamap.subject.mapview import MapView, read_map
from datamap.subject.match import find, name_score
from datamap.subject.request import REPORT_AT, Match, Subject, match_table
from datamap.subject.store import open_store

__all__ = [
    "REPORT_AT", "SCHEMA", "ErasureCheck", "MapView", "Match", "RequestStatus", "Retained", "Subject",
    "build_export", "erasure_check", "erasure_checks", "find", "match_table", "name_score", "open_store",
    "read_map", "records_of", "request_email", "request_log", "request_status", "summary", "validate_export",
    "write_export",
]
