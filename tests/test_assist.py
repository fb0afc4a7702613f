"""Tests for the voice intents, through the real default conversation agent."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.homeassistant.exposed_entities import (
    async_expose_entity,
)
from homeassistant.core import Context, HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er, intent, llm
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.espresso_maintenance.assist import HANDLERS
from custom_components.espresso_maintenance.const import DOMAIN
from custom_components.espresso_maintenance.language import LANGUAGES

from .conftest import NOW, second_machine

pytestmark = pytest.mark.freeze_time(NOW)


@pytest.fixture
async def conversation(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Load the default conversation agent next to a machine called Gaggia."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})


async def ask(hass: HomeAssistant, text: str, language: str = "en") -> str:
    """Ask the default agent; return its plain speech."""
    response: dict[str, Any] = await hass.services.async_call(
        "conversation",
        "process",
        {"text": text, "language": language, "agent_id": "conversation.home_assistant"},
        blocking=True,
        return_response=True,
    )
    return str(response["response"]["speech"]["plain"]["speech"])


# Per language: (sentence, a part of the answer), each intent once without and
# once with the machine's name. The Gaggia has 8 shots since its backflush (due
# after 14), 49 days since its descale (due after 60) and a descale due soon.
CASES: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("how many shots since the last backflush", "Gaggia: 8 shots since the last backflush; a backflush is due after 14."),
        ("how many shots has the Gaggia pulled since it was backflushed", "8 shots since the last backflush"),
        ("does the espresso machine need descaling", "Gaggia: 49 days since the last descale; the next one is due in 11 days."),
        ("when should I descale the Gaggia", "the next one is due in 11 days"),
        ("is my espresso machine due for maintenance", "Gaggia: a descale is due soon."),
        ("does the Gaggia need maintenance", "a descale is due soon"),
        ("I just descaled the espresso machine", "Recorded a descale for Gaggia."),
        ("I backflushed the Gaggia", "Recorded a backflush for Gaggia."),
    ],
    "de": [
        ("wie viele Shots seit dem letzten Rückspülen", "Gaggia: 8 Shots seit dem letzten Rückspülen; Rückspülen ist nach 14 fällig."),
        ("wie viele Shots hat die Gaggia seit dem letzten Rückspülen gemacht", "8 Shots seit dem letzten Rückspülen"),
        ("muss die Espressomaschine entkalkt werden", "Gaggia: 49 Tage seit dem letzten Entkalken; das nächste ist in 11 Tagen fällig."),
        ("wann soll ich die Gaggia entkalken", "in 11 Tagen"),
        ("braucht meine Espressomaschine eine Wartung", "Gaggia: Entkalken ist bald fällig."),
        ("braucht die Gaggia eine Wartung", "Entkalken ist bald fällig"),
        ("ich habe gerade die Espressomaschine entkalkt", "Entkalken für Gaggia eingetragen."),
        ("ich habe die Gaggia rückgespült", "Rückspülen für Gaggia eingetragen."),
    ],
    "it": [
        ("quanti caffè dall'ultimo controlavaggio", "Gaggia: 8 caffè dall'ultimo controlavaggio; il controlavaggio va fatto dopo 14."),
        ("quanti caffè ha fatto la Gaggia dall'ultimo controlavaggio", "8 caffè dall'ultimo controlavaggio"),
        ("quando devo decalcificare la macchina del caffè", "Gaggia: 49 giorni dall'ultima decalcificazione; la prossima va fatta tra 11 giorni."),
        ("quando devo decalcificare la Gaggia", "tra 11 giorni"),
        ("la mia macchina del caffè ha bisogno di manutenzione", "Gaggia: la decalcificazione è da fare a breve."),
        ("la Gaggia ha bisogno di manutenzione", "da fare a breve"),
        ("ho appena decalcificato la macchina del caffè", "Decalcificazione registrata per Gaggia."),
        ("ho fatto il controlavaggio alla Gaggia", "Controlavaggio registrato per Gaggia."),
    ],
    "fr": [
        ("combien d'expressos depuis le dernier rinçage inversé", "Gaggia : 8 expressos depuis le dernier rinçage inversé ; il faut en faire un après 14."),
        ("combien d'expressos avec la Gaggia depuis le dernier rinçage inversé", "8 expressos depuis le dernier rinçage inversé"),
        ("quand dois-je détartrer la machine à expresso", "Gaggia : 49 jours depuis le dernier détartrage ; le prochain est dans 11 jours."),
        ("quand dois-je détartrer la Gaggia", "dans 11 jours"),
        ("ma machine à café a-t-elle besoin d'entretien", "Gaggia : un détartrage est à faire bientôt."),
        ("faut-il entretenir la Gaggia", "à faire bientôt"),
        ("j'ai détartré la machine à expresso", "Détartrage enregistré pour Gaggia."),
        ("j'ai fait le rinçage inversé de la Gaggia", "Rinçage inversé enregistré pour Gaggia."),
    ],
    "nl": [
        ("hoeveel shots sinds de laatste terugspoeling", "Gaggia: 8 shots sinds de laatste terugspoeling; terugspoelen moet na 14."),
        ("hoeveel shots heeft de Gaggia gezet sinds de laatste terugspoeling", "8 shots sinds de laatste terugspoeling"),
        ("moet de espressomachine ontkalkt worden", "Gaggia: 49 dagen sinds de laatste ontkalking; de volgende is over 11 dagen."),
        ("wanneer moet ik de Gaggia ontkalken", "over 11 dagen"),
        ("heeft mijn espressomachine onderhoud nodig", "Gaggia: ontkalken is binnenkort nodig."),
        ("heeft de Gaggia onderhoud nodig", "binnenkort nodig"),
        ("ik heb net de espressomachine ontkalkt", "Ontkalking vastgelegd voor Gaggia."),
        ("ik heb de Gaggia teruggespoeld", "Terugspoeling vastgelegd voor Gaggia."),
    ],
    "es": [
        ("cuántos cafés desde el último retrolavado", "Gaggia: 8 cafés desde el último retrolavado; toca retrolavado después de 14."),
        ("cuántos cafés ha hecho la Gaggia desde el último retrolavado", "8 cafés desde el último retrolavado"),
        ("cuándo debo descalcificar la cafetera", "Gaggia: 49 días desde la última descalcificación; la próxima toca dentro de 11 días."),
        ("cuándo debo descalcificar la Gaggia", "dentro de 11 días"),
        ("necesita mi cafetera mantenimiento", "Gaggia: la descalcificación está pendiente pronto."),
        ("necesita la Gaggia mantenimiento", "pendiente pronto"),
        ("he descalcificado la cafetera", "Descalcificación registrada para Gaggia."),
        ("he hecho el retrolavado de la Gaggia", "Retrolavado registrado para Gaggia."),
    ],
}  # fmt: skip


def test_every_language_is_tested() -> None:
    """The table covers every supported language."""
    assert set(CASES) == set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_sentences(
    hass: HomeAssistant,
    conversation: None,
    init_integration: MockConfigEntry,
    language: str,
) -> None:
    """Each intent answers with and without the machine's name, in each language."""
    hass.config.language = language
    for sentence, answer in CASES[language]:
        assert answer in await ask(hass, sentence, language), sentence
    # The two records went through the machine.
    machine = init_integration.runtime_data
    assert [record.kind.value for record in machine.state.history] == [
        "descale",
        "backflush",
    ]
    assert hass.states.get("sensor.gaggia_shots_since_backflush").state == "0"


async def test_several_machines(
    hass: HomeAssistant,
    conversation: None,
    init_integration: MockConfigEntry,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """Unnamed questions answer for each machine; unnamed records ask which."""
    lelit = await second_machine(hass, entry_data, entry_options)
    answer = await ask(hass, "how many shots since the last backflush")
    assert answer.startswith("Gaggia: 8 shots")
    assert "Lelit Bianca: 8 shots" in answer
    assert (
        await ask(hass, "I backflushed")
        == "Which espresso machine: Gaggia and Lelit Bianca?"
    )
    assert lelit.runtime_data.state.history == ()
    # A part of the name is enough.
    assert (
        await ask(hass, "I backflushed the Lelit")
        == "Recorded a backflush for Lelit Bianca."
    )
    assert await ask(hass, "does the Rancilio need maintenance") == (
        "I don't know an espresso machine called Rancilio."
    )


async def test_answers_for_each_state(
    hass: HomeAssistant,
    conversation: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Due, due soon, up to date, one shot and one day answers."""
    target = {"entity_id": "sensor.gaggia_total_shots"}

    async def move_to(moment: str) -> None:
        freezer.move_to(moment)
        async_fire_time_changed(hass)
        await hass.async_block_till_done()

    async def call(service: str, **data: Any) -> None:
        await hass.services.async_call(
            DOMAIN, service, {**target, **data}, blocking=True
        )

    # The counter is set rather than shots recorded: no water is counted, so the
    # descale follows the days, as at the typed use.
    await call("set_shots_since_backflush", shots=14)
    assert await ask(hass, "how many shots since the last backflush") == (
        "Gaggia: 14 shots since the last backflush; a backflush is due now."
    )
    assert await ask(hass, "is any maintenance due") == "Gaggia: a backflush is due."
    await call("record_backflush")
    await call("set_shots_since_backflush", shots=1)
    assert await ask(hass, "how many shots since the last backflush") == (
        "Gaggia: 1 shot since the last backflush; a backflush is due after 14."
    )
    await move_to("2026-12-07T12:00:00+00:00")
    assert await ask(hass, "when should I descale") == (
        "Gaggia: 58 days since the last descale; the next one is due in 2 days."
    )
    await move_to("2026-12-08T12:00:00+00:00")
    assert await ask(hass, "when should I descale") == (
        "Gaggia: 59 days since the last descale; the next one is due tomorrow."
    )
    await move_to("2026-12-10T12:00:00+00:00")
    await call("set_shots_since_backflush", shots=12)
    assert await ask(hass, "when should I descale") == (
        "Gaggia: 61 days since the last descale; a descale is due now."
    )
    assert await ask(hass, "is any maintenance due") == (
        "Gaggia: a backflush and a descale are due."
    )
    await call("record_backflush")
    await call("record_descale")
    assert await ask(hass, "is any maintenance due") == (
        "Gaggia: all maintenance is up to date."
    )


async def test_untracked_and_unknown(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entry_data: dict[str, Any],
    time_zone: str,
) -> None:
    """A machine without valve or descale tracking, and no machine at all."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(hass, DOMAIN, {})
    assert await ask(hass, "is any maintenance due") == "No espresso machine is set up."
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**entry_data, "three_way_valve": False, "last_descale": None},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert await ask(hass, "how many shots since the last backflush") == (
        "Gaggia has no three-way valve, so it is not backflushed."
    )
    assert await ask(hass, "I backflushed") == (
        "Gaggia has no three-way valve, so it is not backflushed."
    )
    assert await ask(hass, "when should I descale") == (
        "Gaggia: I don't know when it was last descaled. Tell me when you next descale it."
    )
    hass.config_entries.async_update_entry(
        mock_config_entry, options={**mock_config_entry.options, "track_descale": False}
    )
    await hass.async_block_till_done()
    assert (
        await ask(hass, "when should I descale") == "Gaggia: descaling is not tracked."
    )
    assert await ask(hass, "I descaled") == "Gaggia: descaling is not tracked."


async def test_llm_tools(hass: HomeAssistant, conversation: None) -> None:
    """LLM agents get the intents as tools, with descriptions and a machine slot."""
    registered = {handler.intent_type: handler for handler in intent.async_get(hass)}
    for handler_class in HANDLERS:
        handler = registered[handler_class.intent_type]
        assert handler.description
        assert handler.slot_schema is not None
    # The harness's LLMContext fields differ between versions: fill the ones it has.
    values = {
        "platform": "test",
        "context": Context(),
        "user_prompt": None,
        "language": "en",
        "assistant": "conversation",
        "device_id": None,
    }
    fields = {field.name for field in dataclasses.fields(llm.LLMContext)}
    llm_context = llm.LLMContext(**{k: v for k, v in values.items() if k in fields})
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, llm_context)
    # Home Assistant 2026 prefixes each tool with the integration's domain.
    tools = {tool.name.rsplit("__", 1)[-1]: tool for tool in api.tools}
    tool = tools["EspressoShotsSinceBackflush"]
    assert "backflushed" in (tool.description or "")
    called = await api.async_call_tool(
        llm.ToolInput(tool_name=tool.name, tool_args={"machine": "Gaggia"})
    )
    # Home Assistant 2026 wraps the intent's answer in a ToolResult.
    result = getattr(called, "data", called)
    assert result["speech"]["plain"]["speech"] == (
        "Gaggia: 8 shots since the last backflush; a backflush is due after 14."
    )
    assert result["speech_slots"]["machines"][0]["shots_since_backflush"] == 8


async def test_sentence_files(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The sentences are written for every language and removed with the last machine."""
    paths = [
        hass.config.path("custom_sentences", language, "espresso_maintenance.yaml")
        for language in LANGUAGES
    ]
    for path in paths:
        content = await hass.async_add_executor_job(Path(path).read_text)
        assert "EspressoRecordDescale" in content
        assert "speech:" not in content
    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    exists = await hass.async_add_executor_job(
        lambda: [Path(path).exists() for path in paths]
    )
    assert exists == [False] * len(LANGUAGES)


async def test_sentences_kept_while_a_machine_remains(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """Removing one of two machines keeps the sentences."""
    lelit = await second_machine(hass, entry_data, entry_options)
    await hass.config_entries.async_remove(lelit.entry_id)
    await hass.async_block_till_done()
    path = Path(hass.config.path("custom_sentences", "en", "espresso_maintenance.yaml"))
    assert await hass.async_add_executor_job(path.exists)


async def test_unwritable_config_dir(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without the sentences the machines still work; the reason is logged."""
    hass.config.config_dir = "/proc/espresso"
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert "Could not write the voice sentences" in caplog.text
    assert hass.states.get("sensor.gaggia_total_shots").state == "8"


async def test_failing_conversation_reload(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A conversation reload that fails is logged and the machines still load."""

    async def reload(call: ServiceCall) -> None:
        raise HomeAssistantError("configuration.yaml has an error")

    hass.services.async_register("conversation", "reload", reload)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert "Could not reload the conversation agent" in caplog.text
    assert hass.states.get("sensor.gaggia_total_shots").state == "8"


async def test_llm_tools_follow_exposure(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The LLM platform offers the tools only while a machine is exposed."""
    if importlib.util.find_spec("homeassistant.components.llm") is None:
        pytest.skip("this Home Assistant offers every intent without an llm platform")
    llm_platform = importlib.import_module(f"custom_components.{DOMAIN}.llm")
    assert await async_setup_component(hass, "homeassistant", {})

    def tool_names(assistant: str | None, api_id: str = llm.LLM_API_ASSIST) -> set[str]:
        context = MagicMock(assistant=assistant)
        result = llm_platform.async_get_tools(hass, context, api_id)
        return set() if result is None else {tool.name for tool in result.tools}

    expected = {f"{DOMAIN}__{handler.intent_type}" for handler in HANDLERS}
    assert tool_names(None) == expected
    # The to-do list is exposed to Assist by default.
    assert tool_names("conversation") == expected
    assert tool_names(None, api_id="other") == set()
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(
        registry, init_integration.entry_id
    ):
        async_expose_entity(hass, "conversation", entity.entity_id, False)
    assert tool_names("conversation") == set()
    await hass.config_entries.async_unload(init_integration.entry_id)
    assert tool_names(None) == set()
