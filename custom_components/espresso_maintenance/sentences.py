"""The default agent's sentence files: each language's grammar and the machines' names.

Home Assistant's default conversation agent reads extra sentences from
<config>/custom_sentences/<language>/. This module writes espresso_maintenance.yaml
there for every language, with the machines' names as a closed list, and rewrites
it (then reloads the agent) whenever a machine is added, renamed or removed. The
file only changes when its content does, so the agent is only reloaded then.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import re
from typing import Any
import unicodedata

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.util.hass_dict import HassKey
from homeassistant.util.yaml import dump
from unicode_rbnf import RbnfEngine

from .const import DOMAIN, LOGGER
from .language import DATA_LANGUAGES, LANGUAGES

SENTENCES_FILE = f"{DOMAIN}.yaml"
MACHINE_LIST = "espresso_machine"
# The parts of a language file that are hassil sentences for the default agent.
SENTENCE_KEYS = ("language", "intents", "lists", "expansion_rules")
HEADER = "# Written by the Espresso Maintenance integration; changes are overwritten.\n"
# A word of a name: letters and digits, joined by inner apostrophes or hyphens.
# Everything else (hassil's template characters among it) only separates words.
WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
DIGITS_OR_NOT = re.compile(r"\d+|\D+")
# One word of a longer name is enough ("the Lelit") when it is this long and
# belongs to no other machine.
SHORT_NAME_MIN_LETTERS = 4
INITIALISM_MAX_LETTERS = 4
DATA_LOCK: HassKey[asyncio.Lock] = HassKey(f"{DOMAIN}_sentences_lock")


def _without_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _spelled(number: str, language: str) -> str:
    words = RbnfEngine.for_language(language).format_number(int(number)).text
    return words.replace("-", " ")


def word_forms(word: str, language: str) -> list[str]:
    """Return the ways speech-to-text may write one word of a name.

    As written and without accents; with its hyphens and apostrophes as spaces;
    with its digits apart and spelled out ("v6": "v 6", "v six"); an initialism
    letter by letter ("ECM": "e c m").
    """
    forms: list[str] = []

    def add(form: str) -> None:
        form = " ".join(form.split())
        if form and form not in forms:
            forms.append(form)

    lower = word.casefold().replace("’", "'")
    for written in (lower, _without_accents(lower)):
        add(written)
        add(re.sub(r"['-]", " ", written))
        pieces = DIGITS_OR_NOT.findall(re.sub(r"['-]", " ", written))
        if len(pieces) > 1 or any(piece.isdigit() for piece in pieces):
            add(" ".join(pieces))
            add(
                " ".join(
                    _spelled(piece, language) if piece.isdigit() else piece
                    for piece in pieces
                )
            )
    if word.isalpha() and word.isupper() and 1 < len(word) <= INITIALISM_MAX_LETTERS:
        add(" ".join(lower))
    return forms


def spoken_name(words: list[str], language: str) -> str:
    """Return a hassil template matching these words of a name, and nothing else.

    The words hold only letters, digits, apostrophes and hyphens, so the only
    template syntax is the alternatives added here.
    """
    parts = []
    for word in words:
        forms = word_forms(word, language)
        parts.append(forms[0] if len(forms) == 1 else f"({'|'.join(forms)})")
    return " ".join(parts)


def _names(hass: HomeAssistant, entry: ConfigEntry) -> list[str]:
    """Return a machine's names: its own, its entry's title, its device's new name."""
    names = [str(entry.data[CONF_NAME]), entry.title]
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, entry.entry_id)})
    if device is not None and device.name_by_user:
        names.append(device.name_by_user)
    return names


def machine_values(
    names: dict[str, list[str]], language: str, words: dict[str, Any]
) -> list[dict[str, str]]:
    """Return the machine list: each spoken name, and the entry id it means.

    A machine is called by each of its names, or by one word of a longer name
    (not an article or a generic word such as "machine"). A name or word shared
    by two machines calls neither, so a name never means the wrong machine.
    """
    excluded = {
        str(word).casefold() for word in [*words["articles"], *words["generic_names"]]
    }
    claims: dict[tuple[str, ...], set[str]] = {}
    for entry_id, machine_names in names.items():
        for name in machine_names:
            tokens = tuple(word.casefold() for word in WORD.findall(name))
            if tokens:
                claims.setdefault(tokens, set()).add(entry_id)
            if len(tokens) > 1:
                for token in tokens:
                    if (
                        len(token) >= SHORT_NAME_MIN_LETTERS
                        and token.isalpha()
                        and token not in excluded
                    ):
                        claims.setdefault((token,), set()).add(entry_id)
    originals = {
        tuple(word.casefold() for word in WORD.findall(name)): WORD.findall(name)
        for machine_names in names.values()
        for name in machine_names
    }
    return [
        {
            "in": spoken_name(originals.get(tokens, list(tokens)), language),
            "out": next(iter(owners)),
        }
        for tokens, owners in sorted(claims.items())
        if len(owners) == 1
    ]


def sentence_files(hass: HomeAssistant) -> dict[Path, str | None]:
    """Return each language's sentence file, or None where there should be none."""
    names = {
        entry.entry_id: _names(hass, entry)
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.disabled_by is None
    }
    files: dict[Path, str | None] = {}
    for language in LANGUAGES:
        content = hass.data[DATA_LANGUAGES][language]
        path = Path(hass.config.path("custom_sentences", language, SENTENCES_FILE))
        values = machine_values(names, language, content["words"])
        if not values:
            files[path] = None
            continue
        sentences = {key: content[key] for key in SENTENCE_KEYS if key in content}
        sentences["lists"] = {
            **sentences.get("lists", {}),
            MACHINE_LIST: {"values": values},
        }
        files[path] = HEADER + dump(sentences)
    return files


async def async_update_sentences(hass: HomeAssistant) -> None:
    """Write the sentence files for the machines there are now; reload on change."""
    lock = hass.data.setdefault(DATA_LOCK, asyncio.Lock())
    async with lock:
        files = sentence_files(hass)

        def write() -> bool:
            changed = False
            for path, text in files.items():
                if text is None:
                    if path.is_file():
                        path.unlink()
                        changed = True
                    continue
                if path.is_file() and path.read_text(encoding="utf-8") == text:
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                changed = True
            return changed

        try:
            changed = await hass.async_add_executor_job(write)
        except OSError as err:
            LOGGER.warning("Could not write the voice sentences: %s", err)
            return
        if not changed or not hass.services.has_service("conversation", "reload"):
            return
        # The default agent caches its sentences; a reload makes it read ours.
        # A failing reload (for example a configuration.yaml with an error) must
        # not stop the machines from loading: the sentences are then read at
        # the next restart.
        try:
            await hass.services.async_call("conversation", "reload", {}, blocking=True)
        except (HomeAssistantError, OSError) as err:
            LOGGER.warning("Could not reload the conversation agent: %s", err)


@callback
def async_track_machine_names(hass: HomeAssistant) -> None:
    """Rewrite the sentences when a machine is added, renamed or removed."""

    @callback
    def update() -> None:
        if hass.is_stopping:
            return
        hass.async_create_task(async_update_sentences(hass), eager_start=False)

    @callback
    def entry_changed(change: ConfigEntryChange, entry: ConfigEntry) -> None:
        if entry.domain == DOMAIN:
            update()

    @callback
    def device_changed(event: Event[dr.EventDeviceRegistryUpdatedData]) -> None:
        if event.data["action"] == "update" and "name_by_user" in event.data["changes"]:
            update()

    async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, entry_changed)
    hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, device_changed)
