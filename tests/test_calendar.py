"""Tests for the maintenance calendar."""

from __future__ import annotations

from typing import Any

from freezegun.api import (
    FrozenDateTimeFactory,
)
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.espresso_maintenance.const import (
    CONF_LAST_BACKFLUSH,
    CONF_LAST_DESCALE,
    DOMAIN,
)

from .conftest import (
    NOW,
    second_machine,
)

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
            # The last backflush entered when the machine was added.
            "start": "2026-11-24",
            "end": "2026-11-25",
            "summary": "Gaggia: Backflush",
            "description": "Entered when the machine was added.",
        },
        {
            "start": "2026-11-26T07:45:00+01:00",
            "end": "2026-11-26T07:55:00+01:00",
            "summary": "Gaggia: Backflush",
            "description": "8 shots since the previous backflush, 8 in all.\nNote: Cafiza",
        },
        {
            # Backflushed on the 26th, 7 days later; 11 shots to go at 2 a day
            # would take until December 3rd.
            "start": "2026-12-03",
            "end": "2026-12-04",
            "summary": "Gaggia: Backflush due",
            "description": "Predicted at 2.0 shots a day.",
        },
        {
            # 48 days of typical use before the first shot was counted, then
            # three shots (a day and a half): 10.5 days to go at 2 a day, from
            # tomorrow on.
            "start": "2026-12-09",
            "end": "2026-12-10",
            "summary": "Gaggia: Descale due",
            "description": (
                "82% scale load after 49 days: due in 11 days at your typical use"
            ),
        },
    ]
    state = hass.states.get(CALENDAR)
    assert state is not None
    assert state.state == "off"
    assert state.attributes["message"] == "Gaggia: Backflush due"
    assert state.attributes["all_day"] is True


async def test_overdue_lasts_until_today(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An overdue maintenance is an event from its due day until today: the calendar is on."""
    await hass.services.async_call(
        DOMAIN, "record_shot", {**TARGET, "count": 6}, blocking=True
    )
    found = await events(hass, "2026-11-28T00:00:00+01:00", "2026-11-29T00:00:00+01:00")
    assert found[0]["summary"] == "Gaggia: Backflush due"
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


async def test_overdue_stays_until_today(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An overdue descale runs from its due day to today, and grows day by day until done."""
    # Descaled on October 10th, every 60 days: due on December 9th.
    for today, end in (("2026-12-09", "2026-12-10"), ("2026-12-12", "2026-12-13")):
        freezer.move_to(f"{today}T09:00:00+01:00")
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        found = await events(
            hass, "2026-12-01T00:00:00+01:00", "2026-12-31T00:00:00+01:00"
        )
        descale = [
            event for event in found if event["summary"] == "Gaggia: Descale due"
        ]
        assert [(event["start"], event["end"]) for event in descale] == [
            ("2026-12-09", end)
        ]
        # Seen from yesterday's view alone, it is still there.
        yesterday = await events(
            hass, f"{today}T00:00:00+01:00", f"{today}T23:59:00+01:00"
        )
        assert "Gaggia: Descale due" in [event["summary"] for event in yesterday]
        assert hass.states.get(CALENDAR).state == "on"
    await hass.services.async_call(DOMAIN, "record_descale", TARGET, blocking=True)
    found = await events(hass, "2026-12-01T00:00:00+01:00", "2026-12-31T00:00:00+01:00")
    assert "Gaggia: Descale due" not in [event["summary"] for event in found]


async def test_two_machines_in_one_view(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """Each machine's events carry its name, so a combined calendar view is clear."""
    await second_machine(hass, entry_data, entry_options)
    summaries = set()
    for calendar in (CALENDAR, "calendar.lelit_bianca_maintenance_calendar"):
        response = await hass.services.async_call(
            "calendar",
            "get_events",
            {
                "entity_id": calendar,
                "start_date_time": "2026-11-01T00:00:00+01:00",
                "end_date_time": "2027-01-01T00:00:00+01:00",
            },
            blocking=True,
            return_response=True,
        )
        summaries |= {event["summary"] for event in response[calendar]["events"]}
    assert summaries == {
        "Gaggia: Backflush",
        "Gaggia: Backflush due",
        "Gaggia: Descale due",
        "Lelit Bianca: Backflush",
        "Lelit Bianca: Backflush due",
        "Lelit Bianca: Descale due",
    }


async def test_setup_dates(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The last dates entered at setup are all-day events, until a record of that day replaces them."""
    found = await events(hass, "2026-10-01T00:00:00+02:00", "2026-11-28T00:00:00+01:00")
    assert [(e["start"], e["summary"]) for e in found] == [
        ("2026-10-10", "Gaggia: Descale"),
        ("2026-11-24", "Gaggia: Backflush"),
    ]
    await hass.services.async_call(
        DOMAIN,
        "record_descale",
        {**TARGET, "performed_at": "2026-10-10 18:00", "note": "Citric acid"},
        blocking=True,
    )
    found = await events(hass, "2026-10-01T00:00:00+02:00", "2026-11-28T00:00:00+01:00")
    assert [(e["start"], e["summary"]) for e in found] == [
        ("2026-10-10T18:00:00+02:00", "Gaggia: Descale"),
        ("2026-11-24", "Gaggia: Backflush"),
    ]


async def test_summaries_in_french(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The machine's name comes first, with each language's punctuation."""
    hass.config.language = "fr"
    found = await events(hass, "2026-11-24T00:00:00+01:00", "2026-11-25T00:00:00+01:00")
    assert [event["summary"] for event in found] == ["Gaggia : Rinçage inversé"]


async def test_no_setup_dates(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
) -> None:
    """A machine added without last dates has no past events."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={
            **mock_config_entry.data,
            CONF_LAST_BACKFLUSH: None,
            CONF_LAST_DESCALE: None,
        },
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    found = await events(hass, "2026-01-01T00:00:00+01:00", "2026-11-28T00:00:00+01:00")
    assert found == []
