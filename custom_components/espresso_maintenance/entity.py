"""Base entity of Espresso Maintenance."""

from __future__ import annotations

from collections.abc import Hashable

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription

from .const import DOMAIN
from .machine import EspressoConfigEntry, Machine


class EspressoEntity(Entity):
    """An entity of one machine, updated by the machine when its state changes."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, machine: Machine, description: EntityDescription) -> None:
        """Name the entity after its description, on the machine's device."""
        self.machine = machine
        self.entity_description = description
        self._attr_unique_id = unique_id(machine.entry, description.key)
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, machine.entry.entry_id)}
        )
        self._written: Hashable = None

    def state_key(self) -> Hashable:
        """Return what the entity shows; a change of it means a state write."""
        return None

    async def async_added_to_hass(self) -> None:
        """Follow the machine's changes."""
        await super().async_added_to_hass()
        self._written = self.state_key()
        self.async_on_remove(
            self.machine.async_add_listener(self._async_machine_updated)
        )

    @callback
    def async_write_ha_state(self) -> None:
        """Write the state, and note what it shows.

        Home Assistant writes some states itself (a calendar's at the start and
        end of its event, which at midnight is the machine's rollover too): the
        machine's change then finds its state shown already, and writes nothing.
        """
        self._written = self.state_key()
        super().async_write_ha_state()

    @callback
    def _async_machine_updated(self) -> None:
        # Only entities whose shown state changed write it.
        if (key := self.state_key()) != self._written:
            self._written = key
            self.async_write_ha_state()


def unique_id(entry: EspressoConfigEntry, key: str) -> str:
    """Return the unique ID of one of a machine's entities."""
    return f"{entry.entry_id}_{key}"


@callback
def async_remove_stale_entities(
    hass: HomeAssistant, entry: EspressoConfigEntry, domain: str, keys: set[str]
) -> None:
    """Remove a platform's entities that no longer apply (e.g. the valve was removed)."""
    registry = er.async_get(hass)
    kept = {unique_id(entry, key) for key in keys}
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        if entity.domain == domain and entity.unique_id not in kept:
            registry.async_remove(entity.entity_id)
