"""Fixtures for Espresso Maintenance tests."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.espresso_maintenance.const import (
    CONF_BACKFLUSH_INTERVAL_DAYS,
    CONF_BACKFLUSH_INTERVAL_SHOTS,
    CONF_DESCALE_INTERVAL_DAYS,
    CONF_HARDNESS_UNIT,
    CONF_LAST_BACKFLUSH,
    CONF_LAST_DESCALE,
    CONF_MACHINE_TYPE,
    CONF_SHOTS_PER_DAY,
    CONF_SHOTS_SINCE_BACKFLUSH,
    CONF_THREE_WAY_VALVE,
    CONF_TRACK_DESCALE,
    CONF_WATER_HARDNESS,
    DOMAIN,
)

ENTRY_ID = "01JESPRESSOMACHINE000000001"
# 2026-11-28 09:30 in Europe/Rome.
NOW = "2026-11-28T08:30:00+00:00"
TIME_ZONE = "Europe/Rome"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Load the integration from custom_components.

    A test that uses the recorder gets it before Home Assistant starts.
    """
    if "recorder_mock" in request.fixturenames:
        request.getfixturevalue("recorder_mock")
    request.getfixturevalue("enable_custom_integrations")


@pytest.fixture(autouse=True)
def config_dir_in_tmp_path(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Give each Home Assistant test its own config dir.

    The integration writes voice sentences into <config>/custom_sentences; they
    must not land in the test harness's shared config dir.
    """
    if "hass" in request.fixturenames:
        hass: HomeAssistant = request.getfixturevalue("hass")
        hass.config.config_dir = str(tmp_path)


@pytest.fixture
def entry_data() -> dict[str, Any]:
    """Return a semi-automatic's data, as the config flow writes it."""
    return {
        CONF_NAME: "Gaggia",
        CONF_MACHINE_TYPE: "semi_automatic",
        CONF_THREE_WAY_VALVE: True,
        CONF_LAST_BACKFLUSH: "2026-11-24",
        CONF_LAST_DESCALE: "2026-10-10",
        CONF_SHOTS_SINCE_BACKFLUSH: 8,
    }


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Return the machine's options, as the config flow writes them."""
    return {
        CONF_TRACK_DESCALE: True,
        CONF_SHOTS_PER_DAY: 2.0,
        CONF_WATER_HARDNESS: 8.0,
        CONF_HARDNESS_UNIT: "dh",
        CONF_BACKFLUSH_INTERVAL_SHOTS: 14,
        CONF_BACKFLUSH_INTERVAL_DAYS: 7,
        CONF_DESCALE_INTERVAL_DAYS: 60,
    }


@pytest.fixture
def mock_config_entry(
    entry_data: dict[str, Any], entry_options: dict[str, Any]
) -> MockConfigEntry:
    """Return the machine's config entry."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=entry_data[CONF_NAME],
        data=entry_data,
        options=entry_options,
        entry_id=ENTRY_ID,
        version=1,
        minor_version=1,
    )


@pytest.fixture
async def time_zone(hass: HomeAssistant) -> str:
    """Run in Europe/Rome, where daylight saving changes happen."""
    await hass.config.async_set_time_zone(TIME_ZONE)
    return TIME_ZONE


@pytest.fixture
def platforms() -> list[str] | None:
    """Load every platform unless a test narrows it."""
    return None


@pytest.fixture
async def init_integration(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    platforms: list[str] | None,
) -> AsyncGenerator[MockConfigEntry]:
    """Set up the machine (all platforms unless narrowed)."""
    mock_config_entry.add_to_hass(hass)
    if platforms is None:
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        yield mock_config_entry
    else:
        with patch("custom_components.espresso_maintenance.PLATFORMS", platforms):
            assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
            await hass.async_block_till_done()
            yield mock_config_entry
    # A test may end on a change of options: let its reload finish before
    # Home Assistant stops, or the reload is cut off halfway.
    await hass.async_block_till_done()


async def second_machine(
    hass: HomeAssistant,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
    name: str = "Lelit Bianca",
) -> MockConfigEntry:
    """Add and set up a second machine next to the Gaggia."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=name,
        data={**entry_data, CONF_NAME: name},
        options=entry_options,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry
