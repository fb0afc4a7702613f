"""Event entity of Espresso Maintenance: maintenance recorded or due."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .const import EVENT_TYPES
from .entity import EspressoEntity
from .machine import EspressoConfigEntry

PARALLEL_UPDATES = 0

MAINTENANCE_EVENT = EventEntityDescription(
    key="maintenance",
    translation_key="maintenance",
    event_types=list(EVENT_TYPES),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EspressoConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Set up the maintenance event entity."""
    async_add_entities([EspressoEventEntity(entry.runtime_data, MAINTENANCE_EVENT)])


class EspressoEventEntity(EspressoEntity, EventEntity):
    """Fires when maintenance is recorded, undone, or becomes due."""

    async def async_added_to_hass(self) -> None:
        """Follow the machine's events."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.machine.async_add_event_listener(self._async_on_event)
        )

    @callback
    def _async_on_event(self, event_type: str, data: dict[str, Any]) -> None:
        self._trigger_event(event_type, data)
        self.async_write_ha_state()
