"""Helpers shared by the tests."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from syrupy.assertion import SnapshotAssertion
import voluptuous as vol


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
