"""Sensors of Espresso Maintenance: counters, days, dates and due states."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, Platform, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.typing import StateType

from .entity import EspressoEntity, async_remove_stale_entities
from .machine import EspressoConfigEntry, Machine
from .model import DueStatus, Settings, Status

PARALLEL_UPDATES = 0

DUE_OPTIONS = [status.value for status in DueStatus]


@dataclass(frozen=True, kw_only=True)
class EspressoSensorEntityDescription(SensorEntityDescription):
    """Describes a sensor of a machine."""

    value_fn: Callable[[Status], StateType | datetime]
    exists_fn: Callable[[Settings], bool]


def _due_value(value: DueStatus | None) -> str | None:
    return None if value is None else value.value


def _backflush(settings: Settings) -> bool:
    return settings.track_backflush


def _descale(settings: Settings) -> bool:
    return settings.track_descale


SENSORS: tuple[EspressoSensorEntityDescription, ...] = (
    EspressoSensorEntityDescription(
        key="shots_since_backflush",
        translation_key="shots_since_backflush",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda status: status.shots_since_backflush,
        exists_fn=_backflush,
    ),
    EspressoSensorEntityDescription(
        key="shots_until_backflush",
        translation_key="shots_until_backflush",
        value_fn=lambda status: status.shots_until_backflush,
        exists_fn=_backflush,
    ),
    EspressoSensorEntityDescription(
        key="days_since_backflush",
        translation_key="days_since_backflush",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.DAYS,
        suggested_display_precision=0,
        value_fn=lambda status: status.days_since_backflush,
        exists_fn=_backflush,
    ),
    EspressoSensorEntityDescription(
        key="last_backflush",
        translation_key="last_backflush",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda status: status.last_backflush,
        exists_fn=_backflush,
    ),
    EspressoSensorEntityDescription(
        key="backflush_status",
        translation_key="backflush_status",
        device_class=SensorDeviceClass.ENUM,
        options=DUE_OPTIONS,
        value_fn=lambda status: _due_value(status.backflush),
        exists_fn=_backflush,
    ),
    EspressoSensorEntityDescription(
        key="days_since_descale",
        translation_key="days_since_descale",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.DAYS,
        suggested_display_precision=0,
        value_fn=lambda status: status.days_since_descale,
        exists_fn=_descale,
    ),
    EspressoSensorEntityDescription(
        key="last_descale",
        translation_key="last_descale",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda status: status.last_descale,
        exists_fn=_descale,
    ),
    EspressoSensorEntityDescription(
        key="next_descale",
        translation_key="next_descale",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda status: status.next_descale,
        exists_fn=_descale,
    ),
    EspressoSensorEntityDescription(
        key="scale_load",
        translation_key="scale_load",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        # Whole percent, as shown: the state changes every few shots, not
        # every shot (get_status and the events give it to a tenth).
        value_fn=lambda status: (
            None if status.scale is None else round(status.scale.load * 100)
        ),
        exists_fn=_descale,
    ),
    EspressoSensorEntityDescription(
        key="descale_status",
        translation_key="descale_status",
        device_class=SensorDeviceClass.ENUM,
        options=DUE_OPTIONS,
        value_fn=lambda status: _due_value(status.descale),
        exists_fn=_descale,
    ),
    EspressoSensorEntityDescription(
        key="total_shots",
        translation_key="total_shots",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda status: status.total_shots,
        exists_fn=lambda _: True,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EspressoConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Set up the sensors that apply to this machine."""
    machine = entry.runtime_data
    descriptions = [d for d in SENSORS if d.exists_fn(machine.settings)]
    async_remove_stale_entities(
        hass, entry, Platform.SENSOR, {d.key for d in descriptions}
    )
    async_add_entities(EspressoSensor(machine, d) for d in descriptions)


class EspressoSensor(EspressoEntity, SensorEntity):
    """A sensor of a machine."""

    entity_description: EspressoSensorEntityDescription

    def __init__(
        self, machine: Machine, description: EspressoSensorEntityDescription
    ) -> None:
        """Initialize the sensor."""
        super().__init__(machine, description)

    def state_key(self) -> Hashable:
        """Return the value shown."""
        return self.native_value

    @property
    def native_value(self) -> StateType | datetime:
        """Return the sensor's value."""
        return self.entity_description.value_fn(self.machine.status)
