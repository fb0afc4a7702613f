"""Tests for counting water from a water volume sensor, replaying realistic traces."""

from __future__ import annotations

from datetime import date
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.espresso_maintenance.const import (
    CONF_SHOT_SOURCE,
    CONF_SOURCE_ENTITY,
    CONF_WATER_SOURCE,
    DOMAIN,
)
from custom_components.espresso_maintenance.water_source import (
    milliliters,
    water_source_problem,
)

from .common import on_disk
from .conftest import ENTRY_ID, NOW

pytestmark = pytest.mark.freeze_time(NOW)

METER = "sensor.espresso_water"
LITERS = {
    "device_class": "water",
    "unit_of_measurement": "L",
    "state_class": "total_increasing",
}
TODAY = date(2026, 11, 28)

type Trace = list[tuple[float, str, dict[str, Any]]]


async def setup_meter(
    hass: HomeAssistant, entry: MockConfigEntry, **extra: Any
) -> MockConfigEntry:
    """Set up the machine with its water metered by METER."""
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_WATER_SOURCE: METER, **extra}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
async def metered(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, time_zone: str
) -> MockConfigEntry:
    """Set up a machine whose flow meter reads 120.5 L at the start."""
    hass.states.async_set(METER, "120.5", LITERS)
    return await setup_meter(hass, mock_config_entry)


async def replay(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, trace: Trace
) -> None:
    """Set the meter's states at their moments (seconds from now)."""
    elapsed = 0.0
    for seconds, value, attributes in trace:
        freezer.tick(seconds - elapsed)
        elapsed = seconds
        hass.states.async_set(METER, value, attributes)
        await hass.async_block_till_done()


def water(entry: MockConfigEntry) -> dict[date, int]:
    """Return the machine's water log."""
    return dict(entry.runtime_data.state.water_log)


async def test_a_morning_of_coffee(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    metered: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Flushes, shots, steam and a dropout: the metered water, each mL once."""
    trace: Trace = [
        (10, "120.54", LITERS),  # flush, 40 mL
        (60, "120.5765", LITERS), (61, "120.5771", LITERS),  # a shot, in steps
        (200, "unavailable", LITERS),  # the meter drops out
        (260, "120.6500", LITERS),  # 72.9 mL while it was out
        (300, "abc", LITERS),
        (400, "120.9", LITERS),  # steaming refills the boiler: 250 mL
    ]  # fmt: skip
    await replay(hass, freezer, trace)
    assert water(metered) == {TODAY: 400}
    data = on_disk(hass, hass_storage, ENTRY_ID)
    assert data["water_baseline"] == pytest.approx(120_900.0)
    assert data["water_log"] == ["2026-11" + " 0" * 27 + " 400"]
    # Shots pulled now add no water of their own: the meter has it.
    await hass.services.async_call(
        DOMAIN, "record_shot", {"entity_id": "sensor.gaggia_total_shots"}, blocking=True
    )
    assert water(metered) == {TODAY: 400}
    assert hass.states.get("sensor.gaggia_total_shots").state == "9"


async def test_fractions_of_a_millilitre_wait(
    hass: HomeAssistant, metered: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Whole mL are counted; the rest waits for the next reading, and is not lost."""
    await replay(
        hass,
        freezer,
        [(1, "120.5004", LITERS), (2, "120.5009", LITERS), (3, "120.5016", LITERS)],
    )
    assert water(metered) == {TODAY: 1}
    assert metered.runtime_data.state.water_baseline == pytest.approx(120_501.0)


async def test_reset_and_jump(
    hass: HomeAssistant, metered: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A meter going back re-baselines; a jump of more than 20 L is not counted."""
    trace: Trace = [
        (10, "120.6", LITERS),  # 100 mL
        (20, "0.05", LITERS),  # a replaced battery reset the meter
        (30, "0.25", LITERS),  # 200 mL
        (40, "900", LITERS),  # a glitch
        (50, "900.3", LITERS),  # 300 mL
    ]  # fmt: skip
    await replay(hass, freezer, trace)
    assert water(metered) == {TODAY: 600}
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"water_jump_{ENTRY_ID}")
    assert issue is not None
    assert issue.translation_key == "water_jump"
    assert issue.translation_placeholders == {
        "name": "Gaggia",
        "entity_id": METER,
        "max_jump": "20",
    }


async def test_units_are_converted(
    hass: HomeAssistant, metered: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A meter switched to gallons or millilitres goes on counting in mL."""
    trace: Trace = [
        (10, "31.8", {**LITERS, "unit_of_measurement": "gal"}),  # 120.377 L
        (20, "120500", {**LITERS, "unit_of_measurement": "mL"}),  # +123 mL
        (30, "120600", {**LITERS, "unit_of_measurement": "kL"}),  # unknown unit
        (40, "120700", {**LITERS, "unit_of_measurement": "mL"}),  # +200 mL
    ]  # fmt: skip
    await replay(hass, freezer, trace)
    assert water(metered) == {TODAY: 323}


async def test_water_while_stopped_counts_at_the_next_start(
    hass: HomeAssistant, metered: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """The baseline is kept on disk: water drawn during downtime counts once."""
    await replay(hass, freezer, [(10, "120.6", LITERS)])
    assert await hass.config_entries.async_unload(metered.entry_id)
    hass.states.async_set(METER, "121.0", LITERS)
    assert await hass.config_entries.async_setup(metered.entry_id)
    await hass.async_block_till_done()
    assert water(metered) == {TODAY: 500}
    assert await hass.config_entries.async_reload(metered.entry_id)
    await hass.async_block_till_done()
    assert water(metered) == {TODAY: 500}


async def test_quick_readings_count_once(
    hass: HomeAssistant, metered: MockConfigEntry
) -> None:
    """Readings arriving faster than the disk writes are each counted once."""
    for step in range(1, 21):
        hass.states.async_set(METER, f"{120.5 + step * 0.01:.2f}", LITERS)
    await hass.async_block_till_done()
    assert water(metered) == {TODAY: 200}


async def test_water_moves_the_descale(
    hass: HomeAssistant, metered: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Heavy metered use brings the descale forward, through the scale load sensor."""
    before = hass.states.get("sensor.gaggia_scale_load")
    assert before is not None
    # 49 days since the descale at 2 shots a day, typical until counting began:
    # 81.7 %, shown to the whole percent.
    assert before.state == "82"
    assert before.attributes["unit_of_measurement"] == "%"
    await replay(hass, freezer, [(10, "124.5", LITERS)])  # 4 L: 20 typical days
    assert hass.states.get("sensor.gaggia_scale_load").state == "113"
    assert hass.states.get("binary_sensor.gaggia_descale_due").state == "on"
    status = metered.runtime_data.status_as_dict()
    assert status["descale_driver"] == "use"
    assert status["descale_days_left"] == 0


async def test_meter_deleted_raises_an_issue(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    entity_registry: er.EntityRegistry,
) -> None:
    """A meter deleted raises the repair; its return clears it."""
    entity_registry.async_get_or_create(
        "sensor", "flow", "meter-1", suggested_object_id="espresso_water"
    )
    hass.states.async_set(METER, "120.5", LITERS)
    entry = await setup_meter(hass, mock_config_entry)
    issue_id = f"water_source_missing_{ENTRY_ID}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    entity_registry.async_remove(METER)
    await hass.async_block_till_done()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    # Chosen again, or not at all, in Configure.
    assert not issue.is_fixable
    assert issue.translation_placeholders == {"name": "Gaggia", "entity_id": METER}
    hass.states.async_set(METER, "120.6", LITERS)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    hass.states.async_remove(METER)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    entity_registry.async_get_or_create(
        "sensor", "flow", "meter-1", suggested_object_id="espresso_water"
    )
    entity_registry.async_remove(METER)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    # Removing the machine removes its issues.
    await hass.config_entries.async_remove(entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_renamed_meter_is_followed(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
) -> None:
    """A meter renamed in the entity registry is followed, with no repair."""
    entity_registry.async_get_or_create(
        "sensor", "flow", "meter-1", suggested_object_id="espresso_water"
    )
    hass.states.async_set(METER, "120.5", LITERS)
    entry = await setup_meter(hass, mock_config_entry)
    entity_registry.async_update_entity(METER, new_entity_id="sensor.water_meter")
    await hass.async_block_till_done()
    assert entry.options[CONF_WATER_SOURCE] == "sensor.water_meter"
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"water_source_missing_{ENTRY_ID}")
        is None
    )
    # Counting goes on from the renamed sensor, from its last reading.
    hass.states.async_set("sensor.water_meter", "120.5", LITERS)
    hass.states.async_set("sensor.water_meter", "120.7", LITERS)
    await hass.async_block_till_done()
    assert entry.runtime_data.state.water_baseline == 120_700


async def test_meter_missing_at_start(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, time_zone: str
) -> None:
    """A meter that does not exist once Home Assistant has started raises the repair."""
    await setup_meter(hass, mock_config_entry)
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"water_source_missing_{ENTRY_ID}"
    )
    assert issue is not None
    assert issue.translation_key == "water_source_missing"


async def test_meter_and_shot_counter_together(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, time_zone: str
) -> None:
    """Shots from a counter source add no water either while a meter is there."""
    hass.states.async_set("sensor.total_coffees", "100")
    hass.states.async_set(METER, "120.5", LITERS)
    entry = await setup_meter(
        hass,
        mock_config_entry,
        **{CONF_SHOT_SOURCE: "counter", CONF_SOURCE_ENTITY: "sensor.total_coffees"},
    )
    hass.states.async_set("sensor.total_coffees", "102")
    hass.states.async_set(METER, "120.6", LITERS)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.gaggia_total_shots").state == "10"
    assert water(entry) == {TODAY: 100}


@pytest.mark.parametrize(
    ("entity_id", "attributes", "problem"),
    [
        (METER, LITERS, None),
        (METER, {**LITERS, "device_class": "volume"}, None),
        ("sensor.nothing", None, "water_source_not_found"),
        ("input_number.water", LITERS, "water_source_not_a_sensor"),
        (METER, {**LITERS, "device_class": "gas"}, "water_source_not_volume"),
        (METER, {**LITERS, "unit_of_measurement": "kL"}, "water_source_unit"),
        (METER, {**LITERS, "state_class": "measurement"}, "water_source_not_total_increasing"),
        (METER, {k: v for k, v in LITERS.items() if k != "state_class"}, "water_source_not_total_increasing"),
    ],
)  # fmt: skip
async def test_water_source_problems(
    hass: HomeAssistant,
    entity_id: str,
    attributes: dict[str, str] | None,
    problem: str | None,
) -> None:
    """Only a growing volume or water sensor, in a known unit, can meter water."""
    if attributes is not None:
        hass.states.async_set(entity_id, "1", attributes)
    assert water_source_problem(hass, entity_id) == problem


async def test_water_source_problems_from_the_registry(
    hass: HomeAssistant, entity_registry: er.EntityRegistry
) -> None:
    """A meter without a state yet is judged by its registry entry."""
    entry = entity_registry.async_get_or_create(
        "sensor",
        "flow",
        "meter-2",
        suggested_object_id="meter_two",
        original_device_class="water",
        unit_of_measurement="L",
        capabilities={"state_class": "total_increasing"},
    )
    assert water_source_problem(hass, entry.entity_id) is None
    entity_registry.async_update_entity(entry.entity_id, capabilities={})
    assert (
        water_source_problem(hass, entry.entity_id)
        == "water_source_not_total_increasing"
    )
    own = entity_registry.async_get_or_create(DOMAIN, DOMAIN, "own")
    assert water_source_problem(hass, own.entity_id) == "water_source_is_own_entity"


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("1.5", "L", 1500.0),
        ("250", "mL", 250.0),
        ("1", "gal", 3785.411784),
        ("1", "ft³", 28316.846592),
        ("0.001", "m³", 1000.0),
        ("1", "kL", None),
        ("unavailable", "L", None),
        ("unknown", "L", None),
        ("inf", "L", None),
    ],
)
def test_milliliters(value: str, unit: str, expected: float | None) -> None:
    """Readings are converted to mL; anything else gives none."""
    state = State(METER, value, {"unit_of_measurement": unit})
    assert milliliters(state) == (None if expected is None else pytest.approx(expected))
    assert milliliters(None) is None
