"""Finding coffee machines that other integrations already know, and linking to them.

Only Home Assistant's device and entity registries are read: the entities a
machine integration gives a device (recognised by their translation keys and
unique IDs) tell whether the device is a coffee machine and which of them can
count shots or report maintenance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import re
from typing import Any, Final

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    SOURCE_INTEGRATION_DISCOVERY,
    ConfigEntry,
    ConfigEntryChange,
    ConfigEntryState,
)
from homeassistant.const import ATTR_DEVICE_ID, CONF_NAME
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import (
    device_registry as dr,
    discovery_flow,
    entity_registry as er,
)
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.start import async_at_started

from .const import (
    CONF_BACKFLUSH_SOURCE,
    CONF_BACKFLUSH_SOURCE_ENTITY,
    CONF_DESCALE_SOURCE,
    CONF_DESCALE_SOURCE_ENTITY,
    CONF_LINKED_DEVICE,
    CONF_MACHINE_TYPE,
    CONF_SHOT_SOURCE,
    CONF_SOURCE_ENTITY,
    CONF_THREE_WAY_VALVE,
    DOMAIN,
    LOGGER,
)
from .detectors import MaintenanceSourceKind, SourceKind
from .machine import EspressoConfigEntry
from .model import MachineType


@dataclass(frozen=True, kw_only=True)
class EntityMatch:
    """How one kind of entity of a machine integration is recognised.

    By its translation key, or by its unique ID, which an integration never
    changes; a translation key is sometimes renamed between releases.
    """

    domain: str | None = None
    translation_keys: frozenset[str] = frozenset()
    unique_id: re.Pattern[str] | None = None

    def matches(self, entity: er.RegistryEntry) -> bool:
        """Tell whether a registry entry is this kind of entity."""
        if self.domain is not None and entity.domain != self.domain:
            return False
        return entity.translation_key in self.translation_keys or bool(
            self.unique_id and self.unique_id.search(entity.unique_id)
        )


@dataclass(frozen=True, kw_only=True)
class SourceChoice:
    """An entity that can be a source, and the kind of source it is."""

    kind: str
    entity: EntityMatch


@dataclass(frozen=True, kw_only=True)
class MachineIntegration:
    """A Home Assistant integration with coffee machines, and what it offers us."""

    domain: str
    title: str
    machine_type: MachineType
    three_way_valve: bool
    # A device is a coffee machine if made by one of these, of one of these
    # models, or if it has one of the marker entities.
    manufacturers: frozenset[str] = frozenset()
    models: frozenset[str] = frozenset()
    markers: tuple[EntityMatch, ...] = ()
    # Best first.
    shot_sources: tuple[SourceChoice, ...] = ()
    backflush_sources: tuple[SourceChoice, ...] = ()
    descale_sources: tuple[SourceChoice, ...] = ()

    def is_machine(
        self, device: dr.DeviceEntry, entities: list[er.RegistryEntry]
    ) -> bool:
        """Tell whether one of this integration's devices is a coffee machine."""
        if device.manufacturer in self.manufacturers or device.model in self.models:
            return True
        return any(
            marker.matches(entity) for marker in self.markers for entity in entities
        )

    def marks_machine(self, entity: er.RegistryEntry) -> bool:
        """Tell whether an entity, once added, can make its device a coffee machine."""
        return any(marker.matches(entity) for marker in self.markers)


def _unique_id_ending(suffix: str) -> re.Pattern[str]:
    return re.compile(re.escape(suffix) + "$")


# La Marzocco's unique IDs are "<serial number>_<key>". Its devices are
# semi-automatics with a three-way valve; older releases also register an Acaia
# scale (manufacturer "Acaia") under the same integration, which is not offered.
LA_MARZOCCO_BREWING = EntityMatch(
    domain="binary_sensor",
    translation_keys=frozenset({"brew_active"}),
    unique_id=_unique_id_ending("_brew_active"),
)
LA_MARZOCCO_COFFEES = EntityMatch(
    domain="sensor",
    # Named drink_stats_coffee in older releases, such as 2025.4.
    translation_keys=frozenset({"total_coffees_made", "drink_stats_coffee"}),
    unique_id=_unique_id_ending("_drink_stats_coffee"),
)
LA_MARZOCCO_LAST_CLEANING = EntityMatch(
    domain="sensor",
    translation_keys=frozenset({"last_cleaning_time"}),
    unique_id=_unique_id_ending("_last_cleaning_time"),
)
LA_MARZOCCO_BACKFLUSHING = EntityMatch(
    domain="binary_sensor",
    translation_keys=frozenset({"backflush_enabled"}),
    unique_id=_unique_id_ending("_backflush_enabled"),
)
LA_MARZOCCO = MachineIntegration(
    domain="lamarzocco",
    title="La Marzocco",
    machine_type=MachineType.SEMI_AUTOMATIC,
    three_way_valve=True,
    manufacturers=frozenset({"La Marzocco"}),
    markers=(
        LA_MARZOCCO_BREWING,
        LA_MARZOCCO_COFFEES,
        LA_MARZOCCO_LAST_CLEANING,
        LA_MARZOCCO_BACKFLUSHING,
    ),
    # The machine's own count tells shots from flushes and keeps counting while
    # Home Assistant is down; the brewing sensor is the fallback.
    shot_sources=(
        SourceChoice(kind=SourceKind.COUNTER, entity=LA_MARZOCCO_COFFEES),
        SourceChoice(kind=SourceKind.BREWING, entity=LA_MARZOCCO_BREWING),
    ),
    # The machine's own time of its last cleaning survives a restart and a
    # backflush done while Home Assistant is down; the program sensor does not.
    backflush_sources=(
        SourceChoice(
            kind=MaintenanceSourceKind.TIMESTAMP, entity=LA_MARZOCCO_LAST_CLEANING
        ),
        SourceChoice(
            kind=MaintenanceSourceKind.PROGRAM, entity=LA_MARZOCCO_BACKFLUSHING
        ),
    ),
)

# Home Connect's unique IDs are "<appliance ID>-<Home Connect key>"; every key of
# a coffee maker lies under ConsumerProducts.CoffeeMaker. Its coffee makers are
# bean-to-cup machines (Siemens EQ, Bosch VeroCafe, Neff, Gaggenau).
HOME_CONNECT_COFFEE_MAKER = EntityMatch(
    unique_id=re.compile(r"-ConsumerProducts\.CoffeeMaker\."),
)
HOME_CONNECT_ESPRESSOS = EntityMatch(
    domain="sensor",
    translation_keys=frozenset({"ristretto_espresso_counter"}),
    unique_id=_unique_id_ending(
        "-ConsumerProducts.CoffeeMaker.Status.BeverageCounterRistrettoEspresso"
    ),
)
HOME_CONNECT_COFFEES = EntityMatch(
    domain="sensor",
    translation_keys=frozenset({"coffee_counter"}),
    unique_id=_unique_id_ending(
        "-ConsumerProducts.CoffeeMaker.Status.BeverageCounterCoffee"
    ),
)
HOME_CONNECT = MachineIntegration(
    domain="home_connect",
    title="Home Connect",
    machine_type=MachineType.SUPER_AUTOMATIC,
    three_way_valve=False,
    markers=(HOME_CONNECT_COFFEE_MAKER,),
    # Ristretto and espresso are the shots; the coffee counter is the fallback.
    shot_sources=(
        SourceChoice(kind=SourceKind.COUNTER, entity=HOME_CONNECT_ESPRESSOS),
        SourceChoice(kind=SourceKind.COUNTER, entity=HOME_CONNECT_COFFEES),
    ),
)

# Miele's unique IDs are "<serial number>-<key>"; only coffee systems have the
# cleaning counters, and their device model is "Coffee system".
MIELE = MachineIntegration(
    domain="miele",
    title="Miele",
    machine_type=MachineType.SUPER_AUTOMATIC,
    three_way_valve=False,
    models=frozenset({"Coffee system"}),
    markers=(
        EntityMatch(
            domain="sensor",
            translation_keys=frozenset(
                {"descaling_counter", "degreasing_counter", "milk_cleaning_counter"}
            ),
            unique_id=re.compile(r"-(descaling|degreasing|milk_cleaning)_counter$"),
        ),
    ),
)

MACHINE_INTEGRATIONS: Final = {
    integration.domain: integration
    for integration in (LA_MARZOCCO, HOME_CONNECT, MIELE)
}


@dataclass(frozen=True, kw_only=True)
class FoundMachine:
    """A coffee machine another integration knows, and what it tells about it."""

    device_id: str
    # "<integration>:<identifier>", stable while the device exists.
    key: str
    name: str
    integration: MachineIntegration
    # Prefilled answers of the config flow, keyed like the entry's data and options.
    defaults: dict[str, Any] = field(default_factory=dict)
    # For each source option (shot, backflush, descale): the best entity of each
    # kind of source the device has, best kind first.
    sources: dict[str, dict[str, str]] = field(default_factory=dict)


def device_key(domain: str, identifier: str) -> str:
    """Return the key of another integration's device."""
    return f"{domain}:{identifier}"


def _candidates(
    choices: tuple[SourceChoice, ...], entities: list[er.RegistryEntry]
) -> dict[str, str]:
    """Return the first matching entity of each kind of source, best kind first."""
    found: dict[str, str] = {}
    for choice in choices:
        if choice.kind in found:
            continue
        for entity in entities:
            if choice.entity.matches(entity):
                found[choice.kind] = entity.entity_id
                break
    return found


def _found_machine(
    integration: MachineIntegration,
    device: dr.DeviceEntry,
    key: str,
    entities: list[er.RegistryEntry],
) -> FoundMachine:
    name = device.name_by_user or device.name or integration.title
    defaults: dict[str, Any] = {
        CONF_NAME: name,
        CONF_MACHINE_TYPE: integration.machine_type.value,
        CONF_THREE_WAY_VALVE: integration.three_way_valve,
    }
    sources: dict[str, dict[str, str]] = {}
    for choices, kind_key, entity_key, none in (
        (
            integration.shot_sources,
            CONF_SHOT_SOURCE,
            CONF_SOURCE_ENTITY,
            SourceKind.NONE.value,
        ),
        (
            integration.backflush_sources,
            CONF_BACKFLUSH_SOURCE,
            CONF_BACKFLUSH_SOURCE_ENTITY,
            MaintenanceSourceKind.NONE,
        ),
        (
            integration.descale_sources,
            CONF_DESCALE_SOURCE,
            CONF_DESCALE_SOURCE_ENTITY,
            MaintenanceSourceKind.NONE,
        ),
    ):
        sources[kind_key] = _candidates(choices, entities)
        if best := next(iter(sources[kind_key].items()), None):
            defaults[kind_key], defaults[entity_key] = best
        else:
            defaults[kind_key] = none
    return FoundMachine(
        device_id=device.id,
        key=key,
        name=name,
        integration=integration,
        defaults=defaults,
        sources=sources,
    )


def _integration_devices(hass: HomeAssistant, domain: str) -> list[dr.DeviceEntry]:
    """Return the devices of an integration's loaded-or-not, enabled entries."""
    registry = dr.async_get(hass)
    return [
        device
        for entry in hass.config_entries.async_entries(
            domain, include_ignore=False, include_disabled=False
        )
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
    ]


def _identifier(device: dr.DeviceEntry, domain: str) -> str | None:
    return min(
        (identifier for owner, identifier in device.identifiers if owner == domain),
        default=None,
    )


def _machine(
    hass: HomeAssistant, integration: MachineIntegration, device: dr.DeviceEntry
) -> FoundMachine | None:
    if (identifier := _identifier(device, integration.domain)) is None:
        return None
    # Disabled entities have no state to follow; sorted, so the choice is stable.
    entities = sorted(
        er.async_entries_for_device(er.async_get(hass), device.id),
        key=lambda entity: entity.entity_id,
    )
    entities = [entity for entity in entities if entity.platform == integration.domain]
    if not integration.is_machine(device, entities):
        return None
    return _found_machine(
        integration, device, device_key(integration.domain, identifier), entities
    )


@callback
def async_find_machine(hass: HomeAssistant, device_id: str) -> FoundMachine | None:
    """Return the coffee machine a device is, or None if it is none we know."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return None
    for domain, _ in device.identifiers:
        if (integration := MACHINE_INTEGRATIONS.get(domain)) is not None and any(
            other.id == device.id for other in _integration_devices(hass, domain)
        ):
            return _machine(hass, integration, device)
    return None


@callback
def async_find_machines(hass: HomeAssistant) -> list[FoundMachine]:
    """Return every coffee machine the supported integrations know."""
    return [
        found
        for integration in MACHINE_INTEGRATIONS.values()
        for device in _integration_devices(hass, integration.domain)
        if (found := _machine(hass, integration, device)) is not None
    ]


@callback
def async_device_for_key(hass: HomeAssistant, key: str) -> dr.DeviceEntry | None:
    """Return the device of another integration a machine is linked to."""
    domain, _, identifier = key.partition(":")
    return next(
        (
            device
            for device in _integration_devices(hass, domain)
            if (domain, identifier) in device.identifiers
        ),
        None,
    )


@callback
def async_link_device(
    hass: HomeAssistant, entry: ConfigEntry, device: dr.DeviceEntry
) -> None:
    """Show the machine's device as connected via the device it was found on.

    The machine keeps its own device, so actions aimed at it keep working. On the
    first link it also takes that device's area.
    """
    if (key := entry.data.get(CONF_LINKED_DEVICE)) is None:
        return
    if (source := async_device_for_key(hass, key)) is None:
        LOGGER.debug("%s: linked device %s not found", entry.title, key)
        return
    if device.via_device_id == source.id:
        return
    changes: dict[str, Any] = {"via_device_id": source.id}
    if device.via_device_id is None and device.area_id is None:
        changes["area_id"] = source.area_id
    dr.async_get(hass).async_update_device(device.id, **changes)


class MachineDiscovery:
    """Offers each coffee machine of a supported integration once, under Discovered.

    Every device is looked at once at start, then only when a registry change
    concerns a device of a supported integration that has not been looked at.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        """Start with no device looked at."""
        self.hass = hass
        # Coffee machines already offered, linked or ignored: device ID -> key.
        self._known: dict[str, str] = {}

    @callback
    def async_start(self) -> None:
        """Look for machines once Home Assistant has started, then follow changes."""
        async_at_started(self.hass, self._async_started)

    @callback
    def _async_started(self, hass: HomeAssistant) -> None:
        hass.bus.async_listen(
            dr.EVENT_DEVICE_REGISTRY_UPDATED,
            self._async_device_updated,
            event_filter=self._device_event_matters,
        )
        hass.bus.async_listen(
            er.EVENT_ENTITY_REGISTRY_UPDATED,
            self._async_entity_updated,
            event_filter=self._entity_event_matters,
        )
        async_dispatcher_connect(
            hass, SIGNAL_CONFIG_ENTRY_CHANGED, self._async_entry_changed
        )
        for found in async_find_machines(hass):
            self._async_offer(found)

    def _machine_keys(self) -> dict[str, EspressoConfigEntry]:
        """Return our machines and ignored discoveries, by the device key they hold."""
        return {
            entry.unique_id: entry
            for entry in self.hass.config_entries.async_entries(DOMAIN)
            if entry.unique_id is not None
        }

    @callback
    def _async_offer(self, found: FoundMachine) -> None:
        self._known[found.device_id] = found.key
        if (entry := self._machine_keys().get(found.key)) is not None:
            # Linked or ignored. A linked machine's device was re-created: link anew.
            if entry.state is ConfigEntryState.LOADED and (
                device := dr.async_get(self.hass).async_get(
                    entry.runtime_data.device_id
                )
            ):
                async_link_device(self.hass, entry, device)
            return
        LOGGER.debug("Offering %s (%s)", found.name, found.key)
        discovery_flow.async_create_flow(
            self.hass,
            DOMAIN,
            context={"source": SOURCE_INTEGRATION_DISCOVERY},
            data={ATTR_DEVICE_ID: found.device_id},
        )

    @callback
    def _async_check(self, device_id: str) -> None:
        if (found := async_find_machine(self.hass, device_id)) is not None:
            self._async_offer(found)

    @callback
    def _device_event_matters(self, data: dr.EventDeviceRegistryUpdatedData) -> bool:
        if data["action"] == "remove":
            return data["device_id"] in self._known
        if data["device_id"] in self._known:
            return False
        device = dr.async_get(self.hass).async_get(data["device_id"])
        return device is not None and any(
            domain in MACHINE_INTEGRATIONS for domain, _ in device.identifiers
        )

    @callback
    def _async_device_updated(
        self, event: Event[dr.EventDeviceRegistryUpdatedData]
    ) -> None:
        device_id = event.data["device_id"]
        if event.data["action"] != "remove":
            self._async_check(device_id)
            return
        key = self._known.pop(device_id)
        flow_manager = self.hass.config_entries.flow
        for flow in flow_manager.async_progress_by_handler(
            DOMAIN, match_context={"unique_id": key}
        ):
            LOGGER.debug("%s was removed; withdrawing its discovery", key)
            flow_manager.async_abort(flow["flow_id"])

    @callback
    def _entity_event_matters(self, data: er.EventEntityRegistryUpdatedData) -> bool:
        if data["action"] == "remove" or (
            data["action"] == "update" and "device_id" not in data["changes"]
        ):
            return False
        entity = er.async_get(self.hass).async_get(data["entity_id"])
        return (
            entity is not None
            and entity.device_id is not None
            and entity.device_id not in self._known
            and (integration := MACHINE_INTEGRATIONS.get(entity.platform)) is not None
            and integration.marks_machine(entity)
        )

    @callback
    def _async_entity_updated(
        self, event: Event[er.EventEntityRegistryUpdatedData]
    ) -> None:
        entity = er.async_get(self.hass).async_get(event.data["entity_id"])
        if entity is not None and entity.device_id is not None:
            self._async_check(entity.device_id)

    @callback
    def _async_entry_changed(
        self, change: ConfigEntryChange, entry: ConfigEntry
    ) -> None:
        """Offer a device again once its machine or ignored discovery is removed."""
        if (
            change is not ConfigEntryChange.REMOVED
            or entry.domain != DOMAIN
            or entry.unique_id is None
        ):
            return
        for device_id, key in list(self._known.items()):
            if key == entry.unique_id:
                del self._known[device_id]
                self._async_check(device_id)


@callback
def async_start_discovery(hass: HomeAssistant) -> None:
    """Start looking for coffee machines of supported integrations."""
    MachineDiscovery(hass).async_start()
