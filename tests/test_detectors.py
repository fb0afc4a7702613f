"""Tests for shot detection from brewing, power and counter readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import itertools

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.espresso_maintenance.detectors import (
    CLEANING_SESSION,
    TIMESTAMP_CLOCK_SKEW,
    BackflushPatternDetector,
    BrewingDetector,
    CounterChange,
    PowerDetector,
    ProgramDetector,
    Pulse,
    PulsePattern,
    PulseResult,
    read_counter,
    read_timestamp,
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


# Maintenance the machine reports: a timestamp sensor.


def reading(
    value: float | None,
    last_record: float | None = None,
    last_reading: float | None = None,
    now: float = 1000,
) -> tuple[float | None, float | None]:
    """Read a timestamp source (times in seconds); return (record at, reading)."""
    result = read_timestamp(
        None if value is None else at(value),
        last_record=None if last_record is None else at(last_record),
        last_reading=None if last_reading is None else at(last_reading),
        now=at(now),
    )

    def seconds(moment: datetime | None) -> float | None:
        return None if moment is None else (moment - START).total_seconds()

    return seconds(result.record_at), seconds(result.reading)


def test_timestamp_new_later_value_records_it() -> None:
    """A value later than the last record and the last reading is a record, then."""
    assert reading(500) == (500, 500)
    assert reading(500, last_record=400, last_reading=400) == (500, 500)


def test_timestamp_known_or_older_values_record_nothing() -> None:
    """The same value again, or one at or before the last record, records nothing."""
    assert reading(500, last_record=500) == (None, 500)
    assert reading(400, last_record=500) == (None, 400)
    # A record the user undid: the last record went back, the reading did not.
    assert reading(500, last_record=300, last_reading=500) == (None, 500)
    # The reading never goes back.
    assert reading(400, last_record=300, last_reading=500) == (None, 500)


def test_timestamp_missing_or_far_future_records_nothing() -> None:
    """No value, or one beyond a clock's small lead, records nothing and keeps the reading."""
    assert reading(None, last_reading=200) == (None, 200)
    skew = TIMESTAMP_CLOCK_SKEW.total_seconds()
    assert reading(1000 + skew + 1, last_reading=200) == (None, 200)
    # A little ahead: recorded as now, so no record is in the future.
    assert reading(1000 + skew, last_reading=200) == (1000, 1000 + skew)


TIMES = st.one_of(st.none(), st.integers(min_value=0, max_value=2000))


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(
        st.tuples(TIMES, st.sampled_from(["read", "button", "undo"])), max_size=40
    ),
)
def test_timestamp_property(steps: list[tuple[int | None, str]]) -> None:
    """Each value is recorded at most once, in order, never in the future or the past."""
    now = 1000.0
    records: list[float] = []  # what the machine holds, latest last
    last_reading: float | None = None
    recorded_values: set[float] = set()
    for value, action in steps:
        now += 60
        if action == "button" and value is not None:
            records.append(min(float(value), now))
            records.sort()
            continue
        if action == "undo" and records:
            records.pop()
            continue
        last_record = records[-1] if records else None
        record_at, new_reading = reading(
            None if value is None else float(value), last_record, last_reading, now
        )
        if record_at is not None:
            assert value is not None
            assert value not in recorded_values
            assert last_record is None or record_at > last_record
            assert last_reading is None or value > last_reading
            assert record_at <= now
            recorded_values.add(value)
            records.append(record_at)
        if last_reading is not None:
            assert new_reading is not None
            assert new_reading >= last_reading
        last_reading = new_reading


# A cleaning or descaling program's on/off entity.


def program(trace: list[tuple[float, bool | None]], min_s: float = 20) -> list[float]:
    """Replay (seconds, on/off/missing) readings; return when programs were recorded."""
    detector = ProgramDetector(min_s)
    return [
        (ended - START).total_seconds()
        for seconds, value in trace
        if (ended := detector.update(value, at(seconds))) is not None
    ]


SESSION = CLEANING_SESSION.total_seconds()


def test_program_that_ran_is_recorded_when_it_ends() -> None:
    """On long enough, then off: recorded at the moment it turned off."""
    assert program([(0, False), (10, True), (100, False)]) == [100]


def test_program_flapping_gaps_and_restarts_record_nothing() -> None:
    """Short on-times, a gap in the middle, or already on when watching began."""
    assert program([(0, False), (10, True), (15, False), (16, True), (20, False)]) == []
    assert program([(0, False), (10, True), (50, None), (60, True), (100, False)]) == []
    assert program([(0, True), (100, False)]) == []
    assert program([(0, None), (10, True), (100, False)]) == []


def test_program_rinse_in_the_same_session_is_not_recorded_again() -> None:
    """A rinse run right after is the same cleaning; a later run is a new one."""
    trace: list[tuple[float, bool | None]] = [
        (0, False), (10, True), (100, False),  # the cleaning
        (200, True), (260, False),  # its rinse
        (260 + SESSION + 1, True), (320 + SESSION, False),  # another day's cleaning
    ]  # fmt: skip
    assert program(trace) == [100, 320 + SESSION]


# Quarter seconds: exact both as floats and as datetimes.
QUARTERS = st.integers(min_value=2, max_value=8000).map(lambda n: n / 4)


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(st.tuples(QUARTERS, ON_OFF), max_size=60),
    min_s=st.integers(min_value=1, max_value=300),
)
def test_program_property(steps: list[tuple[float, bool | None]], min_s: int) -> None:
    """Exactly the observed on-times of at least min_s, once per cleaning session."""
    moment = 0.0
    trace: list[tuple[float, bool | None]] = []
    for gap, value in steps:
        moment += gap
        trace.append((moment, value))
    # Runs of the program, worked out from the whole trace at once.
    runs: list[tuple[float, float]] = []
    previous: bool | None = None
    started: float | None = None
    for seconds, value in trace:
        if value is True and previous is False:
            started = seconds
        elif value is False and started is not None:
            if seconds - started >= min_s:
                runs.append((started, seconds))
            started = None
        elif value is None:
            started = None
        previous = value
    expected = [
        end
        for index, (start, end) in enumerate(runs)
        if index == 0 or start > runs[index - 1][1] + SESSION
    ]
    assert program(trace, min_s) == expected


# A backflush in the pulses of a brewing or power source.


def pulse(start: float, length: float, result: PulseResult | None = None) -> Pulse:
    """Return a pulse; too short for a shot unless it lasts 15 to 60 s."""
    if result is None:
        result = (
            PulseResult.TOO_SHORT
            if length < 15
            else PulseResult.SHOT
            if length <= 60
            else PulseResult.TOO_LONG
        )
    return Pulse(started=at(start), duration_s=length, peak=None, result=result)


def backflushes(
    pulses: list[Pulse], pattern: PulsePattern | None = None
) -> list[float]:
    """Feed pulses to the pattern detector; return when backflushes were done."""
    detector = BackflushPatternDetector(pattern or PulsePattern())
    return [
        (done - START).total_seconds()
        for item in pulses
        if (done := detector.update(item)) is not None
    ]


def cleaning(
    start: float, cycles: int = 5, on: float = 10, off: float = 10
) -> list[Pulse]:
    """Return a backflush's pulses: `cycles` of `on` seconds with `off` between."""
    return [pulse(start + cycle * (on + off), on) for cycle in range(cycles)]


def test_backflush_pattern_defaults_follow_the_instructions() -> None:
    """Four pulses of at least five seconds, at most a minute apart."""
    assert PulsePattern() == PulsePattern(pulses=4, pulse_s=5, pause_s=60)


def test_backflush_is_recorded_at_its_fourth_pulse() -> None:
    """Five cycles of 10 s on, 10 s off: recorded once, when the fourth one ends."""
    assert backflushes(cleaning(0)) == [70]


def test_backflush_then_rinse_is_one_backflush() -> None:
    """The rinse cycles after rinsing the basket belong to the same cleaning."""
    assert backflushes(cleaning(0) + cleaning(220)) == [70]
    # A day later it is a new cleaning.
    assert backflushes(cleaning(0) + cleaning(86400)) == [70, 86470]


def test_backflush_with_slow_hands_and_group_flushes() -> None:
    """Pauses of up to a minute and group flushes in between still make a run."""
    pulses = [
        pulse(0, 9), pulse(40, 12), pulse(45 + 12, 3),  # a 3 s flush is passed over
        pulse(110, 8), pulse(175, 11),
    ]  # fmt: skip
    assert backflushes(pulses) == [186]


def test_backflush_run_is_broken_by_shots_steam_gaps_and_long_pauses() -> None:
    """A shot, steaming, a missing reading or a long pause starts the count again."""
    for breaker in (
        pulse(45, 28),  # a shot
        pulse(45, 90),  # steaming
        pulse(45, 5, PulseResult.INTERRUPTED),  # unavailable in the middle
    ):
        pulses = [*cleaning(0, cycles=2), breaker, *cleaning(140, cycles=2)]
        assert backflushes(pulses) == [], breaker
    assert backflushes([*cleaning(0, cycles=2), *cleaning(30 + 61, cycles=2)]) == []


def test_group_flushes_and_shots_are_no_backflush() -> None:
    """A morning: flushes before and after shots, steaming; no backflush."""
    pulses = [
        pulse(0, 3), pulse(60, 27), pulse(100, 4),
        pulse(200, 6), pulse(230, 29), pulse(270, 7),
        pulse(300, 95), pulse(420, 8), pulse(440, 25),
    ]  # fmt: skip
    assert backflushes(pulses) == []


def test_shot_right_after_a_backflush_stays_a_shot() -> None:
    """The pattern never takes a shot: its pulses are all too short to be one."""
    pulses = [*cleaning(0), pulse(100, 26)]
    assert backflushes(pulses) == [70]
    assert pulses[-1].result is PulseResult.SHOT


CLEANING_PULSES = st.builds(
    lambda gap, length, result: (gap, length, result),
    st.integers(min_value=0, max_value=480).map(lambda n: n / 4),
    st.integers(min_value=2, max_value=480).map(lambda n: n / 4),
    st.sampled_from(
        [PulseResult.TOO_SHORT] * 4
        + [PulseResult.SHOT, PulseResult.TOO_LONG, PulseResult.INTERRUPTED]
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    steps=st.lists(CLEANING_PULSES, max_size=60),
    pulses=st.integers(min_value=2, max_value=6),
    pulse_s=st.integers(min_value=1, max_value=14),
    pause_s=st.integers(min_value=5, max_value=120),
    sessions_apart=st.booleans(),
)
def test_backflush_pattern_property(
    steps: list[tuple[float, float, PulseResult]],
    pulses: int,
    pulse_s: int,
    pause_s: int,
    sessions_apart: bool,
) -> None:
    """Reported exactly for runs of cleaning pulses, once per cleaning session.

    Every report ends a run of `pulses` cleaning pulses (too short for a shot,
    at least `pulse_s`, each within `pause_s` of the one before, nothing but
    group flushes between them). Between two reports a cleaning pulse starts
    more than a session after the cleaning pulse before it. And a run whose
    first pulse starts more than a session after any earlier cleaning pulse is
    always reported, at its `pulses`-th pulse.
    """
    pattern = PulsePattern(pulses=pulses, pulse_s=pulse_s, pause_s=pause_s)
    moment = 0.0
    trace: list[Pulse] = []
    for gap, length, result in steps:
        # Sometimes leave more than a session between pulses.
        moment += gap + (SESSION if sessions_apart and gap > 100 else 0)
        duration = min(length, 14.75) if result is PulseResult.TOO_SHORT else length
        trace.append(pulse(moment, duration, result))
        moment += duration
    reports = backflushes(trace, pattern)

    def end(item: Pulse) -> float:
        return (item.started - START).total_seconds() + item.duration_s

    def start(item: Pulse) -> float:
        return (item.started - START).total_seconds()

    def is_cleaning(item: Pulse) -> bool:
        return item.result is PulseResult.TOO_SHORT and item.duration_s >= pulse_s

    # Runs, worked out from the whole trace: (index of each pulse in the run).
    runs: list[list[int]] = []
    current: list[int] = []
    for index, item in enumerate(trace):
        if item.result is not PulseResult.TOO_SHORT:
            current = []
            continue
        if not is_cleaning(item):
            continue
        if current and start(item) - end(trace[current[-1]]) > pause_s:
            current = []
        if not current:
            current = []
            runs.append(current)
        current.append(index)
    # Every report is the end of a run's `pulses`-th pulse.
    candidates = {end(trace[run[pulses - 1]]) for run in runs if len(run) >= pulses}
    assert set(reports) <= candidates
    assert reports == sorted(set(reports))
    cleaning_pulses = [item for item in trace if is_cleaning(item)]
    for earlier, later in itertools.pairwise(reports):
        between = [
            (start(b) - end(a))
            for a, b in itertools.pairwise(cleaning_pulses)
            if earlier <= end(a) and end(b) <= later
        ]
        assert any(gap > SESSION for gap in between)
    for run in runs:
        first = trace[run[0]]
        before = [item for item in cleaning_pulses if end(item) <= start(first)]
        if len(run) >= pulses and all(
            start(first) - end(item) > SESSION for item in before
        ):
            assert end(trace[run[pulses - 1]]) in reports
