"""Binary sensors of Espresso Maintenance: is a backflush or a descale due."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .entity import EspressoEntity, async_remove_stale_entities
from .machine import EspressoConfigEntry, Machine
from .model import DueStatus, Kind, Settings, Status

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EspressoBinarySensorEntityDescription(BinarySensorEntityDescription):
    """Describes a binary sensor of a machine."""

    is_on_fn: Callable[[Status], bool | None]
    exists_fn: Callable[[Settings], bool]


def _is_due(kind: Kind) -> Callable[[Status], bool | None]:
    def is_due(status: Status) -> bool | None:
        due = status.due(kind)
        return None if due is None else due is DueStatus.DUE

    return is_due


BINARY_SENSORS: tuple[EspressoBinarySensorEntityDescription, ...] = (
    EspressoBinarySensorEntityDescription(
        key="backflush_due",
        translation_key="backflush_due",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=_is_due(Kind.BACKFLUSH),
        exists_fn=lambda settings: settings.track_backflush,
    ),
    EspressoBinarySensorEntityDescription(
        key="descale_due",
        translation_key="descale_due",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=_is_due(Kind.DESCALE),
        exists_fn=lambda settings: settings.track_descale,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EspressoConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Set up the binary sensors that apply to this machine."""
    machine = entry.runtime_data
    descriptions = [d for d in BINARY_SENSORS if d.exists_fn(machine.settings)]
    async_remove_stale_entities(
        hass, entry, Platform.BINARY_SENSOR, {d.key for d in descriptions}
    )
    async_add_entities(EspressoBinarySensor(machine, d) for d in descriptions)


class EspressoBinarySensor(EspressoEntity, BinarySensorEntity):
    """Whether a maintenance is due."""

    entity_description: EspressoBinarySensorEntityDescription

    def __init__(
        self, machine: Machine, description: EspressoBinarySensorEntityDescription
    ) -> None:
        """Initialize the binary sensor."""
        super().__init__(machine, description)

    def state_key(self) -> Hashable:
        """Return the value shown."""
        return self.is_on

    @property
    def is_on(self) -> bool | None:
        """Return whether the maintenance is due; unknown when it cannot be told."""
        return self.entity_description.is_on_fn(self.machine.status)
