"""Config, options and reconfigure flows of Espresso Maintenance.

Numbers are checked here rather than by selector bounds, so that a wrong value
gets a translated error at its field whatever sent it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import (
    SOURCE_USER,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import ATTR_DEVICE_ID, CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import selector
from homeassistant.helpers.typing import DiscoveryInfoType
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import (
    CONF_BACKFLUSH_INTERVAL_DAYS,
    CONF_BACKFLUSH_INTERVAL_SHOTS,
    CONF_BACKFLUSH_PULSE_SECONDS,
    CONF_BACKFLUSH_SOURCE,
    CONF_DESCALE_INTERVAL_DAYS,
    CONF_DESCALE_MAX_DAYS,
    CONF_DESCALE_MIN_DAYS,
    CONF_DESCALE_SOURCE,
    CONF_DETECT_BACKFLUSH,
    CONF_HARDNESS_UNIT,
    CONF_LAST_BACKFLUSH,
    CONF_LAST_DESCALE,
    CONF_LINKED_DEVICE,
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
    CONF_WATER_PER_SHOT_ML,
    CONF_WATER_SOURCE,
    DEFAULT_SHOTS_PER_DAY,
    DOMAIN,
    HARDNESS_UNKNOWN,
    MAX_INTERVAL_DAYS,
    MAX_INTERVAL_SHOTS,
    MAX_SHOTS_PER_DAY,
    MAX_SHOTS_SINCE_BACKFLUSH,
    MAX_SOURCE_SECONDS,
    MAX_WATER_PER_SHOT_ML,
    MIN_WATER_PER_SHOT_ML,
)
from .detectors import MaintenanceSourceKind, SourceKind
from .discovery import FoundMachine, async_find_machine, async_find_machines
from .hardness import (
    check_hardness,
    hardness_schema,
    number_selector,
    select_selector,
    with_input,
)
from .maintenance_sources import (
    check_entity,
    check_kinds,
    entity_schema,
    kinds_schema,
    source_kind,
)
from .model import (
    DEFAULT_WATER_PER_SHOT_ML,
    MAX_DESCALE_DAYS,
    MIN_DESCALE_DAYS,
    RECOMMENDED_BACKFLUSH_DAYS,
    TYPICAL_THREE_WAY_VALVE,
    HardnessUnit,
    Kind,
    MachineType,
    hardness_to_mg_l,
    recommended_backflush_shots,
    recommended_descale_days,
)
from .shot_sources import check_pattern, source_problem, source_schema, source_values
from .water_source import water_source_problem

# The pick_machine step's choice for a machine no integration knows.
BY_HAND = "by_hand"
# The link_machine step's field: the machine registered by hand to link.
CONF_MACHINE = "machine"

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


def _usage_schema(
    values: dict[str, Any], maintenance: tuple[Kind, ...] = tuple(Kind)
) -> dict[Any, Any]:
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
        **kinds_schema(values, maintenance),
    }


USAGE_KEYS = (
    CONF_TRACK_DESCALE,
    CONF_SHOTS_PER_DAY,
    CONF_WATER_HARDNESS,
    CONF_HARDNESS_UNIT,
    CONF_SHOT_SOURCE,
)


def _usage_values(user_input: dict[str, Any]) -> dict[str, Any]:
    """Return the options the usage form gave; an unasked maintenance source is none."""
    return {key: user_input.get(key) for key in USAGE_KEYS} | {
        option: source_kind(user_input, kind).value
        for kind, option in (
            (Kind.BACKFLUSH, CONF_BACKFLUSH_SOURCE),
            (Kind.DESCALE, CONF_DESCALE_SOURCE),
        )
    }


# The steps choosing the source entities, in order, and whether each is needed.
SOURCE_STEPS = (
    ("shot_source", lambda options: options[CONF_SHOT_SOURCE] != SourceKind.NONE),
    (
        "backflush_source",
        lambda options: (
            source_kind(options, Kind.BACKFLUSH) is not MaintenanceSourceKind.NONE
        ),
    ),
    (
        "descale_source",
        lambda options: (
            source_kind(options, Kind.DESCALE) is not MaintenanceSourceKind.NONE
        ),
    ),
)


def _next_source_step(options: dict[str, Any], after: str | None) -> str | None:
    """Return the next source step the chosen options need, after a step."""
    names = [name for name, _needed in SOURCE_STEPS]
    start = 0 if after is None else names.index(after) + 1
    for name, needed in SOURCE_STEPS[start:]:
        if needed(options):
            return name
    return None


def _pattern_asked(options: dict[str, Any], valve: bool) -> bool:
    """Ask for the backflush pattern only where it would be used.

    That is a machine with a three-way valve whose backflushes are not
    reported by a source of its own.
    """
    return valve and source_kind(options, Kind.BACKFLUSH) is MaintenanceSourceKind.NONE


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
    pattern_errors = check_pattern(user_input)
    if CONF_MIN_SECONDS in errors:
        # Compared with a shortest shot that is wrong itself: that error says it.
        pattern_errors.pop(CONF_BACKFLUSH_PULSE_SECONDS, None)
    return errors | pattern_errors


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
        # A machine found on another integration's device, and the answers it
        # suggests; every step takes its defaults from them, and what the user
        # enters always wins.
        self._found: FoundMachine | None = None
        self._discovered: dict[str, Any] = {}
        self._by_hand = False

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
        if (
            user_input is None
            and self._found is None
            and not self._by_hand
            and self._machines_to_pick()
        ):
            return await self.async_step_pick_machine()
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
            errors = _check_usage(user_input) | check_kinds(
                user_input, valve=user_input[CONF_THREE_WAY_VALVE]
            )
            if not errors:
                self._data[CONF_THREE_WAY_VALVE] = user_input[CONF_THREE_WAY_VALVE]
                self._options = _usage_values(user_input)
                return await self._async_next_step(None)
        values = self._machine_defaults()
        valve_default = values.get(
            CONF_THREE_WAY_VALVE,
            TYPICAL_THREE_WAY_VALVE[MachineType(self._data[CONF_MACHINE_TYPE])],
        )
        return self.async_show_form(
            step_id="machine",
            data_schema=with_input(
                {
                    vol.Required(
                        CONF_THREE_WAY_VALVE, default=valve_default
                    ): selector.BooleanSelector(),
                    **_usage_schema(values),
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
                self._options.update(source_values(user_input))
                return await self._async_next_step("shot_source")
        schema = source_schema(
            kind,
            self._source_defaults(kind),
            backflush=_pattern_asked(self._options, self._data[CONF_THREE_WAY_VALVE]),
        )
        return self.async_show_form(
            step_id=f"shot_source_{kind}",
            data_schema=with_input(schema, user_input),
            description_placeholders={"name": self._data[CONF_NAME]},
            errors=errors,
            last_step=False,
        )

    async_step_shot_source_brewing = async_step_shot_source
    async_step_shot_source_power = async_step_shot_source
    async_step_shot_source_counter = async_step_shot_source

    async def async_step_backflush_source(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose the entity that reports backflushes."""
        return await self._async_maintenance_source(Kind.BACKFLUSH, user_input)

    async def async_step_descale_source(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose the entity that reports descales."""
        return await self._async_maintenance_source(Kind.DESCALE, user_input)

    async def _async_maintenance_source(
        self, maintenance: Kind, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        kind = source_kind(self._options, maintenance)
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = check_entity(
                self.hass, maintenance, kind, user_input, self._options
            )
            if not errors:
                self._options.update(user_input)
                return await self._async_next_step(f"{maintenance}_source")
        return self.async_show_form(
            step_id=f"{maintenance}_source",
            data_schema=with_input(
                entity_schema(
                    maintenance,
                    kind,
                    self._maintenance_entity_defaults(maintenance, kind),
                ),
                user_input,
            ),
            description_placeholders={"name": self._data[CONF_NAME]},
            errors=errors,
            last_step=False,
        )

    async def _async_next_step(self, after: str | None) -> ConfigFlowResult:
        """Go on to the next source the options need, then to the intervals."""
        steps = {
            "shot_source": self.async_step_shot_source,
            "backflush_source": self.async_step_backflush_source,
            "descale_source": self.async_step_descale_source,
        }
        if (step := _next_source_step(self._options, after)) is not None:
            return await steps[step]()
        return await self.async_step_maintenance()

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
                    **self._link(),
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

    # Discovery: starting from a coffee machine another integration already knows
    # (discovery.py). These steps lead into the user step with its answers filled
    # in; the steps after it take their defaults from self._discovered.

    async def async_step_integration_discovery(
        self, discovery_info: DiscoveryInfoType
    ) -> ConfigFlowResult:
        """Offer a coffee machine found on another integration's device."""
        return await self._async_use_device(discovery_info[ATTR_DEVICE_ID])

    async def async_step_pick_machine(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Start from a machine Home Assistant already knows, or by hand."""
        if user_input is not None:
            if user_input[ATTR_DEVICE_ID] == BY_HAND:
                self._by_hand = True
                return await self.async_step_user()
            return await self._async_use_device(user_input[ATTR_DEVICE_ID])
        options = [
            selector.SelectOptionDict(
                value=found.device_id,
                label=f"{found.name} ({found.integration.title})",
            )
            for found in self._machines_to_pick()
        ]
        options.append(selector.SelectOptionDict(value=BY_HAND, label=BY_HAND))
        return self.async_show_form(
            step_id="pick_machine",
            data_schema=vol.Schema(
                {
                    vol.Required(ATTR_DEVICE_ID): selector.SelectSelector(
                        selector.SelectSelectorConfig(
                            options=options,
                            translation_key="pick_machine",
                            mode=selector.SelectSelectorMode.LIST,
                        )
                    )
                }
            ),
            last_step=False,
        )

    async def async_step_discovered(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add the found machine, or link it to a machine registered by hand."""
        # Also run when the form is opened again later: the device may be gone.
        if (found := self._refreshed()) is None:
            return self.async_abort(reason="device_gone")
        if self._unlinked_entries():
            return self.async_show_menu(
                step_id="discovered",
                menu_options=["discovered_machine", "link_machine"],
                description_placeholders=_found_placeholders(found),
            )
        return await self.async_step_discovered_machine()

    async def async_step_discovered_machine(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Name the found machine and say what kind it is, filled in from its device."""
        # Its entities may have been added since it was offered.
        if (found := self._refreshed()) is None:
            return self.async_abort(reason="device_gone")
        if user_input is not None:
            return await self.async_step_user(user_input)
        return self.async_show_form(
            step_id="discovered_machine",
            data_schema=vol.Schema(
                _name_schema(
                    self._discovered[CONF_NAME], self._discovered[CONF_MACHINE_TYPE]
                )
            ),
            description_placeholders=_found_placeholders(found),
            last_step=False,
        )

    async def async_step_link_machine(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Link the found machine's device to a machine registered by hand."""
        if (found := self._refreshed()) is None:
            return self.async_abort(reason="device_gone")
        entries = {entry.entry_id: entry for entry in self._unlinked_entries()}
        errors: dict[str, str] = {}
        if user_input is not None:
            if (entry := entries.get(user_input[CONF_MACHINE])) is None:
                errors[CONF_MACHINE] = "machine_gone"
            else:
                # The update listener reloads the machine, which links its device.
                self.hass.config_entries.async_update_entry(
                    entry,
                    unique_id=found.key,
                    data={**entry.data, CONF_LINKED_DEVICE: found.key},
                )
                return self.async_abort(
                    reason="linked",
                    description_placeholders={
                        "name": entry.title,
                        "device": found.name,
                    },
                )
        return self.async_show_form(
            step_id="link_machine",
            data_schema=with_input(
                {
                    vol.Required(CONF_MACHINE): selector.SelectSelector(
                        selector.SelectSelectorConfig(
                            options=[
                                selector.SelectOptionDict(
                                    value=entry_id, label=entry.title
                                )
                                for entry_id, entry in entries.items()
                            ],
                            mode=selector.SelectSelectorMode.LIST,
                        )
                    )
                },
                user_input,
            ),
            description_placeholders=_found_placeholders(found),
            errors=errors,
        )

    async def _async_use_device(self, device_id: str) -> ConfigFlowResult:
        """Take a found machine's answers as the defaults of every step."""
        if (found := async_find_machine(self.hass, device_id)) is None:
            return self.async_abort(reason="device_gone")
        # A user may pick a device that was offered and not yet answered; whichever
        # flow finishes first aborts the other.
        await self.async_set_unique_id(
            found.key, raise_on_progress=self.source != SOURCE_USER
        )
        self._abort_if_unique_id_configured(error="already_linked")
        self._found = found
        self._discovered = found.defaults
        self.context["title_placeholders"] = {"name": found.name}
        return await self.async_step_discovered()

    def _refreshed(self) -> FoundMachine | None:
        """Read the found machine's device again; None once it is gone."""
        if self._found is not None:
            self._found = async_find_machine(self.hass, self._found.device_id)
        if self._found is not None:
            self._discovered = self._found.defaults
        return self._found

    def _machines_to_pick(self) -> list[FoundMachine]:
        """Return the machines other integrations know that no machine is linked to."""
        linked = {
            entry.data.get(CONF_LINKED_DEVICE)
            for entry in self._async_current_entries(include_ignore=False)
        }
        return [
            found for found in async_find_machines(self.hass) if found.key not in linked
        ]

    def _unlinked_entries(self) -> list[ConfigEntry]:
        """Return the machines registered by hand, which a found device can join."""
        return sorted(
            (
                entry
                for entry in self._async_current_entries(include_ignore=False)
                if CONF_LINKED_DEVICE not in entry.data
            ),
            key=lambda entry: entry.title.casefold(),
        )

    def _machine_defaults(self) -> dict[str, Any]:
        """Return the found answers for the machine step.

        The valve follows from the machine type found, so it only applies while
        that type is kept.
        """
        if self._data.get(CONF_MACHINE_TYPE) == self._discovered.get(CONF_MACHINE_TYPE):
            return self._discovered
        return {
            key: value
            for key, value in self._discovered.items()
            if key != CONF_THREE_WAY_VALVE
        }

    def _source_defaults(self, kind: SourceKind) -> dict[str, Any]:
        """Return the found device's best entity for the kind of shot source chosen."""
        if self._found and (
            entity_id := self._found.sources[CONF_SHOT_SOURCE].get(kind)
        ):
            return {CONF_SOURCE_ENTITY: entity_id}
        return {}

    def _maintenance_entity_defaults(
        self, maintenance: Kind, kind: MaintenanceSourceKind
    ) -> dict[str, Any]:
        """Return the found device's best entity for the kind of maintenance source."""
        option = (
            CONF_BACKFLUSH_SOURCE
            if maintenance is Kind.BACKFLUSH
            else CONF_DESCALE_SOURCE
        )
        if self._found and (entity_id := self._found.sources[option].get(kind)):
            return {f"{option}_entity": entity_id}
        return {}

    def _link(self) -> dict[str, Any]:
        """Return the link to the found machine's device, for the entry's data."""
        return {CONF_LINKED_DEVICE: self._found.key} if self._found else {}


def _found_placeholders(found: FoundMachine) -> dict[str, str]:
    return {"name": found.name, "integration": found.integration.title}


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


# Descaling from use: the water per shot, a water source and the bounds of the
# date, asked after the limits (options only; a new machine takes the defaults).
DESCALE_KEYS = (
    CONF_WATER_PER_SHOT_ML,
    CONF_WATER_SOURCE,
    CONF_DESCALE_MIN_DAYS,
    CONF_DESCALE_MAX_DAYS,
)


def _descale_defaults(values: dict[str, Any], interval: int) -> dict[str, Any]:
    """Return the descale fields' values; the bounds widen to hold the interval."""
    return {
        CONF_WATER_PER_SHOT_ML: values.get(
            CONF_WATER_PER_SHOT_ML, DEFAULT_WATER_PER_SHOT_ML
        ),
        CONF_WATER_SOURCE: values.get(CONF_WATER_SOURCE),
        CONF_DESCALE_MIN_DAYS: values.get(
            CONF_DESCALE_MIN_DAYS, min(MIN_DESCALE_DAYS, interval)
        ),
        CONF_DESCALE_MAX_DAYS: values.get(
            CONF_DESCALE_MAX_DAYS, max(MAX_DESCALE_DAYS, interval)
        ),
    }


def _descale_schema(values: dict[str, Any]) -> dict[Any, Any]:
    source = values.get(CONF_WATER_SOURCE)
    return {
        vol.Required(
            CONF_WATER_PER_SHOT_ML, default=values[CONF_WATER_PER_SHOT_ML]
        ): number_selector(),
        vol.Optional(
            CONF_WATER_SOURCE,
            description={"suggested_value": source} if source else None,
        ): selector.EntitySelector(
            selector.EntitySelectorConfig(
                domain="sensor",
                device_class=[SensorDeviceClass.VOLUME, SensorDeviceClass.WATER],
            )
        ),
        vol.Required(
            CONF_DESCALE_MIN_DAYS, default=values[CONF_DESCALE_MIN_DAYS]
        ): number_selector(),
        vol.Required(
            CONF_DESCALE_MAX_DAYS, default=values[CONF_DESCALE_MAX_DAYS]
        ): number_selector(),
    }


def _check_descale(
    hass: HomeAssistant, user_input: dict[str, Any], interval: int
) -> dict[str, str]:
    errors: dict[str, str] = {}
    water = user_input[CONF_WATER_PER_SHOT_ML]
    if water != int(water) or not (
        MIN_WATER_PER_SHOT_ML <= water <= MAX_WATER_PER_SHOT_ML
    ):
        errors[CONF_WATER_PER_SHOT_ML] = "water_per_shot_out_of_range"
    if (source := user_input.get(CONF_WATER_SOURCE)) and (
        problem := water_source_problem(hass, source)
    ):
        errors[CONF_WATER_SOURCE] = problem
    low = user_input[CONF_DESCALE_MIN_DAYS]
    high = user_input[CONF_DESCALE_MAX_DAYS]
    for key, value in ((CONF_DESCALE_MIN_DAYS, low), (CONF_DESCALE_MAX_DAYS, high)):
        if value != int(value) or not 1 <= value <= MAX_INTERVAL_DAYS:
            errors[key] = "descale_bound_out_of_range"
    if errors.keys() & {CONF_DESCALE_MIN_DAYS, CONF_DESCALE_MAX_DAYS}:
        return errors
    if low >= high:
        errors[CONF_DESCALE_MAX_DAYS] = "descale_max_not_above_min"
    elif interval < low:
        errors[CONF_DESCALE_MIN_DAYS] = "descale_interval_below_min"
    elif interval > high:
        errors[CONF_DESCALE_MAX_DAYS] = "descale_interval_above_max"
    return errors


def _descale_values(user_input: dict[str, Any]) -> dict[str, Any]:
    values = {
        key: int(user_input[key]) for key in DESCALE_KEYS if key != CONF_WATER_SOURCE
    }
    if source := user_input.get(CONF_WATER_SOURCE):
        values[CONF_WATER_SOURCE] = source
    return values


class EspressoMaintenanceOptionsFlow(OptionsFlow):
    """Change how a machine is tracked; its counters and history are kept."""

    def __init__(self) -> None:
        """Start with the current options."""
        self._usage: dict[str, Any] = {}
        self._source: dict[str, Any] = {}
        self._maintenance: dict[str, Any] = {}
        self._limits: dict[str, Any] = {}

    @property
    def _valve(self) -> bool:
        return bool(self.config_entry.data[CONF_THREE_WAY_VALVE])

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change descale tracking, use and water."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _check_usage(user_input) | check_kinds(
                user_input, valve=self._valve
            )
            if not errors:
                self._usage = _usage_values(user_input)
                return await self._async_next_step(None)
        # Without a three-way valve there is no backflush to record.
        maintenance = tuple(Kind) if self._valve else (Kind.DESCALE,)
        return self.async_show_form(
            step_id="init",
            data_schema=with_input(
                _usage_schema(dict(self.config_entry.options), maintenance),
                user_input,
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
                self._source = source_values(user_input)
                return await self._async_next_step("shot_source")
        same_kind = current.get(CONF_SHOT_SOURCE) == kind
        # A machine set up before backflushes were recognised in the pulses
        # keeps that off until the user turns it on.
        values = {CONF_DETECT_BACKFLUSH: False, **current} if same_kind else {}
        schema = source_schema(
            kind, values, backflush=_pattern_asked(self._usage, self._valve)
        )
        return self.async_show_form(
            step_id=f"shot_source_{kind}",
            data_schema=with_input(schema, user_input),
            description_placeholders={"name": self.config_entry.title},
            errors=errors,
            last_step=False,
        )

    async_step_shot_source_brewing = async_step_shot_source
    async_step_shot_source_power = async_step_shot_source
    async_step_shot_source_counter = async_step_shot_source

    async def async_step_backflush_source(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the entity that reports backflushes."""
        return await self._async_maintenance_source(Kind.BACKFLUSH, user_input)

    async def async_step_descale_source(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the entity that reports descales."""
        return await self._async_maintenance_source(Kind.DESCALE, user_input)

    async def _async_maintenance_source(
        self, maintenance: Kind, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Ask for the entity, prefilled when the kind of source is unchanged."""
        kind = source_kind(self._usage, maintenance)
        current = self.config_entry.options
        errors: dict[str, str] = {}
        if user_input is not None:
            chosen = {**self._usage, **self._source, **self._maintenance}
            errors = check_entity(self.hass, maintenance, kind, user_input, chosen)
            if not errors:
                self._maintenance.update(user_input)
                return await self._async_next_step(f"{maintenance}_source")
        same_kind = source_kind(current, maintenance) is kind
        values = dict(current) if same_kind else {}
        return self.async_show_form(
            step_id=f"{maintenance}_source",
            data_schema=with_input(
                entity_schema(maintenance, kind, values), user_input
            ),
            description_placeholders={"name": self.config_entry.title},
            errors=errors,
            last_step=False,
        )

    async def _async_next_step(self, after: str | None) -> ConfigFlowResult:
        """Go on to the next source the options need, then to the limits."""
        steps = {
            "shot_source": self.async_step_shot_source,
            "backflush_source": self.async_step_backflush_source,
            "descale_source": self.async_step_descale_source,
        }
        if (step := _next_source_step(self._usage, after)) is not None:
            return await steps[step]()
        return await self.async_step_limits()

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
                self._limits = limits
                if self._usage[CONF_TRACK_DESCALE]:
                    return await self.async_step_descale()
                # Kept for when descaling is tracked again.
                kept = {key: current[key] for key in DESCALE_KEYS if key in current}
                return self.async_create_entry(
                    data={
                        **self._usage,
                        **self._source,
                        **self._maintenance,
                        **limits,
                        **kept,
                    }
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

    async def async_step_descale(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the water per shot, the water source and the descale bounds."""
        interval = int(self._limits[CONF_DESCALE_INTERVAL_DAYS])
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _check_descale(self.hass, user_input, interval)
            if not errors:
                return self.async_create_entry(
                    data={
                        **self._usage,
                        **self._source,
                        **self._maintenance,
                        **self._limits,
                        **_descale_values(user_input),
                    }
                )
        values = _descale_defaults(dict(self.config_entry.options), interval)
        return self.async_show_form(
            step_id="descale",
            data_schema=with_input(_descale_schema(values), user_input),
            description_placeholders={
                "name": self.config_entry.title,
                "interval": str(interval),
            },
            errors=errors,
        )
