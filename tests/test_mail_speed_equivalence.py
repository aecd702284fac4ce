"""The fast mbox reader gives the values the stdlib's modern e-mail API gives, on the awkward cases too.

``read_mbox`` parses with its own line splitter and compat32 message model, reading each header as
``email.policy.default`` would; these messages take every path: encoded words, raw 8-bit headers,
HTML and quoted-printable latin-1 parts, RFC 2231 and encoded file names, CRLF, nested parts.
"""
from __future__ import annotations

import base64
import email
import email.policy
import io
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datamap.errors import BadInput
from datamap.sources import resolve
from datamap.sources import mail
from datamap.sources.mail import body_identifiers, read_mbox

ENVELOPE = b"From sender@apora.nl Mon Mar 10 08:15:00 2025\n"

ALTERNATIVE = b"""From: =?utf-8?q?J=C3=B6ns_=C3=85gren?= <Jons.Agren@Example.NL>
To: "Jansen, Jan" <jan@example.nl>, piet@example.nl
Cc: Boekhouder <boek@extern.example>,
 JAN@example.nl, boek@extern.example
Date: Mon, 10 Mar 2025 09:15:00 +0100
Message-ID: <m1@apora.nl>
Subject: =?utf-8?b?""" + base64.b64encode("Überweisung für Jörg".encode()) + b"""?=
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt-1"

--alt-1
Content-Type: text/plain; charset="utf-8"

Mail anna@example.org of bel.
--alt-1
Content-Type: text/html; charset="utf-8"

<p>Bel <b>020</b>1234567</p>
--alt-1--
"""

# A raw latin-1 byte in the Subject, an unquoted boundary, quoted-printable latin-1 text, an RFC 2231
# file name and one given as an encoded word in the Content-Type's name; the date is "-0000" (UTC).
MIXED = b"""From: sanne@apora.nl
To: klant@example.nl
Date: Tue, 11 Mar 2025 12:00:00 -0000
Message-ID: m2@apora.nl
Subject: Caf\xe9 =?iso-8859-1?q?cr=E8me?=
Content-Type: multipart/mixed; boundary=mix2

--mix2
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9: IBAN NL91 ABNA 0417 1643 00, mail Piet@Jansen.Example
--mix2
Content-Type: application/pdf
Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--mix2
Content-Type: text/csv; name="=?utf-8?q?prijzen_=E2=82=AC.csv?="
Content-Disposition: attachment

a,b
--mix2--
"""

CRLF_BASE64 = (b"From: privacy@apora.nl\r\nTo: Klant <klant@example.nl>\r\nDate: Wed, 12 Mar 2025 10:00:00 +0000\r\n"
               b"Message-ID: <m3@apora.nl>\r\nIn-Reply-To: <m1@apora.nl> <m0@apora.nl>\r\nSubject: RE: gegevens\r\n"
               b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               + base64.encodebytes("Uw nummer +31 20 123 4567 is verwijderd.\n".encode()).replace(b"\n", b"\r\n"))

NESTED = b"""From: Sanne <sanne@apora.nl>
To: klant@example.nl
Date: Thu, 13 Mar 2025 10:00:00 +0100
Message-ID: <m4@apora.nl>
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset="utf-8"

Schrijf naar dpo@example.nl.
--inner--
--outer
Content-Type: application/pdf
Content-Disposition: attachment; filename="offerte-12.pdf"

JVBERi0xLjQK
--outer--
"""


def read(workspace: Path, *messages: bytes, name: str = "box.mbox") -> list[dict]:
    folder = workspace / "exports" / "zoho_mail"
    for old in folder.glob("*.mbox"):
        old.unlink()
    (folder / name).write_bytes(b"".join(ENVELOPE + m + b"\n" for m in messages))
    frame = pd.concat(list(read_mbox(resolve(workspace, "zoho_mail", "messages"), 10_000)), ignore_index=True)
    return [{k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in r.items()}
            for r in frame.to_dict("records")]


def test_encoded_words_html_latin1_attachments_crlf_and_nested_parts_read_as_the_modern_api_reads_them(
        sources_workspace):
    first, second, third, fourth = read(sources_workspace, ALTERNATIVE, MIXED, CRLF_BASE64, NESTED)
    assert (first["from_addr"], first["to_addrs"]) == ("jons.agren@example.nl", "jan@example.nl,piet@example.nl")
    assert first["cc_addrs"] == "boek@extern.example,jan@example.nl"  # folded, each once
    assert (first["subject"], first["date"], first["message_id"]) == ("Überweisung für Jörg", "2025-03-10 09:15:00",
                                                                      "m1@apora.nl")
    assert (first["body_emails"], first["body_phones"]) == ("anna@example.org", "+31201234567")  # tags are gaps
    assert first["attachment_names"] is None and first["body_ibans"] is None

    assert second["subject"] == "Caf\ufffd crème"  # the raw byte is undecodable; the encoded word is decoded
    assert (second["message_id"], second["date"]) == ("m2@apora.nl", "2025-03-11 13:00:00")  # -0000 read as UTC
    assert second["attachment_names"] == "résumé.pdf,prijzen €.csv"
    assert second["attachment_types"] == "application/pdf,text/csv"
    assert (second["body_emails"], second["body_ibans"]) == ("piet@jansen.example", "NL91ABNA0417164300")

    assert (third["to_addrs"], third["in_reply_to"], third["subject"]) == ("klant@example.nl", "m1@apora.nl",
                                                                           "RE: gegevens")
    assert (third["date"], third["body_phones"]) == ("2025-03-12 11:00:00", "+31201234567")

    assert (fourth["from_addr"], fourth["body_emails"]) == ("sanne@apora.nl", "dpo@example.nl")
    assert (fourth["attachment_names"], fourth["attachment_types"]) == ("offerte-12.pdf", "application/pdf")
    assert [r["_row"] for r in (first, second, third, fourth)] == [1, 2, 3, 4]


@pytest.mark.parametrize("date_line, message", [
    (b"", "header Date: date None is not an RFC 2822 date"),
    (b"Date: yesterday\n", "header Date: date 'yesterday' is not an RFC 2822 date"),
    (b"Date: Fri, 29 Aug 2025 25:61:00 +0200\n",
     "header Date: date 'Fri, 29 Aug 2025 25:61:00 +0200' is not an RFC 2822 date"),
])
def test_a_missing_or_unreadable_date_is_bad_input_naming_the_message(sources_workspace, date_line, message):
    good = b"From: a@apora.nl\nDate: Mon, 10 Mar 2025 09:15:00 +0100\n\nok\n"
    with pytest.raises(BadInput) as caught:
        read(sources_workspace, good, b"From: a@apora.nl\n" + date_line + b"Subject: x\n\nbody\n")
    assert str(caught.value) == f"exports/zoho_mail/box.mbox: message 2, {message}"


def test_a_from_without_an_address_is_bad_input_that_does_not_show_the_value(sources_workspace):
    with pytest.raises(BadInput) as caught:
        read(sources_workspace, b"From: =?utf-8?q?Jan_Jansen?=\nDate: Mon, 10 Mar 2025 09:15:00 +0100\n\nx\n")
    assert str(caught.value) == "exports/zoho_mail/box.mbox: message 1, header From: holds no readable e-mail address"


def test_a_file_that_is_not_an_mbox_is_refused(sources_workspace):
    folder = sources_workspace / "exports" / "zoho_mail"
    for old in folder.glob("*.mbox"):
        old.unlink()
    (folder / "export.mbox").write_text("Message-ID,From\n1,a@b.nl\n")
    with pytest.raises(BadInput, match="not an mbox file"):
        list(read_mbox(resolve(sources_workspace, "zoho_mail", "messages"), 10))


def test_body_scan_skips_only_what_cannot_match():
    assert body_identifiers("Dag 1, geen nummer of adres") == {"email": [], "iban": [], "phone": []}
    assert body_identifiers("bel 0612345678")["phone"] == ["+31612345678"]
    assert body_identifiers("bel ٠٦١٢٣٤٥٦٧٨")["phone"] == ["+31612345678"]  # Arabic-Indic digits are digits
    long = "x" * 5000 + " mail Jan@Example.nl, bel 020-1234567, NL91ABNA0417164300"  # not cached
    assert body_identifiers(long) == {"email": ["jan@example.nl"], "iban": ["NL91ABNA0417164300"],
                                      "phone": ["+31201234567"]}
    again = body_identifiers("bel 0612345678")  # a short body is memoised: the cached answer is the same one
    assert again["phone"] == ["+31612345678"] and again["email"] == [] and again["iban"] == []


HEADER_TEXT = st.lists(st.sampled_from(list("aZ09 -._;=\"?/<>@,()\\*'%\té") + ["=?", "\n "]), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(["content-type", "content-disposition", "content-transfer-encoding", "subject",
                             "message-id", "in-reply-to"]),
       value=st.one_of(HEADER_TEXT,
                       st.builds(lambda a, b, p: f"{a}/{b}{p}", st.sampled_from(["text", "multipart", "x"]),
                                 st.sampled_from(["plain", "mixed", "a.b"]),
                                 st.lists(st.tuples(st.sampled_from(["charset", "name", "n*", "x%", "n'"]),
                                                    st.one_of(st.text("aZ09 -._/?=%'", max_size=8), HEADER_TEXT)),
                                          max_size=3).map(lambda ps: "".join(f'; {k}="{v}"' for k, v in ps)))))
def test_a_header_reads_as_the_text_of_policy_default_header(name, value):
    def outcome(read):  # the stdlib's header parser fails on some values (IndexError for "<"); so must we
        try:
            return read()
        except Exception as error:
            return type(error)
    expected = outcome(lambda: str(email.policy.default.header_factory(name, value.replace("\n", ""))))
    assert outcome(lambda: mail._header_text(name, value)) == expected


LINES = st.sampled_from(["Content-Type: text/plain", "Content-Type: multipart/mixed; boundary=b", "X: 1", " cont",
                         "", "--b", "--b--", "--b  ", "--bb", "body 06-12345678", "From x", ":bad", "no colon",
                         "Content-Type: message/rfc822", "Content-Disposition: attachment; filename=a.pdf"])


@settings(max_examples=300, deadline=None)
@given(head=st.lists(LINES, max_size=4), rest=st.lists(LINES, max_size=14), crlf=st.booleans())
def test_the_line_splitter_builds_the_message_the_stdlib_parser_builds(head, rest, crlf):
    text = "\n".join(["Content-Type: multipart/mixed; boundary=b", *head, "", *rest]) + "\n"
    data = text.replace("\n", "\r\n" if crlf else "\n").encode()

    def shape(message: email.message.Message) -> list:
        return [(p.get_unixfrom(), list(p.raw_items()), p.get_default_type(),
                 None if p.is_multipart() else p.get_payload()) for p in message.walk()]
    assert shape(mail._parse(data)) == shape(email.message_from_binary_file(io.BytesIO(data), policy=mail._POLICY))
