"""How people ask: every phrasing in tests/voice through the real default agent.

tests/voice/<language>.yaml holds phrasings written with the grammar;
tests/voice/heldout/<language>.yaml holds phrasings written by someone who had
never seen it. Each case names the intent it must reach and the machine it is
about; the expected figures follow from the machine's status, so a case is only
a sentence and a label. The not_ours lists hold Home Assistant's own commands,
which must never reach this integration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar, intent
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
import yaml

from custom_components.espresso_maintenance.assist import HANDLERS
from custom_components.espresso_maintenance.language import LANGUAGES, Texts
from custom_components.espresso_maintenance.machine import Machine
from custom_components.espresso_maintenance.model import DueStatus, Kind, local_date

from .common import ask
from .conftest import NOW, second_machine

pytestmark = pytest.mark.freeze_time(NOW)

CORPUS = Path(__file__).parent / "voice"
OURS = {handler.intent_type for handler in HANDLERS}
QUESTIONS = OURS - {
    "EspressoRecordBackflush",
    "EspressoRecordDescale",
    "EspressoRecordShots",
    "EspressoUndoLastRecord",
}
CORPORA = sorted(CORPUS.glob("*.yaml")) + sorted(CORPUS.glob("heldout/*.yaml"))


def load(path: Path) -> dict[str, Any]:
    """Read a corpus file."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def test_corpus_covers_every_intent_and_language() -> None:
    """Each language has enough phrasings, for every intent, and not-ours commands."""
    for language in LANGUAGES:
        corpus = load(CORPUS / f"{language}.yaml")
        assert corpus["language"] == language
        cases = corpus["cases"]
        assert len(cases) >= (40 if language == "en" else 15), language
        assert {case["intent"] for case in cases} == OURS, language
        assert {case["machines"] for case in cases} == {1, 2}, language
        assert len(corpus["not_ours"]) >= (20 if language == "en" else 8), language


@dataclass
class Heard:
    """The intents the agent handled for one sentence."""

    calls: list[tuple[str, dict[str, Any]]]


@pytest.fixture
def heard(monkeypatch: pytest.MonkeyPatch) -> Heard:
    """Record every intent the conversation agent hands to the intent helper."""
    heard = Heard(calls=[])
    original = intent.async_handle

    async def spy(
        hass: HomeAssistant, platform: str, intent_type: str, *args: Any, **kwargs: Any
    ) -> intent.IntentResponse:
        slots = args[0] if args else kwargs.get("slots") or {}
        heard.calls.append((intent_type, slots))
        return await original(hass, platform, intent_type, *args, **kwargs)

    monkeypatch.setattr(intent, "async_handle", spy)
    return heard


def _says(answer: str, figure: int | str) -> bool:
    return re.search(rf"(?<!\w){re.escape(str(figure))}(?!\w)", answer) is not None


def _expected_figures(
    intent_type: str, machine: Machine, texts: Texts, case: dict[str, Any]
) -> list[int | str]:
    """Return what an answer about this machine must say, from its status now."""
    status = machine.status
    tz = dt_util.get_default_time_zone()
    today = local_date(dt_util.utcnow(), tz)

    def day(moment: Any) -> str:
        return texts.date(local_date(moment, tz), today)

    figures: dict[str, Callable[[], list[int | str]]] = {
        "EspressoShotsSinceBackflush": lambda: [status.shots_since_backflush],
        "EspressoNextBackflush": lambda: (
            [status.shots_since_backflush]
            if status.backflush is DueStatus.DUE
            else [
                status.shots_until_backflush or 0,
                texts.date(machine.predicted_backflush() or today, today),
            ]
        ),
        "EspressoLastMaintenance": lambda: [
            day(status.last_backflush)
            if case["kind"] == Kind.BACKFLUSH
            else day(status.last_descale)
        ],
        "EspressoDescaleStatus": lambda: (
            [status.days_since_descale or 0]
            + ([] if status.descale is DueStatus.DUE else [day(status.next_descale)])
        ),
        "EspressoNextDescale": lambda: (
            [status.days_since_descale or 0]
            if status.descale is DueStatus.DUE
            else [day(status.next_descale)]
        ),
        "EspressoMaintenanceDue": lambda: [
            texts.speech(f"item_{kind}")
            for kind in Kind
            if status.due(kind) in (DueStatus.DUE, DueStatus.DUE_SOON)
        ][:1],
        "EspressoRecordShots": lambda: [status.shots_since_backflush],
        "EspressoUndoLastRecord": lambda: [texts.date(today, today)],
    }
    return figures.get(intent_type, list)()


class Voice:
    """One Home Assistant with one or two machines, asked case after case."""

    def __init__(
        self,
        hass: HomeAssistant,
        heard: Heard,
        language: str,
        machines: dict[str, MockConfigEntry],
    ) -> None:
        """Remember the machines by name."""
        self.hass = hass
        self.heard = heard
        self.language = language
        self.entries = machines
        self.texts = Texts(hass, language)

    def machine(self, name: str) -> Machine:
        """Return a machine by its name."""
        machine: Machine = self.entries[name].runtime_data
        return machine

    async def check(self, case: dict[str, Any]) -> str | None:
        """Ask one case; return what went wrong, or None."""
        intent_type = case["intent"]
        if intent_type == "EspressoUndoLastRecord":
            # Something to undo: a record of the kind named, just now.
            for name in self.entries:
                await self.machine(name).async_record_maintenance(
                    Kind(case.get("kind") or Kind.DESCALE)
                )
        before = {name: self.machine(name).state for name in self.entries}
        self.heard.calls.clear()
        answer = await ask(self.hass, case["text"], self.language)
        problem = (
            self._check_heard(case)
            or self._check_answer(case, answer, before)
            or self._check_figures(case, answer, before)
        )
        return None if problem is None else f"{problem}: {answer}"

    def _check_heard(self, case: dict[str, Any]) -> str | None:
        """Check the sentence reached its intent, with the machine and kind it names."""
        ours = [call for call in self.heard.calls if call[0] in OURS]
        if [call[0] for call in ours] != [case["intent"]]:
            return f"heard {[call[0] for call in self.heard.calls]}"
        slots = ours[0][1]
        named = case.get("machine")
        slot = slots.get("machine", {}).get("value")
        if named is not None and slot != self.entries[named].entry_id:
            return f"machine slot {slot!r}, not {named}"
        kind = slots.get("kind", {}).get("value")
        if case["intent"] == "EspressoLastMaintenance" and kind != case["kind"]:
            return f"kind {kind}, not {case['kind']}"
        return None

    def _check_answer(
        self, case: dict[str, Any], answer: str, before: dict[str, Any]
    ) -> str | None:
        """Check the answer is about the machines meant, and only they changed."""
        meant = self._meant(case)
        changes = case["intent"] not in QUESTIONS
        if changes and len(meant) > 1:
            expected = self.texts.speech(
                "which_machine", names=self.texts.join(list(self.entries))
            )
            unchanged = all(
                self.machine(name).state is before[name] for name in self.entries
            )
            return None if answer == expected and unchanged else "not asked which"
        for name in self.entries:
            if (name in answer) != (name in meant):
                return "answer about the wrong machine"
            changed = self.machine(name).state is not before[name]
            if changed != (changes and name in meant):
                return f"{name} {'changed' if changed else 'unchanged'}"
        return None

    def _check_figures(
        self, case: dict[str, Any], answer: str, before: dict[str, Any]
    ) -> str | None:
        """Check the change and the figures said follow from each status."""
        if case["intent"] not in QUESTIONS and len(self._meant(case)) > 1:
            return None
        for name in self._meant(case):
            problem = self._check_change(case["intent"], name, before[name], case)
            if problem:
                return problem
            for figure in _expected_figures(
                case["intent"], self.machine(name), self.texts, case
            ):
                if not _says(answer, figure):
                    return f"{figure!r} missing"
        return None

    def _meant(self, case: dict[str, Any]) -> list[str]:
        named = case.get("machine")
        return [named] if named is not None else list(self.entries)

    def _check_change(
        self, intent_type: str, name: str, before: Any, case: dict[str, Any]
    ) -> str | None:
        after = self.machine(name).state
        if intent_type == "EspressoRecordShots":
            added = after.total_shots - before.total_shots
            return None if added == case.get("count", 1) else f"{added} shots counted"
        kind = {
            "EspressoRecordBackflush": Kind.BACKFLUSH,
            "EspressoRecordDescale": Kind.DESCALE,
        }.get(intent_type)
        if kind is not None:
            new = [record.kind for record in after.history[len(before.history) :]]
            return None if new == [kind] else f"recorded {new}"
        if (
            intent_type == "EspressoUndoLastRecord"
            and len(after.undo) != len(before.undo) - 1
        ):
            return "nothing undone"
        return None


@pytest.fixture
async def voice_setup(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
    heard: Heard,
) -> Callable[[str, int], Any]:
    """Return a function that prepares the agent for a language and machines."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    machines = {"Gaggia": init_integration}

    async def prepare(language: str, count: int) -> Voice:
        if count == 2 and "Lelit Bianca" not in machines:
            machines["Lelit Bianca"] = await second_machine(
                hass, entry_data, entry_options
            )
        hass.config.language = language
        return Voice(hass, heard, language, dict(machines))

    return prepare


def _corpus_params() -> list[Any]:
    return [
        pytest.param(path, machines, id=f"{path.parent.name}-{path.stem}-{machines}")
        for path in CORPORA
        for machines in (1, 2)
    ]


@pytest.mark.parametrize(("path", "machines"), _corpus_params())
async def test_corpus(
    voice_setup: Callable[[str, int], Any], path: Path, machines: int
) -> None:
    """Every phrasing reaches its intent, about its machine, with the right figures."""
    corpus = load(path)
    voice: Voice = await voice_setup(corpus["language"], machines)
    failures = []
    for case in corpus["cases"]:
        if case["machines"] != machines:
            continue
        if (problem := await voice.check(case)) is not None:
            failures.append(f"{case['text']!r} ({case['intent']}): {problem}")
    assert not failures, "\n".join(failures)


@pytest.fixture
async def home(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Set up a few things Home Assistant's own sentences can act on."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(hass, "intent", {})
    areas = ar.async_get(hass)
    for area in ("Kitchen", "Living room"):
        areas.async_create(area)
    # Named as people name them in each language.
    things = {
        ("light", "on"): [
            "Kitchen light", "Küchenlicht", "Luce della cucina",
            "Lumière de la cuisine", "Keukenlicht", "Luz de la cocina",
        ],
        ("switch", "off"): [
            "Coffee machine", "Coffee maker", "Kaffeemaschine",
            "Macchina del caffè", "Machine à café", "Koffiemachine", "Cafetera",
        ],
        ("water_heater", "off"): ["Water heater"],
        ("vacuum", "docked"): ["Vacuum", "Staubsauger"],
        ("cover", "closed"): [
            "Garage door", "Garagentor", "Porta del garage", "Porte du garage",
            "Garagedeur", "Puerta del garaje",
        ],
        ("lock", "locked"): ["Front door"],
        ("media_player", "playing"): ["Music"],
    }  # fmt: skip
    for (domain, state), names in things.items():
        for number, name in enumerate(names):
            hass.states.async_set(
                f"{domain}.thing_{number}", state, {"friendly_name": name}
            )
    for domain in (
        "light",
        "switch",
        "water_heater",
        "vacuum",
        "cover",
        "media_player",
    ):
        for service in ("turn_on", "turn_off", "start", "open_cover", "media_pause"):
            async_mock_service(hass, domain, service)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_never_steals(
    hass: HomeAssistant,
    home: None,
    heard: Heard,
    hass_ws_client: WebSocketGenerator,
    language: str,
) -> None:
    """Home Assistant's own commands reach Home Assistant's intents, never ours."""
    commands = load(CORPUS / f"{language}.yaml")["not_ours"]
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "conversation/agent/homeassistant/debug",
            "sentences": commands,
            "language": language,
        }
    )
    results = (await client.receive_json())["result"]["results"]
    recognized = {
        command: (result or {}).get("intent", {}).get("name")
        for command, result in zip(commands, results, strict=True)
    }
    assert {
        command: name
        for command, name in recognized.items()
        if name is None or not name.startswith("Hass")
    } == {}
    for command in commands:
        heard.calls.clear()
        await ask(hass, command, language)
        assert not [call for call in heard.calls if call[0] in OURS], command
