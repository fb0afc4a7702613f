"""Logbook descriptions of Espresso Maintenance's events.

Each event reads as one line, linked to the machine's event entity and with the
icon of its type, e.g. "Gaggia: backflush recorded (note: Cafiza)".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_ICON,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.const import Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .const import DOMAIN, EVENT_ICONS, EVENT_NAME, EVENT_RECORD_UNDONE
from .language import Texts

type Detail = Callable[[Texts, Any], str]


def _note(texts: Texts, note: Any) -> str:
    return texts.text("logbook_note", note=note)


def _source(texts: Texts, source: Any) -> str:
    return texts.text("logbook_source", source=source)


# The optional fields of an event that its line shows, in this order, each with
# the function that words it. A field the event lacks or leaves empty is left
# out, so a new optional field is shown by adding it here and its text to
# languages/<code>.yaml.
DETAILS: tuple[tuple[str, Detail], ...] = (("note", _note), ("source", _source))


def describe_event(hass: HomeAssistant, data: Mapping[str, Any]) -> dict[str, str]:
    """Describe one event of a machine: its name, message, icon and event entity."""
    texts = Texts(hass)
    device_id = str(data.get("device_id") or "")
    device = dr.async_get(hass).async_get(device_id)
    event_type = str(data.get("type", ""))
    values: dict[str, Any] = {}
    if event_type == EVENT_RECORD_UNDONE:
        values["kind"] = texts.text(f"calendar_{data.get('kind', 'backflush')}")
    message = texts.text(f"logbook_{event_type}", **values)
    details = [
        word(texts, data[field])
        for field, word in DETAILS
        if data.get(field) not in (None, "")
    ]
    if details:
        message += f" ({'; '.join(details)})"
    description = {
        LOGBOOK_ENTRY_NAME: (device.name_by_user or device.name or DOMAIN)
        if device
        else DOMAIN,
        LOGBOOK_ENTRY_MESSAGE: message,
    }
    if icon := EVENT_ICONS.get(event_type):
        description[LOGBOOK_ENTRY_ICON] = icon
    entity_registry = er.async_get(hass)
    for entity in er.async_entries_for_device(entity_registry, device_id):
        if entity.domain == Platform.EVENT and entity.platform == DOMAIN:
            description[LOGBOOK_ENTRY_ENTITY_ID] = entity.entity_id
    return description


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe the bus events of the machines."""

    @callback
    def describe(event: Event) -> dict[str, str]:
        return describe_event(hass, event.data)

    async_describe_event(DOMAIN, EVENT_NAME, describe)
