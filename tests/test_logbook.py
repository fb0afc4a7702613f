"""Tests for the logbook descriptions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.espresso_maintenance.const import DOMAIN, EVENT_NAME
from custom_components.espresso_maintenance.logbook import async_describe_events

from .conftest import NOW

pytestmark = pytest.mark.freeze_time(NOW)


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
    assert describer(hass)(event) == {"name": "Gaggia", "message": message}


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
    assert describe(event) == {"name": DOMAIN, "message": "descale due"}
