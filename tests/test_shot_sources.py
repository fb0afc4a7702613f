"""Tests for counting shots from another entity, replaying realistic state traces."""

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
    CONF_DETECT_BACKFLUSH,
    CONF_MAX_SECONDS,
    CONF_MIN_SECONDS,
    CONF_POWER_OFF_W,
    CONF_POWER_ON_W,
    CONF_SHOT_SOURCE,
    CONF_SOURCE_ENTITY,
    DOMAIN,
    EVENT_NAME,
)
from custom_components.espresso_maintenance.detectors import SourceKind
from custom_components.espresso_maintenance.shot_sources import source_problem

from .common import on_disk
from .conftest import ENTRY_ID, NOW

pytestmark = pytest.mark.freeze_time(NOW)

POWER = {"device_class": "power", "unit_of_measurement": "W"}

type Trace = list[tuple[float, str, dict[str, Any]]]


async def setup_source(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    kind: str,
    entity_id: str,
    **extra: Any,
) -> None:
    """Set up the machine counting shots from an entity."""
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry,
        options={
            **entry.options,
            CONF_SHOT_SOURCE: kind,
            CONF_SOURCE_ENTITY: entity_id,
            **extra,
        },
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def replay(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entity_id: str,
    trace: Trace,
) -> None:
    """Set the source's states at their moments (seconds from now)."""
    elapsed = 0.0
    for seconds, value, attributes in trace:
        freezer.tick(seconds - elapsed)
        elapsed = seconds
        hass.states.async_set(entity_id, value, attributes)
        await hass.async_block_till_done()


def shots(hass: HomeAssistant) -> int:
    """Return the lifetime shots (8 from the starting point)."""
    state = hass.states.get("sensor.gaggia_total_shots")
    assert state is not None
    return int(state.state) - 8


def on_off(*pulses: tuple[float, float]) -> Trace:
    """Build a brewing trace from (start, seconds on) pulses."""
    trace: Trace = []
    for start, length in pulses:
        trace += [(start, "on", {}), (start + length, "off", {})]
    return trace


@pytest.fixture
async def brewing(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, time_zone: str
) -> MockConfigEntry:
    """Set up a machine counting shots from a brewing binary sensor, off at the start."""
    hass.states.async_set("binary_sensor.brewing", "off")
    await setup_source(
        hass,
        mock_config_entry,
        "brewing",
        "binary_sensor.brewing",
        **{CONF_MIN_SECONDS: 15, CONF_MAX_SECONDS: 60},
    )
    return mock_config_entry


async def test_brewing_morning(
    hass: HomeAssistant, brewing: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Flushes, three shots, steaming and a backflush cleaning cycle: three shots."""
    events = async_capture_events(hass, EVENT_NAME)
    trace = on_off(
        (10, 3),  # flush before
        (60, 27),  # shot
        (200, 31),  # shot
        (240, 4),  # flush after
        (400, 29),  # shot
        (500, 95),  # steaming
        # backflush cleaning cycle: five 10-second pulses
        (700, 10), (730, 10), (760, 10), (790, 10), (820, 10),
    )  # fmt: skip
    await replay(hass, freezer, "binary_sensor.brewing", trace)
    assert shots(hass) == 3
    assert hass.states.get("sensor.gaggia_shots_since_backflush").state == "11"
    # Detected shots are the same as recorded ones: the 14th shot makes it due.
    await replay(
        hass,
        freezer,
        "binary_sensor.brewing",
        on_off((1000, 20), (1100, 20), (1200, 20)),
    )
    assert shots(hass) == 6
    assert [e.data["type"] for e in events] == ["backflush_due"]
    source = brewing.runtime_data.shot_source
    assert source is not None
    assert [p.result.value for p in source.pulses].count("shot") == 6


async def test_brewing_unavailable_gaps(
    hass: HomeAssistant, brewing: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A gap in the middle of a shot cancels it, and does not break counting."""
    trace: Trace = [
        (10, "on", {}), (20, "unavailable", {}), (30, "on", {}), (45, "off", {}),
        (60, "on", {}), (70, "unknown", {}), (75, "off", {}),
        (100, "on", {}), (125, "off", {}),
        (130, "garbage", {}), (140, "off", {}), (150, "on", {}), (175, "off", {}),
    ]  # fmt: skip
    await replay(hass, freezer, "binary_sensor.brewing", trace)
    assert shots(hass) == 2


async def test_brewing_restart_mid_shot(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Home Assistant starting while a shot is pulled does not count it."""
    hass.states.async_set("binary_sensor.brewing", "on")
    await setup_source(hass, mock_config_entry, "brewing", "binary_sensor.brewing")
    await replay(hass, freezer, "binary_sensor.brewing", [(20, "off", {})])
    assert shots(hass) == 0
    await replay(hass, freezer, "binary_sensor.brewing", on_off((60, 25)))
    assert shots(hass) == 1

    # Reloading (as a restart does) in the middle of a shot does not count it either.
    hass.states.async_set("binary_sensor.brewing", "on")
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await replay(hass, freezer, "binary_sensor.brewing", [(25, "off", {})])
    assert shots(hass) == 1


async def test_power_trace(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A plug's power: warm-up, heater cycles and steaming are not shots."""
    hass.states.async_set("sensor.plug_power", "1.5", POWER)
    await setup_source(
        hass,
        mock_config_entry,
        "power",
        "sensor.plug_power",
        **{
            CONF_POWER_ON_W: 30,
            CONF_POWER_OFF_W: 10,
            CONF_MIN_SECONDS: 15,
            CONF_MAX_SECONDS: 60,
        },
    )
    trace: Trace = [
        (1, "1000", POWER), (180, "3", POWER),  # warm-up
        (300, "1010", POWER), (304, "2", POWER),  # heater cycle
        (360, "1005", POWER), (363, "2", POWER),  # heater cycle
        (400, "52", POWER), (405, "48", POWER), (410, "1052", POWER),
        (413, "55", POWER), (426, "1.5", POWER),  # shot, heater on in the middle
        (500, "45", POWER), (510, "15", POWER), (512, "47", POWER), (528, "2", POWER),  # noisy shot
        (600, "unavailable", POWER), (610, "50", POWER), (640, "2", POWER),  # gap first
        (700, "1000", POWER), (790, "2", POWER),  # steaming
    ]  # fmt: skip
    await replay(hass, freezer, "sensor.plug_power", trace)
    assert shots(hass) == 2
    source = mock_config_entry.runtime_data.shot_source
    assert source is not None
    diagnostics = source.diagnostics()
    assert [
        (p["result"], p["duration_s"], p["peak_w"]) for p in diagnostics["last_pulses"]
    ] == [
        ("too_long", 179.0, 1000.0),
        ("too_short", 4.0, 1010.0),
        ("too_short", 3.0, 1005.0),
        ("shot", 26.0, 1052.0),
        ("shot", 28.0, 47.0),
        ("too_long", 90.0, 1000.0),
    ]


async def test_power_in_kilowatts(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A sensor in kW is read in W."""
    kw = {"device_class": "power", "unit_of_measurement": "kW"}
    hass.states.async_set("sensor.plug_power", "0.002", kw)
    await setup_source(
        hass,
        mock_config_entry,
        "power",
        "sensor.plug_power",
        **{CONF_POWER_ON_W: 1075, CONF_POWER_OFF_W: 1065},
    )
    trace: Trace = [
        (10, "1.05", kw), (20, "0.002", kw),  # heater alone, below the start
        (100, "1.098", kw), (110, "1.07", kw), (125, "1.09", kw), (128, "0.002", kw),
        (200, "1.098", {"device_class": "power", "unit_of_measurement": "MW"}),
    ]  # fmt: skip
    await replay(hass, freezer, "sensor.plug_power", trace)
    assert shots(hass) == 1


@pytest.fixture
async def counter(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, time_zone: str
) -> MockConfigEntry:
    """Set up a machine counting shots from the machine's own counter, at 100."""
    hass.states.async_set("sensor.total_coffees", "100")
    await setup_source(hass, mock_config_entry, "counter", "sensor.total_coffees")
    return mock_config_entry


async def test_counter(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    counter: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Increases count; resets re-baseline; gaps and garbage are ignored."""
    trace: Trace = [
        (10, "101", {}), (20, "102", {}), (25, "unavailable", {}), (30, "102", {}),
        (40, "abc", {}), (50, "104", {}),  # 4 shots so far
        (60, "0", {}),  # the counter was reset
        (70, "1", {}), (80, "2", {}),  # 6
        (85, "2.0", {}), (90, "unknown", {}), (95, "2", {}),
    ]  # fmt: skip
    await replay(hass, freezer, "sensor.total_coffees", trace)
    assert shots(hass) == 6
    assert on_disk(hass, hass_storage, ENTRY_ID)["source_baseline"] == 2


async def test_counter_jump_is_not_counted(
    hass: HomeAssistant, counter: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A jump of more than 50 is logged and raises a repair, and is not counted."""
    await replay(
        hass,
        freezer,
        "sensor.total_coffees",
        [(10, "101", {}), (20, "5000", {}), (30, "5001", {})],
    )
    assert shots(hass) == 2
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"counter_jump_{ENTRY_ID}")
    assert issue is not None
    assert issue.translation_placeholders == {
        "name": "Gaggia",
        "entity_id": "sensor.total_coffees",
        "value": "5000",
        "max_jump": "50",
    }


async def test_counter_counts_shots_pulled_while_stopped(
    hass: HomeAssistant, counter: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """The baseline is kept on disk: shots during downtime count once, at start."""
    await replay(hass, freezer, "sensor.total_coffees", [(10, "103", {})])
    assert shots(hass) == 3
    assert await hass.config_entries.async_unload(counter.entry_id)
    hass.states.async_set("sensor.total_coffees", "110")
    assert await hass.config_entries.async_setup(counter.entry_id)
    await hass.async_block_till_done()
    assert shots(hass) == 10
    assert await hass.config_entries.async_reload(counter.entry_id)
    await hass.async_block_till_done()
    assert shots(hass) == 10


async def test_counter_quick_readings_count_once(
    hass: HomeAssistant, counter: MockConfigEntry
) -> None:
    """Readings arriving faster than the disk writes are each counted once."""
    for value in range(101, 121):
        hass.states.async_set("sensor.total_coffees", str(value))
    await hass.async_block_till_done()
    assert shots(hass) == 20


async def test_source_deleted_raises_fixable_issue(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Deleting the source raises a repair whose fix picks a new source."""
    entity_registry.async_get_or_create(
        "binary_sensor", "lamarzocco", "brew", suggested_object_id="brewing"
    )
    hass.states.async_set("binary_sensor.brewing", "off")
    hass.states.async_set("binary_sensor.pump", "off")
    await setup_source(hass, mock_config_entry, "brewing", "binary_sensor.brewing")
    entity_registry.async_remove("binary_sensor.brewing")
    await hass.async_block_till_done()
    issue_id = f"source_missing_{ENTRY_ID}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable

    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    flow = await response.json()
    assert flow["step_id"] == "pick"
    assert flow["description_placeholders"] == {
        "name": "Gaggia",
        "entity_id": "binary_sensor.brewing",
    }
    response = await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}",
        json={CONF_SOURCE_ENTITY: "sensor.total_shots"},
    )
    # The entity selector refuses another domain at the field itself.
    assert (
        "expected ['binary_sensor'"
        in (await response.json())["errors"][CONF_SOURCE_ENTITY]
    )
    response = await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}",
        json={CONF_SOURCE_ENTITY: "binary_sensor.gaggia_backflush_due"},
    )
    flow = await response.json()
    assert flow["errors"] == {CONF_SOURCE_ENTITY: "source_is_own_entity"}
    response = await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}",
        json={CONF_SOURCE_ENTITY: "binary_sensor.pump"},
    )
    assert (await response.json())["type"] == "create_entry"
    await hass.async_block_till_done()
    assert mock_config_entry.options[CONF_SOURCE_ENTITY] == "binary_sensor.pump"
    await replay(hass, freezer, "binary_sensor.pump", on_off((10, 25)))
    assert shots(hass) == 1
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_source_renamed_is_followed(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Renaming the source in the registry updates the options; counting goes on."""
    entity_registry.async_get_or_create(
        "sensor", "lamarzocco", "coffees", suggested_object_id="total_coffees"
    )
    hass.states.async_set("sensor.total_coffees", "10")
    await setup_source(hass, mock_config_entry, "counter", "sensor.total_coffees")
    await replay(hass, freezer, "sensor.total_coffees", [(10, "11", {})])
    assert shots(hass) == 1
    entity_registry.async_update_entity(
        "sensor.total_coffees", new_entity_id="sensor.gaggia_coffees"
    )
    # The source's integration writes its state under the new ID.
    hass.states.async_remove("sensor.total_coffees")
    hass.states.async_set("sensor.gaggia_coffees", "11")
    await hass.async_block_till_done()
    assert mock_config_entry.options[CONF_SOURCE_ENTITY] == "sensor.gaggia_coffees"
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"source_missing_{ENTRY_ID}") is None
    )
    await replay(hass, freezer, "sensor.gaggia_coffees", [(20, "13", {})])
    assert shots(hass) == 3
    # A rename of the entity's name only changes nothing.
    entity_registry.async_update_entity("sensor.gaggia_coffees", name="Coffees")
    await hass.async_block_till_done()
    assert mock_config_entry.options[CONF_SOURCE_ENTITY] == "sensor.gaggia_coffees"


async def test_source_missing_at_start(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, time_zone: str
) -> None:
    """A source that does not exist once Home Assistant has started raises the repair."""
    await setup_source(hass, mock_config_entry, "counter", "sensor.gone")
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"source_missing_{ENTRY_ID}")
    assert issue is not None
    assert issue.translation_placeholders == {
        "name": "Gaggia",
        "entity_id": "sensor.gone",
    }
    # It coming back clears the repair.
    hass.states.async_set("sensor.gone", "4")
    await hass.async_block_till_done()
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"source_missing_{ENTRY_ID}") is None
    )


async def test_fix_flow_of_a_removed_machine(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
) -> None:
    """Removing the machine removes its issues; an open fix flow then aborts."""
    await setup_source(hass, mock_config_entry, "counter", "sensor.gone")
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    issue_id = f"source_missing_{ENTRY_ID}"
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    flow = await response.json()
    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    response = await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}",
        json={CONF_SOURCE_ENTITY: "sensor.other"},
    )
    result = await response.json()
    assert result["type"] == "abort"
    assert result["reason"] == "machine_removed"


async def test_source_problems_outside_the_flows(
    hass: HomeAssistant, brewing: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """Checks the selectors already make: domain, and other registry changes."""
    hass.states.async_set("binary_sensor.door", "off")
    assert (
        source_problem(hass, SourceKind.COUNTER, "binary_sensor.door")
        == "source_not_a_sensor"
    )
    # Removing the state (not the entity) stops a pulse; renaming its name is harmless.
    hass.states.async_set("binary_sensor.brewing", "on")
    hass.states.async_remove("binary_sensor.brewing")
    await hass.async_block_till_done()
    source = brewing.runtime_data.shot_source
    assert source is not None
    assert [p.result.value for p in source.pulses] == ["interrupted"]
    entity_registry.async_get_or_create(
        "binary_sensor", "x", "y", suggested_object_id="brewing"
    )
    entity_registry.async_update_entity("binary_sensor.brewing", name="Pump")
    await hass.async_block_till_done()
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"source_missing_{ENTRY_ID}") is None
    )


PATTERN_ON = {CONF_DETECT_BACKFLUSH: True}


def cleaning(start: float, cycles: int = 5, on: float = 10, off: float = 10) -> Trace:
    """Build a backflush: `cycles` pump pulses of `on` seconds, `off` apart."""
    return on_off(*((start + cycle * (on + off), on) for cycle in range(cycles)))


async def test_brewing_backflush_pattern(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A backflush and its rinse: one backflush, no shots; the shot after counts."""
    hass.states.async_set("binary_sensor.brewing", "off")
    await setup_source(
        hass, mock_config_entry, "brewing", "binary_sensor.brewing", **PATTERN_ON
    )
    events = async_capture_events(hass, EVENT_NAME)
    trace = (
        on_off((10, 3), (60, 27), (120, 4))  # flush, shot, flush
        + cleaning(300)  # detergent: 10 s on, 10 s off, five times
        + cleaning(450)  # the rinse, after rinsing the basket
        + on_off((560, 28), (600, 95), (720, 4))  # a shot right after, steam, flush
    )
    await replay(hass, freezer, "binary_sensor.brewing", trace)
    assert shots(hass) == 2
    recorded = [e.data for e in events if e.data["type"] == "backflush_recorded"]
    # Recorded when the fourth cleaning pulse ended, with the counters before it.
    assert recorded == [
        {
            "device_id": mock_config_entry.runtime_data.device_id,
            "type": "backflush_recorded",
            "performed_at": "2026-11-28T08:36:10+00:00",
            "note": None,
            "source": "binary_sensor.brewing",
            "shots_since_backflush": 9,
            "total_shots": 9,
        }
    ]
    assert hass.states.get("sensor.gaggia_shots_since_backflush").state == "1"
    source = mock_config_entry.runtime_data.shot_source
    assert source is not None
    diagnostics = source.diagnostics()
    assert diagnostics["backflush_pattern"] == {
        "pulses": 4,
        "pulse_seconds": 5.0,
        "pause_seconds": 60.0,
    }
    assert diagnostics["last_backflushes"] == ["2026-11-28T08:36:10+00:00"]


async def test_power_backflush_pattern_with_noisy_readings(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A smart plug's noisy readings: the backflush and the shots are still right."""
    hass.states.async_set("sensor.plug_power", "1.5", POWER)
    await setup_source(
        hass,
        mock_config_entry,
        "power",
        "sensor.plug_power",
        **{
            CONF_POWER_ON_W: 30,
            CONF_POWER_OFF_W: 10,
            CONF_MIN_SECONDS: 15,
            CONF_MAX_SECONDS: 60,
            **PATTERN_ON,
        },
    )
    trace: Trace = []
    for cycle in range(5):
        start = 100 + cycle * 22
        trace += [
            (start, "52", POWER),
            (start + 3, "24", POWER),  # a dip between the thresholds
            (start + 6, "1060", POWER),  # the heater comes on too
            (start + 9 + cycle % 2, "2", POWER),  # 9 or 10 s, as readings fall
            (start + 15, "12", POWER),  # noise while paused: not a start
        ]
    trace += [
        (250, "51", POWER), (262, "19", POWER), (278, "2", POWER),  # a 28 s shot
        (400, "45", POWER), (403, "2", POWER),  # a group flush
    ]  # fmt: skip
    await replay(hass, freezer, "sensor.plug_power", trace)
    assert shots(hass) == 1
    assert (
        hass.states.get("sensor.gaggia_last_backflush").state
        == "2026-11-28T08:32:56+00:00"
    )
    assert hass.states.get("sensor.gaggia_shots_since_backflush").state == "1"


@pytest.mark.parametrize(
    "options",
    [
        {},  # a machine set up before backflushes were recognised
        {CONF_DETECT_BACKFLUSH: False},
        {
            **PATTERN_ON,
            CONF_BACKFLUSH_SOURCE: "program",
            CONF_BACKFLUSH_SOURCE_ENTITY: "binary_sensor.backflush_active",
        },
    ],
)
async def test_backflush_pattern_not_used(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    freezer: FrozenDateTimeFactory,
    options: dict[str, Any],
) -> None:
    """Turned off, never turned on, or the machine reports its backflushes itself."""
    hass.states.async_set("binary_sensor.brewing", "off")
    hass.states.async_set("binary_sensor.backflush_active", "off")
    await setup_source(
        hass, mock_config_entry, "brewing", "binary_sensor.brewing", **options
    )
    await replay(hass, freezer, "binary_sensor.brewing", cleaning(10))
    assert hass.states.get("sensor.gaggia_last_backflush").state == (
        "2026-11-24T11:00:00+00:00"
    )
    assert shots(hass) == 0
