"""Tests for the maintenance to-do list."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_component import DATA_INSTANCES
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.espresso_maintenance.const import CONF_LAST_BACKFLUSH, DOMAIN

from .conftest import NOW

pytestmark = pytest.mark.freeze_time(NOW)

TODO = "todo.gaggia_maintenance_to_do"


async def items(hass: HomeAssistant) -> list[dict[str, Any]]:
    """Return the list's items through the todo.get_items action."""
    response: dict[str, Any] = await hass.services.async_call(
        "todo", "get_items", {"entity_id": TODO}, blocking=True, return_response=True
    )
    return list(response[TODO]["items"])


async def test_items_for_what_is_due(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A descale due soon is listed with its due date; the list counts it."""
    assert await items(hass) == [
        {
            "uid": "descale",
            "summary": "Descale",
            "status": "needs_action",
            "due": "2026-12-09",
            # Nothing counted yet: the days count as days of typical use.
            "description": "82% scale load after 49 days: due in 11 days at your typical use",
        }
    ]
    assert hass.states.get(TODO).state == "1"
    await hass.services.async_call(
        DOMAIN,
        "record_shot",
        {"entity_id": TODO, "count": 4},
        blocking=True,
    )
    listed = await items(hass)
    assert [item["uid"] for item in listed] == ["backflush", "descale"]
    # 12 of 14 shots at 2 a day: the 14th is pulled today.
    assert listed[0] == {
        "uid": "backflush",
        "summary": "Backflush",
        "status": "needs_action",
        "due": "2026-11-28",
        "description": "12 of 14 shots and 4 of 7 days since the last backflush",
    }
    assert hass.states.get(TODO).state == "2"


async def test_check_off_records_and_item_returns(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Checking an item off records the descale; it returns when due again."""
    await hass.services.async_call(
        "todo",
        "update_item",
        {"entity_id": TODO, "item": "Descale", "status": "completed"},
        blocking=True,
    )
    assert await items(hass) == []
    assert hass.states.get("sensor.gaggia_days_since_descale").state == "0"
    assert [r.kind.value for r in init_integration.runtime_data.state.history] == [
        "descale"
    ]
    # 48 of 60 days (80 %) makes it due soon again (next to the backflush,
    # overdue by then).
    freezer.move_to("2027-01-15T12:00:00+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert [item["uid"] for item in await items(hass)] == ["backflush", "descale"]
    assert hass.states.get(TODO).state == "2"


async def test_backflush_due_today(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A backflush due now is due today."""
    await hass.services.async_call(
        DOMAIN, "record_shot", {"entity_id": TODO, "count": 6}, blocking=True
    )
    assert (await items(hass))[0]["due"] == "2026-11-28"


@pytest.mark.parametrize(
    "data",
    [
        {"item": "Descale", "status": "needs_action"},
        {"item": "Descale", "rename": "Polish the group head"},
        {"item": "backflush", "status": "completed"},
    ],
)
async def test_list_is_not_editable(
    hass: HomeAssistant, init_integration: MockConfigEntry, data: dict[str, Any]
) -> None:
    """Only due items can be checked off; nothing else changes the list."""
    with pytest.raises((ServiceValidationError, ValueError)):
        await hass.services.async_call(
            "todo", "update_item", {"entity_id": TODO, **data}, blocking=True
        )
    assert [item["uid"] for item in await items(hass)] == ["descale"]
    assert init_integration.runtime_data.state.history == ()


async def test_adding_items_is_not_supported(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Users cannot add their own items to a machine's list."""
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "todo", "add_item", {"entity_id": TODO, "item": "Buy beans"}, blocking=True
        )


async def test_list_in_another_language(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Items are written in Home Assistant's language."""
    hass.config.language = "de-CH"
    assert (await items(hass))[0]["summary"] == "Entkalken"
    assert (await items(hass))[0]["description"] == (
        "82 % Kalkbelastung nach 49 Tagen: in 11 Tagen fällig bei deiner typischen Nutzung"
    )


async def test_live_counts_reach_cards_without_state_writes(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A shot that only changes an item's text updates open cards, not the state."""
    await hass.services.async_call(
        DOMAIN, "record_shot", {"entity_id": TODO, "count": 4}, blocking=True
    )
    # What the to-do card's subscription receives (the websocket would carry it).
    entity = hass.data[DATA_INSTANCES]["todo"].get_entity(TODO)
    pushed: list[list[str]] = []
    entity.async_subscribe_updates(
        lambda items: pushed.append(
            [
                getattr(item, "description", None) or item["description"]
                for item in items
            ]
        )
    )
    before = hass.states.get(TODO)
    await hass.services.async_call(
        DOMAIN, "record_shot", {"entity_id": TODO}, blocking=True
    )
    assert pushed[-1][0] == "13 of 14 shots and 4 of 7 days since the last backflush"
    after = hass.states.get(TODO)
    assert after.last_updated == before.last_updated
    assert after.last_reported == before.last_reported


async def descale_text(hass: HomeAssistant) -> str:
    """Return the description of the descale item."""
    listed = {item["uid"]: item for item in await items(hass)}
    return str(listed["descale"]["description"])


async def test_descale_texts_say_what_sets_the_date(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Full at the current use, the shortest and the longest interval, and today."""
    target = {"entity_id": TODO}
    # 48 typical days before counting began, then 23 shots: 59.5 of 60 days,
    # reached tomorrow at two shots a day (or by a shot today).
    await hass.services.async_call(
        DOMAIN, "record_shot", {**target, "count": 20}, blocking=True
    )
    await hass.services.async_call(
        DOMAIN, "record_shot", {**target, "count": 3}, blocking=True
    )
    assert await descale_text(hass) == (
        "99% scale load after 49 days: due tomorrow at your typical use"
    )
    await hass.services.async_call(
        DOMAIN, "record_shot", {**target, "count": 20}, blocking=True
    )
    assert await descale_text(hass) == "116% scale load after 49 days: due now"

    # Back-dated 25 days, and 40 more shots: 24 typical days, then today's 83
    # shots (41.5 days): full, but the minimum holds it to 30 days.
    await hass.services.async_call(
        DOMAIN,
        "record_descale",
        {**target, "performed_at": "2026-11-03 08:00"},
        blocking=True,
    )
    for _ in range(2):
        await hass.services.async_call(
            DOMAIN, "record_shot", {**target, "count": 20}, blocking=True
        )
    assert await descale_text(hass) == (
        "109% scale load after 25 days: due on Thursday, "
        "as the shortest interval is 30 days"
    )


async def test_descale_text_of_a_machine_left_off(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Descaled, one shot, then nothing: the longest interval sets the date."""
    target = {"entity_id": TODO}
    await hass.services.async_call(DOMAIN, "record_descale", target, blocking=True)
    await hass.services.async_call(DOMAIN, "record_shot", target, blocking=True)
    freezer.move_to("2027-02-16T08:30:00+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert await descale_text(hass) == (
        "1% scale load after 80 days: due in 10 days, "
        "as the longest interval is 90 days"
    )


async def test_backflush_due_by_shots_without_a_known_date(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, time_zone: str
) -> None:
    """With the last backflush unknown, a backflush due by shots is due today."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**mock_config_entry.data, CONF_LAST_BACKFLUSH: None},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await hass.services.async_call(
        DOMAIN, "record_shot", {"entity_id": TODO, "count": 6}, blocking=True
    )
    listed = {item["uid"]: item for item in await items(hass)}
    assert listed["backflush"]["due"] == "2026-11-28"
    assert (
        listed["backflush"]["description"] == "14 of 14 shots since the last backflush"
    )
