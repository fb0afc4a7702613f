"""End to end: local days, daylight saving and time zone changes in a real process.

The clock of a real Home Assistant cannot be moved, so these tests use what can
be done honestly with the real clock:

- Daylight saving in Europe/Rome, America/New_York and Australia/Sydney: the
  time zone is switched at runtime, and maintenance is back-dated to the evening
  before each of the zone's two latest daylight saving changes. Day counts, the
  next descale and the due state must match calendar days in that zone.
- The midnight rollover: Home Assistant is given extra time zones (TZif files
  on PYTHONTZPATH, read like any IANA zone) whose local midnight falls a few
  seconds from now. Switching to one at runtime must re-plan the rollover, which
  then happens, with its due event, at that midnight; one zone moves its clocks
  an hour forward at midnight, as a daylight saving start can.

Rollovers across the named zones' daylight saving changes and clock jumps
forwards and backwards need a clock that can be moved; they are covered in
process by tests/test_time.py with a frozen clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
import io
import os
from pathlib import Path
import struct
from typing import Any
import zoneinfo

import pytest

from .harness import (
    Client,
    HassProcess,
    Machine,
    WebSocket,
    async_start_onboarded,
    next_event,
)

pytestmark = pytest.mark.e2e

ZONES = ("Europe/Rome", "America/New_York", "Australia/Sydney")
EVENING = time(23, 30)
# Seconds from setting a test zone to its midnight: enough to check the state
# before it on a slow runner, short enough to keep the test quick.
LEAD = 6.0


def daylight_saving_changes(zone: tzinfo, today: date, count: int = 2) -> list[date]:
    """Return the days of a zone's latest daylight saving changes, oldest first."""
    changes: list[date] = []
    day = today
    while len(changes) < count:
        before = day - timedelta(days=1)
        noon = datetime.combine(day, time(12), tzinfo=zone)
        if (
            noon.utcoffset()
            != datetime.combine(before, time(12), tzinfo=zone).utcoffset()
        ):
            changes.append(day)
        day = before
        assert today - day < timedelta(days=800), "no daylight saving change"
    return sorted(changes)


def utc_text(moment: datetime) -> str:
    """Write a moment as Home Assistant does: ISO format in UTC."""
    return moment.astimezone(UTC).isoformat()


def midnight(day: date, zone: tzinfo) -> str:
    """Return the start of a local day, in UTC, as Home Assistant writes it."""
    return utc_text(datetime.combine(day, time(), tzinfo=zone))


async def set_time_zone(ws: WebSocket, zone: str) -> None:
    """Change Home Assistant's time zone at runtime, as Settings > General does."""
    await ws.async_command({"type": "config/core/update", "time_zone": zone})


async def act(client: Client, action: str, data: dict[str, Any]) -> None:
    """Call one of our actions over REST."""
    status, body = await client.async_service(action, data)
    assert status == 200, body


async def set_descale_interval(client: Client, machine: Machine, days: int) -> None:
    """Change the descale interval through the options flow; wait for the reload."""
    await client.async_change_options(machine, {"descale_interval_days": days})
    await client.async_status_when(
        machine, lambda status: status["descale_interval_days"] == days
    )


@pytest.mark.timeout(180)
async def test_daylight_saving_in_three_zones(
    hass_factory: Callable[..., HassProcess],
) -> None:
    """Back-dated records count calendar days across daylight saving changes."""
    _hass, client = await async_start_onboarded(hass_factory)
    try:
        machine = await client.async_add_machine("Gaggia")
        ws = await client.async_websocket()
        for name in ZONES:
            zone = zoneinfo.ZoneInfo(name)
            await set_time_zone(ws, name)
            assert (await client.async_ok("GET", "/api/config"))["time_zone"] == name
            for change in daylight_saving_changes(zone, datetime.now(zone).date()):
                await check_back_dated_records(client, machine, zone, change)
            await check_due_across(client, machine, zone)
        await set_descale_interval(client, machine, 60)
    finally:
        await client.async_close()


async def check_back_dated_records(
    client: Client, machine: Machine, zone: zoneinfo.ZoneInfo, change: date
) -> None:
    """Record at 23:30 the evening before a change; check, then undo both records."""
    evening = change - timedelta(days=1)
    done = datetime.combine(evening, EVENING, tzinfo=zone)
    local_text = f"{evening.isoformat()} 23:30"
    before = await client.async_status(machine)
    # The counter is set rather than shots recorded: no water is counted, so the
    # next descale is the interval's day, which is what is checked here.
    await act(client, "set_shots_since_backflush", {**machine.target, "shots": 3})
    await act(client, "record_descale", {**machine.target, "performed_at": local_text})
    await act(
        client, "record_backflush", {**machine.target, "performed_at": local_text}
    )
    status = await client.async_status(machine)
    today = datetime.now(zone).date()
    where = f"{zone.key}, change on {change}: {status}"
    # The naive local time is read in the zone as it was then, not as it is now.
    assert status["last_descale"] == utc_text(done), where
    assert status["last_backflush"] == utc_text(done), where
    assert status["days_since_descale"] == (today - evening).days, where
    assert status["days_since_backflush"] == (today - evening).days, where
    assert status["next_descale"] == midnight(
        evening + timedelta(days=status["descale_interval_days"]), zone
    ), where
    for _ in range(2):
        await act(client, "undo_last_record", machine.target)
    after = await client.async_status(machine)
    assert after["last_descale"] == before["last_descale"], where
    assert after["last_backflush"] == before["last_backflush"], where


async def check_due_across(
    client: Client, machine: Machine, zone: zoneinfo.ZoneInfo
) -> None:
    """Check a descale becomes due on the right local day across the latest change."""
    today = datetime.now(zone).date()
    change = daylight_saving_changes(zone, today, count=1)[0]
    evening = change - timedelta(days=1)
    days = (today - evening).days
    local_text = f"{evening.isoformat()} 23:30"
    for interval, due in ((days, True), (days + 1, False)):
        await set_descale_interval(client, machine, interval)
        await act(
            client, "record_descale", {**machine.target, "performed_at": local_text}
        )
        status = await client.async_status(machine)
        where = f"{zone.key}, interval {interval}: {status}"
        assert status["descale_due"] is due, where
        assert (status["descale_status"] == "due") is due, where
        assert status["next_descale"] == midnight(
            evening + timedelta(days=interval), zone
        ), where
        await act(client, "undo_last_record", machine.target)


def _posix_offset(seconds: int) -> str:
    """Write a UTC offset the POSIX way (west of Greenwich is positive)."""
    west = -seconds
    sign = "-" if west < 0 else ""
    west = abs(west)
    return f"{sign}{west // 3600}:{west % 3600 // 60:02d}:{west % 60:02d}"


def tzif(offsets: list[int], changes: list[int]) -> bytes:
    """Build a TZif (RFC 8536, version 2) zone.

    `offsets` are UTC offsets in seconds; the zone starts on the first and
    switches to the next one at each Unix time in `changes`.
    """
    names = b"".join(f"E2E{index}\0".encode() for index in range(len(offsets)))

    def header(timecnt: int, typecnt: int, charcnt: int) -> bytes:
        return (
            b"TZif2"
            + bytes(15)
            + struct.pack(">6l", 0, 0, 0, timecnt, typecnt, charcnt)
        )

    version_1 = header(0, 1, 5) + struct.pack(">lBB", offsets[0], 0, 0) + b"E2E0\0"
    version_2 = (
        header(len(changes), len(offsets), len(names))
        + b"".join(struct.pack(">q", moment) for moment in changes)
        + bytes(range(1, len(changes) + 1))
        + b"".join(
            struct.pack(">lBB", offset, 0, index * 5)
            for index, offset in enumerate(offsets)
        )
        + names
    )
    footer = f"\n<E2E>{_posix_offset(offsets[-1])}\n".encode()
    return version_1 + version_2 + footer


class ZoneFolder:
    """Writes time zones into a folder Home Assistant reads zones from."""

    def __init__(self, folder: Path) -> None:
        """Create the folder."""
        self.folder = folder
        (folder / "E2E").mkdir(parents=True)
        self.count = 0

    @property
    def env(self) -> dict[str, str]:
        """Return the environment that adds the folder to the zone search path."""
        return {"PYTHONTZPATH": os.pathsep.join([str(self.folder), *zoneinfo.TZPATH])}

    def add(self, offsets: list[int], changes: list[int]) -> zoneinfo.ZoneInfo:
        """Write a new zone under a fresh name (zones are cached by name)."""
        self.count += 1
        key = f"E2E/Zone{self.count}"
        data = tzif(offsets, changes)
        (self.folder / key).write_bytes(data)
        return zoneinfo.ZoneInfo.from_file(io.BytesIO(data), key=key)

    def midnight_in(
        self, seconds: float, *, jump: int = 0
    ) -> tuple[zoneinfo.ZoneInfo, int]:
        """Add a zone whose local midnight comes in about `seconds`; return it and when.

        With `jump`, the clocks go forward that many seconds at that midnight.
        """
        moment = int(datetime.now(UTC).timestamp() + seconds)
        offset = -moment % 86400
        if offset > 43200:
            offset -= 86400
        if jump:
            return self.add([offset, offset + jump], [moment]), moment
        return self.add([offset], []), moment


async def wait_for_rollover(
    client: Client,
    machine: Machine,
    events: asyncio.Queue[dict[str, Any]],
    moment: int,
    *,
    days_before: int,
) -> dict[str, Any]:
    """Wait for the machine's descale due event at a midnight; check when it came."""
    status = await client.async_status(machine)
    assert datetime.now(UTC).timestamp() < moment, "too slow to check before midnight"
    assert status["days_since_descale"] == days_before, status
    assert status["descale_status"] == "due_soon", status
    event = await next_event(events, seconds=LEAD + 30)
    fired = datetime.fromisoformat(event["time_fired"]).timestamp()
    assert event["data"]["type"] == "descale_due", event
    assert event["data"]["days_since_descale"] == days_before + 1, event
    # At that midnight: not before it, and not at some other time.
    assert moment - 0.05 <= fired <= moment + 3, (fired - moment, event)
    status = await client.async_status(machine)
    assert status["days_since_descale"] == days_before + 1, status
    assert status["descale_due"] is True, status
    return status


@pytest.mark.timeout(180)
async def test_rollover_follows_a_runtime_time_zone_change(
    hass_factory: Callable[..., HassProcess], tmp_path: Path
) -> None:
    """After a time zone change the rollover, and its due event, come at the new midnight."""
    zones = ZoneFolder(tmp_path / "zones")
    _hass, client = await async_start_onboarded(hass_factory, env=zones.env)
    try:
        machine = await client.async_add_machine("Gaggia")
        ws = await client.async_websocket()
        events = await ws.async_subscribe()

        # Far: midnight in ten minutes. Near: midnight in a few seconds.
        far, _ = zones.midnight_in(600)
        near, moment = zones.midnight_in(LEAD)
        await set_time_zone(ws, far.key)
        # Descaled 59 days before today (the same date in both zones), so the
        # descale is due from the coming midnight. The record is the machine's
        # last change, so its rollover is planned for Far's midnight.
        today = datetime.fromtimestamp(moment - 1, UTC).astimezone(near).date()
        descaled = datetime.combine(today - timedelta(days=59), time(8), tzinfo=near)
        await act(
            client,
            "record_descale",
            {**machine.target, "performed_at": utc_text(descaled)},
        )
        assert (await next_event(events))["data"]["type"] == "descale_recorded"
        assert (await client.async_status(machine))["days_since_descale"] == 59

        # Switching to Near alone must re-plan the rollover for Near's midnight.
        await set_time_zone(ws, near.key)
        status = await wait_for_rollover(
            client, machine, events, moment, days_before=59
        )
        assert status["next_descale"] == midnight(today + timedelta(days=1), near)
        await act(client, "undo_last_record", machine.target)
        assert (await next_event(events))["data"]["type"] == "record_undone"

        # Clocks go forward an hour at midnight: the new day starts at the jump.
        jump, moment = zones.midnight_in(LEAD, jump=3600)
        today = datetime.fromtimestamp(moment - 1, UTC).astimezone(jump).date()
        assert datetime.fromtimestamp(moment, UTC).astimezone(jump).time() == time(1)
        await set_time_zone(ws, jump.key)
        descaled = datetime.combine(today - timedelta(days=59), time(8), tzinfo=jump)
        await act(
            client,
            "record_descale",
            {**machine.target, "performed_at": utc_text(descaled)},
        )
        assert (await next_event(events))["data"]["type"] == "descale_recorded"
        status = await wait_for_rollover(
            client, machine, events, moment, days_before=59
        )
        # The next descale is that midnight, which began at the jump.
        assert status["next_descale"] == midnight(today + timedelta(days=1), jump)
        assert status["next_descale"] == utc_text(datetime.fromtimestamp(moment, UTC))
    finally:
        await client.async_close()
