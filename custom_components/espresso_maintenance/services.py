"""Actions of Espresso Maintenance.

Every input is checked here, before any machine is touched, and refused with a
translated `ServiceValidationError`; voluptuous errors would not be translated.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_AREA_ID,
    ATTR_DEVICE_ID,
    ATTR_ENTITY_ID,
    ATTR_FLOOR_ID,
    ATTR_LABEL_ID,
    ENTITY_MATCH_ALL,
)
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import (
    ATTR_COUNT,
    ATTR_NOTE,
    ATTR_PERFORMED_AT,
    ATTR_SHOTS,
    DOMAIN,
    MAX_NOTE_LENGTH,
    MAX_SHOTS_PER_CALL,
    MAX_SHOTS_SINCE_BACKFLUSH,
    SERVICE_GET_STATUS,
    SERVICE_RECORD_BACKFLUSH,
    SERVICE_RECORD_DESCALE,
    SERVICE_RECORD_SHOT,
    SERVICE_SET_SHOTS_SINCE_BACKFLUSH,
    SERVICE_UNDO_LAST_RECORD,
)
from .machine import EspressoConfigEntry, Machine, now_utc
from .model import Kind, start_of_local_day

TARGET_FIELDS = (
    ATTR_ENTITY_ID,
    ATTR_DEVICE_ID,
    ATTR_AREA_ID,
    ATTR_FLOOR_ID,
    ATTR_LABEL_ID,
)


def _invalid(key: str, **placeholders: Any) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={k: str(v) for k, v in placeholders.items()},
    )


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, (list, tuple, set)) and all(
        isinstance(item, str) for item in value
    ):
        return list(value)
    raise _invalid("invalid_target", target=value)


def _our_entries(hass: HomeAssistant) -> dict[str, EspressoConfigEntry]:
    return {
        entry.entry_id: entry for entry in hass.config_entries.async_entries(DOMAIN)
    }


class _TargetResolver:
    """Finds our config entries behind each kind of target."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.ours = _our_entries(hass)
        self.entities = er.async_get(hass)
        self.devices = dr.async_get(hass)
        self.areas = ar.async_get(hass)

    def from_devices(self, devices: Iterable[dr.DeviceEntry | None]) -> set[str]:
        # A machine's device is identified by its config entry's ID. (Reading
        # DeviceEntry.config_entries instead is deprecated in newer versions.)
        return {
            identifier
            for device in devices
            if device is not None
            for domain, identifier in device.identifiers
            if domain == DOMAIN and identifier in self.ours
        }

    def from_entities(self, entities: Iterable[er.RegistryEntry | None]) -> set[str]:
        return {
            entity.config_entry_id
            for entity in entities
            if entity is not None
            and entity.platform == DOMAIN
            and entity.config_entry_id in self.ours
        }

    def entity(self, entity_id: str) -> set[str]:
        if entity_id == ENTITY_MATCH_ALL:
            return set(self.ours)
        return self.from_entities([self.entities.async_get(entity_id)])

    def device(self, device_id: str) -> set[str]:
        return self.from_devices([self.devices.async_get(device_id)]) or self.linked_to(
            device_id
        )

    def linked_to(self, device_id: str) -> set[str]:
        # A discovered machine's device is connected via the device it was found
        # on, so an action aimed at that device (a La Marzocco, say) reaches it.
        return {
            entry_id
            for entry_id in self.ours
            for device in dr.async_entries_for_config_entry(self.devices, entry_id)
            if device.via_device_id == device_id
        }

    def area(self, area_id: str) -> set[str]:
        return self.from_devices(
            dr.async_entries_for_area(self.devices, area_id)
        ) | self.from_entities(er.async_entries_for_area(self.entities, area_id))

    def floor(self, floor_id: str) -> set[str]:
        found: set[str] = set()
        for area in ar.async_entries_for_floor(self.areas, floor_id):
            found |= self.area(area.id)
        return found

    def label(self, label_id: str) -> set[str]:
        return self.from_devices(
            dr.async_entries_for_label(self.devices, label_id)
        ) | self.from_entities(er.async_entries_for_label(self.entities, label_id))


def _resolve_machines(call: ServiceCall) -> list[Machine]:
    """Turn a call's target into loaded machines, or refuse it.

    Every ID must lead to at least one of our machines; an area, floor or label
    holding none is refused like an unknown device.
    """
    targets = {field: _as_list(call.data.get(field)) for field in TARGET_FIELDS}
    if not any(targets.values()):
        raise _invalid("no_target")
    resolver = _TargetResolver(call.hass)
    lookups = {
        ATTR_ENTITY_ID: resolver.entity,
        ATTR_DEVICE_ID: resolver.device,
        ATTR_AREA_ID: resolver.area,
        ATTR_FLOOR_ID: resolver.floor,
        ATTR_LABEL_ID: resolver.label,
    }
    found: set[str] = set()
    unknown: list[str] = []
    for field, ids in targets.items():
        for target_id in ids:
            if matched := lookups[field](target_id):
                found |= matched
            else:
                unknown.append(target_id)
    if unknown:
        raise _invalid("not_a_machine", target=", ".join(unknown))
    machines = []
    for entry_id in sorted(found, key=lambda eid: resolver.ours[eid].title):
        entry = resolver.ours[entry_id]
        if entry.state is not ConfigEntryState.LOADED:
            raise _invalid("machine_not_loaded", name=entry.title)
        machines.append(entry.runtime_data)
    return machines


def _integer(
    data: dict[str, Any], field: str, default: int, low: int, high: int
) -> int:
    value = data.get(field, default)
    if (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and value.strip().lstrip("-").isdigit()
    ):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid("not_a_whole_number", field=field, value=value)
    if not low <= value <= high:
        raise _invalid("out_of_range", field=field, value=value, min=low, max=high)
    return value


def _performed_at(data: dict[str, Any]) -> datetime | None:
    """Read an optional back-dating time; a date alone means the start of that day."""
    value = data.get(ATTR_PERFORMED_AT)
    if value is None:
        return None
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = start_of_local_day(value, dt_util.get_default_time_zone())
    elif isinstance(value, str):
        # Also reads a date alone ("2026-11-20") as the start of that local day.
        moment = dt_util.parse_datetime(value.strip())
    if moment is None:
        raise _invalid("invalid_datetime", value=value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt_util.get_default_time_zone())
    moment = dt_util.as_utc(moment)
    if moment > dt_util.utcnow():
        raise _invalid("datetime_in_future", value=value)
    return moment


def _note(data: dict[str, Any]) -> str | None:
    value = data.get(ATTR_NOTE)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid("invalid_note")
    value = value.strip()
    if len(value) > MAX_NOTE_LENGTH:
        raise _invalid("note_too_long", length=len(value), max=MAX_NOTE_LENGTH)
    return value or None


type _Run = Callable[[Machine], Awaitable[object]]


@dataclass(frozen=True, kw_only=True)
class _Action:
    fields: tuple[str, ...]
    # The maintenance a machine must track for the action to apply to it.
    requires: Kind | None
    # Checks the call's fields and returns what to do with each machine.
    prepare: Callable[[dict[str, Any]], _Run]


def _prepare_record_shot(data: dict[str, Any]) -> _Run:
    count = _integer(data, ATTR_COUNT, 1, 1, MAX_SHOTS_PER_CALL)
    return lambda machine: machine.async_record_shots(count)


def _prepare_record(kind: Kind) -> Callable[[dict[str, Any]], _Run]:
    def prepare(data: dict[str, Any]) -> _Run:
        moment = _performed_at(data) or now_utc()
        note = _note(data)
        return lambda machine: machine.async_record_maintenance(kind, moment, note)

    return prepare


def _prepare_set_shots(data: dict[str, Any]) -> _Run:
    if ATTR_SHOTS not in data:
        raise _invalid("missing_field", field=ATTR_SHOTS)
    shots = _integer(data, ATTR_SHOTS, 0, 0, MAX_SHOTS_SINCE_BACKFLUSH)
    return lambda machine: machine.async_set_shots_since_backflush(shots)


def _prepare_undo(_data: dict[str, Any]) -> _Run:
    return lambda machine: machine.async_undo_last_record()


ACTIONS: dict[str, _Action] = {
    SERVICE_RECORD_SHOT: _Action(
        fields=(ATTR_COUNT,), requires=None, prepare=_prepare_record_shot
    ),
    SERVICE_RECORD_BACKFLUSH: _Action(
        fields=(ATTR_PERFORMED_AT, ATTR_NOTE),
        requires=Kind.BACKFLUSH,
        prepare=_prepare_record(Kind.BACKFLUSH),
    ),
    SERVICE_RECORD_DESCALE: _Action(
        fields=(ATTR_PERFORMED_AT, ATTR_NOTE),
        requires=Kind.DESCALE,
        prepare=_prepare_record(Kind.DESCALE),
    ),
    SERVICE_UNDO_LAST_RECORD: _Action(fields=(), requires=None, prepare=_prepare_undo),
    SERVICE_SET_SHOTS_SINCE_BACKFLUSH: _Action(
        fields=(ATTR_SHOTS,), requires=Kind.BACKFLUSH, prepare=_prepare_set_shots
    ),
}

# Checks are ours (translated), so the schema lets every field through to them.
_PASS_THROUGH_SCHEMA = vol.Schema({}, extra=vol.ALLOW_EXTRA)


def _check_fields(call: ServiceCall, allowed: tuple[str, ...]) -> dict[str, Any]:
    data = dict(call.data)
    if extra := sorted(set(data) - set(allowed) - set(TARGET_FIELDS)):
        raise _invalid("unknown_field", field=", ".join(extra))
    return data


def _machine_action(
    action: _Action,
) -> Callable[[ServiceCall], Coroutine[Any, Any, None]]:
    async def handle(call: ServiceCall) -> None:
        run = action.prepare(_check_fields(call, action.fields))
        machines = _resolve_machines(call)
        if action.requires is not None:
            for machine in machines:
                if not machine.settings.tracks(action.requires):
                    raise _invalid(f"{action.requires}_not_tracked", name=machine.name)
        for machine in machines:
            await run(machine)

    return handle


async def _async_get_status(call: ServiceCall) -> ServiceResponse:
    _check_fields(call, ())
    machines = _resolve_machines(call)
    return {"machines": [machine.status_as_dict() for machine in machines]}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions; called once from async_setup."""
    for name, action in ACTIONS.items():
        hass.services.async_register(
            DOMAIN, name, _machine_action(action), schema=_PASS_THROUGH_SCHEMA
        )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_STATUS,
        _async_get_status,
        schema=_PASS_THROUGH_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
