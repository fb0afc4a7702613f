"""To-do list of Espresso Maintenance: what is due or due soon, checked off when done.

The list is worked out from the machine's state, so it cannot be edited: an
item appears when its maintenance is due or due soon, and checking it off
records that maintenance exactly as the button or action does.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import date
from typing import cast

from homeassistant.components.todo import TodoItem, TodoListEntity
from homeassistant.components.todo.const import TodoItemStatus, TodoListEntityFeature
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .entity import EspressoEntity
from .language import Texts
from .machine import EspressoConfigEntry, Machine, scale_percent
from .model import DescaleDriver, DueStatus, Kind, ScaleOutlook, local_date

PARALLEL_UPDATES = 0

TODO_LIST = EntityDescription(
    key="maintenance_list", translation_key="maintenance_list"
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EspressoConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Set up the machine's maintenance to-do list."""
    async_add_entities([EspressoTodoList(entry.runtime_data, TODO_LIST)])


def due_date(machine: Machine, kind: Kind) -> date | None:
    """Return the day a maintenance is (or was) due, when it can be told."""
    status = machine.status
    tz = dt_util.get_default_time_zone()
    today = local_date(dt_util.utcnow(), tz)
    if kind is Kind.DESCALE:
        return (
            None if status.next_descale is None else local_date(status.next_descale, tz)
        )
    if status.backflush is DueStatus.DUE:
        if status.backflush_days_limit_at is not None and status.shots_since_backflush:
            return min(today, local_date(status.backflush_days_limit_at, tz))
        return today
    return machine.predicted_backflush()


DESCALE_REASONS = {
    DescaleDriver.MINIMUM: "todo_descale_minimum",
    DescaleDriver.MAXIMUM: "todo_descale_maximum",
}


def descale_description(machine: Machine, texts: Texts) -> str:
    """Say how far the scale load is, and what sets the descale's date.

    "35% scale load after 20 days: due in 9 days at your current use": by the
    measured use, the typed use (nothing counted yet), the shortest or the
    longest interval. Only asked while the descale has a status.
    """
    status = machine.status
    # A descale status comes with its scale outlook.
    scale = cast("ScaleOutlook", status.scale)
    due = status.descale is DueStatus.DUE
    if due and scale.driver is DescaleDriver.USE:
        key = "todo_descale_full"
    elif scale.driver is DescaleDriver.USE:
        key = "todo_descale_use" if scale.measured else "todo_descale_typical"
    else:
        key = DESCALE_REASONS[scale.driver]
    if due:
        when = texts.text("descale_when_now")
    else:
        today = local_date(dt_util.utcnow(), dt_util.get_default_time_zone())
        when = texts.date(scale.due_on, today)
    low, high = machine.settings.descale_bounds
    return texts.text(
        key,
        load=f"{scale_percent(scale):.0f}",
        days=status.days_since_descale,
        when=when,
        min_days=low,
        max_days=high,
    )


def todo_items(machine: Machine, texts: Texts) -> list[TodoItem]:
    """Build the items for the maintenance that is due or due soon."""
    status = machine.status
    settings = machine.settings
    items: list[TodoItem] = []
    if status.backflush in (DueStatus.DUE, DueStatus.DUE_SOON):
        values = {
            "shots": status.shots_since_backflush,
            "limit_shots": settings.backflush_interval_shots,
            "days": status.days_since_backflush,
            "limit_days": settings.backflush_interval_days,
        }
        key = (
            "todo_backflush_shots"
            if status.days_since_backflush is None
            else "todo_backflush_shots_days"
        )
        items.append(
            TodoItem(
                uid=Kind.BACKFLUSH.value,
                summary=texts.text("todo_backflush"),
                status=TodoItemStatus.NEEDS_ACTION,
                due=due_date(machine, Kind.BACKFLUSH),
                description=texts.text(key, **values),
            )
        )
    if status.descale in (DueStatus.DUE, DueStatus.DUE_SOON):
        items.append(
            TodoItem(
                uid=Kind.DESCALE.value,
                summary=texts.text("todo_descale"),
                status=TodoItemStatus.NEEDS_ACTION,
                due=due_date(machine, Kind.DESCALE),
                description=descale_description(machine, texts),
            )
        )
    return items


class EspressoTodoList(EspressoEntity, TodoListEntity):
    """The maintenance due on a machine, as a to-do list."""

    _attr_supported_features = TodoListEntityFeature.UPDATE_TODO_ITEM

    # The items last pushed to open to-do cards; None when unknown.
    _pushed: tuple[Hashable, ...] | None = None

    def state_key(self) -> Hashable:
        """Return what the state holds: how many items are due or due soon.

        The items themselves (their kinds, due dates and descriptions, which
        hold the live counts) are not part of the state: a change of them alone
        is pushed to the open to-do cards without a state write.
        """
        status = self.machine.status
        return sum(
            status.due(kind) in (DueStatus.DUE, DueStatus.DUE_SOON) for kind in Kind
        )

    def _items(self) -> tuple[Hashable, ...]:
        return tuple(
            (item.uid, item.summary, item.due, item.description)
            for item in self.todo_items or []
        )

    @callback
    def _async_machine_updated(self) -> None:
        if (key := self.state_key()) != self._written:
            # The write pushes the items to the open cards too.
            self._written, self._pushed = key, None
            self.async_write_ha_state()
        elif not self._update_listeners:
            # No card is open: a card that opens gets the items then.
            self._pushed = None
        elif (items := self._items()) != self._pushed:
            self._pushed = items
            self.async_update_listeners()

    @property
    def todo_items(self) -> list[TodoItem] | None:
        """Return the items for what is due or due soon."""
        return todo_items(self.machine, Texts(self.hass))

    async def async_update_todo_item(self, item: TodoItem) -> None:
        """Check an item off: record that maintenance."""
        kinds = {kind.value: kind for kind in Kind}
        current = {i.uid for i in self.todo_items or ()}
        if item.uid not in current or item.status != TodoItemStatus.COMPLETED:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="todo_read_only"
            )
        await self.machine.async_record_maintenance(kinds[str(item.uid)])
