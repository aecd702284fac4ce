"""Data Docs that open offline and call no one.

Great Expectations' pages load Bootstrap, jQuery, Font Awesome and friends from CDNs: offline the
index is an empty page, online every reader's address goes to third parties (awkward in a GDPR
tool). After GE builds the site, every page is pointed at the copies in ``datamap/datadocs_assets``
(the same files, from npm; see its SOURCES.txt), links out of the site become plain text, and links
to pages GE never built (the suite pages) become plain text too.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any, Callable

from datamap.outputs import write_atomic

ASSETS = Path(__file__).resolve().parent.parent / "datadocs_assets"
VENDOR = "static/vendor"  # inside the site, so the site folder can be copied or zipped whole

# Each CDN address GE's page templates load, and the local copies that replace it (none: the tag
# goes; no page of ours draws a Vega chart).
CDN: dict[str, tuple[str, ...]] = {
    "https://code.jquery.com/jquery-3.7.1.min.js": ("jquery/jquery.min.js",),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": ("popper/umd/popper.min.js",),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": ("bootstrap/js/bootstrap.min.js",),
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": ("bootstrap/css/bootstrap.min.css",),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": ("bootstrap-table/bootstrap-table.min.js",),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": ("bootstrap-table/bootstrap-table.min.css",),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        ("bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.js",),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        ("bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css",),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        ("bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css",),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        ("bootstrap-datepicker/js/bootstrap-datepicker.min.js",),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        ("bootstrap-datepicker/css/bootstrap-datepicker.min.css",),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        ("fontawesome/css/fontawesome.min.css", "fontawesome/css/solid.min.css"),  # the pages use solid icons only
    "https://cdn.jsdelivr.net/npm/vega@5": (),
    "https://cdn.jsdelivr.net/npm/vega-lite@5": (),
    "https://cdn.jsdelivr.net/npm/vega-embed@6": (),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        ("bootstrap-dark/css/bootstrap-prefers-dark.min.css",),
}

_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, protocol-relative //
_LOCAL_OK = re.compile(r"^(?:#|[a-z][a-z0-9+.-]*:)", re.I)  # anchors, data:, mailto:, javascript:
_TAG = re.compile(r"<(script|link|img)\b([^>]*?)\s*/?>(?:\s*</script>)?", re.I | re.S)
_ANCHOR = re.compile(r"<a\b([^>]*)>(.*?)</a>", re.I | re.S)
_ATTR = re.compile(r"""\b(href|src)\s*=\s*(["'])(.*?)\2""", re.I | re.S)
_CSS_URL = re.compile(r"""url\(\s*(["']?)(?:https?:)?//[^)]*?\1\s*\)""", re.I)
_FOOTER = re.compile(r"<footer\b.*?</footer>\s*", re.I | re.S)  # GE's only footer: its newsletter


def make_offline(site: Path) -> list[Path]:
    """Copy the vendored libraries into ``site`` and rewrite every page to use them; return the pages."""
    shutil.copytree(ASSETS, site / VENDOR, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    pages = sorted(site.rglob("*.html"))
    for page in pages:
        text = page.read_text(encoding="utf-8")
        fixed = offline_page(text, _resolver(site, page))
        if fixed != text:
            write_atomic(page, fixed)
    return pages


def offline_page(text: str, local: Callable[[str], str | None]) -> str:
    """One page without remote resources or dead links; ``local`` maps a site path to a page-relative one.

    >>> offline_page('<script src="https://cdn.jsdelivr.net/npm/vega@5"></script><a href="https://x.org">GE</a>',
    ...              lambda url: None)
    '<span>GE</span>'
    """
    text = _FOOTER.sub("", text)
    text = _CSS_URL.sub("none", text)
    text = _TAG.sub(lambda m: _local_tag(m, local), text)
    return _ANCHOR.sub(lambda m: _local_anchor(m.group(1), m.group(2), local), text)


def _local_tag(tag: re.Match[str], local: Callable[[str], str | None]) -> str:
    """A script, stylesheet or image tag pointed at the site's own copy; '' when there is none."""
    name, attrs = tag.group(1).lower(), tag.group(2)
    found = _ATTR.search(attrs)
    url = found.group(3) if found else ""
    if found is None or (_LOCAL_OK.match(url) and not _REMOTE.match(url)):
        return tag.group(0)  # an inline script, a data: image
    if url in CDN:
        return "\n".join(_vendor_tag(name, local(f"{VENDOR}/{path}")) for path in CDN[url])
    if _REMOTE.match(url) and name == "img":  # GE's logo from its bucket: GE ships it in static/images
        return _with_url(name, attrs, found, local("static/images/" + _split(url)[0].rsplit("/", 1)[-1]))
    if _REMOTE.match(url):
        return ""  # an asset with no offline copy: the page renders without it
    return _with_url(name, attrs, found, local(url))


def _with_url(name: str, attrs: str, found: re.Match[str], url: str | None) -> str:
    if url is None:
        return ""
    attrs = attrs[:found.start(3)] + url + attrs[found.end(3):]
    attrs = re.sub(r"""\s(?:integrity|crossorigin)\s*=\s*(["']).*?\1""", "", attrs)  # no SRI on file://
    return f"<{name}{attrs}>" + ("</script>" if name == "script" else "")


def _vendor_tag(name: str, url: str | None) -> str:
    if url is None:  # a vendored file missing from the site: never point at nothing
        return ""
    return f'<script src="{url}"></script>' if name == "script" else f'<link rel="stylesheet" href="{url}">'


def _local_anchor(attrs: str, body: str, local: Callable[[str], str | None]) -> str:
    """A link kept when it leads to a page of the site; otherwise its text, in a span."""
    found = _ATTR.search(attrs)
    remote = found is not None and _REMOTE.match(found.group(3))
    if found is None or (_LOCAL_OK.match(found.group(3)) and not remote):
        return f"<a{attrs}>{body}</a>"
    url = None if remote else local(found.group(3))
    if url is not None:
        return f"<a{attrs[:found.start(3)]}{url}{attrs[found.end(3):]}>{body}</a>"
    return f"<span{attrs[:found.start()].rstrip()}{attrs[found.end():]}>{body}</span>"


def _resolver(site: Path, page: Path) -> Callable[[str], str | None]:
    """Map a link of ``page`` to one that resolves, or None.

    GE's favicon link on a validation page climbs one level too few (great_expectations 1.x,
    favicon.j2: ``dot_count + 3``, the navbar has ``+ 4``): a missing target inside the site is
    looked for from the site's root. A link that leaves the site never counts as resolved.
    """
    root = site.resolve()

    def local(url: str) -> str | None:
        path, rest = _split(url)
        target = (page.parent / path).resolve()
        if path and target.exists() and target.is_relative_to(root):
            return url
        inside = re.sub(r"^(?:\.\.?/)+", "", path)
        if inside and (site / inside).exists():
            return Path(os.path.relpath(site / inside, page.parent)).as_posix() + rest
        return None

    return local


def _split(url: str) -> tuple[str, str]:
    """A link's path and its ``?query#fragment``."""
    cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))
    return url[:cut], url[cut:]


def checks_only(result: Any) -> Any:
    """Make a validation result's statistics count the check's own expectations only.

    Each SQL check is validated with a row count beside it (to say how many rows were examined);
    GE counts it as an expectation, so a failed check showed "Success Percent 50%". A check's own
    expectations carry its rule in their meta; the row count carries none.
    """
    own = [r for r in result.results if (r.expectation_config.meta or {}).get("rule")]
    passed = sum(1 for r in own if r.success)
    result.statistics.update({
        "evaluated_expectations": len(own), "successful_expectations": passed,
        "unsuccessful_expectations": len(own) - passed,
        "success_percent": 100 * passed / len(own) if own else None,
    })
    return result
