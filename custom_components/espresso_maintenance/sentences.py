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
from homeassistant.const import CONF_NAME, EVENT_HOMEASSISTANT_STOP
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
# What people say before the sentence itself ("um", "oops, that was wrong"): each
# language's rule of that name may open every sentence.
ASIDE = "[<espresso_aside>] "
# A word of a name: letters and digits, joined by inner apostrophes or hyphens.
# Everything else (hassil's template characters among it) only separates words.
WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")
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

    As written and without accents; without its apostrophes and with its hyphens
    as spaces;
    with its digits apart and spelled out ("v6": "v 6", "v six"); an initialism
    letter by letter ("ECM": "e c m").
    """
    forms: list[str] = []

    def add(form: str) -> None:
        form = " ".join(form.split())
        if form and form not in forms:
            forms.append(form)

    lower = word.casefold().replace("\u2019", "'")
    for written in (lower, _without_accents(lower)):
        add(written)
        apart = written.replace("'", "").replace("-", " ")
        add(apart)
        pieces = DIGITS_OR_NOT.findall(apart)
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
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    return [
        str(entry.data[CONF_NAME]),
        entry.title,
        *(device.name_by_user for device in devices if device.name_by_user),
    ]


def machine_values(
    names: dict[str, list[str]], language: str, words: dict[str, Any]
) -> list[dict[str, str]]:
    """Return the machine list: each spoken name, and the entry id it means.

    A machine is called by each of its names, or by one word of a longer name
    (not an article or a generic word such as "machine") that is no other
    machine's name. A name or word shared by two machines calls neither, so a
    name never means the wrong machine.
    """
    excluded = {
        str(word).casefold() for word in [*words["articles"], *words["generic_names"]]
    }
    full: dict[tuple[str, ...], set[str]] = {}
    short: dict[tuple[str, ...], set[str]] = {}
    written: dict[tuple[str, ...], list[str]] = {}
    for entry_id, machine_names in names.items():
        for name in machine_names:
            name_words = WORD.findall(name)
            tokens = tuple(word.casefold() for word in name_words)
            if not tokens:
                continue
            full.setdefault(tokens, set()).add(entry_id)
            written.setdefault(tokens, name_words)
            if len(tokens) == 1:
                continue
            for word, token in zip(name_words, tokens, strict=True):
                if (
                    len(token) >= SHORT_NAME_MIN_LETTERS
                    and token.isalpha()
                    and token not in excluded
                ):
                    short.setdefault((token,), set()).add(entry_id)
                    written.setdefault((token,), [word])
    callable_by = {
        **{tokens: owners for tokens, owners in short.items() if tokens not in full},
        **full,
    }
    return [
        {"in": spoken_name(written[tokens], language), "out": next(iter(owners))}
        for tokens, owners in sorted(callable_by.items())
        if len(owners) == 1
    ]


def _machine_names(hass: HomeAssistant) -> dict[str, list[str]]:
    """Return every enabled machine's names, by config entry id.

    An ignored discovery is an entry too, but of no machine.
    """
    return {
        entry.entry_id: _names(hass, entry)
        for entry in hass.config_entries.async_entries(
            DOMAIN, include_ignore=False, include_disabled=False
        )
    }


def _sentences(content: dict[str, Any], values: list[dict[str, str]]) -> str:
    """Return a language's sentence file: its grammar and the machine list."""
    sentences = {key: content[key] for key in SENTENCE_KEYS}
    sentences["intents"] = {
        name: {
            "data": [
                {**data, "sentences": [ASIDE + text for text in data["sentences"]]}
                for data in intent["data"]
            ]
        }
        for name, intent in content["intents"].items()
    }
    sentences["lists"] = {**sentences["lists"], MACHINE_LIST: {"values": values}}
    return HEADER + dump(sentences)


def _write_files(hass: HomeAssistant, names: dict[str, list[str]]) -> list[str]:
    """Write or remove the files that differ; return their languages (blocking).

    Spelling numbers out reads the number rules from disk, so the files are
    worked out here too, off the event loop.
    """
    changed = []
    for language in LANGUAGES:
        content = hass.data[DATA_LANGUAGES][language]
        path = Path(hass.config.path("custom_sentences", language, SENTENCES_FILE))
        values = machine_values(names, language, content["words"])
        text = _sentences(content, values) if values else None
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        changed.append(language)
    return changed


async def _async_reload_agent(hass: HomeAssistant, languages: list[str]) -> None:
    """Make the default agent read the sentences again.

    A reload of every language also rereads configuration.yaml on newer Home
    Assistant versions, and fails while that file has an error; the languages
    that changed are then reloaded one by one. If that fails too, the machines
    still load, and the sentences are read at the next restart.
    """
    if not hass.services.has_service("conversation", "reload"):
        return

    async def reload(data: dict[str, str]) -> None:
        await hass.services.async_call("conversation", "reload", data, blocking=True)

    try:
        await reload({})
    except (HomeAssistantError, OSError) as err:
        LOGGER.debug(
            "Reloading every language failed (%s); reloading %s", err, languages
        )
    else:
        return
    try:
        for language in languages:
            await reload({"language": language})
    except (HomeAssistantError, OSError) as err:
        LOGGER.warning("Could not reload the conversation agent: %s", err)


async def async_update_sentences(hass: HomeAssistant) -> None:
    """Write the sentence files for the machines there are now; reload on change."""
    lock = hass.data.setdefault(DATA_LOCK, asyncio.Lock())
    async with lock:
        try:
            changed = await hass.async_add_executor_job(
                _write_files, hass, _machine_names(hass)
            )
        except OSError as err:
            LOGGER.warning("Could not write the voice sentences: %s", err)
            return
        if changed:
            await _async_reload_agent(hass, changed)


@callback
def async_track_machine_names(hass: HomeAssistant) -> None:
    """Rewrite the sentences when a machine is added, renamed or removed."""
    pending: set[asyncio.Task[None]] = set()

    @callback
    def update() -> None:
        if hass.is_stopping:
            return
        task = hass.async_create_task(async_update_sentences(hass), eager_start=False)
        pending.add(task)
        task.add_done_callback(pending.discard)

    @callback
    def stop(_event: Event) -> None:
        # Nothing to keep Home Assistant waiting for: the files are rewritten
        # at the next start.
        for task in pending:
            task.cancel()

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
    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, stop)
