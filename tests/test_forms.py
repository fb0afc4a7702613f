"""Every form gives back everything the user entered when it shows an error.

Each test fills every field of a form with a value other than the one it showed
(dates included), adds one wrong value, and checks the form comes back with the
errors and every field as entered. The fields are read from the form itself, so
a field added to a form later is checked too; a field that starts empty
must be given a value in `EXTRA`, or the test says which is missing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir, selector
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.espresso_maintenance.const import (
    CONF_BACKFLUSH_INTERVAL_DAYS,
    CONF_HARDNESS_UNIT,
    CONF_LAST_BACKFLUSH,
    CONF_LAST_DESCALE,
    CONF_MACHINE_TYPE,
    CONF_MIN_SECONDS,
    CONF_SHOT_SOURCE,
    CONF_SHOTS_PER_DAY,
    CONF_SOURCE_ENTITY,
    CONF_THREE_WAY_VALVE,
    CONF_WATER_HARDNESS,
    DOMAIN,
)
from custom_components.espresso_maintenance.hardness import with_input

from .common import shown
from .conftest import ENTRY_ID, NOW

pytestmark = pytest.mark.freeze_time(NOW)

type Configure = Callable[[str, dict[str, Any]], Awaitable[Any]]

# Values for the fields that start empty, by field.
EXTRA = {
    CONF_NAME: "Gaggia",
    CONF_WATER_HARDNESS: 7.5,
    CONF_LAST_BACKFLUSH: "2026-11-20",
    CONF_LAST_DESCALE: "2026-09-30",
    CONF_SOURCE_ENTITY: "sensor.plug_power",
}


def another_value(field: Any, value: Any) -> Any:
    """Return a valid value for a field other than the one it shows."""
    if isinstance(field, selector.BooleanSelector):
        return not value
    if isinstance(field, selector.SelectSelector):
        options = [str(option) for option in field.config["options"]]
        return options[(options.index(value) + 1) % len(options)]
    if isinstance(field, selector.NumberSelector):
        return value + 3
    if isinstance(field, selector.TextSelector):
        return f"{value} Bianca"
    raise AssertionError(f"no other value for {field}")


def entered(result: dict[str, Any], wrong: dict[str, Any]) -> dict[str, Any]:
    """Fill every field with a new value, then make the `wrong` ones wrong."""
    before = shown(result)
    values: dict[str, Any] = {}
    for key, field in result["data_schema"].schema.items():
        name = str(key)
        if name in before:
            values[name] = another_value(field, before[name])
        else:
            assert name in EXTRA, f"give the field {name} a value in EXTRA"
            values[name] = EXTRA[name]
    return values | wrong


async def assert_kept(
    configure: Configure, result: dict[str, Any], wrong: dict[str, Any]
) -> dict[str, Any]:
    """Send a form with an error; it must come back as the user filled it in."""
    assert result["type"] is FlowResultType.FORM
    values = entered(result, wrong)
    again = await configure(result["flow_id"], values)
    assert again["type"] is FlowResultType.FORM
    assert again["step_id"] == result["step_id"]
    assert set(wrong) <= set(again["errors"])
    assert shown(again) == values
    return values


def flow_configure(hass: HomeAssistant) -> Configure:
    """Return the config flow's configure call."""
    return hass.config_entries.flow.async_configure


async def new_flow(hass: HomeAssistant) -> dict[str, Any]:
    """Start adding a machine."""
    result: dict[str, Any] = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "user"}
    )
    return result


async def test_name_step(hass: HomeAssistant) -> None:
    """A blank name keeps the chosen machine type."""
    result = await new_flow(hass)
    await assert_kept(flow_configure(hass), result, {CONF_NAME: "  "})


async def test_machine_step(hass: HomeAssistant) -> None:
    """Too many shots a day keeps the valve, descaling, water and source answers."""
    result = await new_flow(hass)
    result = await flow_configure(hass)(
        result["flow_id"], {CONF_NAME: "Gaggia", CONF_MACHINE_TYPE: "semi_automatic"}
    )
    await assert_kept(flow_configure(hass), result, {CONF_SHOTS_PER_DAY: 51})


async def reach_maintenance(hass: HomeAssistant) -> dict[str, Any]:
    """Pass the first two steps of a semi-automatic that tracks descaling."""
    result = await new_flow(hass)
    result = await flow_configure(hass)(
        result["flow_id"], {CONF_NAME: "Gaggia", CONF_MACHINE_TYPE: "semi_automatic"}
    )
    result = await flow_configure(hass)(
        result["flow_id"],
        {
            CONF_THREE_WAY_VALVE: True,
            "track_descale": True,
            CONF_SHOTS_PER_DAY: 2,
            CONF_HARDNESS_UNIT: "unknown",
            CONF_SHOT_SOURCE: "none",
        },
    )
    assert result["step_id"] == "maintenance"
    return result


@pytest.mark.parametrize(
    "wrong",
    [
        {CONF_LAST_BACKFLUSH: "2026-12-10"},
        {CONF_BACKFLUSH_INTERVAL_DAYS: 0},
        {CONF_LAST_DESCALE: "2027-01-01", "shots_since_backflush": -1},
    ],
    ids=["future date", "interval zero", "two errors"],
)
async def test_maintenance_step(
    hass: HomeAssistant, time_zone: str, wrong: dict[str, Any]
) -> None:
    """A date in the future, or a wrong interval, keeps both dates and every number."""
    result = await reach_maintenance(hass)
    values = await assert_kept(flow_configure(hass), result, wrong)
    assert {CONF_LAST_BACKFLUSH, CONF_LAST_DESCALE} <= set(values)


async def test_maintenance_step_then_fixed(hass: HomeAssistant, time_zone: str) -> None:
    """After fixing the wrong number, the dates entered before are the ones saved."""
    result = await reach_maintenance(hass)
    values = await assert_kept(
        flow_configure(hass), result, {CONF_BACKFLUSH_INTERVAL_DAYS: 0}
    )
    result = await flow_configure(hass)(
        result["flow_id"], values | {CONF_BACKFLUSH_INTERVAL_DAYS: 7}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_LAST_BACKFLUSH] == EXTRA[CONF_LAST_BACKFLUSH]
    assert result["data"][CONF_LAST_DESCALE] == EXTRA[CONF_LAST_DESCALE]


@pytest.mark.parametrize(
    ("kind", "missing"),
    [
        ("brewing", "binary_sensor.not_there"),
        ("power", "sensor.not_there"),
        ("counter", "sensor.not_there"),
    ],
)
async def test_shot_source_step(hass: HomeAssistant, kind: str, missing: str) -> None:
    """A wrong source keeps every threshold entered."""
    result = await new_flow(hass)
    result = await flow_configure(hass)(
        result["flow_id"], {CONF_NAME: "Gaggia", CONF_MACHINE_TYPE: "semi_automatic"}
    )
    result = await flow_configure(hass)(
        result["flow_id"],
        {
            CONF_THREE_WAY_VALVE: True,
            "track_descale": True,
            CONF_SHOTS_PER_DAY: 2,
            CONF_HARDNESS_UNIT: "unknown",
            CONF_SHOT_SOURCE: kind,
        },
    )
    await assert_kept(flow_configure(hass), result, {CONF_SOURCE_ENTITY: missing})


async def test_reconfigure(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A blank name keeps the new machine type and valve."""
    result = await init_integration.start_reconfigure_flow(hass)
    await assert_kept(flow_configure(hass), result, {CONF_NAME: ""})


def options_configure(hass: HomeAssistant) -> Configure:
    """Return the options flow's configure call."""
    return hass.config_entries.options.async_configure


async def test_options_usage_step(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A reading without a unit keeps the other answers."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    await assert_kept(options_configure(hass), result, {CONF_HARDNESS_UNIT: "unknown"})


async def test_options_source_and_limits_steps(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The source and limit steps of the options keep what was entered, too."""
    hass.states.async_set(
        "sensor.plug_power", "3", {"device_class": "power", "unit_of_measurement": "W"}
    )
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await options_configure(hass)(
        result["flow_id"], {**shown(result), CONF_SHOT_SOURCE: "power"}
    )
    values = await assert_kept(options_configure(hass), result, {CONF_MIN_SECONDS: 0})
    result = await options_configure(hass)(
        result["flow_id"], values | {CONF_MIN_SECONDS: 10}
    )
    assert result["step_id"] == "limits"
    await assert_kept(
        options_configure(hass), result, {CONF_BACKFLUSH_INTERVAL_DAYS: -1}
    )


async def test_hard_water_repair(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, time_zone: str
) -> None:
    """A reading out of range keeps the reading and its unit."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={**mock_config_entry.options, CONF_WATER_HARDNESS: 14.0},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert await async_setup_component(hass, "repairs", {})
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = await manager.async_init(
        DOMAIN, data={"issue_id": f"hard_water_{ENTRY_ID}"}
    )
    result = await manager.async_configure(
        result["flow_id"], {"next_step_id": "reading"}
    )
    await assert_kept(manager.async_configure, result, {CONF_WATER_HARDNESS: 5000})


async def test_new_source_repair(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A wrong entity comes back as entered."""
    assert await async_setup_component(hass, "repairs", {})
    ir.async_create_issue(
        hass,
        DOMAIN,
        f"source_missing_{ENTRY_ID}",
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key="source_missing",
        data={"entry_id": ENTRY_ID, "kind": "counter"},
    )
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = await manager.async_init(
        DOMAIN, data={"issue_id": f"source_missing_{ENTRY_ID}"}
    )
    assert shown(result) == {}
    again = await manager.async_configure(
        result["flow_id"], {CONF_SOURCE_ENTITY: "sensor.typo"}
    )
    assert again["errors"] == {CONF_SOURCE_ENTITY: "source_not_found"}
    assert shown(again) == {CONF_SOURCE_ENTITY: "sensor.typo"}


def test_with_input_without_input() -> None:
    """Shown for the first time, a form keeps its own defaults and suggestions."""
    schema = {
        vol.Required("a", default=1): int,
        vol.Optional("b", description={"suggested_value": 2}): int,
    }
    assert with_input(schema, None).schema == schema


def test_an_emptied_field_stays_empty() -> None:
    """A prefilled optional field the user emptied does not come back prefilled."""
    schema = {
        vol.Optional("reading", description={"suggested_value": 8}): int,
        "plain": str,
    }
    form = with_input(schema, {"plain": "x"})
    keys = {str(key): key for key in form.schema}
    assert keys["reading"].description is None
    assert "plain" in keys
