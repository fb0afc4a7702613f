"""Tests for shot detection from brewing, power and counter readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import itertools

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.espresso_maintenance.detectors import (
    BrewingDetector,
    CounterChange,
    PowerDetector,
    PulseResult,
    read_counter,
)

START = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """Return a moment so many seconds into the morning."""
    return START + timedelta(seconds=seconds)


def brew(
    trace: list[tuple[float, bool | None]], low: float = 15, high: float = 60
) -> list[PulseResult]:
    """Replay (seconds, on/off/missing) readings; return the pulses' results."""
    detector = BrewingDetector(low, high)
    return [
        pulse.result
        for seconds, value in trace
        if (pulse := detector.update(value, at(seconds))) is not None
    ]


def test_brewing_counts_on_times_inside_the_window() -> None:
    """Flushes and steaming are not shots; the shots between them are."""
    trace = [
        (0, False),
        (10, True), (13, False),  # flush before
        (60, True), (88, False),  # shot
        (200, True), (226, False),  # shot
        (230, True), (234, False),  # flush after
        (300, True), (390, False),  # steaming
    ]  # fmt: skip
    assert brew(trace) == [
        PulseResult.TOO_SHORT,
        PulseResult.SHOT,
        PulseResult.SHOT,
        PulseResult.TOO_SHORT,
        PulseResult.TOO_LONG,
    ]


def test_brewing_edges_of_the_window_count() -> None:
    """Exactly the shortest and the longest on-time are shots."""
    assert brew([(0, False), (1, True), (16, False), (20, True), (80, False)]) == [
        PulseResult.SHOT,
        PulseResult.SHOT,
    ]


def test_brewing_cleaning_cycle_is_not_a_shot() -> None:
    """A backflush cleaning cycle of five 10-second pulses counts nothing."""
    trace: list[tuple[float, bool | None]] = [(0, False)]
    for cycle in range(5):
        trace += [(10 + cycle * 20, True), (20 + cycle * 20, False)]
    assert brew(trace) == [PulseResult.TOO_SHORT] * 5


def test_brewing_needs_an_observed_start() -> None:
    """Already on when watching starts (a restart mid-shot): not a shot."""
    assert brew([(0, True), (25, False), (40, True), (65, False)]) == [PulseResult.SHOT]


def test_brewing_missing_reading_interrupts() -> None:
    """Unavailable in the middle of a shot cancels it; counting resumes after an off."""
    trace: list[tuple[float, bool | None]] = [
        (0, False), (10, True), (20, None), (30, True), (45, False),
        (60, True), (85, False),
    ]  # fmt: skip
    assert brew(trace) == [PulseResult.INTERRUPTED, PulseResult.SHOT]


def power(
    trace: list[tuple[float, float | None]],
    on_w: float = 30,
    off_w: float = 10,
) -> list[tuple[PulseResult, float | None]]:
    """Replay (seconds, watts) readings; return results and peaks."""
    detector = PowerDetector(on_w, off_w, 15, 60)
    return [
        (pulse.result, pulse.peak)
        for seconds, value in trace
        if (pulse := detector.update(value, at(seconds))) is not None
    ]


def test_power_heating_and_steaming_are_not_shots() -> None:
    """Heater pulses are too short, warm-up and steaming too long; shots count."""
    trace: list[tuple[float, float | None]] = [
        (0, 2.0),
        (1, 1000.0), (180, 3.0),  # warm-up
        (300, 1010.0), (304, 2.0),  # PID heater pulse
        (400, 52.0), (405, 48.0), (410, 1052.0), (413, 55.0), (426, 1.5),  # shot with a heater pulse in it
        (500, 25.0), (501, 50.0), (520, 12.0), (530, 2.0),  # shot with readings between the thresholds
        (600, 1000.0), (690, 2.0),  # steaming
    ]  # fmt: skip
    assert power(trace) == [
        (PulseResult.TOO_LONG, 1000.0),
        (PulseResult.TOO_SHORT, 1010.0),
        (PulseResult.SHOT, 1052.0),
        (PulseResult.SHOT, 50.0),
        (PulseResult.TOO_LONG, 1000.0),
    ]


def test_power_needs_to_be_seen_idle_first() -> None:
    """High power when watching starts (a restart mid-shot) is not a shot."""
    assert power([(0, 50.0), (20, 2.0), (30, 50.0), (55, 2.0)]) == [
        (PulseResult.SHOT, 50.0)
    ]


def test_power_missing_reading_interrupts() -> None:
    """An unavailable or non-finite reading cancels a pulse and disarms."""
    trace: list[tuple[float, float | None]] = [
        (0, 2.0), (10, 50.0), (20, None), (25, 50.0), (40, 2.0),
        (50, 50.0), (55, float("nan")), (60, 2.0),
    ]  # fmt: skip
    assert power(trace) == [
        (PulseResult.INTERRUPTED, 50.0),
        (PulseResult.INTERRUPTED, 50.0),
    ]


def test_power_thresholds_must_be_ordered() -> None:
    """The off-threshold cannot be above the on-threshold."""
    with pytest.raises(ValueError, match="off-threshold"):
        PowerDetector(10, 30, 15, 60)


def test_counter_readings() -> None:
    """Increases are shots; a decrease re-baselines; a big jump is not counted."""
    reading = read_counter(None, 100)
    assert (reading.shots, reading.baseline, reading.change) == (
        0,
        100,
        CounterChange.BASELINE,
    )
    reading = read_counter(100, 102)
    assert (reading.shots, reading.baseline, reading.change) == (
        2,
        102,
        CounterChange.SHOTS,
    )
    reading = read_counter(102, 0)
    assert (reading.shots, reading.baseline, reading.change) == (
        0,
        0,
        CounterChange.RESET,
    )
    reading = read_counter(0, 51)
    assert (reading.shots, reading.baseline, reading.change) == (
        0,
        51,
        CounterChange.JUMP,
    )
    reading = read_counter(0, 50)
    assert reading.shots == 50
    reading = read_counter(10, 10.5)
    assert (reading.shots, reading.baseline, reading.change) == (0, 10, None)
    reading = read_counter(10, 11.5)
    assert (reading.shots, reading.baseline) == (1, 11)


ON_OFF = st.one_of(st.booleans(), st.none())


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.floats(min_value=0.5, max_value=120), ON_OFF), max_size=60
    ),
    low=st.integers(min_value=1, max_value=30),
    width=st.integers(min_value=1, max_value=60),
)
def test_brewing_property(
    steps: list[tuple[float, bool | None]], low: int, width: int
) -> None:
    """A shot is exactly an observed off→on→off with an on-time inside the window."""
    detector = BrewingDetector(low, low + width)
    moment = 0.0
    previous: bool | None = None  # what the model expects: None = unknown
    started: float | None = None
    expected = counted = 0
    for gap, value in steps:
        moment += gap
        pulse = detector.update(value, at(moment))
        if value is True and previous is False:
            started = moment
        elif value is False and started is not None:
            duration = moment - started
            expected += low <= duration <= low + width
            started = None
        elif value is None:
            started = None
        previous = value
        if pulse is not None and pulse.result is PulseResult.SHOT:
            counted += 1
            assert low <= pulse.duration_s <= low + width
    assert counted == expected


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.floats(min_value=0.5, max_value=120),
            st.one_of(st.none(), st.floats(min_value=0, max_value=2500)),
        ),
        max_size=60,
    ),
)
def test_power_property(steps: list[tuple[float, float | None]]) -> None:
    """Shots come only from pulses inside the window; pulses never overlap."""
    detector = PowerDetector(1075, 1065, 15, 60)
    moment = 0.0
    last_end = -1.0
    for gap, watts in steps:
        moment += gap
        pulse = detector.update(watts, at(moment))
        if pulse is None:
            continue
        started = (pulse.started - START).total_seconds()
        assert started >= last_end
        last_end = moment
        assert pulse.duration_s == pytest.approx(moment - started)
        if pulse.result is PulseResult.SHOT:
            assert 15 <= pulse.duration_s <= 60
            assert pulse.peak is not None
            assert pulse.peak >= 1075


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.floats(min_value=0, max_value=1e6), max_size=50))
def test_counter_property(values: list[float]) -> None:
    """Never negative, never more than the counter rose, never the same rise twice."""
    baseline: float | None = None
    total = 0
    for value in values:
        reading = read_counter(baseline, value)
        assert reading.shots >= 0
        if baseline is not None and value >= baseline:
            assert reading.shots <= value - baseline
        assert reading.baseline <= value
        total += reading.shots
        baseline = reading.baseline
    rises = sum(
        max(0.0, later - earlier) for earlier, later in itertools.pairwise(values)
    )
    assert total <= rises
