"""Detection from another entity's readings: shots, and maintenance the machine reports.

Pure Python with no Home Assistant imports. Each detector is fed one reading at a
time, in order, with the moment it was taken, and says when a shot was pulled or
a backflush or descale was done. A reading that is missing (unavailable, unknown,
not a number) is None: it never counts and it cancels a pulse in progress, so
neither a restart of Home Assistant nor one of the source device in the middle of
a shot or a cleaning program creates a record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
import math


class SourceKind(StrEnum):
    """Where shots come from besides the buttons and actions."""

    NONE = "none"
    BREWING = "brewing"
    POWER = "power"
    COUNTER = "counter"


# Shorter on-times are group-head flushes or cleaning-cycle pulses; longer ones are
# steaming or a stuck state.
DEFAULT_MIN_SECONDS = 15
DEFAULT_MAX_SECONDS = 60
# A counter jumping by more at once is a glitch or a replaced device, not shots.
MAX_COUNTER_JUMP = 50


class PulseResult(StrEnum):
    """What became of one pulse."""

    SHOT = "shot"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, kw_only=True)
class Pulse:
    """One on-time of a brewing switch or a power draw, for counting and calibration."""

    started: datetime
    duration_s: float
    peak: float | None
    result: PulseResult


def _classify(duration_s: float, min_s: float, max_s: float) -> PulseResult:
    if duration_s < min_s:
        return PulseResult.TOO_SHORT
    if duration_s > max_s:
        return PulseResult.TOO_LONG
    return PulseResult.SHOT


class BrewingDetector:
    """A shot is an on→off of a brewing switch with an on-time inside [min, max].

    Timing only starts on an observed off→on, so a switch already on when
    watching begins (a restart mid-shot) is not a shot.
    """

    def __init__(self, min_s: float, max_s: float) -> None:
        """Set the window of a shot's on-time."""
        self.min_s = min_s
        self.max_s = max_s
        self._was_off = False
        self._started: datetime | None = None

    def update(self, is_on: bool | None, at: datetime) -> Pulse | None:
        """Feed a reading: True on, False off, None missing. Return a finished pulse."""
        pulse = None
        if is_on is None:
            if self._started is not None:
                pulse = Pulse(
                    started=self._started,
                    duration_s=(at - self._started).total_seconds(),
                    peak=None,
                    result=PulseResult.INTERRUPTED,
                )
            self._started = None
            self._was_off = False
        elif is_on:
            if self._was_off:
                self._started = at
            self._was_off = False
        else:
            if self._started is not None:
                duration = (at - self._started).total_seconds()
                pulse = Pulse(
                    started=self._started,
                    duration_s=duration,
                    peak=None,
                    result=_classify(duration, self.min_s, self.max_s),
                )
            self._started = None
            self._was_off = True
        return pulse


class PowerDetector:
    """A shot is power above the on-threshold for a time inside [min, max].

    It ends when power falls below the lower off-threshold (hysteresis), so a
    noisy reading between the two does not split one shot into two. Power must
    have been seen below the off-threshold before a pulse can start.
    """

    def __init__(self, on_w: float, off_w: float, min_s: float, max_s: float) -> None:
        """Set the thresholds and the window of a shot's duration."""
        if off_w > on_w:
            raise ValueError("the off-threshold must not be above the on-threshold")
        self.on_w = on_w
        self.off_w = off_w
        self.min_s = min_s
        self.max_s = max_s
        self._armed = False
        self._started: datetime | None = None
        self._peak = 0.0

    def update(self, watts: float | None, at: datetime) -> Pulse | None:
        """Feed a reading in watts (None when missing). Return a finished pulse."""
        if watts is None or not math.isfinite(watts):
            pulse = None
            if self._started is not None:
                pulse = Pulse(
                    started=self._started,
                    duration_s=(at - self._started).total_seconds(),
                    peak=self._peak,
                    result=PulseResult.INTERRUPTED,
                )
            self._started = None
            self._armed = False
            return pulse
        if self._started is not None:
            if watts < self.off_w:
                duration = (at - self._started).total_seconds()
                pulse = Pulse(
                    started=self._started,
                    duration_s=duration,
                    peak=self._peak,
                    result=_classify(duration, self.min_s, self.max_s),
                )
                self._started = None
                self._armed = True
                return pulse
            self._peak = max(self._peak, watts)
            return None
        if watts < self.off_w:
            self._armed = True
        elif watts >= self.on_w and self._armed:
            self._started = at
            self._peak = watts
        return None


class CounterChange(StrEnum):
    """What a counter reading meant."""

    BASELINE = "baseline"
    SHOTS = "shots"
    RESET = "reset"
    JUMP = "jump"


@dataclass(frozen=True, kw_only=True)
class CounterReading:
    """The shots a counter reading adds, and the baseline to keep."""

    shots: int
    baseline: float
    change: CounterChange | None


def read_counter(
    baseline: float | None, value: float, max_jump: int = MAX_COUNTER_JUMP
) -> CounterReading:
    """Turn a shot counter's reading into shots since the baseline.

    A decrease is a counter reset: the new value becomes the baseline and
    nothing is counted. An increase above `max_jump` is not counted either. A
    fractional increase waits until it makes a whole shot.
    """
    if baseline is None:
        return CounterReading(shots=0, baseline=value, change=CounterChange.BASELINE)
    if value < baseline:
        return CounterReading(shots=0, baseline=value, change=CounterChange.RESET)
    increase = value - baseline
    if increase > max_jump:
        return CounterReading(shots=0, baseline=value, change=CounterChange.JUMP)
    shots = math.floor(increase)
    if shots == 0:
        return CounterReading(shots=0, baseline=baseline, change=None)
    return CounterReading(
        shots=shots, baseline=baseline + shots, change=CounterChange.SHOTS
    )


class MaintenanceSourceKind(StrEnum):
    """Where backflush or descale records come from besides the buttons and actions."""

    NONE = "none"
    TIMESTAMP = "timestamp"
    PROGRAM = "program"


# A machine's (or its cloud's) clock a little ahead of Home Assistant's: a last
# cleaning time up to this far in the future is taken as now; further is garbage.
TIMESTAMP_CLOCK_SKEW = timedelta(minutes=5)
# Rinse cycles after a backflush, or a program that stops and starts again, belong
# to the same cleaning while they follow each other within this time. Cleaning
# instructions have the blind basket rinsed and the cycles repeated without
# detergent right after the detergent cycles (a minute or two), and some let the
# detergent soak for ten to fifteen minutes first.
CLEANING_SESSION = timedelta(minutes=30)


@dataclass(frozen=True, kw_only=True)
class TimestampReading:
    """What a timestamp source's value means: a record to make, and what to remember."""

    record_at: datetime | None
    reading: datetime | None


def read_timestamp(
    value: datetime | None,
    *,
    last_record: datetime | None,
    last_reading: datetime | None,
    now: datetime,
) -> TimestampReading:
    """Turn a last-maintenance time reported by the machine into a record.

    A value later than both the last record of that maintenance and the last
    value read records it, performed at that time. Anything else records
    nothing: a value at or before the last record (already known, or a record
    entered by hand after it), the same value read again (after a restart, or
    after the user undid its record), a missing value, or one too far in the
    future to be a clock's small lead. The reading to remember never goes back.
    """
    if value is None or value > now + TIMESTAMP_CLOCK_SKEW:
        return TimestampReading(record_at=None, reading=last_reading)
    reading = value if last_reading is None else max(value, last_reading)
    known = [moment for moment in (last_record, last_reading) if moment is not None]
    if known and value <= max(known):
        return TimestampReading(record_at=None, reading=reading)
    return TimestampReading(record_at=min(value, now), reading=reading)


class ProgramDetector:
    """A program ran: an observed off→on, on for at least `min_s`, then off.

    It is recorded at the moment it turned off. Shorter on-times (flapping), a
    missing reading in the middle, or a program already running when watching
    began (a restart) record nothing. Further runs within a cleaning session of
    a recorded one (a rinse program, a program stopped and started again) are
    the same cleaning and are not recorded again.
    """

    def __init__(self, min_s: float) -> None:
        """Set the shortest on-time that is a program."""
        self._on_times = BrewingDetector(min_s, math.inf)
        self._session_end: datetime | None = None

    def update(self, is_on: bool | None, at: datetime) -> datetime | None:
        """Feed a reading: True on, False off, None missing. Return a program's end."""
        pulse = self._on_times.update(is_on, at)
        if pulse is None or pulse.result is not PulseResult.SHOT:
            return None
        in_session = (
            self._session_end is not None and pulse.started <= self._session_end
        )
        self._session_end = at + CLEANING_SESSION
        return None if in_session else at


# A backflush with a blind basket, from the manufacturers' and detergent makers'
# cleaning instructions: the pump is run for about ten seconds (five to fifteen),
# stopped for about ten (ten to thirty), and this is done five times, then once
# more without detergent. Four pulses are asked for, so a cycle cut short still
# counts; a pulse must last five seconds, longer than the few seconds of a group
# flush; a pause may last a minute, twice the longest in the instructions, for
# slow hands and power readings that come every few seconds.
DEFAULT_BACKFLUSH_PULSES = 4
DEFAULT_BACKFLUSH_PULSE_SECONDS = 5
DEFAULT_BACKFLUSH_PAUSE_SECONDS = 60


@dataclass(frozen=True, kw_only=True)
class PulsePattern:
    """The run of short pump pulses that is a backflush."""

    pulses: int = DEFAULT_BACKFLUSH_PULSES
    pulse_s: float = DEFAULT_BACKFLUSH_PULSE_SECONDS
    pause_s: float = DEFAULT_BACKFLUSH_PAUSE_SECONDS


class BackflushPatternDetector:
    """A backflush is a run of cleaning pulses seen by a brewing or power source.

    A cleaning pulse is too short to be a shot but lasts at least `pulse_s`, so
    none of a backflush's pulses is ever a shot, and a shot stays a shot
    whatever comes before or after it. A run is cleaning pulses each starting
    within `pause_s` of the end of the one before; shorter pulses (group
    flushes) are passed over, while a shot, steaming or a missing reading ends
    the run. The backflush is recorded when the run reaches `pulses`, at the
    end of that pulse; runs within a cleaning session of it (the rinse cycles)
    are the same cleaning and are not recorded again.
    """

    def __init__(self, pattern: PulsePattern) -> None:
        """Set the pattern to look for."""
        self.pattern = pattern
        self._run = 0
        self._last_end: datetime | None = None
        self._session_end: datetime | None = None

    def update(self, pulse: Pulse) -> datetime | None:
        """Feed a finished pulse; return when a backflush was done, if it ends one."""
        if pulse.result is not PulseResult.TOO_SHORT:
            self._run = 0
            self._last_end = None
            return None
        if pulse.duration_s < self.pattern.pulse_s:
            return None
        end = pulse.started + timedelta(seconds=pulse.duration_s)
        pause = (
            None
            if self._last_end is None
            else (pulse.started - self._last_end).total_seconds()
        )
        self._run = (
            1 if pause is None or pause > self.pattern.pause_s else self._run + 1
        )
        self._last_end = end
        if self._session_end is not None and pulse.started <= self._session_end:
            self._session_end = end + CLEANING_SESSION
            return None
        if self._run < self.pattern.pulses:
            return None
        self._session_end = end + CLEANING_SESSION
        return end
