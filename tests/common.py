"""Helpers shared by the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from syrupy.assertion import SnapshotAssertion
import voluptuous as vol

from custom_components.espresso_maintenance.journal import read_journal
from custom_components.espresso_maintenance.model import MachineState, apply_use
from custom_components.espresso_maintenance.store import (
    state_from_dict,
    state_to_dict,
    storage_key,
)


def _plain(value: Any) -> Any:
    """Turn enums and datetimes into the JSON a frontend would see."""
    return json.loads(json.dumps(value, default=str))


def entity_view(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, entity_id: str
) -> dict[str, Any]:
    """Describe an entity by what users see, in the same shape on every Home Assistant version."""
    entry = entity_registry.async_get(entity_id)
    assert entry is not None, entity_id
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return _plain(
        {
            "unique_id": entry.unique_id,
            "translation_key": entry.translation_key,
            "original_device_class": entry.original_device_class,
            "entity_category": entry.entity_category,
            "capabilities": entry.capabilities,
            "unit_of_measurement": entry.unit_of_measurement,
            "disabled_by": entry.disabled_by,
            "has_entity_name": entry.has_entity_name,
            "state": state.state,
            "attributes": dict(state.attributes),
        }
    )


async def snapshot_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    config_entry_id: str,
) -> None:
    """Snapshot every entity of a config entry, one snapshot per entity."""
    entries = er.async_entries_for_config_entry(entity_registry, config_entry_id)
    assert entries
    for entry in sorted(entries, key=lambda item: item.entity_id):
        assert entity_view(hass, entity_registry, entry.entity_id) == snapshot(
            name=entry.entity_id
        )


def shown(result: dict[str, Any]) -> dict[str, Any]:
    """Return what each field of a form shows: its suggested value, or its default."""
    values: dict[str, Any] = {}
    for key in result["data_schema"].schema:
        suggested = (key.description or {}).get("suggested_value", vol.UNDEFINED)
        if suggested is not vol.UNDEFINED:
            values[str(key)] = suggested
        elif key.default is not vol.UNDEFINED:
            values[str(key)] = key.default()
    return values


def journal_path(hass: HomeAssistant, entry_id: str) -> Path:
    """Return the journal of a machine."""
    return Path(hass.config.path(".storage", f"{storage_key(entry_id)}.journal"))


def disk_state(
    hass: HomeAssistant, hass_storage: dict[str, Any], entry_id: str
) -> MachineState:
    """Return the state a restart would read: the file, then the journal's lines."""
    data = hass_storage[storage_key(entry_id)]["data"]
    path = journal_path(hass, entry_id)
    state = state_from_dict(data)
    content = path.read_bytes() if path.exists() else b""
    for use in read_journal(content, data["journal_seq"]).uses:
        state = apply_use(state, use)
    return state


def on_disk(
    hass: HomeAssistant, hass_storage: dict[str, Any], entry_id: str
) -> dict[str, Any]:
    """Return what a restart would read, written as the file holds a state."""
    return state_to_dict(disk_state(hass, hass_storage, entry_id))


async def ask(hass: HomeAssistant, text: str, language: str = "en") -> str:
    """Ask Home Assistant's default conversation agent; return its plain speech."""
    response: dict[str, Any] = await hass.services.async_call(
        "conversation",
        "process",
        {"text": text, "language": language, "agent_id": "conversation.home_assistant"},
        blocking=True,
        return_response=True,
    )
    return str(response["response"]["speech"].get("plain", {}).get("speech", ""))
