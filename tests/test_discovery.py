"""Tests for discovering coffee machines other integrations know, and linking to them.

The devices and entities below are registered the way Home Assistant's own La
Marzocco, Home Connect and Miele integrations register them: the same
identifiers, unique IDs and translation keys.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import (
    SOURCE_IGNORE,
    SOURCE_INTEGRATION_DISCOVERY,
    SOURCE_USER,
    ConfigEntryDisabler,
)
from homeassistant.const import (
    ATTR_DEVICE_ID,
    CONF_NAME,
    EVENT_HOMEASSISTANT_STARTED,
)
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.espresso_maintenance import discovery
from custom_components.espresso_maintenance.const import (
    CONF_BACKFLUSH_INTERVAL_DAYS,
    CONF_BACKFLUSH_INTERVAL_SHOTS,
    CONF_BACKFLUSH_SOURCE,
    CONF_BACKFLUSH_SOURCE_ENTITY,
    CONF_DESCALE_INTERVAL_DAYS,
    CONF_DESCALE_SOURCE,
    CONF_DESCALE_SOURCE_ENTITY,
    CONF_HARDNESS_UNIT,
    CONF_LINKED_DEVICE,
    CONF_MACHINE_TYPE,
    CONF_SHOT_SOURCE,
    CONF_SHOTS_PER_DAY,
    CONF_SHOTS_SINCE_BACKFLUSH,
    CONF_SOURCE_ENTITY,
    CONF_THREE_WAY_VALVE,
    CONF_TRACK_DESCALE,
    CONF_WATER_HARDNESS,
    DOMAIN,
)
from custom_components.espresso_maintenance.discovery import MachineDiscovery

from .common import shown as schema_defaults
from .conftest import NOW, second_machine

pytestmark = pytest.mark.freeze_time(NOW)

type Entities = tuple[tuple[str, str, str, str], ...]

# La Marzocco: unique IDs are "<serial>_<key>", identifiers ("lamarzocco", serial).
# (domain, key, translation key, object ID suffix) as the current integration
# registers them for a Linea Micra.
LA_MARZOCCO_ENTITIES: Entities = (
    ("binary_sensor", "water_tank", "water_tank", "water_tank_empty"),
    ("binary_sensor", "brew_active", "brew_active", "brewing_active"),
    ("binary_sensor", "backflush_enabled", "backflush_enabled", "backflush_active"),
    ("sensor", "coffee_boiler_ready_time", "coffee_boiler_ready_time", "ready_time"),
    ("sensor", "last_cleaning_time", "last_cleaning_time", "last_cleaning_time"),
    ("sensor", "drink_stats_coffee", "total_coffees_made", "total_coffees_made"),
    ("sensor", "drink_stats_flushing", "total_flushes_done", "total_flushes_done"),
    ("switch", "main", "main", "power"),
)
# The same machine as Home Assistant 2025.4 registers it: no last cleaning time,
# the counter's translation key is drink_stats_coffee, and a counter per key.
LA_MARZOCCO_2025_4_ENTITIES: Entities = (
    ("binary_sensor", "water_tank", "water_tank", "water_tank_empty"),
    ("binary_sensor", "brew_active", "brew_active", "brewing_active"),
    ("binary_sensor", "backflush_enabled", "backflush_enabled", "backflush_active"),
    ("sensor", "shot_timer", "shot_timer", "shot_timer"),
    ("sensor", "drink_stats_coffee_key_key1", "drink_stats_coffee_key", "key_1"),
    ("sensor", "drink_stats_coffee", "drink_stats_coffee", "total_coffees_made"),
    ("sensor", "drink_stats_flushing", "drink_stats_flushing", "total_flushes_made"),
    ("switch", "main", "main", "power"),
)
# Home Connect: unique IDs are "<appliance ID>-<Home Connect key>".
HOME_CONNECT_COFFEE_MAKER_ENTITIES: Entities = (
    ("sensor", "BSH.Common.Status.OperationState", "operation_state", "operation"),
    ("select", "BSH.Common.Root.ActiveProgram", "active_program", "active_program"),
    (
        "sensor",
        "ConsumerProducts.CoffeeMaker.Event.BeanContainerEmpty",
        "bean_container_empty",
        "bean_container_empty",
    ),
    (
        "sensor",
        "ConsumerProducts.CoffeeMaker.Event.DeviceShouldBeDescaled",
        "device_should_be_descaled",
        "device_should_be_descaled",
    ),
    (
        "sensor",
        "ConsumerProducts.CoffeeMaker.Status.BeverageCounterCoffee",
        "coffee_counter",
        "coffees",
    ),
    (
        "sensor",
        "ConsumerProducts.CoffeeMaker.Status.BeverageCounterRistrettoEspresso",
        "ristretto_espresso_counter",
        "ristretto_espresso",
    ),
)
HOME_CONNECT_OVEN_ENTITIES: Entities = (
    ("sensor", "BSH.Common.Status.OperationState", "operation_state", "operation"),
    ("sensor", "BSH.Common.Status.DoorState", "door", "door"),
    (
        "sensor",
        "Cooking.Oven.Status.CurrentCavityTemperature",
        "oven_current_cavity_temperature",
        "cavity_temperature",
    ),
)
# Miele: unique IDs are "<serial>-<key>".
MIELE_COFFEE_SYSTEM_ENTITIES: Entities = (
    ("sensor", "state_status", "status", "status"),
    ("sensor", "state_program_id", "program_id", "program"),
    ("sensor", "descaling_counter", "descaling_counter", "descaling_cycles"),
)
MIELE_WASHER_ENTITIES: Entities = (
    ("sensor", "state_status", "status", "status"),
    ("sensor", "state_program_id", "program_id", "program"),
)

# Device classes the integrations give these entities, where a source needs one.
DEVICE_CLASSES = {
    "last_cleaning_time": "timestamp",
    "coffee_boiler_ready_time": "timestamp",
}

SERIAL = "GS012345"
LA_MARZOCCO_KEY = f"lamarzocco:{SERIAL}"
COFFEE_MAKER_ID = "SIEMENS-TI9575X1DE-68A40E1E9F0E"

MACHINE = {
    CONF_TRACK_DESCALE: True,
    CONF_SHOTS_PER_DAY: 3,
    CONF_WATER_HARDNESS: 8,
    CONF_HARDNESS_UNIT: "dh",
}
INTERVALS = {
    CONF_BACKFLUSH_INTERVAL_SHOTS: 21,
    CONF_BACKFLUSH_INTERVAL_DAYS: 7,
    CONF_DESCALE_INTERVAL_DAYS: 60,
    CONF_SHOTS_SINCE_BACKFLUSH: 0,
}


def add_device(
    hass: HomeAssistant,
    *,
    domain: str,
    identifier: str,
    name: str,
    manufacturer: str,
    model: str,
    entities: Entities,
    separator: str,
    entry: MockConfigEntry | None = None,
) -> dr.DeviceEntry:
    """Register a device and its entities as the machine's own integration does."""
    if entry is None:
        entry = MockConfigEntry(domain=domain, title=name)
        entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(domain, identifier)},
        name=name,
        manufacturer=manufacturer,
        model=model,
    )
    add_entities(hass, device, entry, domain, identifier, separator, entities)
    return device


def add_entities(
    hass: HomeAssistant,
    device: dr.DeviceEntry,
    entry: MockConfigEntry,
    domain: str,
    identifier: str,
    separator: str,
    entities: Entities,
) -> None:
    """Register entities of a device, named after it."""
    registry = er.async_get(hass)
    for platform, key, translation_key, object_id in entities:
        registry.async_get_or_create(
            platform,
            domain,
            f"{identifier}{separator}{key}",
            config_entry=entry,
            device_id=device.id,
            translation_key=translation_key,
            original_device_class=DEVICE_CLASSES.get(translation_key),
            has_entity_name=True,
            suggested_object_id=f"{device.name} {object_id}",
        )


def add_la_marzocco(
    hass: HomeAssistant,
    serial: str = SERIAL,
    name: str = "Linea Micra",
    entities: Entities = LA_MARZOCCO_ENTITIES,
) -> dr.DeviceEntry:
    """Register a La Marzocco machine."""
    return add_device(
        hass,
        domain="lamarzocco",
        identifier=serial,
        name=name,
        manufacturer="La Marzocco",
        model="Linea Micra",
        entities=entities,
        separator="_",
    )


def add_coffee_maker(
    hass: HomeAssistant, entities: Entities = HOME_CONNECT_COFFEE_MAKER_ENTITIES
) -> dr.DeviceEntry:
    """Register a Home Connect coffee maker."""
    return add_device(
        hass,
        domain="home_connect",
        identifier=COFFEE_MAKER_ID,
        name="EQ.9",
        manufacturer="Siemens",
        model="TI9575X1DE",
        entities=entities,
        separator="-",
    )


async def start_discovery(hass: HomeAssistant) -> None:
    """Load the integration without a machine, as `espresso_maintenance:` does."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: None})
    await hass.async_block_till_done()


def offered(hass: HomeAssistant) -> dict[str, dict[str, Any]]:
    """Return the flows in progress, by the device key they offer."""
    return {
        flow["context"]["unique_id"]: flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    }


def our_device(hass: HomeAssistant, entry: MockConfigEntry) -> dr.DeviceEntry:
    """Return a machine's own device."""
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    return device


async def add_discovered_la_marzocco(
    hass: HomeAssistant, flow_id: str
) -> MockConfigEntry:
    """Confirm the discovered La Marzocco, keeping every filled-in answer."""
    result = await hass.config_entries.flow.async_configure(flow_id)
    assert result["step_id"] == "discovered_machine"
    result = await hass.config_entries.flow.async_configure(
        flow_id, schema_defaults(result)
    )
    assert result["step_id"] == "machine"
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**schema_defaults(result), **MACHINE}
    )
    assert result["step_id"] == "shot_source_counter"
    result = await hass.config_entries.flow.async_configure(
        flow_id, schema_defaults(result)
    )
    assert result["step_id"] == "backflush_source"
    result = await hass.config_entries.flow.async_configure(
        flow_id, schema_defaults(result)
    )
    assert result["step_id"] == "maintenance"
    result = await hass.config_entries.flow.async_configure(flow_id, INTERVALS)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry: MockConfigEntry = result["result"]
    return entry


async def test_la_marzocco_is_offered(hass: HomeAssistant, time_zone: str) -> None:
    """A La Marzocco is offered under its own name, once, with its answers."""
    device = add_la_marzocco(hass)
    await start_discovery(hass)
    flows = offered(hass)
    assert list(flows) == [LA_MARZOCCO_KEY]
    flow = flows[LA_MARZOCCO_KEY]
    assert flow["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
    assert flow["context"]["title_placeholders"] == {"name": "Linea Micra"}
    assert flow["step_id"] == "discovered_machine"

    result = await hass.config_entries.flow.async_configure(flow["flow_id"])
    assert result["description_placeholders"] == {
        "name": "Linea Micra",
        "integration": "La Marzocco",
    }
    assert schema_defaults(result) == {
        CONF_NAME: "Linea Micra",
        CONF_MACHINE_TYPE: "semi_automatic",
    }
    found = discovery.async_find_machine(hass, device.id)
    assert found is not None
    assert found.defaults == {
        CONF_NAME: "Linea Micra",
        CONF_MACHINE_TYPE: "semi_automatic",
        CONF_THREE_WAY_VALVE: True,
        CONF_SHOT_SOURCE: "counter",
        CONF_SOURCE_ENTITY: "sensor.linea_micra_total_coffees_made",
        CONF_BACKFLUSH_SOURCE: "timestamp",
        CONF_BACKFLUSH_SOURCE_ENTITY: "sensor.linea_micra_last_cleaning_time",
        CONF_DESCALE_SOURCE: "none",
    }
    assert found.sources == {
        CONF_SHOT_SOURCE: {
            "counter": "sensor.linea_micra_total_coffees_made",
            "brewing": "binary_sensor.linea_micra_brewing_active",
        },
        CONF_BACKFLUSH_SOURCE: {
            "timestamp": "sensor.linea_micra_last_cleaning_time",
            "program": "binary_sensor.linea_micra_backflush_active",
        },
        CONF_DESCALE_SOURCE: {},
    }


async def test_confirming_writes_the_answers_and_links(
    hass: HomeAssistant, area_registry: ar.AreaRegistry, time_zone: str
) -> None:
    """Confirming creates the machine with the found answers, linked to the device."""
    kitchen = area_registry.async_create("Kitchen")
    device = add_la_marzocco(hass)
    dr.async_get(hass).async_update_device(device.id, area_id=kitchen.id)
    await start_discovery(hass)

    entry = await add_discovered_la_marzocco(
        hass, offered(hass)[LA_MARZOCCO_KEY]["flow_id"]
    )
    assert entry.title == "Linea Micra"
    assert entry.unique_id == LA_MARZOCCO_KEY
    assert entry.data[CONF_LINKED_DEVICE] == LA_MARZOCCO_KEY
    assert entry.data[CONF_MACHINE_TYPE] == "semi_automatic"
    assert entry.data[CONF_THREE_WAY_VALVE] is True
    assert entry.options[CONF_SHOT_SOURCE] == "counter"
    assert entry.options[CONF_SOURCE_ENTITY] == "sensor.linea_micra_total_coffees_made"
    assert entry.options[CONF_BACKFLUSH_SOURCE] == "timestamp"
    assert (
        entry.options[CONF_BACKFLUSH_SOURCE_ENTITY]
        == "sensor.linea_micra_last_cleaning_time"
    )
    assert entry.options[CONF_DESCALE_SOURCE] == "none"
    assert CONF_DESCALE_SOURCE_ENTITY not in entry.options
    assert not offered(hass)

    # Shown as connected via the La Marzocco, in its area, still its own device.
    machine_device = our_device(hass, entry)
    assert machine_device.via_device_id == device.id
    assert machine_device.area_id == kitchen.id
    assert (DOMAIN, entry.entry_id) in machine_device.identifiers

    # Actions reach the machine through its own device and through the La Marzocco.
    for target in (machine_device.id, device.id):
        await hass.services.async_call(
            DOMAIN, "record_shot", {ATTR_DEVICE_ID: target}, blocking=True
        )
    # (Newer Home Assistant versions put the area in the entity ID.)
    total_shots = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{entry.entry_id}_total_shots"
    )
    assert total_shots is not None
    assert hass.states.get(total_shots).state == "2"

    # A reload keeps the link and leaves a changed area alone.
    dr.async_get(hass).async_update_device(machine_device.id, area_id=None)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert our_device(hass, entry).via_device_id == device.id
    assert our_device(hass, entry).area_id is None


async def test_every_answer_stays_editable(hass: HomeAssistant, time_zone: str) -> None:
    """Another type, valve and kind of shot source than the ones found can be chosen."""
    add_la_marzocco(hass)
    await start_discovery(hass)
    flow_id = offered(hass)[LA_MARZOCCO_KEY]["flow_id"]
    await hass.config_entries.flow.async_configure(flow_id)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_NAME: "Micra", CONF_MACHINE_TYPE: "lever"}
    )
    # The valve follows the type chosen; the shot source is still the best found.
    assert schema_defaults(result)[CONF_THREE_WAY_VALVE] is False
    assert schema_defaults(result)[CONF_SHOT_SOURCE] == "counter"
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**MACHINE, CONF_THREE_WAY_VALVE: True, CONF_SHOT_SOURCE: "brewing"}
    )
    assert result["step_id"] == "shot_source_brewing"
    assert (
        schema_defaults(result)[CONF_SOURCE_ENTITY]
        == "binary_sensor.linea_micra_brewing_active"
    )
    result = await hass.config_entries.flow.async_configure(
        flow_id, schema_defaults(result)
    )
    # The backflush source found is the last cleaning time; the program entity
    # may be chosen instead.
    assert result["step_id"] == "backflush_source"
    assert schema_defaults(result) == {
        CONF_BACKFLUSH_SOURCE_ENTITY: "sensor.linea_micra_last_cleaning_time"
    }
    result = await hass.config_entries.flow.async_configure(
        flow_id, schema_defaults(result)
    )
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**INTERVALS, CONF_BACKFLUSH_INTERVAL_SHOTS: 30}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Micra"
    assert result["data"][CONF_MACHINE_TYPE] == "lever"
    assert result["options"][CONF_SHOT_SOURCE] == "brewing"
    assert result["options"][CONF_BACKFLUSH_INTERVAL_SHOTS] == 30


async def test_each_source_step_takes_the_entity_found_for_its_kind(
    hass: HomeAssistant, time_zone: str
) -> None:
    """Choosing another kind of source than the one found prefills its entity."""
    add_la_marzocco(hass)
    await start_discovery(hass)
    flow_id = offered(hass)[LA_MARZOCCO_KEY]["flow_id"]
    await hass.config_entries.flow.async_configure(flow_id)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_NAME: "Linea Micra", CONF_MACHINE_TYPE: "semi_automatic"}
    )
    assert schema_defaults(result)[CONF_BACKFLUSH_SOURCE] == "timestamp"
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            **MACHINE,
            CONF_SHOT_SOURCE: "brewing",
            CONF_BACKFLUSH_SOURCE: "program",
            CONF_DESCALE_SOURCE: "none",
        },
    )
    assert result["step_id"] == "shot_source_brewing"
    assert (
        schema_defaults(result)[CONF_SOURCE_ENTITY]
        == "binary_sensor.linea_micra_brewing_active"
    )
    result = await hass.config_entries.flow.async_configure(
        flow_id, schema_defaults(result)
    )
    assert result["step_id"] == "backflush_source"
    assert schema_defaults(result) == {
        CONF_BACKFLUSH_SOURCE_ENTITY: "binary_sensor.linea_micra_backflush_active"
    }
    result = await hass.config_entries.flow.async_configure(
        flow_id, schema_defaults(result)
    )
    result = await hass.config_entries.flow.async_configure(flow_id, INTERVALS)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"][CONF_BACKFLUSH_SOURCE] == "program"
    assert (
        result["options"][CONF_BACKFLUSH_SOURCE_ENTITY]
        == "binary_sensor.linea_micra_backflush_active"
    )


async def test_power_source_has_no_found_entity(
    hass: HomeAssistant, time_zone: str
) -> None:
    """A kind of source the device has no entity for starts empty."""
    add_la_marzocco(hass)
    await start_discovery(hass)
    flow_id = offered(hass)[LA_MARZOCCO_KEY]["flow_id"]
    await hass.config_entries.flow.async_configure(flow_id)
    await hass.config_entries.flow.async_configure(
        flow_id, {CONF_NAME: "Linea Micra", CONF_MACHINE_TYPE: "semi_automatic"}
    )
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**MACHINE, CONF_THREE_WAY_VALVE: True, CONF_SHOT_SOURCE: "power"}
    )
    assert result["step_id"] == "shot_source_power"
    assert CONF_SOURCE_ENTITY not in schema_defaults(result)


async def test_no_valve_stores_no_backflush_source(
    hass: HomeAssistant, time_zone: str
) -> None:
    """Maintenance sources are stored only for what is tracked."""
    add_la_marzocco(hass)
    await start_discovery(hass)
    flow_id = offered(hass)[LA_MARZOCCO_KEY]["flow_id"]
    await hass.config_entries.flow.async_configure(flow_id)
    await hass.config_entries.flow.async_configure(
        flow_id, {CONF_NAME: "Linea Micra", CONF_MACHINE_TYPE: "semi_automatic"}
    )
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            **MACHINE,
            CONF_THREE_WAY_VALVE: False,
            CONF_TRACK_DESCALE: False,
            CONF_SHOT_SOURCE: "none",
        },
    )
    # The backflush source found is refused without the valve.
    assert result["errors"] == {CONF_BACKFLUSH_SOURCE: "backflush_source_without_valve"}
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            **MACHINE,
            CONF_THREE_WAY_VALVE: False,
            CONF_TRACK_DESCALE: False,
            CONF_SHOT_SOURCE: "none",
            CONF_BACKFLUSH_SOURCE: "none",
        },
    )
    assert result["step_id"] == "maintenance"
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"][CONF_SHOT_SOURCE] == "none"
    assert result["options"][CONF_BACKFLUSH_SOURCE] == "none"
    assert result["options"][CONF_DESCALE_SOURCE] == "none"
    assert not {CONF_BACKFLUSH_SOURCE_ENTITY, CONF_DESCALE_SOURCE_ENTITY} & set(
        result["options"]
    )
    assert result["data"][CONF_LINKED_DEVICE] == LA_MARZOCCO_KEY


async def test_older_la_marzocco_entities(hass: HomeAssistant) -> None:
    """Home Assistant 2025.4's La Marzocco: its counter, and the backflush program."""
    device = add_la_marzocco(hass, entities=LA_MARZOCCO_2025_4_ENTITIES)
    found = discovery.async_find_machine(hass, device.id)
    assert found is not None
    assert found.defaults[CONF_SOURCE_ENTITY] == "sensor.linea_micra_total_coffees_made"
    assert found.defaults[CONF_BACKFLUSH_SOURCE] == "program"
    assert (
        found.defaults[CONF_BACKFLUSH_SOURCE_ENTITY]
        == "binary_sensor.linea_micra_backflush_active"
    )


async def test_la_marzocco_without_counter_or_cleaning(hass: HomeAssistant) -> None:
    """Without its counter the brewing sensor counts shots; disabled entities are skipped."""
    device = add_la_marzocco(
        hass,
        entities=(
            ("binary_sensor", "brew_active", "brew_active", "brewing_active"),
            ("sensor", "drink_stats_coffee", "total_coffees_made", "coffees"),
        ),
    )
    er.async_get(hass).async_update_entity(
        "sensor.linea_micra_coffees", disabled_by=er.RegistryEntryDisabler.USER
    )
    found = discovery.async_find_machine(hass, device.id)
    assert found is not None
    assert found.defaults[CONF_SHOT_SOURCE] == "brewing"
    assert (
        found.defaults[CONF_SOURCE_ENTITY] == "binary_sensor.linea_micra_brewing_active"
    )
    assert found.defaults[CONF_BACKFLUSH_SOURCE] == "none"


async def test_acaia_scale_is_not_offered(hass: HomeAssistant) -> None:
    """The scale older La Marzocco releases register is not a coffee machine."""
    machine = add_la_marzocco(hass)
    (entry_id,) = {entry.entry_id for entry in hass.config_entries.async_entries()}
    entry = hass.config_entries.async_get_entry(entry_id)
    assert isinstance(entry, MockConfigEntry)
    scale = add_device(
        hass,
        domain="lamarzocco",
        identifier="44:b7:d0:74:5f:90",
        name="Lunar_1234",
        manufacturer="Acaia",
        model="Lunar",
        entities=(("sensor", "scale_battery", "scale_battery", "battery"),),
        separator="_",
        entry=entry,
    )
    assert discovery.async_find_machine(hass, scale.id) is None
    assert [found.device_id for found in discovery.async_find_machines(hass)] == [
        machine.id
    ]


async def test_home_connect_coffee_maker(hass: HomeAssistant, time_zone: str) -> None:
    """A Home Connect coffee maker is a bean-to-cup machine counting its espressos."""
    add_device(
        hass,
        domain="home_connect",
        identifier="BOSCH-HBG6764S1-68A40E000000",
        name="Oven",
        manufacturer="Bosch",
        model="HBG6764S1",
        entities=HOME_CONNECT_OVEN_ENTITIES,
        separator="-",
    )
    device = add_coffee_maker(hass)
    await start_discovery(hass)
    key = f"home_connect:{COFFEE_MAKER_ID}"
    assert list(offered(hass)) == [key]
    found = discovery.async_find_machine(hass, device.id)
    assert found is not None
    assert found.defaults == {
        CONF_NAME: "EQ.9",
        CONF_MACHINE_TYPE: "super_automatic",
        CONF_THREE_WAY_VALVE: False,
        CONF_SHOT_SOURCE: "counter",
        CONF_SOURCE_ENTITY: "sensor.eq_9_ristretto_espresso",
        CONF_BACKFLUSH_SOURCE: "none",
        CONF_DESCALE_SOURCE: "none",
    }

    flow_id = offered(hass)[key]["flow_id"]
    result = await hass.config_entries.flow.async_configure(flow_id)
    assert result["description_placeholders"]["integration"] == "Home Connect"
    result = await hass.config_entries.flow.async_configure(
        flow_id, schema_defaults(result)
    )
    assert schema_defaults(result)[CONF_THREE_WAY_VALVE] is False
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**schema_defaults(result), **MACHINE}
    )
    assert schema_defaults(result) == {
        CONF_SOURCE_ENTITY: "sensor.eq_9_ristretto_espresso"
    }
    result = await hass.config_entries.flow.async_configure(
        flow_id, schema_defaults(result)
    )
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_DESCALE_INTERVAL_DAYS: 60}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"][CONF_DESCALE_SOURCE] == "none"
    assert result["options"][CONF_BACKFLUSH_SOURCE] == "none"
    await hass.async_block_till_done()
    assert our_device(hass, result["result"]).via_device_id == device.id


async def test_home_connect_coffee_counter_fallback(hass: HomeAssistant) -> None:
    """Without the espresso counter, the coffee counter counts shots."""
    device = add_coffee_maker(hass, HOME_CONNECT_COFFEE_MAKER_ENTITIES[:5])
    found = discovery.async_find_machine(hass, device.id)
    assert found is not None
    assert found.defaults[CONF_SOURCE_ENTITY] == "sensor.eq_9_coffees"


async def test_home_connect_coffee_maker_known_by_its_entities(
    hass: HomeAssistant,
) -> None:
    """A Home Connect device is offered once its first coffee maker entity is added."""
    await start_discovery(hass)
    device = add_coffee_maker(hass, HOME_CONNECT_COFFEE_MAKER_ENTITIES[:2])
    await hass.async_block_till_done()
    assert not offered(hass)
    entry = hass.config_entries.async_entries("home_connect")[0]
    add_entities(
        hass,
        device,
        entry,
        "home_connect",
        COFFEE_MAKER_ID,
        "-",
        HOME_CONNECT_COFFEE_MAKER_ENTITIES[2:],
    )
    await hass.async_block_till_done()
    assert list(offered(hass)) == [f"home_connect:{COFFEE_MAKER_ID}"]


async def test_miele_coffee_system(hass: HomeAssistant) -> None:
    """A Miele coffee system is offered as a bean-to-cup machine; a washer is not."""
    add_device(
        hass,
        domain="miele",
        identifier="000123456789",
        name="Washing machine",
        manufacturer="Miele",
        model="Washing machine",
        entities=MIELE_WASHER_ENTITIES,
        separator="-",
    )
    add_device(
        hass,
        domain="miele",
        identifier="000712345678",
        name="CM 7750",
        manufacturer="Miele",
        model="Coffee system",
        entities=MIELE_COFFEE_SYSTEM_ENTITIES,
        separator="-",
    )
    # Recognised by its cleaning counters alone too.
    counters_only = add_device(
        hass,
        domain="miele",
        identifier="000798765432",
        name="Office coffee",
        manufacturer="Miele",
        model="CM6360",
        entities=MIELE_COFFEE_SYSTEM_ENTITIES,
        separator="-",
    )
    await start_discovery(hass)
    assert set(offered(hass)) == {"miele:000712345678", "miele:000798765432"}
    found = discovery.async_find_machine(hass, counters_only.id)
    assert found is not None
    assert found.defaults == {
        CONF_NAME: "Office coffee",
        CONF_MACHINE_TYPE: "super_automatic",
        CONF_THREE_WAY_VALVE: False,
        CONF_SHOT_SOURCE: "none",
        CONF_BACKFLUSH_SOURCE: "none",
        CONF_DESCALE_SOURCE: "none",
    }


async def test_ignoring_sticks(hass: HomeAssistant) -> None:
    """An ignored machine is not offered again, until it is no longer ignored."""
    device = add_la_marzocco(hass)
    await start_discovery(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_IGNORE},
        data={"unique_id": LA_MARZOCCO_KEY, "title": "Linea Micra"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert not offered(hass)

    # New entities on the device, and a restart, do not bring it back.
    add_entities(
        hass,
        device,
        hass.config_entries.async_entries("lamarzocco")[0],
        "lamarzocco",
        SERIAL,
        "_",
        (("sensor", "drink_stats_coffee_key_key2", "drink_stats_coffee", "key_2"),),
    )
    MachineDiscovery(hass).async_start()
    await hass.async_block_till_done()
    assert not offered(hass)

    (ignored,) = hass.config_entries.async_entries(DOMAIN)
    assert await hass.config_entries.async_remove(ignored.entry_id)
    await hass.async_block_till_done()
    assert list(offered(hass)) == [LA_MARZOCCO_KEY]


async def test_second_device_is_offered(hass: HomeAssistant) -> None:
    """A machine added while Home Assistant runs is offered too, each once."""
    add_la_marzocco(hass)
    await start_discovery(hass)
    add_la_marzocco(hass, serial="MR998877", name="Linea Mini")
    await hass.async_block_till_done()
    flows = offered(hass)
    assert set(flows) == {LA_MARZOCCO_KEY, "lamarzocco:MR998877"}
    assert flows["lamarzocco:MR998877"]["context"]["title_placeholders"] == {
        "name": "Linea Mini"
    }
    # Updating the device offers nothing twice.
    device = discovery.async_device_for_key(hass, "lamarzocco:MR998877")
    assert device is not None
    dr.async_get(hass).async_update_device(device.id, sw_version="v5.0.10")
    await hass.async_block_till_done()
    assert len(hass.config_entries.flow.async_progress_by_handler(DOMAIN)) == 2


async def test_removed_device_withdraws_its_offer(hass: HomeAssistant) -> None:
    """Removing the device aborts its pending discovery; the others stay."""
    device = add_la_marzocco(hass)
    add_la_marzocco(hass, serial="MR998877", name="Linea Mini")
    await start_discovery(hass)
    assert len(offered(hass)) == 2
    dr.async_get(hass).async_remove_device(device.id)
    await hass.async_block_till_done()
    assert list(offered(hass)) == ["lamarzocco:MR998877"]


async def test_device_gone_before_confirming(hass: HomeAssistant) -> None:
    """A flow whose device went away while it was open aborts at the next step."""
    device = add_la_marzocco(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_INTEGRATION_DISCOVERY},
        data={ATTR_DEVICE_ID: device.id},
    )
    assert result["step_id"] == "discovered_machine"
    dr.async_get(hass).async_remove_device(device.id)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_NAME: "Linea Micra", CONF_MACHINE_TYPE: "semi_automatic"},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "device_gone"

    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_INTEGRATION_DISCOVERY},
        data={ATTR_DEVICE_ID: device.id},
    )
    assert result["reason"] == "device_gone"


async def test_linked_device_is_not_offered(
    hass: HomeAssistant, time_zone: str
) -> None:
    """A device a machine is linked to is not offered, and stays linked when re-created."""
    device = add_la_marzocco(hass)
    add_la_marzocco(hass, serial="MR998877", name="Linea Mini")
    await start_discovery(hass)
    entry = await add_discovered_la_marzocco(
        hass, offered(hass)[LA_MARZOCCO_KEY]["flow_id"]
    )
    # The Linea Mini's offer now shows the choice of linking it to the Linea Micra.
    assert list(offered(hass)) == ["lamarzocco:MR998877"]
    MachineDiscovery(hass).async_start()
    await hass.async_block_till_done()
    assert list(offered(hass)) == ["lamarzocco:MR998877"]

    # The La Marzocco device is removed, then registered again.
    lamarzocco = hass.config_entries.async_entries("lamarzocco")[0]
    dr.async_get(hass).async_remove_device(device.id)
    await hass.async_block_till_done()
    assert our_device(hass, entry).via_device_id is None
    new_device = add_device(
        hass,
        domain="lamarzocco",
        identifier=SERIAL,
        name="Linea Micra",
        manufacturer="La Marzocco",
        model="Linea Micra",
        entities=(),
        separator="_",
        entry=lamarzocco,
    )
    await hass.async_block_till_done()
    assert our_device(hass, entry).via_device_id == new_device.id
    assert list(offered(hass)) == ["lamarzocco:MR998877"]

    # A discovery for it started anyway (a race) aborts.
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_INTEGRATION_DISCOVERY},
        data={ATTR_DEVICE_ID: new_device.id},
    )
    assert result["reason"] == "already_linked"


async def test_removing_the_machine_offers_its_device_again(
    hass: HomeAssistant, time_zone: str
) -> None:
    """Once its machine is removed, the device is free to be offered again."""
    add_la_marzocco(hass)
    add_coffee_maker(hass)
    await start_discovery(hass)
    entry = await add_discovered_la_marzocco(
        hass, offered(hass)[LA_MARZOCCO_KEY]["flow_id"]
    )
    coffee_maker_key = f"home_connect:{COFFEE_MAKER_ID}"
    assert list(offered(hass)) == [coffee_maker_key]
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert set(offered(hass)) == {LA_MARZOCCO_KEY, coffee_maker_key}


async def test_link_to_a_machine_registered_by_hand(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """A found device can join a machine registered before; it keeps its counters."""
    bianca = await second_machine(hass, entry_data, entry_options)
    device = add_la_marzocco(hass)
    MachineDiscovery(hass).async_start()
    await hass.async_block_till_done()
    flow_id = offered(hass)[LA_MARZOCCO_KEY]["flow_id"]
    result = await hass.config_entries.flow.async_configure(flow_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["discovered_machine", "link_machine"]
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"next_step_id": "link_machine"}
    )
    assert result["step_id"] == "link_machine"
    assert result["description_placeholders"] == {
        "name": "Linea Micra",
        "integration": "La Marzocco",
    }
    options = result["data_schema"].schema["machine"].config["options"]
    assert options == [
        {"value": init_integration.entry_id, "label": "Gaggia"},
        {"value": bianca.entry_id, "label": "Lelit Bianca"},
    ]

    # A machine removed while the form is open is refused.
    assert await hass.config_entries.async_remove(bianca.entry_id)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"machine": bianca.entry_id}
    )
    assert result["errors"] == {"machine": "machine_gone"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"machine": init_integration.entry_id}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "linked"
    assert result["description_placeholders"] == {
        "name": "Gaggia",
        "device": "Linea Micra",
    }
    await hass.async_block_till_done()
    assert init_integration.unique_id == LA_MARZOCCO_KEY
    assert init_integration.data[CONF_LINKED_DEVICE] == LA_MARZOCCO_KEY
    assert our_device(hass, init_integration).via_device_id == device.id
    assert hass.states.get("sensor.gaggia_shots_since_backflush").state == "8"
    assert not offered(hass)


async def test_add_as_new_next_to_a_machine_registered_by_hand(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The menu also leads to adding the found device as a machine of its own."""
    add_la_marzocco(hass)
    MachineDiscovery(hass).async_start()
    await hass.async_block_till_done()
    flow_id = offered(hass)[LA_MARZOCCO_KEY]["flow_id"]
    await hass.config_entries.flow.async_configure(flow_id)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"next_step_id": "discovered_machine"}
    )
    assert result["step_id"] == "discovered_machine"
    # The flow leads into the user step, with its checks.
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_NAME: "gaggia", CONF_MACHINE_TYPE: "semi_automatic"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_user_flow_offers_known_machines(
    hass: HomeAssistant, time_zone: str
) -> None:
    """Adding a machine by hand first offers the machines already known."""
    device = add_la_marzocco(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["step_id"] == "pick_machine"
    options = result["data_schema"].schema[ATTR_DEVICE_ID].config["options"]
    assert options == [
        {"value": device.id, "label": "Linea Micra (La Marzocco)"},
        {"value": "by_hand", "label": "by_hand"},
    ]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {ATTR_DEVICE_ID: device.id}
    )
    assert result["step_id"] == "discovered_machine"
    entry = await add_discovered_la_marzocco(hass, result["flow_id"])
    assert entry.unique_id == LA_MARZOCCO_KEY
    assert entry.data[CONF_LINKED_DEVICE] == LA_MARZOCCO_KEY

    # A linked machine is not offered again; the user step opens directly.
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["step_id"] == "user"


async def test_user_flow_by_hand(hass: HomeAssistant) -> None:
    """Choosing to enter a machine by hand opens the usual first step."""
    add_la_marzocco(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {ATTR_DEVICE_ID: "by_hand"}
    )
    assert result["step_id"] == "user"
    assert CONF_NAME not in schema_defaults(result)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: " ", CONF_MACHINE_TYPE: "lever"}
    )
    assert result["step_id"] == "user"
    assert result["errors"] == {CONF_NAME: "name_empty"}


async def test_user_flow_may_take_an_ignored_machine(
    hass: HomeAssistant, time_zone: str
) -> None:
    """A machine ignored under Discovered can still be added by hand."""
    add_la_marzocco(hass)
    await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_IGNORE},
        data={"unique_id": LA_MARZOCCO_KEY, "title": "Linea Micra"},
    )
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["step_id"] == "pick_machine"
    device = discovery.async_device_for_key(hass, LA_MARZOCCO_KEY)
    assert device is not None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {ATTR_DEVICE_ID: device.id}
    )
    entry = await add_discovered_la_marzocco(hass, result["flow_id"])
    assert [e.entry_id for e in hass.config_entries.async_entries(DOMAIN)] == [
        entry.entry_id
    ]


async def test_discovery_waits_for_start(hass: HomeAssistant) -> None:
    """While Home Assistant starts nothing is looked at; once started, all is."""
    add_la_marzocco(hass)
    hass.set_state(CoreState.starting)
    await start_discovery(hass)
    assert not offered(hass)
    hass.set_state(CoreState.running)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    await hass.async_block_till_done()
    assert list(offered(hass)) == [LA_MARZOCCO_KEY]


async def test_first_machine_starts_discovery(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Without configuration.yaml, loading the first machine starts discovery."""
    add_la_marzocco(hass)
    await hass.async_block_till_done()
    assert list(offered(hass)) == [LA_MARZOCCO_KEY]


async def test_configuration_yaml_key(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """An empty espresso_maintenance: key loads the integration; options are refused."""
    await start_discovery(hass)
    assert DOMAIN in hass.config.components
    assert "does not support any configuration" not in caplog.text


async def test_unrelated_changes_cost_nothing(hass: HomeAssistant) -> None:
    """Registry changes that concern no new coffee machine look at no device."""
    add_la_marzocco(hass)
    await start_discovery(hass)
    light_entry = MockConfigEntry(domain="hue")
    light_entry.add_to_hass(hass)
    with patch.object(
        discovery,
        "async_find_machine",
        wraps=discovery.async_find_machine,
    ) as find:
        lamp = dr.async_get(hass).async_get_or_create(
            config_entry_id=light_entry.entry_id,
            identifiers={("hue", "lamp")},
            name="Lamp",
        )
        er.async_get(hass).async_get_or_create(
            "light", "hue", "lamp", config_entry=light_entry, device_id=lamp.id
        )
        device = discovery.async_device_for_key(hass, LA_MARZOCCO_KEY)
        assert device is not None
        dr.async_get(hass).async_update_device(device.id, sw_version="v5.0.10")
        er.async_get(hass).async_update_entity(
            "binary_sensor.linea_micra_brewing_active", name="Pump"
        )
        await hass.async_block_till_done()
        assert find.call_count == 0
        # An oven's new entities are not looked at either, only the device.
        add_device(
            hass,
            domain="home_connect",
            identifier="BOSCH-HBG6764S1-68A40E000000",
            name="Oven",
            manufacturer="Bosch",
            model="HBG6764S1",
            entities=HOME_CONNECT_OVEN_ENTITIES,
            separator="-",
        )
        await hass.async_block_till_done()
        assert find.call_count == 1
    assert list(offered(hass)) == [LA_MARZOCCO_KEY]


async def test_entity_moved_to_a_machine_device(hass: HomeAssistant) -> None:
    """An entity moved onto a device can make it a coffee machine."""
    await start_discovery(hass)
    device = add_coffee_maker(hass, ())
    entry = hass.config_entries.async_entries("home_connect")[0]
    registry = er.async_get(hass)
    entity = registry.async_get_or_create(
        "sensor",
        "home_connect",
        f"{COFFEE_MAKER_ID}-ConsumerProducts.CoffeeMaker.Status.BeverageCounterCoffee",
        config_entry=entry,
        translation_key="coffee_counter",
    )
    await hass.async_block_till_done()
    assert not offered(hass)
    registry.async_update_entity(entity.entity_id, device_id=device.id)
    await hass.async_block_till_done()
    assert list(offered(hass)) == [f"home_connect:{COFFEE_MAKER_ID}"]


async def test_disabled_integration_entry_is_not_looked_at(
    hass: HomeAssistant,
) -> None:
    """Devices of a disabled La Marzocco entry are not offered."""
    device = add_la_marzocco(hass)
    lamarzocco = hass.config_entries.async_entries("lamarzocco")[0]
    await hass.config_entries.async_set_disabled_by(
        lamarzocco.entry_id, ConfigEntryDisabler.USER
    )
    assert discovery.async_find_machine(hass, device.id) is None
    assert discovery.async_find_machines(hass) == []
    assert discovery.async_device_for_key(hass, LA_MARZOCCO_KEY) is None


async def test_device_gone_while_the_menu_is_open(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """The menu and the link form abort once the device is gone."""
    mock_config_entry.add_to_hass(hass)
    for next_step in (None, "link_machine"):
        device = add_la_marzocco(hass)
        result = await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_INTEGRATION_DISCOVERY},
            data={ATTR_DEVICE_ID: device.id},
        )
        assert result["type"] is FlowResultType.MENU
        dr.async_get(hass).async_remove_device(device.id)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": next_step} if next_step else None
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "device_gone"


async def test_linked_device_missing_at_start(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entry_data: dict[str, Any],
    time_zone: str,
) -> None:
    """A machine whose device is gone loads unlinked, and links once it is back."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        unique_id=LA_MARZOCCO_KEY,
        data={**entry_data, CONF_LINKED_DEVICE: LA_MARZOCCO_KEY},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert our_device(hass, mock_config_entry).via_device_id is None
    device = add_la_marzocco(hass)
    await hass.async_block_till_done()
    assert our_device(hass, mock_config_entry).via_device_id == device.id
    assert not offered(hass)


async def test_linking_keeps_the_machines_area(
    hass: HomeAssistant,
    area_registry: ar.AreaRegistry,
    init_integration: MockConfigEntry,
) -> None:
    """A machine that already has an area keeps it when linked."""
    bar = area_registry.async_create("Coffee bar")
    kitchen = area_registry.async_create("Kitchen")
    dr.async_get(hass).async_update_device(
        our_device(hass, init_integration).id, area_id=bar.id
    )
    device = add_la_marzocco(hass)
    dr.async_get(hass).async_update_device(device.id, area_id=kitchen.id)
    await hass.async_block_till_done()
    flow_id = offered(hass)[LA_MARZOCCO_KEY]["flow_id"]
    await hass.config_entries.flow.async_configure(
        flow_id, {"next_step_id": "link_machine"}
    )
    await hass.config_entries.flow.async_configure(
        flow_id, {"machine": init_integration.entry_id}
    )
    await hass.async_block_till_done()
    machine_device = our_device(hass, init_integration)
    assert machine_device.via_device_id == device.id
    assert machine_device.area_id == bar.id


async def test_integration_device_without_its_identifier(hass: HomeAssistant) -> None:
    """A device of a supported integration known by a connection only is skipped."""
    entry = MockConfigEntry(domain="lamarzocco")
    entry.add_to_hass(hass)
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        connections={(dr.CONNECTION_NETWORK_MAC, "00:11:22:33:44:55")},
        manufacturer="La Marzocco",
    )
    assert discovery.async_find_machines(hass) == []
