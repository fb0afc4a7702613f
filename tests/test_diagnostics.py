"""Tests for the diagnostics download."""

from __future__ import annotations

from typing import Any

# Imported now, not by the diagnostics view while freezegun patches datetime.
import aiohasupervisor  # noqa: F401
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.espresso_maintenance.const import CONF_LAST_DESCALE, DOMAIN

from .conftest import NOW

pytestmark = pytest.mark.freeze_time(NOW)


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """Diagnostics hold the settings, the status and a history summary."""
    target = {"entity_id": "sensor.gaggia_total_shots"}
    await hass.services.async_call(DOMAIN, "record_shot", target, blocking=True)
    await hass.services.async_call(
        DOMAIN, "record_backflush", {**target, "note": "Cafiza"}, blocking=True
    )
    await hass.services.async_call(
        DOMAIN,
        "record_descale",
        {**target, "performed_at": "2026-11-27T18:00:00+01:00"},
        blocking=True,
    )
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )
    diagnostics["status"].pop("device_id")
    assert diagnostics == snapshot


async def test_diagnostics_show_the_journal(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """Shots wait in the journal until a record folds them into the file."""
    target = {"entity_id": "sensor.gaggia_total_shots"}

    async def storage() -> dict[str, Any]:
        diagnostics = await get_diagnostics_for_config_entry(
            hass, hass_client, init_integration
        )
        return dict(diagnostics["storage"])

    before = await storage()
    for _ in range(3):
        await hass.services.async_call(DOMAIN, "record_shot", target, blocking=True)
    assert await storage() == {
        "version": "3.1",
        "journal_lines": before["journal_lines"] + 3,
        "last_journal_line": before["last_journal_line"] + 3,
        "appending": True,
    }
    await hass.services.async_call(DOMAIN, "record_backflush", target, blocking=True)
    after = await storage()
    assert (after["journal_lines"], after["last_journal_line"]) == (
        0,
        before["last_journal_line"] + 3,
    )


async def test_diagnostics_without_a_known_descale(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
) -> None:
    """With the last descale unknown there is no load yet, only its inputs."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_LAST_DESCALE: None}
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, mock_config_entry
    )
    assert diagnostics["descale"]["outlook"] is None
    assert diagnostics["descale"]["water_per_shot_ml"] == 100
    assert diagnostics["status"]["scale_load_percent"] is None
    assert diagnostics["status"]["descale_driver"] is None
