"""Counting shots from another entity: a brewing switch, a power sensor or a shot counter.

The detection rules live in detectors.py; this module feeds them the source
entity's states and hands what they find to the machine, through the same path as
the record_shot action.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import math
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfPower,
)
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers import (
    entity_registry as er,
    issue_registry as ir,
    selector,
)
from homeassistant.helpers.event import (
    async_track_entity_registry_updated_event,
    async_track_state_change_event,
)
from homeassistant.helpers.start import async_at_started
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import (
    CONF_MAX_SECONDS,
    CONF_MIN_SECONDS,
    CONF_POWER_OFF_W,
    CONF_POWER_ON_W,
    CONF_SHOT_SOURCE,
    CONF_SOURCE_ENTITY,
    DEFAULT_POWER_OFF_W,
    DEFAULT_POWER_ON_W,
    DOMAIN,
    LOGGER,
)
from .detectors import (
    DEFAULT_MAX_SECONDS,
    DEFAULT_MIN_SECONDS,
    MAX_COUNTER_JUMP,
    BrewingDetector,
    CounterChange,
    PowerDetector,
    Pulse,
    PulseResult,
    SourceKind,
)
from .hardness import number_selector
from .machine import Machine

BREWING_DOMAINS = ("binary_sensor", "switch", "input_boolean")
WATTS_PER_UNIT: dict[str, float] = {
    UnitOfPower.WATT: 1.0,
    UnitOfPower.KILO_WATT: 1000.0,
}
MISSING = (STATE_UNAVAILABLE, STATE_UNKNOWN)
# Pulses kept for calibrating the thresholds (shown in diagnostics).
PULSES_KEPT = 20


@dataclass(frozen=True, kw_only=True)
class SourceConfig:
    """Which entity counts shots, and how."""

    kind: SourceKind
    entity_id: str
    min_s: float = DEFAULT_MIN_SECONDS
    max_s: float = DEFAULT_MAX_SECONDS
    on_w: float = 0.0
    off_w: float = 0.0


def source_config_from_entry(entry: ConfigEntry) -> SourceConfig | None:
    """Read the shot source from a config entry's options; None without one."""
    options = entry.options
    kind = SourceKind(options.get(CONF_SHOT_SOURCE, SourceKind.NONE))
    if kind is SourceKind.NONE:
        return None
    return SourceConfig(
        kind=kind,
        entity_id=options[CONF_SOURCE_ENTITY],
        min_s=float(options.get(CONF_MIN_SECONDS, DEFAULT_MIN_SECONDS)),
        max_s=float(options.get(CONF_MAX_SECONDS, DEFAULT_MAX_SECONDS)),
        on_w=float(options.get(CONF_POWER_ON_W, 0.0)),
        off_w=float(options.get(CONF_POWER_OFF_W, 0.0)),
    )


def source_problem(hass: HomeAssistant, kind: SourceKind, entity_id: str) -> str | None:
    """Tell why an entity cannot be this kind of source; None if it can.

    Used by the flows and the repair's fix flow, so all refuse the same entities.
    """
    entry = er.async_get(hass).async_get(entity_id)
    state = hass.states.get(entity_id)
    if entry is not None and entry.platform == DOMAIN:
        return "source_is_own_entity"
    if state is None and entry is None:
        return "source_not_found"
    domain = entity_id.partition(".")[0]
    if kind is SourceKind.BREWING:
        return None if domain in BREWING_DOMAINS else "source_not_on_off"
    if domain != "sensor":
        return "source_not_a_sensor"
    if kind is SourceKind.POWER:
        return _power_problem(state, entry)
    numeric = state is None or state.state in MISSING or number(state) is not None
    return None if numeric else "source_not_numeric"


def _power_problem(state: State | None, entry: er.RegistryEntry | None) -> str | None:
    attributes: dict[str, Any] = dict(state.attributes) if state else {}
    device_class = attributes.get(ATTR_DEVICE_CLASS) or (
        entry and (entry.device_class or entry.original_device_class)
    )
    if device_class != SensorDeviceClass.POWER:
        return "source_not_power"
    unit = attributes.get(ATTR_UNIT_OF_MEASUREMENT) or (
        entry and entry.unit_of_measurement
    )
    return None if unit in WATTS_PER_UNIT else "source_power_unit"


def number(state: State | None) -> float | None:
    """Return a state as a finite number, None for anything else."""
    if state is None:
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def source_schema(kind: SourceKind, values: dict[str, Any]) -> dict[Any, Any]:
    """Ask for the source entity, filtered to fitting ones, and its detection limits."""
    if kind is SourceKind.BREWING:
        entity = selector.EntitySelectorConfig(domain=list(BREWING_DOMAINS))
    elif kind is SourceKind.POWER:
        entity = selector.EntitySelectorConfig(
            domain="sensor", device_class=SensorDeviceClass.POWER
        )
    else:
        entity = selector.EntitySelectorConfig(domain="sensor")
    schema: dict[Any, Any] = {
        vol.Required(
            CONF_SOURCE_ENTITY, default=values.get(CONF_SOURCE_ENTITY, vol.UNDEFINED)
        ): selector.EntitySelector(entity)
    }
    if kind is SourceKind.COUNTER:
        return schema
    if kind is SourceKind.POWER:
        schema[
            vol.Required(
                CONF_POWER_ON_W, default=values.get(CONF_POWER_ON_W, DEFAULT_POWER_ON_W)
            )
        ] = number_selector()
        schema[
            vol.Required(
                CONF_POWER_OFF_W,
                default=values.get(CONF_POWER_OFF_W, DEFAULT_POWER_OFF_W),
            )
        ] = number_selector()
    schema[
        vol.Required(
            CONF_MIN_SECONDS, default=values.get(CONF_MIN_SECONDS, DEFAULT_MIN_SECONDS)
        )
    ] = number_selector()
    schema[
        vol.Required(
            CONF_MAX_SECONDS, default=values.get(CONF_MAX_SECONDS, DEFAULT_MAX_SECONDS)
        )
    ] = number_selector()
    return schema


def _on_off(state: State | None) -> bool | None:
    return {STATE_ON: True, STATE_OFF: False}.get(state.state) if state else None


def _watts(state: State | None) -> float | None:
    if (value := number(state)) is None or state is None:
        return None
    factor = WATTS_PER_UNIT.get(str(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)))
    return None if factor is None else value * factor


def source_issue_id(entry: ConfigEntry) -> str:
    """Return the id of the missing-source issue of a machine."""
    return f"source_missing_{entry.entry_id}"


def counter_jump_issue_id(entry: ConfigEntry) -> str:
    """Return the id of the counter-jump issue of a machine."""
    return f"counter_jump_{entry.entry_id}"


class ShotSource:
    """Watches a machine's source entity and records the shots it shows."""

    def __init__(
        self, hass: HomeAssistant, machine: Machine, config: SourceConfig
    ) -> None:
        """Prepare the detector for the configured kind of source."""
        self.hass = hass
        self.machine = machine
        self.config = config
        self.pulses: deque[Pulse] = deque(maxlen=PULSES_KEPT)
        self._detect: Callable[[State | None, datetime], Pulse | None]
        if config.kind is SourceKind.BREWING:
            brewing = BrewingDetector(config.min_s, config.max_s)
            self._detect = lambda state, at: brewing.update(_on_off(state), at)
        elif config.kind is SourceKind.POWER:
            power = PowerDetector(config.on_w, config.off_w, config.min_s, config.max_s)
            self._detect = lambda state, at: power.update(_watts(state), at)
        else:
            # A counter is read in _async_feed; it has no pulses.
            self._detect = lambda _state, _at: None

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Start watching; return a function that stops it."""
        unsubs = [
            async_track_state_change_event(
                self.hass, self.config.entity_id, self._async_state_changed
            ),
            async_track_entity_registry_updated_event(
                self.hass, self.config.entity_id, self._async_registry_updated
            ),
            async_at_started(self.hass, self._async_check_exists),
        ]
        self._async_feed(self.hass.states.get(self.config.entity_id))

        @callback
        def stop() -> None:
            for unsub in unsubs:
                unsub()

        return stop

    @callback
    def _async_state_changed(self, event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        if new_state is not None:
            ir.async_delete_issue(
                self.hass, DOMAIN, source_issue_id(self.machine.entry)
            )
        self._async_feed(new_state)

    @callback
    def _async_feed(self, state: State | None) -> None:
        at = state.last_changed if state is not None else dt_util.utcnow()
        if self.config.kind is SourceKind.COUNTER:
            if (value := number(state)) is not None:
                self.machine.entry.async_create_background_task(
                    self.hass, self._async_count(value), f"{DOMAIN} counter reading"
                )
            return
        if (pulse := self._detect(state, at)) is None:
            return
        self.pulses.append(pulse)
        LOGGER.debug(
            "%s: pulse of %.1f s (peak %s): %s",
            self.machine.name,
            pulse.duration_s,
            pulse.peak,
            pulse.result,
        )
        if pulse.result is PulseResult.SHOT:
            self.machine.entry.async_create_background_task(
                self.hass, self.machine.async_record_shots(1), f"{DOMAIN} detected shot"
            )

    async def _async_count(self, value: float) -> None:
        reading = await self.machine.async_apply_counter_reading(value)
        entry = self.machine.entry
        if reading.change is CounterChange.RESET:
            LOGGER.info(
                "%s: the shot counter %s went back to %s; counting from there",
                entry.title,
                self.config.entity_id,
                value,
            )
        elif reading.change is CounterChange.JUMP:
            LOGGER.warning(
                "%s: the shot counter %s jumped to %s, more than %s shots at once; "
                "not counted",
                entry.title,
                self.config.entity_id,
                value,
                MAX_COUNTER_JUMP,
            )
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                counter_jump_issue_id(entry),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="counter_jump",
                translation_placeholders={
                    "name": entry.title,
                    "entity_id": self.config.entity_id,
                    "value": f"{value:g}",
                    "max_jump": str(MAX_COUNTER_JUMP),
                },
            )

    @callback
    def _async_registry_updated(
        self, event: Event[er.EventEntityRegistryUpdatedData]
    ) -> None:
        data = event.data
        if data["action"] == "remove":
            self._async_raise_missing(None)
        elif data["action"] == "update" and "old_entity_id" in data:
            self._async_raise_missing(data["entity_id"])

    @callback
    def _async_check_exists(self, _hass: HomeAssistant) -> None:
        entity_id = self.config.entity_id
        if (
            self.hass.states.get(entity_id) is None
            and er.async_get(self.hass).async_get(entity_id) is None
        ):
            self._async_raise_missing(None)

    @callback
    def _async_raise_missing(self, renamed_to: str | None) -> None:
        entry = self.machine.entry
        LOGGER.warning(
            "The shot source %s of %s is gone%s; shots are not counted from it",
            self.config.entity_id,
            entry.title,
            f" (renamed to {renamed_to})" if renamed_to else "",
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            source_issue_id(entry),
            is_fixable=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key="source_missing",
            translation_placeholders={
                "name": entry.title,
                "entity_id": self.config.entity_id,
            },
            data={
                "entry_id": entry.entry_id,
                "kind": self.config.kind.value,
                "suggested": renamed_to or "",
            },
        )

    def diagnostics(self) -> dict[str, Any]:
        """Describe the source and its last pulses, to calibrate the thresholds."""
        return {
            "kind": self.config.kind.value,
            "entity_id": self.config.entity_id,
            "min_seconds": self.config.min_s,
            "max_seconds": self.config.max_s,
            "power_on_w": self.config.on_w,
            "power_off_w": self.config.off_w,
            "last_pulses": [
                {
                    "started": pulse.started.isoformat(),
                    "duration_s": round(pulse.duration_s, 1),
                    "peak_w": pulse.peak,
                    "result": pulse.result.value,
                }
                for pulse in self.pulses
            ],
        }
