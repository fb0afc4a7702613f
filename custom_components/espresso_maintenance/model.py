"""The maintenance rules: counters, due logic, recommended intervals, water hardness.

Pure Python with no Home Assistant imports, so every rule can be tested on its own.
All datetimes are timezone-aware; day counts compare local calendar dates, which is
what keeps them right across daylight saving changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
import math


class MachineType(StrEnum):
    """Kinds of espresso machine."""

    SEMI_AUTOMATIC = "semi_automatic"
    SUPER_AUTOMATIC = "super_automatic"
    CAPSULE = "capsule"
    LEVER = "lever"
    OTHER = "other"


# Semi-automatics are the machines that typically have a three-way solenoid valve;
# bean-to-cup, capsule and most lever machines have none.
TYPICAL_THREE_WAY_VALVE: dict[MachineType, bool] = {
    MachineType.SEMI_AUTOMATIC: True,
    MachineType.SUPER_AUTOMATIC: False,
    MachineType.CAPSULE: False,
    MachineType.LEVER: False,
    MachineType.OTHER: False,
}


class HardnessUnit(StrEnum):
    """Units owners read off water hardness test strips."""

    GERMAN_DEGREE = "dh"
    FRENCH_DEGREE = "fh"
    CLARK_DEGREE = "clark"
    MG_L_CACO3 = "mg_l"
    GRAINS_PER_GALLON = "gpg"
    MMOL_L = "mmol_l"


# mg/L of CaCO3 equivalent to one of each unit.
MG_L_CACO3_PER_UNIT: dict[HardnessUnit, float] = {
    HardnessUnit.GERMAN_DEGREE: 17.848,
    HardnessUnit.FRENCH_DEGREE: 10.0,
    HardnessUnit.CLARK_DEGREE: 14.254,
    HardnessUnit.MG_L_CACO3: 1.0,
    HardnessUnit.GRAINS_PER_GALLON: 17.118,
    HardnessUnit.MMOL_L: 100.09,
}

# Water hardness classes in mg/L CaCO3 (the common USGS scale): soft up to 60,
# moderately hard up to 120, hard up to 180, very hard above.
SOFT_WATER_MAX_MG_L = 60.0
VERY_HARD_WATER_MIN_MG_L = 180.0
# Beyond any tap water (about 56 °dH); a larger reading is a typo.
MAX_HARDNESS_MG_L = 1000.0
# Treated as moderately hard when the owner has not measured it.
UNKNOWN_HARDNESS_MG_L = 120.0
# The Specialty Coffee Association's water standard for brewing coffee: total
# hardness 68 mg/L CaCO3 as the target, 50 to 175 mg/L acceptable. Harder water
# scales an espresso machine's boiler and pipes.
ESPRESSO_HARDNESS_TARGET_MG_L = 68.0
ESPRESSO_HARDNESS_MAX_MG_L = 175.0

# Backflush weekly for a machine used daily.
RECOMMENDED_BACKFLUSH_DAYS = 7
MIN_BACKFLUSH_SHOTS = 10
MAX_BACKFLUSH_SHOTS = 100

# Descale every one to three months.
MIN_DESCALE_DAYS = 30
MAX_DESCALE_DAYS = 90
# Light use is at most one shot a day; heavy use is six or more.
LIGHT_USE_SHOTS_PER_DAY = 1.0
HEAVY_USE_SHOTS_PER_DAY = 6.0

# "Due soon" starts at 80 % of a limit, kept as a fraction to compare integers exactly.
DUE_SOON_NUMERATOR = 4
DUE_SOON_DENOMINATOR = 5

HISTORY_LIMIT = 500
UNDO_LIMIT = 20
# How far back the real shot rate is measured, for predicting the next backflush.
SHOT_RATE_WINDOW_DAYS = 28
PREDICTION_HORIZON_DAYS = 366


def hardness_to_mg_l(value: float, unit: HardnessUnit) -> float:
    """Convert a hardness reading to mg/L CaCO3."""
    return value * MG_L_CACO3_PER_UNIT[unit]


def hardness_from_mg_l(mg_l: float, unit: HardnessUnit) -> float:
    """Convert mg/L CaCO3 to a hardness reading in the given unit."""
    return mg_l / MG_L_CACO3_PER_UNIT[unit]


def hardness_in_range(value: float, unit: HardnessUnit) -> bool:
    """Tell whether a reading is a plausible water hardness."""
    return 0 <= hardness_to_mg_l(value, unit) <= MAX_HARDNESS_MG_L


def is_too_hard_for_espresso(mg_l: float) -> bool:
    """Tell whether water is harder than the coffee water standard accepts."""
    return mg_l > ESPRESSO_HARDNESS_MAX_MG_L


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def recommended_backflush_shots(shots_per_day: float) -> int:
    """About a week of shots, kept within a sensible range."""
    week = math.ceil(shots_per_day * RECOMMENDED_BACKFLUSH_DAYS)
    return int(_clamp(week, MIN_BACKFLUSH_SHOTS, MAX_BACKFLUSH_SHOTS))


def recommended_descale_days(shots_per_day: float, hardness_mg_l: float | None) -> int:
    """Recommend a descale interval between 30 and 90 days.

    Use and hardness are each scored from 0 to 1: use from light (one shot a day)
    to heavy (six), hardness from soft (60 mg/L) to very hard (180 mg/L). The scores
    combine like independent risks, 1 - (1 - use) * (1 - hardness), so either one
    at its maximum gives 30 days, both at zero give 90, and the interval never
    grows with more shots or harder water.
    """
    use = _clamp(
        (shots_per_day - LIGHT_USE_SHOTS_PER_DAY)
        / (HEAVY_USE_SHOTS_PER_DAY - LIGHT_USE_SHOTS_PER_DAY),
        0.0,
        1.0,
    )
    mg_l = UNKNOWN_HARDNESS_MG_L if hardness_mg_l is None else hardness_mg_l
    hardness = _clamp(
        (mg_l - SOFT_WATER_MAX_MG_L) / (VERY_HARD_WATER_MIN_MG_L - SOFT_WATER_MAX_MG_L),
        0.0,
        1.0,
    )
    combined = 1.0 - (1.0 - use) * (1.0 - hardness)
    span = MAX_DESCALE_DAYS - MIN_DESCALE_DAYS
    return MAX_DESCALE_DAYS - math.floor(span * combined + 0.5)


class Kind(StrEnum):
    """Kinds of maintenance."""

    BACKFLUSH = "backflush"
    DESCALE = "descale"


class DueStatus(StrEnum):
    """Where a maintenance stands against its limits."""

    OK = "ok"
    DUE_SOON = "due_soon"
    DUE = "due"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What is tracked and the limits chosen for one machine."""

    track_backflush: bool
    track_descale: bool
    backflush_interval_shots: int
    backflush_interval_days: int
    descale_interval_days: int

    def tracks(self, kind: Kind) -> bool:
        """Tell whether a kind of maintenance is tracked."""
        return self.track_backflush if kind is Kind.BACKFLUSH else self.track_descale


@dataclass(frozen=True, kw_only=True)
class Record:
    """One maintenance done, with the counters as they were just before it."""

    kind: Kind
    performed_at: datetime
    note: str | None
    shots_since_backflush: int
    total_shots: int
    # When a back-dated record was entered: the counters above are from then.
    recorded_at: datetime | None = None

    @property
    def counted_at(self) -> datetime:
        """Return when the counters stored with the record were read."""
        return self.recorded_at or self.performed_at


@dataclass(frozen=True, kw_only=True)
class UndoStep:
    """What a maintenance record changed, so it can be taken back."""

    record: Record
    # Whether the record moved the last date (a back-dated record older than the
    # current last one only joins the history).
    applied: bool
    previous_last: datetime | None
    previous_shots_since_backflush: int
    previous_due_notified: bool


@dataclass(frozen=True, kw_only=True)
class MachineState:
    """Everything remembered about one machine."""

    shots_since_backflush: int = 0
    total_shots: int = 0
    last_backflush: datetime | None = None
    last_descale: datetime | None = None
    # Set once a due event has been sent, so it is sent once per due period.
    backflush_due_notified: bool = False
    descale_due_notified: bool = False
    history: tuple[Record, ...] = ()
    undo: tuple[UndoStep, ...] = field(default=())
    # The last reading of a shot-counter source, so shots pulled while Home
    # Assistant was stopped are counted at the next reading.
    source_baseline: float | None = None

    def last(self, kind: Kind) -> datetime | None:
        """Return when a kind of maintenance was last done."""
        return self.last_backflush if kind is Kind.BACKFLUSH else self.last_descale

    def due_notified(self, kind: Kind) -> bool:
        """Tell whether the current due period was already announced."""
        if kind is Kind.BACKFLUSH:
            return self.backflush_due_notified
        return self.descale_due_notified


class NothingToUndoError(Exception):
    """There is no maintenance record left to undo."""


def _with_kind(
    state: MachineState, kind: Kind, last: datetime | None, notified: bool
) -> MachineState:
    if kind is Kind.BACKFLUSH:
        return replace(state, last_backflush=last, backflush_due_notified=notified)
    return replace(state, last_descale=last, descale_due_notified=notified)


def record_shots(state: MachineState, count: int) -> MachineState:
    """Count shots pulled."""
    if count < 1:
        raise ValueError("count must be at least 1")
    return replace(
        state,
        shots_since_backflush=state.shots_since_backflush + count,
        total_shots=state.total_shots + count,
    )


def set_shots_since_backflush(state: MachineState, shots: int) -> MachineState:
    """Correct the shots counted since the last backflush; the lifetime total stays."""
    if shots < 0:
        raise ValueError("shots must not be negative")
    return replace(state, shots_since_backflush=shots)


def record_maintenance(
    state: MachineState,
    kind: Kind,
    performed_at: datetime,
    note: str | None = None,
    *,
    recorded_at: datetime | None = None,
) -> MachineState:
    """Record a backflush or a descale, possibly back-dated.

    A record older than the current last one only joins the history; otherwise it
    becomes the last one and restarts that maintenance's counters. A due period
    already announced stays announced while it lasts, so a record that leaves
    it due does not announce it again.
    """
    if performed_at.tzinfo is None or (recorded_at and recorded_at.tzinfo is None):
        raise ValueError("times must be timezone-aware")
    performed_at = performed_at.astimezone(UTC)
    if recorded_at is not None:
        recorded_at = recorded_at.astimezone(UTC)
    record = Record(
        kind=kind,
        performed_at=performed_at,
        note=note,
        shots_since_backflush=state.shots_since_backflush,
        total_shots=state.total_shots,
        recorded_at=recorded_at if recorded_at != performed_at else None,
    )
    previous_last = state.last(kind)
    applied = previous_last is None or performed_at >= previous_last
    step = UndoStep(
        record=record,
        applied=applied,
        previous_last=previous_last,
        previous_shots_since_backflush=state.shots_since_backflush,
        previous_due_notified=state.due_notified(kind),
    )
    history = tuple(
        sorted((*state.history, record), key=lambda item: item.performed_at)
    )[-HISTORY_LIMIT:]
    new_state = replace(state, history=history, undo=(*state.undo, step)[-UNDO_LIMIT:])
    if not applied:
        return new_state
    new_state = _with_kind(
        new_state, kind, performed_at, notified=state.due_notified(kind)
    )
    if kind is Kind.BACKFLUSH:
        new_state = replace(new_state, shots_since_backflush=0)
    return new_state


def undo_last(state: MachineState) -> tuple[MachineState, Record]:
    """Take back the latest maintenance record.

    Shots pulled after it stay counted: they are added back on top of the
    counter as it was before the record.
    """
    if not state.undo:
        raise NothingToUndoError
    step = state.undo[-1]
    history = list(state.history)
    for index in range(len(history) - 1, -1, -1):
        if history[index] == step.record:
            del history[index]
            break
    new_state = replace(state, history=tuple(history), undo=state.undo[:-1])
    if not step.applied:
        return new_state, step.record
    kind = step.record.kind
    new_state = _with_kind(
        new_state,
        kind,
        step.previous_last,
        # Announced while the record stood, or before it: either way, once.
        notified=step.previous_due_notified or state.due_notified(kind),
    )
    if kind is Kind.BACKFLUSH:
        new_state = replace(
            new_state,
            shots_since_backflush=step.previous_shots_since_backflush
            + state.shots_since_backflush,
        )
    return new_state, step.record


def local_date(moment: datetime, tz: tzinfo) -> date:
    """Return the calendar date of a moment in a time zone."""
    return moment.astimezone(tz).date()


def start_of_local_day(day: date, tz: tzinfo) -> datetime:
    """Return the first moment of a local calendar day, in UTC.

    Where a daylight saving change skips midnight, the day starts when the
    clocks jump, which is what the round trip through UTC gives.
    """
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def days_between(earlier: datetime, now: datetime, tz: tzinfo) -> int:
    """Whole local days from one moment to another, never negative."""
    return max(0, (local_date(now, tz) - local_date(earlier, tz)).days)


def _reached(value: int, limit: int) -> bool:
    return value >= limit


def _reached_soon(value: int, limit: int) -> bool:
    return value * DUE_SOON_DENOMINATOR >= limit * DUE_SOON_NUMERATOR


@dataclass(frozen=True, kw_only=True)
class Status:
    """What a machine needs, evaluated at one moment."""

    shots_since_backflush: int
    total_shots: int
    last_backflush: datetime | None
    last_descale: datetime | None
    days_since_backflush: int | None
    days_since_descale: int | None
    shots_until_backflush: int | None
    # The first moment the day-count rule makes a backflush due (given a shot).
    backflush_days_limit_at: datetime | None
    next_descale: datetime | None
    # None when not tracked, or (descale only) when the last one is unknown.
    backflush: DueStatus | None
    descale: DueStatus | None
    # When the day counts change next (the coming local midnight), if any exist.
    next_change: datetime | None

    def due(self, kind: Kind) -> DueStatus | None:
        """Return the due status of a kind of maintenance."""
        return self.backflush if kind is Kind.BACKFLUSH else self.descale

    def days_since(self, kind: Kind) -> int | None:
        """Return the whole days since a kind of maintenance."""
        if kind is Kind.BACKFLUSH:
            return self.days_since_backflush
        return self.days_since_descale


def _backflush_status(settings: Settings, shots: int, days: int | None) -> DueStatus:
    by_days = days is not None and shots > 0
    if _reached(shots, settings.backflush_interval_shots) or (
        by_days and _reached(days or 0, settings.backflush_interval_days)
    ):
        return DueStatus.DUE
    if _reached_soon(shots, settings.backflush_interval_shots) or (
        by_days and _reached_soon(days or 0, settings.backflush_interval_days)
    ):
        return DueStatus.DUE_SOON
    return DueStatus.OK


def _descale_status(settings: Settings, days: int) -> DueStatus:
    if _reached(days, settings.descale_interval_days):
        return DueStatus.DUE
    if _reached_soon(days, settings.descale_interval_days):
        return DueStatus.DUE_SOON
    return DueStatus.OK


def evaluate(
    settings: Settings, state: MachineState, now: datetime, tz: tzinfo
) -> Status:
    """Evaluate a machine's counters and due states at a moment."""
    today = local_date(now, tz)
    backflush: DueStatus | None = None
    descale: DueStatus | None = None
    days_since_backflush: int | None = None
    days_since_descale: int | None = None
    shots_until_backflush: int | None = None
    backflush_days_limit_at: datetime | None = None
    next_descale: datetime | None = None

    if settings.track_backflush:
        if state.last_backflush is not None:
            days_since_backflush = days_between(state.last_backflush, now, tz)
            backflush_days_limit_at = start_of_local_day(
                local_date(state.last_backflush, tz)
                + timedelta(days=settings.backflush_interval_days),
                tz,
            )
        shots_until_backflush = max(
            0, settings.backflush_interval_shots - state.shots_since_backflush
        )
        backflush = _backflush_status(
            settings, state.shots_since_backflush, days_since_backflush
        )

    if settings.track_descale and state.last_descale is not None:
        days_since_descale = days_between(state.last_descale, now, tz)
        next_descale = start_of_local_day(
            local_date(state.last_descale, tz)
            + timedelta(days=settings.descale_interval_days),
            tz,
        )
        descale = _descale_status(settings, days_since_descale)

    next_change = None
    if days_since_backflush is not None or days_since_descale is not None:
        next_change = start_of_local_day(today + timedelta(days=1), tz)

    return Status(
        shots_since_backflush=state.shots_since_backflush,
        total_shots=state.total_shots,
        last_backflush=state.last_backflush if settings.track_backflush else None,
        last_descale=state.last_descale if settings.track_descale else None,
        days_since_backflush=days_since_backflush,
        days_since_descale=days_since_descale,
        shots_until_backflush=shots_until_backflush,
        backflush_days_limit_at=backflush_days_limit_at,
        next_descale=next_descale,
        backflush=backflush,
        descale=descale,
        next_change=next_change,
    )


def note_due_edges(
    state: MachineState, status: Status
) -> tuple[MachineState, tuple[Kind, ...]]:
    """Find the maintenance that has just become due.

    Each due period is announced once: the flag stays set while it is due (also
    across restarts, as it is stored) and clears when it no longer is.
    """
    newly_due: list[Kind] = []
    for kind in Kind:
        is_due = status.due(kind) is DueStatus.DUE
        notified = state.due_notified(kind)
        if is_due and not notified:
            newly_due.append(kind)
        if is_due != notified:
            state = _with_kind(state, kind, state.last(kind), notified=is_due)
    return state, tuple(newly_due)


def recent_shot_rate(state: MachineState, now: datetime, fallback: float) -> float:
    """Return the shots per day actually pulled lately.

    Measured from the oldest maintenance record of the last four weeks (records
    keep the lifetime total at the time they were entered) to now; without such a record, or
    less than a day of data, the typical shots per day given by the user.
    """
    window_start = now - timedelta(days=SHOT_RATE_WINDOW_DAYS)
    recent = [record for record in state.history if record.counted_at >= window_start]
    if not recent:
        return fallback
    oldest = min(recent, key=lambda record: record.counted_at)
    days = (now - oldest.counted_at) / timedelta(days=1)
    if days < 1:
        return fallback
    return (state.total_shots - oldest.total_shots) / days


def predict_backflush(
    settings: Settings,
    state: MachineState,
    status: Status,
    *,
    today: date,
    tz: tzinfo,
    shots_per_day: float,
) -> date | None:
    """Predict the day a backflush becomes due, at a rate of shots per day.

    It is the earlier of the day-count limit (once a shot is pulled since the
    last backflush, which a positive rate promises) and the day the shot limit
    is reached at that rate. None when it cannot be told (nothing tracked, or no
    shots expected and no day limit).
    """
    if status.backflush is None:
        return None
    if status.backflush is DueStatus.DUE:
        return today
    candidates: list[date] = []
    if status.backflush_days_limit_at is not None and (
        state.shots_since_backflush > 0 or shots_per_day > 0
    ):
        candidates.append(local_date(status.backflush_days_limit_at, tz))
    if shots_per_day > 0:
        remaining = settings.backflush_interval_shots - state.shots_since_backflush
        days = remaining / shots_per_day
        # Beyond a year is no prediction worth showing (and a near-zero rate
        # would overflow a date). The last shot needed falls on the day it is
        # pulled: 1 shot to go at 1 a day is today.
        if days <= PREDICTION_HORIZON_DAYS:
            candidates.append(today + timedelta(days=max(0, math.ceil(days) - 1)))
    return max(today, min(candidates)) if candidates else None
