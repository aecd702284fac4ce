"""Evidence packs for the AP: each topic writes its letter, register extract, checks and annexes.

The letters are Dutch that reads as Dutch, name systems and parties as the manifests name them,
and count people where the AP asks how many are affected. A breach pack holds only the breached
system and answers the fields of the AP's data-breach notification form. The same packs in
English (``lang="en"``) hold the same facts, in English only, under English file names.
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import yaml
from test_labels import ENGLISH

from datamap.errors import BadInput
from datamap.inquiry import Question, build_pack, count_persons
from datamap.workbench import inquiry_pack

pytestmark = pytest.mark.xdist_group("audited_demo")  # share the worker that audits the demo once

LETTER = ("brief-aan-de-AP.html", "brief-aan-de-AP.pdf", "brief-aan-de-AP.docx")
# Words of the ENGLISH list that a Dutch letter may hold: the demo's table names (customers, users)
# are names in Zoho Books, quoted as the system calls them.
ALLOWED_ENGLISH = {"customers", "users", "customer", "payments"}
FORM_FIELDS = (  # the AP's meldformulier datalekken, as the breach pack answers it
    "Organisatie", "Contactpersoon (functionaris gegevensbescherming)", "E-mailadres", "Telefoonnummer",
    "Nieuwe melding of vervolgmelding", "Samenvatting van het incident",
    "Aard van het datalek (lezen, kopiëren, veranderen, verwijderen of vernietigen, diefstal)", "Oorzaak",
    "Datum en tijd van ontstaan (of de periode)", "Datum en tijd van ontdekking",
    "Uiterste tijdstip van melding aan de AP (72 uur na ontdekking, art. 33 lid 1)",
    "Soorten persoonsgegevens", "Gevoelige gegevens", "Aantal betrokken personen (bij benadering)", "Aantal records",
    "Betrokkenen", "Gevolgen", "Genomen maatregelen om het lek te dichten en de gevolgen te beperken",
    "Voorgenomen maatregelen", "Technische beschermingsmaatregelen (zoals versleuteling)",
    "Mededeling aan betrokkenen", "Zijn de betrokkenen geïnformeerd, en wanneer", "Hoe, en met welke tekst",
    "Betrokkenen in andere EU-lidstaten, of melding bij een andere toezichthouder",
    "Melding aan de AP (art. 33)", "Mededeling aan betrokkenen (art. 34)",
)


@pytest.fixture(scope="module")
def has_chromium() -> bool:
    from datamap.report import pdf_converter

    return pdf_converter() is not None


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def text_of(path: Path) -> str:
    """What a reader sees in a file: the visible text of HTML, the paragraphs and tables of a DOCX."""
    if path.suffix == ".docx":
        import docx

        doc = docx.Document(str(path))
        cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
        return "\n".join([p.text for p in doc.paragraphs] + cells)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        import html

        text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", text, flags=re.S)))
        text = "\n".join(line.strip() for line in text.splitlines() if line.strip())
    return text


def letter_text(pack) -> str:
    return text_of(pack.folder / "brief-aan-de-AP.html")


def manifest_names(ws: Path) -> dict[str, str]:
    """fides_key -> name of every system, party and organization the manifests name."""
    names = {}
    for path in (ws / "manifests").glob("*.yml"):
        manifest = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for kind in ("system", "organization"):  # a dataset shares its system's key ("Zoho Books export")
            for item in manifest.get(kind) or []:
                if isinstance(item, dict) and item.get("fides_key") and item.get("name"):
                    names[item["fides_key"]] = item["name"]
    return names


def demo_questions(ws) -> tuple[dict[str, Question], dict[str, str]]:
    """One question of each topic about the demo, and the completed erasure request the request pack is about."""
    requests = rows(ws / "governance" / "privacy_requests.csv")
    erased = next(r for r in requests if r["Type"] == "erasure" and r["Completed"])
    return {
        "register": Question("register"),
        "processors": Question("processors"),
        "retention": Question("retention", category="user.device.ip_address"),
        "request": Question("request", request_id=erased["Request ID"]),
        "breach": Question("breach", system="zoho_books", discovered="2026-12-01T09:30"),
    }, erased


@pytest.fixture(scope="module")
def packs(audited_demo, tmp_path_factory):
    ws, audit = audited_demo
    out = tmp_path_factory.mktemp("inquiries")
    questions, erased = demo_questions(ws)
    return {topic: inquiry_pack(ws, q, out, audit) for topic, q in questions.items()}, erased


def test_every_topic_writes_a_letter_to_the_ap_as_html_pdf_and_docx_then_extract_checks_and_provenance(packs, has_chromium):
    built, _ = packs
    for topic, pack in built.items():
        names = [p.name for p in pack.files]
        letter = [n for n in LETTER if has_chromium or not n.endswith(".pdf")]
        assert names[:len(letter) + 2] == [*letter, "register-uittreksel.html", "controles.csv"], topic
        assert names[-1] == "herkomst.json"
        text = letter_text(pack)
        assert "Autoriteit Persoonsgegevens\nPostbus 93374\n2509 AJ  DEN HAAG" in text
        assert ("artikel 33 van de Algemene verordening" if topic == "breach" else "artikel 58, eerste lid, onder a") in text
        provenance = json.loads((pack.folder / "herkomst.json").read_text())
        assert provenance["audit_run"] == pack.run_id and provenance["audit_run_sha256"]["policy"]
        assert set(provenance["files"]) == set(names[:-1])


def test_the_letters_hold_no_english_word(packs):
    built, _ = packs
    for topic, pack in built.items():
        for name in ("brief-aan-de-AP.html", "brief-aan-de-AP.docx"):
            words = set(re.findall(r"[a-z]+", text_of(pack.folder / name).lower()))
            assert sorted(words & ENGLISH - ALLOWED_ENGLISH) == [], (topic, name)


def test_the_letters_name_systems_and_parties_by_their_name_never_their_fides_key(packs, audited_demo):
    built, _ = packs
    names = manifest_names(audited_demo[0])
    assert names["zoho_books"] == "Zoho Books" and names["tevreden_enquetes"] == "Tevreden Enquêtes B.V."
    for topic, pack in built.items():
        text = letter_text(pack) + text_of(pack.folder / "brief-aan-de-AP.docx")
        assert sorted(k for k in names if re.search(rf"(?<![\w.@]){re.escape(k)}(?![\w])", text)) == [], topic


def test_the_letters_set_letterhead_address_block_and_signature_on_lines_of_their_own(packs):
    built, _ = packs
    lines = letter_text(built["processors"]).splitlines()
    assert lines[lines.index("Apora B.V."):][:4] == ["Apora B.V.", "Stationsplein 12", "3511 ED Utrecht", "Nederland"]
    assert lines[-5:] == ["Marieke Jansen", "Functionaris gegevensbescherming", "Apora B.V.", "fg@apora.nl", "+31 30 700 1299"]
    assert re.search(r"^Utrecht, \d{1,2} (januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december) \d{4}$",
                     "\n".join(lines), re.M)


def test_the_processors_pack_names_the_processor_without_an_agreement_and_the_transfer_without_a_basis(packs):
    built, _ = packs
    annex = {r["sleutel"]: r for r in rows(built["processors"].folder / "bijlage-ontvangers.csv")}
    assert annex["tevreden_enquetes"]["verwerkersovereenkomst"] == "ONTBREEKT"
    assert annex["tevreden_enquetes"]["partij"] == "Tevreden Enquêtes B.V."
    assert annex["adpeak"]["buiten_EER"] == "ja" and annex["adpeak"]["doorgiftegrondslag"] == ""
    assert annex["zoho_corporation"]["verwerkersovereenkomst"] == "aanwezig"
    letter = letter_text(built["processors"])
    assert "Zonder verwerkersovereenkomst: Tevreden Enquêtes B.V." in letter
    assert "Doorgifte buiten de EER zonder grondslag: AdPeak Inc." in letter
    assert {c["claim"] for c in rows(built["processors"].folder / "controles.csv")} == {"P03"}


def test_the_retention_pack_says_the_period_in_words_and_lists_the_expired_visitor_records(packs, audited_demo):
    built, _ = packs
    schedule = rows(built["retention"].folder / "bijlage-bewaartermijnen.csv")
    assert [(r["systeem"], r["collectie"], r["termijn"], r["termijn_iso"]) for r in schedule] == [
        ("Zoho SalesIQ", "visitors", "zes maanden na het laatste bezoek", "P6M")]
    assert "Zoho SalesIQ, tabel visitors: zes maanden na het laatste bezoek." in letter_text(built["retention"])
    expired = rows(built["retention"].folder / "bijlage-overschrijdingen.csv")
    planted = json.loads((audited_demo[0] / "expected_findings.json").read_text())
    expected = {p["record_key"] for p in planted if p["rule"] == "retention.expired" and p["system"] == "zoho_salesiq"}
    assert {r["record"] for r in expired} == expected and expected


def test_the_request_pack_concerns_the_named_person_and_shows_what_a_legal_duty_keeps(packs):
    built, erased = packs
    folder = built["request"].folder
    assert erased["Subject Email"].strip().lower() in letter_text(built["request"])  # the inquiry is about this person
    log = rows(folder / "bijlage-verzoeken.csv")
    assert [(r["verzoek"], r["soort"]) for r in log] == [(erased["Request ID"], "verwijdering")]
    assert "bijlage-verwijdering.csv" in [p.name for p in built["request"].files]


def test_packs_other_than_a_request_show_no_raw_personal_data(packs, demo_raw_values):
    built, _ = packs
    for topic, pack in built.items():
        if topic == "request":
            continue
        for path in pack.files:
            if path.suffix in (".csv", ".html", ".json", ".docx"):
                text = text_of(path)
                assert sorted(v for v in demo_raw_values if v in text) == [], (topic, path.name)


# --- the breach pack -----------------------------------------------------------------------------


def test_the_breach_letter_answers_every_field_of_the_ap_notification_form(packs):
    built, _ = packs
    form = {r["veld"]: r["waarde"] for r in rows(built["breach"].folder / "meldformulier-datalek.csv")}
    assert sorted(set(FORM_FIELDS) - set(form)) == []
    letter = letter_text(built["breach"])
    assert [f for f in FORM_FIELDS if f not in letter] == []
    assert form["Samenvatting van het incident"] == form["Oorzaak"] == "[in te vullen]"  # what only the officer knows
    assert form["Melding aan de AP (art. 33)"] == form["Mededeling aan betrokkenen (art. 34)"] == "waarschijnlijk vereist"
    assert form["Gevoelige gegevens"] == "Bankrekeningnummer (IBAN) (financiële gegevens)"
    assert form["Betrokkenen"] == "Klant; Medewerker"
    assert form["Contactpersoon (functionaris gegevensbescherming)"] == "Marieke Jansen"


def test_the_72_hours_run_from_the_discovery_given(packs):
    form = {r["veld"]: r["waarde"] for r in rows(packs[0]["breach"].folder / "meldformulier-datalek.csv")}
    assert form["Datum en tijd van ontdekking"] == "1 december 2026, 09:30 uur (CET)"
    assert form["Uiterste tijdstip van melding aan de AP (72 uur na ontdekking, art. 33 lid 1)"] == "4 december 2026, 09:30 uur (CET)"


def test_the_breach_pack_counts_people_beside_records(packs):
    built, _ = packs
    form = {r["veld"]: r["waarde"] for r in rows(built["breach"].folder / "meldformulier-datalek.csv")}
    assert (form["Aantal betrokken personen (bij benadering)"], form["Aantal records"]) == ("ongeveer 220", "1209")
    per_table = {r["tabel"]: (int(r["records"]), int(r["personen"])) for r in rows(built["breach"].folder / "bijlage-records.csv")}
    # a customer is one person; an invoice or a payment is a customer's, so 1000 of them are some 200 people
    assert per_table == {"customer_payments": (493, 207), "customers": (206, 206), "invoices": (501, 208), "users": (9, 9)}
    assert "1209 records in Zoho Books betreffen ongeveer 220 personen" in letter_text(built["breach"])


def test_the_breach_pack_for_books_holds_only_books(packs, audited_demo):
    built, _ = packs
    pack = built["breach"]
    names = manifest_names(audited_demo[0])
    # Books, the company, and Books' flows: the portal feeds it, the accountants, the tax office and Zoho (its host) receive
    books = {"zoho_books", "apora", "customer_portal", "belastingdienst", "van_dijk_accountants", "zoho_corporation"}
    others = {k: n for k, n in names.items() if k not in books}
    for path in pack.files:
        if path.suffix in (".csv", ".html", ".json", ".docx"):
            text = text_of(path)
            said = [k for k in others if re.search(rf"(?<![\w.@]){re.escape(k)}(?![\w])", text)]
            said += [n for n in others.values() if n in text]
            assert said == [], path.name
    ids = [c["check"] for c in rows(pack.folder / "controles.csv")]
    assert "P01.non_employee_account.zoho_books" in ids


def test_a_breach_enters_the_breach_log_with_the_same_facts_one_row_per_breach(audited_demo, tmp_path):
    ws, audit = audited_demo
    log = audit / "breach-log.csv"
    before = rows(log) if log.is_file() else []
    pack = inquiry_pack(ws, Question("breach", system="zoho_books"), tmp_path, audit)
    after = rows(log)
    assert pack.breach_log == log and len(after) == len(before) + 1
    entry = after[-1]
    assert (entry["systeem"], entry["personen"], entry["records"]) == ("Zoho Books", "ongeveer 220", "1209")
    assert entry["ontdekt"] == entry["uiterste_melding_AP"] == "[in te vullen]"  # no --discovered: the officer fills it in
    assert entry["melding_AP"] == "waarschijnlijk vereist" and entry["auditrun"] == pack.run_id


def test_records_sharing_an_email_customer_number_iban_or_invoice_are_one_person_a_name_or_phone_links_none():
    import sqlite3

    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE identifiers (tbl TEXT, record_key TEXT, kind TEXT, value TEXT)")
    con.executemany("INSERT INTO identifiers VALUES (?, ?, ?, ?)", [
        ("customers", "1", "email", "jan@example.nl"), ("customers", "1", "phone", "+31301234567"),
        ("invoices", "A", "email", "jan@example.nl"), ("invoices", "A", "invoice_number", "INV-1"),
        ("payments", "p", "invoice_number", "INV-1"),  # Jan's payment, through his invoice
        ("customers", "2", "phone", "+31301234567"),   # the same office line: someone else
        ("customers", "3", "name", "jan de vries"), ("customers", "4", "name", "jan de vries"),  # namesakes
    ])
    assert count_persons(con, ["customers", "invoices", "payments"]) == (4, {"customers": 4, "invoices": 1, "payments": 1})


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("question, key", [
    (Question("gossip"), "--topic"),
    (Question("breach"), "--system"),
    (Question("retention"), "--category"),
    (Question("request"), "--email"),
    (Question("breach", system="zoho_books", discovered="gisteren"), "--discovered"),
])
def test_an_incomplete_question_is_bad_input_naming_the_option(question, key, demo_workspace, tmp_path):
    with pytest.raises(BadInput) as err:
        build_pack(demo_workspace, question, tmp_path)
    assert err.value.key == key


def test_a_pack_without_an_audit_run_is_refused_not_written_with_every_check_not_run(demo_workspace, tmp_path):
    from datamap.cli import main

    with pytest.raises(BadInput) as err:
        build_pack(demo_workspace, Question("processors"), tmp_path / "packs")
    assert err.value.key == "--audit" and "needs an audit run" in err.value.message
    for topic in (["processors"], ["breach", "--system", "zoho_books"]):
        assert main(["inquiry", str(demo_workspace), "--topic", *topic, "--out", str(tmp_path / "cli"),
                     "--audit", str(tmp_path / "no-run-here")]) == 2
    assert not list((tmp_path / "cli").glob("*/brief-aan-de-AP.*"))
    assert not (tmp_path / "no-run-here" / "breach-log.csv").exists()


# --- the same packs in English -------------------------------------------------------------------

# Dutch words an English letter must not hold (whole words; proper names are taken out first).
DUTCH = {"de", "het", "een", "van", "en", "niet", "wij", "onze", "ons", "uw", "met", "voor", "bij", "naar", "aan",
         "wordt", "zijn", "geen", "ongeveer", "uur", "tabel", "persoonsgegevens", "betrokkenen", "betrokkene", "verwerking",
         "geachte", "groet", "vriendelijke", "melding", "datalek", "bijlage", "bijlagen", "verzoek", "gegevens",
         "ontbreekt", "geslaagd", "uitgevoerd", "ja", "nee", "bewaartermijn", "functionaris", "gegevensbescherming"}
ENGLISH_FILES = ("letter-to-the-AP.html", "letter-to-the-AP.docx")


def dutch_words(text: str, proper_names: list[str]) -> list[str]:
    """The Dutch words of a text once proper names, addresses, e-mail addresses and file names are taken out."""
    for name in sorted(proper_names, key=len, reverse=True):
        text = text.replace(name, " ")
    text = re.sub(r"\S+@\S+|\S+\.(?:xlsx|csv|html|json)\b", " ", text)  # ropa-en-ap.xlsx: "en" is the language there
    return sorted(set(re.findall(r"[a-zà-ÿ]+", text.lower())) & DUTCH)


@pytest.fixture(scope="module")
def english(audited_demo, tmp_path_factory):
    ws, audit = audited_demo
    out = tmp_path_factory.mktemp("inquiries-en")
    questions, _ = demo_questions(ws)
    return {topic: inquiry_pack(ws, q, out, audit, lang="en") for topic, q in questions.items()}


def test_an_english_pack_names_its_files_in_english(english, has_chromium):
    names = [p.name for p in english["breach"].files]
    letter = [n for n in ("letter-to-the-AP.html", "letter-to-the-AP.pdf", "letter-to-the-AP.docx") if has_chromium or not n.endswith(".pdf")]
    assert names == [*letter, "register-extract.html", "checks.csv", "breach-notification-form.csv", "annex-categories.csv",
                     "annex-records.csv", "annex-onward-flows.csv", "provenance.json"]
    provenance = json.loads((english["breach"].folder / "provenance.json").read_text())
    assert set(provenance["files"]) == set(names[:-1])


def test_the_english_breach_pack_holds_the_same_facts_as_the_dutch_one(packs, english):
    dutch, pack = packs[0]["breach"].folder, english["breach"].folder
    form = {r["field"]: r["value"] for r in rows(pack / "breach-notification-form.csv")}
    assert len(form) == len(rows(dutch / "meldformulier-datalek.csv"))
    assert (form["Number of persons affected (approximately)"], form["Number of records"]) == ("about 220", "1209")
    assert form["Date and time of discovery"] == "1 December 2026, 09:30 (CET)"
    assert form["Deadline for notifying the AP (72 hours after discovery, Art. 33(1))"] == "4 December 2026, 09:30 (CET)"
    assert form["Sensitive data"] == "Bank Account Information (financial data)"
    assert form["Data subjects"] == "Customer; Employee"
    assert form["Notification to the AP (Art. 33)"] == form["Communication to the data subjects (Art. 34)"] == "probably required"
    assert form["Summary of the incident"] == form["Cause"] == "[to be filled in]"
    assert ([r["taxonomy_key"] for r in rows(pack / "annex-categories.csv")]
            == [r["taxonomiesleutel"] for r in rows(dutch / "bijlage-categorieen.csv")])
    assert ([(r["table"], r["records"], r["persons"]) for r in rows(pack / "annex-records.csv")]
            == [(r["tabel"], r["records"], r["personen"]) for r in rows(dutch / "bijlage-records.csv")])
    assert "1209 records in Zoho Books concern about 220 persons" in text_of(pack / "letter-to-the-AP.html")
    assert {r["status"] for r in rows(pack / "checks.csv")} <= {"passed", "failed", "not run"}
    assert {r["status"] for r in rows(dutch / "controles.csv")} <= {"geslaagd", "niet geslaagd", "niet uitgevoerd"}


def test_the_english_letters_and_annexes_hold_no_dutch_word(english, audited_demo):
    from datamap.inquiry import AP_ADDRESS

    names = manifest_names(audited_demo[0])  # the annex of recipients gives each party's key beside its name
    proper = [*names.values(), *names, *AP_ADDRESS, "Stationsplein", "Nederland", "Marieke Jansen"]
    for topic, pack in english.items():
        texts = {name: text_of(pack.folder / name) for name in ENGLISH_FILES}
        texts |= {p.name: text_of(p) for p in pack.files if p.suffix == ".csv" and p.name != "checks.csv"}
        for name, text in texts.items():
            assert dutch_words(text, proper) == [], (topic, name)
        assert "Dear Sir or Madam," in texts["letter-to-the-AP.html"] and "Yours faithfully," in texts["letter-to-the-AP.html"]


def test_the_english_letter_opens_in_word_with_page_numbers_in_english(english):
    import docx

    doc = docx.Document(str(english["breach"].folder / "letter-to-the-AP.docx"))
    assert doc.core_properties.language == "en"
    footer = doc.sections[0].footer.paragraphs[0]._p.xml
    assert "Page" in footer and "NUMPAGES" in footer and "Pagina" not in footer
    assert "Subject: Notification of a personal data breach in Zoho Books (Article 33 GDPR)" in [p.text for p in doc.paragraphs]


def test_one_breach_written_in_two_languages_is_logged_once_and_in_dutch(english, packs, audited_demo):
    packs, _ = packs
    same = [r for r in rows(audited_demo[1] / "breach-log.csv")
            if r["pakket"] in (str(english["breach"].folder), str(packs["breach"].folder))]
    assert len(same) == 1  # the Dutch and the English pack of one breach (same system, discovery, run)
    assert (same[0]["personen"], same[0]["melding_AP"]) == ("ongeveer 220", "waarschijnlijk vereist")
    assert same[0]["uiterste_melding_AP"] == "4 december 2026, 09:30 uur (CET)"


def test_a_language_without_a_catalogue_is_bad_input_naming_the_option(audited_demo, tmp_path):
    with pytest.raises(BadInput) as err:
        build_pack(audited_demo[0], Question("processors"), tmp_path, audited_demo[1], lang="fr")
    assert err.value.key == "--lang"
