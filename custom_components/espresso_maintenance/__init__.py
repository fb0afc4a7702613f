"""Espresso Maintenance: know when to backflush and descale an espresso machine."""

from __future__ import annotations

from homeassistant.const import CONF_NAME, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .assist import async_setup_intents
from .const import (
    CONF_MACHINE_TYPE,
    CONF_SHOT_SOURCE,
    CONF_STORAGE_CREATED,
    CONF_WATER_SOURCE,
    DOMAIN,
    MACHINE_TYPE_MODELS,
)
from .discovery import async_link_device, async_start_discovery
from .language import async_load_languages
from .machine import EspressoConfigEntry, Machine, initial_state
from .maintenance_sources import maintenance_source, maintenance_source_configs
from .model import MachineType
from .repairs import (
    async_create_storage_issue,
    async_delete_machine_issues,
    async_delete_storage_issue,
    async_update_hard_water_issue,
)
from .services import async_setup_services
from .shot_sources import ShotSource, source_config_from_entry
from .sources import EntitySource, async_delete_unused_issues
from .store import MachineStore, StorageError
from .water_source import WaterSource, water_source_from_entry

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.CALENDAR,
    Platform.EVENT,
    Platform.SENSOR,
    Platform.TODO,
]

# Machines are set up in the UI. An empty `espresso_maintenance:` line in
# configuration.yaml is accepted: it loads the integration at start, so machines
# of other integrations are discovered before the first one is added.
CONFIG_SCHEMA = cv.empty_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions and intents, and start discovery, once for all machines."""
    async_setup_services(hass)
    await async_load_languages(hass)
    await async_setup_intents(hass)
    async_start_discovery(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: EspressoConfigEntry) -> bool:
    """Load a machine's state and set up its entities."""
    store = MachineStore(hass, entry.entry_id)
    try:
        state = await store.async_load_state(
            created=bool(entry.data.get(CONF_STORAGE_CREATED))
        )
    except StorageError as err:
        async_create_storage_issue(hass, entry, err.translation_key, err.detail)
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key=err.translation_key,
            translation_placeholders={"name": entry.title, "error": err.detail},
        ) from err
    if state is None:
        state = initial_state(entry)
        await store.async_save_state(state)
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_STORAGE_CREATED: True}
        )
    async_delete_storage_issue(hass, entry)
    async_update_hard_water_issue(hass, entry)

    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.data[CONF_NAME],
        model=MACHINE_TYPE_MODELS[MachineType(entry.data[CONF_MACHINE_TYPE])],
    )
    async_link_device(hass, entry, device)
    machine = Machine(hass, entry, store, state, device.id)
    entry.runtime_data = machine
    await machine.async_start()
    _async_start_sources(hass, machine)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    return True


@callback
def _async_start_sources(hass: HomeAssistant, machine: Machine) -> None:
    """Record shots and maintenance from the entities chosen in the options."""
    entry = machine.entry
    sources: dict[str, EntitySource] = {}
    if (shot_config := source_config_from_entry(entry)) is not None:
        sources[CONF_SHOT_SOURCE] = ShotSource(hass, machine, shot_config)
    for config in maintenance_source_configs(entry, machine.settings):
        sources[config.option] = maintenance_source(hass, machine, config)
    if (water_entity := water_source_from_entry(entry)) is not None:
        sources[CONF_WATER_SOURCE] = WaterSource(hass, machine, water_entity)
    async_delete_unused_issues(hass, entry, set(sources))
    for option, source in sources.items():
        machine.sources[option] = source
        entry.async_on_unload(source.async_start())


async def _async_update_listener(
    hass: HomeAssistant, entry: EspressoConfigEntry
) -> None:
    """Apply changed settings by reloading; the state lives on disk and is kept."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: EspressoConfigEntry) -> bool:
    """Unload a machine; its journal is folded into its file first."""
    if unloaded := await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        await entry.runtime_data.async_stop()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: EspressoConfigEntry) -> None:
    """Delete a removed machine's storage file and open repair issues."""
    async_delete_storage_issue(hass, entry)
    async_delete_machine_issues(hass, entry)
    await MachineStore(hass, entry.entry_id).async_remove()
