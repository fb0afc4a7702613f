"""Tests for the binary sensor platform."""

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
    return [Platform.BINARY_SENSOR]


async def test_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every entity of a semi-automatic, with its state."""
    await snapshot_entities(hass, entity_registry, snapshot, init_integration.entry_id)
