"""Form pieces shared by the config, options and repair flows.

The water hardness fields, the selectors, and showing a refused form again as the
user filled it in.
"""

from __future__ import annotations

from collections.abc import Mapping
import copy
from typing import Any

from homeassistant.helpers import selector
import voluptuous as vol

from .const import CONF_HARDNESS_UNIT, CONF_WATER_HARDNESS, HARDNESS_UNKNOWN
from .model import HardnessUnit, hardness_in_range, hardness_to_mg_l

HARDNESS_UNITS = [unit.value for unit in HardnessUnit] + [HARDNESS_UNKNOWN]


def number_selector(step: float = 1) -> selector.NumberSelector:
    """Return a number box; ranges are checked by the forms, with translated errors."""
    return selector.NumberSelector(
        selector.NumberSelectorConfig(mode=selector.NumberSelectorMode.BOX, step=step)
    )


def select_selector(
    options: list[str],
    key: str,
    mode: selector.SelectSelectorMode = selector.SelectSelectorMode.DROPDOWN,
) -> selector.SelectSelector:
    """Return a choice whose option labels are translated under `key`."""
    return selector.SelectSelector(
        selector.SelectSelectorConfig(options=options, translation_key=key, mode=mode)
    )


def with_input(schema: dict[Any, Any], user_input: dict[str, Any] | None) -> vol.Schema:
    """Return a form's schema, showing what the user entered when it comes back.

    Every form is shown through this. A form shown again with errors gives back
    every field as the user sent it, dates included; an optional field the user
    left empty stays empty. Fields are matched by key, so a field added to a form
    later is kept too.
    """
    if user_input is None:
        return vol.Schema(schema)
    kept: dict[Any, Any] = {}
    for key, selector_ in schema.items():
        if isinstance(key, vol.Marker):
            shown = copy.copy(key)
            description = dict(key.description or {})
            if key.schema in user_input:
                description["suggested_value"] = user_input[key.schema]
            else:
                description.pop("suggested_value", None)
            shown.description = description or None
            kept[shown] = selector_
        else:
            kept[key] = selector_
    return vol.Schema(kept)


def hardness_schema(values: dict[str, Any]) -> dict[Any, Any]:
    """Ask for a test strip reading and its unit, prefilled from `values`."""
    hardness = values.get(CONF_WATER_HARDNESS)
    return {
        vol.Optional(
            CONF_WATER_HARDNESS,
            description={"suggested_value": hardness} if hardness is not None else None,
        ): number_selector(0.1),
        vol.Required(
            CONF_HARDNESS_UNIT,
            default=values.get(CONF_HARDNESS_UNIT, HARDNESS_UNKNOWN),
        ): select_selector(HARDNESS_UNITS, CONF_HARDNESS_UNIT),
    }


def check_hardness(user_input: dict[str, Any]) -> dict[str, str]:
    """Return the field errors of a reading and its unit."""
    hardness = user_input.get(CONF_WATER_HARDNESS)
    unit = user_input[CONF_HARDNESS_UNIT]
    if unit == HARDNESS_UNKNOWN:
        return (
            {CONF_HARDNESS_UNIT: "hardness_unit_required"}
            if hardness is not None
            else {}
        )
    if hardness is None:
        return {CONF_WATER_HARDNESS: "hardness_required"}
    if not hardness_in_range(hardness, HardnessUnit(unit)):
        return {CONF_WATER_HARDNESS: "hardness_out_of_range"}
    return {}


def hardness_mg_l(values: Mapping[str, Any]) -> float | None:
    """Return the reading in `values` as mg/L CaCO3; None when not measured."""
    unit = values.get(CONF_HARDNESS_UNIT, HARDNESS_UNKNOWN)
    hardness = values.get(CONF_WATER_HARDNESS)
    if unit == HARDNESS_UNKNOWN or hardness is None:
        return None
    return hardness_to_mg_l(float(hardness), HardnessUnit(unit))
