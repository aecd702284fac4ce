"""The words a reader sees for the map's vocabulary and its retention periods, in their language.

A Dutch register, or a Dutch letter to the AP or to a data subject, must read as Dutch: "Wachtwoord",
not "Password"; "twee jaar na de laatste activiteit", not "P2Y". The Dutch labels of every data
category, data use and data subject live in ``labels/nl.yml`` (data an auditor can correct);
the English ones are fideslang's own ``name`` fields and those of our taxonomy extensions.

A key the catalogue lacks (a workspace's own taxonomy extension) raises :class:`BadInput` in any
language but English, instead of falling back to English: these documents go to the regulator and
to data subjects, and a Dutch document with an English term slipped in looks finished when it is
not. The error names the key and the file to add it to (the rule of the register's ``terms.yml``).
In English such a key is said by its last segment, humanised: there it reads as intended.

>>> label("user.contact.email", "nl")
'E-mailadres'
>>> label("essential.service.security", "en")
'Essential for Security'
>>> period("P2Y", "nl", "de laatste activiteit")
'twee jaar na de laatste activiteit'
>>> period("P1Y6M", "en")
'one year and six months'
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

from datamap.errors import BadInput
from datamap.taxonomy import KINDS, LABEL, Kind, default_taxonomy

LABELS_DIR = Path(__file__).parent
_PERIOD = re.compile(r"^P(?!$)(?:(?P<year>\d+)Y)?(?:(?P<month>\d+)M)?(?:(?P<week>\d+)W)?(?:(?P<day>\d+)D)?$")


def languages() -> tuple[str, ...]:
    """The languages with a catalogue file (``en`` holds only the words of a period)."""
    return tuple(sorted(p.stem for p in LABELS_DIR.glob("*.yml")))


@functools.lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, Any]:
    """Load ``labels/<lang>.yml`` once; an unknown language is bad input naming the choices."""
    if lang not in languages():
        raise BadInput(None, "--lang", f"unknown language {lang!r}", f"choose one of {', '.join(languages())}")
    return yaml.safe_load((LABELS_DIR / f"{lang}.yml").read_text(encoding="utf-8")) or {}


def kind_of(key: str) -> Kind | None:
    """The kind of a taxonomy key (keys are unique across kinds), or None for a key we do not know."""
    tax = default_taxonomy()
    return next((kind for kind in KINDS if tax.has(kind, key)), None)


def label(key: str, lang: str, kind: Kind | None = None) -> str:
    """Say a data category, data use or data subject key in ``lang``."""
    words = catalogue(lang)
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    kind = kind or kind_of(key)
    if lang == "en":
        return _english(key, kind)
    translated = words.get(kind or "", {}).get(key)
    if translated:
        return translated
    raise BadInput(f"datamap/labels/{lang}.yml", f"{LABEL[kind]} {key}" if kind else key, f"no {lang!r} label",
                   "add one to the catalogue, or write this document in English (--lang en)")


def _english(key: str, kind: Kind | None) -> str:
    tax = default_taxonomy()
    if kind is not None and tax.has(kind, key):
        return tax.name(kind, key)
    return key.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def period(iso: str, lang: str, anchor: str | None = None) -> str:
    """Say an ISO 8601 period (``P2Y``, ``P1Y6M``, ``P2W``, ``P30D``) in words, after ``anchor`` if given.

    ``anchor`` is already in ``lang`` ("de laatste activiteit"): naming a date column is the caller's job.
    """
    match = _PERIOD.match(str(iso).strip())
    if not match:
        raise BadInput(None, str(iso), "not an ISO 8601 period", "write it like P2Y, P6M, P2W or P30D")
    words = catalogue(lang)["period"]
    parts = [(unit, int(n)) for unit, n in match.groupdict().items() if n is not None]
    said = [_amount(n, unit, words) for unit, n in ([p for p in parts if p[1]] or parts[-1:])]
    text = said[0] if len(said) == 1 else f"{', '.join(said[:-1])} {words['and']} {said[-1]}"
    return words["after"].format(period=text, anchor=anchor) if anchor else text


def _amount(n: int, unit: str, words: dict[str, Any]) -> str:
    singular, plural = words["units"][unit]
    return f"{words['numbers'].get(n, n)} {singular if n == 1 else plural}"
