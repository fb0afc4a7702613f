"""Tests for reading and writing a machine's state."""

from __future__ import annotations

from dataclasses import replace
from datetime import (
    UTC,
    date,
    datetime,
    time,
    timedelta,
)
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from homeassistant.core import HomeAssistant
from homeassistant.helpers.json import (
    save_json,
)
from hypothesis import given, strategies as st
import pytest

from custom_components.espresso_maintenance.model import (
    DEFAULT_WATER_PER_SHOT_ML,
    Kind,
    MachineState,
    Record,
    ScaleBasis,
    Settings,
    apply_scale_settings,
    record_maintenance,
    record_shots,
    record_water,
)
from custom_components.espresso_maintenance.store import (
    MachineStore,
    StorageError,
    _file_version,
    migrate_records_from_version_1,
    migrate_to_record_sources,
    migrate_water_from_version_2_1,
    state_from_dict,
    state_to_dict,
)

ROME = ZoneInfo("Europe/Rome")


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


BASIS = ScaleBasis(
    since=date(2026, 10, 1),
    hardness_mg_l=142.784,
    typical_water_ml=250.0,
    calibration_mg_l=120.0,
    interval_days=45,
)


def test_round_trip() -> None:
    """What is written reads back the same."""
    state = replace(watered_state(), source_baseline=1234.0)
    assert state_from_dict(state_to_dict(state)) == state
    assert state_from_dict(state_to_dict(MachineState())) == MachineState()


def test_water_is_written_a_month_a_line() -> None:
    """A month per line, mL per day from the 1st; bases one a line."""
    data = state_to_dict(watered_state())
    assert data["water_log"] == [
        "2026-10 " + "0 " * 29 + "300",
        "2026-11 0 0 200 1234" + " 0" * 25 + " 100",
    ]
    assert data["counting_since"] == "2026-10-30"
    assert data["scale_bases"] == [
        "2026-10-01 142.784 250.0 120.0 45",
        "2026-11-04 60.0 250.0 120.0 45",
    ]
    assert data["water_baseline"] == 123456.5


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
        {"water_log": None},
        {"water_log": [5]},
        {"water_log": ["2026-11"]},
        {"water_log": ["2026-11 "]},
        {"water_log": ["2026-13 100"]},
        {"water_log": ["2026-02 " + "1 " * 29]},
        {"water_log": ["2026-11 -5"]},
        {"water_log": ["2026-11 1.5"]},
        {"water_log": ["11-2026 5"]},
        {"water_log": ["2026-11 5", "2026-10 5"]},
        {"water_log": ["2026-11 5", "2026-11 5"]},
        {"counting_since": 20261101},
        {"counting_since": "yesterday"},
        {"scale_bases": [5]},
        {"scale_bases": ["2026-11-01 120 200 120"]},
        {"scale_bases": ["2026-11-01 120 200 120 60 1"]},
        {"scale_bases": ["2026-11-01 0 200 120 60"]},
        {"scale_bases": ["2026-11-01 120 nan 120 60"]},
        {"scale_bases": ["2026-11-01 120 200 inf 60"]},
        {"scale_bases": ["2026-11-01 120 200 120 0"]},
        {"scale_bases": ["2026-11-01 120 200 120 1.5"]},
        {"scale_bases": ["2026-11-31 120 200 120 60"]},
        {"water_baseline": "1"},
        {"water_baseline": True},
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


NO_WATER = {
    "water_log": [],
    "counting_since": None,
    "scale_bases": [],
    "water_baseline": None,
}


ADDED_IN_2_3 = {
    "record_sources": {},
    "backflush_source_reading": None,
    "descale_source_reading": None,
}
# The number of the journal's last line the file holds: none yet.
ADDED_IN_3_1 = {"journal_seq": 0}


async def test_migration_of_other_versions(hass: HomeAssistant) -> None:
    """Older versions are migrated, a newer minor one reads as is, a newer major one is refused."""
    store = MachineStore(hass, "entry")
    data = {"total_shots": 1, "history": [], "undo": []}
    added = {**NO_WATER, **ADDED_IN_2_3, **ADDED_IN_3_1}
    assert await store._async_migrate_func(1, 1, data) == {
        **data,
        "source_baseline": None,
        **added,
    }
    assert await store._async_migrate_func(1, 2, data) == {**data, **added}
    assert await store._async_migrate_func(2, 1, data) == {**data, **added}
    assert await store._async_migrate_func(2, 2, data) == {
        **data,
        **ADDED_IN_2_3,
        **ADDED_IN_3_1,
    }
    assert await store._async_migrate_func(2, 3, data) == {**data, **ADDED_IN_3_1}
    assert await store._async_migrate_func(3, 2, data) is data
    with pytest.raises(StorageError) as err:
        await store._async_migrate_func(4, 1, data)
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


async def test_a_2_2_file_is_migrated(hass: HomeAssistant) -> None:
    """A 2.2 file reads as the same state, its records without a source."""
    state = detected_state()
    old = without_2_3(state_to_dict(state))
    migrated = await MachineStore(hass, "entry")._async_migrate_func(2, 2, old)
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


def test_version_2_1_water_is_rebuilt_from_the_history() -> None:
    """The shots between records, and since the last one, become water on their days."""
    now = datetime(2026, 11, 28, 8, 30, tzinfo=UTC)
    state = record_maintenance(
        MachineState(total_shots=100),
        Kind.DESCALE,
        datetime(2026, 11, 20, 7, tzinfo=UTC),
    )
    state = record_shots(state, 16)
    state = record_maintenance(
        state, Kind.BACKFLUSH, datetime(2026, 11, 24, 7, tzinfo=UTC)
    )
    state = record_shots(state, 9)
    data = state_to_dict(state)
    for key in NO_WATER:
        del data[key]
    migrated = state_from_dict(migrate_water_from_version_2_1(data, now, UTC))
    log = dict(migrated.water_log)
    assert migrated.counting_since == date(2026, 11, 20)
    assert sum(log.values()) == 25 * DEFAULT_WATER_PER_SHOT_ML
    # Four shots a day between the records, a little over two since.
    assert log[date(2026, 11, 21)] == 400
    assert log[date(2026, 11, 26)] == round(900 * 24 / (4 * 24 + 1.5))
    assert (migrated.scale_bases, migrated.water_baseline) == ((), None)
    with pytest.raises(StorageError):
        migrate_water_from_version_2_1({**data, "history": ["nothing"]}, now, UTC)


def watered_state() -> MachineState:
    """Return a busy state with water on a few days, two bases and a meter reading."""
    state = busy_state()
    for day, water in (
        (date(2026, 10, 30), 300),
        (date(2026, 11, 3), 200),
        (date(2026, 11, 4), 1234),
        (date(2026, 11, 30), 100),
    ):
        state = record_water(state, day, water)
    later = replace(BASIS, since=date(2026, 11, 4), hardness_mg_l=60.0)
    return replace(state, scale_bases=(BASIS, later), water_baseline=123456.5)


@given(
    water=st.dictionaries(
        st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
        st.integers(min_value=1, max_value=10**7),
        max_size=40,
    )
)
def test_any_water_log_reads_back(water: dict[date, int]) -> None:
    """Any days with any water survive the month lines."""
    state = replace(MachineState(), water_log=tuple(sorted(water.items())))
    assert state_from_dict(state_to_dict(state)) == state


async def test_saving_rewrites_only_the_last_month(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """The months before the last are reused between saves, and stay right."""
    store = MachineStore(hass, "entry")
    state = watered_state()
    await store.async_save_state(state)
    months = store._water_months
    assert months[1] == ["2026-10 " + "0 " * 29 + "300"]
    state = record_water(state, date(2026, 11, 30), 50)
    await store.async_save_state(state)
    assert store._water_months is months
    written = hass_storage["espresso_maintenance.entry"]["data"]["water_log"]
    assert written == state_to_dict(state)["water_log"]
    state = record_water(state, date(2026, 12, 1), 70)
    await store.async_save_state(state)
    written = hass_storage["espresso_maintenance.entry"]["data"]["water_log"]
    assert written == [*state_to_dict(state)["water_log"][:2], "2026-12 70"]
    await store.async_save_state(MachineState())
    assert hass_storage["espresso_maintenance.entry"]["data"]["water_log"] == []


def test_ten_years_stay_well_under_64_kib(tmp_path: Path) -> None:
    """Ten years of six shots a day, weekly backflushes and monthly descales stay small.

    The file is written as Home Assistant's Store writes it. A year of daily
    water takes 13 lines; the history is bounded as before.
    """
    settings = Settings(
        track_backflush=True,
        track_descale=True,
        backflush_interval_shots=42,
        backflush_interval_days=7,
        descale_interval_days=30,
        shots_per_day=6,
        hardness_mg_l=142.784,
    )
    first = date(2016, 11, 28)
    state = apply_scale_settings(MachineState(), settings, first)
    for offset in range(3652):
        day = first + timedelta(days=offset)
        state = record_shots(state, 6, day=day, water_per_shot_ml=100)
        if offset % 7 == 6:
            state = record_maintenance(
                state, Kind.BACKFLUSH, datetime.combine(day, time(20), ROME)
            )
        if day.day == 1:
            state = record_maintenance(
                state, Kind.DESCALE, datetime.combine(day, time(9), ROME)
            )
        if offset % 365 == 0:
            # A new hardness reading now and then.
            state = apply_scale_settings(
                state, replace(settings, hardness_mg_l=100.0 + offset / 100), day
            )
    state = replace(state, source_baseline=21912.0, water_baseline=2191234.5)
    path = tmp_path / "machine"
    save_json(
        str(path),
        {
            "version": 2,
            "minor_version": 2,
            "key": "espresso_maintenance.machine",
            "data": state_to_dict(state),
        },
    )
    size = path.stat().st_size
    assert len(state.water_log) == 366
    assert len(state.scale_bases) <= 2
    assert size < 36 * 1024, size
