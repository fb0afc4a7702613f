"""Tests for reading the per-language texts."""

from __future__ import annotations

from datetime import date, timedelta

from homeassistant.core import HomeAssistant
import pytest

from custom_components.espresso_maintenance.language import (
    DATA_LANGUAGES,
    LANGUAGES,
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


# Saturday 28 November 2026, and how each language says days around it.
TODAY = date(2026, 11, 28)
SPOKEN_DATES: dict[str, dict[int, str]] = {
    "en": {
        -1: "yesterday", 0: "today", 1: "tomorrow", -4: "on Tuesday",
        6: "on Friday", -12: "12 days ago", 27: "in 27 days",
        -49: "on 10 October", 40: "on 7 January 2027", -27: "27 days ago",
        -28: "on 31 October", -58: "on 1 October", -51: "on 8 October",
    },
    "de": {
        -1: "gestern", 0: "heute", 1: "morgen", -4: "am Dienstag",
        6: "am Freitag", -12: "vor 12 Tagen", 27: "in 27 Tagen",
        -49: "am 10. Oktober", 40: "am 7. Januar 2027", -27: "vor 27 Tagen",
        -28: "am 31. Oktober", -58: "am 1. Oktober", -51: "am 8. Oktober",
    },
    "it": {
        -1: "ieri", 0: "oggi", 1: "domani", -4: "martedì", 6: "venerdì",
        -12: "12 giorni fa", 27: "tra 27 giorni", -49: "il 10 ottobre",
        40: "il 7 gennaio 2027", -27: "27 giorni fa", -28: "il 31 ottobre",
        -58: "il primo ottobre", -51: "l'8 ottobre",
    },
    "fr": {
        -1: "hier", 0: "aujourd'hui", 1: "demain", -4: "mardi", 6: "vendredi",
        -12: "il y a 12 jours", 27: "dans 27 jours", -49: "le 10 octobre",
        40: "le 7 janvier 2027", -27: "il y a 27 jours", -28: "le 31 octobre",
        -58: "le 1er octobre", -51: "le 8 octobre",
    },
    "nl": {
        -1: "gisteren", 0: "vandaag", 1: "morgen", -4: "op dinsdag",
        6: "op vrijdag", -12: "12 dagen geleden", 27: "over 27 dagen",
        -49: "op 10 oktober", 40: "op 7 januari 2027", -27: "27 dagen geleden",
        -28: "op 31 oktober", -58: "op 1 oktober", -51: "op 8 oktober",
    },
    "es": {
        -1: "ayer", 0: "hoy", 1: "mañana", -4: "el martes", 6: "el viernes",
        -12: "hace 12 días", 27: "dentro de 27 días", -49: "el 10 de octubre",
        40: "el 7 de enero de 2027", -27: "hace 27 días", -28: "el 31 de octubre",
        -58: "el 1 de octubre", -51: "el 8 de octubre",
    },
}  # fmt: skip


@pytest.mark.parametrize("language", LANGUAGES)
async def test_spoken_dates(hass: HomeAssistant, language: str) -> None:
    """Days near today by name, within four weeks by count, further by date."""
    await async_load_languages(hass)
    texts = Texts(hass, language)
    spoken = {
        offset: texts.date(TODAY + timedelta(days=offset), TODAY)
        for offset in SPOKEN_DATES[language]
    }
    assert spoken == SPOKEN_DATES[language]


@pytest.mark.parametrize(
    ("language", "counts"),
    [
        ("en", {0: "0 shots", 1: "1 shot", 2: "2 shots"}),
        ("de", {0: "0 Shots", 1: "1 Shot", 2: "2 Shots"}),
        ("it", {0: "0 caffè", 1: "1 caffè", 2: "2 caffè"}),
        # French says zero in the singular.
        ("fr", {0: "0 expresso", 1: "1 expresso", 2: "2 expressos"}),
        ("nl", {0: "0 shots", 1: "1 shot", 2: "2 shots"}),
        ("es", {0: "0 cafés", 1: "1 café", 2: "2 cafés"}),
    ],
)
async def test_plurals(
    hass: HomeAssistant, language: str, counts: dict[int, str]
) -> None:
    """A number says its word in the singular or the plural, as the language does."""
    await async_load_languages(hass)
    texts = Texts(hass, language)
    assert {count: texts.count("shots", count) for count in counts} == counts
