"""The audit report: a self-contained HTML file a reader who was not there can follow, with no raw identifiers."""
from __future__ import annotations

import base64
import copy
import io
import re

import pytest
from register_fixture import FINDINGS, images_shown, write_run, write_workspace

from datamap.identity import Pseudonymizer
from datamap.report import (
    accounts_per_system,
    chromium,
    claim_status,
    pdf_converter,
    render_report,
    scrub,
    write_report,
)
from datamap.register.run import load_run
from datamap.workspace import load_workspace

KEY = "report-test-key-not-secret"
PSEUDO = Pseudonymizer(KEY.encode())

# Identifiers that must never reach the report, planted where a careless check might leave them.
RAW = {
    "email": "jan.de.vries@example.nl",
    "iban": "NL91ABNA0417164300",
    "iban_spaced": "NL91 ABNA 0417 1643 00",
    "phone": "+31 6 12345678",
}


@pytest.fixture()
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("DATAMAP_KEY", KEY)
    return load_workspace(write_workspace(tmp_path / "ws"))


def leaky_findings() -> list[dict]:
    """The fixture's findings plus one whose detail and evidence hold raw identifiers."""
    found = copy.deepcopy(FINDINGS)
    found.append({
        "claim": "P03", "rule": "sharing.undeclared_recipient", "check": "P03.outbound_mail", "severity": "high",
        "system": "zoho_mail", "dataset": "zoho_mail", "collection": "messages", "record_key": "CAF=abc123@mail.apora.nl",
        "subject_ref": None,
        "detail": f"export sent to {RAW['email']} with IBAN {RAW['iban_spaced']}; call {RAW['phone']} <b>now</b>",
        "evidence": {"source": "exports/zoho_mail/sent.mbox", "row": 4,
                     "values": {"to": RAW["email"], "iban": RAW["iban"], "phone": RAW["phone"]}},
    })
    return found


def test_scrub_replaces_identifiers_inside_text_with_their_pseudonyms():
    text = f"mail {RAW['email']}, IBAN {RAW['iban_spaced']}, tel {RAW['phone']}, record 4150868000000100007 on 2026-11-24 09:15"
    assert scrub(text, PSEUDO.mask) == (
        f"mail {PSEUDO.ref('jan.de.vries@example.nl')}, IBAN {PSEUDO.ref('NL91ABNA0417164300')}, "
        f"tel {PSEUDO.ref('+31612345678')}, record 4150868000000100007 on 2026-11-24 09:15")


def test_report_holds_no_raw_email_iban_or_phone(tmp_path, workspace):
    run = write_run(tmp_path / "audit", findings=leaky_findings())
    html = write_report(workspace, run, tmp_path / "report.html", pdf=False).read_text(encoding="utf-8")
    for value in list(RAW.values()) + ["privacy@apora.nl", "fg@apora.nl", "+31 30 123 4567"]:
        assert value not in html, value
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", html)
    assert PSEUDO.ref("jan.de.vries@example.nl") in html
    assert "&lt;b&gt;now&lt;/b&gt;" in html  # values from data are escaped


def test_claim_is_broken_held_or_not_checked_from_its_checks():
    assert claim_status([{"status": "passed"}, {"status": "failed"}]) == "broken"
    assert claim_status([{"status": "passed"}, {"status": "passed"}]) == "held"
    assert claim_status([{"status": "passed"}, {"status": "not_run"}]) == "not_checked"
    assert claim_status([]) == "not_checked"


def test_executive_summary_counts_claims_held_broken_and_not_checked(tmp_path, workspace):
    run = load_run(write_run(tmp_path / "audit"), workspace.root)
    html = render_report(workspace, run)
    summary = html[html.index('<section id="summary">'):html.index('<section id="scope">')]
    cards = re.findall(r'<div class="n">(\d+)</div>([^<]+)<', summary)
    # P02 held; P05, P08, P11 broken; P03 has a check that did not run; the other 12 claims have no check in this run
    assert cards == [("1", "held"), ("3", "broken"), ("12", "not checked"), ("6", "Findings")]


def test_every_finding_leads_back_to_its_source_row(tmp_path, workspace):
    run = load_run(write_run(tmp_path / "audit"), workspace.root)
    html = render_report(workspace, run)
    for finding in FINDINGS:
        source, row = finding["evidence"]["source"], finding["evidence"]["row"]
        assert f"<code>{finding['record_key']}</code>" in html
        assert f"<code>{source}</code>, row {row}" in html
    assert "<code>exports/zoho_crm/Leads.csv</code>" in html  # the sources read, with their hashes
    assert "ab" * 8 in html


def test_figures_are_embedded_images_that_decode(tmp_path, workspace):
    from PIL import Image

    run = load_run(write_run(tmp_path / "audit"), workspace.root)
    html = render_report(workspace, run)
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    # the data map, findings per claim, retention ages, accounts against the roster, the trend
    assert len(uris) == 5
    sizes = [Image.open(io.BytesIO(base64.b64decode(u))).size for u in uris]
    assert all(w > 300 and h > 150 for w, h in sizes)
    assert "http://" not in html.replace("http://www.w3.org", "") and "<script" not in html


def test_accounts_per_system_are_counted_against_the_roster_in_the_audit_store(tmp_path, workspace):
    run = write_run(tmp_path / "audit")
    # anna and cees are current employees, bram left on 2026-01-31, sales@ is no one; oud@ is inactive
    assert accounts_per_system(workspace, run / "store.sqlite") == {
        "zoho_crm": {"employee": 2, "departed": 1, "non_employee": 1}}


def test_trend_counts_findings_of_every_archived_run(tmp_path, workspace):
    from datamap.report import finding_trend

    write_run(tmp_path / "audit", "20261001T090000.000000Z", findings=FINDINGS[:2])
    latest = load_run(write_run(tmp_path / "audit", "20261124T090000.000000Z"), workspace.root)
    assert finding_trend(latest) == [
        ("20261001T090000.000000Z", {"critical": 0, "high": 0, "medium": 2, "low": 0}),
        ("20261124T090000.000000Z", {"critical": 1, "high": 1, "medium": 4, "low": 0}),
    ]


def test_annex_holds_the_register_with_contact_details_pseudonymised(tmp_path, workspace):
    run = load_run(write_run(tmp_path / "audit"), workspace.root)
    html = render_report(workspace, run, lang="nl")
    annex = html[html.index('<section id="annex">'):]
    assert "Verwerkingsregister (art. 30 lid 1 AVG)" in annex
    assert f"Stationsplein 1, 3511 ED Utrecht, {PSEUDO.ref('privacy@apora.nl')}, {PSEUDO.ref('+31301234567')}" in annex


needs_chromium = pytest.mark.skipif(pdf_converter() is None, reason="chromium is not installed (bash .ci/system-deps)")


@needs_chromium
@pytest.mark.slow
def test_headless_chromium_displays_the_summary_and_figures(tmp_path, workspace):
    from PIL import Image

    run = write_run(tmp_path / "audit")
    html = write_report(workspace, run, tmp_path / "report.html", pdf=False)
    path, _ = pdf_converter()
    dom = chromium(path, "--dump-dom", html.resolve().as_uri())
    assert dom.returncode == 0, dom.stderr[-500:]
    assert '<section id="summary">' in dom.stdout and "Executive summary" in dom.stdout
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', dom.stdout)) == 5
    assert images_shown(path, html, tmp_path) == (5, 5)  # every figure decoded and laid out by the browser
    shot = tmp_path / "report.png"
    result = chromium(path, f"--screenshot={shot}", "--window-size=1280,1600", "--hide-scrollbars", html.resolve().as_uri())
    assert result.returncode == 0 and shot.is_file(), result.stderr[-500:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 1600)
    # the summary's cards are painted: the 'held' card's green and the 'broken' card's red tint appear
    colours = {c for _, c in image.getcolors(maxcolors=1 << 20)}
    assert (0xE2, 0xF0, 0xD9) in colours and (0xFC, 0xE4, 0xD6) in colours


@needs_chromium
def test_the_image_probe_notices_a_figure_the_browser_cannot_show(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><body><img src="data:image/png;base64,bm90IGEgcG5n"></body></html>')
    assert images_shown(pdf_converter()[0], page, tmp_path) == (1, 0)


@needs_chromium
@pytest.mark.slow
def test_pdf_is_printed_by_chromium_and_the_report_says_so(tmp_path, workspace):
    run = write_run(tmp_path / "audit")
    html = write_report(workspace, run, tmp_path / "report.html", pdf=True)
    pdf = tmp_path / "report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert "PDF made with: Chromium" in html.read_text(encoding="utf-8")
