"""Backflushes and descales the machine reports itself: a last-cleaning time or a program.

A timestamp sensor (such as La Marzocco's Last cleaning time) records the
maintenance at each new, later time it shows; a binary sensor or switch that is
on while a cleaning or descaling program runs records it when the program ends.
The rules live in detectors.py; records go through the machine like a press of
the Record button, with the entity as their source.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_DEVICE_CLASS
from homeassistant.core import HomeAssistant, State, callback
from homeassistant.helpers import entity_registry as er, selector
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import (
    CONF_BACKFLUSH_SOURCE,
    CONF_BACKFLUSH_SOURCE_ENTITY,
    CONF_DESCALE_SOURCE,
    CONF_DESCALE_SOURCE_ENTITY,
    CONF_SOURCE_ENTITY,
    CONF_TRACK_DESCALE,
    DOMAIN,
    LOGGER,
    PROGRAM_MIN_SECONDS,
)
from .detectors import MaintenanceSourceKind, ProgramDetector
from .hardness import select_selector
from .machine import Machine
from .model import Kind, Settings
from .sources import (
    EntitySource,
    MissingIssue,
    entity_problem,
    missing_issue_id,
    on_off,
)

PROGRAM_DOMAINS = ("binary_sensor", "switch")
# The options choosing each kind's source, and holding its entity ID.
SOURCE_OPTIONS = {
    Kind.BACKFLUSH: (CONF_BACKFLUSH_SOURCE, CONF_BACKFLUSH_SOURCE_ENTITY),
    Kind.DESCALE: (CONF_DESCALE_SOURCE, CONF_DESCALE_SOURCE_ENTITY),
}
MISSING_TRANSLATION_KEYS = {
    Kind.BACKFLUSH: "backflush_source_missing",
    Kind.DESCALE: "descale_source_missing",
}
# Records kept for the diagnostics.
RECORDS_KEPT = 5


@dataclass(frozen=True, kw_only=True)
class MaintenanceSourceConfig:
    """Which entity records a kind of maintenance, and how it reports it."""

    maintenance: Kind
    kind: MaintenanceSourceKind
    entity_id: str

    @property
    def option(self) -> str:
        """Return the option that chose this source."""
        return SOURCE_OPTIONS[self.maintenance][0]


def source_kind(options: Any, maintenance: Kind) -> MaintenanceSourceKind:
    """Return how a kind of maintenance is recorded from the machine, per the options."""
    return MaintenanceSourceKind(
        options.get(SOURCE_OPTIONS[maintenance][0]) or MaintenanceSourceKind.NONE
    )


def maintenance_source_configs(
    entry: ConfigEntry, settings: Settings
) -> list[MaintenanceSourceConfig]:
    """Read the maintenance sources of the kinds the machine tracks."""
    configs = []
    for maintenance in Kind:
        kind = source_kind(entry.options, maintenance)
        if kind is MaintenanceSourceKind.NONE or not settings.tracks(maintenance):
            continue
        configs.append(
            MaintenanceSourceConfig(
                maintenance=maintenance,
                kind=kind,
                entity_id=entry.options[SOURCE_OPTIONS[maintenance][1]],
            )
        )
    return configs


def maintenance_source_problem(
    hass: HomeAssistant, kind: MaintenanceSourceKind, entity_id: str
) -> str | None:
    """Tell why an entity cannot be this kind of maintenance source; None if it can.

    Used by the flows and the repair's fix flow, so all refuse the same entities.
    """
    if problem := entity_problem(hass, entity_id):
        return problem
    domain = entity_id.partition(".")[0]
    if kind is MaintenanceSourceKind.PROGRAM:
        return None if domain in PROGRAM_DOMAINS else "source_not_program"
    state = hass.states.get(entity_id)
    entry = er.async_get(hass).async_get(entity_id)
    device_class = (state.attributes.get(ATTR_DEVICE_CLASS) if state else None) or (
        entry and (entry.device_class or entry.original_device_class)
    )
    if domain != "sensor" or device_class != SensorDeviceClass.TIMESTAMP:
        return "source_not_timestamp"
    return None


def kinds_schema(values: dict[str, Any], kinds: tuple[Kind, ...]) -> dict[Any, Any]:
    """Ask how each tracked kind of maintenance is recorded from the machine."""
    return {
        vol.Required(
            option,
            default=values.get(option) or MaintenanceSourceKind.NONE.value,
        ): select_selector([kind.value for kind in MaintenanceSourceKind], option)
        for option in (SOURCE_OPTIONS[maintenance][0] for maintenance in kinds)
    }


def check_kinds(user_input: dict[str, Any], *, valve: bool) -> dict[str, str]:
    """Refuse a source for maintenance that is not tracked."""
    errors: dict[str, str] = {}
    if not valve and source_kind(user_input, Kind.BACKFLUSH) is not (
        MaintenanceSourceKind.NONE
    ):
        errors[CONF_BACKFLUSH_SOURCE] = "backflush_source_without_valve"
    if not user_input[CONF_TRACK_DESCALE] and source_kind(
        user_input, Kind.DESCALE
    ) is not (MaintenanceSourceKind.NONE):
        errors[CONF_DESCALE_SOURCE] = "descale_source_not_tracked"
    return errors


def entity_schema(
    maintenance: Kind, kind: MaintenanceSourceKind, values: dict[str, Any]
) -> dict[Any, Any]:
    """Ask for the entity, filtered to timestamp sensors or to on/off entities."""
    if kind is MaintenanceSourceKind.TIMESTAMP:
        config = selector.EntitySelectorConfig(
            domain="sensor", device_class=SensorDeviceClass.TIMESTAMP
        )
    else:
        config = selector.EntitySelectorConfig(domain=list(PROGRAM_DOMAINS))
    option = SOURCE_OPTIONS[maintenance][1]
    return {
        vol.Required(
            option, default=values.get(option, vol.UNDEFINED)
        ): selector.EntitySelector(config)
    }


def check_entity(
    hass: HomeAssistant,
    maintenance: Kind,
    kind: MaintenanceSourceKind,
    user_input: dict[str, Any],
    others: dict[str, Any],
) -> dict[str, str]:
    """Return the error of a chosen entity: unfit, or already another source.

    `others` holds the machine's other sources' options. One entity cannot be
    two sources: a program entity that is also the brewing sensor would record
    a backflush after every long shot.
    """
    option = SOURCE_OPTIONS[maintenance][1]
    entity_id = user_input[option]
    if problem := maintenance_source_problem(hass, kind, entity_id):
        return {option: problem}
    other_options = [CONF_SOURCE_ENTITY] + [
        SOURCE_OPTIONS[other][1] for other in Kind if other is not maintenance
    ]
    if entity_id in {others.get(key) for key in other_options}:
        return {option: "source_used_twice"}
    return {}


def maintenance_source(
    hass: HomeAssistant, machine: Machine, config: MaintenanceSourceConfig
) -> MaintenanceSource:
    """Return the source that watches a configured entity."""
    if config.kind is MaintenanceSourceKind.TIMESTAMP:
        return TimestampSource(hass, machine, config)
    return ProgramSource(hass, machine, config)


class MaintenanceSource(EntitySource):
    """Watches the entity that reports one kind of maintenance of a machine."""

    def __init__(
        self, hass: HomeAssistant, machine: Machine, config: MaintenanceSourceConfig
    ) -> None:
        """Prepare to record the kind of maintenance from the entity."""
        super().__init__(
            hass,
            machine,
            config.entity_id,
            MissingIssue(
                issue_id=missing_issue_id(machine.entry, config.option),
                translation_key=MISSING_TRANSLATION_KEYS[config.maintenance],
                data={"kind": config.kind.value, "maintenance": config.maintenance},
            ),
        )
        self.config = config
        self.records: deque[datetime] = deque(maxlen=RECORDS_KEPT)

    def diagnostics(self) -> dict[str, Any]:
        """Describe the source and the records it made lately."""
        return {
            "kind": self.config.kind.value,
            "entity_id": self.entity_id,
            "last_records": [moment.isoformat() for moment in self.records],
        }


class TimestampSource(MaintenanceSource):
    """Records the maintenance at each new, later time a timestamp sensor shows."""

    @callback
    def _async_feed(self, state: State | None) -> None:
        if (value := _timestamp(state)) is None:
            return
        self.machine.entry.async_create_task(
            self.hass, self._async_read(value), f"{DOMAIN} maintenance time"
        )

    async def _async_read(self, value: datetime) -> None:
        reading = await self.machine.async_apply_maintenance_reading(
            self.config.maintenance, value, self.entity_id
        )
        if reading.record_at is not None:
            self.records.append(reading.record_at)
            LOGGER.debug(
                "%s: %s at %s, as %s shows",
                self.machine.name,
                self.config.maintenance,
                reading.record_at,
                self.entity_id,
            )

    def diagnostics(self) -> dict[str, Any]:
        """Describe the source, its last value and the records it made."""
        reading = self.machine.state.source_reading(self.config.maintenance)
        return {
            **super().diagnostics(),
            "last_value": None if reading is None else reading.isoformat(),
        }


def _timestamp(state: State | None) -> datetime | None:
    """Read a timestamp sensor's state; None unless it is a time with a zone."""
    if state is None:
        return None
    value = dt_util.parse_datetime(state.state)
    return value if value is not None and value.tzinfo is not None else None


class ProgramSource(MaintenanceSource):
    """Records the maintenance when a cleaning or descaling program has run."""

    def __init__(
        self, hass: HomeAssistant, machine: Machine, config: MaintenanceSourceConfig
    ) -> None:
        """Prepare the detector with the kind's shortest program."""
        super().__init__(hass, machine, config)
        self._program = ProgramDetector(PROGRAM_MIN_SECONDS[config.maintenance])

    @callback
    def _async_feed(self, state: State | None) -> None:
        at = state.last_changed if state is not None else dt_util.utcnow()
        if (ended := self._program.update(on_off(state), at)) is None:
            return
        self.records.append(ended)
        LOGGER.debug(
            "%s: %s program on %s ended at %s",
            self.machine.name,
            self.config.maintenance,
            self.entity_id,
            ended,
        )
        self.machine.entry.async_create_task(
            self.hass,
            self.machine.async_record_maintenance(
                self.config.maintenance, ended, source=self.entity_id
            ),
            f"{DOMAIN} program ended",
        )
