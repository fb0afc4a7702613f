"""Buttons of Espresso Maintenance: record a shot, a backflush or a descale."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .entity import EspressoEntity, async_remove_stale_entities
from .machine import EspressoConfigEntry, Machine
from .model import Kind, Settings

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EspressoButtonEntityDescription(ButtonEntityDescription):
    """Describes a button of a machine."""

    press_fn: Callable[[Machine], Awaitable[None]]
    exists_fn: Callable[[Settings], bool]


BUTTONS: tuple[EspressoButtonEntityDescription, ...] = (
    EspressoButtonEntityDescription(
        key="record_shot",
        translation_key="record_shot",
        press_fn=lambda machine: machine.async_record_shots(1),
        exists_fn=lambda _: True,
    ),
    EspressoButtonEntityDescription(
        key="record_backflush",
        translation_key="record_backflush",
        press_fn=lambda machine: machine.async_record_maintenance(Kind.BACKFLUSH),
        exists_fn=lambda settings: settings.track_backflush,
    ),
    EspressoButtonEntityDescription(
        key="record_descale",
        translation_key="record_descale",
        press_fn=lambda machine: machine.async_record_maintenance(Kind.DESCALE),
        exists_fn=lambda settings: settings.track_descale,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EspressoConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Set up the buttons that apply to this machine."""
    machine = entry.runtime_data
    descriptions = [d for d in BUTTONS if d.exists_fn(machine.settings)]
    async_remove_stale_entities(
        hass, entry, Platform.BUTTON, {d.key for d in descriptions}
    )
    async_add_entities(EspressoButton(machine, d) for d in descriptions)


class EspressoButton(EspressoEntity, ButtonEntity):
    """A button that records maintenance."""

    entity_description: EspressoButtonEntityDescription

    def __init__(
        self, machine: Machine, description: EspressoButtonEntityDescription
    ) -> None:
        """Initialize the button."""
        super().__init__(machine, description)

    async def async_press(self) -> None:
        """Record it; returns once it is on disk."""
        await self.entity_description.press_fn(self.machine)
