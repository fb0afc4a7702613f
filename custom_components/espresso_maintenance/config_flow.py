"""Config, options and reconfigure flows of Espresso Maintenance.

Numbers are checked here rather than by selector bounds, so that a wrong value
gets a translated error at its field whatever sent it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import selector
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import (
    CONF_BACKFLUSH_INTERVAL_DAYS,
    CONF_BACKFLUSH_INTERVAL_SHOTS,
    CONF_DESCALE_INTERVAL_DAYS,
    CONF_HARDNESS_UNIT,
    CONF_LAST_BACKFLUSH,
    CONF_LAST_DESCALE,
    CONF_MACHINE_TYPE,
    CONF_MAX_SECONDS,
    CONF_MIN_SECONDS,
    CONF_POWER_OFF_W,
    CONF_POWER_ON_W,
    CONF_SHOT_SOURCE,
    CONF_SHOTS_PER_DAY,
    CONF_SHOTS_SINCE_BACKFLUSH,
    CONF_SOURCE_ENTITY,
    CONF_THREE_WAY_VALVE,
    CONF_TRACK_DESCALE,
    CONF_WATER_HARDNESS,
    DEFAULT_SHOTS_PER_DAY,
    DOMAIN,
    HARDNESS_UNKNOWN,
    MAX_INTERVAL_DAYS,
    MAX_INTERVAL_SHOTS,
    MAX_SHOTS_PER_DAY,
    MAX_SHOTS_SINCE_BACKFLUSH,
    MAX_SOURCE_SECONDS,
)
from .detectors import SourceKind
from .hardness import (
    check_hardness,
    hardness_schema,
    number_selector,
    select_selector,
    with_input,
)
from .model import (
    RECOMMENDED_BACKFLUSH_DAYS,
    TYPICAL_THREE_WAY_VALVE,
    HardnessUnit,
    MachineType,
    hardness_to_mg_l,
    recommended_backflush_shots,
    recommended_descale_days,
)
from .shot_sources import source_problem, source_schema

INTERVAL_LIMITS = {
    CONF_BACKFLUSH_INTERVAL_SHOTS: MAX_INTERVAL_SHOTS,
    CONF_BACKFLUSH_INTERVAL_DAYS: MAX_INTERVAL_DAYS,
    CONF_DESCALE_INTERVAL_DAYS: MAX_INTERVAL_DAYS,
}


def _name_schema(name: str | None, machine_type: str | None) -> dict[Any, Any]:
    return {
        vol.Required(CONF_NAME, default=name or vol.UNDEFINED): selector.TextSelector(),
        vol.Required(
            CONF_MACHINE_TYPE, default=machine_type or MachineType.SEMI_AUTOMATIC
        ): select_selector([t.value for t in MachineType], CONF_MACHINE_TYPE),
    }


def _usage_schema(values: dict[str, Any]) -> dict[Any, Any]:
    return {
        vol.Required(
            CONF_TRACK_DESCALE, default=values.get(CONF_TRACK_DESCALE, True)
        ): selector.BooleanSelector(),
        vol.Required(
            CONF_SHOTS_PER_DAY,
            default=values.get(CONF_SHOTS_PER_DAY, DEFAULT_SHOTS_PER_DAY),
        ): number_selector(0.5),
        **hardness_schema(values),
        vol.Required(
            CONF_SHOT_SOURCE,
            default=values.get(CONF_SHOT_SOURCE, SourceKind.NONE.value),
        ): select_selector(
            [kind.value for kind in SourceKind],
            CONF_SHOT_SOURCE,
            # Four answers, all shown: it reads as the choice it is.
            selector.SelectSelectorMode.LIST,
        ),
    }


USAGE_KEYS = (
    CONF_TRACK_DESCALE,
    CONF_SHOTS_PER_DAY,
    CONF_WATER_HARDNESS,
    CONF_HARDNESS_UNIT,
    CONF_SHOT_SOURCE,
)
SOURCE_KEYS = (
    CONF_SOURCE_ENTITY,
    CONF_MIN_SECONDS,
    CONF_MAX_SECONDS,
    CONF_POWER_ON_W,
    CONF_POWER_OFF_W,
)


def _check_source(
    hass: HomeAssistant, kind: SourceKind, user_input: dict[str, Any]
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if problem := source_problem(hass, kind, user_input[CONF_SOURCE_ENTITY]):
        errors[CONF_SOURCE_ENTITY] = problem
    if kind is SourceKind.COUNTER:
        return errors
    low = user_input[CONF_MIN_SECONDS]
    high = user_input[CONF_MAX_SECONDS]
    if not 1 <= low <= MAX_SOURCE_SECONDS:
        errors[CONF_MIN_SECONDS] = "seconds_out_of_range"
    if not low < high <= MAX_SOURCE_SECONDS:
        errors[CONF_MAX_SECONDS] = "max_not_above_min"
    if kind is SourceKind.POWER:
        if user_input[CONF_POWER_ON_W] <= 0:
            errors[CONF_POWER_ON_W] = "power_not_positive"
        if not 0 <= user_input[CONF_POWER_OFF_W] < user_input[CONF_POWER_ON_W]:
            errors[CONF_POWER_OFF_W] = "off_not_below_on"
    return errors


def _source_values(user_input: dict[str, Any]) -> dict[str, Any]:
    return {key: user_input[key] for key in SOURCE_KEYS if key in user_input}


def _check_usage(user_input: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not 0 <= user_input[CONF_SHOTS_PER_DAY] <= MAX_SHOTS_PER_DAY:
        errors[CONF_SHOTS_PER_DAY] = "shots_per_day_out_of_range"
    return errors | check_hardness(user_input)


def _hardness_mg_l(values: dict[str, Any]) -> float | None:
    unit = values.get(CONF_HARDNESS_UNIT, HARDNESS_UNKNOWN)
    hardness = values.get(CONF_WATER_HARDNESS)
    if unit == HARDNESS_UNKNOWN or hardness is None:
        return None
    return hardness_to_mg_l(hardness, HardnessUnit(unit))


def recommendations(values: dict[str, Any]) -> dict[str, int]:
    """Return the recommended limits for a machine's use and water."""
    shots_per_day = float(values.get(CONF_SHOTS_PER_DAY, DEFAULT_SHOTS_PER_DAY))
    return {
        CONF_BACKFLUSH_INTERVAL_SHOTS: recommended_backflush_shots(shots_per_day),
        CONF_BACKFLUSH_INTERVAL_DAYS: RECOMMENDED_BACKFLUSH_DAYS,
        CONF_DESCALE_INTERVAL_DAYS: recommended_descale_days(
            shots_per_day, _hardness_mg_l(values)
        ),
    }


def _interval_keys(valve: bool, track_descale: bool) -> list[str]:
    keys = []
    if valve:
        keys += [CONF_BACKFLUSH_INTERVAL_SHOTS, CONF_BACKFLUSH_INTERVAL_DAYS]
    if track_descale:
        keys.append(CONF_DESCALE_INTERVAL_DAYS)
    return keys


def _interval_schema(keys: list[str], defaults: dict[str, Any]) -> dict[Any, Any]:
    return {vol.Required(key, default=defaults[key]): number_selector() for key in keys}


def _check_intervals(user_input: dict[str, Any], keys: list[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for key in keys:
        value = user_input[key]
        if value != int(value) or value < 1:
            errors[key] = "interval_not_positive"
        elif value > INTERVAL_LIMITS[key]:
            errors[key] = "interval_too_large"
    return errors


def _placeholders(values: dict[str, Any]) -> dict[str, str]:
    recommended = recommendations(values)
    return {key: str(value) for key, value in recommended.items()}


class EspressoMaintenanceConfigFlow(ConfigFlow, domain=DOMAIN):
    """Register an espresso machine."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start with nothing known."""
        self._data: dict[str, Any] = {}
        self._options: dict[str, Any] = {}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Return the options flow."""
        return EspressoMaintenanceOptionsFlow()

    def _name_taken(self, name: str, ignore_entry_id: str | None = None) -> bool:
        return any(
            entry.data.get(CONF_NAME, "").casefold() == name.casefold()
            and entry.entry_id != ignore_entry_id
            for entry in self._async_current_entries(include_ignore=False)
        )

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Name the machine and say what kind it is."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if not name:
                errors[CONF_NAME] = "name_empty"
            elif self._name_taken(name):
                return self.async_abort(
                    reason="already_configured",
                    description_placeholders={"name": name},
                )
            else:
                self._data = {
                    CONF_NAME: name,
                    CONF_MACHINE_TYPE: user_input[CONF_MACHINE_TYPE],
                }
                return await self.async_step_machine()
        return self.async_show_form(
            step_id="user",
            data_schema=with_input(_name_schema(None, None), user_input),
            errors=errors,
        )

    async def async_step_machine(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask about the valve, descaling, use and water."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _check_usage(user_input)
            if not errors:
                self._data[CONF_THREE_WAY_VALVE] = user_input[CONF_THREE_WAY_VALVE]
                self._options = {key: user_input.get(key) for key in USAGE_KEYS}
                if user_input[CONF_SHOT_SOURCE] != SourceKind.NONE:
                    return await self.async_step_shot_source()
                return await self.async_step_maintenance()
        valve_default = TYPICAL_THREE_WAY_VALVE[
            MachineType(self._data[CONF_MACHINE_TYPE])
        ]
        return self.async_show_form(
            step_id="machine",
            data_schema=with_input(
                {
                    vol.Required(
                        CONF_THREE_WAY_VALVE, default=valve_default
                    ): selector.BooleanSelector(),
                    **_usage_schema({}),
                },
                user_input,
            ),
            description_placeholders={"name": self._data[CONF_NAME]},
            errors=errors,
        )

    async def async_step_shot_source(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose the entity that shows shots being pulled."""
        kind = SourceKind(self._options[CONF_SHOT_SOURCE])
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _check_source(self.hass, kind, user_input)
            if not errors:
                self._options.update(_source_values(user_input))
                return await self.async_step_maintenance()
        return self.async_show_form(
            step_id=f"shot_source_{kind}",
            data_schema=with_input(source_schema(kind, {}), user_input),
            description_placeholders={"name": self._data[CONF_NAME]},
            errors=errors,
            last_step=False,
        )

    async_step_shot_source_brewing = async_step_shot_source
    async_step_shot_source_power = async_step_shot_source
    async_step_shot_source_counter = async_step_shot_source

    async def async_step_maintenance(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Set the limits, and where the machine stands today."""
        valve = self._data[CONF_THREE_WAY_VALVE]
        track_descale = self._options[CONF_TRACK_DESCALE]
        keys = _interval_keys(valve, track_descale)
        recommended = recommendations(self._options)
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _check_intervals(user_input, keys) | _check_start(user_input)
            if not errors:
                options = {
                    **self._options,
                    **recommended,
                    **{key: int(user_input[key]) for key in keys},
                }
                data = {
                    **self._data,
                    CONF_LAST_BACKFLUSH: user_input.get(CONF_LAST_BACKFLUSH),
                    CONF_LAST_DESCALE: user_input.get(CONF_LAST_DESCALE),
                    CONF_SHOTS_SINCE_BACKFLUSH: int(
                        user_input.get(CONF_SHOTS_SINCE_BACKFLUSH, 0)
                    ),
                }
                return self.async_create_entry(
                    title=self._data[CONF_NAME], data=data, options=options
                )
        schema = _interval_schema(keys, recommended)
        if valve:
            schema[vol.Optional(CONF_LAST_BACKFLUSH)] = selector.DateSelector()
            schema[
                vol.Required(
                    CONF_SHOTS_SINCE_BACKFLUSH,
                    default=0,
                )
            ] = number_selector()
        if track_descale:
            schema[vol.Optional(CONF_LAST_DESCALE)] = selector.DateSelector()
        return self.async_show_form(
            step_id="maintenance",
            data_schema=with_input(schema, user_input),
            description_placeholders={
                "name": self._data[CONF_NAME],
                **_placeholders(self._options),
            },
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Rename the machine, or change its type or valve."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if not name:
                errors[CONF_NAME] = "name_empty"
            elif self._name_taken(name, ignore_entry_id=entry.entry_id):
                errors[CONF_NAME] = "name_taken"
            else:
                # The update listener reloads the entry with the new settings.
                self.hass.config_entries.async_update_entry(
                    entry,
                    title=name,
                    data={
                        **entry.data,
                        CONF_NAME: name,
                        CONF_MACHINE_TYPE: user_input[CONF_MACHINE_TYPE],
                        CONF_THREE_WAY_VALVE: user_input[CONF_THREE_WAY_VALVE],
                    },
                )
                return self.async_abort(reason="reconfigure_successful")
        values = entry.data
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=with_input(
                {
                    **_name_schema(values[CONF_NAME], values[CONF_MACHINE_TYPE]),
                    vol.Required(
                        CONF_THREE_WAY_VALVE, default=values[CONF_THREE_WAY_VALVE]
                    ): selector.BooleanSelector(),
                },
                user_input,
            ),
            errors=errors,
        )


def _check_start(user_input: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    today = dt_util.now().date()
    for key in (CONF_LAST_BACKFLUSH, CONF_LAST_DESCALE):
        # The date selector has already refused anything that is not a date.
        if (value := user_input.get(key)) is not None and date.fromisoformat(
            value
        ) > today:
            errors[key] = "date_in_future"
    shots = user_input.get(CONF_SHOTS_SINCE_BACKFLUSH, 0)
    if shots != int(shots) or not 0 <= shots <= MAX_SHOTS_SINCE_BACKFLUSH:
        errors[CONF_SHOTS_SINCE_BACKFLUSH] = "shots_out_of_range"
    return errors


class EspressoMaintenanceOptionsFlow(OptionsFlow):
    """Change how a machine is tracked; its counters and history are kept."""

    def __init__(self) -> None:
        """Start with the current options."""
        self._usage: dict[str, Any] = {}
        self._source: dict[str, Any] = {}

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change descale tracking, use and water."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _check_usage(user_input)
            if not errors:
                self._usage = {key: user_input.get(key) for key in USAGE_KEYS}
                if user_input[CONF_SHOT_SOURCE] != SourceKind.NONE:
                    return await self.async_step_shot_source()
                return await self.async_step_limits()
        return self.async_show_form(
            step_id="init",
            data_schema=with_input(
                _usage_schema(dict(self.config_entry.options)), user_input
            ),
            description_placeholders={"name": self.config_entry.title},
            errors=errors,
        )

    async def async_step_shot_source(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the entity that shows shots, prefilled when the kind is unchanged."""
        kind = SourceKind(self._usage[CONF_SHOT_SOURCE])
        current = self.config_entry.options
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _check_source(self.hass, kind, user_input)
            if not errors:
                self._source = _source_values(user_input)
                return await self.async_step_limits()
        same_kind = current.get(CONF_SHOT_SOURCE) == kind
        return self.async_show_form(
            step_id=f"shot_source_{kind}",
            data_schema=with_input(
                source_schema(kind, dict(current) if same_kind else {}), user_input
            ),
            description_placeholders={"name": self.config_entry.title},
            errors=errors,
            last_step=False,
        )

    async_step_shot_source_brewing = async_step_shot_source
    async_step_shot_source_power = async_step_shot_source
    async_step_shot_source_counter = async_step_shot_source

    async def async_step_limits(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the limits, prefilled with the new recommendation.

        A limit the user had changed from its recommendation keeps their value.
        """
        current = self.config_entry.options
        keys = _interval_keys(
            self.config_entry.data[CONF_THREE_WAY_VALVE],
            self._usage[CONF_TRACK_DESCALE],
        )
        old_recommended = recommendations(dict(current))
        recommended = recommendations(self._usage)
        errors: dict[str, str] = {}
        if not keys:
            user_input = {}
        if user_input is not None:
            errors = _check_intervals(user_input, keys)
            if not errors:
                limits = {
                    key: current.get(key, recommended[key]) for key in recommended
                }
                limits.update({key: int(user_input[key]) for key in keys})
                return self.async_create_entry(
                    data={**self._usage, **self._source, **limits}
                )
        defaults = {
            key: recommended[key]
            if current.get(key, old_recommended[key]) == old_recommended[key]
            else current[key]
            for key in recommended
        }
        return self.async_show_form(
            step_id="limits",
            data_schema=with_input(_interval_schema(keys, defaults), user_input),
            description_placeholders={
                "name": self.config_entry.title,
                **_placeholders(self._usage),
            },
            errors=errors,
        )
