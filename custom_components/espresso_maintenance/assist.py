"""Assist intents: ask about shots, backflushes and descales; record them; undo.

The sentences that reach these intents live in languages/<code>.yaml and are
written for the default agent by sentences.py. The intents are also registered
with descriptions and slot schemas, so LLM conversation agents can call them
through the Assist API.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime
import re
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, intent
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import DOMAIN
from .language import Texts
from .machine import Machine
from .model import DescaleDriver, DueStatus, Kind, local_date
from .sentences import async_track_machine_names, async_update_sentences

INTENT_SHOTS = "EspressoShotsSinceBackflush"
INTENT_NEXT_BACKFLUSH = "EspressoNextBackflush"
INTENT_LAST_MAINTENANCE = "EspressoLastMaintenance"
INTENT_DESCALE = "EspressoDescaleStatus"
INTENT_NEXT_DESCALE = "EspressoNextDescale"
INTENT_DUE = "EspressoMaintenanceDue"
INTENT_RECORD_BACKFLUSH = "EspressoRecordBackflush"
INTENT_RECORD_DESCALE = "EspressoRecordDescale"
INTENT_RECORD_SHOTS = "EspressoRecordShots"
INTENT_UNDO = "EspressoUndoLastRecord"

SLOT_MACHINE = "machine"
SLOT_KIND = "kind"
SLOT_COUNT = "count"
MAX_SPOKEN_SHOTS = 20
MACHINE_SLOT: dict[Any, Any] = {vol.Optional(SLOT_MACHINE): cv.string}
KIND_VALUES = [kind.value for kind in Kind]


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


def resolve_machines(hass: HomeAssistant, texts: Texts, value: str | None) -> _Target:
    """Find the machines a slot means; none (or "the espresso machine") means all.

    Sentences fill the slot with a config entry id from the closed list of
    names; LLM agents with a name, matched whole or in part.
    """
    if value and (entry := hass.config_entries.async_get_entry(value)) is not None:
        if entry.domain == DOMAIN and entry.state is ConfigEntryState.LOADED:
            return _Target([entry.runtime_data], named=True)
        if entry.domain == DOMAIN:
            return _Target(
                [], named=True, speech=texts.speech("unavailable", name=entry.title)
            )
    machines = loaded_machines(hass)
    if not machines:
        return _Target([], named=False, speech=texts.speech("no_machine"))
    words = texts.words
    wanted = _normalize(value or "", words["articles"])
    if not wanted or wanted in words["generic_names"]:
        return _Target(machines, named=False)
    exact = [m for m in machines if _normalize(m.name, words["articles"]) == wanted]
    partial = [m for m in machines if wanted in _normalize(m.name, words["articles"])]
    if found := exact or partial:
        return _Target(found, named=True)
    return _Target(
        [], named=True, speech=texts.speech("unknown_machine", machine=value)
    )


def _today() -> date:
    return local_date(dt_util.utcnow(), dt_util.get_default_time_zone())


def spoken(texts: Texts, moment: datetime) -> str:
    """Say when a moment was or will be, by its local day."""
    return texts.date(local_date(moment, dt_util.get_default_time_zone()), _today())


class _MachineIntentHandler(intent.IntentHandler, ABC):
    """Answers about one machine, a named one, or each machine."""

    slot_schema = MACHINE_SLOT
    # Several machines and no name: answer for each (questions) or ask which (changes).
    ask_which_when_several = False

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        """Resolve the machine and answer in the sentence's language."""
        slots = {
            name: slot["value"]
            for name, slot in self.async_validate_slots(intent_obj.slots).items()
        }
        texts = Texts(intent_obj.hass, intent_obj.language)
        target = resolve_machines(intent_obj.hass, texts, slots.get(SLOT_MACHINE))
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
        answers = [
            await self.async_answer(machine, texts, slots) for machine in machines
        ]
        response.async_set_speech(" ".join(answers))
        response.async_set_speech_slots(
            {"machines": [machine.status_as_dict() for machine in machines]}
        )
        return response

    @abstractmethod
    async def async_answer(
        self, machine: Machine, texts: Texts, slots: dict[str, Any]
    ) -> str:
        """Return the answer for one machine."""


class _BackflushIntent(_MachineIntentHandler):
    """Answers about the backflush, which are the same when it is not tracked or due."""

    async def async_answer(
        self, machine: Machine, texts: Texts, slots: dict[str, Any]
    ) -> str:
        """Say that there is no valve, that a backflush is due now, or the rest."""
        status = machine.status
        if status.backflush is None:
            return texts.speech("no_backflush", name=machine.name)
        shots = texts.count("shots", status.shots_since_backflush)
        if status.backflush is DueStatus.DUE:
            return texts.speech(
                "shots_since_backflush_due", name=machine.name, shots=shots
            )
        return self.answer_not_due(machine, texts, shots)

    @abstractmethod
    def answer_not_due(self, machine: Machine, texts: Texts, shots: str) -> str:
        """Return the answer while no backflush is due."""


class ShotsSinceBackflushIntent(_BackflushIntent):
    """How many shots since the last backflush."""

    intent_type = INTENT_SHOTS
    description = (
        "Tells how many espresso shots were pulled since the espresso machine was "
        "last backflushed, and after how many a backflush is due."
    )

    def answer_not_due(self, machine: Machine, texts: Texts, shots: str) -> str:
        """Count the shots since the last backflush, and the limit."""
        return texts.speech(
            "shots_since_backflush",
            name=machine.name,
            shots=shots,
            limit=texts.count("shots", machine.settings.backflush_interval_shots),
        )


class NextBackflushIntent(_BackflushIntent):
    """How many shots until the next backflush, and when it is expected."""

    intent_type = INTENT_NEXT_BACKFLUSH
    description = (
        "Tells how many espresso shots are left before the espresso machine needs "
        "its next backflush, and the day it is expected at the recent rate; also "
        "whether a backflush is due now."
    )

    def answer_not_due(self, machine: Machine, texts: Texts, shots: str) -> str:
        """Count the shots left and say the predicted day."""
        left = texts.count("shots", machine.status.shots_until_backflush or 0)
        predicted = machine.predicted_backflush()
        if predicted is None:
            return texts.speech("next_backflush_undated", name=machine.name, shots=left)
        return texts.speech(
            "next_backflush",
            name=machine.name,
            shots=left,
            when=texts.date(predicted, _today()),
        )


class LastMaintenanceIntent(_MachineIntentHandler):
    """When the last backflush or descale was."""

    intent_type = INTENT_LAST_MAINTENANCE
    slot_schema = {**MACHINE_SLOT, vol.Required(SLOT_KIND): vol.In(KIND_VALUES)}  # noqa: RUF012
    description = (
        "Tells when the espresso machine was last backflushed (kind: backflush) or "
        "descaled (kind: descale)."
    )

    async def async_answer(
        self, machine: Machine, texts: Texts, slots: dict[str, Any]
    ) -> str:
        """Say the day of the last one."""
        kind = Kind(slots[SLOT_KIND])
        if not machine.settings.tracks(kind):
            return texts.speech(f"no_{kind}", name=machine.name)
        status = machine.status
        last = status.last_backflush if kind is Kind.BACKFLUSH else status.last_descale
        if last is None:
            return texts.speech(f"{kind}_unknown", name=machine.name)
        return texts.speech(f"last_{kind}", name=machine.name, when=spoken(texts, last))


def descale_reason(machine: Machine, texts: Texts) -> str:
    """Say what sets the next descale's day: the use counted, the typical use, or a bound."""
    scale = machine.status.scale
    if scale is None:
        return ""
    key = scale.driver.value
    if scale.driver is DescaleDriver.USE and not scale.measured:
        key = "typical"
    low, high = machine.settings.descale_bounds
    return texts.speech(f"descale_reason_{key}", min_days=low, max_days=high)


class _DescaleIntent(_MachineIntentHandler):
    """Answers about the descale, which are the same when it is untracked, unknown or due."""

    async def async_answer(
        self, machine: Machine, texts: Texts, slots: dict[str, Any]
    ) -> str:
        """Say that it is not tracked, not known, due now, or the rest."""
        status = machine.status
        if not machine.settings.track_descale:
            return texts.speech("no_descale", name=machine.name)
        if status.days_since_descale is None or status.next_descale is None:
            return texts.speech("descale_unknown", name=machine.name)
        days = texts.count("days", status.days_since_descale)
        if status.descale is DueStatus.DUE:
            return texts.speech("descale_due", name=machine.name, days=days)
        return self.answer_not_due(
            machine,
            texts,
            days,
            spoken(texts, status.next_descale),
            descale_reason(machine, texts),
        )

    @abstractmethod
    def answer_not_due(
        self, machine: Machine, texts: Texts, days: str, when: str, reason: str
    ) -> str:
        """Return the answer while no descale is due."""


class DescaleStatusIntent(_DescaleIntent):
    """How long since the last descale, and whether one is due."""

    intent_type = INTENT_DESCALE
    description = (
        "Tells how many days ago the espresso machine was descaled, whether a "
        "descale is due and when the next one is."
    )

    def answer_not_due(
        self, machine: Machine, texts: Texts, days: str, when: str, reason: str
    ) -> str:
        """Tell the days since the last descale, when the next is due and why."""
        return texts.speech(
            "descale_in", name=machine.name, days=days, when=when, reason=reason
        )


class NextDescaleIntent(_DescaleIntent):
    """When the next descale is due."""

    intent_type = INTENT_NEXT_DESCALE
    description = "Tells when the espresso machine's next descale is due."

    def answer_not_due(
        self, machine: Machine, texts: Texts, days: str, when: str, reason: str
    ) -> str:
        """Say the day of the next descale, and what sets it."""
        return texts.speech("next_descale", name=machine.name, when=when, reason=reason)


class MaintenanceDueIntent(_MachineIntentHandler):
    """What is due."""

    intent_type = INTENT_DUE
    description = (
        "Tells whether the espresso machine needs a backflush or a descale now or "
        "soon, or that all maintenance is up to date."
    )

    async def async_answer(
        self, machine: Machine, texts: Texts, slots: dict[str, Any]
    ) -> str:
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

    async def async_answer(
        self, machine: Machine, texts: Texts, slots: dict[str, Any]
    ) -> str:
        """Record it, through the same path as the button and the action."""
        if not machine.settings.tracks(self.kind):
            return texts.speech(f"no_{self.kind}", name=machine.name)
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


class RecordShotsIntent(_MachineIntentHandler):
    """I pulled two shots."""

    intent_type = INTENT_RECORD_SHOTS
    ask_which_when_several = True
    slot_schema = {  # noqa: RUF012
        **MACHINE_SLOT,
        vol.Optional(SLOT_COUNT): vol.All(
            vol.Coerce(int), vol.Range(min=1, max=MAX_SPOKEN_SHOTS)
        ),
    }
    description = (
        f"Counts espresso shots just pulled on the espresso machine (count: 1 to "
        f"{MAX_SPOKEN_SHOTS}, 1 when not given)."
    )

    async def async_answer(
        self, machine: Machine, texts: Texts, slots: dict[str, Any]
    ) -> str:
        """Count them through the machine, then say the new count."""
        count = slots.get(SLOT_COUNT, 1)
        await machine.async_record_shots(count)
        values = {"name": machine.name, "added": texts.count("shots", count)}
        if machine.status.backflush is None:
            total = texts.count("shots", machine.status.total_shots)
            return texts.speech("recorded_shots_total", total=total, **values)
        shots = texts.count("shots", machine.status.shots_since_backflush)
        return texts.speech("recorded_shots", shots=shots, **values)


class UndoLastRecordIntent(_MachineIntentHandler):
    """Take back the latest backflush or descale record."""

    intent_type = INTENT_UNDO
    ask_which_when_several = True
    slot_schema = {**MACHINE_SLOT, vol.Optional(SLOT_KIND): vol.In(KIND_VALUES)}  # noqa: RUF012
    description = (
        "Undoes the latest backflush or descale recorded for the espresso machine "
        "and says which one it was. With kind, only when the latest record is of "
        "that kind."
    )

    async def async_answer(
        self, machine: Machine, texts: Texts, slots: dict[str, Any]
    ) -> str:
        """Undo through the machine, as the undo action does."""
        undo = machine.state.undo
        latest = undo[-1].record.kind if undo else None
        if latest is not None and slots.get(SLOT_KIND, latest) != latest:
            return texts.speech(f"last_record_is_{latest}", name=machine.name)
        try:
            record = await machine.async_undo_last_record()
        except ServiceValidationError:
            return texts.speech("nothing_to_undo", name=machine.name)
        return texts.speech(
            f"undone_{record.kind}",
            name=machine.name,
            when=spoken(texts, record.performed_at),
        )


HANDLERS = (
    ShotsSinceBackflushIntent,
    NextBackflushIntent,
    LastMaintenanceIntent,
    DescaleStatusIntent,
    NextDescaleIntent,
    MaintenanceDueIntent,
    RecordBackflushIntent,
    RecordDescaleIntent,
    RecordShotsIntent,
    UndoLastRecordIntent,
)


async def async_setup_intents(hass: HomeAssistant) -> None:
    """Register the intents and give the default agent their sentences."""
    for handler in HANDLERS:
        intent.async_register(hass, handler())
    await async_update_sentences(hass)
    async_track_machine_names(hass)
