"""Tests for the voice intents, through the real default conversation agent."""

from __future__ import annotations

import dataclasses
import importlib
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
import voluptuous as vol

from custom_components.espresso_maintenance.assist import HANDLERS
from custom_components.espresso_maintenance.const import DOMAIN
from custom_components.espresso_maintenance.language import LANGUAGES

from .common import ask
from .conftest import NOW, second_machine

pytestmark = pytest.mark.freeze_time(NOW)


@pytest.fixture
async def conversation(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Load the default conversation agent next to a machine called Gaggia."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})


# Per language: (sentence, the whole answer), through every intent in order. The
# Gaggia has 8 shots since its backflush on Tuesday (due after 14, at 2 a day
# on Monday), its last descale was on 10 October (due after 60 days, in 11
# days) and a descale is due soon. Two shots are counted, a backflush and a
# descale recorded, both undone again.
CASES: dict[str, list[tuple[str, str]]] = {
    "en": [
        ('how many shots since the last backflush', 'Gaggia: 8 shots since the last backflush; a backflush is due after 14 shots.'),
        ('how many shots until the next backflush', 'Gaggia: 6 shots left before the next backflush, expected on Monday.'),
        ('when was the last backflush', 'Gaggia was last backflushed on Tuesday.'),
        ('when was the last descale', 'Gaggia was last descaled on 10 October.'),
        ('does the espresso machine need descaling', 'Gaggia: 49 days since the last descale; the next one is due in 11 days at your typical use.'),
        ('when is the next descale due', 'Gaggia: the next descale is due in 11 days at your typical use.'),
        ('is any maintenance due', 'Gaggia: a descale is due soon.'),
        ('count two shots', 'Counted 2 shots for Gaggia; 10 shots since the last backflush.'),
        ('I backflushed', 'Recorded a backflush for Gaggia.'),
        ('I descaled the Gaggia', 'Recorded a descale for Gaggia.'),
        ('undo the last record', 'Gaggia: the descale done today is undone.'),
        ('undo the last record', 'Gaggia: the backflush done today is undone.'),
        ('when was the last descale', 'Gaggia was last descaled on 10 October.'),
        ('how many shots until the next backflush', 'Gaggia: 4 shots left before the next backflush, expected tomorrow.'),
    ],
    "de": [
        ('wie viele Shots seit dem letzten Rückspülen', 'Gaggia: 8 Shots seit dem letzten Rückspülen; Rückspülen ist nach 14 Shots fällig.'),
        ('wie viele Shots bis zum nächsten Rückspülen', 'Gaggia: noch 6 Shots bis zum nächsten Rückspülen, voraussichtlich am Montag.'),
        ('wann war das letzte Rückspülen', 'Gaggia wurde zuletzt am Dienstag rückgespült.'),
        ('wann war das letzte Entkalken', 'Gaggia wurde zuletzt am 10. Oktober entkalkt.'),
        ('muss die Espressomaschine entkalkt werden', 'Gaggia: 49 Tage seit dem letzten Entkalken; das nächste ist in 11 Tagen fällig bei deiner typischen Nutzung.'),
        ('wann ist das nächste Entkalken fällig', 'Gaggia: Das nächste Entkalken ist in 11 Tagen fällig bei deiner typischen Nutzung.'),
        ('braucht die Maschine eine Wartung', 'Gaggia: Entkalken ist bald fällig.'),
        ('zwei Shots eintragen', '2 Shots für Gaggia gezählt; 10 Shots seit dem letzten Rückspülen.'),
        ('ich habe rückgespült', 'Rückspülen für Gaggia eingetragen.'),
        ('ich habe die Gaggia entkalkt', 'Entkalken für Gaggia eingetragen.'),
        ('mach den letzten Eintrag rückgängig', 'Gaggia: Das heute eingetragene Entkalken ist zurückgenommen.'),
        ('mach den letzten Eintrag rückgängig', 'Gaggia: Das heute eingetragene Rückspülen ist zurückgenommen.'),
        ('wann war das letzte Entkalken', 'Gaggia wurde zuletzt am 10. Oktober entkalkt.'),
        ('wie viele Shots bis zum nächsten Rückspülen', 'Gaggia: noch 4 Shots bis zum nächsten Rückspülen, voraussichtlich morgen.'),
    ],
    "it": [
        ("quanti caffè dall'ultimo controlavaggio", "Gaggia: 8 caffè dall'ultimo controlavaggio; il controlavaggio va fatto dopo 14 caffè."),
        ('quanti caffè mancano al prossimo controlavaggio', 'Gaggia: ancora 6 caffè prima del prossimo controlavaggio, previsto lunedì.'),
        ("quando è stato fatto l'ultimo controlavaggio", "Gaggia: l'ultimo controlavaggio è stato fatto martedì."),
        ("quando è stata fatta l'ultima decalcificazione", "Gaggia: l'ultima decalcificazione è stata fatta il 10 ottobre."),
        ('devo decalcificare la macchina del caffè', "Gaggia: 49 giorni dall'ultima decalcificazione; la prossima va fatta tra 11 giorni con l'uso abituale."),
        ('quando va fatta la prossima decalcificazione', "Gaggia: la prossima decalcificazione va fatta tra 11 giorni con l'uso abituale."),
        ('la macchina del caffè ha bisogno di manutenzione', 'Gaggia: la decalcificazione è da fare a breve.'),
        ('segna due caffè', "Ho contato 2 caffè per Gaggia; 10 caffè dall'ultimo controlavaggio."),
        ('ho fatto il controlavaggio', 'Controlavaggio registrato per Gaggia.'),
        ('ho decalcificato la Gaggia', 'Decalcificazione registrata per Gaggia.'),
        ("annulla l'ultima registrazione", 'Gaggia: ho annullato la decalcificazione fatta oggi.'),
        ("annulla l'ultima registrazione", 'Gaggia: ho annullato il controlavaggio fatto oggi.'),
        ("quando è stata fatta l'ultima decalcificazione", "Gaggia: l'ultima decalcificazione è stata fatta il 10 ottobre."),
        ('quanti caffè mancano al prossimo controlavaggio', 'Gaggia: ancora 4 caffè prima del prossimo controlavaggio, previsto domani.'),
    ],
    "fr": [
        ("combien d'expressos depuis le dernier rinçage inversé", 'Gaggia : 8 expressos depuis le dernier rinçage inversé ; il en faut un après 14 expressos.'),
        ("combien d'expressos avant le prochain rinçage inversé", 'Gaggia : encore 6 expressos avant le prochain rinçage inversé, prévu lundi.'),
        ('de quand date le dernier rinçage inversé', 'Gaggia : le dernier rinçage inversé a été fait mardi.'),
        ('de quand date le dernier détartrage', 'Gaggia : le dernier détartrage a été fait le 10 octobre.'),
        ('faut-il détartrer la machine à café', 'Gaggia : 49 jours depuis le dernier détartrage ; le prochain est prévu dans 11 jours à votre usage habituel.'),
        ('quand est prévu le prochain détartrage', 'Gaggia : le prochain détartrage est prévu dans 11 jours à votre usage habituel.'),
        ("la machine a-t-elle besoin d'entretien", 'Gaggia : un détartrage est à faire bientôt.'),
        ('compte deux expressos', "J'ai compté 2 expressos pour Gaggia ; 10 expressos depuis le dernier rinçage inversé."),
        ("j'ai fait le rinçage inversé", 'Rinçage inversé enregistré pour Gaggia.'),
        ("j'ai détartré la Gaggia", 'Détartrage enregistré pour Gaggia.'),
        ('annule le dernier enregistrement', "Gaggia : le détartrage fait aujourd'hui est annulé."),
        ('annule le dernier enregistrement', "Gaggia : le rinçage inversé fait aujourd'hui est annulé."),
        ('de quand date le dernier détartrage', 'Gaggia : le dernier détartrage a été fait le 10 octobre.'),
        ("combien d'expressos avant le prochain rinçage inversé", 'Gaggia : encore 4 expressos avant le prochain rinçage inversé, prévu demain.'),
    ],
    "nl": [
        ('hoeveel shots sinds de laatste terugspoeling', 'Gaggia: 8 shots sinds de laatste terugspoeling; terugspoelen moet na 14 shots.'),
        ('hoeveel shots nog tot de volgende terugspoeling', 'Gaggia: nog 6 shots tot de volgende terugspoeling, verwacht op maandag.'),
        ('wanneer was de laatste terugspoeling', 'Gaggia is op dinsdag voor het laatst teruggespoeld.'),
        ('wanneer was de laatste ontkalking', 'Gaggia is op 10 oktober voor het laatst ontkalkt.'),
        ('moet de espressomachine ontkalkt worden', 'Gaggia: 49 dagen sinds de laatste ontkalking; de volgende is over 11 dagen bij je gebruikelijke gebruik.'),
        ('wanneer is de volgende ontkalking', 'Gaggia: de volgende ontkalking is over 11 dagen bij je gebruikelijke gebruik.'),
        ('heeft de machine onderhoud nodig', 'Gaggia: ontkalken is binnenkort nodig.'),
        ('tel twee shots', '2 shots geteld voor Gaggia; 10 shots sinds de laatste terugspoeling.'),
        ('ik heb teruggespoeld', 'Terugspoeling vastgelegd voor Gaggia.'),
        ('ik heb de Gaggia ontkalkt', 'Ontkalking vastgelegd voor Gaggia.'),
        ('maak de laatste registratie ongedaan', 'Gaggia: de ontkalking die vandaag is gedaan, is ongedaan gemaakt.'),
        ('maak de laatste registratie ongedaan', 'Gaggia: de terugspoeling die vandaag is gedaan, is ongedaan gemaakt.'),
        ('wanneer was de laatste ontkalking', 'Gaggia is op 10 oktober voor het laatst ontkalkt.'),
        ('hoeveel shots nog tot de volgende terugspoeling', 'Gaggia: nog 4 shots tot de volgende terugspoeling, verwacht morgen.'),
    ],
    "es": [
        ('cuántos cafés desde el último retrolavado', 'Gaggia: 8 cafés desde el último retrolavado; toca retrolavado después de 14 cafés.'),
        ('cuántos cafés quedan para el próximo retrolavado', 'Gaggia: 6 cafés más hasta el próximo retrolavado, previsto el lunes.'),
        ('cuándo fue el último retrolavado', 'Gaggia: el último retrolavado fue el martes.'),
        ('cuándo fue la última descalcificación', 'Gaggia: la última descalcificación fue el 10 de octubre.'),
        ('tengo que descalcificar la cafetera', 'Gaggia: 49 días desde la última descalcificación; la próxima toca dentro de 11 días con tu uso habitual.'),
        ('cuándo toca la próxima descalcificación', 'Gaggia: la próxima descalcificación toca dentro de 11 días con tu uso habitual.'),
        ('necesita la cafetera mantenimiento', 'Gaggia: la descalcificación está pendiente pronto.'),
        ('apunta dos cafés', 'He contado 2 cafés para Gaggia; 10 cafés desde el último retrolavado.'),
        ('he hecho el retrolavado', 'Retrolavado registrado para Gaggia.'),
        ('he descalcificado la Gaggia', 'Descalcificación registrada para Gaggia.'),
        ('deshaz el último registro', 'Gaggia: he anulado la descalcificación hecha hoy.'),
        ('deshaz el último registro', 'Gaggia: he anulado el retrolavado hecho hoy.'),
        ('cuándo fue la última descalcificación', 'Gaggia: la última descalcificación fue el 10 de octubre.'),
        ('cuántos cafés quedan para el próximo retrolavado', 'Gaggia: 4 cafés más hasta el próximo retrolavado, previsto mañana.'),
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
    """Each intent answers in each language, as a person would say it."""
    hass.config.language = language
    for sentence, answer in CASES[language]:
        assert await ask(hass, sentence, language) == answer, sentence
    # The records went through the machine, and were taken back through it.
    machine = init_integration.runtime_data
    assert machine.state.history == ()
    assert machine.state.total_shots == 10
    assert hass.states.get("sensor.gaggia_shots_since_backflush").state == "10"


async def test_several_machines(
    hass: HomeAssistant,
    conversation: None,
    init_integration: MockConfigEntry,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """Unnamed questions answer for each machine; unnamed changes ask which."""
    lelit = await second_machine(hass, entry_data, entry_options)
    answer = await ask(hass, "how many shots since the last backflush")
    assert answer.startswith("Gaggia: 8 shots")
    assert "Lelit Bianca: 8 shots" in answer
    which = "Which espresso machine: Gaggia and Lelit Bianca?"
    for sentence in ("I backflushed", "count a shot", "undo the last record"):
        assert await ask(hass, sentence) == which
    assert lelit.runtime_data.state.history == ()
    assert lelit.runtime_data.state.total_shots == 8
    # One word of a longer name is enough.
    assert (
        await ask(hass, "I backflushed the Lelit")
        == "Recorded a backflush for Lelit Bianca."
    )
    assert await ask(hass, "undo the last record on both machines") == which
    assert await ask(hass, "undo the last record on the Bianca") == (
        "Lelit Bianca: the backflush done today is undone."
    )
    # A name that is no machine's is not understood as one.
    answer = await ask(hass, "does the Rancilio need maintenance")
    assert not answer.startswith(("Gaggia", "Lelit"))


async def _move_to(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, moment: str
) -> None:
    freezer.move_to(moment)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def test_answers_for_each_state(
    hass: HomeAssistant,
    conversation: None,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Due, due soon, up to date; one shot; dates near and far."""
    target = {"entity_id": "sensor.gaggia_total_shots"}

    async def call(service: str, **data: Any) -> None:
        await hass.services.async_call(
            DOMAIN, service, {**target, **data}, blocking=True
        )

    # The counter is set rather than shots recorded: no water is counted, so the
    # descale follows the days, as at the typed use.
    await call("set_shots_since_backflush", shots=14)
    due_now = "Gaggia: 14 shots since the last backflush; a backflush is due now."
    assert await ask(hass, "how many shots since the last backflush") == due_now
    assert await ask(hass, "when should I backflush") == due_now
    assert await ask(hass, "is any maintenance due") == "Gaggia: a backflush is due."
    await call("record_backflush")
    await call("set_shots_since_backflush", shots=1)
    assert await ask(hass, "how many shots since the last backflush") == (
        "Gaggia: 1 shot since the last backflush; a backflush is due after 14 shots."
    )
    assert await ask(hass, "when was the last backflush") == (
        "Gaggia was last backflushed today."
    )
    await _move_to(hass, freezer, "2026-12-07T12:00:00+00:00")
    assert await ask(hass, "does it need descaling") == (
        "Gaggia: 58 days since the last descale; the next one is due on Wednesday at your typical use."
    )
    assert await ask(hass, "when was the last backflush") == (
        "Gaggia was last backflushed 9 days ago."
    )
    # Seven days after the backflush, the day limit makes it due.
    assert await ask(hass, "how many shots until the next backflush") == (
        "Gaggia: 1 shot since the last backflush; a backflush is due now."
    )
    await _move_to(hass, freezer, "2026-12-08T12:00:00+00:00")
    assert await ask(hass, "when is the next descale") == (
        "Gaggia: the next descale is due tomorrow at your typical use."
    )
    await _move_to(hass, freezer, "2026-12-10T12:00:00+00:00")
    await call("set_shots_since_backflush", shots=12)
    descale_due = "Gaggia: 61 days since the last descale; a descale is due now."
    assert await ask(hass, "does the Gaggia need descaling") == descale_due
    assert await ask(hass, "when should I descale") == descale_due
    assert await ask(hass, "is any maintenance due") == (
        "Gaggia: a backflush and a descale are due."
    )
    await call("record_backflush")
    await call("record_descale")
    assert await ask(hass, "is any maintenance due") == (
        "Gaggia: all maintenance is up to date."
    )
    await _move_to(hass, freezer, "2026-12-11T12:00:00+00:00")
    assert await ask(hass, "when was the last descale") == (
        "Gaggia was last descaled yesterday."
    )
    await _move_to(hass, freezer, "2027-01-20T12:00:00+00:00")
    assert await ask(hass, "when was the last descale") == (
        "Gaggia was last descaled on 10 December 2026."
    )


async def test_untracked_and_unknown(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entry_data: dict[str, Any],
    time_zone: str,
) -> None:
    """Unknown dates, untracked maintenance, nothing to undo, no machine."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(hass, DOMAIN, {})
    # With no machine there are no sentences; an assistant calling the intent
    # directly is told.
    response = await intent.async_handle(hass, "test", "EspressoMaintenanceDue")
    assert response.speech["plain"]["speech"] == "No espresso machine is set up."
    # Another integration's entry is no machine.
    other = MockConfigEntry(domain="other", title="Other")
    other.add_to_hass(hass)
    mock_config_entry.add_to_hass(hass)
    # Never backflushed, and no shots expected: no day can be predicted.
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**entry_data, "last_backflush": None, "last_descale": None},
        options={**mock_config_entry.options, "shots_per_day": 0.0},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    for sentence, answer in (
        (
            "when was the last backflush",
            (
                "Gaggia: I don't know when it was last backflushed. Tell me when "
                "you next backflush it."
            ),
        ),
        (
            "when is the next descale",
            (
                "Gaggia: I don't know when it was last descaled. Tell me when you "
                "next descale it."
            ),
        ),
        (
            "how many shots until the next backflush",
            "Gaggia: 6 shots left before the next backflush.",
        ),
        (
            "undo the last record",
            "Gaggia: there is no backflush or descale record to undo.",
        ),
        ("I descaled", "Recorded a descale for Gaggia."),
        (
            "undo the last backflush",
            "Gaggia: the latest record is a descale, so nothing was undone.",
        ),
    ):
        assert await ask(hass, sentence) == answer
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**mock_config_entry.data, "three_way_valve": False},
        options={**mock_config_entry.options, "track_descale": False},
    )
    await hass.async_block_till_done()
    no_valve = "Gaggia has no three-way valve, so it is not backflushed."
    not_tracked = "Gaggia: descaling is not tracked."
    for sentence, answer in (
        ("how many shots since the last backflush", no_valve),
        ("how many shots until the next backflush", no_valve),
        ("when was the last backflush", no_valve),
        ("I backflushed", no_valve),
        ("when should I descale", not_tracked),
        ("does it need descaling", not_tracked),
        ("when was the last descale", not_tracked),
        ("I descaled", not_tracked),
        ("count a shot", "Counted 1 shot for Gaggia; 9 shots in all."),
    ):
        assert await ask(hass, sentence) == answer, sentence
    response = await intent.async_handle(
        hass, "test", "EspressoMaintenanceDue", {"machine": {"value": other.entry_id}}
    )
    assert response.speech["plain"]["speech"] == (
        f"I don't know an espresso machine called {other.entry_id}."
    )


async def test_machine_not_loaded(
    hass: HomeAssistant, conversation: None, init_integration: MockConfigEntry
) -> None:
    """A machine that is not loaded is named, but cannot answer."""
    await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert await ask(hass, "how many shots on the Gaggia since the last backflush") == (
        "Gaggia is not available right now."
    )
    assert await ask(hass, "how many shots since the last backflush") == (
        "No espresso machine is set up."
    )


def _llm_context() -> llm.LLMContext:
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
    return llm.LLMContext(**{k: v for k, v in values.items() if k in fields})


async def test_llm_tools(
    hass: HomeAssistant, conversation: None, init_integration: MockConfigEntry
) -> None:
    """LLM agents get every intent as a tool, with a description and its slots."""
    registered = {handler.intent_type: handler for handler in intent.async_get(hass)}
    for handler_class in HANDLERS:
        handler = registered[handler_class.intent_type]
        assert handler.description
        assert handler.slot_schema is not None
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, _llm_context())
    # Home Assistant 2026 prefixes each tool with the integration's domain.
    tools = {tool.name.rsplit("__", 1)[-1]: tool for tool in api.tools}
    assert {handler.intent_type for handler in HANDLERS} <= set(tools)

    async def call(intent_type: str, **args: Any) -> dict[str, Any]:
        called = await api.async_call_tool(
            llm.ToolInput(tool_name=tools[intent_type].name, tool_args=args)
        )
        # Home Assistant 2026 wraps the intent's answer in a ToolResult.
        result: dict[str, Any] = getattr(called, "data", called)
        return result

    def speech(result: dict[str, Any]) -> str:
        return str(result["speech"]["plain"]["speech"])

    result = await call("EspressoShotsSinceBackflush", machine="Gaggia")
    assert speech(result) == (
        "Gaggia: 8 shots since the last backflush; a backflush is due after 14 shots."
    )
    assert result["speech_slots"]["machines"][0]["shots_since_backflush"] == 8
    for intent_type, args, answer in (
        (
            "EspressoNextBackflush",
            {"machine": "the Gaggia"},
            "Gaggia: 6 shots left before the next backflush, expected on Monday.",
        ),
        (
            "EspressoLastMaintenance",
            {"kind": "descale"},
            "Gaggia was last descaled on 10 October.",
        ),
        (
            "EspressoNextDescale",
            {"machine": "espresso machine"},
            "Gaggia: the next descale is due in 11 days at your typical use.",
        ),
        (
            "EspressoRecordShots",
            {"machine": "Gaggia", "count": 3},
            "Counted 3 shots for Gaggia; 11 shots since the last backflush.",
        ),
        (
            "EspressoRecordShots",
            {},
            "Counted 1 shot for Gaggia; 12 shots since the last backflush.",
        ),
        ("EspressoRecordBackflush", {}, "Recorded a backflush for Gaggia."),
        (
            "EspressoUndoLastRecord",
            {"kind": "backflush"},
            "Gaggia: the backflush done today is undone.",
        ),
        (
            "EspressoDescaleStatus",
            {"machine": "Rancilio"},
            "I don't know an espresso machine called Rancilio.",
        ),
    ):
        assert speech(await call(intent_type, **args)) == answer, intent_type
    # The slots are checked: a count beyond what can be said, an unknown kind.
    for intent_type, args in (
        ("EspressoRecordShots", {"count": 21}),
        ("EspressoLastMaintenance", {"kind": "polish"}),
    ):
        with pytest.raises((HomeAssistantError, vol.Invalid)):
            await call(intent_type, **args)
    assert init_integration.runtime_data.state.total_shots == 12


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
