"""Tests for the hard-water repair."""

from __future__ import annotations

from datetime import date
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import (
    FlowResultType,
)
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


@pytest.fixture
def entry_options(entry_options: dict[str, Any]) -> dict[str, Any]:
    """Measure 14 °dH (250 mg/L CaCO3), harder than espresso water should be."""
    return {**entry_options, CONF_WATER_HARDNESS: 14.0, CONF_HARDNESS_UNIT: "dh"}


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
        f"/api/repairs/issues/fix/{flow['flow_id']}", json={"next_step_id": "reading"}
    )
    result = await response.json()
    assert (result["type"], result["reason"]) == ("abort", "machine_removed")


@pytest.mark.parametrize("step", ["init", "ignore"])
async def test_fix_steps_of_a_removed_machine(
    hass: HomeAssistant, init_integration: MockConfigEntry, step: str
) -> None:
    """Each step of the hard-water fix aborts once the machine is gone."""
    flow = HardWaterRepairFlow(init_integration.entry_id)
    flow.hass = hass
    await hass.config_entries.async_remove(init_integration.entry_id)
    result = await getattr(flow, f"async_step_{step}")()
    assert (result["type"], result["reason"]) == (
        FlowResultType.ABORT,
        "machine_removed",
    )


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
        (date(2026, 11, 28), pytest.approx(249.872)),
        (date(2026, 12, 3), pytest.approx(44.62)),
    ]
    # The interval (60 days) was kept, so the calibration stays at 14 °dH: each
    # day from now on counts 2.5/14 of a day of typical use.
    assert [basis.calibration_mg_l for basis in bases] == [
        pytest.approx(249.872),
        pytest.approx(249.872),
    ]
    assert bases[-1].interval_days == 60


def hard_water_issue(hass: HomeAssistant) -> ir.IssueEntry | None:
    """Return the machine's hard-water issue, if there is one."""
    return ir.async_get(hass).async_get_issue(DOMAIN, ISSUE)


async def test_hard_water_issue(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Water above 175 mg/L raises a warning that names the standard's limit and target."""
    issue = hard_water_issue(hass)
    assert issue is not None
    assert issue.is_fixable
    assert not issue.is_persistent
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders == {
        "name": "Gaggia",
        "hardness": "14 °dH",
        "limit": "9.8 °dH",
        "target": "3.8 °dH",
    }


async def test_fix_with_a_good_reading(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """The fix offers a reading or ignoring; a reading the standard accepts repairs it."""
    menu, form, refused, done = await fix(
        hass,
        hass_client,
        {"next_step_id": "reading"},
        {CONF_WATER_HARDNESS: 90, CONF_HARDNESS_UNIT: "dh"},
        {CONF_WATER_HARDNESS: 5, CONF_HARDNESS_UNIT: "dh"},
    )
    assert menu["type"] == "menu"
    assert menu["menu_options"] == ["reading", "ignore"]
    assert menu["description_placeholders"]["hardness"] == "14 °dH"
    assert form["step_id"] == "reading"
    assert refused["errors"] == {CONF_WATER_HARDNESS: "hardness_out_of_range"}
    assert done["type"] == "create_entry"
    assert init_integration.options[CONF_WATER_HARDNESS] == 5
    assert hard_water_issue(hass) is None
    # The counters were kept through the reload.
    assert hass.states.get("sensor.gaggia_total_shots").state == "8"


async def test_fix_with_water_still_too_hard(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """A reading that is still too hard is kept, but nothing is reported as repaired."""
    *_, result = await fix(
        hass,
        hass_client,
        {"next_step_id": "reading"},
        {CONF_WATER_HARDNESS: 200, CONF_HARDNESS_UNIT: "mg_l"},
    )
    assert (result["type"], result["reason"]) == ("abort", "still_too_hard")
    assert result["description_placeholders"]["hardness"] == "200 mg/L CaCO₃"
    assert result["description_placeholders"]["limit"] == "175 mg/L CaCO₃"
    assert init_integration.options[CONF_WATER_HARDNESS] == 200
    assert init_integration.options[CONF_HARDNESS_UNIT] == "mg_l"
    issue = hard_water_issue(hass)
    assert issue is not None
    assert issue.translation_placeholders["hardness"] == "200 mg/L CaCO₃"


async def test_ignore(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """Ignoring keeps the issue as ignored, also after the machine reloads."""
    *_, result = await fix(hass, hass_client, {"next_step_id": "ignore"})
    assert (result["type"], result["reason"]) == ("abort", "ignored")
    issue = hard_water_issue(hass)
    assert issue is not None
    assert issue.dismissed_version is not None
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    issue = hard_water_issue(hass)
    assert issue is not None
    assert issue.dismissed_version is not None


async def test_fix_flow_when_the_water_became_soft_meanwhile(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A fix flow opened before the water became soft asks for the reading directly."""
    flow = HardWaterRepairFlow(init_integration.entry_id)
    flow.hass = hass
    hass.config_entries.async_update_entry(
        init_integration,
        options={**init_integration.options, CONF_WATER_HARDNESS: 4.0},
    )
    result = await flow.async_step_init()
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "reading")


@pytest.mark.parametrize(
    ("hardness", "unit", "raised"),
    [
        (8, "dh", False),
        (9.8, "dh", False),
        (10, "dh", True),
        (175, "mg_l", False),
        (176, "mg_l", True),
        (None, "unknown", False),
        (1.0, "mmol_l", False),
        (2.0, "mmol_l", True),
    ],
)
async def test_issue_only_above_the_standard(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    hardness: float | None,
    unit: str,
    raised: bool,
) -> None:
    """Ordinary tap water (8 °dH) raises nothing; above 175 mg/L CaCO3 does."""
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
    assert (hard_water_issue(hass) is not None) is raised
