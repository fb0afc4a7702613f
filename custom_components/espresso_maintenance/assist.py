"""Assist intents: ask about shots, descaling and what is due; record maintenance.

Home Assistant's default conversation agent reads extra sentences from
<config>/custom_sentences/<language>/. This integration writes its own file there
(espresso_maintenance.yaml, one per supported language) when it is set up and
removes it with the last machine. The intents are also registered with
descriptions and slot schemas, so LLM conversation agents can call them through
the Assist API.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import re

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv, intent
from homeassistant.util.yaml import dump
import voluptuous as vol

from .const import DOMAIN, LOGGER
from .language import DATA_LANGUAGES, Texts
from .machine import Machine
from .model import DueStatus, Kind

INTENT_SHOTS = "EspressoShotsSinceBackflush"
INTENT_DESCALE = "EspressoDescaleStatus"
INTENT_DUE = "EspressoMaintenanceDue"
INTENT_RECORD_BACKFLUSH = "EspressoRecordBackflush"
INTENT_RECORD_DESCALE = "EspressoRecordDescale"

SLOT_MACHINE = "machine"
SENTENCES_FILE = f"{DOMAIN}.yaml"
# The parts of a language file that are hassil sentences for the default agent.
SENTENCE_KEYS = ("language", "intents", "lists", "expansion_rules")


def _normalize(text: str, articles: list[str]) -> str:
    words = re.sub(r"[^\w\s-]", " ", text.casefold()).split()
    while words and words[0] in articles:
        words = words[1:]
    return " ".join(words)


def loaded_machines(hass: HomeAssistant) -> list[Machine]:
    """Return the machines that are set up."""
    return [
        entry.runtime_data
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
    ]


@dataclass(frozen=True)
class _Target:
    """The machines a sentence is about, or what to say instead."""

    machines: list[Machine]
    named: bool
    speech: str | None = None


def resolve_machines(hass: HomeAssistant, texts: Texts, name: str | None) -> _Target:
    """Find the machines a spoken name means; no name (or "the espresso machine") means all."""
    machines = loaded_machines(hass)
    if not machines:
        return _Target([], named=False, speech=texts.speech("no_machine"))
    words = texts.words
    wanted = _normalize(name or "", words["articles"])
    if not wanted or wanted in words["generic_names"]:
        return _Target(machines, named=False)
    exact = [m for m in machines if _normalize(m.name, words["articles"]) == wanted]
    partial = [m for m in machines if wanted in _normalize(m.name, words["articles"])]
    if found := exact or partial:
        return _Target(found, named=True)
    return _Target([], named=True, speech=texts.speech("unknown_machine", machine=name))


class _MachineIntentHandler(intent.IntentHandler):
    """Answers about one machine, a named one, or each machine."""

    slot_schema = {vol.Optional(SLOT_MACHINE): cv.string}  # noqa: RUF012 - as IntentHandler declares it
    # Several machines and no name: answer for each (questions) or ask which (records).
    ask_which_when_several = False

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        """Resolve the machine and answer in the sentence's language."""
        slots = self.async_validate_slots(intent_obj.slots)
        name = slots.get(SLOT_MACHINE, {}).get("value")
        texts = Texts(intent_obj.hass, intent_obj.language)
        target = resolve_machines(intent_obj.hass, texts, name)
        response = intent_obj.create_response()
        if target.speech is not None:
            response.async_set_speech(target.speech)
            return response
        machines = target.machines
        if self.ask_which_when_several and len(machines) > 1 and not target.named:
            response.async_set_speech(
                texts.speech(
                    "which_machine", names=texts.join([m.name for m in machines])
                )
            )
            return response
        answers = [await self.async_answer(machine, texts) for machine in machines]
        response.async_set_speech(" ".join(answers))
        response.async_set_speech_slots(
            {"machines": [machine.status_as_dict() for machine in machines]}
        )
        return response

    async def async_answer(self, machine: Machine, texts: Texts) -> str:
        """Return the answer for one machine."""
        raise NotImplementedError


class ShotsSinceBackflushIntent(_MachineIntentHandler):
    """How many shots since the last backflush."""

    intent_type = INTENT_SHOTS
    description = (
        "Tells how many espresso shots were pulled since the espresso machine was "
        "last backflushed, and after how many a backflush is due."
    )

    async def async_answer(self, machine: Machine, texts: Texts) -> str:
        """Count the shots since the last backflush."""
        status = machine.status
        if status.backflush is None:
            return texts.speech("no_backflush", name=machine.name)
        shots = status.shots_since_backflush
        limit = machine.settings.backflush_interval_shots
        if status.backflush is DueStatus.DUE:
            return texts.speech(
                "shots_since_backflush_due", name=machine.name, shots=shots
            )
        return texts.speech(
            "shots_since_backflush",
            count=shots,
            name=machine.name,
            shots=shots,
            limit=limit,
        )


class DescaleStatusIntent(_MachineIntentHandler):
    """When to descale."""

    intent_type = INTENT_DESCALE
    description = (
        "Tells how many days ago the espresso machine was descaled and when the next "
        "descale is due."
    )

    async def async_answer(self, machine: Machine, texts: Texts) -> str:
        """Tell the days since the last descale and the days left."""
        status = machine.status
        if not machine.settings.track_descale:
            return texts.speech("no_descale", name=machine.name)
        days = status.days_since_descale
        if days is None:
            return texts.speech("descale_unknown", name=machine.name)
        if status.descale is DueStatus.DUE:
            return texts.speech("descale_due", name=machine.name, days=days)
        left = machine.settings.descale_interval_days - days
        return texts.speech(
            "descale_in", count=left, name=machine.name, days=days, left=left
        )


class MaintenanceDueIntent(_MachineIntentHandler):
    """What is due."""

    intent_type = INTENT_DUE
    description = (
        "Tells whether the espresso machine needs a backflush or a descale now or "
        "soon, or that all maintenance is up to date."
    )

    async def async_answer(self, machine: Machine, texts: Texts) -> str:
        """List what is due, else what is due soon, else say all is fine."""
        status = machine.status
        for level, key in ((DueStatus.DUE, "due"), (DueStatus.DUE_SOON, "due_soon")):
            kinds = [kind for kind in Kind if status.due(kind) is level]
            if kinds:
                item = "item_both" if len(kinds) > 1 else f"item_{kinds[0]}"
                return texts.speech(key, name=machine.name, items=texts.speech(item))
        return texts.speech("all_fine", name=machine.name)


class _RecordIntent(_MachineIntentHandler):
    """Record maintenance that was just done."""

    ask_which_when_several = True
    kind: Kind

    async def async_answer(self, machine: Machine, texts: Texts) -> str:
        """Record it, through the same path as the button and the action."""
        if not machine.settings.tracks(self.kind):
            key = "no_backflush" if self.kind is Kind.BACKFLUSH else "no_descale"
            return texts.speech(key, name=machine.name)
        await machine.async_record_maintenance(self.kind)
        return texts.speech(f"recorded_{self.kind}", name=machine.name)


class RecordBackflushIntent(_RecordIntent):
    """I backflushed the machine."""

    intent_type = INTENT_RECORD_BACKFLUSH
    kind = Kind.BACKFLUSH
    description = "Records that the espresso machine was backflushed just now."


class RecordDescaleIntent(_RecordIntent):
    """I descaled the machine."""

    intent_type = INTENT_RECORD_DESCALE
    kind = Kind.DESCALE
    description = "Records that the espresso machine was descaled just now."


HANDLERS = (
    ShotsSinceBackflushIntent,
    DescaleStatusIntent,
    MaintenanceDueIntent,
    RecordBackflushIntent,
    RecordDescaleIntent,
)


def _sentence_files(hass: HomeAssistant) -> dict[Path, str]:
    files = {}
    for language, content in hass.data[DATA_LANGUAGES].items():
        sentences = {key: content[key] for key in SENTENCE_KEYS if key in content}
        path = Path(hass.config.path("custom_sentences", language, SENTENCES_FILE))
        files[path] = (
            "# Written by the Espresso Maintenance integration; changes are overwritten.\n"
            + dump(sentences)
        )
    return files


async def async_setup_intents(hass: HomeAssistant) -> None:
    """Register the intents and give the default agent their sentences."""
    for handler in HANDLERS:
        intent.async_register(hass, handler())

    files = _sentence_files(hass)

    def write() -> bool:
        changed = False
        for path, text in files.items():
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
    if changed and hass.services.has_service("conversation", "reload"):
        # The default agent caches its sentences; a reload makes it read ours.
        # A failing reload (for example a configuration.yaml with an error)
        # must not stop the machines from loading: the sentences are then
        # read at the next restart.
        try:
            await hass.services.async_call("conversation", "reload", {}, blocking=True)
        except (HomeAssistantError, OSError) as err:
            LOGGER.warning("Could not reload the conversation agent: %s", err)


async def async_remove_sentences(hass: HomeAssistant) -> None:
    """Remove the sentence files, when the last machine is removed."""
    paths = list(_sentence_files(hass))

    def remove() -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    await hass.async_add_executor_job(remove)
