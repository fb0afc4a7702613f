"""Diagnostics of Espresso Maintenance: settings, current state and a history summary."""

from __future__ import annotations

from collections import Counter
from typing import Any

from homeassistant.core import HomeAssistant

from .const import (
    CONF_BACKFLUSH_SOURCE,
    CONF_DESCALE_SOURCE,
    CONF_SHOT_SOURCE,
    CONF_WATER_SOURCE,
)
from .machine import EspressoConfigEntry, Machine
from .model import HISTORY_LIMIT, Kind

SOURCE_OPTIONS = (
    CONF_SHOT_SOURCE,
    CONF_BACKFLUSH_SOURCE,
    CONF_DESCALE_SOURCE,
    CONF_WATER_SOURCE,
)


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
        "descale": _descale(machine),
        "storage": machine.storage_diagnostics(),
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


def _descale(machine: Machine) -> dict[str, Any]:
    """Describe the inputs and the outcome of the scale load.

    The capacity is in days of typical use (the interval) and, for scale, in mg
    of hardness (CaCO3) through the machine at the current calibration.
    """
    settings = machine.settings
    state = machine.state
    scale = machine.status.scale
    low, high = settings.descale_bounds
    log = state.water_log
    outlook = None
    if scale is not None:
        outlook = {
            "load_days": round(scale.load_days, 3),
            "load_percent": round(scale.load * 100, 1),
            "water_since_descale_ml": scale.water_ml,
            "water_per_day_ml": round(scale.water_per_day_ml, 1),
            "rate_measured": scale.measured,
            "due_on": scale.due_on.isoformat(),
            "days_left": scale.days_left,
            "driver": scale.driver.value,
        }
    basis = state.scale_bases[-1] if state.scale_bases else None
    return {
        "water_per_shot_ml": settings.water_per_shot_ml,
        "shots_per_day": settings.shots_per_day,
        "typical_water_ml_per_day": settings.typical_water_ml,
        "water_baseline_ml": state.water_baseline,
        "bounds_days": [low, high],
        "capacity_days": settings.descale_interval_days,
        "capacity_mg": None
        if basis is None
        else round(
            basis.typical_water_ml
            * basis.calibration_mg_l
            * settings.descale_interval_days
            / 1000
        ),
        "bases": [
            {
                "since": item.since.isoformat(),
                "hardness_mg_l": round(item.hardness_mg_l, 3),
                "typical_water_ml": item.typical_water_ml,
                "calibration_mg_l": round(item.calibration_mg_l, 3),
                "interval_days": item.interval_days,
            }
            for item in state.scale_bases
        ],
        "water_log": {
            "days": len(log),
            "counting_since": None
            if state.counting_since is None
            else state.counting_since.isoformat(),
            "first": log[0][0].isoformat() if log else None,
            "last_week": [[day.isoformat(), water_ml] for day, water_ml in log[-7:]],
        },
        "outlook": outlook,
    }
