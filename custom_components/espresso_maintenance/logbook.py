"""Logbook descriptions of Espresso Maintenance's events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN, EVENT_NAME, EVENT_RECORD_UNDONE
from .language import Texts


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe the bus events, e.g. "Gaggia: backflush recorded (note: Cafiza)"."""

    @callback
    def describe(event: Event) -> dict[str, str]:
        data: Mapping[str, Any] = event.data
        texts = Texts(hass)
        device = dr.async_get(hass).async_get(data.get("device_id") or "")
        name = (device.name_by_user or device.name) if device else None
        event_type = data.get("type", "")
        values: dict[str, Any] = {}
        if event_type == EVENT_RECORD_UNDONE:
            values["kind"] = texts.text(f"calendar_{data.get('kind', 'backflush')}")
        message = texts.text(f"logbook_{event_type}", **values)
        if note := data.get("note"):
            message += f" ({texts.text('logbook_note', note=note)})"
        if source := data.get("source"):
            message += f" ({texts.text('logbook_source', source=source)})"
        return {
            LOGBOOK_ENTRY_NAME: name or DOMAIN,
            LOGBOOK_ENTRY_MESSAGE: message,
        }

    async_describe_event(DOMAIN, EVENT_NAME, describe)
