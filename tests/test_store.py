"""Tests for reading and writing a machine's state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from hypothesis import given, strategies as st
import pytest

from custom_components.espresso_maintenance.model import (
    Kind,
    MachineState,
    Record,
    record_maintenance,
    record_shots,
)
from custom_components.espresso_maintenance.store import (
    MachineStore,
    StorageError,
    _file_version,
    migrate_records_from_version_1,
    migrate_to_record_sources,
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
    """A record is one line: kind, time, counters, entry time and the note last."""
    data = state_to_dict(busy_state())
    assert data["history"][0] == "backflush 2026-10-01T08:00:00+00:00 3 8 -"
    assert data["history"][1].startswith("backflush 2026-11-01T08:00:00+00:00 5 5 ")
    assert data["history"][1].endswith(" Cafiza")
    assert data["undo"][-1]["record"] == data["history"][0]


@given(
    note=st.one_of(st.none(), st.text(max_size=255)),
    shots=st.integers(min_value=0, max_value=10_000),
    total=st.integers(min_value=0, max_value=10**9),
    performed_at=st.datetimes(timezones=st.just(UTC)),
    recorded_at=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
    kind=st.sampled_from(Kind),
)
def test_any_record_reads_back(
    note: str | None,
    shots: int,
    total: int,
    performed_at: datetime,
    recorded_at: datetime | None,
    kind: Kind,
) -> None:
    """Any note (spaces, newlines, a dash) and any counters survive the one-line form."""
    record = Record(
        kind=kind,
        performed_at=performed_at,
        note=note or None,
        shots_since_backflush=shots,
        total_shots=total,
        recorded_at=recorded_at,
    )
    state = replace(MachineState(), history=(record,))
    assert state_from_dict(state_to_dict(state)).history == (record,)


def _as_version_1(text: str) -> dict[str, Any]:
    """Write a record as version 1 did."""
    kind, at, shots, total, recorded, *note = text.split(" ", 5)
    record: dict[str, Any] = {
        "kind": kind,
        "at": at,
        "shots": int(shots),
        "total": int(total),
    }
    if recorded != "-":
        record["recorded"] = recorded
    if note:
        record["note"] = note[0]
    return record


def test_version_1_records_are_migrated() -> None:
    """Version 1's mappings become one-line records with the same content."""
    state = busy_state()
    data = state_to_dict(state)
    old = {
        **data,
        "history": [_as_version_1(text) for text in data["history"]],
        "undo": [
            {**step, "record": _as_version_1(step["record"])} for step in data["undo"]
        ],
    }
    assert old["history"][0] == {
        "kind": "backflush",
        "at": "2026-10-01T08:00:00+00:00",
        "shots": 3,
        "total": 8,
    }
    assert state_from_dict(migrate_records_from_version_1(old)) == state


V1_RECORD = {
    "kind": "backflush",
    "at": "2026-11-01T10:00:00+00:00",
    "shots": 1,
    "total": 1,
}


@pytest.mark.parametrize(
    "change",
    [
        {"history": [{**V1_RECORD, "at": None}]},
        {"history": [{**V1_RECORD, "note": 5}]},
        {"history": [{**V1_RECORD, "kind": "espresso"}]},
        {"history": [{"at": "2026-11-01T10:00:00+00:00"}]},
        {"history": None},
        {"undo": [{"record": {}}]},
        {"undo": None},
    ],
)
def test_unexpected_version_1_content_is_refused(change: dict[str, Any]) -> None:
    """A version 1 file that does not fit is a storage_invalid error."""
    data = {"history": [V1_RECORD], "undo": []} | change
    with pytest.raises(StorageError) as err:
        migrate_records_from_version_1(data)
    assert err.value.translation_key == "storage_invalid"


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
        {"history": [V1_RECORD]},
        {"history": ["backflush 2026-11-01T10:00:00+00:00 1 1"]},
        {"history": ["backflush 2026-11-01T10:00:00 1 1 -"]},
        {"history": ["backflush - 1 1 -"]},
        {"history": ["backflush 2026-11-01T10:00:00+00:00 -1 1 -"]},
        {"history": ["backflush 2026-11-01T10:00:00+00:00 1 1.5 -"]},
        {"history": ["backflush 2026-11-01T10:00:00+00:00 1 1 yesterday"]},
        {"history": ["espresso 2026-11-01T10:00:00+00:00 1 1 -"]},
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


ADDED_IN_2_3 = {
    "record_sources": {},
    "backflush_source_reading": None,
    "descale_source_reading": None,
}


async def test_migration_of_other_versions(hass: HomeAssistant) -> None:
    """Older versions are migrated, a newer minor one reads as is, a newer major one is refused."""
    store = MachineStore(hass, "entry")
    data = {"shots_since_backflush": 1, "history": [], "undo": []}
    assert await store._async_migrate_func(1, 1, data) == {
        **data,
        "source_baseline": None,
        **ADDED_IN_2_3,
    }
    assert await store._async_migrate_func(1, 2, data) == {**data, **ADDED_IN_2_3}
    assert await store._async_migrate_func(2, 1, data) == {**data, **ADDED_IN_2_3}
    assert await store._async_migrate_func(2, 2, data) == {**data, **ADDED_IN_2_3}
    assert await store._async_migrate_func(2, 4, data) is data
    with pytest.raises(StorageError) as err:
        await store._async_migrate_func(3, 1, data)
    assert err.value.translation_key == "storage_newer_version"


def detected_state() -> MachineState:
    """Return a busy state with detected records and a timestamp source's reading."""
    state = record_maintenance(
        busy_state(),
        Kind.BACKFLUSH,
        datetime(2026, 11, 3, 8, tzinfo=UTC),
        source="binary_sensor.gaggia_pump",
    )
    state = record_maintenance(
        state,
        Kind.DESCALE,
        datetime(2026, 10, 20, 8, tzinfo=UTC),
        source="sensor.micra_last_descale",
    )
    return replace(state, descale_source_reading=datetime(2026, 10, 20, 8, tzinfo=UTC))


def without_2_3(data: dict[str, Any]) -> dict[str, Any]:
    """Return what version 2.1 wrote for the same state."""
    old = {key: value for key, value in data.items() if key not in ADDED_IN_2_3}
    old["undo"] = [
        {key: value for key, value in step.items() if key != "source"}
        for step in data["undo"]
    ]
    return old


def test_sources_are_kept_beside_the_records() -> None:
    """Detected records keep their source; the record lines stay as 2.1 wrote them."""
    state = detected_state()
    data = state_to_dict(state)
    assert state_from_dict(data) == state
    sources = [record.source for record in state.history]
    assert sources == [
        None, "sensor.micra_last_descale", None, None, "binary_sensor.gaggia_pump"
    ]  # fmt: skip
    assert data["record_sources"] == {
        "1": "sensor.micra_last_descale",
        "4": "binary_sensor.gaggia_pump",
    }
    assert data["undo"][-2]["source"] == "binary_sensor.gaggia_pump"
    assert data["descale_source_reading"] == "2026-10-20T08:00:00+00:00"
    assert [line.split(" ")[0] for line in data["history"]] == [
        "backflush", "descale", "backflush", "descale", "backflush"
    ]  # fmt: skip
    assert data["history"][-1] == "backflush 2026-11-03T08:00:00+00:00 3 8 -"


async def test_a_2_1_file_is_migrated(hass: HomeAssistant) -> None:
    """A 2.1 file reads as the same state, its records without a source."""
    state = detected_state()
    old = without_2_3(state_to_dict(state))
    migrated = await MachineStore(hass, "entry")._async_migrate_func(2, 1, old)
    read = state_from_dict(migrated)
    assert read.history == tuple(
        replace(record, source=None) for record in state.history
    )
    assert read.descale_source_reading is None
    assert [step.record.source for step in read.undo] == [None] * len(state.undo)
    assert replace(read, history=(), undo=(), descale_source_reading=None) == replace(
        state, history=(), undo=(), descale_source_reading=None
    )


def test_a_2_3_file_reads_safely_without_its_new_fields() -> None:
    """2.3 only adds fields: what 2.1 reads of a 2.3 file is the state, sources aside.

    A 2.1 reader takes the file's fields it knows and ignores the others (its
    migration returns a newer minor version as is), so going back a release
    loses the sources and readings, never a record or a count.
    """
    state = detected_state()
    data = state_to_dict(state)
    old_view = without_2_3(data)
    assert set(data) - set(old_view) == set(ADDED_IN_2_3)
    assert old_view == without_2_3(state_to_dict(strip_sources(state)))


def strip_sources(state: MachineState) -> MachineState:
    """Return the state as a release without sources would keep it."""
    return replace(
        state,
        history=tuple(replace(record, source=None) for record in state.history),
        undo=tuple(
            replace(step, record=replace(step.record, source=None))
            for step in state.undo
        ),
        backflush_source_reading=None,
        descale_source_reading=None,
    )


@pytest.mark.parametrize(
    "change",
    [
        {"record_sources": []},
        {"record_sources": {"0": 5}},
        {"record_sources": {"0": ""}},
        {"record_sources": {"9": "sensor.x"}},
        {"backflush_source_reading": "yesterday"},
        {"undo": [{"record": "backflush 2026-11-01T10:00:00+00:00 1 1 -"}]},
    ],
)
def test_unexpected_2_3_content_is_refused(change: dict[str, Any]) -> None:
    """Sources and readings that do not fit are a storage_invalid error."""
    data = state_to_dict(detected_state()) | change
    with pytest.raises(StorageError) as err:
        state_from_dict(data)
    assert err.value.translation_key == "storage_invalid"


def test_migration_of_a_damaged_2_1_file() -> None:
    """A 2.1 file whose undo list is not a list of steps is refused, not guessed."""
    with pytest.raises(StorageError) as err:
        migrate_to_record_sources({"undo": [1]})
    assert err.value.translation_key == "storage_invalid"


async def test_setting_aside_nothing(hass: HomeAssistant, tmp_path: Path) -> None:
    """Setting aside a file that is not there does nothing."""
    hass.config.config_dir = str(tmp_path)
    assert await MachineStore(hass, "entry").async_set_aside() is None
