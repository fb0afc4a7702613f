"""Tests for day counts, local midnight, daylight saving and time zone changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.espresso_maintenance.const import (
    CONF_LAST_BACKFLUSH,
    CONF_LAST_DESCALE,
    CONF_SHOTS_SINCE_BACKFLUSH,
    DOMAIN,
    EVENT_NAME,
)

from .conftest import NOW

pytestmark = pytest.mark.freeze_time(NOW)


def state(hass: HomeAssistant, entity_id: str) -> str:
    """Return an entity's state."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: str) -> None:
    """Move the clock and let scheduled callbacks run."""
    freezer.move_to(when)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def test_day_count_rolls_over_at_local_midnight(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Days change at 00:00 in Rome (23:00 UTC in winter), not at UTC midnight."""
    assert state(hass, "sensor.gaggia_days_since_backflush") == "4"
    await tick(hass, freezer, "2026-11-28T22:59:59+00:00")
    assert state(hass, "sensor.gaggia_days_since_backflush") == "4"
    await tick(hass, freezer, "2026-11-28T23:00:00+00:00")
    assert state(hass, "sensor.gaggia_days_since_backflush") == "5"
    assert state(hass, "sensor.gaggia_days_since_descale") == "50"
    await tick(hass, freezer, "2026-11-29T00:00:01+00:00")
    assert state(hass, "sensor.gaggia_days_since_backflush") == "5"


async def test_due_flips_at_midnight_without_activity(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Backflush (by days, with shots pulled) and descale become due on their own, once."""
    events = async_capture_events(hass, EVENT_NAME)
    # Backflushed 2026-11-24 with 8 shots since: due 7 days later, 2026-12-01.
    await tick(hass, freezer, "2026-11-30T22:59:59+00:00")
    assert state(hass, "binary_sensor.gaggia_backflush_due") == "off"
    assert state(hass, "sensor.gaggia_backflush_status") == "due_soon"
    await tick(hass, freezer, "2026-11-30T23:00:00+00:00")
    assert state(hass, "binary_sensor.gaggia_backflush_due") == "on"
    assert [e.data["type"] for e in events] == ["backflush_due"]
    assert events[0].data["days_since_backflush"] == 7

    # Descaled 2026-10-10, every 60 days: due 2026-12-09 at 00:00 in Rome.
    assert state(hass, "sensor.gaggia_next_descale") == "2026-12-08T23:00:00+00:00"
    await tick(hass, freezer, "2026-12-08T22:59:59+00:00")
    assert state(hass, "binary_sensor.gaggia_descale_due") == "off"
    await tick(hass, freezer, "2026-12-08T23:00:00+00:00")
    assert state(hass, "binary_sensor.gaggia_descale_due") == "on"
    assert state(hass, "sensor.gaggia_descale_status") == "due"
    for day in range(9, 15):
        await tick(hass, freezer, f"2026-12-{day:02d}T23:00:00+00:00")
    assert [e.data["type"] for e in events] == ["backflush_due", "descale_due"]
    assert state(hass, "sensor.gaggia_days_since_descale") == "66"


async def test_no_shot_no_backflush_due(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Without shots since the last backflush, the day limit does not make it due."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**mock_config_entry.data, CONF_SHOTS_SINCE_BACKFLUSH: 0},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await tick(hass, freezer, "2026-12-20T12:00:00+00:00")
    assert state(hass, "sensor.gaggia_days_since_backflush") == "26"
    assert state(hass, "binary_sensor.gaggia_backflush_due") == "off"
    await hass.services.async_call(
        DOMAIN, "record_shot", {"entity_id": "sensor.gaggia_total_shots"}, blocking=True
    )
    assert state(hass, "binary_sensor.gaggia_backflush_due") == "on"


async def test_due_that_started_while_stopped_fires_once_on_start(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A due period that began while unloaded is announced once, at the next start."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    freezer.move_to("2026-12-15T10:00:00+00:00")
    events = async_capture_events(hass, EVENT_NAME)
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    assert sorted(e.data["type"] for e in events) == ["backflush_due", "descale_due"]
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert len(events) == 2


# (time zone, day before a daylight saving change, UTC offset hours before, after)
DST_CHANGES = [
    ("Europe/Rome", "2026-03-28", 1, 2),
    ("Europe/Rome", "2026-10-24", 2, 1),
    ("America/New_York", "2026-03-07", -5, -4),
    ("America/New_York", "2026-10-31", -4, -5),
    ("Australia/Sydney", "2026-04-04", 11, 10),
    ("Australia/Sydney", "2026-10-03", 10, 11),
]


@pytest.mark.parametrize(("zone", "day", "offset_before", "offset_after"), DST_CHANGES)
async def test_day_counts_across_daylight_saving(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entry_data: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    zone: str,
    day: str,
    offset_before: int,
    offset_after: int,
) -> None:
    """Across a 23 or 25 hour day, each midnight adds exactly one day."""
    await hass.config.async_set_time_zone(zone)
    first = datetime.fromisoformat(f"{day}T12:00:00").replace(
        tzinfo=dt_util.get_default_time_zone()
    )
    freezer.move_to(first)
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**entry_data, CONF_LAST_BACKFLUSH: day, CONF_LAST_DESCALE: day},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert state(hass, "sensor.gaggia_days_since_descale") == "0"

    midnight_1 = dt_util.as_utc(first.replace(hour=0) + timedelta(days=1))
    assert dt_util.as_local(midnight_1).utcoffset() == timedelta(hours=offset_before)
    midnight_2 = dt_util.as_utc(
        (first + timedelta(days=2)).replace(hour=0, tzinfo=first.tzinfo)
    )
    assert dt_util.as_local(midnight_2).utcoffset() == timedelta(hours=offset_after)
    # The day between is 23 or 25 hours long.
    assert midnight_2 - midnight_1 == timedelta(hours=24 + offset_before - offset_after)

    for moment, days in (
        (midnight_1 - timedelta(seconds=1), "0"),
        (midnight_1, "1"),
        (midnight_2 - timedelta(seconds=1), "1"),
        (midnight_2, "2"),
        (midnight_2 + timedelta(hours=23), "2"),
    ):
        await tick(hass, freezer, moment.isoformat())
        assert state(hass, "sensor.gaggia_days_since_descale") == days, moment
        assert state(hass, "sensor.gaggia_days_since_backflush") == days, moment


async def test_time_zone_change_moves_midnight(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """After a time zone change the next rollover follows the new local midnight."""
    await hass.config.async_update(time_zone="America/New_York")
    await hass.async_block_till_done()
    # The last backflush, entered as 2026-11-24 (noon in Rome), is still that day
    # in New York: a date entered at setup keeps its day across time zones.
    assert state(hass, "sensor.gaggia_days_since_backflush") == "4"
    # Midnight in Rome no longer rolls the count over...
    await tick(hass, freezer, "2026-11-28T23:00:00+00:00")
    assert state(hass, "sensor.gaggia_days_since_backflush") == "4"
    # ...midnight in New York (05:00 UTC) does.
    await tick(hass, freezer, "2026-11-29T04:59:59+00:00")
    assert state(hass, "sensor.gaggia_days_since_backflush") == "4"
    await tick(hass, freezer, "2026-11-29T05:00:00+00:00")
    assert state(hass, "sensor.gaggia_days_since_backflush") == "5"


async def test_clock_jumps(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A clock jumping forwards catches up; jumping backwards never gives negative days."""
    await tick(hass, freezer, "2027-01-15T12:00:00+00:00")
    assert state(hass, "sensor.gaggia_days_since_backflush") == "52"
    assert state(hass, "binary_sensor.gaggia_descale_due") == "on"

    # The clock goes back before the last backflush; the next change re-evaluates.
    freezer.move_to("2026-11-20T12:00:00+00:00")
    await hass.services.async_call(
        DOMAIN, "record_shot", {"entity_id": "sensor.gaggia_total_shots"}, blocking=True
    )
    assert state(hass, "sensor.gaggia_days_since_backflush") == "0"
    assert state(hass, "sensor.gaggia_days_since_descale") == "41"
    # The rollover timer follows the new time.
    await tick(hass, freezer, "2026-11-20T23:00:00+00:00")
    assert state(hass, "sensor.gaggia_days_since_descale") == "42"


async def test_one_timer_and_no_polling(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A machine keeps a single wake-up, at the next local midnight, and never polls."""
    machine = init_integration.runtime_data
    assert machine.status.next_change == dt_util.parse_datetime(
        "2026-11-28T23:00:00+00:00"
    )
    for _ in range(5):
        await hass.services.async_call(
            DOMAIN,
            "record_shot",
            {"entity_id": "sensor.gaggia_total_shots"},
            blocking=True,
        )
    timers = [
        handle
        for handle in hass.loop._scheduled
        if not handle.cancelled() and "Machine._async_on_timer" in repr(handle)
    ]
    assert len(timers) == 1
    assert "2026-11-28 23:00:00+00:00" in repr(timers[0])
    for entity in hass.data["entity_components"]["sensor"].entities:
        if entity.platform.platform_name == DOMAIN:
            assert entity.should_poll is False
