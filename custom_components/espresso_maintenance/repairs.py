"""Repair issues the user can fix from the UI."""

from __future__ import annotations

from typing import Any

from homeassistant import data_entry_flow
from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
import voluptuous as vol

from .const import DOMAIN, LOGGER
from .model import MachineState
from .store import MachineStore

STORAGE_ISSUE_PREFIX = "storage_"


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


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    """Create the fix flow of an issue."""
    entry_id = str((data or {}).get("entry_id", ""))
    return StartOverRepairFlow(entry_id)
