"""Tests for recording backflushes and descales the machine reports, replaying traces."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.espresso_maintenance.const import (
    CONF_BACKFLUSH_SOURCE,
    CONF_BACKFLUSH_SOURCE_ENTITY,
    CONF_DESCALE_SOURCE,
    CONF_DESCALE_SOURCE_ENTITY,
    CONF_THREE_WAY_VALVE,
    DOMAIN,
    EVENT_NAME,
)
from custom_components.espresso_maintenance.store import storage_key

from .conftest import ENTRY_ID, NOW

pytestmark = pytest.mark.freeze_time(NOW)

TIMESTAMP = {"device_class": "timestamp"}
# The Gaggia's last backflush (from the starting point) and last descale.
# The setup date 2026-11-24 stands for noon in Rome.
LAST_BACKFLUSH = "2026-11-24T11:00:00+00:00"
LAST_DESCALE = "2026-10-09T22:00:00+00:00"

type Trace = list[tuple[float, str, dict[str, Any]]]


async def setup_sources(
    hass: HomeAssistant, entry: MockConfigEntry, **options: Any
) -> None:
    """Set up the machine recording maintenance from entities."""
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, options={**entry.options, **options})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def replay(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entity_id: str, trace: Trace
) -> None:
    """Set the source's states at their moments (seconds from now)."""
    elapsed = 0.0
    for seconds, value, attributes in trace:
        freezer.tick(seconds - elapsed)
        elapsed = seconds
        hass.states.async_set(entity_id, value, attributes)
        await hass.async_block_till_done()


def state(hass: HomeAssistant, entity_id: str) -> str:
    """Return an entity's state."""
    found = hass.states.get(entity_id)
    assert found is not None, entity_id
    return found.state


def recorded(events: list[Any]) -> list[tuple[str, str, str | None]]:
    """Return the recorded events' type, time and source."""
    return [
        (event.data["type"], event.data["performed_at"], event.data["source"])
        for event in events
        if event.data["type"].endswith("_recorded")
    ]


@pytest.fixture
async def last_cleaning(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, time_zone: str
) -> MockConfigEntry:
    """Record backflushes from a last-cleaning time, known from before the last one."""
    hass.states.async_set(
        "sensor.micra_last_cleaning", "2026-11-20T07:00:00+00:00", TIMESTAMP
    )
    await setup_sources(
        hass,
        mock_config_entry,
        **{
            CONF_BACKFLUSH_SOURCE: "timestamp",
            CONF_BACKFLUSH_SOURCE_ENTITY: "sensor.micra_last_cleaning",
        },
    )
    return mock_config_entry


async def test_timestamp_trace(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    last_cleaning: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Each new, later time records a backflush then; anything else records nothing."""
    events = async_capture_events(hass, EVENT_NAME)
    assert state(hass, "sensor.gaggia_last_backflush") == LAST_BACKFLUSH
    trace: Trace = [
        (10, "unavailable", TIMESTAMP),
        (20, "2026-11-20T07:00:00+00:00", TIMESTAMP),  # older than the last record
        (30, "unknown", TIMESTAMP),
        (40, "2026-11-28T08:25:00+00:00", TIMESTAMP),  # cleaned five minutes ago
        (50, "2026-11-28T08:25:00+00:00", {**TIMESTAMP, "friendly_name": "Last"}),
        (60, "not a time", TIMESTAMP),
        (70, "2026-11-28T08:25:00", TIMESTAMP),  # no time zone
    ]
    await replay(hass, freezer, "sensor.micra_last_cleaning", trace)
    assert recorded(events) == [
        (
            "backflush_recorded",
            "2026-11-28T08:25:00+00:00",
            "sensor.micra_last_cleaning",
        )
    ]
    assert state(hass, "sensor.gaggia_last_backflush") == "2026-11-28T08:25:00+00:00"
    assert state(hass, "sensor.gaggia_shots_since_backflush") == "0"
    data = hass_storage[storage_key(ENTRY_ID)]["data"]
    assert data["record_sources"] == {"0": "sensor.micra_last_cleaning"}
    assert data["backflush_source_reading"] == "2026-11-28T08:25:00+00:00"
    # Entered 40 s after the start, five minutes after it was done: back-dated.
    assert data["history"] == [
        "backflush 2026-11-28T08:25:00+00:00 8 8 2026-11-28T08:30:40+00:00"
    ]


async def test_timestamp_once_across_restarts_and_undo(
    hass: HomeAssistant, last_cleaning: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A time is recorded once: not again after a restart, nor after an undo."""
    events = async_capture_events(hass, EVENT_NAME)
    await replay(
        hass,
        freezer,
        "sensor.micra_last_cleaning",
        [(10, "2026-11-28T08:00:00+00:00", TIMESTAMP)],
    )
    assert len(recorded(events)) == 1
    assert await hass.config_entries.async_reload(last_cleaning.entry_id)
    await hass.async_block_till_done()
    assert len(recorded(events)) == 1
    await hass.services.async_call(
        DOMAIN,
        "undo_last_record",
        {"entity_id": "sensor.gaggia_total_shots"},
        blocking=True,
    )
    undone = [event.data for event in events if event.data["type"] == "record_undone"]
    assert undone[0]["source"] == "sensor.micra_last_cleaning"
    assert state(hass, "sensor.gaggia_last_backflush") == LAST_BACKFLUSH
    assert await hass.config_entries.async_reload(last_cleaning.entry_id)
    await hass.async_block_till_done()
    assert state(hass, "sensor.gaggia_last_backflush") == LAST_BACKFLUSH
    assert len(recorded(events)) == 1
    # A backflush the next day is new.
    await replay(
        hass,
        freezer,
        "sensor.micra_last_cleaning",
        [(86400, "2026-11-29T08:00:00+00:00", TIMESTAMP)],
    )
    assert len(recorded(events)) == 2


async def test_timestamp_not_before_a_record_by_hand(
    hass: HomeAssistant, last_cleaning: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Pressing the button after cleaning, then the machine's time arriving: one record."""
    events = async_capture_events(hass, EVENT_NAME)
    await hass.services.async_call(
        DOMAIN,
        "record_backflush",
        {"entity_id": "sensor.gaggia_total_shots"},
        blocking=True,
    )
    await replay(
        hass,
        freezer,
        "sensor.micra_last_cleaning",
        [(30, "2026-11-28T08:29:00+00:00", TIMESTAMP)],
    )
    assert recorded(events) == [
        ("backflush_recorded", "2026-11-28T08:30:00+00:00", None)
    ]


async def test_timestamp_clock_ahead(
    hass: HomeAssistant, last_cleaning: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A machine clock a little ahead records now; far ahead is not a time at all."""
    events = async_capture_events(hass, EVENT_NAME)
    await replay(
        hass,
        freezer,
        "sensor.micra_last_cleaning",
        [
            (10, "2027-01-01T00:00:00+00:00", TIMESTAMP),
            (20, "2026-11-28T08:31:00+00:00", TIMESTAMP),
        ],
    )
    assert recorded(events) == [
        (
            "backflush_recorded",
            "2026-11-28T08:30:20+00:00",
            "sensor.micra_last_cleaning",
        )
    ]


async def test_timestamp_at_start_records_what_happened_while_stopped(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
) -> None:
    """A cleaning done while Home Assistant was stopped is recorded at start."""
    hass.states.async_set(
        "sensor.micra_last_descale", "2026-11-27T18:00:00+00:00", TIMESTAMP
    )
    await setup_sources(
        hass,
        mock_config_entry,
        **{
            CONF_DESCALE_SOURCE: "timestamp",
            CONF_DESCALE_SOURCE_ENTITY: "sensor.micra_last_descale",
        },
    )
    assert state(hass, "sensor.gaggia_last_descale") == "2026-11-27T18:00:00+00:00"
    assert state(hass, "sensor.gaggia_days_since_descale") == "1"


@pytest.fixture
async def backflush_program(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, time_zone: str
) -> MockConfigEntry:
    """Record backflushes from a program entity, off at the start."""
    hass.states.async_set("binary_sensor.micra_backflush_active", "off")
    await setup_sources(
        hass,
        mock_config_entry,
        **{
            CONF_BACKFLUSH_SOURCE: "program",
            CONF_BACKFLUSH_SOURCE_ENTITY: "binary_sensor.micra_backflush_active",
        },
    )
    return mock_config_entry


async def test_program_trace(
    hass: HomeAssistant,
    backflush_program: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A program that ran is recorded when it ends; flapping and gaps record nothing."""
    events = async_capture_events(hass, EVENT_NAME)
    trace: Trace = [
        (10, "on", {}), (13, "off", {}),  # flapping
        (20, "on", {}), (40, "unavailable", {}), (60, "on", {}), (120, "off", {}),
        (200, "on", {}), (290, "off", {}),  # the backflush program: 90 s
        (400, "on", {}), (480, "off", {}),  # its rinse, minutes later
    ]  # fmt: skip
    await replay(hass, freezer, "binary_sensor.micra_backflush_active", trace)
    assert recorded(events) == [
        (
            "backflush_recorded",
            "2026-11-28T08:34:50+00:00",
            "binary_sensor.micra_backflush_active",
        )
    ]
    assert state(hass, "sensor.gaggia_last_backflush") == "2026-11-28T08:34:50+00:00"
    source = backflush_program.runtime_data.sources[CONF_BACKFLUSH_SOURCE]
    assert source.diagnostics() == {
        "kind": "program",
        "entity_id": "binary_sensor.micra_backflush_active",
        "last_records": ["2026-11-28T08:34:50+00:00"],
    }


async def test_program_restart_in_the_middle(
    hass: HomeAssistant,
    backflush_program: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Home Assistant restarting while the program runs records nothing."""
    events = async_capture_events(hass, EVENT_NAME)
    await replay(
        hass, freezer, "binary_sensor.micra_backflush_active", [(10, "on", {})]
    )
    assert await hass.config_entries.async_reload(backflush_program.entry_id)
    await hass.async_block_till_done()
    await replay(
        hass, freezer, "binary_sensor.micra_backflush_active", [(100, "off", {})]
    )
    assert recorded(events) == []


async def test_descale_program_on_a_switch(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A descaling program must run two minutes; its rinse is the same descale."""
    events = async_capture_events(hass, EVENT_NAME)
    hass.states.async_set("switch.descaling", "off")
    await setup_sources(
        hass,
        mock_config_entry,
        **{
            CONF_DESCALE_SOURCE: "program",
            CONF_DESCALE_SOURCE_ENTITY: "switch.descaling",
        },
    )
    trace: Trace = [
        (10, "on", {}), (70, "off", {}),  # a minute: switched on by mistake
        (100, "on", {}), (1600, "off", {}),  # 25 minutes of descaling
        (1700, "on", {}), (2000, "off", {}),  # the rinse
    ]  # fmt: skip
    await replay(hass, freezer, "switch.descaling", trace)
    assert recorded(events) == [
        ("descale_recorded", "2026-11-28T08:56:40+00:00", "switch.descaling")
    ]


async def test_untracked_maintenance_has_no_source(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entry_data: dict[str, Any],
    time_zone: str,
) -> None:
    """Without a three-way valve, a backflush source in the options is not used."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**entry_data, CONF_THREE_WAY_VALVE: False},
        options={
            **mock_config_entry.options,
            CONF_BACKFLUSH_SOURCE: "program",
            CONF_BACKFLUSH_SOURCE_ENTITY: "binary_sensor.micra_backflush_active",
        },
    )
    hass.states.async_set("binary_sensor.micra_backflush_active", "off")
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.runtime_data.sources == {}


async def test_timestamp_diagnostics_and_calendar(
    hass: HomeAssistant, last_cleaning: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Diagnostics show the last value; the calendar says where a record came from."""
    await replay(
        hass,
        freezer,
        "sensor.micra_last_cleaning",
        [(10, "2026-11-28T08:00:00+00:00", TIMESTAMP)],
    )
    source = last_cleaning.runtime_data.sources[CONF_BACKFLUSH_SOURCE]
    assert source.diagnostics() == {
        "kind": "timestamp",
        "entity_id": "sensor.micra_last_cleaning",
        "last_records": ["2026-11-28T08:00:00+00:00"],
        "last_value": "2026-11-28T08:00:00+00:00",
    }
    result = await hass.services.async_call(
        "calendar",
        "get_events",
        {
            "entity_id": "calendar.gaggia_maintenance_calendar",
            "start_date_time": "2026-11-28T00:00:00+00:00",
            "end_date_time": "2026-11-28T09:00:00+00:00",
        },
        blocking=True,
        return_response=True,
    )
    assert result is not None
    events: Any = result["calendar.gaggia_maintenance_calendar"]
    [backflush] = [
        event for event in events["events"] if event["summary"] == "Gaggia: Backflush"
    ]
    assert backflush["description"].endswith("Source: sensor.micra_last_cleaning")


async def test_maintenance_source_deleted_raises_fixable_issue(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Deleting the source raises a repair whose fix picks a new one of the same kind."""
    entity_registry.async_get_or_create(
        "sensor", "lamarzocco", "last_cleaning", suggested_object_id="micra_last_cleaning",
        original_device_class="timestamp",
    )  # fmt: skip
    hass.states.async_set("sensor.micra_last_cleaning", "unknown", TIMESTAMP)
    hass.states.async_set("sensor.other_last_cleaning", "unknown", TIMESTAMP)
    hass.states.async_set("binary_sensor.door", "off")
    await setup_sources(
        hass,
        mock_config_entry,
        **{
            CONF_BACKFLUSH_SOURCE: "timestamp",
            CONF_BACKFLUSH_SOURCE_ENTITY: "sensor.micra_last_cleaning",
        },
    )
    entity_registry.async_remove("sensor.micra_last_cleaning")
    await hass.async_block_till_done()
    issue_id = f"backflush_source_missing_{ENTRY_ID}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_key == "backflush_source_missing"
    assert issue.translation_placeholders == {
        "name": "Gaggia",
        "entity_id": "sensor.micra_last_cleaning",
    }

    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    flow = await response.json()
    assert flow["step_id"] == "pick"
    response = await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}",
        json={CONF_BACKFLUSH_SOURCE_ENTITY: "sensor.gaggia_last_backflush"},
    )
    flow = await response.json()
    assert flow["errors"] == {CONF_BACKFLUSH_SOURCE_ENTITY: "source_is_own_entity"}
    # What was entered is shown again.
    assert flow["data_schema"][0]["description"] == {
        "suggested_value": "sensor.gaggia_last_backflush"
    }
    response = await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}",
        json={CONF_BACKFLUSH_SOURCE_ENTITY: "sensor.other_last_cleaning"},
    )
    assert (await response.json())["type"] == "create_entry"
    await hass.async_block_till_done()
    assert (
        mock_config_entry.options[CONF_BACKFLUSH_SOURCE_ENTITY]
        == "sensor.other_last_cleaning"
    )
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    await replay(
        hass,
        freezer,
        "sensor.other_last_cleaning",
        [(10, "2026-11-28T08:00:00+00:00", TIMESTAMP)],
    )
    assert state(hass, "sensor.gaggia_last_backflush") == "2026-11-28T08:00:00+00:00"


async def test_descale_program_fix_flow_refuses_other_kinds(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
) -> None:
    """A program source missing at start is replaced by another on/off entity only."""
    hass.states.async_set("sensor.micra_last_descale", "unknown", TIMESTAMP)
    hass.states.async_set("switch.descaling", "off")
    await setup_sources(
        hass,
        mock_config_entry,
        **{
            CONF_DESCALE_SOURCE: "program",
            CONF_DESCALE_SOURCE_ENTITY: "switch.gone",
        },
    )
    issue_id = f"descale_source_missing_{ENTRY_ID}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    flow = await response.json()
    assert flow["description_placeholders"] == {
        "name": "Gaggia",
        "entity_id": "switch.gone",
    }
    response = await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}",
        json={CONF_DESCALE_SOURCE_ENTITY: "switch.nothing"},
    )
    flow = await response.json()
    assert flow["errors"] == {CONF_DESCALE_SOURCE_ENTITY: "source_not_found"}
    response = await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}",
        json={CONF_DESCALE_SOURCE_ENTITY: "switch.descaling"},
    )
    assert (await response.json())["type"] == "create_entry"
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert mock_config_entry.options[CONF_DESCALE_SOURCE_ENTITY] == "switch.descaling"


async def test_maintenance_source_rename_is_followed(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Renaming the source updates the options and recording goes on from the new ID."""
    entity_registry.async_get_or_create(
        "binary_sensor",
        "lamarzocco",
        "backflush",
        suggested_object_id="micra_backflush",
    )
    hass.states.async_set("binary_sensor.micra_backflush", "off")
    await setup_sources(
        hass,
        mock_config_entry,
        **{
            CONF_BACKFLUSH_SOURCE: "program",
            CONF_BACKFLUSH_SOURCE_ENTITY: "binary_sensor.micra_backflush",
        },
    )
    entity_registry.async_update_entity(
        "binary_sensor.micra_backflush", new_entity_id="binary_sensor.kitchen_backflush"
    )
    hass.states.async_remove("binary_sensor.micra_backflush")
    hass.states.async_set("binary_sensor.kitchen_backflush", "off")
    await hass.async_block_till_done()
    assert (
        mock_config_entry.options[CONF_BACKFLUSH_SOURCE_ENTITY]
        == "binary_sensor.kitchen_backflush"
    )
    assert mock_config_entry.state is ConfigEntryState.LOADED
    issue_id = f"backflush_source_missing_{ENTRY_ID}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    await replay(
        hass,
        freezer,
        "binary_sensor.kitchen_backflush",
        [(10, "on", {}), (100, "off", {})],
    )
    assert state(hass, "sensor.gaggia_last_backflush") == "2026-11-28T08:31:40+00:00"


async def test_source_removed_from_the_options_clears_its_repair(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, time_zone: str
) -> None:
    """Choosing no source any more takes away the repair of the one that was gone."""
    await setup_sources(
        hass,
        mock_config_entry,
        **{
            CONF_BACKFLUSH_SOURCE: "program",
            CONF_BACKFLUSH_SOURCE_ENTITY: "binary_sensor.gone",
        },
    )
    issue_id = f"backflush_source_missing_{ENTRY_ID}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={**mock_config_entry.options, CONF_BACKFLUSH_SOURCE: "none"},
    )
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_one_rename_for_two_sources_on_one_entity(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    entity_registry: er.EntityRegistry,
) -> None:
    """Options set outside the flows may name one entity twice: both follow it."""
    entity_registry.async_get_or_create(
        "sensor", "machine", "last_maintenance", suggested_object_id="last_maintenance",
        original_device_class="timestamp",
    )  # fmt: skip
    hass.states.async_set("sensor.last_maintenance", "unknown", TIMESTAMP)
    await setup_sources(
        hass,
        mock_config_entry,
        **{
            CONF_BACKFLUSH_SOURCE: "timestamp",
            CONF_BACKFLUSH_SOURCE_ENTITY: "sensor.last_maintenance",
            CONF_DESCALE_SOURCE: "timestamp",
            CONF_DESCALE_SOURCE_ENTITY: "sensor.last_maintenance",
        },
    )
    entity_registry.async_update_entity(
        "sensor.last_maintenance", new_entity_id="sensor.micra_last_maintenance"
    )
    await hass.async_block_till_done()
    assert mock_config_entry.options[CONF_BACKFLUSH_SOURCE_ENTITY] == (
        "sensor.micra_last_maintenance"
    )
    assert mock_config_entry.options[CONF_DESCALE_SOURCE_ENTITY] == (
        "sensor.micra_last_maintenance"
    )


async def test_timestamp_source_state_removed(
    hass: HomeAssistant, last_cleaning: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A source whose state goes away records nothing, and starts again after."""
    events = async_capture_events(hass, EVENT_NAME)
    hass.states.async_remove("sensor.micra_last_cleaning")
    await hass.async_block_till_done()
    await replay(
        hass,
        freezer,
        "sensor.micra_last_cleaning",
        [(10, "2026-11-28T08:00:00+00:00", TIMESTAMP)],
    )
    assert len(recorded(events)) == 1
