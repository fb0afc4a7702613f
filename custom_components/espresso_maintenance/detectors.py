"""Shot detection from another entity's readings: brewing switch, power, shot counter.

Pure Python with no Home Assistant imports. Each detector is fed one reading at a
time, in order, with the moment it was taken, and says when a shot was pulled. A
reading that is missing (unavailable, unknown, not a number) is None: it never
counts and it cancels a pulse in progress, so neither a restart of Home Assistant
nor one of the source device in the middle of a shot creates a shot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
