"""Texts that Home Assistant's translation files cannot hold, in every language.

Voice sentences and answers, and the to-do, calendar and logbook texts, live in
languages/<code>.yaml. They are read once, off the event loop, when the
integration is set up.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey
from homeassistant.util.yaml import load_yaml_dict

LANGUAGES = ("en", "de", "it", "fr", "nl", "es")
DEFAULT_LANGUAGE = "en"
LANGUAGE_DIR = Path(__file__).parent / "languages"
DATA_LANGUAGES: HassKey[dict[str, dict[str, Any]]] = HassKey(
    "espresso_maintenance_languages"
)
# A spoken date names the weekday within a week and counts the days within four
# weeks; further away it names the day and the month.
WEEKDAY_WITHIN_DAYS = 6
DAYS_COUNTED_WITHIN = 27


def read_languages() -> dict[str, dict[str, Any]]:
    """Read every language file (blocking)."""
    languages: dict[str, dict[str, Any]] = {}
    for language in LANGUAGES:
        languages[language] = dict(load_yaml_dict(LANGUAGE_DIR / f"{language}.yaml"))
    return languages


async def async_load_languages(hass: HomeAssistant) -> None:
    """Read the language files once."""
    if DATA_LANGUAGES not in hass.data:
        hass.data[DATA_LANGUAGES] = await hass.async_add_executor_job(read_languages)


def pick_language(language: str | None) -> str:
    """Return the supported language for a Home Assistant language code."""
    code = (language or DEFAULT_LANGUAGE).replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


class Texts:
    """The texts of one language, with English behind any that are missing."""

    def __init__(self, hass: HomeAssistant, language: str | None = None) -> None:
        """Use the given language, or Home Assistant's."""
        languages = hass.data[DATA_LANGUAGES]
        self.language = pick_language(language or hass.config.language)
        self._own = languages[self.language]
        self._english = languages[DEFAULT_LANGUAGE]

    def _template(self, section: str, key: str, count: int | None) -> str:
        singular = count is not None and count in self.words["singular"]
        keys = [f"{key}_one", key] if singular else [key]
        for table in (self._own[section], self._english[section]):
            for candidate in keys:
                if candidate in table:
                    return str(table[candidate])
        raise KeyError(f"{section}.{key}")

    def speech(self, key: str, **values: Any) -> str:
        """Return an answer of the voice assistant."""
        return self._template("speech", key, None).format(**values)

    def text(self, key: str, **values: Any) -> str:
        """Return a to-do, calendar or logbook text."""
        return self._template("texts", key, None).format(**values)

    def count(self, unit: str, count: int) -> str:
        """Return a number with its unit, singular or plural: "1 shot", "8 shots"."""
        return self._template("units", unit, count).format(count=count)

    def date(self, day: date, today: date) -> str:
        """Say a day as a person would: today, on Monday, in 12 days, on 10 October."""
        dates: dict[str, Any] = self._own["dates"]
        offset = (day - today).days
        if offset in (-1, 0, 1):
            return str(dates[("yesterday", "today", "tomorrow")[offset + 1]])
        if abs(offset) <= WEEKDAY_WITHIN_DAYS:
            return str(dates["weekday"]).format(
                weekday=dates["weekdays"][day.weekday()]
            )
        if abs(offset) <= DAYS_COUNTED_WITHIN:
            key = "in_days" if offset > 0 else "days_ago"
            return str(dates[key]).format(days=abs(offset))
        template = dates["special_days"].get(day.day, dates["date"])
        spoken = str(template).format(day=day.day, month=dates["months"][day.month - 1])
        if day.year != today.year:
            spoken = str(dates["date_year"]).format(date=spoken, year=day.year)
        return spoken

    @property
    def words(self) -> dict[str, Any]:
        """Return the words used to understand names: articles and generic names."""
        words: dict[str, Any] = self._own["words"]
        return words

    def join(self, names: list[str]) -> str:
        """Join names as "A, B and C"."""
        if len(names) < 2:
            return "".join(names)
        return f"{', '.join(names[:-1])} {self.words['and']} {names[-1]}"
