"""Tests for the hard-water repair."""

from __future__ import annotations

from datetime import date
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.espresso_maintenance.const import (
    CONF_HARDNESS_UNIT,
    CONF_WATER_HARDNESS,
    DOMAIN,
)
from custom_components.espresso_maintenance.repairs import HardWaterRepairFlow

from .conftest import ENTRY_ID, NOW

pytestmark = pytest.mark.freeze_time(NOW)

ISSUE = f"hard_water_{ENTRY_ID}"


async def fix(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, *steps: dict[str, Any]
) -> list[dict[str, Any]]:
    """Run the hard-water fix flow through the repairs API."""
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": ISSUE}
    )
    results = [await response.json()]
    for step in steps:
        response = await client.post(
            f"/api/repairs/issues/fix/{results[0]['flow_id']}", json=step
        )
        results.append(await response.json())
    await hass.async_block_till_done()
    return results


async def test_hard_water_issue_and_fix(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """8 °dH is above soft water: a repair recommends softer water; its fix updates the reading."""
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders == {
        "name": "Gaggia",
        "hardness": "8 °dH",
        "soft_limit": "3.4 °dH",
    }
    form, refused, done = await fix(
        hass,
        hass_client,
        {CONF_WATER_HARDNESS: 90, CONF_HARDNESS_UNIT: "dh"},
        {CONF_WATER_HARDNESS: 2.5, CONF_HARDNESS_UNIT: "dh"},
    )
    assert form["step_id"] == "reading"
    assert refused["errors"] == {CONF_WATER_HARDNESS: "hardness_out_of_range"}
    assert done["type"] == "create_entry"
    assert init_integration.options[CONF_WATER_HARDNESS] == 2.5
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None
    # The counters were kept through the reload.
    assert hass.states.get("sensor.gaggia_total_shots").state == "8"


@pytest.mark.parametrize(
    ("hardness", "unit"),
    [(50, "mg_l"), (None, "unknown"), (1.0, "mmol_l")],
)
async def test_no_issue_for_soft_or_unknown_water(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    hardness: float | None,
    unit: str,
) -> None:
    """Soft or unmeasured water raises nothing (1 mmol/L is 100 mg/L: it does)."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={
            **mock_config_entry.options,
            CONF_WATER_HARDNESS: hardness,
            CONF_HARDNESS_UNIT: unit,
        },
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE)
    assert (issue is not None) is (unit == "mmol_l")


async def test_fix_flow_of_a_removed_machine(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """Removing the machine removes its issues; an open fix flow then aborts."""
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": ISSUE}
    )
    flow = await response.json()
    await hass.config_entries.async_remove(init_integration.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None
    response = await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}",
        json={CONF_WATER_HARDNESS: 2, CONF_HARDNESS_UNIT: "dh"},
    )
    result = await response.json()
    assert (result["type"], result["reason"]) == ("abort", "machine_removed")


async def test_new_reading_weighs_water_from_its_day(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A filter fitted five days later: softer water from that day, same calibration."""
    freezer.move_to("2026-12-03T09:00:00+00:00")
    # Straight to the flow: the test client's token would have expired by now.
    flow = HardWaterRepairFlow(ENTRY_ID)
    flow.hass = hass
    result = await flow.async_step_reading(
        {CONF_WATER_HARDNESS: 2.5, CONF_HARDNESS_UNIT: "dh"}
    )
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    bases = init_integration.runtime_data.state.scale_bases
    assert [(basis.since, basis.hardness_mg_l) for basis in bases] == [
        (date(2026, 11, 28), pytest.approx(142.784)),
        (date(2026, 12, 3), pytest.approx(44.62)),
    ]
    # The interval (60 days) was kept, so the calibration stays at 8 °dH: each
    # day from now on counts 2.5/8 of a day of typical use.
    assert [basis.calibration_mg_l for basis in bases] == [
        pytest.approx(142.784),
        pytest.approx(142.784),
    ]
    assert bases[-1].interval_days == 60
