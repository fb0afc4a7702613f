"""Tests for reading and writing a machine's state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
import pytest

from custom_components.espresso_maintenance.model import (
    Kind,
    MachineState,
    record_maintenance,
    record_shots,
)
from custom_components.espresso_maintenance.store import (
    MachineStore,
    StorageError,
    _file_version,
    state_from_dict,
    state_to_dict,
)


def busy_state() -> MachineState:
    """Return a state with history, notes and undo steps."""
    state = record_shots(MachineState(), 5)
    state = record_maintenance(
        state, Kind.BACKFLUSH, datetime(2026, 11, 1, 8, tzinfo=UTC), "Cafiza"
    )
    state = record_shots(state, 3)
    state = record_maintenance(
        state, Kind.DESCALE, datetime(2026, 11, 2, 8, tzinfo=UTC)
    )
    return record_maintenance(
        state, Kind.BACKFLUSH, datetime(2026, 10, 1, 8, tzinfo=UTC)
    )


def test_round_trip() -> None:
    """What is written reads back the same."""
    state = replace(busy_state(), source_baseline=1234.0)
    assert state_from_dict(state_to_dict(state)) == state
    assert state_from_dict(state_to_dict(MachineState())) == MachineState()


def test_records_are_compact() -> None:
    """A record without a note stores no note key."""
    data = state_to_dict(busy_state())
    assert data["history"][0] == {
        "kind": "backflush",
        "at": "2026-10-01T08:00:00+00:00",
        "shots": 3,
        "total": 8,
    }
    assert data["history"][1]["note"] == "Cafiza"


@pytest.mark.parametrize(
    "change",
    [
        {"shots_since_backflush": -1},
        {"shots_since_backflush": True},
        {"total_shots": 1.5},
        {"last_descale": 12},
        {"last_descale": "2026-11-01T10:00:00"},
        {"last_descale": "not a time"},
        {"backflush_due_notified": "yes"},
        {"history": [{"kind": "backflush", "at": None, "shots": 1, "total": 1}]},
        {
            "history": [
                {
                    "kind": "backflush",
                    "at": "2026-11-01T10:00:00+00:00",
                    "shots": 1,
                    "total": 1,
                    "note": 5,
                }
            ]
        },
        {
            "history": [
                {
                    "kind": "espresso",
                    "at": "2026-11-01T10:00:00+00:00",
                    "shots": 1,
                    "total": 1,
                }
            ]
        },
        {"history": [{"at": "2026-11-01T10:00:00+00:00"}]},
        {"history": None},
        {"undo": [{"record": {}}]},
        {"source_baseline": "100"},
        {"source_baseline": False},
    ],
)
def test_unexpected_content_is_refused(change: dict[str, Any]) -> None:
    """Anything that does not fit is a storage_invalid error, never a guess."""
    data = state_to_dict(busy_state()) | change
    with pytest.raises(StorageError) as err:
        state_from_dict(data)
    assert err.value.translation_key == "storage_invalid"


def test_not_a_mapping_is_refused() -> None:
    """A list where the state belongs is refused."""
    with pytest.raises(StorageError):
        state_from_dict([1, 2])


@pytest.mark.parametrize(
    ("content", "version"),
    [
        ('{"version": 3}', 3),
        ('{"version": "3"}', None),
        ('{"data": {}}', None),
        ("[1]", None),
        ("{", None),
        (None, None),
    ],
)
def test_file_version(tmp_path: Path, content: str | None, version: int | None) -> None:
    """The declared major version is read when it can be."""
    path = tmp_path / "file"
    if content is not None:
        path.write_text(content)
    assert _file_version(path) == version


async def test_migration_of_other_versions(hass: HomeAssistant) -> None:
    """A newer minor version reads as is; a newer major version is refused."""
    store = MachineStore(hass, "entry")
    data = {"shots_since_backflush": 1}
    assert await store._async_migrate_func(1, 1, data) == {
        "shots_since_backflush": 1,
        "source_baseline": None,
    }
    assert await store._async_migrate_func(1, 3, data) is data
    with pytest.raises(StorageError) as err:
        await store._async_migrate_func(2, 1, data)
    assert err.value.translation_key == "storage_newer_version"


async def test_setting_aside_nothing(hass: HomeAssistant, tmp_path: Path) -> None:
    """Setting aside a file that is not there does nothing."""
    hass.config.config_dir = str(tmp_path)
    assert await MachineStore(hass, "entry").async_set_aside() is None
