"""Diagnostics of Espresso Maintenance: settings, current state and a history summary."""

from __future__ import annotations

from collections import Counter
from typing import Any

from homeassistant.core import HomeAssistant

from .const import CONF_BACKFLUSH_SOURCE, CONF_DESCALE_SOURCE, CONF_SHOT_SOURCE
from .machine import EspressoConfigEntry
from .model import HISTORY_LIMIT, Kind

SOURCE_OPTIONS = (CONF_SHOT_SOURCE, CONF_BACKFLUSH_SOURCE, CONF_DESCALE_SOURCE)


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EspressoConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a machine; nothing in it is secret."""
    machine = entry.runtime_data
    state = machine.state
    history = state.history
    by_kind = Counter(record.kind for record in history)
    return {
        "entry": {
            "title": entry.title,
            "data": dict(entry.data),
            "options": dict(entry.options),
        },
        "status": machine.status_as_dict(),
        **{
            option: source.diagnostics()
            if (source := machine.sources.get(option))
            else None
            for option in SOURCE_OPTIONS
        },
        "state": {
            "backflush_due_notified": state.backflush_due_notified,
            "descale_due_notified": state.descale_due_notified,
            "undo_steps": len(state.undo),
        },
        "history": {
            "records": len(history),
            "limit": HISTORY_LIMIT,
            "backflushes": by_kind[Kind.BACKFLUSH],
            "descales": by_kind[Kind.DESCALE],
            "first": history[0].performed_at.isoformat() if history else None,
            "last": history[-1].performed_at.isoformat() if history else None,
            "latest": [
                {
                    "kind": record.kind.value,
                    "performed_at": record.performed_at.isoformat(),
                    "shots_since_backflush": record.shots_since_backflush,
                    "has_note": record.note is not None,
                    "source": record.source,
                }
                for record in history[-10:]
            ],
        },
    }
