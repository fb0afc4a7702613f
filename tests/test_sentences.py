"""Tests for the sentence files: the grammar with the machines' names as a closed list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.const import CONF_NAME, EVENT_CALL_SERVICE
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
import yaml

from custom_components.espresso_maintenance.const import (
    CONF_MACHINE_TYPE,
    CONF_THREE_WAY_VALVE,
    DOMAIN,
)
from custom_components.espresso_maintenance.language import LANGUAGES
from custom_components.espresso_maintenance.sentences import (
    WORD,
    machine_values,
    spoken_name,
)

from .common import ask
from .conftest import NOW, second_machine

pytestmark = pytest.mark.freeze_time(NOW)

ENGLISH_WORDS = {
    "articles": ["the", "my"],
    "generic_names": ["espresso machine", "machine", "espresso"],
}


@pytest.mark.parametrize(
    ("name", "language", "template"),
    [
        ("Gaggia", "en", "gaggia"),
        # Template characters only separate words: no optional part, no
        # alternative, no list or rule reference can come from a name.
        (
            "Rancilio (Silvia) [v6] {x} | <y>",
            "en",
            "rancilio silvia (v6|v 6|v six) x y",
        ),
        ("La Pavoni Europiccola 2", "en", "la pavoni europiccola (2|two)"),
        ("La Pavoni Europiccola 2", "de", "la pavoni europiccola (2|zwei)"),
        ("Café Crème", "fr", "(café|cafe) (crème|creme)"),
        ("ECM Synchronika!", "en", "(ecm|e c m) synchronika"),
        ("Mike's Bezzera-Duo", "en", "(mike's|mikes) (bezzera-duo|bezzera duo)"),
        ("Mike\u2019s", "en", "(mike's|mikes)"),
        ("@home #1", "en", "home (1|one)"),
    ],
)
def test_spoken_name(name: str, language: str, template: str) -> None:
    """A name becomes the ways speech-to-text writes it, and nothing more."""
    assert spoken_name(WORD.findall(name), language) == template


def test_machine_values() -> None:
    """Full names, and single words of longer names that no other machine claims."""
    names = {
        "gaggia": ["Gaggia"],
        "classic": ["Gaggia Classic", "Kitchen Classic"],
        "lelit": ["Lelit Bianca"],
        "mara": ["Lelit Mara X"],
        "cup": ["☕"],
        "twin": ["Twin", "The Espresso Machine"],
        "other_twin": ["twin"],
    }
    assert machine_values(names, "en", ENGLISH_WORDS) == [
        {"in": "bianca", "out": "lelit"},
        {"in": "classic", "out": "classic"},
        {"in": "gaggia", "out": "gaggia"},
        {"in": "gaggia classic", "out": "classic"},
        {"in": "kitchen", "out": "classic"},
        {"in": "kitchen classic", "out": "classic"},
        {"in": "lelit bianca", "out": "lelit"},
        {"in": "lelit mara x", "out": "mara"},
        {"in": "mara", "out": "mara"},
        {"in": "the espresso machine", "out": "twin"},
    ]


def _read(path: Path) -> dict[str, Any]:
    content: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return content


def _paths(hass: HomeAssistant) -> list[Path]:
    return [
        Path(
            hass.config.path("custom_sentences", language, "espresso_maintenance.yaml")
        )
        for language in LANGUAGES
    ]


async def test_sentence_files(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """Every language gets the grammar and the names; the last machine takes them."""
    for path in _paths(hass):
        content = await hass.async_add_executor_job(_read, path)
        assert set(content) == {"language", "intents", "lists", "expansion_rules"}
        assert content["lists"]["espresso_machine"] == {
            "values": [{"in": "gaggia", "out": init_integration.entry_id}]
        }
        assert "wildcard" not in path.read_text(encoding="utf-8")
        # Every name Home Assistant's own sentences could use is left alone.
        names = [*content["lists"], *content["expansion_rules"]]
        assert all(name.startswith("espresso_") for name in names)
    lelit = await second_machine(hass, entry_data, entry_options)
    await hass.config_entries.async_remove(lelit.entry_id)
    await hass.async_block_till_done()
    exists = await hass.async_add_executor_job(
        lambda: [path.exists() for path in _paths(hass)]
    )
    assert exists == [True] * len(LANGUAGES)
    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    exists = await hass.async_add_executor_job(
        lambda: [path.exists() for path in _paths(hass)]
    )
    assert exists == [False] * len(LANGUAGES)


@pytest.fixture
async def agent(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Load the default conversation agent next to the Gaggia."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})


async def test_names_match_only_themselves(
    hass: HomeAssistant,
    agent: None,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """Names with template characters, digits, accents and punctuation."""
    for name in (
        "Rancilio (Silvia) [v6] {x} | <y>",
        "La Pavoni Europiccola 2",
        "Café Crème",
        "ECM Synchronika!",
    ):
        await second_machine(hass, entry_data, entry_options, name=name)
    for sentence, machine in (
        ("when was the Rancilio Silvia v6 x y last descaled", "Rancilio"),
        ("when was the rancilio silvia v six x y last descaled", "Rancilio"),
        ("when was the La Pavoni Europiccola 2 last descaled", "La Pavoni"),
        ("when was the la pavoni europiccola two last descaled", "La Pavoni"),
        ("when was the Café Crème last descaled", "Café Crème"),
        ("when was the cafe creme last descaled", "Café Crème"),
        ("when was the ECM Synchronika last descaled", "ECM"),
        ("when was the e c m synchronika last descaled", "ECM"),
        ("when was the Crème last descaled", "Café Crème"),
        ("when was the Synchronika last descaled", "ECM"),
        ("when was the Gaggia last descaled", "Gaggia"),
    ):
        answer = await ask(hass, sentence)
        assert answer.startswith(machine), sentence
        assert answer.endswith("was last descaled on 10 October."), sentence
    # What the names would match if their characters were read as a template.
    for sentence in (
        "when was the rancilio silvia x y last descaled",
        "when was the rancilio silvia v6 x last descaled",
        "when was the y last descaled",
        "when was the la pavoni europiccola last descaled",
        "when was the café crème x last descaled",
        "when was the ECM Synchronika! x last descaled",
    ):
        assert "was last descaled" not in await ask(hass, sentence), sentence


async def _reconfigure(hass: HomeAssistant, entry: MockConfigEntry, name: str) -> None:
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_NAME: name,
            CONF_MACHINE_TYPE: entry.data[CONF_MACHINE_TYPE],
            CONF_THREE_WAY_VALVE: entry.data[CONF_THREE_WAY_VALVE],
        },
    )
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()


async def test_renamed_added_removed_without_restart(
    hass: HomeAssistant,
    agent: None,
    init_integration: MockConfigEntry,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """What is understood follows the machines; the agent reloads only on a change."""
    reloads = async_capture_events(hass, EVENT_CALL_SERVICE)

    def reloaded() -> int:
        # One call, or one per language where all cannot be reloaded at once.
        count = sum(
            event.data["domain"] == "conversation" and event.data["service"] == "reload"
            for event in reloads
        )
        reloads.clear()
        return count

    question = "how many shots has the {} pulled since the last backflush"
    understood = "8 shots since the last backflush"
    await _reconfigure(hass, init_integration, "Rocket Appartamento")
    assert reloaded()
    assert understood in await ask(hass, question.format("Rocket Appartamento"))
    assert understood in await ask(hass, question.format("Appartamento"))
    assert understood not in await ask(hass, question.format("Gaggia"))
    # A new title for the entry (the integration page's Rename) is a name too.
    hass.config_entries.async_update_entry(init_integration, title="Bar Rocket")
    await hass.async_block_till_done()
    assert reloaded()
    assert understood in await ask(hass, question.format("Bar Rocket"))
    # Changing settings reloads the machine, but its names stay: no reload.
    hass.config_entries.async_update_entry(
        init_integration, options={**init_integration.options, "shots_per_day": 3.0}
    )
    await hass.async_block_till_done()
    assert not reloaded()
    # The device renamed by the user adds its name.
    devices = dr.async_get(hass)
    [device] = dr.async_entries_for_config_entry(devices, init_integration.entry_id)
    devices.async_update_device(device.id, name_by_user="Kitchen Espresso")
    await hass.async_block_till_done()
    assert reloaded()
    assert understood in await ask(hass, question.format("Kitchen Espresso"))
    devices.async_update_device(device.id, model="Other model")
    await hass.async_block_till_done()
    assert not reloaded()
    # Added, then removed.
    lelit = await second_machine(hass, entry_data, entry_options)
    assert reloaded()
    assert await ask(hass, question.format("Lelit Bianca")) == (
        "Lelit Bianca: 8 shots since the last backflush; a backflush is due after "
        "14 shots."
    )
    await hass.config_entries.async_remove(lelit.entry_id)
    await hass.async_block_till_done()
    assert reloaded()
    assert "Lelit" not in await ask(hass, question.format("Lelit Bianca"))


async def test_no_rewrite_while_stopping_or_for_others(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """Other integrations' entries, and changes while stopping, leave the files."""
    path = _paths(hass)[0]
    before = await hass.async_add_executor_job(path.read_text)
    await hass.config_entries.async_add(MockConfigEntry(domain="other", title="Lelit"))
    await hass.async_block_till_done()
    hass.set_state(CoreState.stopping)
    rocket = MockConfigEntry(
        domain=DOMAIN,
        title="Rocket",
        data={**entry_data, CONF_NAME: "Rocket"},
        options=entry_options,
    )
    await hass.config_entries.async_add(rocket)
    await hass.async_block_till_done()
    hass.set_state(CoreState.running)
    assert await hass.async_add_executor_job(path.read_text) == before
