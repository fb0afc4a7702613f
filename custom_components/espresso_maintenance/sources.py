"""What every source shares: one entity's states, its renames, and a repair when it is gone.

A source is another integration's entity that shots or maintenance are recorded
from (shot_sources.py, maintenance_sources.py). When the user renames it in the
entity registry, the machine follows: the options are updated and the machine
reloads with the new entity ID, as Home Assistant's own helpers do. When it is
deleted, or missing once Home Assistant has started, a repair asks for another.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.event import (
    async_track_entity_registry_updated_event,
    async_track_state_change_event,
)
from homeassistant.helpers.start import async_at_started

from .const import (
    CONF_BACKFLUSH_SOURCE,
    CONF_BACKFLUSH_SOURCE_ENTITY,
    CONF_DESCALE_SOURCE,
    CONF_DESCALE_SOURCE_ENTITY,
    CONF_SHOT_SOURCE,
    CONF_SOURCE_ENTITY,
    CONF_WATER_SOURCE,
    DOMAIN,
    LOGGER,
)
from .machine import Machine

# The option choosing each source, and the option holding its entity ID.
SOURCE_ENTITY_OPTIONS = {
    CONF_SHOT_SOURCE: CONF_SOURCE_ENTITY,
    CONF_BACKFLUSH_SOURCE: CONF_BACKFLUSH_SOURCE_ENTITY,
    CONF_DESCALE_SOURCE: CONF_DESCALE_SOURCE_ENTITY,
    # The water sensor's option holds its entity ID itself.
    CONF_WATER_SOURCE: CONF_WATER_SOURCE,
}
# The repair raised when each source is gone.
MISSING_ISSUE_PREFIXES = {
    CONF_SHOT_SOURCE: "source_missing_",
    CONF_BACKFLUSH_SOURCE: "backflush_source_missing_",
    CONF_DESCALE_SOURCE: "descale_source_missing_",
    CONF_WATER_SOURCE: "water_source_missing_",
}


def missing_issue_id(entry: ConfigEntry, option: str) -> str:
    """Return the id of the repair raised when a machine's source is gone."""
    return f"{MISSING_ISSUE_PREFIXES[option]}{entry.entry_id}"


@callback
def async_delete_unused_issues(
    hass: HomeAssistant, entry: ConfigEntry, used: set[str]
) -> None:
    """Remove the missing-source repairs of sources no longer chosen."""
    for option in MISSING_ISSUE_PREFIXES:
        if option not in used:
            ir.async_delete_issue(hass, DOMAIN, missing_issue_id(entry, option))


def on_off(state: State | None) -> bool | None:
    """Read a binary sensor or switch: True on, False off, None for anything else."""
    return {STATE_ON: True, STATE_OFF: False}.get(state.state) if state else None


def entity_problem(hass: HomeAssistant, entity_id: str) -> str | None:
    """Tell why an entity cannot be any source: one of ours, or unknown."""
    entry = er.async_get(hass).async_get(entity_id)
    if entry is not None and entry.platform == DOMAIN:
        return "source_is_own_entity"
    if entry is None and hass.states.get(entity_id) is None:
        return "source_not_found"
    return None


@callback
def async_follow_rename(
    hass: HomeAssistant, entry: ConfigEntry, old_entity_id: str, new_entity_id: str
) -> None:
    """Point every source option of a machine that named the old ID at the new one.

    The update listener then reloads the machine, which watches the new ID; a
    second source on the same entity finds the options already changed.
    """
    renamed = {
        key: new_entity_id
        for key in SOURCE_ENTITY_OPTIONS.values()
        if entry.options.get(key) == old_entity_id
    }
    if not renamed:
        return
    LOGGER.info(
        "%s: %s was renamed to %s; recording from the new ID",
        entry.title,
        old_entity_id,
        new_entity_id,
    )
    hass.config_entries.async_update_entry(entry, options={**entry.options, **renamed})


@dataclass(frozen=True, kw_only=True)
class MissingIssue:
    """The repair raised when a source entity is gone, with its fix flow's data."""

    issue_id: str
    translation_key: str
    # What the fix flow needs besides the machine: the kind of source.
    data: dict[str, str]
    # False where the source is chosen again in Configure instead.
    fixable: bool = True


class EntitySource(ABC):
    """Watches one entity of another integration for a machine."""

    def __init__(
        self,
        hass: HomeAssistant,
        machine: Machine,
        entity_id: str,
        issue: MissingIssue,
    ) -> None:
        """Remember what to watch and which repair to raise if it goes."""
        self.hass = hass
        self.machine = machine
        self.entity_id = entity_id
        self.issue = issue
        # Whether the missing-source repair may be raised (from before a
        # restart too), so a reading does not look it up every time.
        self._issue_raised = True

    @abstractmethod
    def _async_feed(self, state: State | None) -> None:
        """Take one state of the entity (None when it has none)."""

    @abstractmethod
    def diagnostics(self) -> dict[str, Any]:
        """Describe the source and what it saw lately."""

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Start watching; return a function that stops it."""
        unsubs = [
            async_track_state_change_event(
                self.hass, self.entity_id, self._async_state_changed
            ),
            async_track_entity_registry_updated_event(
                self.hass, self.entity_id, self._async_registry_updated
            ),
            async_at_started(self.hass, self._async_check_exists),
        ]
        self._async_feed(self.hass.states.get(self.entity_id))

        @callback
        def stop() -> None:
            for unsub in unsubs:
                unsub()

        return stop

    @callback
    def _async_state_changed(self, event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        if new_state is not None and self._issue_raised:
            self._async_delete_issue()
        self._async_feed(new_state)

    @callback
    def _async_delete_issue(self) -> None:
        self._issue_raised = False
        ir.async_delete_issue(self.hass, DOMAIN, self.issue.issue_id)

    @callback
    def _async_registry_updated(
        self, event: Event[er.EventEntityRegistryUpdatedData]
    ) -> None:
        data = event.data
        if data["action"] == "remove":
            self._async_raise_missing()
        elif data["action"] == "update" and "old_entity_id" in data:
            async_follow_rename(
                self.hass, self.machine.entry, data["old_entity_id"], data["entity_id"]
            )

    @callback
    def _async_check_exists(self, _hass: HomeAssistant) -> None:
        if (
            self.hass.states.get(self.entity_id) is None
            and er.async_get(self.hass).async_get(self.entity_id) is None
        ):
            self._async_raise_missing()
        else:
            # A source chosen anew (in the options or the repair) is there.
            self._async_delete_issue()

    @callback
    def _async_raise_missing(self) -> None:
        self._issue_raised = True
        entry = self.machine.entry
        LOGGER.warning(
            "%s: the source %s is gone; nothing is recorded from it",
            entry.title,
            self.entity_id,
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.issue.issue_id,
            is_fixable=self.issue.fixable,
            severity=ir.IssueSeverity.WARNING,
            translation_key=self.issue.translation_key,
            translation_placeholders={"name": entry.title, "entity_id": self.entity_id},
            data={"entry_id": entry.entry_id, **self.issue.data},
        )
