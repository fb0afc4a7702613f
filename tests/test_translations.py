"""Every user-visible key has its text and icon."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

from homeassistant.util.yaml import load_yaml_dict
import yaml

from custom_components.espresso_maintenance import (
    binary_sensor,
    button,
    calendar,
    event,
    maintenance_sources,
    sensor,
    todo,
)
from custom_components.espresso_maintenance.const import EVENT_TYPES
from custom_components.espresso_maintenance.language import LANGUAGES
from custom_components.espresso_maintenance.model import DueStatus

PACKAGE = Path(__file__).parent.parent / "custom_components" / "espresso_maintenance"


def load(name: str) -> dict[str, Any]:
    """Load one of the integration's JSON files."""
    data: dict[str, Any] = json.loads((PACKAGE / name).read_text(encoding="utf-8"))
    return data


ENGLISH = load("translations/en.json")
ICONS = load("icons.json")

DESCRIPTIONS = {
    "binary_sensor": binary_sensor.BINARY_SENSORS,
    "button": button.BUTTONS,
    "event": (event.MAINTENANCE_EVENT,),
    "sensor": sensor.SENSORS,
    "todo": (todo.TODO_LIST,),
    "calendar": (calendar.CALENDAR,),
}


def test_every_entity_has_a_name_and_an_icon() -> None:
    """Names come from translations and icons from icons.json, for every entity."""
    for platform, descriptions in DESCRIPTIONS.items():
        for description in descriptions:
            key = description.translation_key
            assert key == description.key
            assert ENGLISH["entity"][platform][key]["name"], key
            assert ICONS["entity"][platform][key]["default"].startswith("mdi:"), key
        assert set(ENGLISH["entity"][platform]) == {d.key for d in descriptions}
        assert set(ICONS["entity"][platform]) == {d.key for d in descriptions}


def test_no_two_entities_share_a_name() -> None:
    """Each entity of a machine has its own name, in every language.

    So the logbook, lists and the device page tell the to-do list, calendar and
    event apart.
    """
    for language in LANGUAGES:
        entity = load(f"translations/{language}.json")["entity"]
        names = [
            entity[platform][description.key]["name"].casefold()
            for platform, descriptions in DESCRIPTIONS.items()
            for description in descriptions
        ]
        assert len(names) == len(set(names)), language


def test_every_state_has_a_name_and_an_icon() -> None:
    """Enum states and event types are translated and have their own icons."""
    for key in ("backflush_status", "descale_status"):
        states = {status.value for status in DueStatus}
        assert set(ENGLISH["entity"]["sensor"][key]["state"]) == states
        assert set(ICONS["entity"]["sensor"][key]["state"]) == states
    event_states = ENGLISH["entity"]["event"]["maintenance"]["state_attributes"]
    assert set(event_states["event_type"]["state"]) == set(EVENT_TYPES)
    icon_states = ICONS["entity"]["event"]["maintenance"]["state_attributes"]
    assert set(icon_states["event_type"]["state"]) == set(EVENT_TYPES)


def test_every_action_is_described() -> None:
    """Each action in services.yaml has its name, field texts and icon."""
    services = yaml.safe_load((PACKAGE / "services.yaml").read_text(encoding="utf-8"))
    assert set(ENGLISH["services"]) == set(services)
    assert set(ICONS["services"]) == set(services)
    for name, service in services.items():
        texts = ENGLISH["services"][name]
        assert texts["name"]
        assert texts["description"]
        assert set(texts.get("fields", {})) == set(service.get("fields") or {})


def problems_in(module: str) -> set[str]:
    """Return the reasons a module gives for refusing a source entity."""
    text = (PACKAGE / module).read_text(encoding="utf-8")
    return set(re.findall(r'"(source_(?:is|not|power|used)[a-z_]*)"', text))


def test_every_error_key_used_in_code_is_translated() -> None:
    """Exceptions, flow errors, aborts and issues raised in code all have text."""
    code = "\n".join(path.read_text(encoding="utf-8") for path in PACKAGE.glob("*.py"))
    entity_keys = {
        d.key for descriptions in DESCRIPTIONS.values() for d in descriptions
    }
    selector_keys = set(ENGLISH["selector"])
    keyed = (
        set(re.findall(r'translation_key="([a-z_]+)"', code))
        - entity_keys
        - selector_keys
    )
    assert {"nothing_to_undo", "source_missing", "counter_jump"} <= keyed
    exceptions = set(ENGLISH["exceptions"])
    issues = set(ENGLISH["issues"])
    assert keyed <= exceptions | issues, keyed - exceptions - issues
    invalid = set(re.findall(r'_invalid\(\s*"([a-z_]+)"', code))
    invalid |= {f"{kind}_not_tracked" for kind in ("backflush", "descale")}
    assert invalid <= exceptions, invalid - exceptions
    storage = set(re.findall(r'StorageError\(\s*"([a-z_]+)"', code))
    assert "storage_corrupt" in storage
    assert storage <= exceptions
    assert storage - {"storage_write_failed"} <= issues

    flow_errors = set(re.findall(r'errors\[[A-Z_]+\] = "([a-z_]+)"', code))
    assert flow_errors
    assert flow_errors <= set(ENGLISH["config"]["error"])
    options_errors = flow_errors - {
        "name_empty",
        "name_taken",
        "date_in_future",
        "shots_out_of_range",
        "machine_gone",
    }
    assert "max_not_above_min" in options_errors
    shot_problems = problems_in("sources.py") | problems_in("shot_sources.py")
    assert len(shot_problems) == 7
    maintenance_problems = problems_in("sources.py") | problems_in(
        "maintenance_sources.py"
    )
    assert maintenance_problems == {
        "source_is_own_entity",
        "source_not_found",
        "source_not_timestamp",
        "source_not_program",
        "source_used_twice",
    }
    for errors in (ENGLISH["config"]["error"], ENGLISH["options"]["error"]):
        assert shot_problems | maintenance_problems <= set(errors)
    issues_texts = ENGLISH["issues"]
    assert shot_problems <= set(issues_texts["source_missing"]["fix_flow"]["error"])
    for key in maintenance_sources.MISSING_TRANSLATION_KEYS.values():
        # A repair only offers entities of the same kind: never one in use.
        fix_flow_errors = set(issues_texts[key]["fix_flow"]["error"])
        assert maintenance_problems - {"source_used_twice"} <= fix_flow_errors
    assert options_errors <= set(ENGLISH["options"]["error"])
    aborts = set(re.findall(r'reason="([a-z_]+)"', code)) - {"machine_removed"}
    hard_water_aborts = set(ENGLISH["issues"]["hard_water"]["fix_flow"]["abort"])
    assert {"ignored", "still_too_hard"} <= hard_water_aborts
    assert aborts - hard_water_aborts <= set(ENGLISH["config"]["abort"])


def test_every_config_field_has_help() -> None:
    """Every field of every form has a label and a data_description."""
    for section in ("config", "options"):
        for step, texts in ENGLISH[section]["step"].items():
            # A menu step has no fields.
            fields = texts.get("data", {})
            assert set(fields) == set(texts.get("data_description", {})), step
            assert fields or texts["menu_options"], step


LANGUAGE_FILES = {
    path.stem: load_yaml_dict(path)
    for path in sorted((PACKAGE / "languages").glob("*.yaml"))
}


def placeholders(text: str) -> set[str]:
    """Return the {placeholders} of a text."""
    return set(re.findall(r"{(\w+)}", text))


def test_every_language_file_has_every_text() -> None:
    """Voice answers and to-do, calendar and logbook texts exist in every language."""
    assert set(LANGUAGE_FILES) == set(LANGUAGES)
    english = LANGUAGE_FILES["en"]
    for language, content in LANGUAGE_FILES.items():
        assert content["language"] == language
        assert set(content["intents"]) == set(english["intents"]), language
        assert set(content["words"]) == set(english["words"]), language
        for section in ("speech", "texts", "units"):
            assert set(content[section]) == set(english[section]), (language, section)
            for key, text in content[section].items():
                assert placeholders(text) == placeholders(english[section][key]), (
                    language,
                    key,
                )
        for name, intent in content["intents"].items():
            assert intent["data"][0]["sentences"], (language, name)
        # The sentence files open every sentence with this rule.
        assert "espresso_aside" in content["expansion_rules"], language
        dates = content["dates"]
        assert set(dates) == set(english["dates"]), language
        for key, text in dates.items():
            if isinstance(text, str):
                assert placeholders(text) == placeholders(english["dates"][key]), (
                    language,
                    key,
                )
        assert len(dates["weekdays"]) == 7, language
        assert len(dates["months"]) == 12, language
        for day, text in dates["special_days"].items():
            assert 1 <= day <= 31, (language, day)
            assert placeholders(text) == {"month"}, (language, day)


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Return every text of a translation file by its dotted key path."""
    texts: dict[str, str] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            texts.update(flatten(value, f"{path}."))
        else:
            texts[path] = value
    return texts


TRANSLATIONS = {
    path.stem: flatten(load(f"translations/{path.name}"))
    for path in sorted((PACKAGE / "translations").glob("*.json"))
}


def test_every_translation_has_every_key() -> None:
    """Every language translates every English text, with the same placeholders."""
    assert set(TRANSLATIONS) == set(LANGUAGES)
    english = TRANSLATIONS["en"]
    for language, texts in TRANSLATIONS.items():
        assert set(texts) == set(english), (
            language,
            sorted(set(english) ^ set(texts)),
        )
        for key, text in texts.items():
            assert text.strip(), (language, key)
            assert placeholders(text) == placeholders(english[key]), (language, key)
