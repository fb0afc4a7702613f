"""Counting shots from another entity: a brewing switch, a power sensor or a shot counter.

The detection rules live in detectors.py; this module feeds them the source
entity's states and hands what they find to the machine, through the same path as
the record_shot action. A brewing or power source can also recognise a backflush
in its pulses, recorded through the same path as the Record backflush button.
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
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant, State, callback
from homeassistant.helpers import (
    entity_registry as er,
    issue_registry as ir,
    selector,
)
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import (
    CONF_BACKFLUSH_PAUSE_SECONDS,
    CONF_BACKFLUSH_PULSE_SECONDS,
    CONF_BACKFLUSH_PULSES,
    CONF_BACKFLUSH_SOURCE,
    CONF_DETECT_BACKFLUSH,
    CONF_MAX_SECONDS,
    CONF_MIN_SECONDS,
    CONF_POWER_OFF_W,
    CONF_POWER_ON_W,
    CONF_SHOT_SOURCE,
    CONF_SOURCE_ENTITY,
    CONF_THREE_WAY_VALVE,
    DEFAULT_POWER_OFF_W,
    DEFAULT_POWER_ON_W,
    DOMAIN,
    LOGGER,
    MAX_BACKFLUSH_PAUSE_SECONDS,
    MAX_BACKFLUSH_PULSES,
    MIN_BACKFLUSH_PULSES,
)
from .detectors import (
    DEFAULT_BACKFLUSH_PAUSE_SECONDS,
    DEFAULT_BACKFLUSH_PULSE_SECONDS,
    DEFAULT_BACKFLUSH_PULSES,
    DEFAULT_MAX_SECONDS,
    DEFAULT_MIN_SECONDS,
    MAX_COUNTER_JUMP,
    BackflushPatternDetector,
    BrewingDetector,
    CounterChange,
    MaintenanceSourceKind,
    PowerDetector,
    Pulse,
    PulsePattern,
    PulseResult,
    SourceKind,
)
from .hardness import number_selector
from .machine import Machine
from .model import Kind
from .sources import (
    EntitySource,
    MissingIssue,
    entity_problem,
    missing_issue_id,
    on_off,
)

BREWING_DOMAINS = ("binary_sensor", "switch", "input_boolean")
WATTS_PER_UNIT: dict[str, float] = {
    UnitOfPower.WATT: 1.0,
    UnitOfPower.KILO_WATT: 1000.0,
}
MISSING = (STATE_UNAVAILABLE, STATE_UNKNOWN)
# Pulses kept for calibrating the thresholds (shown in diagnostics).
PULSES_KEPT = 20
BACKFLUSHES_KEPT = 5


# The kinds of source that see pulses, in which a backflush can be recognised.
PULSE_KINDS = (SourceKind.BREWING, SourceKind.POWER)
PATTERN_KEYS = (
    CONF_DETECT_BACKFLUSH,
    CONF_BACKFLUSH_PULSES,
    CONF_BACKFLUSH_PULSE_SECONDS,
    CONF_BACKFLUSH_PAUSE_SECONDS,
)
SOURCE_KEYS = (
    CONF_SOURCE_ENTITY,
    CONF_MIN_SECONDS,
    CONF_MAX_SECONDS,
    CONF_POWER_ON_W,
    CONF_POWER_OFF_W,
    *PATTERN_KEYS,
)


@dataclass(frozen=True, kw_only=True)
class SourceConfig:
    """Which entity counts shots, and how."""

    kind: SourceKind
    entity_id: str
    min_s: float = DEFAULT_MIN_SECONDS
    max_s: float = DEFAULT_MAX_SECONDS
    on_w: float = 0.0
    off_w: float = 0.0
    # The backflush pattern looked for in the pulses; None when not looked for.
    pattern: PulsePattern | None = None


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
        pattern=_pattern(entry, kind),
    )


def _pattern(entry: ConfigEntry, kind: SourceKind) -> PulsePattern | None:
    """Return the backflush pattern to look for, if it is asked for and can be used.

    Machines set up before the pattern existed have no such option and keep
    working as they did. A backflush source of the machine's own is more
    reliable than the pulses, so it wins.
    """
    options = entry.options
    if (
        kind not in PULSE_KINDS
        or not entry.data[CONF_THREE_WAY_VALVE]
        or not options.get(CONF_DETECT_BACKFLUSH, False)
        or options.get(CONF_BACKFLUSH_SOURCE, MaintenanceSourceKind.NONE)
        != MaintenanceSourceKind.NONE
    ):
        return None
    return PulsePattern(
        pulses=int(options.get(CONF_BACKFLUSH_PULSES, DEFAULT_BACKFLUSH_PULSES)),
        pulse_s=float(
            options.get(CONF_BACKFLUSH_PULSE_SECONDS, DEFAULT_BACKFLUSH_PULSE_SECONDS)
        ),
        pause_s=float(
            options.get(CONF_BACKFLUSH_PAUSE_SECONDS, DEFAULT_BACKFLUSH_PAUSE_SECONDS)
        ),
    )


def source_problem(hass: HomeAssistant, kind: SourceKind, entity_id: str) -> str | None:
    """Tell why an entity cannot be this kind of source; None if it can.

    Used by the flows and the repair's fix flow, so all refuse the same entities.
    """
    if problem := entity_problem(hass, entity_id):
        return problem
    entry = er.async_get(hass).async_get(entity_id)
    state = hass.states.get(entity_id)
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


def source_schema(
    kind: SourceKind, values: dict[str, Any], *, backflush: bool = False
) -> dict[Any, Any]:
    """Ask for the source entity, filtered to fitting ones, and its detection limits.

    With `backflush` (the machine has a three-way valve), a brewing or power
    source also asks whether to recognise backflushes in its pulses, and how.
    """
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
    if backflush:
        schema.update(pattern_schema(values))
    return schema


def pattern_schema(values: dict[str, Any]) -> dict[Any, Any]:
    """Ask whether to recognise backflushes in the pulses, and the pattern's numbers."""
    defaults = {
        CONF_DETECT_BACKFLUSH: True,
        CONF_BACKFLUSH_PULSES: DEFAULT_BACKFLUSH_PULSES,
        CONF_BACKFLUSH_PULSE_SECONDS: DEFAULT_BACKFLUSH_PULSE_SECONDS,
        CONF_BACKFLUSH_PAUSE_SECONDS: DEFAULT_BACKFLUSH_PAUSE_SECONDS,
    } | {key: values[key] for key in PATTERN_KEYS if key in values}
    return {
        vol.Required(
            CONF_DETECT_BACKFLUSH, default=defaults[CONF_DETECT_BACKFLUSH]
        ): selector.BooleanSelector(),
        **{
            vol.Required(key, default=defaults[key]): number_selector()
            for key in PATTERN_KEYS[1:]
        },
    }


def check_pattern(user_input: dict[str, Any]) -> dict[str, str]:
    """Return the field errors of a backflush pattern (none when not asked for)."""
    if CONF_DETECT_BACKFLUSH not in user_input:
        return {}
    errors: dict[str, str] = {}
    pulses = user_input[CONF_BACKFLUSH_PULSES]
    if pulses != int(pulses) or not (
        MIN_BACKFLUSH_PULSES <= pulses <= MAX_BACKFLUSH_PULSES
    ):
        errors[CONF_BACKFLUSH_PULSES] = "pulses_out_of_range"
    # A cleaning pulse is one too short to be a shot, so it is never counted.
    if not 1 <= user_input[CONF_BACKFLUSH_PULSE_SECONDS] < user_input[CONF_MIN_SECONDS]:
        errors[CONF_BACKFLUSH_PULSE_SECONDS] = "pulse_not_below_shot"
    if not 1 <= user_input[CONF_BACKFLUSH_PAUSE_SECONDS] <= MAX_BACKFLUSH_PAUSE_SECONDS:
        errors[CONF_BACKFLUSH_PAUSE_SECONDS] = "pause_out_of_range"
    return errors


def source_values(user_input: dict[str, Any]) -> dict[str, Any]:
    """Return the options a shot source form gave, whole numbers as int."""
    values = {key: user_input[key] for key in SOURCE_KEYS if key in user_input}
    if CONF_BACKFLUSH_PULSES in values:
        values[CONF_BACKFLUSH_PULSES] = int(values[CONF_BACKFLUSH_PULSES])
    return values


def _watts(state: State | None) -> float | None:
    if (value := number(state)) is None or state is None:
        return None
    factor = WATTS_PER_UNIT.get(str(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)))
    return None if factor is None else value * factor


def counter_jump_issue_id(entry: ConfigEntry) -> str:
    """Return the id of the counter-jump issue of a machine."""
    return f"counter_jump_{entry.entry_id}"


class ShotSource(EntitySource):
    """Watches a machine's source entity and records the shots it shows."""

    def __init__(
        self, hass: HomeAssistant, machine: Machine, config: SourceConfig
    ) -> None:
        """Prepare the detector for the configured kind of source."""
        super().__init__(
            hass,
            machine,
            config.entity_id,
            MissingIssue(
                issue_id=missing_issue_id(machine.entry, CONF_SHOT_SOURCE),
                translation_key="source_missing",
                data={"kind": config.kind.value},
            ),
        )
        self.config = config
        self.pulses: deque[Pulse] = deque(maxlen=PULSES_KEPT)
        self.backflushes: deque[datetime] = deque(maxlen=BACKFLUSHES_KEPT)
        self._pattern = (
            None if config.pattern is None else BackflushPatternDetector(config.pattern)
        )
        self._detect: Callable[[State | None, datetime], Pulse | None]
        if config.kind is SourceKind.BREWING:
            brewing = BrewingDetector(config.min_s, config.max_s)
            self._detect = lambda state, at: brewing.update(on_off(state), at)
        elif config.kind is SourceKind.POWER:
            power = PowerDetector(config.on_w, config.off_w, config.min_s, config.max_s)
            self._detect = lambda state, at: power.update(_watts(state), at)
        else:
            # A counter is read in _async_feed; it has no pulses.
            self._detect = lambda _state, _at: None

    @callback
    def _async_feed(self, state: State | None) -> None:
        at = state.last_changed if state is not None else dt_util.utcnow()
        if self.config.kind is SourceKind.COUNTER:
            if (value := number(state)) is not None:
                self.machine.entry.async_create_task(
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
            self.machine.entry.async_create_task(
                self.hass, self.machine.async_record_shots(1), f"{DOMAIN} detected shot"
            )
        if self._pattern is not None and (done := self._pattern.update(pulse)):
            self.backflushes.append(done)
            LOGGER.debug("%s: backflush pattern ended at %s", self.machine.name, done)
            self.machine.entry.async_create_task(
                self.hass,
                self.machine.async_record_maintenance(
                    Kind.BACKFLUSH, done, source=self.entity_id
                ),
                f"{DOMAIN} detected backflush",
            )

    async def _async_count(self, value: float) -> None:
        reading = await self.machine.async_apply_counter_reading(value)
        entry = self.machine.entry
        if reading.change is CounterChange.RESET:
            LOGGER.info(
                "%s: the shot counter %s went back to %s; counting from there",
                entry.title,
                self.entity_id,
                value,
            )
        elif reading.change is CounterChange.JUMP:
            LOGGER.warning(
                "%s: the shot counter %s jumped to %s, more than %s shots at once; "
                "not counted",
                entry.title,
                self.entity_id,
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
                    "entity_id": self.entity_id,
                    "value": f"{value:g}",
                    "max_jump": str(MAX_COUNTER_JUMP),
                },
            )

    def diagnostics(self) -> dict[str, Any]:
        """Describe the source and its last pulses, to calibrate the thresholds."""
        pattern = self.config.pattern
        return {
            "kind": self.config.kind.value,
            "entity_id": self.entity_id,
            "min_seconds": self.config.min_s,
            "max_seconds": self.config.max_s,
            "power_on_w": self.config.on_w,
            "power_off_w": self.config.off_w,
            "backflush_pattern": None
            if pattern is None
            else {
                "pulses": pattern.pulses,
                "pulse_seconds": pattern.pulse_s,
                "pause_seconds": pattern.pause_s,
            },
            "last_backflushes": [moment.isoformat() for moment in self.backflushes],
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
