"""Tests for the event platform."""

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
    return [Platform.EVENT]


async def test_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every entity of a semi-automatic, with its state."""
    await snapshot_entities(hass, entity_registry, snapshot, init_integration.entry_id)


@pytest.mark.parametrize("platforms", [[Platform.EVENT, Platform.BUTTON]])
async def test_event_types(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A recorded descale shows as the event entity's latest event."""
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.gaggia_record_descale"}, blocking=True
    )
    state = hass.states.get("event.gaggia_maintenance_event")
    assert state is not None
    assert state.state == "2026-11-28T08:30:00.000+00:00"
    assert state.attributes["event_type"] == "descale_recorded"
    assert state.attributes["performed_at"] == "2026-11-28T08:30:00+00:00"
    assert state.attributes["total_shots"] == 8
