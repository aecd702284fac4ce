"""Staging indexes the words of names folded once; that is only right when folding is idempotent."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from datamap.identity import name_words, normalise_name


@settings(max_examples=300)
@given(st.text())
def test_folding_a_folded_name_changes_nothing(text: str) -> None:
    folded = normalise_name(text)
    assert folded is None or normalise_name(folded) == folded


@settings(max_examples=300)
@given(st.text())
def test_words_of_a_stored_folded_name_are_the_words_of_the_raw_name(text: str) -> None:
    assert name_words(normalise_name(text), folded=True) == name_words(text)


def test_folding_names() -> None:
    assert normalise_name("Émile  de Vries") == "emile de vries"
    assert normalise_name("İlker ÖZ") == "ilker oz"
    assert normalise_name("   ") is None
    assert name_words("Jan-Willem van den Bergh") == ["jan", "willem", "van", "den", "bergh"]


def test_one_set_of_name_particles_serves_matching_and_discovery() -> None:
    from datamap.discovery import is_person_name
    from datamap.subject.match import name_tokens

    assert name_tokens("Maria dos Santos") == ["maria", "santos"]
    assert name_tokens("Jan van 't Hek") == ["jan", "hek"]
    assert is_person_name("Jan van 't Hek")  # the particles are set aside, the rest must read as a name
    assert not is_person_name("Jan van de")  # nothing but particles after the first name is no surname
