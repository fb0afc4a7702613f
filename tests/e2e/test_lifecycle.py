"""End to end: add a machine, use it over REST and WebSocket, restart Home Assistant.

Runs against a real `python -m homeassistant` process; see harness.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.espresso_maintenance.const import DOMAIN

from .conftest import Instance
from .harness import (
    Client,
    Machine,
    WebSocket,
    async_restart,
    drain,
    next_event,
    read_durable,
    read_storage,
)

pytestmark = pytest.mark.e2e

ROME = ZoneInfo("Europe/Rome")

ENTITIES = {
    "binary_sensor.gaggia_backflush_due",
    "binary_sensor.gaggia_descale_due",
    "button.gaggia_record_backflush",
    "button.gaggia_record_descale",
    "button.gaggia_record_shot",
    "calendar.gaggia_maintenance_calendar",
    "event.gaggia_maintenance_event",
    "sensor.gaggia_backflush_status",
    "sensor.gaggia_days_since_backflush",
    "sensor.gaggia_days_since_descale",
    "sensor.gaggia_descale_status",
    "sensor.gaggia_last_backflush",
    "sensor.gaggia_last_descale",
    "sensor.gaggia_next_descale",
    "sensor.gaggia_scale_load",
    "sensor.gaggia_shots_since_backflush",
    "sensor.gaggia_shots_until_backflush",
    "sensor.gaggia_total_shots",
    "todo.gaggia_maintenance_to_do",
}


def today() -> date:
    """Return today's date in Home Assistant's time zone."""
    return datetime.now(ROME).date()


def utc_text(day: date, at: time) -> str:
    """Return a local Rome time as Home Assistant writes it: ISO format in UTC."""
    return datetime.combine(day, at, tzinfo=ROME).astimezone(UTC).isoformat()


async def press(client: Client, ws: WebSocket, button: str, *, over_ws: bool) -> None:
    """Press a button through the button.press action, over WebSocket or REST."""
    if over_ws:
        answer = await ws.async_call_service(
            "button", "press", {"entity_id": f"button.gaggia_{button}"}
        )
        assert answer["success"], answer
    else:
        status, body = await client.async_service(
            "press", {"entity_id": f"button.gaggia_{button}"}, domain="button"
        )
        assert status == 200, body


async def act(
    client: Client,
    ws: WebSocket,
    machine: Machine,
    action: str,
    data: dict[str, Any] | None = None,
    *,
    over_ws: bool,
) -> None:
    """Call one of our actions on the machine, over WebSocket or REST."""
    payload = {**machine.target, **(data or {})}
    if over_ws:
        answer = await ws.async_call_service(DOMAIN, action, payload)
        assert answer["success"], answer
    else:
        status, body = await client.async_service(action, payload)
        assert status == 200, body


async def snapshot(instance: Instance) -> dict[str, Any]:
    """Capture everything a restart must keep: status, diagnostics, states, file."""
    client, machine = instance.client, instance.machine
    states = await client.async_states(machine)
    return {
        "status": await client.async_status(machine),
        "diagnostics": await client.async_diagnostics(machine),
        "states": states,
        "storage": read_storage(instance.hass, machine)["data"],
    }


@pytest.mark.timeout(180)
async def test_buttons_actions_events_and_restart(instance: Instance) -> None:
    """Buttons and actions work over REST and WebSocket, and all of it survives a restart."""
    client, machine = instance.client, instance.machine
    states = await client.async_states(machine)
    assert set(states) == ENTITIES
    assert states["sensor.gaggia_total_shots"]["state"] == "0"
    assert states["sensor.gaggia_last_descale"]["state"] == "unknown"

    ws = await client.async_websocket()
    events = await ws.async_subscribe()

    # Shots: buttons and actions, over both transports.
    for over_ws in (False, False, False, True, True):
        await press(client, ws, "record_shot", over_ws=over_ws)
    await act(client, ws, machine, "record_shot", {"count": 4}, over_ws=False)
    assert await client.async_state("sensor.gaggia_shots_since_backflush") == "9"
    assert await client.async_state("sensor.gaggia_backflush_status") == "ok"
    await act(client, ws, machine, "record_shot", {"count": 3}, over_ws=True)
    assert await client.async_state("sensor.gaggia_backflush_status") == "due_soon"
    assert drain(events) == []
    await act(client, ws, machine, "record_shot", {"count": 2}, over_ws=True)
    event = await next_event(events)
    assert event["data"] == {
        "device_id": (await client.async_status(machine))["device_id"],
        "type": "backflush_due",
        "shots_since_backflush": 14,
        "days_since_backflush": None,
        "interval_shots": 14,
        "interval_days": 7,
    }
    assert await client.async_state("binary_sensor.gaggia_backflush_due") == "on"
    assert await client.async_state("sensor.gaggia_backflush_status") == "due"

    # Backflush with the button, back-date a descale, then take back an older record.
    await press(client, ws, "record_backflush", over_ws=True)
    event = await next_event(events)
    assert event["data"]["type"] == "backflush_recorded"
    assert event["data"]["shots_since_backflush"] == 14
    assert event["data"]["note"] is None
    assert await client.async_state("binary_sensor.gaggia_backflush_due") == "off"
    await act(client, ws, machine, "record_shot", {"count": 2}, over_ws=False)

    descaled = today() - timedelta(days=10)
    await act(
        client,
        ws,
        machine,
        "record_descale",
        {"performed_at": f"{descaled.isoformat()} 08:00", "note": "Citric acid"},
        over_ws=True,
    )
    event = await next_event(events)
    assert event["data"]["type"] == "descale_recorded"
    assert event["data"]["performed_at"] == utc_text(descaled, time(8))
    assert event["data"]["note"] == "Citric acid"
    assert await client.async_state("sensor.gaggia_days_since_descale") == "10"
    assert await client.async_state("sensor.gaggia_last_descale") == utc_text(
        descaled, time(8)
    )
    # Nothing was counted before today: the 9 days between count as typical
    # use (2 shots a day), and today's 16 shots as 8 days. 43 days to go.
    assert await client.async_state("sensor.gaggia_scale_load") == "28"
    assert await client.async_state("sensor.gaggia_next_descale") == utc_text(
        descaled + timedelta(days=53), time(0)
    )

    older = today() - timedelta(days=2)
    await act(
        client,
        ws,
        machine,
        "record_backflush",
        {"performed_at": older.isoformat(), "note": "Cafiza"},
        over_ws=False,
    )
    assert (await next_event(events))["data"]["type"] == "backflush_recorded"
    # Older than the last backflush: it only joins the history.
    assert await client.async_state("sensor.gaggia_shots_since_backflush") == "2"
    await act(client, ws, machine, "undo_last_record", over_ws=True)
    event = await next_event(events)
    assert event["data"]["type"] == "record_undone"
    assert event["data"]["kind"] == "backflush"
    assert event["data"]["note"] == "Cafiza"
    assert event["data"]["performed_at"] == utc_text(older, time(0))

    await act(
        client, ws, machine, "record_backflush", {"note": "Cafiza"}, over_ws=False
    )
    assert (await next_event(events))["data"]["type"] == "backflush_recorded"
    await act(client, ws, machine, "record_shot", {"count": 3}, over_ws=True)
    await act(
        client, ws, machine, "set_shots_since_backflush", {"shots": 4}, over_ws=False
    )
    assert drain(events) == []

    # The event entity shows the last event; REST and WebSocket agree on the status.
    states = await client.async_states(machine)
    assert states["event.gaggia_maintenance_event"]["attributes"]["event_type"] == (
        "backflush_recorded"
    )
    status = await client.async_status(machine)
    answer = await ws.async_call_service(
        DOMAIN, "get_status", machine.target, return_response=True
    )
    assert answer["result"]["response"] == {"machines": [status]}
    assert status | {"device_id": None} == {
        "device_id": None,
        "name": "Gaggia",
        "tracks_backflush": True,
        "tracks_descale": True,
        "shots_since_backflush": 4,
        "total_shots": 19,
        "shots_until_backflush": 10,
        "days_since_backflush": 0,
        "days_since_descale": 10,
        "last_backflush": status["last_backflush"],
        "last_descale": utc_text(descaled, time(8)),
        # 60 - 18.5 typical days to go from tomorrow on: 42 days.
        "next_descale": utc_text(today() + timedelta(days=42), time(0)),
        "backflush_status": "ok",
        "descale_status": "ok",
        "backflush_due": False,
        "descale_due": False,
        "backflush_interval_shots": 14,
        "backflush_interval_days": 7,
        "descale_interval_days": 60,
        "descale_min_days": 30,
        "descale_max_days": 90,
        "water_per_shot_ml": 100,
        "scale_load_percent": 30.8,
        "descale_days_left": 42,
        "descale_driver": "use",
        "descale_rate_measured": False,
        "water_per_day_ml": 200,
    }
    assert states["sensor.gaggia_total_shots"]["state"] == "19"
    diagnostics = await client.async_diagnostics(machine)
    assert diagnostics["history"]["records"] == 3
    assert [item["kind"] for item in diagnostics["history"]["latest"]] == [
        "descale",
        "backflush",
        "backflush",
    ]
    assert diagnostics["state"]["undo_steps"] == 3

    # The options flow changes a limit; the machine reloads and keeps its counters.
    await client.async_change_options(machine, {"backflush_interval_shots": 20})
    await ws.async_close()
    status = await client.async_status_when(
        machine, lambda status: status["backflush_interval_shots"] == 20
    )
    assert status["shots_until_backflush"] == 16
    assert status["total_shots"] == 19

    before = await snapshot(instance)
    await async_restart(instance.hass, client)
    after = await snapshot(instance)
    assert after == before

    # Still recording after the restart, on top of what was kept.
    ws = await client.async_websocket()
    await act(client, ws, machine, "record_shot", over_ws=True)
    assert await client.async_state("sensor.gaggia_total_shots") == "20"
    # Durable before the answer: the shot is in the journal beside the file.
    assert read_durable(instance.hass, machine)["total_shots"] == 20
