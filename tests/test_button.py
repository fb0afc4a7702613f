"""Tests for the button platform."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from .common import snapshot_entities
from .conftest import NOW

pytestmark = pytest.mark.freeze_time(NOW)


@pytest.fixture
def platforms() -> list[str]:
    """Load only this platform."""
    return [Platform.BUTTON]


async def test_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every entity of a semi-automatic, with its state."""
    await snapshot_entities(hass, entity_registry, snapshot, init_integration.entry_id)


@pytest.mark.parametrize(
    ("button", "sensor", "expected"),
    [
        ("button.gaggia_record_shot", "sensor.gaggia_total_shots", "9"),
        ("button.gaggia_record_backflush", "sensor.gaggia_shots_since_backflush", "0"),
        ("button.gaggia_record_descale", "sensor.gaggia_days_since_descale", "0"),
    ],
)
@pytest.mark.parametrize("platforms", [[Platform.BUTTON, Platform.SENSOR]])
async def test_press(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    button: str,
    sensor: str,
    expected: str,
) -> None:
    """Each button records through the same path as the actions."""
    await hass.services.async_call(
        "button", "press", {"entity_id": button}, blocking=True
    )
    assert hass.states.get(sensor).state == expected
    assert hass.states.get(button).state == "2026-11-28T08:30:00+00:00"
