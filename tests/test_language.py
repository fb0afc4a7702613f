"""Tests for reading the per-language texts."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
import pytest

from custom_components.espresso_maintenance.language import (
    DATA_LANGUAGES,
    Texts,
    async_load_languages,
    pick_language,
)


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("en", "en"),
        ("de-CH", "de"),
        ("pt-BR", "en"),
        ("nl_BE", "nl"),
        (None, "en"),
        ("ES", "es"),
    ],
)
def test_pick_language(code: str | None, language: str) -> None:
    """Regional codes use their language; unsupported ones English."""
    assert pick_language(code) == language


async def test_missing_text_falls_back_to_english(hass: HomeAssistant) -> None:
    """A text missing in a language is said in English; an unknown one is an error."""
    await async_load_languages(hass)
    del hass.data[DATA_LANGUAGES]["it"]["speech"]["all_fine"]
    texts = Texts(hass, "it")
    assert (
        texts.speech("all_fine", name="Gaggia")
        == "Gaggia: all maintenance is up to date."
    )
    assert (
        texts.speech("no_machine") == "Non è configurata nessuna macchina per espresso."
    )
    with pytest.raises(KeyError):
        texts.text("nothing_like_this")
    assert texts.join(["Gaggia"]) == "Gaggia"
    assert texts.join(["Gaggia", "Lelit", "Rocket"]) == "Gaggia, Lelit e Rocket"
