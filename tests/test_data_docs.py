"""The audit's Data Docs open offline, call no one, link only to pages that exist, and count honestly.

One audit of the demo (the shared ``audited_demo``); the site is ``<audit>/data_docs``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from datamap.audit.datadocs import offline_page
from datamap.report import chromium, pdf_converter

needs_chromium = pytest.mark.skipif(pdf_converter() is None, reason="chromium is not installed (bash .ci/system-deps)")

# Written here, not imported: the test must not trust the module it tests to spot a remote address.
REMOTE_LOAD = re.compile(r"""(?:\b(?:src|href)\s*=\s*["']?\s*|url\(\s*["']?)(?:https?:)?//""", re.I)
LINK = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']*)["']|'_table_row_link_path':\s*'([^']*)'""", re.I)
BOOTSTRAP_ALERT_GREY = (226, 227, 229)  # .alert-secondary: GE's section headers, only with bootstrap.min.css
BOOTSTRAP_DANGER_RED = (220, 53, 69)  # .text-danger on Font Awesome's fa-times: the failed icon


@pytest.fixture(scope="module")
def site(audited_demo: tuple[Path, Path]) -> Path:
    return audited_demo[1] / "data_docs"


@pytest.fixture(scope="module")
def checks(audited_demo: tuple[Path, Path]) -> list[dict]:
    return json.loads((audited_demo[1] / "checks.json").read_text(encoding="utf-8"))


def pages(site: Path) -> list[Path]:
    found = sorted(site.rglob("*.html"))
    assert site / "index.html" in found and len(found) > 10
    return found


def page_of(site: Path, check: str) -> Path:
    """A check's validation page: GE turns the dots of its suite name into folders."""
    (page,) = (site / "validations" / Path(*check.split("."))).rglob("*.html")
    return page


def failed_sql_check(checks: list[dict]) -> dict:
    """A failed SQL check: the kind validated with a row count beside its own expectation."""
    return next(c for c in checks if c["status"] == "failed" and c["kind"] == "sql")


def test_no_page_loads_anything_from_outside(site: Path) -> None:
    remote = {str(p.relative_to(site)): REMOTE_LOAD.findall(p.read_text(encoding="utf-8")) for p in pages(site)}
    assert {p: r for p, r in remote.items() if r} == {}


def test_no_page_links_to_great_expectations_marketing(site: Path) -> None:
    for page in pages(site):
        text = page.read_text(encoding="utf-8")
        assert "newsletter" not in text and "greatexpectations.io" not in text, page


def test_every_relative_link_resolves_inside_the_site(site: Path) -> None:
    root = site.resolve()
    dead = []
    for page in pages(site):
        for m in LINK.finditer(page.read_text(encoding="utf-8")):
            link = m.group(1) if m.group(1) is not None else m.group(2)
            path = re.split(r"[?#]", link)[0]
            if not path or re.match(r"[a-z][a-z0-9+.-]*:", path, re.I):
                continue  # an anchor, data:, mailto:
            target = (page.parent / path).resolve()
            if not (target.is_file() and target.is_relative_to(root)):
                dead.append(f"{page.relative_to(site)}: {link}")
    assert dead == []


def test_the_vendored_libraries_are_in_the_site(site: Path) -> None:
    vendor = site / "static" / "vendor"
    for name in ("jquery/jquery.min.js", "bootstrap/css/bootstrap.min.css", "bootstrap-table/bootstrap-table.min.js",
                 "fontawesome/webfonts/fa-solid-900.woff2", "SOURCES.txt", "jquery/LICENSE.txt"):
        assert (vendor / name).is_file(), name


def test_a_failed_check_shows_the_success_of_its_own_expectation_only(site: Path, checks: list[dict]) -> None:
    text = page_of(site, failed_sql_check(checks)["check"]).read_text(encoding="utf-8")
    stats = dict(re.findall(r'<div class="show-scrollbars">([A-Za-z ]+)</div></td><td[^>]*>'
                            r'<div class="show-scrollbars">([^<]*)</div>', text))
    assert {k: stats[k] for k in ("Evaluated Expectations", "Successful Expectations", "Unsuccessful Expectations",
                                  "Success Percent")} == {
        "Evaluated Expectations": "1", "Successful Expectations": "0", "Unsuccessful Expectations": "1",
        "Success Percent": "0%"}


def test_a_cdn_tag_becomes_the_local_copy_and_a_dead_link_its_text() -> None:
    page = ('<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>'
            '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script><script>var x = 1;</script>'
            '<a class="s" href="expectations/P01.html">P01</a> <a href="https://greatexpectations.io">GE</a>'
            "<style>a { background: url('https://example.org/x.png') }</style><footer><p>newsletter</p></footer>")
    local = {"static/vendor/bootstrap/css/bootstrap.min.css": "../static/vendor/bootstrap/css/bootstrap.min.css"}.get
    assert offline_page(page, local) == (
        '<link rel="stylesheet" href="../static/vendor/bootstrap/css/bootstrap.min.css"><script>var x = 1;</script>'
        '<span class="s">P01</span> <span>GE</span><style>a { background: none }</style>')


def dump_dom(page: Path) -> str:
    """The page as Chromium built it, scripts run, with every network request failing."""
    result = chromium(pdf_converter()[0], "--virtual-time-budget=10000", "--dump-dom", page.resolve().as_uri())
    assert result.returncode == 0, result.stderr[-500:]
    return result.stdout


def screenshot_colours(page: Path, png: Path) -> dict[tuple[int, int, int], int]:
    from PIL import Image

    chromium(pdf_converter()[0], "--virtual-time-budget=10000", f"--screenshot={png}", "--window-size=1280,1600",
             page.resolve().as_uri())
    with Image.open(png) as image:
        return {colour: n for n, colour in image.convert("RGB").getcolors(1 << 24)}


@needs_chromium
def test_the_index_lists_every_validation_offline(site: Path) -> None:
    dom = dump_dom(site / "index.html")
    validations = len(list((site / "validations").rglob("*.html")))
    assert f"Showing 1 to 10 of {validations} rows" in dom  # jQuery and bootstrap-table ran
    assert dom.count("ge-failed-icon") >= 1 and "Validation Results" in dom


@needs_chromium
def test_a_failed_check_page_renders_offline_with_its_name_and_state(site: Path, checks: list[dict]) -> None:
    check = failed_sql_check(checks)
    dom = dump_dom(page_of(site, check["check"]))
    assert check["name"] in dom and f"({check['rule']})" in dom
    assert "Failed" in dom and "rows examined" in dom


@needs_chromium
@pytest.mark.parametrize("which", ["index", "failed check"])
def test_the_stylesheets_and_icons_take_effect_offline(site: Path, checks: list[dict], which: str,
                                                       tmp_path: Path) -> None:
    page = site / "index.html" if which == "index" else page_of(site, failed_sql_check(checks)["check"])
    colours = screenshot_colours(page, tmp_path / "page.png")
    assert colours.get(BOOTSTRAP_ALERT_GREY, 0) > 10_000  # the grey header boxes of bootstrap.min.css
    assert colours.get(BOOTSTRAP_DANGER_RED, 0) > 10  # a red cross: the icon font and bootstrap's colour
