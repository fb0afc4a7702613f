"""Repair issues the user can fix from the UI."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from homeassistant import data_entry_flow
from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
import voluptuous as vol

from .const import (
    CONF_HARDNESS_UNIT,
    CONF_SHOT_SOURCE,
    CONF_SOURCE_ENTITY,
    CONF_WATER_HARDNESS,
    DOMAIN,
    HARDNESS_UNIT_SYMBOLS,
    HARDNESS_UNKNOWN,
    LOGGER,
)
from .detectors import MaintenanceSourceKind, SourceKind
from .hardness import check_hardness, hardness_schema, with_input
from .maintenance_sources import (
    SOURCE_OPTIONS,
    entity_schema,
    maintenance_source_problem,
)
from .model import (
    ESPRESSO_HARDNESS_MAX_MG_L,
    ESPRESSO_HARDNESS_TARGET_MG_L,
    HardnessUnit,
    Kind,
    MachineState,
    hardness_from_mg_l,
    hardness_to_mg_l,
    is_too_hard_for_espresso,
)
from .shot_sources import source_problem, source_schema
from .sources import MISSING_ISSUE_PREFIXES
from .store import MachineStore

STORAGE_ISSUE_PREFIX = "storage_"
HARD_WATER_ISSUE_PREFIX = "hard_water_"
MACHINE_ISSUE_PREFIXES = (
    STORAGE_ISSUE_PREFIX,
    HARD_WATER_ISSUE_PREFIX,
    "counter_jump_",
    *MISSING_ISSUE_PREFIXES.values(),
    "water_jump_",
)


def storage_issue_id(entry: ConfigEntry) -> str:
    """Return the id of a machine's storage issue."""
    return f"{STORAGE_ISSUE_PREFIX}{entry.entry_id}"


@callback
def async_create_storage_issue(
    hass: HomeAssistant, entry: ConfigEntry, reason: str, detail: str
) -> None:
    """Tell the user a machine's storage cannot be used, and how to go on."""
    LOGGER.error("Cannot load the storage of %s (%s): %s", entry.title, reason, detail)
    ir.async_create_issue(
        hass,
        DOMAIN,
        storage_issue_id(entry),
        is_fixable=True,
        is_persistent=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=reason,
        translation_placeholders={"name": entry.title, "error": detail},
        data={"entry_id": entry.entry_id, "reason": reason},
    )


@callback
def async_delete_storage_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Remove a machine's storage issue, once it loads again."""
    ir.async_delete_issue(hass, DOMAIN, storage_issue_id(entry))


@callback
def async_delete_machine_issues(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Remove every issue of a machine that was deleted."""
    for prefix in MACHINE_ISSUE_PREFIXES:
        ir.async_delete_issue(hass, DOMAIN, f"{prefix}{entry.entry_id}")


def _hardness_text(mg_l: float, unit: HardnessUnit) -> str:
    value = round(hardness_from_mg_l(mg_l, unit), 1)
    return f"{value:g} {HARDNESS_UNIT_SYMBOLS[unit]}"


def hard_water_issue_id(entry: ConfigEntry) -> str:
    """Return the id of a machine's hard-water issue."""
    return f"{HARD_WATER_ISSUE_PREFIX}{entry.entry_id}"


def _too_hard(options: Mapping[str, Any]) -> tuple[float, HardnessUnit] | None:
    """Return the reading in mg/L and its unit, when it is too hard for espresso."""
    unit_key = options.get(CONF_HARDNESS_UNIT, HARDNESS_UNKNOWN)
    value = options.get(CONF_WATER_HARDNESS)
    if unit_key == HARDNESS_UNKNOWN or value is None:
        return None
    unit = HardnessUnit(unit_key)
    mg_l = hardness_to_mg_l(value, unit)
    return (mg_l, unit) if is_too_hard_for_espresso(mg_l) else None


def _hard_water_placeholders(
    name: str, mg_l: float, unit: HardnessUnit
) -> dict[str, str]:
    return {
        "name": name,
        "hardness": _hardness_text(mg_l, unit),
        "limit": _hardness_text(ESPRESSO_HARDNESS_MAX_MG_L, unit),
        "target": _hardness_text(ESPRESSO_HARDNESS_TARGET_MG_L, unit),
    }


@callback
def async_update_hard_water_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Recommend softer water while the measured hardness is too hard for espresso.

    The issue is created again at each setup with the same id, so a user who
    ignored it is not asked again.
    """
    issue_id = hard_water_issue_id(entry)
    if (too_hard := _too_hard(entry.options)) is None:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="hard_water",
        translation_placeholders=_hard_water_placeholders(entry.title, *too_hard),
        data={"entry_id": entry.entry_id},
    )


class HardWaterRepairFlow(RepairsFlow):
    """Enter a new water hardness reading (e.g. after fitting a filter), or ignore."""

    def __init__(self, entry_id: str) -> None:
        """Remember the machine."""
        self._entry_id = entry_id

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Explain, then offer a new reading or ignoring the repair.

        The repairs API starts here.
        """
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="machine_removed")
        if (too_hard := _too_hard(entry.options)) is None:
            return await self.async_step_reading()
        return self.async_show_menu(
            step_id="init",
            menu_options=["reading", "ignore"],
            description_placeholders=_hard_water_placeholders(entry.title, *too_hard),
        )

    async def async_step_ignore(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Ignore the repair, the way the repairs dashboard does; it stays listed there."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="machine_removed")
        ir.async_ignore_issue(self.hass, DOMAIN, hard_water_issue_id(entry), True)
        return self.async_abort(reason="ignored")

    async def async_step_reading(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Ask for the reading and its unit; the machine reloads with it.

        Only a reading the coffee water standard accepts repairs the issue. A
        reading that is still too hard is kept as the machine's water, and the
        repair stays.
        """
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="machine_removed")
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = check_hardness(user_input)
            if not errors:
                options = {
                    **entry.options,
                    CONF_WATER_HARDNESS: user_input.get(CONF_WATER_HARDNESS),
                    CONF_HARDNESS_UNIT: user_input[CONF_HARDNESS_UNIT],
                }
                self.hass.config_entries.async_update_entry(entry, options=options)
                if (too_hard := _too_hard(options)) is not None:
                    return self.async_abort(
                        reason="still_too_hard",
                        description_placeholders=_hard_water_placeholders(
                            entry.title, *too_hard
                        ),
                    )
                return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="reading",
            data_schema=with_input(hardness_schema(dict(entry.options)), user_input),
            description_placeholders={"name": entry.title},
            errors=errors,
        )


async def _async_start_over(store: MachineStore, title: str) -> None:
    """Set the unusable file aside and start from zero."""
    kept = await store.async_set_aside()
    LOGGER.warning("Starting %s over; the old file is kept as %s", title, kept)
    await store.async_save_state(MachineState())


async def _async_keep_up_to_damage(store: MachineStore, title: str) -> None:
    """Fold the journal's lines before the damage into the file, setting it aside."""
    await store.async_load_state(created=True, up_to_damage=True)
    store.async_close()


class StorageRepairFlow(RepairsFlow):
    """Confirm, then mend a machine's storage and reload the machine."""

    def __init__(
        self,
        entry_id: str,
        mend: Callable[[MachineStore, str], Coroutine[Any, Any, None]],
    ) -> None:
        """Remember the machine and how to mend its storage."""
        self._entry_id = entry_id
        self._mend = mend

    async def async_step_init(
        self, user_input: dict[str, str] | None = None
    ) -> data_entry_flow.FlowResult:
        """Start at the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> data_entry_flow.FlowResult:
        """Ask, then mend the storage, clear the issue and reload the machine."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="machine_removed")
        if user_input is None:
            return self.async_show_form(
                step_id="confirm",
                data_schema=vol.Schema({}),
                description_placeholders={"name": entry.title},
            )
        await self._mend(MachineStore(self.hass, entry.entry_id), entry.title)
        async_delete_storage_issue(self.hass, entry)
        self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_create_entry(data={})


class NewSourceRepairFlow(RepairsFlow):
    """Pick a new source entity after the old one was deleted."""

    def __init__(
        self,
        entry_id: str,
        option: str,
        problem: Callable[[HomeAssistant, str], str | None],
        schema: Callable[[dict[str, Any]], dict[Any, Any]],
    ) -> None:
        """Remember the machine, the option holding the entity, and how to check one."""
        self._entry_id = entry_id
        self._option = option
        self._problem = problem
        self._schema = schema

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Start at the choice of entity (the repairs API passes the issue here)."""
        return await self.async_step_pick()

    async def async_step_pick(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Ask for the new entity, of the same kind as before."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="machine_removed")
        errors: dict[str, str] = {}
        if user_input is not None:
            entity_id = user_input[self._option]
            if problem := self._problem(self.hass, entity_id):
                errors[self._option] = problem
            else:
                # The update listener reloads the machine with the new source.
                self.hass.config_entries.async_update_entry(
                    entry, options={**entry.options, self._option: entity_id}
                )
                return self.async_create_entry(data={})
        schema = {
            key: value for key, value in self._schema({}).items() if key == self._option
        }
        return self.async_show_form(
            step_id="pick",
            data_schema=with_input(schema, user_input),
            description_placeholders={
                "name": entry.title,
                "entity_id": str(entry.options.get(self._option)),
            },
            errors=errors,
        )


def _shot_source_flow(entry_id: str, kind: SourceKind) -> NewSourceRepairFlow:
    return NewSourceRepairFlow(
        entry_id,
        CONF_SOURCE_ENTITY,
        lambda hass, entity_id: source_problem(hass, kind, entity_id),
        lambda values: source_schema(kind, values),
    )


def _maintenance_source_flow(
    entry_id: str, maintenance: Kind, kind: MaintenanceSourceKind
) -> NewSourceRepairFlow:
    return NewSourceRepairFlow(
        entry_id,
        SOURCE_OPTIONS[maintenance][1],
        lambda hass, entity_id: maintenance_source_problem(hass, kind, entity_id),
        lambda values: entity_schema(maintenance, kind, values),
    )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    """Create the fix flow of an issue."""
    data = data or {}
    entry_id = str(data.get("entry_id", ""))
    if issue_id.startswith(HARD_WATER_ISSUE_PREFIX):
        return HardWaterRepairFlow(entry_id)
    if issue_id.startswith(MISSING_ISSUE_PREFIXES[CONF_SHOT_SOURCE]):
        return _shot_source_flow(entry_id, SourceKind(data["kind"]))
    if "maintenance" in data:
        return _maintenance_source_flow(
            entry_id,
            Kind(data["maintenance"]),
            MaintenanceSourceKind(data["kind"]),
        )
    if data.get("reason") == "storage_journal_damaged":
        return StorageRepairFlow(entry_id, _async_keep_up_to_damage)
    return StorageRepairFlow(entry_id, _async_start_over)
