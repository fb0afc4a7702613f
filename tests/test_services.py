"""Tests for the actions, and the events they fire."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
    floor_registry as fr,
    label_registry as lr,
)
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.espresso_maintenance.const import (
    CONF_THREE_WAY_VALVE,
    CONF_TRACK_DESCALE,
    DOMAIN,
    EVENT_NAME,
)
from custom_components.espresso_maintenance.store import storage_key

from .conftest import ENTRY_ID, NOW, second_machine

pytestmark = pytest.mark.freeze_time(NOW)

TARGET = {"entity_id": "sensor.gaggia_total_shots"}


async def call(
    hass: HomeAssistant, service: str, data: dict[str, Any], **kwargs: Any
) -> Any:
    """Call one of our actions and wait for it."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, **kwargs
    )


def state(hass: HomeAssistant, entity_id: str) -> str:
    """Return an entity's state."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


async def test_record_shot(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Shots count, one by default."""
    await call(hass, "record_shot", TARGET)
    assert state(hass, "sensor.gaggia_shots_since_backflush") == "9"
    await call(hass, "record_shot", {**TARGET, "count": 4})
    assert state(hass, "sensor.gaggia_shots_since_backflush") == "13"
    assert state(hass, "sensor.gaggia_total_shots") == "13"
    assert state(hass, "sensor.gaggia_shots_until_backflush") == "1"
    assert state(hass, "sensor.gaggia_backflush_status") == "due_soon"


async def test_record_backflush_resets_and_fires(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A backflush resets the counter, is stored before the call returns, and fires."""
    events = async_capture_events(hass, EVENT_NAME)
    await call(hass, "record_backflush", {**TARGET, "note": "Cafiza"})
    assert state(hass, "sensor.gaggia_shots_since_backflush") == "0"
    assert state(hass, "sensor.gaggia_days_since_backflush") == "0"
    assert state(hass, "sensor.gaggia_last_backflush") == "2026-11-28T08:30:00+00:00"
    assert state(hass, "sensor.gaggia_total_shots") == "8"
    assert len(events) == 1
    assert events[0].data == {
        "device_id": init_integration.runtime_data.device_id,
        "type": "backflush_recorded",
        "performed_at": "2026-11-28T08:30:00+00:00",
        "note": "Cafiza",
        "source": None,
        "shots_since_backflush": 8,
        "total_shots": 8,
    }
    event_state = hass.states.get("event.gaggia_maintenance_event")
    assert event_state is not None
    assert event_state.attributes["event_type"] == "backflush_recorded"
    assert event_state.attributes["note"] == "Cafiza"


async def test_record_is_on_disk_when_the_call_returns(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
) -> None:
    """Nothing waits for a delayed write."""
    await call(hass, "record_descale", {**TARGET, "note": "Descaler"})
    history = hass_storage[storage_key(ENTRY_ID)]["data"]["history"]
    assert history == ["descale 2026-11-28T08:30:00+00:00 8 8 - Descaler"]


async def test_back_dated_record(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A back-dated descale counts days from when it was done."""
    await call(hass, "record_descale", {**TARGET, "performed_at": "2026-11-20 18:00"})
    # 18:00 in Rome is 17:00 UTC.
    assert state(hass, "sensor.gaggia_last_descale") == "2026-11-20T17:00:00+00:00"
    assert state(hass, "sensor.gaggia_days_since_descale") == "8"
    await call(hass, "record_backflush", {**TARGET, "performed_at": "2026-11-27"})
    assert state(hass, "sensor.gaggia_last_backflush") == "2026-11-26T23:00:00+00:00"
    assert state(hass, "sensor.gaggia_days_since_backflush") == "1"


async def test_older_back_dated_record_only_joins_history(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A record older than the last one does not move the counters."""
    await call(
        hass,
        "record_backflush",
        {**TARGET, "performed_at": "2026-11-01T10:00:00+01:00"},
    )
    assert state(hass, "sensor.gaggia_shots_since_backflush") == "8"
    assert state(hass, "sensor.gaggia_last_backflush") == "2026-11-24T11:00:00+00:00"
    machine = init_integration.runtime_data
    assert [r.performed_at.isoformat() for r in machine.state.history] == [
        "2026-11-01T09:00:00+00:00"
    ]


async def test_undo_last_record(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Undo restores the state before a mis-pressed backflush, keeping later shots."""
    events = async_capture_events(hass, EVENT_NAME)
    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": "button.gaggia_record_backflush"},
        blocking=True,
    )
    await call(hass, "record_shot", {**TARGET, "count": 2})
    await call(hass, "undo_last_record", TARGET)
    assert state(hass, "sensor.gaggia_shots_since_backflush") == "10"
    assert state(hass, "sensor.gaggia_last_backflush") == "2026-11-24T11:00:00+00:00"
    assert state(hass, "sensor.gaggia_total_shots") == "10"
    assert init_integration.runtime_data.state.history == ()
    assert events[-1].data["type"] == "record_undone"
    assert events[-1].data["kind"] == "backflush"

    # A validation error (the caller's mistake), so Home Assistant answers it
    # as a refused call rather than logging an unexpected exception.
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "undo_last_record", TARGET)
    assert err.value.translation_key == "nothing_to_undo"


async def test_set_shots_since_backflush(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The counter can be corrected; the lifetime total stays."""
    await call(hass, "set_shots_since_backflush", {**TARGET, "shots": 20})
    assert state(hass, "sensor.gaggia_shots_since_backflush") == "20"
    assert state(hass, "sensor.gaggia_total_shots") == "8"
    assert state(hass, "binary_sensor.gaggia_backflush_due") == "on"


async def test_get_status(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The status response lists each targeted machine."""
    response = await call(hass, "get_status", TARGET, return_response=True)
    assert response == {
        "machines": [
            {
                "device_id": init_integration.runtime_data.device_id,
                "name": "Gaggia",
                "tracks_backflush": True,
                "tracks_descale": True,
                "shots_since_backflush": 8,
                "total_shots": 8,
                "shots_until_backflush": 6,
                "days_since_backflush": 4,
                "days_since_descale": 49,
                "last_backflush": "2026-11-24T11:00:00+00:00",
                "last_descale": "2026-10-10T10:00:00+00:00",
                "next_descale": "2026-12-08T23:00:00+00:00",
                "backflush_status": "ok",
                "descale_status": "due_soon",
                "backflush_due": False,
                "descale_due": False,
                "backflush_interval_shots": 14,
                "backflush_interval_days": 7,
                "descale_interval_days": 60,
                "descale_min_days": 30,
                "descale_max_days": 90,
                "water_per_shot_ml": 100,
                "scale_load_percent": 81.7,
                "descale_days_left": 11,
                "descale_driver": "use",
                "descale_rate_measured": False,
                "water_per_day_ml": 200,
            }
        ]
    }


async def test_due_event_fires_once_per_due_period(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The due event is an edge: not again on later shots, nor after a reload."""
    events = async_capture_events(hass, EVENT_NAME)
    await call(hass, "record_shot", {**TARGET, "count": 6})
    await call(hass, "record_shot", TARGET)
    assert [e.data["type"] for e in events] == ["backflush_due"]
    assert events[0].data == {
        "device_id": init_integration.runtime_data.device_id,
        "type": "backflush_due",
        "shots_since_backflush": 14,
        "days_since_backflush": 4,
        "interval_shots": 14,
        "interval_days": 7,
    }
    assert state(hass, "binary_sensor.gaggia_backflush_due") == "on"
    assert state(hass, "sensor.gaggia_backflush_status") == "due"

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert [e.data["type"] for e in events] == ["backflush_due"]

    await call(hass, "record_backflush", TARGET)
    await call(hass, "record_shot", {**TARGET, "count": 14})
    assert [e.data["type"] for e in events] == [
        "backflush_due",
        "backflush_recorded",
        "backflush_due",
    ]


async def test_targets_by_device_area_floor_and_label(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A machine can be targeted by device, area, floor, label or any entity."""
    machine = init_integration.runtime_data
    floor = fr.async_get(hass).async_create("Ground floor")
    kitchen = ar.async_get(hass).async_create("Kitchen", floor_id=floor.floor_id)
    label = lr.async_get(hass).async_create("Coffee")
    device_registry.async_update_device(
        machine.device_id, area_id=kitchen.id, labels={label.label_id}
    )
    for target in (
        {"device_id": machine.device_id},
        {"area_id": kitchen.id},
        {"floor_id": floor.floor_id},
        {"label_id": label.label_id},
        {"entity_id": "button.gaggia_record_descale"},
        {"entity_id": "all"},
        {"device_id": [machine.device_id], "entity_id": "sensor.gaggia_total_shots"},
    ):
        await call(hass, "record_shot", target)
    assert state(hass, "sensor.gaggia_total_shots") == "15"


async def test_one_call_for_several_machines(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """An area with two machines records on both."""
    second = await second_machine(hass, entry_data, entry_options, "Lelit")
    kitchen = ar.async_get(hass).async_create("Kitchen")
    devices = dr.async_get(hass)
    for entry in (init_integration, second):
        devices.async_update_device(entry.runtime_data.device_id, area_id=kitchen.id)
    await call(hass, "record_shot", {"area_id": kitchen.id, "count": 2})
    assert state(hass, "sensor.gaggia_total_shots") == "10"
    assert state(hass, "sensor.lelit_total_shots") == "10"
    response = await call(
        hass, "get_status", {"area_id": kitchen.id}, return_response=True
    )
    assert [m["name"] for m in response["machines"]] == ["Gaggia", "Lelit"]


BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    ("record_shot", {}, "no_target"),
    ("record_shot", {"entity_id": []}, "no_target"),
    ("record_shot", {"entity_id": "sensor.unknown"}, "not_a_machine"),
    ("record_shot", {"device_id": "0123456789abcdef"}, "not_a_machine"),
    ("record_shot", {"area_id": "nowhere"}, "not_a_machine"),
    ("record_shot", {"floor_id": "nowhere"}, "not_a_machine"),
    ("record_shot", {"label_id": "nowhere"}, "not_a_machine"),
    ("record_shot", {"entity_id": 42}, "invalid_target"),
    ("record_shot", {**TARGET, "count": 0}, "out_of_range"),
    ("record_shot", {**TARGET, "count": 21}, "out_of_range"),
    ("record_shot", {**TARGET, "count": -3}, "out_of_range"),
    ("record_shot", {**TARGET, "count": 1.5}, "not_a_whole_number"),
    ("record_shot", {**TARGET, "count": "three"}, "not_a_whole_number"),
    ("record_shot", {**TARGET, "count": True}, "not_a_whole_number"),
    ("record_shot", {**TARGET, "count": None}, "not_a_whole_number"),
    ("record_shot", {**TARGET, "shots": 1}, "unknown_field"),
    (
        "record_backflush",
        {**TARGET, "performed_at": "2026-11-29T08:00:00+00:00"},
        "datetime_in_future",
    ),
    (
        "record_backflush",
        {**TARGET, "performed_at": "2026-11-28 10:31"},
        "datetime_in_future",
    ),
    (
        "record_backflush",
        {**TARGET, "performed_at": "2027-01-01"},
        "datetime_in_future",
    ),
    ("record_backflush", {**TARGET, "performed_at": "yesterday"}, "invalid_datetime"),
    ("record_backflush", {**TARGET, "performed_at": "2026-02-30"}, "invalid_datetime"),
    ("record_backflush", {**TARGET, "performed_at": 1700000000}, "invalid_datetime"),
    ("record_backflush", {**TARGET, "note": "x" * 256}, "note_too_long"),
    ("record_backflush", {**TARGET, "note": 12}, "invalid_note"),
    ("record_backflush", {**TARGET, "count": 1}, "unknown_field"),
    (
        "record_descale",
        {**TARGET, "performed_at": "3026-01-01T00:00:00"},
        "datetime_in_future",
    ),
    ("record_descale", {**TARGET, "note": ["a"]}, "invalid_note"),
    ("record_descale", {"entity_id": "sensor.unknown", "note": "x"}, "not_a_machine"),
    ("set_shots_since_backflush", TARGET, "missing_field"),
    ("set_shots_since_backflush", {**TARGET, "shots": -1}, "out_of_range"),
    ("set_shots_since_backflush", {**TARGET, "shots": 10001}, "out_of_range"),
    ("set_shots_since_backflush", {**TARGET, "shots": "lots"}, "not_a_whole_number"),
    ("undo_last_record", {**TARGET, "note": "x"}, "unknown_field"),
    ("undo_last_record", {}, "no_target"),
    ("get_status", {}, "no_target"),
    ("get_status", {**TARGET, "verbose": True}, "unknown_field"),
]


@pytest.mark.parametrize(("service", "data", "key"), BAD_INPUT)
async def test_bad_input_is_refused_and_changes_nothing(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
    service: str,
    data: dict[str, Any],
    key: str,
) -> None:
    """Each bad input gets a translated error; state and storage stay as they were."""
    before_states = {s.entity_id: s.state for s in hass.states.async_all()}
    before_disk = hass_storage[storage_key(ENTRY_ID)]
    events = async_capture_events(hass, EVENT_NAME)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, service, data, return_response=service == "get_status")
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    assert str(err.value)  # the translated message is rendered
    assert {s.entity_id: s.state for s in hass.states.async_all()} == before_states
    assert hass_storage[storage_key(ENTRY_ID)] == before_disk
    assert events == []


async def test_other_integrations_entities_are_refused(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """An entity of another integration is not a machine."""
    entity_registry.async_get_or_create(
        "sensor", "other", "power", suggested_object_id="plug"
    )
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "record_shot", {"entity_id": "sensor.plug"})
    assert err.value.translation_key == "not_a_machine"
    assert err.value.translation_placeholders == {"target": "sensor.plug"}


async def test_message_is_translated(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The user reads the English text from translations, with placeholders filled."""
    with pytest.raises(
        ServiceValidationError, match="count must be from 1 to 20, not 99"
    ):
        await call(hass, "record_shot", {**TARGET, "count": 99})


@pytest.mark.parametrize(
    ("changes", "service", "key"),
    [
        ({CONF_THREE_WAY_VALVE: False}, "record_backflush", "backflush_not_tracked"),
        (
            {CONF_THREE_WAY_VALVE: False},
            "set_shots_since_backflush",
            "backflush_not_tracked",
        ),
    ],
)
async def test_untracked_maintenance_is_refused(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    changes: dict[str, Any],
    service: str,
    key: str,
) -> None:
    """A machine without a valve cannot record a backflush."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, **changes}
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            service,
            {**TARGET, "shots": 1} if service.startswith("set") else TARGET,
        )
    assert err.value.translation_key == key


async def test_untracked_descale_is_refused(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, time_zone: str
) -> None:
    """A machine whose descaling is not tracked cannot record one."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={**mock_config_entry.options, CONF_TRACK_DESCALE: False},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "record_descale", TARGET)
    assert err.value.translation_key == "descale_not_tracked"


async def test_unloaded_machine_is_refused(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """A machine that is not loaded cannot record anything."""
    device_id = init_integration.runtime_data.device_id
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "record_shot", {"device_id": device_id})
    assert err.value.translation_key == "machine_not_loaded"


async def test_failed_write_records_nothing(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A record that cannot be written is refused, and the state stays."""
    machine = init_integration.runtime_data
    with (
        pytest.MonkeyPatch.context() as patches,
    ):
        from homeassistant.util.file import WriteError  # noqa: PLC0415

        async def fail(*_args: Any) -> None:
            raise WriteError("disk full")

        patches.setattr("homeassistant.helpers.storage.Store._async_write_data", fail)
        with pytest.raises(HomeAssistantError) as err:
            await call(hass, "record_backflush", TARGET)
    assert err.value.translation_key == "storage_write_failed"
    assert "disk full" in str(err.value)
    assert machine.state.shots_since_backflush == 8
    assert state(hass, "sensor.gaggia_shots_since_backflush") == "8"


async def test_performed_at_as_python_objects(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Scripts in Python may pass datetime or date objects."""
    await call(
        hass,
        "record_descale",
        {**TARGET, "performed_at": datetime(2026, 11, 27, 7, 0, tzinfo=UTC)},
    )
    assert state(hass, "sensor.gaggia_last_descale") == "2026-11-27T07:00:00+00:00"
    await call(hass, "record_backflush", {**TARGET, "performed_at": date(2026, 11, 26)})
    assert state(hass, "sensor.gaggia_last_backflush") == "2026-11-25T23:00:00+00:00"
    # A naive time is local time.
    await call(
        hass,
        "record_descale",
        {**TARGET, "performed_at": datetime(2026, 11, 28, 9, 0)},  # noqa: DTZ001
    )
    assert state(hass, "sensor.gaggia_last_descale") == "2026-11-28T08:00:00+00:00"
    # Empty notes are no notes; counts may come as whole floats or digit strings.
    await call(hass, "record_backflush", {**TARGET, "note": "   "})
    assert init_integration.runtime_data.state.history[-1].note is None
    await call(hass, "record_shot", {**TARGET, "count": 2.0})
    await call(hass, "record_shot", {**TARGET, "count": " 3 "})
    assert state(hass, "sensor.gaggia_total_shots") == "13"
