"""Tests for the config, options and reconfigure flows."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.espresso_maintenance.const import (
    CONF_BACKFLUSH_INTERVAL_DAYS,
    CONF_BACKFLUSH_INTERVAL_SHOTS,
    CONF_BACKFLUSH_PAUSE_SECONDS,
    CONF_BACKFLUSH_PULSE_SECONDS,
    CONF_BACKFLUSH_PULSES,
    CONF_BACKFLUSH_SOURCE,
    CONF_BACKFLUSH_SOURCE_ENTITY,
    CONF_DESCALE_INTERVAL_DAYS,
    CONF_DESCALE_MAX_DAYS,
    CONF_DESCALE_MIN_DAYS,
    CONF_DESCALE_SOURCE,
    CONF_DESCALE_SOURCE_ENTITY,
    CONF_DETECT_BACKFLUSH,
    CONF_HARDNESS_UNIT,
    CONF_LAST_BACKFLUSH,
    CONF_LAST_DESCALE,
    CONF_MACHINE_TYPE,
    CONF_MAX_SECONDS,
    CONF_MIN_SECONDS,
    CONF_POWER_OFF_W,
    CONF_POWER_ON_W,
    CONF_SHOT_SOURCE,
    CONF_SHOTS_PER_DAY,
    CONF_SHOTS_SINCE_BACKFLUSH,
    CONF_SOURCE_ENTITY,
    CONF_THREE_WAY_VALVE,
    CONF_TRACK_DESCALE,
    CONF_WATER_HARDNESS,
    CONF_WATER_PER_SHOT_ML,
    CONF_WATER_SOURCE,
    DOMAIN,
)
from custom_components.espresso_maintenance.detectors import MaintenanceSourceKind
from custom_components.espresso_maintenance.maintenance_sources import (
    maintenance_source_problem,
)

from .common import shown as schema_defaults
from .conftest import NOW

pytestmark = pytest.mark.freeze_time(NOW)

MACHINE = {
    CONF_THREE_WAY_VALVE: True,
    CONF_TRACK_DESCALE: True,
    CONF_SHOTS_PER_DAY: 2,
    CONF_WATER_HARDNESS: 14,
    CONF_HARDNESS_UNIT: "dh",
}


DESCALE_DEFAULTS = {
    CONF_WATER_PER_SHOT_ML: 100,
    CONF_DESCALE_MIN_DAYS: 30,
    CONF_DESCALE_MAX_DAYS: 90,
}


async def start(
    hass: HomeAssistant,
    name: str = "Gaggia Classic",
    machine_type: str = "semi_automatic",
) -> dict[str, Any]:
    """Pass the first step."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: name, CONF_MACHINE_TYPE: machine_type}
    )


async def test_full_flow(hass: HomeAssistant, time_zone: str) -> None:
    """A semi-automatic is registered with recommended intervals and its history."""
    result = await start(hass, "  Gaggia Classic ")
    assert result["step_id"] == "machine"
    assert schema_defaults(result)[CONF_THREE_WAY_VALVE] is True
    result = await hass.config_entries.flow.async_configure(result["flow_id"], MACHINE)
    assert result["step_id"] == "maintenance"
    # 2 shots a day, 14 °dH (250 mg/L, very hard): 14 shots, 7 days, 30 days.
    assert result["description_placeholders"] == {
        "name": "Gaggia Classic",
        CONF_BACKFLUSH_INTERVAL_SHOTS: "14",
        CONF_BACKFLUSH_INTERVAL_DAYS: "7",
        CONF_DESCALE_INTERVAL_DAYS: "30",
    }
    assert schema_defaults(result) == {
        CONF_BACKFLUSH_INTERVAL_SHOTS: 14,
        CONF_BACKFLUSH_INTERVAL_DAYS: 7,
        CONF_DESCALE_INTERVAL_DAYS: 30,
        CONF_SHOTS_SINCE_BACKFLUSH: 0,
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_BACKFLUSH_INTERVAL_SHOTS: 20,
            CONF_BACKFLUSH_INTERVAL_DAYS: 7,
            CONF_DESCALE_INTERVAL_DAYS: 45,
            CONF_LAST_BACKFLUSH: "2026-11-25",
            CONF_SHOTS_SINCE_BACKFLUSH: 5,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Gaggia Classic"
    assert result["data"] == {
        CONF_NAME: "Gaggia Classic",
        CONF_MACHINE_TYPE: "semi_automatic",
        CONF_THREE_WAY_VALVE: True,
        CONF_LAST_BACKFLUSH: "2026-11-25",
        CONF_LAST_DESCALE: None,
        CONF_SHOTS_SINCE_BACKFLUSH: 5,
    }
    assert result["options"] == {
        CONF_SHOT_SOURCE: "none",
        CONF_BACKFLUSH_SOURCE: "none",
        CONF_DESCALE_SOURCE: "none",
        CONF_TRACK_DESCALE: True,
        CONF_SHOTS_PER_DAY: 2,
        CONF_WATER_HARDNESS: 14,
        CONF_HARDNESS_UNIT: "dh",
        CONF_BACKFLUSH_INTERVAL_SHOTS: 20,
        CONF_BACKFLUSH_INTERVAL_DAYS: 7,
        CONF_DESCALE_INTERVAL_DAYS: 45,
    }
    await hass.async_block_till_done()
    assert hass.states.get("sensor.gaggia_classic_shots_since_backflush").state == "5"
    assert hass.states.get("sensor.gaggia_classic_days_since_backflush").state == "3"
    assert hass.states.get("sensor.gaggia_classic_last_descale").state == "unknown"
    assert (
        hass.states.get("sensor.gaggia_classic_days_since_descale").state == "unknown"
    )
    assert (
        hass.states.get("binary_sensor.gaggia_classic_descale_due").state == "unknown"
    )


async def test_capsule_machine_has_no_backflush(
    hass: HomeAssistant, time_zone: str
) -> None:
    """A capsule machine is prefilled without a valve and gets no backflush entities."""
    result = await start(hass, "Nespresso", "capsule")
    assert schema_defaults(result)[CONF_THREE_WAY_VALVE] is False
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            **MACHINE,
            CONF_THREE_WAY_VALVE: False,
            CONF_HARDNESS_UNIT: "unknown",
            CONF_WATER_HARDNESS: 10,
        },
    )
    assert result["errors"] == {CONF_HARDNESS_UNIT: "hardness_unit_required"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_THREE_WAY_VALVE: False,
            CONF_TRACK_DESCALE: True,
            CONF_SHOTS_PER_DAY: 1,
            CONF_HARDNESS_UNIT: "unknown",
        },
    )
    assert set(schema_defaults(result)) == {CONF_DESCALE_INTERVAL_DAYS}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_DESCALE_INTERVAL_DAYS: 60, CONF_LAST_DESCALE: "2026-10-01"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # Limits not asked for are stored as recommended, for when the valve is added.
    assert result["options"][CONF_BACKFLUSH_INTERVAL_SHOTS] == 10
    await hass.async_block_till_done()
    entity_ids = {s.entity_id for s in hass.states.async_all()}
    assert not any("backflush" in entity_id for entity_id in entity_ids)
    assert "sensor.nespresso_days_since_descale" in entity_ids
    assert "button.nespresso_record_shot" in entity_ids


async def test_machine_without_descale_tracking(
    hass: HomeAssistant, time_zone: str
) -> None:
    """Turning descale tracking off leaves out the descale entities."""
    result = await start(hass, "Lever")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**MACHINE, CONF_TRACK_DESCALE: False}
    )
    assert CONF_DESCALE_INTERVAL_DAYS not in schema_defaults(result)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_BACKFLUSH_INTERVAL_SHOTS: 14,
            CONF_BACKFLUSH_INTERVAL_DAYS: 7,
            CONF_SHOTS_SINCE_BACKFLUSH: 0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entity_ids = {s.entity_id for s in hass.states.async_all()}
    assert not any("descale" in entity_id for entity_id in entity_ids)


async def test_same_name_is_refused(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """A second machine with the same name aborts, whatever the case."""
    mock_config_entry.add_to_hass(hass)
    result = await start(hass, "GAGGIA")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert result["description_placeholders"] == {"name": "GAGGIA"}


async def test_empty_name(hass: HomeAssistant) -> None:
    """A blank name is an error at the field."""
    result = await start(hass, "   ")
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: "name_empty"}


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({CONF_SHOTS_PER_DAY: -1}, {CONF_SHOTS_PER_DAY: "shots_per_day_out_of_range"}),
        ({CONF_SHOTS_PER_DAY: 51}, {CONF_SHOTS_PER_DAY: "shots_per_day_out_of_range"}),
        ({CONF_WATER_HARDNESS: 80}, {CONF_WATER_HARDNESS: "hardness_out_of_range"}),
        ({CONF_WATER_HARDNESS: -2}, {CONF_WATER_HARDNESS: "hardness_out_of_range"}),
        ({CONF_WATER_HARDNESS: None}, {CONF_WATER_HARDNESS: "hardness_required"}),
        (
            {CONF_HARDNESS_UNIT: "unknown"},
            {CONF_HARDNESS_UNIT: "hardness_unit_required"},
        ),
    ],
)
async def test_machine_step_errors(
    hass: HomeAssistant, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    """Bad use or water values show at their field, and the form keeps them."""
    result = await start(hass)
    data = {k: v for k, v in {**MACHINE, **changes}.items() if v is not None}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], data)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "machine"
    assert result["errors"] == errors
    result = await hass.config_entries.flow.async_configure(result["flow_id"], MACHINE)
    assert result["step_id"] == "maintenance"


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {CONF_BACKFLUSH_INTERVAL_SHOTS: 0},
            {CONF_BACKFLUSH_INTERVAL_SHOTS: "interval_not_positive"},
        ),
        (
            {CONF_BACKFLUSH_INTERVAL_SHOTS: -5},
            {CONF_BACKFLUSH_INTERVAL_SHOTS: "interval_not_positive"},
        ),
        (
            {CONF_BACKFLUSH_INTERVAL_SHOTS: 2.5},
            {CONF_BACKFLUSH_INTERVAL_SHOTS: "interval_not_positive"},
        ),
        (
            {CONF_BACKFLUSH_INTERVAL_SHOTS: 1001},
            {CONF_BACKFLUSH_INTERVAL_SHOTS: "interval_too_large"},
        ),
        (
            {CONF_BACKFLUSH_INTERVAL_DAYS: 0},
            {CONF_BACKFLUSH_INTERVAL_DAYS: "interval_not_positive"},
        ),
        (
            {CONF_DESCALE_INTERVAL_DAYS: -30},
            {CONF_DESCALE_INTERVAL_DAYS: "interval_not_positive"},
        ),
        (
            {CONF_DESCALE_INTERVAL_DAYS: 366},
            {CONF_DESCALE_INTERVAL_DAYS: "interval_too_large"},
        ),
        ({CONF_LAST_BACKFLUSH: "2026-11-29"}, {CONF_LAST_BACKFLUSH: "date_in_future"}),
        ({CONF_LAST_DESCALE: "2027-01-01"}, {CONF_LAST_DESCALE: "date_in_future"}),
        (
            {CONF_SHOTS_SINCE_BACKFLUSH: -1},
            {CONF_SHOTS_SINCE_BACKFLUSH: "shots_out_of_range"},
        ),
        (
            {CONF_SHOTS_SINCE_BACKFLUSH: 10001},
            {CONF_SHOTS_SINCE_BACKFLUSH: "shots_out_of_range"},
        ),
        (
            {CONF_BACKFLUSH_INTERVAL_DAYS: 0, CONF_LAST_BACKFLUSH: "2030-01-01"},
            {
                CONF_BACKFLUSH_INTERVAL_DAYS: "interval_not_positive",
                CONF_LAST_BACKFLUSH: "date_in_future",
            },
        ),
    ],
)
async def test_maintenance_step_errors(
    hass: HomeAssistant, time_zone: str, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    """Bad limits and starting points show at their field; nothing is created."""
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], MACHINE)
    valid = {
        CONF_BACKFLUSH_INTERVAL_SHOTS: 14,
        CONF_BACKFLUSH_INTERVAL_DAYS: 7,
        CONF_DESCALE_INTERVAL_DAYS: 30,
        CONF_SHOTS_SINCE_BACKFLUSH: 0,
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**valid, **changes}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert hass.config_entries.async_entries(DOMAIN) == []
    result = await hass.config_entries.flow.async_configure(result["flow_id"], valid)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_unparsable_date_is_a_field_error(hass: HomeAssistant) -> None:
    """The date selector itself refuses text that is not a date, at the field."""
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], MACHINE)
    with pytest.raises(InvalidData) as err:
        await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                CONF_BACKFLUSH_INTERVAL_SHOTS: 14,
                CONF_BACKFLUSH_INTERVAL_DAYS: 7,
                CONF_DESCALE_INTERVAL_DAYS: 30,
                CONF_LAST_DESCALE: "someday",
            },
        )
    assert err.value.schema_errors == {CONF_LAST_DESCALE: "Could not parse date"}


async def test_today_is_not_in_the_future(hass: HomeAssistant, time_zone: str) -> None:
    """Today's local date is accepted, also just after local midnight."""
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], MACHINE)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_BACKFLUSH_INTERVAL_SHOTS: 14,
            CONF_BACKFLUSH_INTERVAL_DAYS: 7,
            CONF_DESCALE_INTERVAL_DAYS: 30,
            CONF_SHOTS_SINCE_BACKFLUSH: 0,
            CONF_LAST_BACKFLUSH: "2026-11-28",
            CONF_LAST_DESCALE: "2026-11-28",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_options_flow(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
) -> None:
    """Options change the limits and keep the counters."""
    await hass.services.async_call(
        DOMAIN,
        "record_shot",
        {"entity_id": "sensor.gaggia_total_shots", "count": 3},
        blocking=True,
    )
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_TRACK_DESCALE: True,
            CONF_SHOTS_PER_DAY: 6,
            CONF_WATER_HARDNESS: 3,
            CONF_HARDNESS_UNIT: "dh",
        },
    )
    assert result["step_id"] == "limits"
    # Shots was at its old recommendation (14), so it follows the new one; the
    # descale interval (60, the recommendation was 45) was the user's own and stays.
    assert schema_defaults(result) == {
        CONF_BACKFLUSH_INTERVAL_SHOTS: 42,
        CONF_BACKFLUSH_INTERVAL_DAYS: 7,
        CONF_DESCALE_INTERVAL_DAYS: 60,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_BACKFLUSH_INTERVAL_SHOTS: 0,
            CONF_BACKFLUSH_INTERVAL_DAYS: 7,
            CONF_DESCALE_INTERVAL_DAYS: 30,
        },
    )
    assert result["errors"] == {CONF_BACKFLUSH_INTERVAL_SHOTS: "interval_not_positive"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_BACKFLUSH_INTERVAL_SHOTS: 12,
            CONF_BACKFLUSH_INTERVAL_DAYS: 7,
            CONF_DESCALE_INTERVAL_DAYS: 30,
        },
    )
    assert result["step_id"] == "descale"
    assert schema_defaults(result) == DESCALE_DEFAULTS
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], DESCALE_DEFAULTS
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options[CONF_BACKFLUSH_INTERVAL_SHOTS] == 12
    assert init_integration.options[CONF_SHOTS_PER_DAY] == 6
    assert hass.states.get("sensor.gaggia_total_shots").state == "11"
    assert hass.states.get("binary_sensor.gaggia_backflush_due").state == "off"
    assert hass.states.get("sensor.gaggia_shots_until_backflush").state == "1"


async def test_options_flow_errors_and_descale_off(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Bad water values show at the field; turning descaling off removes its entities."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_TRACK_DESCALE: False,
            CONF_SHOTS_PER_DAY: 2,
            CONF_WATER_HARDNESS: 2000,
            CONF_HARDNESS_UNIT: "mg_l",
        },
    )
    assert result["errors"] == {CONF_WATER_HARDNESS: "hardness_out_of_range"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_TRACK_DESCALE: False,
            CONF_SHOTS_PER_DAY: 2,
            CONF_HARDNESS_UNIT: "unknown",
        },
    )
    assert set(schema_defaults(result)) == {
        CONF_BACKFLUSH_INTERVAL_SHOTS,
        CONF_BACKFLUSH_INTERVAL_DAYS,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_BACKFLUSH_INTERVAL_SHOTS: 1001, CONF_BACKFLUSH_INTERVAL_DAYS: 7},
    )
    assert result["errors"] == {CONF_BACKFLUSH_INTERVAL_SHOTS: "interval_too_large"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_BACKFLUSH_INTERVAL_SHOTS: 14, CONF_BACKFLUSH_INTERVAL_DAYS: 7},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # The descale interval not shown is kept.
    assert init_integration.options[CONF_DESCALE_INTERVAL_DAYS] == 60
    await hass.async_block_till_done()
    assert entity_registry.async_get("sensor.gaggia_days_since_descale") is None
    assert entity_registry.async_get("button.gaggia_record_descale") is None
    assert hass.states.get("sensor.gaggia_days_since_descale") is None


async def test_options_flow_with_nothing_to_limit(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
) -> None:
    """Without valve and descaling, the options end after the first page."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_THREE_WAY_VALVE: False}
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_TRACK_DESCALE: False,
            CONF_SHOTS_PER_DAY: 2,
            CONF_HARDNESS_UNIT: "unknown",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_TRACK_DESCALE] is False
    assert result["data"][CONF_BACKFLUSH_INTERVAL_SHOTS] == 14


async def test_reconfigure_removes_and_restores_backflush(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Removing the valve removes the backflush entities; adding it brings them back."""
    await hass.services.async_call(
        DOMAIN, "record_shot", {"entity_id": "sensor.gaggia_total_shots"}, blocking=True
    )
    result = await init_integration.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    assert schema_defaults(result) == {
        CONF_NAME: "Gaggia",
        CONF_MACHINE_TYPE: "semi_automatic",
        CONF_THREE_WAY_VALVE: True,
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "Gaggia Classic",
            CONF_MACHINE_TYPE: "other",
            CONF_THREE_WAY_VALVE: False,
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert init_integration.title == "Gaggia Classic"
    backflush = [
        e.entity_id
        for e in er.async_entries_for_config_entry(
            entity_registry, init_integration.entry_id
        )
        if "backflush" in e.unique_id
    ]
    assert backflush == []
    # Entity IDs stay as created; the counters are kept.
    assert hass.states.get("sensor.gaggia_total_shots").state == "9"

    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "Gaggia Classic",
            CONF_MACHINE_TYPE: "semi_automatic",
            CONF_THREE_WAY_VALVE: True,
        },
    )
    await hass.async_block_till_done()
    # Newer Home Assistant versions give a re-created entity its old entity ID.
    entity_id = entity_registry.async_get_entity_id(
        "sensor", DOMAIN, f"{init_integration.entry_id}_shots_since_backflush"
    )
    assert entity_id is not None
    assert hass.states.get(entity_id).state == "9"


async def test_reconfigure_errors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """A blank name, or another machine's name, is refused at the field."""
    MockConfigEntry(
        domain=DOMAIN,
        title="Lelit",
        data={**entry_data, CONF_NAME: "Lelit"},
        options=entry_options,
    ).add_to_hass(hass)
    result = await init_integration.start_reconfigure_flow(hass)
    for name, error in (("", "name_empty"), ("lelit", "name_taken")):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                CONF_NAME: name,
                CONF_MACHINE_TYPE: "semi_automatic",
                CONF_THREE_WAY_VALVE: True,
            },
        )
        assert result["errors"] == {CONF_NAME: error}
    # Keeping its own name is fine.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "Gaggia",
            CONF_MACHINE_TYPE: "semi_automatic",
            CONF_THREE_WAY_VALVE: True,
        },
    )
    assert result["reason"] == "reconfigure_successful"


async def reach_source_step(hass: HomeAssistant, kind: str) -> dict[str, Any]:
    """Pass the first two steps, choosing a kind of shot source."""
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**MACHINE, CONF_SHOT_SOURCE: kind}
    )
    assert result["step_id"] == f"shot_source_{kind}"
    return result


# The backflush pattern's defaults, from cleaning instructions.
PATTERN = {
    CONF_DETECT_BACKFLUSH: True,
    CONF_BACKFLUSH_PULSES: 4,
    CONF_BACKFLUSH_PULSE_SECONDS: 5,
    CONF_BACKFLUSH_PAUSE_SECONDS: 60,
}

LIMITS = {
    CONF_BACKFLUSH_INTERVAL_SHOTS: 14,
    CONF_BACKFLUSH_INTERVAL_DAYS: 7,
    CONF_DESCALE_INTERVAL_DAYS: 30,
    CONF_SHOTS_SINCE_BACKFLUSH: 0,
}


@pytest.mark.parametrize(
    ("kind", "entity_id", "state", "attributes", "extra"),
    [
        (
            "brewing",
            "binary_sensor.brewing",
            "off",
            {},
            {CONF_MIN_SECONDS: 15, CONF_MAX_SECONDS: 60, **PATTERN},
        ),
        (
            "power",
            "sensor.plug_power",
            "3.2",
            {"device_class": "power", "unit_of_measurement": "W"},
            {
                CONF_POWER_ON_W: 1300,
                CONF_POWER_OFF_W: 1100,
                CONF_MIN_SECONDS: 15,
                CONF_MAX_SECONDS: 60,
                **PATTERN,
            },
        ),
        ("counter", "sensor.total_coffees", "1200", {}, {}),
    ],
)
async def test_flow_with_shot_source(
    hass: HomeAssistant,
    time_zone: str,
    kind: str,
    entity_id: str,
    state: str,
    attributes: dict[str, Any],
    extra: dict[str, Any],
) -> None:
    """Each kind of source is set up from the flow and counts from the start."""
    hass.states.async_set(entity_id, state, attributes)
    result = await reach_source_step(hass, kind)
    assert set(schema_defaults(result)) == set(extra)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SOURCE_ENTITY: entity_id, **extra}
    )
    assert result["step_id"] == "maintenance"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], LIMITS)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"][CONF_SHOT_SOURCE] == kind
    assert result["options"][CONF_SOURCE_ENTITY] == entity_id
    assert {key: result["options"].get(key) for key in extra} == extra
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.runtime_data.shot_source is not None


@pytest.mark.parametrize(
    ("kind", "setup", "data", "errors"),
    [
        (
            "brewing",
            {},
            {
                CONF_SOURCE_ENTITY: "binary_sensor.nothing",
                CONF_MIN_SECONDS: 15,
                CONF_MAX_SECONDS: 60,
            },
            {CONF_SOURCE_ENTITY: "source_not_found"},
        ),
        (
            "brewing",
            {"binary_sensor.b": ("off", {})},
            {
                CONF_SOURCE_ENTITY: "binary_sensor.b",
                CONF_MIN_SECONDS: 0,
                CONF_MAX_SECONDS: 60,
            },
            {CONF_MIN_SECONDS: "seconds_out_of_range"},
        ),
        (
            "brewing",
            {"binary_sensor.b": ("off", {})},
            {
                CONF_SOURCE_ENTITY: "binary_sensor.b",
                CONF_MIN_SECONDS: 30,
                CONF_MAX_SECONDS: 30,
            },
            {CONF_MAX_SECONDS: "max_not_above_min"},
        ),
        (
            "brewing",
            {"binary_sensor.b": ("off", {})},
            {
                CONF_SOURCE_ENTITY: "binary_sensor.b",
                CONF_MIN_SECONDS: 15,
                CONF_MAX_SECONDS: 601,
            },
            {CONF_MAX_SECONDS: "max_not_above_min"},
        ),
        (
            "power",
            {
                "sensor.t": (
                    "21",
                    {"device_class": "temperature", "unit_of_measurement": "°C"},
                )
            },
            {
                CONF_SOURCE_ENTITY: "sensor.t",
                CONF_POWER_ON_W: 30,
                CONF_POWER_OFF_W: 10,
                CONF_MIN_SECONDS: 15,
                CONF_MAX_SECONDS: 60,
            },
            {CONF_SOURCE_ENTITY: "source_not_power"},
        ),
        (
            "power",
            {
                "sensor.p": (
                    "0.1",
                    {"device_class": "power", "unit_of_measurement": "MW"},
                )
            },
            {
                CONF_SOURCE_ENTITY: "sensor.p",
                CONF_POWER_ON_W: 30,
                CONF_POWER_OFF_W: 10,
                CONF_MIN_SECONDS: 15,
                CONF_MAX_SECONDS: 60,
            },
            {CONF_SOURCE_ENTITY: "source_power_unit"},
        ),
        (
            "power",
            {"sensor.p": ("1", {"device_class": "power", "unit_of_measurement": "W"})},
            {
                CONF_SOURCE_ENTITY: "sensor.p",
                CONF_POWER_ON_W: 0,
                CONF_POWER_OFF_W: 0,
                CONF_MIN_SECONDS: 15,
                CONF_MAX_SECONDS: 60,
            },
            {
                CONF_POWER_ON_W: "power_not_positive",
                CONF_POWER_OFF_W: "off_not_below_on",
            },
        ),
        (
            "power",
            {"sensor.p": ("1", {"device_class": "power", "unit_of_measurement": "W"})},
            {
                CONF_SOURCE_ENTITY: "sensor.p",
                CONF_POWER_ON_W: 30,
                CONF_POWER_OFF_W: 40,
                CONF_MIN_SECONDS: 15,
                CONF_MAX_SECONDS: 60,
            },
            {CONF_POWER_OFF_W: "off_not_below_on"},
        ),
        (
            "counter",
            {"sensor.c": ("many", {})},
            {CONF_SOURCE_ENTITY: "sensor.c"},
            {CONF_SOURCE_ENTITY: "source_not_numeric"},
        ),
    ],
)
async def test_shot_source_errors(
    hass: HomeAssistant,
    kind: str,
    setup: dict[str, tuple[str, dict[str, Any]]],
    data: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """A wrong source entity or limit is refused at its field."""
    for entity_id, (state, attributes) in setup.items():
        hass.states.async_set(entity_id, state, attributes)
    result = await reach_source_step(hass, kind)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], data)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors


async def test_own_entity_is_not_a_source(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A machine's own counter cannot count another machine's shots."""
    result = await reach_source_step(hass, "counter")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SOURCE_ENTITY: "sensor.gaggia_total_shots"}
    )
    assert result["errors"] == {CONF_SOURCE_ENTITY: "source_is_own_entity"}


async def test_source_in_the_entity_registry_only(
    hass: HomeAssistant, entity_registry: er.EntityRegistry
) -> None:
    """An entity known to the registry but without a state yet can be chosen."""
    entity_registry.async_get_or_create(
        "sensor", "plug", "power", suggested_object_id="plug_power",
        original_device_class="power", unit_of_measurement="W",
    )  # fmt: skip
    result = await reach_source_step(hass, "power")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_SOURCE_ENTITY: "sensor.plug_power",
            CONF_POWER_ON_W: 30,
            CONF_POWER_OFF_W: 10,
            CONF_MIN_SECONDS: 15,
            CONF_MAX_SECONDS: 60,
        },
    )
    assert result["step_id"] == "maintenance"


async def test_options_change_the_shot_source(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Options add a source, change its limits, and remove it."""
    hass.states.async_set("binary_sensor.brewing", "off")
    usage = {
        CONF_TRACK_DESCALE: True,
        CONF_SHOTS_PER_DAY: 2,
        CONF_WATER_HARDNESS: 8,
        CONF_HARDNESS_UNIT: "dh",
    }
    limits = {
        CONF_BACKFLUSH_INTERVAL_SHOTS: 14,
        CONF_BACKFLUSH_INTERVAL_DAYS: 7,
        CONF_DESCALE_INTERVAL_DAYS: 60,
    }
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**usage, CONF_SHOT_SOURCE: "brewing"}
    )
    assert result["step_id"] == "shot_source_brewing"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SOURCE_ENTITY: "binary_sensor.brewing",
            CONF_MIN_SECONDS: 0,
            CONF_MAX_SECONDS: 60,
        },
    )
    assert result["errors"] == {CONF_MIN_SECONDS: "seconds_out_of_range"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SOURCE_ENTITY: "binary_sensor.brewing",
            CONF_MIN_SECONDS: 20,
            CONF_MAX_SECONDS: 45,
        },
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], limits
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], DESCALE_DEFAULTS
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options[CONF_MIN_SECONDS] == 20
    assert init_integration.runtime_data.shot_source is not None

    # The same kind again shows the current values.
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**usage, CONF_SHOT_SOURCE: "brewing"}
    )
    assert schema_defaults(result) == {
        CONF_SOURCE_ENTITY: "binary_sensor.brewing",
        CONF_MIN_SECONDS: 20,
        CONF_MAX_SECONDS: 45,
        **PATTERN,
    }
    hass.config_entries.options.async_abort(result["flow_id"])

    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**usage, CONF_SHOT_SOURCE: "none"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], limits
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], DESCALE_DEFAULTS
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert CONF_SOURCE_ENTITY not in init_integration.options
    assert init_integration.runtime_data.shot_source is None


USAGE = {
    CONF_TRACK_DESCALE: True,
    CONF_SHOTS_PER_DAY: 2,
    CONF_WATER_HARDNESS: 8,
    CONF_HARDNESS_UNIT: "dh",
}


TIMESTAMP = {"device_class": "timestamp"}


def maintenance_entities(hass: HomeAssistant) -> None:
    """Add a La Marzocco-like machine's entities."""
    hass.states.async_set(
        "sensor.micra_last_cleaning", "2026-11-20T07:00:00+00:00", TIMESTAMP
    )
    hass.states.async_set("sensor.micra_last_descale", "unknown", TIMESTAMP)
    hass.states.async_set("binary_sensor.micra_backflush_active", "off")
    hass.states.async_set("binary_sensor.brewing", "off")
    hass.states.async_set("switch.descaling", "off")
    hass.states.async_set(
        "sensor.micra_temperature", "93", {"unit_of_measurement": "°C"}
    )


async def test_flow_with_maintenance_sources(
    hass: HomeAssistant, time_zone: str
) -> None:
    """Backflushes from a last-cleaning time, descales from a program switch."""
    maintenance_entities(hass)
    result = await start(hass)
    assert schema_defaults(result)[CONF_BACKFLUSH_SOURCE] == "none"
    assert schema_defaults(result)[CONF_DESCALE_SOURCE] == "none"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {**MACHINE, CONF_BACKFLUSH_SOURCE: "timestamp", CONF_DESCALE_SOURCE: "program"},
    )
    assert result["step_id"] == "backflush_source"
    assert result["last_step"] is False
    assert schema_defaults(result) == {}
    # The selector itself refuses other domains; a sensor of another kind gets
    # its error at the field.
    with pytest.raises(InvalidData):
        await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_BACKFLUSH_SOURCE_ENTITY: "binary_sensor.micra_backflush_active"},
        )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BACKFLUSH_SOURCE_ENTITY: "sensor.micra_temperature"}
    )
    assert result["errors"] == {CONF_BACKFLUSH_SOURCE_ENTITY: "source_not_timestamp"}
    # What was entered is shown again.
    assert schema_defaults(result) == {
        CONF_BACKFLUSH_SOURCE_ENTITY: "sensor.micra_temperature"
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BACKFLUSH_SOURCE_ENTITY: "sensor.micra_last_cleaning"}
    )
    assert result["step_id"] == "descale_source"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DESCALE_SOURCE_ENTITY: "switch.nothing"}
    )
    assert result["errors"] == {CONF_DESCALE_SOURCE_ENTITY: "source_not_found"}
    # Only the check's own domain rule refuses what the selector already does.
    assert (
        maintenance_source_problem(
            hass, MaintenanceSourceKind.PROGRAM, "sensor.micra_last_descale"
        )
        == "source_not_program"
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DESCALE_SOURCE_ENTITY: "switch.descaling"}
    )
    assert result["step_id"] == "maintenance"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], LIMITS)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert {
        key: result["options"].get(key)
        for key in (
            CONF_BACKFLUSH_SOURCE,
            CONF_BACKFLUSH_SOURCE_ENTITY,
            CONF_DESCALE_SOURCE,
            CONF_DESCALE_SOURCE_ENTITY,
        )
    } == {
        CONF_BACKFLUSH_SOURCE: "timestamp",
        CONF_BACKFLUSH_SOURCE_ENTITY: "sensor.micra_last_cleaning",
        CONF_DESCALE_SOURCE: "program",
        CONF_DESCALE_SOURCE_ENTITY: "switch.descaling",
    }
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert set(entry.runtime_data.sources) == {
        CONF_BACKFLUSH_SOURCE,
        CONF_DESCALE_SOURCE,
    }


async def test_maintenance_sources_need_what_they_record(
    hass: HomeAssistant, time_zone: str
) -> None:
    """No backflush source without a valve, no descale source without tracking."""
    result = await start(hass)
    entered = {
        **MACHINE,
        CONF_THREE_WAY_VALVE: False,
        CONF_TRACK_DESCALE: False,
        CONF_BACKFLUSH_SOURCE: "program",
        CONF_DESCALE_SOURCE: "timestamp",
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], entered)
    assert result["errors"] == {
        CONF_BACKFLUSH_SOURCE: "backflush_source_without_valve",
        CONF_DESCALE_SOURCE: "descale_source_not_tracked",
    }
    defaults = schema_defaults(result)
    assert {key: defaults[key] for key in entered if key in defaults} == entered


async def test_one_entity_is_one_source(hass: HomeAssistant, time_zone: str) -> None:
    """The brewing sensor cannot also be the backflush program, nor one time both."""
    maintenance_entities(hass)
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            **MACHINE,
            CONF_SHOT_SOURCE: "brewing",
            CONF_BACKFLUSH_SOURCE: "program",
            CONF_DESCALE_SOURCE: "timestamp",
        },
    )
    assert result["step_id"] == "shot_source_brewing"
    # The backflush is reported by the machine: no pulse pattern is asked for.
    assert CONF_DETECT_BACKFLUSH not in schema_defaults(result)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_SOURCE_ENTITY: "binary_sensor.brewing",
            CONF_MIN_SECONDS: 15,
            CONF_MAX_SECONDS: 60,
        },
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BACKFLUSH_SOURCE_ENTITY: "binary_sensor.brewing"}
    )
    assert result["errors"] == {CONF_BACKFLUSH_SOURCE_ENTITY: "source_used_twice"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_BACKFLUSH_SOURCE_ENTITY: "binary_sensor.micra_backflush_active"},
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DESCALE_SOURCE_ENTITY: "sensor.gaggia_total_shots"}
    )
    assert result["errors"] == {CONF_DESCALE_SOURCE_ENTITY: "source_not_found"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DESCALE_SOURCE_ENTITY: "sensor.micra_last_descale"}
    )
    assert result["step_id"] == "maintenance"


async def test_timestamp_source_in_the_entity_registry_only(
    hass: HomeAssistant, time_zone: str, entity_registry: er.EntityRegistry
) -> None:
    """A timestamp sensor without a state yet is known by its registry entry."""
    entity_registry.async_get_or_create(
        "sensor", "lamarzocco", "clean", suggested_object_id="micra_last_cleaning",
        original_device_class="timestamp",
    )  # fmt: skip
    entity_registry.async_get_or_create(
        "sensor", "lamarzocco", "temp", suggested_object_id="micra_temperature"
    )
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**MACHINE, CONF_BACKFLUSH_SOURCE: "timestamp"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BACKFLUSH_SOURCE_ENTITY: "sensor.micra_temperature"}
    )
    assert result["errors"] == {CONF_BACKFLUSH_SOURCE_ENTITY: "source_not_timestamp"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BACKFLUSH_SOURCE_ENTITY: "sensor.micra_last_cleaning"}
    )
    assert result["step_id"] == "maintenance"


@pytest.mark.parametrize(
    ("pattern", "errors"),
    [
        (
            {CONF_BACKFLUSH_PULSES: 1, CONF_BACKFLUSH_PULSE_SECONDS: 15},
            {
                CONF_BACKFLUSH_PULSES: "pulses_out_of_range",
                CONF_BACKFLUSH_PULSE_SECONDS: "pulse_not_below_shot",
            },
        ),
        (
            {CONF_BACKFLUSH_PULSES: 4.5, CONF_BACKFLUSH_PULSE_SECONDS: 0.5},
            {
                CONF_BACKFLUSH_PULSES: "pulses_out_of_range",
                CONF_BACKFLUSH_PULSE_SECONDS: "pulse_not_below_shot",
            },
        ),
        (
            {CONF_BACKFLUSH_PULSES: 21, CONF_BACKFLUSH_PAUSE_SECONDS: 0},
            {
                CONF_BACKFLUSH_PULSES: "pulses_out_of_range",
                CONF_BACKFLUSH_PAUSE_SECONDS: "pause_out_of_range",
            },
        ),
        (
            {CONF_BACKFLUSH_PAUSE_SECONDS: 301},
            {CONF_BACKFLUSH_PAUSE_SECONDS: "pause_out_of_range"},
        ),
    ],
)
async def test_backflush_pattern_errors(
    hass: HomeAssistant, pattern: dict[str, Any], errors: dict[str, str]
) -> None:
    """A pattern that cannot work is refused at its field, and given back."""
    hass.states.async_set("binary_sensor.brewing", "off")
    result = await reach_source_step(hass, "brewing")
    entered = {
        CONF_SOURCE_ENTITY: "binary_sensor.brewing",
        CONF_MIN_SECONDS: 15,
        CONF_MAX_SECONDS: 60,
        **PATTERN,
        **pattern,
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], entered)
    assert result["errors"] == errors
    assert schema_defaults(result) == entered


async def test_backflush_pattern_turned_off(
    hass: HomeAssistant, time_zone: str
) -> None:
    """Detection can be turned off; the pattern's numbers are kept for later."""
    hass.states.async_set("binary_sensor.brewing", "off")
    result = await reach_source_step(hass, "brewing")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_SOURCE_ENTITY: "binary_sensor.brewing",
            CONF_MIN_SECONDS: 20,
            CONF_MAX_SECONDS: 60,
            **PATTERN,
            CONF_DETECT_BACKFLUSH: False,
            CONF_BACKFLUSH_PULSE_SECONDS: 12,
            CONF_BACKFLUSH_PULSES: 5.0,
        },
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], LIMITS)
    assert result["options"][CONF_DETECT_BACKFLUSH] is False
    assert result["options"][CONF_BACKFLUSH_PULSE_SECONDS] == 12
    assert result["options"][CONF_BACKFLUSH_PULSES] == 5
    assert isinstance(result["options"][CONF_BACKFLUSH_PULSES], int)


async def test_no_backflush_pattern_without_a_valve(
    hass: HomeAssistant, time_zone: str
) -> None:
    """A machine that cannot be backflushed is not asked about backflush pulses."""
    hass.states.async_set("binary_sensor.brewing", "off")
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {**MACHINE, CONF_THREE_WAY_VALVE: False, CONF_SHOT_SOURCE: "brewing"},
    )
    assert set(schema_defaults(result)) == {CONF_MIN_SECONDS, CONF_MAX_SECONDS}


async def test_options_change_the_maintenance_sources(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Options add sources, show them again, change their kind, and remove them."""
    maintenance_entities(hass)
    usage = {
        CONF_TRACK_DESCALE: True,
        CONF_SHOTS_PER_DAY: 2,
        CONF_WATER_HARDNESS: 8,
        CONF_HARDNESS_UNIT: "dh",
        CONF_SHOT_SOURCE: "none",
    }
    limits = {
        CONF_BACKFLUSH_INTERVAL_SHOTS: 14,
        CONF_BACKFLUSH_INTERVAL_DAYS: 7,
        CONF_DESCALE_INTERVAL_DAYS: 60,
    }
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert schema_defaults(result)[CONF_BACKFLUSH_SOURCE] == "none"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {**usage, CONF_BACKFLUSH_SOURCE: "timestamp", CONF_DESCALE_SOURCE: "program"},
    )
    assert result["step_id"] == "backflush_source"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_BACKFLUSH_SOURCE_ENTITY: "sensor.micra_last_cleaning"}
    )
    assert result["step_id"] == "descale_source"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_DESCALE_SOURCE_ENTITY: "switch.nothing"}
    )
    assert result["errors"] == {CONF_DESCALE_SOURCE_ENTITY: "source_not_found"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_DESCALE_SOURCE_ENTITY: "switch.descaling"}
    )
    assert result["step_id"] == "limits"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], limits
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], DESCALE_DEFAULTS
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options[CONF_DESCALE_SOURCE_ENTITY] == "switch.descaling"
    assert set(init_integration.runtime_data.sources) == {
        CONF_BACKFLUSH_SOURCE,
        CONF_DESCALE_SOURCE,
    }

    # The same kinds show the current entities; another kind starts empty.
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    defaults = schema_defaults(result)
    assert defaults[CONF_BACKFLUSH_SOURCE] == "timestamp"
    assert defaults[CONF_DESCALE_SOURCE] == "program"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {**usage, CONF_BACKFLUSH_SOURCE: "timestamp", CONF_DESCALE_SOURCE: "timestamp"},
    )
    assert schema_defaults(result) == {
        CONF_BACKFLUSH_SOURCE_ENTITY: "sensor.micra_last_cleaning"
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_BACKFLUSH_SOURCE_ENTITY: "sensor.micra_last_cleaning"}
    )
    assert schema_defaults(result) == {}
    # One time cannot be both the last cleaning and the last descale.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_DESCALE_SOURCE_ENTITY: "sensor.micra_last_cleaning"}
    )
    assert result["errors"] == {CONF_DESCALE_SOURCE_ENTITY: "source_used_twice"}
    hass.config_entries.options.async_abort(result["flow_id"])

    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {**usage, CONF_BACKFLUSH_SOURCE: "none", CONF_DESCALE_SOURCE: "none"},
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], limits
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], DESCALE_DEFAULTS
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options[CONF_BACKFLUSH_SOURCE] == "none"
    assert CONF_BACKFLUSH_SOURCE_ENTITY not in init_integration.options
    assert init_integration.runtime_data.sources == {}


async def test_options_without_a_valve_ask_no_backflush_source(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, time_zone: str
) -> None:
    """Without a valve the backflush source is not offered, and refused if sent."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_THREE_WAY_VALVE: False}
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    assert CONF_BACKFLUSH_SOURCE not in schema_defaults(result)
    assert CONF_DESCALE_SOURCE in schema_defaults(result)
    usage = {
        CONF_TRACK_DESCALE: True,
        CONF_SHOTS_PER_DAY: 2,
        CONF_HARDNESS_UNIT: "unknown",
        CONF_BACKFLUSH_SOURCE: "program",
    }
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(result["flow_id"], usage)


async def test_options_keep_the_pattern_off_for_older_machines(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A brewing source set up before the pattern shows it off; turning it on works."""
    hass.states.async_set("binary_sensor.brewing", "off")
    hass.config_entries.async_update_entry(
        init_integration,
        options={
            **init_integration.options,
            CONF_SHOT_SOURCE: "brewing",
            CONF_SOURCE_ENTITY: "binary_sensor.brewing",
            CONF_MIN_SECONDS: 15,
            CONF_MAX_SECONDS: 60,
        },
    )
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_TRACK_DESCALE: True,
            CONF_SHOTS_PER_DAY: 2,
            CONF_HARDNESS_UNIT: "unknown",
            CONF_SHOT_SOURCE: "brewing",
        },
    )
    assert schema_defaults(result)[CONF_DETECT_BACKFLUSH] is False
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SOURCE_ENTITY: "binary_sensor.brewing",
            CONF_MIN_SECONDS: 15,
            CONF_MAX_SECONDS: 60,
            **PATTERN,
        },
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_BACKFLUSH_INTERVAL_SHOTS: 14,
            CONF_BACKFLUSH_INTERVAL_DAYS: 7,
            CONF_DESCALE_INTERVAL_DAYS: 60,
        },
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], DESCALE_DEFAULTS
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options[CONF_DETECT_BACKFLUSH] is True


WATER_METER = "sensor.espresso_water"


METER_ATTRIBUTES = {
    "device_class": "water",
    "unit_of_measurement": "L",
    "state_class": "total_increasing",
}


async def descale_step(
    hass: HomeAssistant, entry: MockConfigEntry, interval: int = 60
) -> dict[str, Any]:
    """Go through the options to the descale page."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], USAGE)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_BACKFLUSH_INTERVAL_SHOTS: 14,
            CONF_BACKFLUSH_INTERVAL_DAYS: 7,
            CONF_DESCALE_INTERVAL_DAYS: interval,
        },
    )
    assert result["step_id"] == "descale"
    assert result["description_placeholders"]["interval"] == str(interval)
    return result


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {CONF_WATER_PER_SHOT_ML: 9},
            {CONF_WATER_PER_SHOT_ML: "water_per_shot_out_of_range"},
        ),
        (
            {CONF_WATER_PER_SHOT_ML: 1001},
            {CONF_WATER_PER_SHOT_ML: "water_per_shot_out_of_range"},
        ),
        (
            {CONF_WATER_PER_SHOT_ML: 99.5},
            {CONF_WATER_PER_SHOT_ML: "water_per_shot_out_of_range"},
        ),
        (
            {CONF_DESCALE_MIN_DAYS: 0},
            {CONF_DESCALE_MIN_DAYS: "descale_bound_out_of_range"},
        ),
        (
            {CONF_DESCALE_MIN_DAYS: 20.5},
            {CONF_DESCALE_MIN_DAYS: "descale_bound_out_of_range"},
        ),
        (
            {CONF_DESCALE_MAX_DAYS: 366},
            {CONF_DESCALE_MAX_DAYS: "descale_bound_out_of_range"},
        ),
        (
            {CONF_DESCALE_MIN_DAYS: -1, CONF_DESCALE_MAX_DAYS: 400},
            {
                CONF_DESCALE_MIN_DAYS: "descale_bound_out_of_range",
                CONF_DESCALE_MAX_DAYS: "descale_bound_out_of_range",
            },
        ),
        (
            {CONF_DESCALE_MIN_DAYS: 90, CONF_DESCALE_MAX_DAYS: 90},
            {CONF_DESCALE_MAX_DAYS: "descale_max_not_above_min"},
        ),
        (
            {CONF_DESCALE_MIN_DAYS: 61},
            {CONF_DESCALE_MIN_DAYS: "descale_interval_below_min"},
        ),
        (
            {CONF_DESCALE_MAX_DAYS: 59},
            {CONF_DESCALE_MAX_DAYS: "descale_interval_above_max"},
        ),
        (
            {CONF_WATER_SOURCE: "sensor.nothing"},
            {CONF_WATER_SOURCE: "water_source_not_found"},
        ),
        (
            {CONF_WATER_SOURCE: "sensor.gaggia_total_shots"},
            {CONF_WATER_SOURCE: "water_source_is_own_entity"},
        ),
    ],
)
async def test_descale_page_errors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Bad water and bounds show at their field, and nothing changes."""
    before = dict(init_integration.options)
    result = await descale_step(hass, init_integration)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**DESCALE_DEFAULTS, **changes}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert dict(init_integration.options) == before


async def test_descale_page_sets_a_water_source(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A water meter and bounds are saved; the meter is prefilled, and can be removed."""
    hass.states.async_set(WATER_METER, "12.5", METER_ATTRIBUTES)
    result = await descale_step(hass, init_integration, interval=45)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_WATER_PER_SHOT_ML: 250,
            CONF_WATER_SOURCE: WATER_METER,
            CONF_DESCALE_MIN_DAYS: 21,
            CONF_DESCALE_MAX_DAYS: 120,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    options = init_integration.options
    assert options[CONF_WATER_SOURCE] == WATER_METER
    assert options[CONF_WATER_PER_SHOT_ML] == 250
    assert (options[CONF_DESCALE_MIN_DAYS], options[CONF_DESCALE_MAX_DAYS]) == (21, 120)
    machine = init_integration.runtime_data
    assert CONF_WATER_SOURCE in machine.sources
    assert machine.settings.water_from_source
    assert machine.settings.descale_bounds == (21, 120)

    result = await descale_step(hass, init_integration, interval=45)
    assert schema_defaults(result) == {
        CONF_WATER_PER_SHOT_ML: 250,
        CONF_WATER_SOURCE: WATER_METER,
        CONF_DESCALE_MIN_DAYS: 21,
        CONF_DESCALE_MAX_DAYS: 120,
    }
    # The sensor is suggested, so it can be emptied.
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description
    }
    assert suggested == {CONF_WATER_SOURCE: WATER_METER}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], DESCALE_DEFAULTS
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert CONF_WATER_SOURCE not in init_integration.options
    assert CONF_WATER_SOURCE not in init_integration.runtime_data.sources


async def test_descale_bounds_widen_to_hold_the_interval(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An interval beyond three months prefills a longest interval that holds it."""
    result = await descale_step(hass, init_integration, interval=120)
    assert schema_defaults(result) == {
        CONF_WATER_PER_SHOT_ML: 100,
        CONF_DESCALE_MIN_DAYS: 30,
        CONF_DESCALE_MAX_DAYS: 120,
    }
    result = await descale_step(hass, init_integration, interval=14)
    assert schema_defaults(result)[CONF_DESCALE_MIN_DAYS] == 14


async def test_descale_settings_are_kept_while_not_tracked(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Turning descaling off keeps the water and bounds for when it is back."""
    hass.config_entries.async_update_entry(
        init_integration,
        options={**init_integration.options, CONF_WATER_PER_SHOT_ML: 80},
    )
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**USAGE, CONF_TRACK_DESCALE: False}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_BACKFLUSH_INTERVAL_SHOTS: 14, CONF_BACKFLUSH_INTERVAL_DAYS: 7},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_WATER_PER_SHOT_ML] == 80
    assert CONF_DESCALE_MIN_DAYS not in result["data"]


async def test_a_new_interval_recalibrates_from_its_day(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Saving a new interval recalibrates at the hardness shown; the past keeps its weight."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**USAGE, CONF_WATER_HARDNESS: 16}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_BACKFLUSH_INTERVAL_SHOTS: 14,
            CONF_BACKFLUSH_INTERVAL_DAYS: 7,
            CONF_DESCALE_INTERVAL_DAYS: 40,
        },
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], DESCALE_DEFAULTS
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    bases = init_integration.runtime_data.state.scale_bases
    # Saved the same day the machine was set up: the first basis stays for the
    # days before, the new one holds from today.
    assert len(bases) == 2
    assert bases[0].since == bases[1].since
    assert bases[1].hardness_mg_l == bases[1].calibration_mg_l == 16 * 17.848
    assert bases[1].interval_days == 40
    assert hass.states.get("sensor.gaggia_scale_load").state == "123"  # 122.5 %
