"""Counting the water through a machine from a water volume sensor.

The sensor is read like a shot counter (detectors.read_counter, through the
machine): the first reading is the baseline, a decrease is a reset, a jump too
large for real use is not counted, and readings missed while Home Assistant
was stopped are counted at the next one. While a machine has a water source,
its shots add no water, so nothing is counted twice.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfVolume,
)
from homeassistant.core import HomeAssistant, State, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir

from .const import CONF_WATER_SOURCE, DOMAIN, LOGGER, MAX_WATER_JUMP_ML
from .detectors import CounterChange
from .machine import Machine
from .shot_sources import number
from .sources import EntitySource, MissingIssue, missing_issue_id

ATTR_STATE_CLASS = "state_class"
WATER_DEVICE_CLASSES = (SensorDeviceClass.VOLUME, SensorDeviceClass.WATER)
ML_PER_UNIT: dict[str, float] = {
    UnitOfVolume.MILLILITERS: 1.0,
    UnitOfVolume.LITERS: 1000.0,
    UnitOfVolume.GALLONS: 3785.411784,
    UnitOfVolume.CUBIC_FEET: 28316.846592,
    UnitOfVolume.CUBIC_METERS: 1_000_000.0,
}
JUMP_ISSUE_PREFIX = "water_jump_"


def water_source_problem(hass: HomeAssistant, entity_id: str) -> str | None:
    """Tell why an entity cannot meter a machine's water; None if it can.

    It must be a sensor of volume or water, in a unit converted here, that only
    grows (total_increasing), as a water meter's total does.
    """
    entry = er.async_get(hass).async_get(entity_id)
    state = hass.states.get(entity_id)
    if entry is not None and entry.platform == DOMAIN:
        return "water_source_is_own_entity"
    if state is None and entry is None:
        return "water_source_not_found"
    if entity_id.partition(".")[0] != "sensor":
        return "water_source_not_a_sensor"
    return _reading_problem(state, entry)


def _reading_problem(state: State | None, entry: er.RegistryEntry | None) -> str | None:
    attributes = dict(state.attributes) if state else {}
    device_class = attributes.get(ATTR_DEVICE_CLASS) or (
        entry and (entry.device_class or entry.original_device_class)
    )
    if device_class not in WATER_DEVICE_CLASSES:
        return "water_source_not_volume"
    unit = attributes.get(ATTR_UNIT_OF_MEASUREMENT) or (
        entry and entry.unit_of_measurement
    )
    if unit not in ML_PER_UNIT:
        return "water_source_unit"
    state_class = attributes.get(ATTR_STATE_CLASS) or (
        entry and (entry.capabilities or {}).get(ATTR_STATE_CLASS)
    )
    if state_class != SensorStateClass.TOTAL_INCREASING:
        return "water_source_not_total_increasing"
    return None


def milliliters(state: State | None) -> float | None:
    """Return a water sensor's reading in mL; None when it has none to give."""
    if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return None
    factor = ML_PER_UNIT.get(str(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)))
    if factor is None or (value := number(state)) is None:
        return None
    return value * factor


def jump_issue_id(entry: ConfigEntry) -> str:
    """Return the id of the water-jump issue of a machine."""
    return f"{JUMP_ISSUE_PREFIX}{entry.entry_id}"


class WaterSource(EntitySource):
    """Watches a machine's water volume sensor and counts the water it shows."""

    def __init__(self, hass: HomeAssistant, machine: Machine, entity_id: str) -> None:
        """Remember the machine and the sensor."""
        super().__init__(
            hass,
            machine,
            entity_id,
            MissingIssue(
                issue_id=missing_issue_id(machine.entry, CONF_WATER_SOURCE),
                translation_key="water_source_missing",
                data={},
                # Chosen again, or not at all, on Configure's descaling page.
                fixable=False,
            ),
        )

    @callback
    def _async_feed(self, state: State | None) -> None:
        if (value := milliliters(state)) is not None:
            self.machine.entry.async_create_task(
                self.hass, self._async_count(value), f"{DOMAIN} water reading"
            )

    async def _async_count(self, value_ml: float) -> None:
        reading = await self.machine.async_apply_water_reading(value_ml)
        entry = self.machine.entry
        if reading.change is CounterChange.RESET:
            LOGGER.info(
                "%s: the water source %s went back to %.0f mL; counting from there",
                entry.title,
                self.entity_id,
                value_ml,
            )
        elif reading.change is CounterChange.JUMP:
            LOGGER.warning(
                "%s: the water source %s jumped to %.0f mL, more than %s mL at "
                "once; not counted",
                entry.title,
                self.entity_id,
                value_ml,
                MAX_WATER_JUMP_ML,
            )
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                jump_issue_id(entry),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="water_jump",
                translation_placeholders={
                    "name": entry.title,
                    "entity_id": self.entity_id,
                    "max_jump": f"{MAX_WATER_JUMP_ML / 1000:g}",
                },
            )

    def diagnostics(self) -> dict[str, Any]:
        """Describe the sensor and the last reading counted."""
        baseline = self.machine.state.water_baseline
        return {"entity_id": self.entity_id, "baseline_ml": baseline}


def water_source_from_entry(entry: ConfigEntry) -> str | None:
    """Return a machine's water source entity, if it has one."""
    entity_id = entry.options.get(CONF_WATER_SOURCE)
    return str(entity_id) if entity_id else None
