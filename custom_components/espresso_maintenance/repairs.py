"""Repair issues the user can fix from the UI."""

from __future__ import annotations

from typing import Any

from homeassistant import data_entry_flow
from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
import voluptuous as vol

from .const import CONF_SOURCE_ENTITY, DOMAIN, LOGGER
from .detectors import SourceKind
from .model import MachineState
from .shot_sources import source_problem, source_schema
from .store import MachineStore

STORAGE_ISSUE_PREFIX = "storage_"
SOURCE_ISSUE_PREFIX = "source_missing_"


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
        data={"entry_id": entry.entry_id},
    )


@callback
def async_delete_storage_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Remove a machine's storage issue, once it loads again."""
    ir.async_delete_issue(hass, DOMAIN, storage_issue_id(entry))


class StartOverRepairFlow(RepairsFlow):
    """Start a machine over with empty counters, keeping the unusable file aside."""

    def __init__(self, entry_id: str) -> None:
        """Remember the machine."""
        self._entry_id = entry_id

    async def async_step_init(
        self, user_input: dict[str, str] | None = None
    ) -> data_entry_flow.FlowResult:
        """Start at the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> data_entry_flow.FlowResult:
        """Ask, then set the old file aside and start from zero."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="machine_removed")
        if user_input is None:
            return self.async_show_form(
                step_id="confirm",
                data_schema=vol.Schema({}),
                description_placeholders={"name": entry.title},
            )
        store = MachineStore(self.hass, entry.entry_id)
        kept = await store.async_set_aside()
        LOGGER.warning(
            "Starting %s over; the old file is kept as %s", entry.title, kept
        )
        await store.async_save_state(MachineState())
        async_delete_storage_issue(self.hass, entry)
        self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_create_entry(data={})


class NewSourceRepairFlow(RepairsFlow):
    """Pick a new shot source after the old entity was deleted or renamed."""

    def __init__(self, entry_id: str, kind: SourceKind, suggested: str) -> None:
        """Remember the machine, the kind of source and a renamed entity's new ID."""
        self._entry_id = entry_id
        self._kind = kind
        self._suggested = suggested

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
            entity_id = user_input[CONF_SOURCE_ENTITY]
            if problem := source_problem(self.hass, self._kind, entity_id):
                errors[CONF_SOURCE_ENTITY] = problem
            else:
                # The update listener reloads the machine with the new source.
                self.hass.config_entries.async_update_entry(
                    entry, options={**entry.options, CONF_SOURCE_ENTITY: entity_id}
                )
                return self.async_create_entry(data={})
        values = user_input or (
            {CONF_SOURCE_ENTITY: self._suggested} if self._suggested else {}
        )
        schema = {
            key: value
            for key, value in source_schema(self._kind, values).items()
            if key == CONF_SOURCE_ENTITY
        }
        return self.async_show_form(
            step_id="pick",
            data_schema=vol.Schema(schema),
            description_placeholders={
                "name": entry.title,
                "entity_id": str(entry.options.get(CONF_SOURCE_ENTITY)),
            },
            errors=errors,
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    """Create the fix flow of an issue."""
    data = data or {}
    entry_id = str(data.get("entry_id", ""))
    if issue_id.startswith(SOURCE_ISSUE_PREFIX):
        return NewSourceRepairFlow(
            entry_id, SourceKind(data["kind"]), str(data.get("suggested", ""))
        )
    return StartOverRepairFlow(entry_id)
