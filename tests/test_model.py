"""Tests for the maintenance rules: hardness, intervals, counters, due logic, days."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from fractions import Fraction
import math
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings, strategies as st
import pytest

from custom_components.espresso_maintenance import model
from custom_components.espresso_maintenance.model import (
    HISTORY_LIMIT,
    MG_L_CACO3_PER_UNIT,
    TYPICAL_THREE_WAY_VALVE,
    UNDO_LIMIT,
    WATER_LOG_DAYS,
    DescaleDriver,
    DueStatus,
    HardnessUnit,
    Kind,
    MachineState,
    MachineType,
    NothingToUndoError,
    Record,
    ScaleBasis,
    Settings,
    Status,
    UndoStep,
    apply_scale_settings,
    days_between,
    evaluate,
    hardness_from_mg_l,
    hardness_in_range,
    hardness_to_mg_l,
    is_too_hard_for_espresso,
    local_date,
    note_due_edges,
    predict_backflush,
    rebuild_water_log,
    recent_shot_rate,
    recent_water_rate,
    recommended_backflush_shots,
    recommended_descale_days,
    record_maintenance,
    record_shots,
    record_water,
    scale_hardness,
    scale_load_days,
    scale_outlook,
    set_shots_since_backflush,
    start_of_local_day,
    undo_last,
)

ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
# Chile starts daylight saving at midnight: 2026-09-06 00:00 local never happens.
SANTIAGO = ZoneInfo("America/Santiago")
# Lebanon also jumps over midnight (2026-03-29) and falls back at midnight.
BEIRUT = ZoneInfo("Asia/Beirut")
# Lord Howe Island shifts its clocks by half an hour.
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
ZONES: list[tzinfo] = [UTC, ROME, NEW_YORK, SYDNEY, SANTIAGO, BEIRUT, LORD_HOWE]

# The factors the rules are written with, kept apart from the module's own table.
SPEC_MG_L_PER_UNIT: dict[HardnessUnit, float] = {
    HardnessUnit.GERMAN_DEGREE: 17.848,
    HardnessUnit.FRENCH_DEGREE: 10.0,
    HardnessUnit.CLARK_DEGREE: 14.254,
    HardnessUnit.MG_L_CACO3: 1.0,
    HardnessUnit.GRAINS_PER_GALLON: 17.118,
    HardnessUnit.MMOL_L: 100.09,
}

# 2026-11-28 09:30 in Rome, a day far from any daylight saving change.
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=ROME)
TODAY = date(2026, 11, 28)

# Moments around which the property tests start: daylight saving changes of the
# zones above, and a quiet day.
START_INSTANTS: list[datetime] = [
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # Rome forward
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # Rome back
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # New York forward
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),  # New York back
    datetime(2026, 4, 4, 16, 0, tzinfo=UTC),  # Sydney back
    datetime(2026, 10, 3, 16, 0, tzinfo=UTC),  # Sydney forward
    datetime(2026, 4, 5, 3, 0, tzinfo=UTC),  # Santiago back
    datetime(2026, 9, 6, 4, 0, tzinfo=UTC),  # Santiago forward over midnight
    datetime(2026, 3, 28, 22, 0, tzinfo=UTC),  # Beirut forward over midnight
    datetime(2026, 10, 24, 21, 0, tzinfo=UTC),  # Beirut back at midnight
    datetime(2026, 11, 28, 8, 30, tzinfo=UTC),  # nothing happening
]

LIMITS = st.builds(
    Settings,
    track_backflush=st.booleans(),
    track_descale=st.booleans(),
    backflush_interval_shots=st.integers(min_value=1, max_value=60),
    backflush_interval_days=st.integers(min_value=1, max_value=30),
    descale_interval_days=st.integers(min_value=1, max_value=120),
)
MOMENTS = st.builds(
    lambda base, minutes: base + timedelta(minutes=minutes),
    st.sampled_from(START_INSTANTS),
    st.integers(min_value=-72 * 60, max_value=72 * 60),
)


def make_settings(
    *,
    track_backflush: bool = True,
    track_descale: bool = True,
    shots: int = 14,
    days: int = 7,
    descale_days: int = 60,
) -> Settings:
    """Return limits like a semi-automatic's, with what a test changes."""
    return Settings(
        track_backflush=track_backflush,
        track_descale=track_descale,
        backflush_interval_shots=shots,
        backflush_interval_days=days,
        descale_interval_days=descale_days,
    )


def days_before(days: int, hour: int = 8, tz: tzinfo = ROME) -> datetime:
    """Return a moment at the given local hour so many calendar days before TODAY."""
    return datetime.combine(TODAY - timedelta(days=days), time(hour), tzinfo=tz)


def is_first_moment_of(moment: datetime, day: date, tz: tzinfo) -> bool:
    """Tell whether a moment is on a local day and the moment just before is not."""
    before = moment - timedelta(microseconds=1)
    return local_date(moment, tz) == day and local_date(before, tz) < day


# Hardness


def test_hardness_table_has_every_unit() -> None:
    """Every unit has a conversion factor, and they are the documented ones."""
    assert set(MG_L_CACO3_PER_UNIT) == set(HardnessUnit)
    assert MG_L_CACO3_PER_UNIT == SPEC_MG_L_PER_UNIT


@pytest.mark.parametrize(("unit", "mg_l"), list(SPEC_MG_L_PER_UNIT.items()))
def test_one_unit_of_hardness(unit: HardnessUnit, mg_l: float) -> None:
    """One of each unit is its documented mg/L of CaCO3, and back."""
    assert hardness_to_mg_l(1, unit) == mg_l
    assert hardness_from_mg_l(mg_l, unit) == 1


@pytest.mark.parametrize(
    ("value", "unit", "mg_l"),
    [
        (8, HardnessUnit.GERMAN_DEGREE, 142.784),
        (14, HardnessUnit.FRENCH_DEGREE, 140.0),
        (10, HardnessUnit.CLARK_DEGREE, 142.54),
        (250, HardnessUnit.MG_L_CACO3, 250.0),
        (7, HardnessUnit.GRAINS_PER_GALLON, 119.826),
        (1.5, HardnessUnit.MMOL_L, 150.135),
        (0, HardnessUnit.MMOL_L, 0.0),
    ],
)
def test_hardness_readings(value: float, unit: HardnessUnit, mg_l: float) -> None:
    """Typical test strip readings convert to the expected mg/L, and back."""
    assert hardness_to_mg_l(value, unit) == pytest.approx(mg_l, rel=1e-12)
    assert hardness_from_mg_l(mg_l, unit) == pytest.approx(value, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    value=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    unit=st.sampled_from(HardnessUnit),
)
def test_hardness_round_trips(value: float, unit: HardnessUnit) -> None:
    """A reading survives a trip to mg/L and back, and mg/L a trip to the unit."""
    mg_l = hardness_to_mg_l(value, unit)
    assert math.isclose(mg_l, value * SPEC_MG_L_PER_UNIT[unit], rel_tol=1e-12)
    # An absolute tolerance for subnormal floats, far below any real reading.
    assert math.isclose(
        hardness_from_mg_l(mg_l, unit), value, rel_tol=1e-12, abs_tol=1e-300
    )
    back = hardness_to_mg_l(hardness_from_mg_l(value, unit), unit)
    assert math.isclose(back, value, rel_tol=1e-12, abs_tol=1e-300)


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (0, HardnessUnit.MG_L_CACO3, True),
        (1000, HardnessUnit.MG_L_CACO3, True),
        (1000.001, HardnessUnit.MG_L_CACO3, False),
        (-0.001, HardnessUnit.MG_L_CACO3, False),
        (-1, HardnessUnit.GERMAN_DEGREE, False),
        (56, HardnessUnit.GERMAN_DEGREE, True),  # 999.488 mg/L
        (57, HardnessUnit.GERMAN_DEGREE, False),  # 1017.336 mg/L
        (100, HardnessUnit.FRENCH_DEGREE, True),
        (100.1, HardnessUnit.FRENCH_DEGREE, False),
        (70, HardnessUnit.CLARK_DEGREE, True),
        (71, HardnessUnit.CLARK_DEGREE, False),
        (58, HardnessUnit.GRAINS_PER_GALLON, True),
        (59, HardnessUnit.GRAINS_PER_GALLON, False),
        (9.99, HardnessUnit.MMOL_L, True),
        (10, HardnessUnit.MMOL_L, False),  # 1000.9 mg/L
    ],
)
def test_hardness_in_range(value: float, unit: HardnessUnit, expected: bool) -> None:
    """Plausible readings are from 0 to 1000 mg/L, whatever the unit."""
    assert hardness_in_range(value, unit) is expected


@settings(max_examples=200, deadline=None)
@given(
    value=st.floats(min_value=-100, max_value=2000, allow_nan=False),
    unit=st.sampled_from(HardnessUnit),
)
def test_hardness_in_range_matches_mg_l(value: float, unit: HardnessUnit) -> None:
    """A reading is in range exactly when its mg/L is within 0..1000."""
    assert hardness_in_range(value, unit) is (
        0 <= hardness_to_mg_l(value, unit) <= 1000
    )


@pytest.mark.parametrize(
    ("mg_l", "expected"),
    [
        (0, False),
        (68, False),
        (142.8, False),
        (175, False),
        (175.001, True),
        (400, True),
    ],
)
def test_is_too_hard_for_espresso(mg_l: float, expected: bool) -> None:
    """Water is too hard above the 175 mg/L the coffee water standard accepts (8 °dH is not)."""
    assert is_too_hard_for_espresso(mg_l) is expected


# Recommended intervals


@pytest.mark.parametrize(
    ("shots_per_day", "expected"),
    [
        (-1, 10),
        (0, 10),
        (1, 10),
        (1.4, 10),  # 9.8 → 10
        (1.5, 11),  # 10.5 → 11
        (2, 14),
        (2.5, 18),  # 17.5 → 18
        (3.3, 24),  # 23.1 → 24
        (14.28, 100),  # 99.96 → 100
        (14.3, 100),  # 100.1 → 101, clamped
        (50, 100),
    ],
)
def test_recommended_backflush_shots(shots_per_day: float, expected: int) -> None:
    """About a week of shots, rounded up, kept within 10..100."""
    assert recommended_backflush_shots(shots_per_day) == expected


@settings(max_examples=200, deadline=None)
@given(
    first=st.floats(min_value=-5, max_value=50, allow_nan=False),
    second=st.floats(min_value=-5, max_value=50, allow_nan=False),
)
def test_recommended_backflush_shots_properties(first: float, second: float) -> None:
    """The recommendation is ceil(7 * shots a day) within 10..100, and monotonic."""
    low, high = sorted((first, second))
    shots = recommended_backflush_shots(low)
    assert isinstance(shots, int)
    assert shots == min(100, max(10, math.ceil(7 * low)))
    assert 10 <= shots <= 100
    if 10 < shots < 100:
        assert shots - 1 < 7 * low <= shots
    assert shots <= recommended_backflush_shots(high)


@pytest.mark.parametrize(
    ("shots_per_day", "hardness", "expected"),
    [
        (1, 60, 90),  # light use, soft water
        (0, 0, 90),
        (0.5, 30, 90),
        (6, 60, 30),  # heavy use
        (6, 0, 30),
        (20, None, 30),
        (1, 180, 30),  # very hard water
        (0, 500, 30),
        (10, 1000, 30),
        (1, None, 60),  # unknown hardness counts as 120 mg/L
        (1, 120, 60),
        (3.5, None, 45),  # 1 - 0.5 * 0.5 = 0.75
        (2, 142.784, 45),  # 8 °dH, two shots a day
        (1, 75, 82),  # 60 * 0.125 = 7.5 rounds up to 8
        (1, 105, 67),  # 60 * 0.375 = 22.5 rounds up to 23
        (3.5, 60, 60),
        (-3, -50, 90),
    ],
)
def test_recommended_descale_days(
    shots_per_day: float, hardness: float | None, expected: int
) -> None:
    """Light use with soft water gives 90 days, heavy use or hard water 30."""
    assert recommended_descale_days(shots_per_day, hardness) == expected


SHOTS_PER_DAY = st.floats(min_value=0, max_value=30, allow_nan=False)
HARDNESS = st.floats(min_value=0, max_value=1000, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(shots_per_day=SHOTS_PER_DAY, hardness=st.none() | HARDNESS)
def test_recommended_descale_days_range(
    shots_per_day: float, hardness: float | None
) -> None:
    """The interval stays within 30..90 and is the nearest day to the blend."""
    days = recommended_descale_days(shots_per_day, hardness)
    assert isinstance(days, int)
    assert 30 <= days <= 90
    use = min(1.0, max(0.0, (shots_per_day - 1) / 5))
    mg_l = 120.0 if hardness is None else hardness
    hard = min(1.0, max(0.0, (mg_l - 60) / 120))
    exact = 90 - 60 * (1 - (1 - use) * (1 - hard))
    assert abs(days - exact) <= 0.5 + 1e-9


@settings(max_examples=100, deadline=None)
@given(
    shots_per_day=st.floats(min_value=0, max_value=1, allow_nan=False),
    hardness=st.floats(min_value=0, max_value=60, allow_nan=False),
)
def test_recommended_descale_days_light_and_soft(
    shots_per_day: float, hardness: float
) -> None:
    """At most a shot a day with soft water: the longest interval, 90 days."""
    assert recommended_descale_days(shots_per_day, hardness) == 90


@settings(max_examples=100, deadline=None)
@given(
    shots_per_day=SHOTS_PER_DAY,
    heavy=st.floats(min_value=6, max_value=100, allow_nan=False),
    hardness=st.none() | HARDNESS,
    very_hard=st.floats(min_value=180, max_value=1000, allow_nan=False),
)
def test_recommended_descale_days_heavy_or_hard(
    shots_per_day: float, heavy: float, hardness: float | None, very_hard: float
) -> None:
    """Six or more shots a day, or water of 180 mg/L or more: 30 days."""
    assert recommended_descale_days(heavy, hardness) == 30
    assert recommended_descale_days(shots_per_day, very_hard) == 30


@settings(max_examples=300, deadline=None)
@given(first=SHOTS_PER_DAY, second=SHOTS_PER_DAY, hardness=st.none() | HARDNESS)
def test_recommended_descale_days_monotonic_in_shots(
    first: float, second: float, hardness: float | None
) -> None:
    """More shots a day never give a longer interval."""
    low, high = sorted((first, second))
    assert recommended_descale_days(low, hardness) >= recommended_descale_days(
        high, hardness
    )


@settings(max_examples=300, deadline=None)
@given(shots_per_day=SHOTS_PER_DAY, first=HARDNESS, second=HARDNESS)
def test_recommended_descale_days_monotonic_in_hardness(
    shots_per_day: float, first: float, second: float
) -> None:
    """Harder water never gives a longer interval."""
    soft, hard = sorted((first, second))
    assert recommended_descale_days(shots_per_day, soft) >= recommended_descale_days(
        shots_per_day, hard
    )


@settings(max_examples=100, deadline=None)
@given(shots_per_day=SHOTS_PER_DAY)
def test_recommended_descale_days_unknown_hardness(shots_per_day: float) -> None:
    """Unmeasured water counts as moderately hard, 120 mg/L."""
    assert recommended_descale_days(shots_per_day, None) == recommended_descale_days(
        shots_per_day, 120.0
    )


# Small accessors


def test_typical_three_way_valve() -> None:
    """Every machine type has a default; only semi-automatics have the valve."""
    assert set(TYPICAL_THREE_WAY_VALVE) == set(MachineType)
    assert [kind for kind, valve in TYPICAL_THREE_WAY_VALVE.items() if valve] == [
        MachineType.SEMI_AUTOMATIC
    ]


@pytest.mark.parametrize(("backflush", "descale"), [(True, False), (False, True)])
def test_settings_tracks(backflush: bool, descale: bool) -> None:
    """Settings.tracks answers for each kind from its own flag."""
    limits = make_settings(track_backflush=backflush, track_descale=descale)
    assert limits.tracks(Kind.BACKFLUSH) is backflush
    assert limits.tracks(Kind.DESCALE) is descale


def test_machine_state_accessors() -> None:
    """MachineState.last and due_notified read the fields of the asked kind."""
    backflush = datetime(2026, 11, 1, 8, tzinfo=UTC)
    descale = datetime(2026, 10, 1, 8, tzinfo=UTC)
    state = MachineState(
        last_backflush=backflush, last_descale=descale, descale_due_notified=True
    )
    assert state.last(Kind.BACKFLUSH) == backflush
    assert state.last(Kind.DESCALE) == descale
    assert state.due_notified(Kind.BACKFLUSH) is False
    assert state.due_notified(Kind.DESCALE) is True
    state = replace(state, backflush_due_notified=True, descale_due_notified=False)
    assert state.due_notified(Kind.BACKFLUSH) is True
    assert state.due_notified(Kind.DESCALE) is False


def test_machine_state_defaults() -> None:
    """A new machine has no counts, no dates, no flags and no history."""
    state = MachineState()
    assert (state.shots_since_backflush, state.total_shots) == (0, 0)
    assert state.last(Kind.BACKFLUSH) is None
    assert state.last(Kind.DESCALE) is None
    assert not state.due_notified(Kind.BACKFLUSH)
    assert not state.due_notified(Kind.DESCALE)
    assert state.history == ()
    assert state.undo == ()
    assert state.source_baseline is None


def test_status_accessors() -> None:
    """Status.due and days_since read the fields of the asked kind."""
    state = MachineState(
        shots_since_backflush=3,
        total_shots=40,
        last_backflush=days_before(8),
        last_descale=days_before(20),
    )
    status = evaluate(make_settings(), state, NOW, ROME)
    assert status.due(Kind.BACKFLUSH) is DueStatus.DUE
    assert status.due(Kind.DESCALE) is DueStatus.OK
    assert status.days_since(Kind.BACKFLUSH) == 8
    assert status.days_since(Kind.DESCALE) == 20


# Counters


def test_record_shots() -> None:
    """Shots add to both counters and leave the old state alone."""
    state = MachineState(shots_since_backflush=2, total_shots=30)
    after = record_shots(state, 3)
    assert (after.shots_since_backflush, after.total_shots) == (5, 33)
    assert (state.shots_since_backflush, state.total_shots) == (2, 30)
    assert record_shots(after, 1).total_shots == 34


@pytest.mark.parametrize("count", [0, -1, -10])
def test_record_shots_needs_a_shot(count: int) -> None:
    """Counting fewer than one shot is refused."""
    with pytest.raises(ValueError, match="at least 1"):
        record_shots(MachineState(), count)


@given(
    shots=st.integers(min_value=0, max_value=20),
    water_ml=st.integers(min_value=0, max_value=5000),
    day=st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)),
    source=st.none() | st.floats(min_value=0, max_value=1e6),
    meter=st.none() | st.floats(min_value=0, max_value=1e6),
)
@example(shots=10, water_ml=1000, day=date(2026, 1, 1), source=None, meter=0.0)
def test_a_use_adds_what_it_holds(
    shots: int, water_ml: int, day: date, source: float | None, meter: float | None
) -> None:
    """A use (a journal line) adds its shots and water and sets the readings it holds."""
    state = record_shots(
        MachineState(source_baseline=3.0, water_baseline=9.0),
        4,
        day=date(2026, 1, 1),
        water_per_shot_ml=100,
    )
    use = model.Use(
        shots=shots,
        water_ml=water_ml,
        day=day if water_ml else None,
        source_baseline=source,
        water_baseline=meter,
    )
    after = model.apply_use(state, use)
    assert after.total_shots == state.total_shots + shots
    assert after.shots_since_backflush == state.shots_since_backflush + shots
    assert sum(ml for _, ml in after.water_log) == 400 + water_ml
    assert after.source_baseline == (3.0 if source is None else source)
    assert after.water_baseline == (9.0 if meter is None else meter)
    if not (shots or water_ml or source is not None or meter is not None):
        assert after is state
    if shots and water_ml == shots * 100 and source is None and meter is None:
        assert after == record_shots(state, shots, day=day, water_per_shot_ml=100)


@pytest.mark.parametrize(
    "use",
    [
        model.Use(shots=-1),
        model.Use(water_ml=-5, day=date(2026, 1, 1)),
        model.Use(shots=1, water_ml=100),
    ],
)
def test_a_use_never_takes_away_and_has_a_day(use: model.Use) -> None:
    """A use that would take shots or water away, or water on no day, is refused."""
    with pytest.raises(ValueError, match=r"never takes|on a day"):
        model.apply_use(MachineState(), use)


@pytest.mark.parametrize("shots", [0, 1, 7, 500])
def test_set_shots_since_backflush(shots: int) -> None:
    """The counter since the last backflush is corrected; the total stays."""
    state = MachineState(shots_since_backflush=12, total_shots=90)
    after = set_shots_since_backflush(state, shots)
    assert after.shots_since_backflush == shots
    assert after.total_shots == 90


def test_set_shots_since_backflush_not_negative() -> None:
    """A negative correction is refused."""
    with pytest.raises(ValueError, match="must not be negative"):
        set_shots_since_backflush(MachineState(), -1)


# Recording maintenance


def test_detected_record_keeps_its_source() -> None:
    """A record detected from an entity says so; undoing it takes it out whole."""
    state = record_shots(MachineState(), 3)
    after = record_maintenance(
        state, Kind.BACKFLUSH, NOW, source="binary_sensor.gaggia_pump"
    )
    assert after.history[-1].source == "binary_sensor.gaggia_pump"
    assert after.undo[-1].record.source == "binary_sensor.gaggia_pump"
    by_hand = record_maintenance(after, Kind.DESCALE, NOW)
    assert by_hand.history[-1].source is None
    undone, record = undo_last(after)
    assert record.source == "binary_sensor.gaggia_pump"
    assert undone.history == ()
    assert undone.shots_since_backflush == 3


def test_timestamp_source_readings_are_kept_per_kind() -> None:
    """Each kind remembers its own timestamp source's last value."""
    state = model.remember_source_reading(MachineState(), Kind.BACKFLUSH, NOW)
    assert state.source_reading(Kind.BACKFLUSH) == NOW
    assert state.source_reading(Kind.DESCALE) is None
    state = model.remember_source_reading(state, Kind.DESCALE, NOW - timedelta(days=1))
    assert state.source_reading(Kind.DESCALE) == NOW - timedelta(days=1)
    assert state.source_reading(Kind.BACKFLUSH) == NOW


def test_record_maintenance_needs_a_time_zone() -> None:
    """A naive datetime is refused: the moment would be ambiguous."""
    naive = datetime(2026, 11, 28, 9, 30, tzinfo=UTC).replace(tzinfo=None)
    with pytest.raises(ValueError, match="timezone-aware"):
        record_maintenance(MachineState(), Kind.BACKFLUSH, naive)


def test_record_first_backflush() -> None:
    """The first backflush becomes the last one and restarts the shot counter."""
    state = MachineState(
        shots_since_backflush=9, total_shots=50, backflush_due_notified=True
    )
    after = record_maintenance(state, Kind.BACKFLUSH, NOW, "Cafiza")
    assert after.last_backflush == NOW
    assert after.last_backflush is not None
    assert after.last_backflush.tzinfo is UTC
    assert after.shots_since_backflush == 0
    assert after.total_shots == 50
    # The flag clears with the next note_due_edges, once it is not due.
    assert after.backflush_due_notified is True
    assert after.last_descale is None
    record = Record(
        kind=Kind.BACKFLUSH,
        performed_at=NOW.astimezone(UTC),
        note="Cafiza",
        shots_since_backflush=9,
        total_shots=50,
    )
    assert after.history == (record,)
    assert after.undo == (
        UndoStep(
            record=record,
            applied=True,
            previous_last=None,
            previous_shots_since_backflush=9,
            previous_due_notified=True,
        ),
    )


def test_record_descale_keeps_shots() -> None:
    """A descale moves its own date and flag only; the shot counter stays."""
    state = MachineState(
        shots_since_backflush=9,
        total_shots=50,
        last_backflush=days_before(3),
        backflush_due_notified=True,
        descale_due_notified=True,
    )
    after = record_maintenance(state, Kind.DESCALE, NOW)
    assert after.last_descale == NOW
    assert after.descale_due_notified is True
    assert after.shots_since_backflush == 9
    assert after.last_backflush == state.last_backflush
    assert after.backflush_due_notified is True
    assert after.history[0].note is None
    assert after.undo[-1].previous_due_notified is True


def test_record_newer_and_equal_moments_apply() -> None:
    """A record as new as the last one, or newer, becomes the last one."""
    first = record_maintenance(MachineState(), Kind.BACKFLUSH, days_before(5))
    first = record_shots(first, 4)
    same = record_maintenance(first, Kind.BACKFLUSH, days_before(5))
    assert same.undo[-1].applied
    assert same.shots_since_backflush == 0
    first = record_shots(first, 1)
    newer = record_maintenance(first, Kind.BACKFLUSH, days_before(2))
    assert newer.undo[-1].applied
    assert newer.last_backflush == days_before(2)
    assert newer.shots_since_backflush == 0


@pytest.mark.parametrize("kind", list(Kind))
def test_record_back_dated_only_joins_history(kind: Kind) -> None:
    """A record older than the last one joins the history and changes nothing else."""
    state = MachineState(
        shots_since_backflush=6,
        total_shots=60,
        last_backflush=days_before(2),
        last_descale=days_before(2),
        backflush_due_notified=True,
        descale_due_notified=True,
    )
    after = record_maintenance(state, kind, days_before(10), "forgot to log it")
    assert replace(after, history=(), undo=()) == state
    assert [record.performed_at for record in after.history] == [days_before(10)]
    assert after.undo[-1].applied is False
    assert after.undo[-1].previous_last == days_before(2)


def test_record_converts_to_utc() -> None:
    """Records and last dates are kept in UTC, as the same instant."""
    moment = datetime(2026, 3, 29, 3, 30, tzinfo=ROME)
    after = record_maintenance(MachineState(), Kind.DESCALE, moment)
    assert after.last_descale == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert after.last_descale is not None
    assert after.last_descale.tzinfo is UTC
    assert after.history[0].performed_at.tzinfo is UTC


def test_history_is_sorted_by_performed_at() -> None:
    """Back-dated records take their place in time, whatever the order entered."""
    state = MachineState()
    for days, kind in [(3, Kind.BACKFLUSH), (9, Kind.DESCALE), (1, Kind.DESCALE)]:
        state = record_maintenance(state, kind, days_before(days))
    state = record_maintenance(state, Kind.BACKFLUSH, days_before(6))
    assert [record.performed_at for record in state.history] == [
        days_before(9),
        days_before(6),
        days_before(3),
        days_before(1),
    ]
    assert state.last_backflush == days_before(3)
    assert state.last_descale == days_before(1)


def test_history_and_undo_are_bounded() -> None:
    """The history keeps the newest HISTORY_LIMIT records, undo the last UNDO_LIMIT."""
    start = datetime(2026, 1, 1, 8, tzinfo=UTC)
    state = MachineState()
    for hours in range(HISTORY_LIMIT + 5):
        state = record_maintenance(
            state, Kind.BACKFLUSH, start + timedelta(hours=hours)
        )
    assert len(state.history) == HISTORY_LIMIT
    assert state.history[0].performed_at == start + timedelta(hours=5)
    assert state.history[-1].performed_at == start + timedelta(hours=HISTORY_LIMIT + 4)
    assert len(state.undo) == UNDO_LIMIT
    # Back-dated into the kept range: joins and pushes out the oldest.
    middle = start + timedelta(hours=100, minutes=30)
    joined = record_maintenance(state, Kind.DESCALE, middle)
    assert len(joined.history) == HISTORY_LIMIT
    assert joined.history[0].performed_at == start + timedelta(hours=6)
    assert any(record.performed_at == middle for record in joined.history)
    # Back-dated beyond the kept range: dropped at once, yet undoable.
    ancient = record_maintenance(state, Kind.BACKFLUSH, start - timedelta(days=1))
    assert ancient.history == state.history
    assert ancient.undo[-1].applied is False
    assert len(ancient.undo) == UNDO_LIMIT
    undone, record = undo_last(ancient)
    assert record.performed_at == start - timedelta(days=1)
    assert undone.history == state.history
    assert undone.undo == ancient.undo[:-1]


def test_undo_is_bounded_to_undo_limit() -> None:
    """Only the latest UNDO_LIMIT records can be taken back."""
    state = MachineState()
    for hours in range(UNDO_LIMIT + 3):
        state = record_maintenance(
            state,
            Kind.DESCALE,
            datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=hours),
        )
    for _ in range(UNDO_LIMIT):
        state, _record = undo_last(state)
    assert len(state.history) == 3
    assert state.last_descale == datetime(2026, 1, 1, 2, tzinfo=UTC)
    with pytest.raises(NothingToUndoError):
        undo_last(state)


# Undo


def test_undo_with_nothing_to_undo() -> None:
    """Undo without any record is refused."""
    with pytest.raises(NothingToUndoError):
        undo_last(MachineState())


def test_undo_backflush_keeps_later_shots() -> None:
    """Shots pulled after a backflush stay counted when it is taken back."""
    earlier = days_before(9)
    state = MachineState(
        shots_since_backflush=15,
        total_shots=100,
        last_backflush=earlier,
        backflush_due_notified=True,
    )
    state = record_maintenance(state, Kind.BACKFLUSH, days_before(1), "oops")
    state = record_shots(state, 3)
    undone, record = undo_last(state)
    assert record.kind is Kind.BACKFLUSH
    assert record.note == "oops"
    assert record.shots_since_backflush == 15
    assert undone.shots_since_backflush == 18
    assert undone.total_shots == 103
    assert undone.last_backflush == earlier
    assert undone.backflush_due_notified is True
    assert undone.history == ()
    assert undone.undo == ()


def test_undo_backflush_after_correction() -> None:
    """A corrected counter after a backflush is added to the one before it."""
    state = record_maintenance(
        MachineState(shots_since_backflush=5, total_shots=5), Kind.BACKFLUSH, NOW
    )
    state = set_shots_since_backflush(state, 2)
    undone, _record = undo_last(state)
    assert undone.shots_since_backflush == 7
    assert undone.last_backflush is None


def test_undo_descale_leaves_shots() -> None:
    """Taking back a descale restores its date and flag and no counter."""
    earlier = days_before(70)
    state = MachineState(
        shots_since_backflush=4,
        total_shots=10,
        last_descale=earlier,
        descale_due_notified=True,
    )
    state = record_maintenance(state, Kind.DESCALE, days_before(1))
    state = record_shots(state, 2)
    undone, record = undo_last(state)
    assert record.kind is Kind.DESCALE
    assert undone.last_descale == earlier
    assert undone.descale_due_notified is True
    assert undone.shots_since_backflush == 6
    assert undone.total_shots == 12


def test_undo_back_dated_record_only_leaves_history() -> None:
    """Taking back a record that did not apply only removes it from the history."""
    state = record_maintenance(MachineState(), Kind.BACKFLUSH, days_before(1))
    state = record_shots(state, 4)
    state = replace(state, backflush_due_notified=True)
    back_dated = record_maintenance(state, Kind.BACKFLUSH, days_before(5))
    undone, record = undo_last(back_dated)
    assert record.performed_at == days_before(5)
    assert undone == state


def test_undo_removes_one_of_identical_records() -> None:
    """Two identical records: undo removes exactly one."""
    state = record_maintenance(MachineState(), Kind.DESCALE, days_before(3))
    state = record_maintenance(state, Kind.DESCALE, days_before(3))
    assert state.history[0] == state.history[1]
    undone, _record = undo_last(state)
    assert len(undone.history) == 1
    assert undone.last_descale == days_before(3)


def test_undo_steps_back_in_order() -> None:
    """Several records are taken back newest first, back to the start."""
    start = MachineState(shots_since_backflush=3, total_shots=3)
    state = record_maintenance(start, Kind.BACKFLUSH, days_before(10))
    state = record_shots(state, 2)
    state = record_maintenance(state, Kind.DESCALE, days_before(8))
    state = record_maintenance(state, Kind.BACKFLUSH, days_before(4))
    state = record_shots(state, 1)
    kinds = []
    while state.undo:
        state, record = undo_last(state)
        kinds.append(record.kind)
    assert kinds == [Kind.BACKFLUSH, Kind.DESCALE, Kind.BACKFLUSH]
    assert state == replace(start, shots_since_backflush=6, total_shots=6)


# Local days


@pytest.mark.parametrize(
    ("tz", "earlier", "later", "days"),
    [
        # Rome, clocks forward on 2026-03-29 (a 23-hour day).
        (ROME, (2026, 3, 28, 23, 30), (2026, 3, 29, 0, 30), 1),
        (ROME, (2026, 3, 28, 0, 30), (2026, 3, 29, 0, 15), 1),  # 22 h 45 min
        (ROME, (2026, 3, 29, 0, 0), (2026, 3, 29, 23, 59), 0),
        (ROME, (2026, 3, 29, 1, 59), (2026, 3, 29, 3, 0), 0),
        (ROME, (2026, 3, 22, 12, 0), (2026, 3, 29, 11, 0), 7),  # 6 d 22 h
        # Rome, clocks back on 2026-10-25 (a 25-hour day).
        (ROME, (2026, 10, 24, 23, 30), (2026, 10, 25, 0, 30), 1),
        (ROME, (2026, 10, 25, 0, 0), (2026, 10, 25, 23, 59), 0),  # 24 h 59 min
        (ROME, (2026, 10, 24, 23, 30), (2026, 10, 26, 0, 30), 2),
        (ROME, (2026, 10, 18, 12, 0), (2026, 10, 25, 12, 0), 7),  # 7 d 1 h
        # New York, forward on 2026-03-08 and back on 2026-11-01.
        (NEW_YORK, (2026, 3, 7, 23, 30), (2026, 3, 8, 0, 30), 1),
        (NEW_YORK, (2026, 3, 8, 0, 0), (2026, 3, 8, 23, 59), 0),
        (NEW_YORK, (2026, 10, 31, 23, 30), (2026, 11, 1, 0, 30), 1),
        (NEW_YORK, (2026, 11, 1, 0, 0), (2026, 11, 1, 23, 59), 0),
        (NEW_YORK, (2026, 11, 1, 23, 30), (2026, 11, 2, 0, 30), 1),
        # Sydney, back on 2026-04-05 and forward on 2026-10-04.
        (SYDNEY, (2026, 4, 4, 23, 30), (2026, 4, 5, 0, 30), 1),
        (SYDNEY, (2026, 4, 5, 0, 0), (2026, 4, 5, 23, 59), 0),
        (SYDNEY, (2026, 10, 3, 23, 30), (2026, 10, 4, 0, 30), 1),
        (SYDNEY, (2026, 10, 4, 0, 0), (2026, 10, 4, 23, 59), 0),
        (SYDNEY, (2026, 6, 1, 9, 0), (2026, 6, 1, 20, 0), 0),  # UTC dates differ
        # Santiago, where the day of 2026-09-06 starts at 01:00.
        (SANTIAGO, (2026, 9, 5, 23, 30), (2026, 9, 6, 1, 0), 1),
    ],
)
def test_days_between_local_dates(
    tz: ZoneInfo,
    earlier: tuple[int, int, int, int, int],
    later: tuple[int, int, int, int, int],
    days: int,
) -> None:
    """Day counts compare local calendar dates, across daylight saving changes."""
    assert days_between(
        datetime(*earlier, tzinfo=tz), datetime(*later, tzinfo=tz), tz
    ) == (days)


def test_days_between_uses_the_given_zone() -> None:
    """The same two moments are on one day in Sydney and on two in UTC."""
    earlier = datetime(2026, 6, 1, 9, 0, tzinfo=SYDNEY)  # 2026-05-31 23:00 UTC
    later = datetime(2026, 6, 1, 20, 0, tzinfo=SYDNEY)  # 2026-06-01 10:00 UTC
    assert days_between(earlier, later, SYDNEY) == 0
    assert days_between(earlier, later, UTC) == 1
    # And the zone of the datetimes themselves does not matter.
    assert (
        days_between(earlier.astimezone(UTC), later.astimezone(NEW_YORK), SYDNEY) == 0
    )


def test_days_between_ambiguous_hour() -> None:
    """Both passes through Rome's repeated hour are on the same day."""
    first = datetime(2026, 10, 25, 2, 30, fold=0, tzinfo=ROME)
    second = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ROME)
    assert second.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=1)
    assert days_between(first, second, ROME) == 0
    assert days_between(datetime(2026, 10, 24, 2, 30, tzinfo=ROME), second, ROME) == 1


@pytest.mark.parametrize("tz", ZONES)
def test_days_between_never_negative(tz: tzinfo) -> None:
    """A clock going back, or a future date, counts zero days, not fewer."""
    later = datetime(2026, 11, 28, 9, 30, tzinfo=tz)
    assert days_between(later, later - timedelta(days=3), tz) == 0
    assert days_between(later, later - timedelta(minutes=1), tz) == 0
    assert days_between(later, later, tz) == 0


def test_local_date() -> None:
    """The calendar date of a moment depends on the zone."""
    moment = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
    assert local_date(moment, UTC) == date(2026, 11, 28)
    assert local_date(moment, ROME) == date(2026, 11, 29)
    assert local_date(moment, NEW_YORK) == date(2026, 11, 28)
    assert local_date(datetime(2026, 11, 28, 12, tzinfo=UTC), SYDNEY) == date(
        2026, 11, 28
    )
    assert local_date(datetime(2026, 11, 28, 14, tzinfo=UTC), SYDNEY) == date(
        2026, 11, 29
    )


@pytest.mark.parametrize(
    ("tz", "day", "start"),
    [
        (ROME, date(2026, 11, 28), datetime(2026, 11, 27, 23, tzinfo=UTC)),
        (ROME, date(2026, 3, 29), datetime(2026, 3, 28, 23, tzinfo=UTC)),
        (ROME, date(2026, 3, 30), datetime(2026, 3, 29, 22, tzinfo=UTC)),
        (ROME, date(2026, 10, 25), datetime(2026, 10, 24, 22, tzinfo=UTC)),
        (ROME, date(2026, 10, 26), datetime(2026, 10, 25, 23, tzinfo=UTC)),
        (NEW_YORK, date(2026, 3, 8), datetime(2026, 3, 8, 5, tzinfo=UTC)),
        (NEW_YORK, date(2026, 11, 2), datetime(2026, 11, 2, 5, tzinfo=UTC)),
        (SYDNEY, date(2026, 4, 5), datetime(2026, 4, 4, 13, tzinfo=UTC)),
        (SYDNEY, date(2026, 10, 4), datetime(2026, 10, 3, 14, tzinfo=UTC)),
        (UTC, date(2026, 11, 28), datetime(2026, 11, 28, tzinfo=UTC)),
        # Santiago falls back at midnight: 23:00-24:00 on 2026-04-04 happens twice.
        (SANTIAGO, date(2026, 4, 5), datetime(2026, 4, 5, 4, tzinfo=UTC)),
    ],
)
def test_start_of_local_day(tz: tzinfo, day: date, start: datetime) -> None:
    """The first moment of a local day, in UTC."""
    result = start_of_local_day(day, tz)
    assert result == start
    assert result.tzinfo is UTC
    assert is_first_moment_of(result, day, tz)


@pytest.mark.parametrize(
    ("tz", "day", "start"),
    [
        # Chile: 2026-09-05 23:59:59 -04 is followed by 2026-09-06 01:00:00 -03.
        (SANTIAGO, date(2026, 9, 6), datetime(2026, 9, 6, 1, tzinfo=SANTIAGO)),
        # Lebanon: 2026-03-28 23:59:59 +02 is followed by 2026-03-29 01:00:00 +03.
        (BEIRUT, date(2026, 3, 29), datetime(2026, 3, 29, 1, tzinfo=BEIRUT)),
    ],
)
def test_start_of_local_day_when_midnight_is_skipped(
    tz: ZoneInfo, day: date, start: datetime
) -> None:
    """Where clocks jump over midnight, the day starts at the jump."""
    midnight = datetime.combine(day, time(), tzinfo=tz)
    # The zone data does skip this midnight: it does not survive a round trip.
    assert midnight.astimezone(UTC).astimezone(tz).time() != time()
    result = start_of_local_day(day, tz)
    assert result == start
    assert result.tzinfo is UTC
    assert result.astimezone(tz).time() == time(1)
    assert is_first_moment_of(result, day, tz)


@settings(max_examples=300, deadline=None)
@given(
    tz=st.sampled_from(ZONES),
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
)
def test_start_of_local_day_is_the_first_moment(tz: tzinfo, day: date) -> None:
    """In every zone on every day, the result is the day's first instant, in UTC."""
    result = start_of_local_day(day, tz)
    assert result.tzinfo is UTC
    assert is_first_moment_of(result, day, tz)


# Evaluation


def test_evaluate_nothing_known() -> None:
    """Without any date only the shot rule applies and nothing changes at midnight."""
    state = MachineState(shots_since_backflush=3, total_shots=7)
    status = evaluate(make_settings(), state, NOW, ROME)
    assert status == Status(
        shots_since_backflush=3,
        total_shots=7,
        last_backflush=None,
        last_descale=None,
        days_since_backflush=None,
        days_since_descale=None,
        shots_until_backflush=11,
        backflush_days_limit_at=None,
        next_descale=None,
        backflush=DueStatus.OK,
        descale=None,
        next_change=None,
    )


def test_evaluate_not_tracked() -> None:
    """What is not tracked has no status, no counts and no dates."""
    state = MachineState(
        shots_since_backflush=99,
        total_shots=99,
        last_backflush=days_before(30),
        last_descale=days_before(300),
    )
    limits = make_settings(track_backflush=False, track_descale=False)
    status = evaluate(limits, state, NOW, ROME)
    assert status.backflush is None
    assert status.descale is None
    assert status.last_backflush is None
    assert status.last_descale is None
    assert status.days_since_backflush is None
    assert status.days_since_descale is None
    assert status.shots_until_backflush is None
    assert status.backflush_days_limit_at is None
    assert status.next_descale is None
    assert status.next_change is None
    assert status.shots_since_backflush == 99
    assert status.total_shots == 99


@pytest.mark.parametrize(
    ("limit", "shots", "expected"),
    [
        (14, 0, DueStatus.OK),
        (14, 11, DueStatus.OK),  # 55 < 56
        (14, 12, DueStatus.DUE_SOON),  # 60 >= 56
        (14, 13, DueStatus.DUE_SOON),
        (14, 14, DueStatus.DUE),
        (14, 40, DueStatus.DUE),
        (10, 7, DueStatus.OK),
        (10, 8, DueStatus.DUE_SOON),  # exactly 80 %
        (1, 0, DueStatus.OK),
        (1, 1, DueStatus.DUE),
    ],
)
def test_backflush_by_shots(limit: int, shots: int, expected: DueStatus) -> None:
    """Due from the shot limit, due soon from 80 % of it."""
    state = MachineState(shots_since_backflush=shots, total_shots=shots)
    status = evaluate(make_settings(shots=limit), state, NOW, ROME)
    assert status.backflush is expected
    assert status.shots_until_backflush == max(0, limit - shots)


@pytest.mark.parametrize(
    ("days", "shots", "expected"),
    [
        (0, 1, DueStatus.OK),
        (5, 1, DueStatus.OK),  # 25 < 28
        (6, 1, DueStatus.DUE_SOON),  # 30 >= 28
        (6, 0, DueStatus.OK),  # no coffee, no oil
        (7, 1, DueStatus.DUE),
        (7, 0, DueStatus.OK),
        (40, 0, DueStatus.OK),
        (40, 2, DueStatus.DUE),
        (3, 12, DueStatus.DUE_SOON),  # by shots
        (6, 14, DueStatus.DUE),  # by shots
    ],
)
def test_backflush_by_days(days: int, shots: int, expected: DueStatus) -> None:
    """Due after the day limit, once a shot was pulled since."""
    state = MachineState(
        shots_since_backflush=shots, total_shots=shots, last_backflush=days_before(days)
    )
    status = evaluate(make_settings(shots=14, days=7), state, NOW, ROME)
    assert status.days_since_backflush == days
    assert status.backflush is expected
    assert status.last_backflush == days_before(days)


def test_backflush_days_limit_at() -> None:
    """The day rule starts at the local midnight a limit's days after the last one."""
    last = datetime(2026, 3, 25, 20, 0, tzinfo=ROME)
    state = MachineState(shots_since_backflush=1, total_shots=1, last_backflush=last)
    limits = make_settings(days=7)
    limit_at = evaluate(limits, state, last, ROME).backflush_days_limit_at
    # 2026-04-01 00:00 in Rome, already on summer time.
    assert limit_at == datetime(2026, 3, 31, 22, tzinfo=UTC)
    assert limit_at is not None
    just_before = evaluate(limits, state, limit_at - timedelta(microseconds=1), ROME)
    assert just_before.backflush is DueStatus.DUE_SOON
    assert just_before.days_since_backflush == 6
    at_limit = evaluate(limits, state, limit_at, ROME)
    assert at_limit.backflush is DueStatus.DUE
    assert at_limit.days_since_backflush == 7


def test_backflush_days_rule_across_spring_forward() -> None:
    """Last backflush 23:30 the night before clocks go forward: a day an hour later."""
    last = datetime(2026, 3, 28, 23, 30, tzinfo=ROME)
    now = datetime(2026, 3, 29, 0, 30, tzinfo=ROME)
    state = MachineState(shots_since_backflush=1, total_shots=1, last_backflush=last)
    status = evaluate(make_settings(days=1), state, now, ROME)
    assert status.days_since_backflush == 1
    assert status.backflush is DueStatus.DUE
    # The next day of the short day starts 23 hours after its own start.
    assert status.next_change == datetime(2026, 3, 29, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0, DueStatus.OK),
        (47, DueStatus.OK),  # 235 < 240
        (48, DueStatus.DUE_SOON),  # exactly 80 %
        (59, DueStatus.DUE_SOON),
        (60, DueStatus.DUE),
        (61, DueStatus.DUE),
    ],
)
def test_descale(days: int, expected: DueStatus) -> None:
    """Due after the interval, due soon from 80 % of it, shots or not."""
    state = MachineState(last_descale=days_before(days))
    status = evaluate(make_settings(descale_days=60), state, NOW, ROME)
    assert status.days_since_descale == days
    assert status.descale is expected
    assert status.last_descale == days_before(days)
    assert status.next_descale == start_of_local_day(
        TODAY - timedelta(days=days) + timedelta(days=60), ROME
    )


def test_next_descale_across_daylight_saving() -> None:
    """The next descale is local midnight, whichever offset applies then."""
    state = MachineState(last_descale=datetime(2026, 10, 10, 18, tzinfo=ROME))
    status = evaluate(make_settings(descale_days=30), state, NOW, ROME)
    # 2026-11-09 00:00 in Rome, on winter time.
    assert status.next_descale == datetime(2026, 11, 8, 23, tzinfo=UTC)
    assert status.descale is DueStatus.DUE
    assert status.days_since_descale == 49


def test_descale_unknown_or_untracked() -> None:
    """No last descale, or descale not tracked: no descale status at all."""
    unknown = evaluate(make_settings(), MachineState(), NOW, ROME)
    assert unknown.descale is None
    assert unknown.next_descale is None
    assert unknown.days_since_descale is None
    state = MachineState(last_descale=days_before(100))
    untracked = evaluate(make_settings(track_descale=False), state, NOW, ROME)
    assert untracked.descale is None
    assert untracked.next_descale is None
    assert untracked.last_descale is None
    assert untracked.next_change is None


@pytest.mark.parametrize(
    ("tz", "now", "next_change"),
    [
        (ROME, NOW, datetime(2026, 11, 28, 23, tzinfo=UTC)),
        (
            ROME,
            datetime(2026, 3, 28, 22, tzinfo=ROME),
            datetime(2026, 3, 28, 23, tzinfo=UTC),
        ),
        (
            ROME,
            datetime(2026, 3, 29, 12, tzinfo=ROME),
            datetime(2026, 3, 29, 22, tzinfo=UTC),
        ),
        (
            ROME,
            datetime(2026, 10, 25, 12, tzinfo=ROME),
            datetime(2026, 10, 25, 23, tzinfo=UTC),
        ),
        # Exactly at midnight: the change is the following midnight.
        (
            ROME,
            datetime(2026, 11, 29, tzinfo=ROME),
            datetime(2026, 11, 29, 23, tzinfo=UTC),
        ),
        (
            NEW_YORK,
            datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK),
            datetime(2026, 11, 2, 5, tzinfo=UTC),
        ),
        (
            SYDNEY,
            datetime(2026, 10, 3, 20, tzinfo=SYDNEY),
            datetime(2026, 10, 3, 14, tzinfo=UTC),
        ),
        (
            SANTIAGO,
            datetime(2026, 9, 5, 12, tzinfo=SANTIAGO),
            datetime(2026, 9, 6, 4, tzinfo=UTC),
        ),
    ],
)
def test_next_change(tz: ZoneInfo, now: datetime, next_change: datetime) -> None:
    """Day counts change at the coming local midnight."""
    state = MachineState(last_backflush=datetime(2026, 1, 1, tzinfo=UTC))
    status = evaluate(make_settings(track_descale=False), state, now, tz)
    assert status.next_change == next_change
    assert status.next_change.tzinfo is UTC


def test_next_change_from_descale_only() -> None:
    """A descale date alone is enough for a next change."""
    state = MachineState(last_descale=days_before(3))
    status = evaluate(make_settings(track_backflush=False), state, NOW, ROME)
    assert status.next_change == datetime(2026, 11, 28, 23, tzinfo=UTC)
    assert status.backflush is None
    assert status.descale is DueStatus.OK


def test_evaluate_before_the_last_date() -> None:
    """A clock behind the last dates counts zero days, not fewer."""
    state = MachineState(
        shots_since_backflush=1,
        total_shots=1,
        last_backflush=NOW + timedelta(days=3),
        last_descale=NOW + timedelta(days=3),
    )
    status = evaluate(make_settings(), state, NOW, ROME)
    assert status.days_since_backflush == 0
    assert status.days_since_descale == 0
    assert status.backflush is DueStatus.OK
    assert status.descale is DueStatus.OK


# Due edges


def due_status(backflush: DueStatus | None, descale: DueStatus | None) -> Status:
    """Return a status with only the due states that note_due_edges reads."""
    return Status(
        shots_since_backflush=0,
        total_shots=0,
        last_backflush=None,
        last_descale=None,
        days_since_backflush=None,
        days_since_descale=None,
        shots_until_backflush=None,
        backflush_days_limit_at=None,
        next_descale=None,
        backflush=backflush,
        descale=descale,
        next_change=None,
    )


def test_due_edge_fires_once_per_due_period() -> None:
    """The first time it is due it is announced; not again until it was not due."""
    state = MachineState(last_backflush=days_before(3))
    state, due = note_due_edges(state, due_status(DueStatus.DUE_SOON, None))
    assert due == ()
    assert not state.backflush_due_notified
    state, due = note_due_edges(state, due_status(DueStatus.DUE, None))
    assert due == (Kind.BACKFLUSH,)
    assert state.backflush_due_notified
    assert state.last_backflush == days_before(3)
    state, due = note_due_edges(state, due_status(DueStatus.DUE, None))
    assert due == ()
    assert state.backflush_due_notified
    state, due = note_due_edges(state, due_status(DueStatus.OK, None))
    assert due == ()
    assert not state.backflush_due_notified
    state, due = note_due_edges(state, due_status(DueStatus.DUE, None))
    assert due == (Kind.BACKFLUSH,)


def test_due_edges_of_both_kinds() -> None:
    """Both kinds can become due together; each has its own flag."""
    state = MachineState(last_descale=days_before(90))
    state, due = note_due_edges(state, due_status(DueStatus.DUE, DueStatus.DUE))
    assert due == (Kind.BACKFLUSH, Kind.DESCALE)
    assert state.backflush_due_notified
    assert state.descale_due_notified
    assert state.last_descale == days_before(90)
    state, due = note_due_edges(state, due_status(DueStatus.OK, DueStatus.DUE))
    assert due == ()
    assert not state.backflush_due_notified
    assert state.descale_due_notified


def test_due_edge_clears_when_untracked() -> None:
    """A kind no longer tracked (no status) is not due, so its flag clears."""
    state = MachineState(backflush_due_notified=True, descale_due_notified=True)
    state, due = note_due_edges(state, due_status(None, None))
    assert due == ()
    assert state == MachineState()


def test_due_edge_nothing_to_change() -> None:
    """When flags already match, the state comes back unchanged."""
    state = MachineState(descale_due_notified=True, total_shots=5)
    after, due = note_due_edges(state, due_status(DueStatus.DUE_SOON, DueStatus.DUE))
    assert due == ()
    assert after == state


def test_undo_restores_the_due_flag() -> None:
    """Taking back a backflush that cleared an announced due brings back the flag."""
    limits = make_settings(shots=14)
    state = MachineState(shots_since_backflush=14, total_shots=14)
    state, due = note_due_edges(state, evaluate(limits, state, NOW, ROME))
    assert due == (Kind.BACKFLUSH,)
    state = record_maintenance(state, Kind.BACKFLUSH, NOW)
    state, due = note_due_edges(state, evaluate(limits, state, NOW, ROME))
    assert due == ()
    assert not state.backflush_due_notified
    state, _record = undo_last(state)
    assert state.backflush_due_notified
    state, due = note_due_edges(state, evaluate(limits, state, NOW, ROME))
    assert due == ()


# Shot rate and backflush prediction


def real_time_history(*steps: tuple[int, int]) -> MachineState:
    """Return a state built as it happens: (days before NOW, shots pulled then).

    A maintenance record is entered at each step, then the shots are pulled.
    """
    state = MachineState(shots_since_backflush=70, total_shots=70)
    for days, shots in steps:
        state = record_maintenance(state, Kind.DESCALE, NOW - timedelta(days=days))
        if shots:
            state = record_shots(state, shots)
    return state


def test_recent_shot_rate_without_records() -> None:
    """Without any record the typical rate given by the user is used."""
    state = MachineState(shots_since_backflush=3, total_shots=300)
    assert recent_shot_rate(state, NOW, 2.5) == 2.5


def test_recent_shot_rate_ignores_old_records() -> None:
    """Records older than four weeks do not measure the rate."""
    state = real_time_history((29, 50))
    assert recent_shot_rate(state, NOW, 2.5) == 2.5


def test_recent_shot_rate_from_the_oldest_recent_record() -> None:
    """The rate runs from the oldest record of the last four weeks to now."""
    state = real_time_history((40, 100), (20, 30), (5, 30))
    # 60 shots since 20 days ago; the record 40 days ago is outside the window.
    assert recent_shot_rate(state, NOW, 2.5) == 3.0


def test_recent_shot_rate_window_edge() -> None:
    """A record exactly four weeks old is inside the window."""
    state = real_time_history((28, 56))
    assert recent_shot_rate(state, NOW, 9.0) == 2.0


@pytest.mark.parametrize(
    ("ago", "expected"),
    [
        (timedelta(hours=23, minutes=59), 2.5),
        (timedelta(days=1), 6.0),
        (timedelta(days=1, hours=12), 4.0),
        (-timedelta(days=1), 2.5),  # a record dated in the future
    ],
)
def test_recent_shot_rate_needs_a_day(ago: timedelta, expected: float) -> None:
    """Less than a day of data is not enough to measure a rate."""
    state = record_maintenance(MachineState(), Kind.BACKFLUSH, NOW - ago)
    state = record_shots(state, 6)
    assert recent_shot_rate(state, NOW, 2.5) == expected


def predict(
    state: MachineState, shots_per_day: float, limits: Settings | None = None
) -> date | None:
    """Predict the next backflush in Rome at NOW."""
    limits = limits or make_settings(shots=14, days=7)
    status = evaluate(limits, state, NOW, ROME)
    return predict_backflush(
        limits, state, status, today=TODAY, tz=ROME, shots_per_day=shots_per_day
    )


def test_predict_backflush_not_tracked() -> None:
    """Nothing to predict when backflush is not tracked."""
    state = MachineState(shots_since_backflush=13, total_shots=13)
    assert predict(state, 2, make_settings(track_backflush=False)) is None


@pytest.mark.parametrize(
    "state",
    [
        MachineState(shots_since_backflush=14, total_shots=14),
        MachineState(
            shots_since_backflush=1, total_shots=1, last_backflush=days_before(7)
        ),
    ],
)
def test_predict_backflush_already_due(state: MachineState) -> None:
    """When it is due, it is due today."""
    assert predict(state, 0) == TODAY
    assert predict(state, 5) == TODAY


@pytest.mark.parametrize(
    ("shots", "shots_per_day", "expected_days"),
    [
        (4, 2, 4),  # 10 to go at 2 a day: the 10th is pulled on day 4
        (4, 3, 3),  # 10 to go at 3 a day: 3.33 days
        (0, 1, 13),
        (13, 0.5, 1),
        (13, 2, 0),
        (13, 1, 0),  # the last shot needed is pulled today
        (13, 1.0000001, 0),
    ],
)
def test_predict_backflush_by_shots(
    shots: int, shots_per_day: float, expected_days: int
) -> None:
    """Without a last backflush, the shot limit at the given rate."""
    state = MachineState(shots_since_backflush=shots, total_shots=shots)
    assert predict(state, shots_per_day) == TODAY + timedelta(days=expected_days)


def test_predict_backflush_without_shots() -> None:
    """No shots expected and no last backflush: no prediction."""
    state = MachineState(shots_since_backflush=5, total_shots=5)
    assert predict(state, 0) is None
    assert predict(state, -1) is None


def test_predict_backflush_by_days() -> None:
    """With a last backflush, the day limit once a shot is pulled, if sooner."""
    last = days_before(3)
    pulled = MachineState(shots_since_backflush=1, total_shots=1, last_backflush=last)
    # No more shots expected, but one was pulled: the day limit, in four days.
    assert predict(pulled, 0) == TODAY + timedelta(days=4)
    # At 1 a day the shot limit is 13 days away; the day limit comes first.
    assert predict(pulled, 1) == TODAY + timedelta(days=4)
    # At 10 a day the shot limit comes first.
    assert predict(pulled, 10) == TODAY + timedelta(days=1)
    # Nothing pulled and nothing expected: no coffee, no oil, no prediction.
    idle = replace(pulled, shots_since_backflush=0)
    assert predict(idle, 0) is None
    assert predict(idle, 1) == TODAY + timedelta(days=4)


def test_predict_backflush_horizon() -> None:
    """A shot limit more than a year away is no prediction; the day limit still is."""
    limits = make_settings(shots=732, days=7)
    state = MachineState()
    assert predict(state, 2, limits) == TODAY + timedelta(days=365)
    assert predict(state, 1.99, limits) is None
    assert predict(state, 1e-300, limits) is None
    state = MachineState(last_backflush=days_before(3))
    assert predict(state, 1.99, limits) == TODAY + timedelta(days=4)
    assert predict(state, 1e-300, limits) == TODAY + timedelta(days=4)


def test_predict_backflush_day_limit_already_passed() -> None:
    """A day limit in the past with no shot since: due with the next shot, today."""
    state = MachineState(total_shots=50, last_backflush=days_before(10))
    assert predict(state, 0.5) == TODAY
    assert predict(state, 0) is None


@settings(max_examples=200, deadline=None)
@given(
    limits=LIMITS,
    now=MOMENTS,
    tz=st.sampled_from(ZONES),
    shots=st.integers(min_value=0, max_value=80),
    backflush_ago=st.none() | st.integers(min_value=0, max_value=40 * 1440),
    shots_per_day=st.floats(min_value=0, max_value=50),
)
def test_predict_backflush_properties(
    limits: Settings,
    now: datetime,
    tz: tzinfo,
    shots: int,
    backflush_ago: int | None,
    shots_per_day: float,
) -> None:
    """A prediction is never before today nor after the shot limit at that rate."""
    state = MachineState(
        shots_since_backflush=shots,
        total_shots=shots,
        last_backflush=None
        if backflush_ago is None
        else now - timedelta(minutes=backflush_ago),
    )
    status = evaluate(limits, state, now, tz)
    today = local_date(now, tz)
    predicted = predict_backflush(
        limits, state, status, today=today, tz=tz, shots_per_day=shots_per_day
    )
    if status.backflush is None:
        assert predicted is None
        return
    if status.backflush is DueStatus.DUE:
        assert predicted == today
        return
    days_to_limit = (
        (limits.backflush_interval_shots - shots) / shots_per_day
        if shots_per_day > 0
        else math.inf
    )
    if days_to_limit <= model.PREDICTION_HORIZON_DAYS:
        assert predicted is not None
        assert predicted <= today + timedelta(days=days_to_limit)
    elif status.backflush_days_limit_at is None:
        assert predicted is None
    if predicted is not None:
        assert predicted >= today
        if status.backflush_days_limit_at is not None:
            assert predicted <= max(
                today, local_date(status.backflush_days_limit_at, tz)
            )


# Properties over random use


def expected_backflush(
    limits: Settings, shots: int, days: int | None
) -> DueStatus | None:
    """Re-derive the backflush status from the written rules."""
    if not limits.track_backflush:
        return None
    by_days = days is not None and shots >= 1
    shot_limit = limits.backflush_interval_shots
    day_limit = limits.backflush_interval_days
    if shots >= shot_limit or (by_days and days >= day_limit):
        return DueStatus.DUE
    soon = Fraction(4, 5)
    if shots >= soon * shot_limit or (by_days and days >= soon * day_limit):
        return DueStatus.DUE_SOON
    return DueStatus.OK


def expected_descale(limits: Settings, days: int | None) -> DueStatus | None:
    """Re-derive the descale status from the written rules."""
    if days is None:
        return None
    if days >= limits.descale_interval_days:
        return DueStatus.DUE
    if days >= Fraction(4, 5) * limits.descale_interval_days:
        return DueStatus.DUE_SOON
    return DueStatus.OK


def expected_days(last: datetime | None, now: datetime, tz: tzinfo) -> int | None:
    """Count local calendar days the long way: from date ordinals."""
    if last is None:
        return None
    ordinal = now.astimezone(tz).toordinal() - last.astimezone(tz).toordinal()
    return max(0, ordinal)


def check_status(
    limits: Settings, state: MachineState, now: datetime, tz: tzinfo, status: Status
) -> None:
    """Check an evaluation against the rules, derived independently."""
    backflush_days = (
        expected_days(state.last_backflush, now, tz) if limits.track_backflush else None
    )
    descale_days = (
        expected_days(state.last_descale, now, tz) if limits.track_descale else None
    )
    assert status.days_since_backflush == backflush_days
    assert status.days_since_descale == descale_days
    assert status.backflush is expected_backflush(
        limits, state.shots_since_backflush, backflush_days
    )
    assert status.descale is expected_descale(limits, descale_days)
    assert status.shots_since_backflush == state.shots_since_backflush
    assert status.total_shots == state.total_shots
    if limits.track_backflush:
        assert status.last_backflush == state.last_backflush
        assert status.shots_until_backflush == max(
            0, limits.backflush_interval_shots - state.shots_since_backflush
        )
    else:
        assert status.last_backflush is None
        assert status.shots_until_backflush is None
    assert status.last_descale == (state.last_descale if limits.track_descale else None)
    # The day rule, the next descale and the next change are local midnights, and
    # the day counts reach their limits exactly when those moments have come.
    if backflush_days is None:
        assert status.backflush_days_limit_at is None
    else:
        limit_at = status.backflush_days_limit_at
        assert limit_at is not None
        assert limit_at.tzinfo is UTC
        assert is_first_moment_of(limit_at, limit_at.astimezone(tz).date(), tz)
        assert (now >= limit_at) is (backflush_days >= limits.backflush_interval_days)
    if descale_days is None:
        assert status.next_descale is None
    else:
        next_descale = status.next_descale
        assert next_descale is not None
        assert next_descale.tzinfo is UTC
        assert is_first_moment_of(next_descale, next_descale.astimezone(tz).date(), tz)
        assert (now >= next_descale) is (descale_days >= limits.descale_interval_days)
    if backflush_days is None and descale_days is None:
        assert status.next_change is None
    else:
        tomorrow = now.astimezone(tz).date() + timedelta(days=1)
        assert status.next_change is not None
        assert status.next_change > now
        assert is_first_moment_of(status.next_change, tomorrow, tz)


@settings(max_examples=300, deadline=None)
@given(
    limits=LIMITS,
    tz=st.sampled_from(ZONES),
    now=MOMENTS,
    shots=st.integers(min_value=0, max_value=100),
    backflush_ago=st.none() | st.integers(min_value=-2 * 1440, max_value=60 * 1440),
    descale_ago=st.none() | st.integers(min_value=-2 * 1440, max_value=200 * 1440),
)
def test_evaluate_follows_the_rules(
    limits: Settings,
    tz: tzinfo,
    now: datetime,
    shots: int,
    backflush_ago: int | None,
    descale_ago: int | None,
) -> None:
    """Any state evaluates as the rules say, whatever the zone and the moment."""
    state = MachineState(
        shots_since_backflush=shots,
        total_shots=shots,
        last_backflush=None
        if backflush_ago is None
        else now - timedelta(minutes=backflush_ago),
        last_descale=None
        if descale_ago is None
        else now - timedelta(minutes=descale_ago),
    )
    check_status(limits, state, now, tz, evaluate(limits, state, now, tz))


type Operation = tuple[str, int]


def minutes(most_days: int, least_days: int = 0) -> st.SearchStrategy[int]:
    """Return minutes spread over whole days and the hours within them."""
    return st.builds(
        lambda days, extra: days * 1440 + extra,
        st.integers(min_value=least_days, max_value=most_days),
        st.integers(min_value=0, max_value=1439),
    )


OPERATIONS: st.SearchStrategy[Operation] = st.one_of(
    st.tuples(st.just("shots"), st.integers(min_value=1, max_value=30)),
    st.tuples(st.just("set_shots"), st.integers(min_value=0, max_value=120)),
    # Minutes before now the maintenance was done (negative: a future date).
    st.tuples(st.just(Kind.BACKFLUSH.value), minutes(40, least_days=-1)),
    st.tuples(st.just(Kind.DESCALE.value), minutes(150, least_days=-1)),
    st.tuples(st.just("undo"), st.just(0)),
    # Minutes the clock moves on (now and then back, as clocks sometimes do).
    st.tuples(st.just("advance"), st.integers(min_value=-360, max_value=1440)),
    st.tuples(st.just("advance"), minutes(20)),
)


def apply_operation(
    state: MachineState, operation: Operation, now: datetime
) -> tuple[MachineState, datetime, frozenset[Kind]]:
    """Apply an operation; return the state, the time and the kinds restarted.

    A kind restarts when a record of it moves its last date, or when such a record
    is taken back: its due period, if any, is a new one.
    """
    name, value = operation
    if name == "shots":
        return record_shots(state, value), now, frozenset()
    if name == "set_shots":
        return set_shots_since_backflush(state, value), now, frozenset()
    if name == "advance":
        return state, now + timedelta(minutes=value), frozenset()
    if name == "undo":
        if not state.undo:
            with pytest.raises(NothingToUndoError):
                undo_last(state)
            return state, now, frozenset()
        step = state.undo[-1]
        state, record = undo_last(state)
        assert record == step.record
        return state, now, frozenset({record.kind} if step.applied else ())
    kind = Kind(name)
    state = record_maintenance(state, kind, now - timedelta(minutes=value))
    return state, now, frozenset({kind} if state.undo[-1].applied else ())


def check_invariants(before: MachineState, after: MachineState) -> None:
    """Check what must hold after any operation."""
    assert after.total_shots >= before.total_shots
    assert after.total_shots >= 0
    assert after.shots_since_backflush >= 0
    assert len(after.history) <= HISTORY_LIMIT
    assert len(after.undo) <= UNDO_LIMIT
    moments = [record.performed_at for record in after.history]
    assert moments == sorted(moments)
    assert all(moment.tzinfo is UTC for moment in moments)
    for kind in Kind:
        last = after.last(kind)
        assert last is None or last.tzinfo is UTC
        # Starting from nothing, the last date is the newest record of its kind.
        kept = [record.performed_at for record in after.history if record.kind is kind]
        assert last == (max(kept) if kept else None)


def check_round_trip(state: MachineState, now: datetime) -> None:
    """Check that recording anything and taking it straight back changes nothing."""
    if len(state.undo) >= UNDO_LIMIT or len(state.history) >= HISTORY_LIMIT:
        return
    for kind in Kind:
        for moment in (now, now - timedelta(days=20)):
            recorded = record_maintenance(state, kind, moment)
            undone, record = undo_last(recorded)
            assert undone == state
            assert record.performed_at == moment


@settings(max_examples=150, deadline=None)
@given(
    limits=LIMITS,
    tz=st.sampled_from(ZONES),
    start=MOMENTS,
    operations=st.lists(OPERATIONS, min_size=10, max_size=60),
)
def test_random_use_keeps_the_rules(
    limits: Settings, tz: tzinfo, start: datetime, operations: list[Operation]
) -> None:
    """Shots, maintenance, undo, corrections and time passing keep every rule."""
    state = MachineState()
    now = start
    state, due = note_due_edges(state, evaluate(limits, state, now, tz))
    assert due == ()
    total = 0
    history = 0
    was_due = dict.fromkeys(Kind, False)
    fired_in_period = dict.fromkeys(Kind, 0)
    for operation in operations:
        before = state
        state, now, restarted = apply_operation(state, operation, now)
        check_invariants(before, state)
        check_round_trip(state, now)
        if operation[0] == "shots":
            total += operation[1]
        if operation[0] in {kind.value for kind in Kind}:
            history += 1
        elif operation[0] == "undo" and before.undo:
            history -= 1
        assert state.total_shots == total
        assert len(state.history) == history
        status = evaluate(limits, state, now, tz)
        check_status(limits, state, now, tz, status)
        for kind in Kind:
            days = status.days_since(kind)
            assert days is None or days >= 0
        state, due = note_due_edges(state, status)
        for kind in Kind:
            is_due = status.due(kind) is DueStatus.DUE
            if not is_due or kind in restarted:
                fired_in_period[kind] = 0
            if kind in due:
                assert is_due
                fired_in_period[kind] += 1
            # At most once per continuous due period ...
            assert fired_in_period[kind] <= 1
            # ... and surely when it was not due before (undo restores the flag).
            if is_due and not was_due[kind] and operation[0] != "undo":
                assert kind in due
            assert state.due_notified(kind) is is_due
            was_due[kind] = is_due


def test_module_constants() -> None:
    """The limits the rules are documented with."""
    assert (model.SOFT_WATER_MAX_MG_L, model.VERY_HARD_WATER_MIN_MG_L) == (60.0, 180.0)
    assert model.MAX_HARDNESS_MG_L == 1000.0
    assert model.UNKNOWN_HARDNESS_MG_L == 120.0
    assert (model.ESPRESSO_HARDNESS_TARGET_MG_L, model.ESPRESSO_HARDNESS_MAX_MG_L) == (
        68.0,
        175.0,
    )
    assert (model.MIN_BACKFLUSH_SHOTS, model.MAX_BACKFLUSH_SHOTS) == (10, 100)
    assert (model.MIN_DESCALE_DAYS, model.MAX_DESCALE_DAYS) == (30, 90)
    assert (model.DUE_SOON_NUMERATOR, model.DUE_SOON_DENOMINATOR) == (4, 5)
    assert (HISTORY_LIMIT, UNDO_LIMIT) == (500, 20)
    assert model.SHOT_RATE_WINDOW_DAYS == 28
    assert model.PREDICTION_HORIZON_DAYS == 366


def test_back_dated_record_keeps_the_shot_rate() -> None:
    """A record entered today for ten days ago counts the shots from when it was entered."""
    state = record_shots(MachineState(total_shots=70), 30)
    state = record_maintenance(
        state,
        Kind.BACKFLUSH,
        NOW - timedelta(days=10),
        recorded_at=NOW - timedelta(days=10),
    )
    assert state.history[-1].recorded_at is None
    state = record_shots(state, 30)
    assert recent_shot_rate(state, NOW, 1.0) == pytest.approx(3.0)
    # Entered now but dated ten days ago: the total at the record is from now.
    state = record_shots(MachineState(total_shots=70), 30)
    state = record_maintenance(
        state,
        Kind.BACKFLUSH,
        NOW - timedelta(days=10),
        recorded_at=NOW - timedelta(days=2),
    )
    assert state.history[-1].counted_at == NOW - timedelta(days=2)
    state = record_shots(state, 6)
    assert recent_shot_rate(state, NOW, 1.0) == pytest.approx(3.0)


def test_no_second_announcement_after_undo() -> None:
    """A due period announced while a mistaken record stood is not announced again by its undo."""
    limits = make_settings(shots=14)
    state = MachineState(shots_since_backflush=5, total_shots=5)
    state = record_maintenance(state, Kind.BACKFLUSH, NOW)
    state = record_shots(state, 14)
    state, due = note_due_edges(state, evaluate(limits, state, NOW, ROME))
    assert due == (Kind.BACKFLUSH,)
    state, _record = undo_last(state)
    assert state.shots_since_backflush == 19
    state, due = note_due_edges(state, evaluate(limits, state, NOW, ROME))
    assert due == ()


def test_times_must_be_aware() -> None:
    """A naive entry time is refused like a naive performed_at."""
    naive = datetime(2026, 1, 1)  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        record_maintenance(MachineState(), Kind.DESCALE, NOW, recorded_at=naive)


# Scale load: descaling from use


def scale_settings(**changes: object) -> Settings:
    """Return a machine used twice a day, at 120 mg/L, descaled every 60 days."""
    base = replace(
        make_settings(descale_days=60),
        shots_per_day=2.0,
        water_per_shot_ml=100,
        hardness_mg_l=120.0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def basis(
    since: date,
    hardness: float = 120.0,
    typical: float = 200.0,
    calibration: float = 120.0,
    interval: int = 60,
) -> ScaleBasis:
    """Return a basis; by default the one of scale_settings()."""
    return ScaleBasis(
        since=since,
        hardness_mg_l=hardness,
        typical_water_ml=typical,
        calibration_mg_l=calibration,
        interval_days=interval,
    )


def used_daily(
    days: int, water_ml: int, *, counting_ago: int | None = None
) -> MachineState:
    """Return a machine descaled `days` ago, with `water_ml` on every day since."""
    counting_ago = days if counting_ago is None else counting_ago
    state = MachineState(last_descale=days_before(days, hour=7))
    for ago in range(counting_ago, -1, -1):
        state = record_water(state, TODAY - timedelta(days=ago), water_ml)
    return state


def test_settings_of_the_scale_load() -> None:
    """The typical water, a shot's water and the bounds, from the settings."""
    settings = scale_settings()
    assert settings.typical_water_ml == 200.0
    assert settings.shot_water_ml == 100
    assert replace(settings, water_from_source=True).shot_water_ml == 0
    assert settings.descale_bounds == (30, 90)
    # The bounds widen to hold the interval, so it is never overruled.
    assert replace(settings, descale_interval_days=120).descale_bounds == (30, 120)
    assert replace(settings, descale_interval_days=10).descale_bounds == (10, 90)
    # No typed use is calibrated as half a shot a day.
    assert replace(settings, shots_per_day=0.0).typical_water_ml == 50.0
    assert replace(settings, water_per_shot_ml=0).typical_water_ml == 2.0


@pytest.mark.parametrize(
    ("mg_l", "expected"), [(None, 120.0), (0.0, 10.0), (9.9, 10.0), (250.0, 250.0)]
)
def test_scale_hardness(mg_l: float | None, expected: float) -> None:
    """Unknown water is moderately hard; none is softer than 10 mg/L."""
    assert scale_hardness(mg_l) == expected


def test_shots_add_water_on_their_day() -> None:
    """Shots with a day add their water; without one, or with none, they add none."""
    state = record_shots(MachineState(), 2, day=TODAY, water_per_shot_ml=100)
    assert state.water_log == ((TODAY, 200),)
    assert state.counting_since == TODAY
    state = record_shots(state, 1, day=TODAY, water_per_shot_ml=100)
    assert state.water_log == ((TODAY, 300),)
    assert record_shots(state, 1).water_log == state.water_log
    assert record_shots(state, 1, day=TODAY).water_log == state.water_log
    with pytest.raises(ValueError, match="negative"):
        record_shots(state, 1, day=TODAY, water_per_shot_ml=-1)
    with pytest.raises(ValueError, match="negative"):
        record_water(state, TODAY, -1)
    assert record_water(state, TODAY, 0) is state


def test_water_log_keeps_a_year_in_order() -> None:
    """Days merge, a day back in time is put in its place, and old days drop out."""
    state = record_water(MachineState(), TODAY, 100)
    state = record_water(state, TODAY + timedelta(days=1), 50)
    state = record_water(state, TODAY - timedelta(days=1), 30)
    state = record_water(state, TODAY, 20)
    assert state.water_log == (
        (TODAY - timedelta(days=1), 30),
        (TODAY, 120),
        (TODAY + timedelta(days=1), 50),
    )
    assert state.counting_since == TODAY - timedelta(days=1)
    later = TODAY + timedelta(days=WATER_LOG_DAYS)
    state = record_water(state, later, 10)
    assert state.water_log == ((TODAY + timedelta(days=1), 50), (later, 10))
    # Counting began then, even though that day is no longer kept.
    assert state.counting_since == TODAY - timedelta(days=1)


def test_water_a_year_on_keeps_the_bases_since_the_descale() -> None:
    """Old bases are dropped with old water, but never one the last descale's days use.

    Hypothesis found a descale a year back whose estimated days changed weight
    (and due day) when water was logged and the first basis was dropped.
    """
    first, recalibrated = basis(TODAY), basis(TODAY, calibration=132.0)
    state = replace(
        MachineState(),
        last_descale=datetime.combine(TODAY - timedelta(days=2), time(), UTC),
        counting_since=TODAY + timedelta(days=WATER_LOG_DAYS),
        scale_bases=(first, recalibrated),
    )
    later = TODAY + timedelta(days=WATER_LOG_DAYS)
    assert record_water(state, later, 1).scale_bases == (first, recalibrated)
    # Once the descale is newer than the dropped days, the old basis goes.
    newer = replace(state, last_descale=datetime.combine(later, time(), UTC))
    assert record_water(newer, later, 1).scale_bases == (recalibrated,)


def test_scale_settings_are_noted_from_their_day() -> None:
    """A hardness alone is a new basis; a new interval, use or water recalibrates."""
    settings = scale_settings()
    state = apply_scale_settings(MachineState(), settings, TODAY)
    assert state.scale_bases == (basis(TODAY),)
    assert apply_scale_settings(state, settings, TODAY) is state
    day = TODAY + timedelta(days=10)
    harder = apply_scale_settings(state, replace(settings, hardness_mg_l=240.0), day)
    assert harder.scale_bases[-1] == basis(day, hardness=240.0)
    # Unknown water is weighed as moderately hard.
    unknown = apply_scale_settings(state, replace(settings, hardness_mg_l=None), day)
    assert unknown is state
    longer = apply_scale_settings(
        harder, replace(settings, hardness_mg_l=240.0, descale_interval_days=45), day
    )
    # Same day: the change replaces the hardness-only basis and recalibrates.
    assert longer.scale_bases == (
        basis(TODAY),
        basis(day, hardness=240.0, calibration=240.0, interval=45),
    )
    more = apply_scale_settings(
        longer, replace(settings, shots_per_day=4.0, descale_interval_days=45), day
    )
    assert more.scale_bases[-1] == basis(day, typical=400.0, interval=45)
    # A change on the first basis's own day keeps it for the days before.
    same_day = apply_scale_settings(state, replace(settings, hardness_mg_l=60.0), TODAY)
    assert same_day.scale_bases == (basis(TODAY), basis(TODAY, hardness=60.0))


def test_old_bases_are_dropped_with_their_water() -> None:
    """A basis no kept day uses is dropped; the one in force at the start stays."""
    old = TODAY - timedelta(days=500)
    bases = (basis(old), basis(old + timedelta(days=10), hardness=60.0))
    bases += (basis(TODAY - timedelta(days=5), hardness=240.0),)
    state = record_water(replace(MachineState(), scale_bases=bases), TODAY, 100)
    assert state.scale_bases == bases[1:]


def test_typical_use_fills_the_interval() -> None:
    """Used as typed since the descale, the load is one day per day."""
    state = used_daily(20, 200)
    load, water = scale_load_days(
        scale_settings(), state, days_before(20).date(), TODAY
    )
    # The descale day's water counts too: 21 days of water.
    assert (load, water) == (21.0, 4200)
    status = evaluate(scale_settings(), state, NOW, ROME)
    assert status.scale is not None
    assert status.scale.measured
    # Measured over the 20 whole days since counting began.
    assert status.scale.water_per_day_ml == 200.0
    assert status.scale.driver is DescaleDriver.USE
    # 39 days to go, from 9:30 today.
    assert status.scale.due_on == TODAY + timedelta(days=39)
    assert status.descale is DueStatus.OK


def test_days_before_counting_are_typical() -> None:
    """Before anything was counted, each day after the descale is a typical day."""
    settings = scale_settings()
    nothing = MachineState(last_descale=days_before(20))
    status = evaluate(settings, nothing, NOW, ROME)
    assert status.scale is not None
    assert status.scale.load_days == 20.0
    assert not status.scale.measured
    assert status.next_descale == start_of_local_day(TODAY + timedelta(days=40), ROME)
    # Counting began five days ago: 15 typical days, then the water counted.
    state = used_daily(20, 400, counting_ago=4)
    status = evaluate(settings, state, NOW, ROME)
    assert status.scale is not None
    assert status.scale.load_days == 15.0 + 5 * 2.0
    assert status.scale.water_ml == 2000


def test_no_use_holds_the_descale_back_until_the_maximum() -> None:
    """A machine that was off adds nothing: due at the longest interval."""
    settings = scale_settings()
    state = used_daily(80, 200, counting_ago=80)
    state = replace(
        state,
        water_log=tuple(
            (day, water)
            for day, water in state.water_log
            if day < TODAY - timedelta(40)
        ),
    )
    status = evaluate(settings, state, NOW, ROME)
    assert status.scale is not None
    # Water on the 40 days from the descale up to 41 days ago, none since.
    assert status.scale.load_days == 40.0
    assert status.scale.driver is DescaleDriver.MAXIMUM
    assert status.scale.due_on == days_before(80).date() + timedelta(days=90)
    assert status.scale.days_left == 10
    assert status.descale is DueStatus.DUE_SOON  # 80 of 90 days
    later = evaluate(settings, state, NOW + timedelta(days=10), ROME)
    assert later.descale is DueStatus.DUE


def test_heavy_use_is_held_by_the_minimum() -> None:
    """Three times the water fills the load in 20 days; the minimum holds it to 30."""
    settings = scale_settings()
    state = used_daily(21, 600)
    status = evaluate(settings, state, NOW, ROME)
    assert status.scale is not None
    assert status.scale.load_days == 66.0
    assert status.scale.driver is DescaleDriver.MINIMUM
    assert status.scale.due_on == days_before(21).date() + timedelta(days=30)
    # Due soon from 80 % of the minimum, 24 days.
    assert status.descale is DueStatus.OK
    status = evaluate(settings, state, NOW + timedelta(days=3), ROME)
    assert status.descale is DueStatus.DUE_SOON
    status = evaluate(settings, state, NOW + timedelta(days=9), ROME)
    assert status.descale is DueStatus.DUE
    assert status.next_descale == start_of_local_day(TODAY + timedelta(days=9), ROME)


def test_due_on_the_day_the_load_was_full() -> None:
    """Once full, the descale is due from the day it filled (after the minimum)."""
    settings = scale_settings()
    state = used_daily(45, 300)
    status = evaluate(settings, state, NOW, ROME)
    assert status.scale is not None
    # 1.5 days a day: full on the 40th day after the descale (day 0 counts).
    assert status.scale.due_on == days_before(45).date() + timedelta(days=39)
    assert status.scale.driver is DescaleDriver.USE
    assert status.descale is DueStatus.DUE
    assert status.scale.days_left == 0


def test_harder_water_applies_from_its_day() -> None:
    """Twice as hard water from ten days ago counts twice for those days only."""
    settings = scale_settings()
    ten_ago = TODAY - timedelta(days=10)
    state = replace(
        used_daily(30, 200),
        scale_bases=(
            basis(TODAY - timedelta(days=100)),
            basis(ten_ago, hardness=240.0),
        ),
    )
    status = evaluate(settings, state, NOW, ROME)
    assert status.scale is not None
    assert status.scale.load_days == 20.0 + 11 * 2.0
    # The future is weighed at today's water: 18 days to go at two a day.
    assert status.scale.due_on in {
        TODAY + timedelta(days=9),
        TODAY + timedelta(days=10),
    }


def test_scale_of_a_descale_dated_ahead() -> None:
    """A descale dated after today has no load yet; its date counts from it."""
    settings = scale_settings()
    state = used_daily(10, 200, counting_ago=10)
    state = replace(
        state, last_descale=datetime.combine(TODAY + timedelta(2), time(8), ROME)
    )
    status = evaluate(settings, state, NOW, ROME)
    assert status.scale is not None
    assert status.scale.load_days == 0.0
    assert status.days_since_descale == 0
    # 60 days at the measured rate (200 mL a day), from the descale's day.
    assert status.scale.due_on == TODAY + timedelta(days=2 + 60)


def test_near_zero_water_is_the_maximum() -> None:
    """A trickle of water would overflow a date: the maximum applies."""
    settings = scale_settings()
    state = record_water(
        MachineState(last_descale=days_before(10)), days_before(30).date(), 1
    )
    status = evaluate(settings, state, NOW, ROME)
    assert status.scale is not None
    assert status.scale.driver is DescaleDriver.MAXIMUM


@pytest.mark.parametrize(
    ("counted_ago", "expected"),
    [
        (timedelta(hours=1), (200.0, False)),  # no whole day of counting
        (timedelta(days=1), (300.0, True)),
        (timedelta(days=3), (300.0, True)),
        (timedelta(days=60), (300.0, True)),
    ],
)
def test_recent_water_rate(
    counted_ago: timedelta, expected: tuple[float, bool]
) -> None:
    """The rate covers the whole days of the window or since counting, not today."""
    settings = scale_settings()
    first = local_date(NOW - counted_ago, ROME)
    state = MachineState()
    day = first
    while day < TODAY:
        state = record_water(state, day, 300)
        day += timedelta(days=1)
    state = record_water(state, TODAY, 5000)
    rate, measured = recent_water_rate(settings, state, NOW, ROME)
    assert (rate, measured) == (pytest.approx(expected[0]), expected[1])
    assert recent_water_rate(settings, MachineState(), NOW, ROME) == (200.0, False)


def test_rebuild_water_log_from_the_history() -> None:
    """Shots between records are spread over the days between, water whole."""
    descale = record_maintenance(
        MachineState(total_shots=10), Kind.DESCALE, days_before(3, hour=12)
    )
    state = record_shots(descale, 7)
    state = record_maintenance(state, Kind.BACKFLUSH, days_before(1, hour=0))
    state = record_shots(state, 3)
    log, counting_since = rebuild_water_log(
        state.history, state.total_shots, NOW, ROME, 100
    )
    # 700 mL from the 25th at noon to the 27th at midnight (36 h); 300 mL from
    # then to now (33.5 h).
    first = TODAY - timedelta(days=3)
    assert counting_since == first
    assert dict(log) == {
        first: round(700 * 12 / 36),
        first + timedelta(days=1): 700 - round(700 * 12 / 36),
        first + timedelta(days=2): round(300 * 24 / 33.5),
        TODAY: 300 - round(300 * 24 / 33.5),
    }
    assert sum(water for _day, water in log) == 1000


def test_rebuild_water_log_edge_cases() -> None:
    """No counted shots, records at the same moment, and water beyond a year."""
    assert rebuild_water_log((), 50, NOW, ROME, 100) == ((), None)
    record = Record(
        kind=Kind.BACKFLUSH,
        performed_at=NOW,
        note=None,
        shots_since_backflush=0,
        total_shots=40,
    )
    assert rebuild_water_log((record,), 45, NOW, ROME, 100) == (((TODAY, 500),), TODAY)
    assert rebuild_water_log((record,), 40, NOW, ROME, 100) == ((), None)
    old = replace(record, performed_at=NOW - timedelta(days=730), total_shots=0)
    log, counting_since = rebuild_water_log((old,), 730, NOW, ROME, 100)
    assert counting_since == TODAY - timedelta(days=730)
    assert log[0][0] == TODAY - timedelta(days=WATER_LOG_DAYS - 1)
    assert len(log) == WATER_LOG_DAYS
    # A shot a day, spread by the hour: 23 and 25 hour days get 96 and 104 mL.
    assert {water for _day, water in log[1:-1]} == {96, 100, 104}


# Properties of the scale load


def reference_load(
    settings: Settings, state: MachineState, start: date, today: date
) -> float:
    """Add up the load the long way: day by day, with each day's basis."""
    bases = state.scale_bases or (
        basis(
            date.min,
            hardness=scale_hardness(settings.hardness_mg_l),
            typical=settings.typical_water_ml,
            calibration=scale_hardness(settings.hardness_mg_l),
        ),
    )
    water = dict(state.water_log)
    total = 0.0
    day = start
    while day <= today:
        applying = [item for item in bases if item.since <= day] or [bases[0]]
        item = applying[-1]
        if state.counting_since is not None and day >= state.counting_since:
            total += (
                water.get(day, 0)
                * item.hardness_mg_l
                / (item.typical_water_ml * item.calibration_mg_l)
            )
        elif day != start:
            total += item.hardness_mg_l / item.calibration_mg_l
        day += timedelta(days=1)
    return total


HARDNESS_MG_L = st.floats(min_value=10, max_value=500, allow_nan=False)


@st.composite
def scale_cases(draw: st.DrawFn) -> tuple[Settings, MachineState, datetime, tzinfo]:
    """Draw settings and a machine with water, bases and a last descale."""
    interval = draw(st.integers(min_value=1, max_value=200))
    settings = scale_settings(
        descale_interval_days=interval,
        descale_min_days=draw(st.integers(min_value=1, max_value=interval)),
        descale_max_days=draw(st.integers(min_value=interval, max_value=365)),
        shots_per_day=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5, 8.0])),
        water_per_shot_ml=draw(st.integers(min_value=10, max_value=400)),
        hardness_mg_l=draw(st.none() | HARDNESS_MG_L),
    )
    tz = draw(st.sampled_from(ZONES))
    now = draw(MOMENTS)
    today = local_date(now, tz)
    descale_ago = draw(st.integers(min_value=-2, max_value=400))
    last_descale = datetime.combine(
        today - timedelta(days=descale_ago),
        time(draw(st.integers(min_value=0, max_value=23))),
        tz,
    )
    counting_ago = draw(st.none() | st.integers(min_value=0, max_value=400))
    state = MachineState(last_descale=last_descale.astimezone(UTC))
    if counting_ago is not None:
        since = today - timedelta(days=counting_ago)
        days = draw(
            st.dictionaries(
                st.integers(
                    min_value=0, max_value=min(counting_ago, WATER_LOG_DAYS - 1)
                ),
                st.integers(min_value=1, max_value=3000),
                max_size=30,
            )
        )
        log = tuple(
            sorted((today - timedelta(days=ago), water) for ago, water in days.items())
        )
        state = replace(state, water_log=log, counting_since=since)
    if draw(st.booleans()):
        starts = sorted(
            draw(
                st.lists(
                    st.integers(min_value=0, max_value=420), min_size=1, max_size=3
                )
            )
        )
        bases = tuple(
            basis(
                today - timedelta(days=ago),
                hardness=draw(HARDNESS_MG_L),
                typical=draw(st.floats(min_value=5, max_value=3000)),
                calibration=draw(HARDNESS_MG_L),
            )
            for ago in reversed(starts)
        )
        state = replace(state, scale_bases=bases)
    return settings, state, now, tz


def outlook_of(
    settings: Settings, state: MachineState, now: datetime, tz: tzinfo
) -> model.ScaleOutlook:
    """Return the scale outlook of a machine whose last descale is known."""
    assert state.last_descale is not None
    return scale_outlook(settings, state, state.last_descale, now, tz)


@settings(max_examples=300, deadline=None)
@given(case=scale_cases())
def test_scale_load_follows_the_rules(
    case: tuple[Settings, MachineState, datetime, tzinfo],
) -> None:
    """The load is the days' water weighed by their basis; the date keeps to the bounds."""
    limits, state, now, tz = case
    assert state.last_descale is not None
    status = evaluate(limits, state, now, tz)
    scale = status.scale
    assert scale is not None
    start = local_date(state.last_descale, tz)
    today = local_date(now, tz)
    assert scale.load_days == pytest.approx(reference_load(limits, state, start, today))
    low, high = limits.descale_bounds
    assert low <= limits.descale_interval_days <= high
    # The date always lies within the bounds after the last descale.
    assert start + timedelta(days=low) <= scale.due_on <= start + timedelta(days=high)
    assert status.next_descale == start_of_local_day(scale.due_on, tz)
    days = status.days_since_descale
    assert days is not None
    full = scale.load_days >= limits.descale_interval_days * (1 - 1e-9)
    is_due = days >= high or (days >= low and full)
    assert (status.descale is DueStatus.DUE) is is_due
    # Due is due by today; not due is due from tomorrow on.
    assert (scale.due_on <= today) if is_due else (scale.due_on > today)
    assert scale.days_left == max(0, (scale.due_on - today).days)
    if scale.driver is DescaleDriver.MINIMUM:
        assert scale.due_on == start + timedelta(days=low)
    if scale.driver is DescaleDriver.MAXIMUM:
        assert scale.due_on == start + timedelta(days=high)


def with_more_water(
    state: MachineState, extra: dict[int, int], today: date
) -> MachineState:
    """Add water to days since counting began."""
    assert state.counting_since is not None
    for ago, water in extra.items():
        day = today - timedelta(days=ago)
        if day >= state.counting_since:
            state = record_water(state, day, water)
    return state


@settings(max_examples=300, deadline=None)
@given(
    case=scale_cases(),
    extra=st.dictionaries(
        st.integers(min_value=0, max_value=200),
        st.integers(min_value=1, max_value=3000),
        min_size=1,
        max_size=10,
    ),
    factor=st.floats(min_value=1, max_value=10),
)
def test_more_or_harder_water_never_gives_a_later_date(
    case: tuple[Settings, MachineState, datetime, tzinfo],
    extra: dict[int, int],
    factor: float,
) -> None:
    """More water or harder water: never later. No use at all: never earlier."""
    limits, state, now, tz = case
    today = local_date(now, tz)
    base = outlook_of(limits, state, now, tz)
    if state.counting_since is not None:
        more = outlook_of(limits, with_more_water(state, extra, today), now, tz)
        assert more.due_on <= base.due_on
        assert more.load_days >= base.load_days
        unused = outlook_of(limits, replace(state, water_log=()), now, tz)
        assert unused.due_on >= base.due_on
    harder_bases = tuple(
        replace(item, hardness_mg_l=item.hardness_mg_l * factor)
        for item in state.scale_bases
    )
    harder_state = replace(state, scale_bases=harder_bases)
    harder_limits = limits
    if not state.scale_bases:
        # Without noted bases, the settings' water weighs at the settings' hardness:
        # a harder water is a basis at that hardness against the same calibration.
        hardness = scale_hardness(limits.hardness_mg_l)
        harder_state = replace(
            state,
            scale_bases=(
                basis(
                    date.min,
                    hardness=hardness * factor,
                    typical=limits.typical_water_ml,
                    calibration=hardness,
                    interval=limits.descale_interval_days,
                ),
            ),
        )
    harder = outlook_of(harder_limits, harder_state, now, tz)
    assert harder.due_on <= base.due_on


@settings(max_examples=200, deadline=None)
@given(
    case=scale_cases(),
    back_ago=st.integers(min_value=0, max_value=400),
    hour=st.integers(min_value=0, max_value=23),
    water=st.integers(min_value=1, max_value=2000),
)
def test_undo_and_back_dated_descales_restore_the_load(
    case: tuple[Settings, MachineState, datetime, tzinfo],
    back_ago: int,
    hour: int,
    water: int,
) -> None:
    """A descale undone gives the load back; a back-dated one counts from its day."""
    limits, state, now, tz = case
    assert state.last_descale is not None
    today = local_date(now, tz)
    before = evaluate(limits, state, now, tz)
    # Descaled now, some water, then the descale taken back: the load runs
    # from the previous descale again, with the water since.
    # (A last descale dated ahead of now stays the last one.)
    descaled = record_maintenance(state, Kind.DESCALE, now)
    assert descaled.last_descale is not None
    assert evaluate(limits, descaled, now, tz).scale.load_days == pytest.approx(  # type: ignore[union-attr]
        reference_load(limits, descaled, local_date(descaled.last_descale, tz), today)
    )
    undone, _record = undo_last(descaled)
    assert evaluate(limits, undone, now, tz).scale == before.scale
    watered, _record = undo_last(record_water(descaled, today, water))
    expected = reference_load(
        limits,
        record_water(state, today, water),
        local_date(state.last_descale, tz),
        today,
    )
    assert evaluate(limits, watered, now, tz).scale.load_days == pytest.approx(expected)  # type: ignore[union-attr]
    # Back-dated: from its own day if it is the newer, else nothing changes.
    moment = datetime.combine(today - timedelta(days=back_ago), time(hour), tz)
    if moment > now:
        return
    back_dated = record_maintenance(state, Kind.DESCALE, moment)
    start = local_date(max(moment, state.last_descale), tz)
    scale = evaluate(limits, back_dated, now, tz).scale
    assert scale is not None
    assert scale.load_days == pytest.approx(reference_load(limits, state, start, today))
    assert evaluate(limits, undo_last(back_dated)[0], now, tz).scale == before.scale


OPERATIONS_WITH_WATER = st.lists(
    st.one_of(
        st.tuples(st.just("shots"), st.integers(min_value=1, max_value=6)),
        st.tuples(st.just("meter"), st.integers(min_value=0, max_value=900)),
        st.tuples(st.just("day"), st.integers(min_value=1, max_value=3)),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(
    operations=OPERATIONS_WITH_WATER,
    from_source=st.booleans(),
    water_per_shot=st.integers(min_value=10, max_value=400),
)
def test_water_is_never_counted_twice(
    operations: list[tuple[str, int]], from_source: bool, water_per_shot: int
) -> None:
    """With a water source, shots add no water: the log is the metered water alone."""
    limits = scale_settings(
        water_from_source=from_source, water_per_shot_ml=water_per_shot
    )
    state = MachineState()
    day = TODAY
    shots = metered = 0
    for name, value in operations:
        if name == "shots":
            state = record_shots(
                state, value, day=day, water_per_shot_ml=limits.shot_water_ml
            )
            shots += value
        elif name == "meter":
            if from_source:
                state = record_water(state, day, value)
                metered += value
        else:
            day += timedelta(days=value)
    logged = sum(water for _day, water in state.water_log)
    assert logged == (metered if from_source else shots * water_per_shot)
    assert state.total_shots == shots


@settings(max_examples=60, deadline=None)
@given(
    shots_per_day=st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 10.0]),
    water_per_shot=st.integers(min_value=20, max_value=300),
    hardness=st.none() | st.floats(min_value=0, max_value=400),
    bounds=st.tuples(
        st.integers(min_value=1, max_value=120),
        st.integers(min_value=1, max_value=120),
        st.integers(min_value=1, max_value=120),
    ),
    tz=st.sampled_from(ZONES),
    start=MOMENTS,
)
def test_used_as_typed_gets_the_interval(
    shots_per_day: float,
    water_per_shot: int,
    hardness: float | None,
    bounds: tuple[int, int, int],
    tz: tzinfo,
    start: datetime,
) -> None:
    """Shots pulled as typed every day come due after the interval, within a day."""
    low, interval, high = sorted(bounds)
    limits = scale_settings(
        shots_per_day=shots_per_day,
        water_per_shot_ml=water_per_shot,
        hardness_mg_l=hardness,
        descale_interval_days=interval,
        descale_min_days=low,
        descale_max_days=high,
    )
    first_day = local_date(start, tz)
    state = apply_scale_settings(MachineState(), limits, first_day - timedelta(days=60))
    pulled = 0

    def pull_on(state: MachineState, day_number: int, day: date) -> MachineState:
        nonlocal pulled
        count = math.floor((day_number + 1) * shots_per_day) - pulled
        pulled += count
        if count:
            state = record_shots(
                state, count, day=day, water_per_shot_ml=water_per_shot
            )
        return state

    # Six weeks of use before the descale, so the rate is measured.
    for number in range(42):
        state = pull_on(state, number, first_day - timedelta(days=42 - number))
    descaled_at = start_of_local_day(first_day, tz) + timedelta(minutes=30)
    state = record_maintenance(state, Kind.DESCALE, descaled_at)
    predicted = evaluate(limits, state, descaled_at, tz).scale
    assert predicted is not None
    target = first_day + timedelta(days=interval)
    assert abs((predicted.due_on - target).days) <= 1
    due_day = None
    for number in range(high + 1):
        day = first_day + timedelta(days=number)
        state = pull_on(state, 42 + number, day)
        end_of_day = start_of_local_day(day + timedelta(days=1), tz) - timedelta(
            seconds=1
        )
        if evaluate(limits, state, end_of_day, tz).descale is DueStatus.DUE:
            due_day = day
            break
    assert due_day is not None
    assert (due_day - first_day).days in {interval - 1, interval}
