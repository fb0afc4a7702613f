"""Tests for the notify-when-due automation blueprint."""

from __future__ import annotations

from pathlib import Path
import shutil
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.espresso_maintenance.const import DOMAIN

from .conftest import NOW

pytestmark = [
    pytest.mark.freeze_time(NOW),
    # The daily reminder's time trigger stays scheduled until Home Assistant stops.
    pytest.mark.parametrize("expected_lingering_timers", [True]),
]

BLUEPRINT = (
    Path(__file__).parent.parent
    / "blueprints"
    / "automation"
    / "espresso_maintenance"
    / "notify_when_due.yaml"
)


@pytest.fixture
async def phone(hass: HomeAssistant, device_registry: dr.DeviceRegistry) -> str:
    """Register a Companion app phone called Pixel."""
    entry = MockConfigEntry(domain="mobile_app", title="Pixel")
    entry.add_to_hass(hass)
    device = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={("mobile_app", "pixel")},
        name="Pixel",
    )
    return device.id


async def use_blueprint(hass: HomeAssistant, inputs: dict[str, Any]) -> None:
    """Install the blueprint in the config dir and create an automation from it."""
    target = Path(hass.config.path("blueprints", "automation", "espresso_maintenance"))
    await hass.async_add_executor_job(lambda: target.mkdir(parents=True, exist_ok=True))
    await hass.async_add_executor_job(shutil.copy, BLUEPRINT, target)
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": "espresso_notify",
                "alias": "Espresso notify",
                "use_blueprint": {
                    "path": "espresso_maintenance/notify_when_due.yaml",
                    "input": inputs,
                },
            }
        },
    )
    await hass.async_block_till_done()
    state = hass.states.get("automation.espresso_notify")
    assert state is not None
    assert state.state == "on"


async def test_notifies_when_due_and_done_records(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    phone: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The due event notifies the phone with a Done button; Done records it."""
    machine = init_integration.runtime_data
    sent: list[ServiceCall] = async_mock_service(hass, "notify", "mobile_app_pixel")
    await use_blueprint(
        hass,
        {
            "machine": machine.device_id,
            "notify_device": phone,
            "reminder_time": "08:00:00",
        },
    )
    await hass.services.async_call(
        DOMAIN,
        "record_shot",
        {"device_id": machine.device_id, "count": 6},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert len(sent) == 1
    data = sent[0].data
    assert data["title"] == "Gaggia"
    assert data["message"] == "Time to backflush."
    action = data["data"]["actions"][0]
    assert action == {
        "action": f"ESPRESSO_DONE_BACKFLUSH_{machine.device_id}",
        "title": "Done",
    }

    # The daily reminder repeats while it is due (8:00 in Rome is 7:00 UTC).
    freezer.move_to("2026-11-29T07:00:00+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert [call.data["message"] for call in sent] == ["Time to backflush."] * 2

    hass.bus.async_fire("mobile_app_notification_action", {"action": action["action"]})
    await hass.async_block_till_done()
    assert hass.states.get("sensor.gaggia_shots_since_backflush").state == "0"
    assert [r.kind.value for r in machine.state.history] == ["backflush"]

    # Done: no reminder the next day; another phone's or machine's action does nothing.
    freezer.move_to("2026-11-30T07:00:00+00:00")
    async_fire_time_changed(hass)
    hass.bus.async_fire(
        "mobile_app_notification_action", {"action": "ESPRESSO_DONE_DESCALE_other"}
    )
    await hass.async_block_till_done()
    assert len(sent) == 2
    assert len(machine.state.history) == 1


async def test_notify_entity_and_no_repeat(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A notify entity gets the message; without repeat there is no daily reminder."""
    machine = init_integration.runtime_data
    sent: list[ServiceCall] = async_mock_service(hass, "notify", "send_message")
    await use_blueprint(
        hass,
        {
            "machine": machine.device_id,
            "notify_entity": ["notify.kitchen_display"],
            "repeat_daily": False,
        },
    )
    # Ten days later both the backflush (by days) and the descale become due.
    freezer.move_to("2026-12-08T23:00:00+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert sorted(call.data["message"] for call in sent) == [
        "Time to backflush.",
        "Time to descale.",
    ]
    assert sent[0].data["entity_id"] == ["notify.kitchen_display"]
    freezer.move_to("2026-12-09T07:00:00+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert len(sent) == 2
