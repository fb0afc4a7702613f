"""Tests for the logbook descriptions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
import json
from pathlib import Path
from typing import Any

from homeassistant.components.recorder import Recorder
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.espresso_maintenance import logbook
from custom_components.espresso_maintenance.const import DOMAIN, EVENT_ICONS, EVENT_NAME
from custom_components.espresso_maintenance.logbook import async_describe_events


def describer(hass: HomeAssistant) -> Callable[[Event], dict[str, str]]:
    """Return the description callback the integration gives the logbook."""
    found: dict[tuple[str, str], Callable[[Event], dict[str, str]]] = {}
    async_describe_events(
        hass, lambda domain, event, describe: found.update({(domain, event): describe})
    )
    return found[(DOMAIN, EVENT_NAME)]


@pytest.mark.parametrize(
    ("language", "data", "message"),
    [
        (
            "en",
            {"type": "backflush_recorded", "note": "Cafiza"},
            "backflush recorded (note: Cafiza)",
        ),
        ("en", {"type": "descale_recorded", "note": None}, "descale recorded"),
        ("en", {"type": "backflush_due"}, "backflush due"),
        ("en", {"type": "descale_due"}, "descale due"),
        (
            "en",
            {"type": "record_undone", "kind": "descale", "note": None},
            "Descale record undone",
        ),
        (
            "de",
            {"type": "backflush_recorded", "note": "Cafiza"},
            "Rückspülen eingetragen (Notiz: Cafiza)",
        ),
        ("it", {"type": "descale_due"}, "decalcificazione da fare"),
        (
            "fr",
            {"type": "descale_recorded", "note": "Acide citrique"},
            "détartrage enregistré (note : Acide citrique)",
        ),
        ("nl", {"type": "backflush_due"}, "terugspoelen nodig"),
        ("es", {"type": "backflush_recorded"}, "retrolavado registrado"),
        (
            "en",
            {
                "type": "backflush_recorded",
                "note": None,
                "source": "binary_sensor.gaggia_pump",
            },
            "backflush recorded (source: binary_sensor.gaggia_pump)",
        ),
        (
            "de",
            {"type": "descale_recorded", "source": "sensor.micra_last_descale"},
            "Entkalken eingetragen (Quelle: sensor.micra_last_descale)",
        ),
        (
            "fr",
            {
                "type": "record_undone",
                "kind": "backflush",
                "note": None,
                "source": "binary_sensor.backflush_active",
            },
            "enregistrement annulé : Rinçage inversé (source : binary_sensor.backflush_active)",
        ),
    ],
)
async def test_descriptions(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    language: str,
    data: dict[str, Any],
    message: str,
) -> None:
    """Each event reads as "<machine> <what happened>", in Home Assistant's language."""
    hass.config.language = language
    device_id = init_integration.runtime_data.device_id
    event = Event(EVENT_NAME, {"device_id": device_id, **data})
    assert describer(hass)(event) == {
        "name": "Gaggia",
        "message": message,
        "icon": EVENT_ICONS[data["type"]],
        "entity_id": "event.gaggia_maintenance_event",
    }


async def test_renamed_and_removed_device(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """The user's name for the device wins; a removed device still describes."""
    device_id = init_integration.runtime_data.device_id
    device_registry.async_update_device(device_id, name_by_user="Kitchen Gaggia")
    describe = describer(hass)
    event = Event(EVENT_NAME, {"device_id": device_id, "type": "descale_due"})
    assert describe(event)["name"] == "Kitchen Gaggia"
    event = Event(EVENT_NAME, {"device_id": "gone", "type": "descale_due"})
    assert describe(event) == {
        "name": DOMAIN,
        "message": "descale due",
        "icon": "mdi:water-alert",
    }


def test_icons_are_the_event_entitys() -> None:
    """The logbook line has the icon the event entity shows for the same type."""
    icons = json.loads(
        (Path(logbook.__file__).parent / "icons.json").read_text(encoding="utf-8")
    )
    event_icons = icons["entity"]["event"]["maintenance"]["state_attributes"]
    assert event_icons["event_type"]["state"] == EVENT_ICONS


async def test_another_optional_field_is_shown(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A field added to DETAILS shows after the note, and only when the event has it."""
    monkeypatch.setattr(
        logbook,
        "DETAILS",
        (*logbook.DETAILS, ("origin", lambda texts, origin: f"from {origin}")),
    )
    device_id = init_integration.runtime_data.device_id
    describe = describer(hass)
    data = {"device_id": device_id, "type": "backflush_recorded", "note": "Cafiza"}
    assert describe(Event(EVENT_NAME, data | {"origin": "voice"}))["message"] == (
        "backflush recorded (note: Cafiza; from voice)"
    )
    assert describe(Event(EVENT_NAME, data | {"origin": None}))["message"] == (
        "backflush recorded (note: Cafiza)"
    )


async def test_one_record_in_the_real_logbook(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """Home Assistant's logbook shows the record as one linked line with icon and note.

    The other lines are state changes Home Assistant logs for any entity that is
    not a continuous sensor: the status, due and timestamp sensors, the to-do
    list, the calendar and the event entity. The counting sensors (with a unit
    or state class) stay out.
    """
    assert await async_setup_component(hass, "logbook", {})
    await hass.services.async_call(
        DOMAIN,
        "record_backflush",
        {"entity_id": "sensor.gaggia_total_shots", "note": "Cafiza"},
        blocking=True,
    )
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    client = await hass_ws_client()
    await client.send_json(
        {
            "id": 1,
            "type": "logbook/get_events",
            "start_time": (dt_util.utcnow() - timedelta(hours=1)).isoformat(),
        }
    )
    entries = (await client.receive_json())["result"]
    ours = [entry for entry in entries if entry.get("domain") == DOMAIN]
    recorded = [e for e in ours if e["message"].startswith("backflush recorded")]
    assert len(recorded) == 1
    assert recorded[0] | {"when": None} == {
        "name": "Gaggia",
        "message": "backflush recorded (note: Cafiza)",
        "icon": "mdi:coffee-maker-check",
        "entity_id": "event.gaggia_maintenance_event",
        "domain": DOMAIN,
        "when": None,
    }
    logged = {entry["entity_id"] for entry in entries if "state" in entry}
    assert not logged & {
        "sensor.gaggia_shots_since_backflush",
        "sensor.gaggia_days_since_backflush",
        "sensor.gaggia_total_shots",
    }


async def test_only_the_records_with_the_readme_exclusions(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """The README's logbook exclusions leave the record lines and drop the state lines."""
    assert await async_setup_component(
        hass,
        "logbook",
        {
            "logbook": {
                "exclude": {
                    "entity_globs": [
                        "sensor.gaggia_*_status",
                        "sensor.gaggia_last_*",
                        "sensor.gaggia_next_descale",
                        "binary_sensor.gaggia_*_due",
                        "todo.gaggia_maintenance*",
                        "calendar.gaggia_maintenance*",
                        "event.gaggia_maintenance*",
                    ]
                }
            }
        },
    )
    await hass.services.async_call(
        DOMAIN,
        "record_descale",
        {"entity_id": "sensor.gaggia_total_shots", "note": "Citric acid"},
        blocking=True,
    )
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    client = await hass_ws_client()
    await client.send_json(
        {
            "id": 1,
            "type": "logbook/get_events",
            "start_time": (dt_util.utcnow() - timedelta(hours=1)).isoformat(),
        }
    )
    entries = (await client.receive_json())["result"]
    assert [entry["message"] for entry in entries if entry.get("domain") == DOMAIN][
        -1
    ] == "descale recorded (note: Citric acid)"
    assert not [entry for entry in entries if "state" in entry]
