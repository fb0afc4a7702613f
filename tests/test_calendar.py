"""Tests for the maintenance calendar."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.espresso_maintenance.const import DOMAIN

from .conftest import NOW

pytestmark = pytest.mark.freeze_time(NOW)

CALENDAR = "calendar.gaggia_maintenance_calendar"
TARGET = {"entity_id": CALENDAR}


async def events(hass: HomeAssistant, start: str, end: str) -> list[dict[str, Any]]:
    """Return the calendar's events through calendar.get_events."""
    response: dict[str, Any] = await hass.services.async_call(
        "calendar",
        "get_events",
        {"entity_id": CALENDAR, "start_date_time": start, "end_date_time": end},
        blocking=True,
        return_response=True,
    )
    return list(response[CALENDAR]["events"])


async def test_upcoming_and_past(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Records are past events; the next backflush and descale are upcoming."""
    await hass.services.async_call(
        DOMAIN,
        "record_backflush",
        {**TARGET, "performed_at": "2026-11-26 07:45", "note": "Cafiza"},
        blocking=True,
    )
    await hass.services.async_call(
        DOMAIN, "record_shot", {**TARGET, "count": 3}, blocking=True
    )
    found = await events(hass, "2026-11-01T00:00:00+01:00", "2027-01-01T00:00:00+01:00")
    assert found == [
        {
            "start": "2026-11-26T07:45:00+01:00",
            "end": "2026-11-26T07:55:00+01:00",
            "summary": "Backflush",
            "description": "8 shots since the previous backflush, 8 in all.\nNote: Cafiza",
        },
        {
            # Backflushed on the 26th, 7 days later; 11 shots to go at 2 a day
            # would take until December 3rd.
            "start": "2026-12-03",
            "end": "2026-12-04",
            "summary": "Backflush due",
            "description": "Predicted at 2.0 shots a day.",
        },
        {
            "start": "2026-12-09",
            "end": "2026-12-10",
            "summary": "Descale due",
        },
    ]
    state = hass.states.get(CALENDAR)
    assert state is not None
    assert state.state == "off"
    assert state.attributes["message"] == "Backflush due"
    assert state.attributes["all_day"] is True


async def test_overdue_lasts_until_today(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An overdue maintenance is an event from its due day until today: the calendar is on."""
    await hass.services.async_call(
        DOMAIN, "record_shot", {**TARGET, "count": 6}, blocking=True
    )
    found = await events(hass, "2026-11-28T00:00:00+01:00", "2026-11-29T00:00:00+01:00")
    assert found[0]["summary"] == "Backflush due"
    assert (found[0]["start"], found[0]["end"]) == ("2026-11-28", "2026-11-29")
    assert hass.states.get(CALENDAR).state == "on"


async def test_prediction_uses_the_real_shot_rate(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """After a record, the shots pulled since it set the rate."""
    await hass.services.async_call(
        DOMAIN,
        "record_descale",
        {**TARGET, "performed_at": "2026-11-18T08:30:00+00:00"},
        blocking=True,
    )
    # The descale was entered now, so the rate has less than a day of data.
    found = await events(hass, "2026-11-28T00:00:00+01:00", "2027-03-01T00:00:00+01:00")
    assert found[0]["description"] == "Predicted at 2.0 shots a day."
    machine = init_integration.runtime_data
    assert machine.shot_rate() == 2.0
