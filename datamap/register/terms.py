"""The translation catalogue: every label of the register and the report, in English and Dutch.

The words live in ``terms.yml`` (the terms the Autoriteit Persoonsgegevens uses), so an auditor
can correct a translation without touching code. Asking for a key or language that is not there
is an error, never an English fallback hidden inside a Dutch register.
"""
from __future__ import annotations

import functools
from pathlib import Path

import yaml

from datamap.errors import BadInput

LANGUAGES = ("en", "nl")
_CATALOGUE = Path(__file__).with_name("terms.yml")


@functools.lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """Load the catalogue once: key -> {language -> text}."""
    data = yaml.safe_load(_CATALOGUE.read_text(encoding="utf-8"))
    return {str(k): {lang: str(text) for lang, text in v.items()} for k, v in data.items()}


def check_language(lang: str) -> str:
    """Return ``lang`` when the catalogue has it, else raise BadInput naming the choices."""
    if lang not in LANGUAGES:
        raise BadInput(None, "--lang", f"unknown language {lang!r}", f"choose one of {', '.join(LANGUAGES)}")
    return lang


def t(key: str, lang: str, **values: object) -> str:
    """Translate ``key`` into ``lang``, filling ``{name}`` placeholders from ``values``."""
    try:
        text = catalogue()[key][lang]
    except KeyError:
        raise KeyError(f"terms.yml has no {lang!r} text for {key!r}") from None
    return text.format(**values) if values else text


def has(key: str) -> bool:
    """Tell whether the catalogue knows ``key`` (for enum values that may be new)."""
    return key in catalogue()


def t_or(key: str, lang: str, fallback: str) -> str:
    """Translate a data-driven key (an enum value from a manifest) or show the value as declared."""
    return t(key, lang) if has(key) else fallback


def words(prefix: str, lang: str) -> dict[str, str]:
    """Every text under ``prefix.`` in ``lang``, by the rest of its key (a letter's wording in one call).

    >>> words("summary", "en")["closing"]
    'Yours faithfully,'
    """
    start = prefix + "."
    return {key[len(start):]: texts[lang] for key, texts in catalogue().items() if key.startswith(start) and lang in texts}
