"""The maintenance rules: counters, due logic, recommended intervals, water hardness.

Descaling follows the scale a machine has taken in: the water through it, weighed
by the water's hardness, counted in days of typical use (see "Scale load" below).

Pure Python with no Home Assistant imports, so every rule can be tested on its own.
All datetimes are timezone-aware; day counts compare local calendar dates, which is
what keeps them right across daylight saving changes.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from itertools import pairwise
import math
from typing import Any


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
# The shots per day the flows suggest: two a day is a typical home.
TYPICAL_SHOTS_PER_DAY = 2.0

# Water per shot, when the water is estimated from the shots counted. A double
# shot is 36-40 mL in the cup (18-20 g of coffee at 1:2); the spent puck keeps
# about 20 mL and the three-way valve dumps a few more; the usual group flush
# before or after a shot runs 3-5 s at the 6-8 mL/s an open group gives, about
# 30-40 mL. That is about 100 mL. On a single boiler all of it is heated in the
# boiler. On a heat exchanger it is heated in the exchanger tube and the group,
# where its scale builds, while the boiler is refilled by steam and hot water:
# those are not in the figure, and a water source that meters the inlet sees them.
DEFAULT_WATER_PER_SHOT_ML = 100
# Calibrating needs some use: a typed use of less (0 is allowed) is taken as half
# a shot a day, the smallest step the forms offer.
MIN_CALIBRATION_SHOTS_PER_DAY = 0.5
# No water counts as softer than this. Distilled or reverse-osmosis water then
# builds scale very slowly rather than not at all, and a zero reading cannot
# make the capacity zero. Test strips do not resolve below it (about 0.6 °dH).
MIN_SCALE_HARDNESS_MG_L = 10.0
# Days of water kept. A last descale more than the longest allowed interval
# (365 days) ago is due by time whatever the load, so a year and a day of water
# is enough to rebuild the load after any undo or back-dated record that matters.
WATER_LOG_DAYS = 366
# How far back the recent water rate is measured, like the shot rate.
WATER_RATE_WINDOW_DAYS = 28
# Loads are sums of floats; a load this close to its limit has reached it.
LOAD_TOLERANCE = 1e-9

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
    # The days of typical use after which a descale is due.
    descale_interval_days: int
    # Descaling from use: the use and water the interval is calibrated at, and
    # the bounds the date keeps to whatever the use.
    shots_per_day: float = TYPICAL_SHOTS_PER_DAY
    water_per_shot_ml: int = DEFAULT_WATER_PER_SHOT_ML
    # None when the owner has not measured it.
    hardness_mg_l: float | None = None
    # With a water volume source, the water is metered and shots add none.
    water_from_source: bool = False
    descale_min_days: int = MIN_DESCALE_DAYS
    descale_max_days: int = MAX_DESCALE_DAYS

    def tracks(self, kind: Kind) -> bool:
        """Tell whether a kind of maintenance is tracked."""
        return self.track_backflush if kind is Kind.BACKFLUSH else self.track_descale

    @property
    def typical_water_ml(self) -> float:
        """Return the water of a day of typical use: the typed shots' water."""
        shots = max(self.shots_per_day, MIN_CALIBRATION_SHOTS_PER_DAY)
        return shots * max(self.water_per_shot_ml, 1)

    @property
    def shot_water_ml(self) -> int:
        """Return the water a counted shot adds: none when a source meters it."""
        return 0 if self.water_from_source else self.water_per_shot_ml

    @property
    def descale_bounds(self) -> tuple[int, int]:
        """Return the fewest and most days between descales.

        They always hold the interval: an interval set outside them (before the
        bounds existed, or by hand) widens them rather than being overruled.
        """
        return (
            min(self.descale_min_days, self.descale_interval_days),
            max(self.descale_max_days, self.descale_interval_days),
        )


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
    # The entity a record was detected from; None when entered by hand (a
    # button, an action, the to-do list or a voice command).
    source: str | None = None

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
class ScaleBasis:
    """How a day's water is weighed, from one day until the next basis.

    A day of typical use (`typical_water_ml` at `calibration_mg_l`) counts as
    one day; water counts by its share of that, times how much harder than the
    calibration it is. The interval is kept only to notice a recalibration.
    """

    since: date
    hardness_mg_l: float
    typical_water_ml: float
    calibration_mg_l: float
    interval_days: int

    @property
    def days_per_ml(self) -> float:
        """Return the days of typical use one mL of this water counts for."""
        return self.hardness_mg_l / (self.typical_water_ml * self.calibration_mg_l)

    @property
    def days_per_typical_day(self) -> float:
        """Return the days of typical use a day of typical water counts for."""
        return self.hardness_mg_l / self.calibration_mg_l


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
    # The last value of each timestamp source, so a value is recorded once: not
    # again after a restart, nor after the user undid its record.
    backflush_source_reading: datetime | None = None
    descale_source_reading: datetime | None = None
    # Water through the machine per local day (mL), days without water left out,
    # for the last WATER_LOG_DAYS days; sorted by day.
    water_log: tuple[tuple[date, int], ...] = ()
    # The first day water was counted (from shots or a source). Days before it
    # are taken as days of typical use; from it on, a day without water is one.
    counting_since: date | None = None
    # How water is weighed, from each day a setting changed (the hardness
    # history, and the calibration); sorted by day.
    scale_bases: tuple[ScaleBasis, ...] = ()
    # The last reading of a water volume source, in mL.
    water_baseline: float | None = None

    def last(self, kind: Kind) -> datetime | None:
        """Return when a kind of maintenance was last done."""
        return self.last_backflush if kind is Kind.BACKFLUSH else self.last_descale

    def source_reading(self, kind: Kind) -> datetime | None:
        """Return the last value read from a kind's timestamp source."""
        if kind is Kind.BACKFLUSH:
            return self.backflush_source_reading
        return self.descale_source_reading

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


@dataclass(frozen=True, kw_only=True)
class Use:
    """What a shot or a meter reading adds: shots, water, and the sources' new readings.

    The machine applies a use with `apply_use` and keeps it on disk as it is (one
    line of the journal); after a restart the same line is applied the same way,
    so a use counts by one rule whether it was just recorded or read back.
    """

    shots: int = 0
    # Water counted on `day`, the local day of the use (mL).
    water_ml: int = 0
    day: date | None = None
    # The new readings of a shot counter and a water meter; None leaves them.
    source_baseline: float | None = None
    water_baseline: float | None = None


def apply_use(state: MachineState, use: Use) -> MachineState:
    """Count a use: its shots, its water on its day, the sources' new readings."""
    if use.shots < 0 or use.water_ml < 0:
        raise ValueError("a use never takes shots or water away")
    changes: dict[str, Any] = {}
    if use.shots:
        changes["shots_since_backflush"] = state.shots_since_backflush + use.shots
        changes["total_shots"] = state.total_shots + use.shots
    if use.source_baseline is not None:
        changes["source_baseline"] = use.source_baseline
    if use.water_baseline is not None:
        changes["water_baseline"] = use.water_baseline
    if use.water_ml:
        if use.day is None:
            raise ValueError("water is counted on a day")
        changes.update(_water_changes(state, use.day, use.water_ml))
    return replace(state, **changes) if changes else state


def record_shots(
    state: MachineState,
    count: int,
    *,
    day: date | None = None,
    water_per_shot_ml: int = 0,
) -> MachineState:
    """Count shots pulled, and their water on the local day they were pulled.

    The caller passes `Settings.shot_water_ml`, which is 0 when a water source
    meters the water, so the same water is never counted twice.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    if water_per_shot_ml < 0:
        raise ValueError("water must not be negative")
    water_ml = 0 if day is None else count * water_per_shot_ml
    return apply_use(state, Use(shots=count, water_ml=water_ml, day=day))


def record_water(state: MachineState, day: date, water_ml: int) -> MachineState:
    """Count water a water volume source has metered, on a local day."""
    if water_ml < 0:
        raise ValueError("water must not be negative")
    return apply_use(state, Use(water_ml=water_ml, day=day))


def _water_changes(state: MachineState, day: date, water_ml: int) -> dict[str, Any]:
    """Return the fields that change when water is counted on a local day."""
    log = state.water_log
    if log and log[-1][0] == day:
        log = (*log[:-1], (day, log[-1][1] + water_ml))
    elif not log or log[-1][0] < day:
        log = (*log, (day, water_ml))
    else:
        # The clock went back over midnight (or the time zone changed).
        merged = dict(log)
        merged[day] = merged.get(day, 0) + water_ml
        log = tuple(sorted(merged.items()))
    first_kept = log[-1][0] - timedelta(days=WATER_LOG_DAYS - 1)
    if log[0][0] < first_kept:
        log = tuple(item for item in log if item[0] >= first_kept)
    counting_since = (
        day if state.counting_since is None else min(state.counting_since, day)
    )
    return {
        "water_log": log,
        "counting_since": counting_since,
        "scale_bases": _prune_bases(state.scale_bases, first_kept, state.last_descale),
    }


def _prune_bases(
    bases: tuple[ScaleBasis, ...], first_kept: date, last_descale: datetime | None
) -> tuple[ScaleBasis, ...]:
    """Drop the bases no kept day uses (the first one also covers older days).

    The days since the last descale keep theirs, logged or estimated: they make
    its load (its local date is within a day of its UTC date).
    """
    if last_descale is not None:
        first_kept = min(first_kept, last_descale.date() - timedelta(days=1))
    start = 0
    while start + 1 < len(bases) and bases[start + 1].since <= first_kept:
        start += 1
    return bases[start:] if start else bases


def remember_source_reading(
    state: MachineState, kind: Kind, reading: datetime | None
) -> MachineState:
    """Keep the last value read from a kind's timestamp source."""
    if kind is Kind.BACKFLUSH:
        return replace(state, backflush_source_reading=reading)
    return replace(state, descale_source_reading=reading)


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
    source: str | None = None,
) -> MachineState:
    """Record a backflush or a descale, possibly back-dated.

    A record older than the current last one only joins the history; otherwise it
    becomes the last one and restarts that maintenance's counters. A due period
    already announced stays announced while it lasts, so a record that leaves
    it due does not announce it again. `source` names the entity it was
    detected from, if any.
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
        source=source,
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


# Scale load
#
# Scale builds with the water heated in the machine times its hardness. The
# descale interval says when a machine used as typed (shots per day x water per
# shot, at the hardness given) needs descaling, so that use is the unit: a day of
# typical use counts one day. A day's water counts its share of a typical day's,
# times its hardness over the hardness the interval was set at. The load is the
# sum since the last descale; a descale is due when it reaches the interval, never
# before the minimum and always by the maximum. Used as typed, that is the
# interval, as before; twice the water or twice as hard water fill it twice as
# fast; a machine that is off adds nothing.
#
# Changes of the hardness, the typed use or the water per shot apply from the day
# they are made (each is a basis); water already counted keeps its weight. A new
# interval applies to the whole period, as it always did: used as typed, the next
# descale is the last one plus the new interval.


class DescaleDriver(StrEnum):
    """What sets the date of the next descale."""

    # The load reaches the interval at the recent rate of water.
    USE = "use"
    # The load would be full sooner; the minimum interval holds the date back.
    MINIMUM = "minimum"
    # Little or no use: the maximum interval comes first.
    MAXIMUM = "maximum"


@dataclass(frozen=True, kw_only=True)
class ScaleOutlook:
    """The scale taken in since the last descale, and when it needs descaling."""

    # Days of typical use since the last descale, and their share of the interval.
    load_days: float
    load: float
    # Water counted since the last descale (days before counting began excluded).
    water_ml: int
    # The water per day the prediction uses, and whether it was measured (else
    # the typed use, as long as less than a day of water was counted).
    water_per_day_ml: float
    measured: bool
    due_on: date
    days_left: int
    driver: DescaleDriver


def scale_hardness(mg_l: float | None) -> float:
    """Return the hardness water is weighed with: unknown is moderately hard."""
    if mg_l is None:
        return UNKNOWN_HARDNESS_MG_L
    return max(mg_l, MIN_SCALE_HARDNESS_MG_L)


def apply_scale_settings(
    state: MachineState, settings: Settings, day: date
) -> MachineState:
    """Note the settings that weigh water, from `day` on.

    A new interval, typed use or water per shot recalibrates: from that day, use
    as typed at the hardness of that day fills the load in the interval. A new
    hardness alone weighs the water from that day, against the same calibration:
    harder water fills it sooner. The first basis also covers earlier days.
    """
    hardness = scale_hardness(settings.hardness_mg_l)
    typical = settings.typical_water_ml
    interval = settings.descale_interval_days
    bases = state.scale_bases
    if not bases:
        basis = ScaleBasis(
            since=day,
            hardness_mg_l=hardness,
            typical_water_ml=typical,
            calibration_mg_l=hardness,
            interval_days=interval,
        )
        return replace(state, scale_bases=(basis,))
    last = bases[-1]
    if last.typical_water_ml != typical or last.interval_days != interval:
        basis = ScaleBasis(
            since=day,
            hardness_mg_l=hardness,
            typical_water_ml=typical,
            calibration_mg_l=hardness,
            interval_days=interval,
        )
    elif last.hardness_mg_l != hardness:
        basis = replace(last, since=day, hardness_mg_l=hardness)
    else:
        return state
    # A later change on the same day replaces the earlier one; the first basis
    # stays, as it covers the days before.
    kept = list(bases)
    while len(kept) > 1 and kept[-1].since >= day:
        kept.pop()
    return replace(state, scale_bases=(*kept, basis))


def _bases(settings: Settings, state: MachineState) -> tuple[ScaleBasis, ...]:
    if state.scale_bases:
        return state.scale_bases
    hardness = scale_hardness(settings.hardness_mg_l)
    return (
        ScaleBasis(
            since=date.min,
            hardness_mg_l=hardness,
            typical_water_ml=settings.typical_water_ml,
            calibration_mg_l=hardness,
            interval_days=settings.descale_interval_days,
        ),
    )


def _basis_at(bases: tuple[ScaleBasis, ...], day: date) -> ScaleBasis:
    if len(bases) == 1:
        return bases[0]
    index = bisect_right([basis.since for basis in bases], day)
    return bases[max(0, index - 1)]


def _segments(
    bases: tuple[ScaleBasis, ...], first: date, last: date
) -> Iterator[tuple[date, int, ScaleBasis]]:
    """Split `first` to `last` (inclusive) by the basis each day has.

    Yields each part's first day, its number of days and its basis; a day
    before the first basis has the first basis, as in _basis_at.
    """
    for index, basis in enumerate(bases):
        start = first if index == 0 else max(first, basis.since)
        end = last
        if index + 1 < len(bases):
            end = min(last, bases[index + 1].since - timedelta(days=1))
        if end >= start:
            yield start, (end - start).days + 1, basis


def _estimated_days(bases: tuple[ScaleBasis, ...], first: date, last: date) -> float:
    """Return the load of days of typical use from `first` to `last`, inclusive."""
    return sum(
        days * basis.days_per_typical_day
        for _start, days, basis in _segments(bases, first, last)
    )


def scale_load_days(
    settings: Settings, state: MachineState, start: date, today: date
) -> tuple[float, int]:
    """Return the load (days of typical use) and the water counted from `start` to `today`.

    Days before counting began are days of typical use, counted once over (the
    day of the descale itself is its start); from then on each day's water counts.
    """
    bases = _bases(settings, state)
    load = 0.0
    estimated_end = today
    if state.counting_since is not None:
        estimated_end = min(today, state.counting_since - timedelta(days=1))
    if estimated_end > start:
        load += _estimated_days(bases, start + timedelta(days=1), estimated_end)
    water = 0
    for day, water_ml in _water_between(state.water_log, start, today):
        load += water_ml * _basis_at(bases, day).days_per_ml
        water += water_ml
    return load, water


def _water_between(
    log: tuple[tuple[date, int], ...], first: date, last: date
) -> tuple[tuple[date, int], ...]:
    """Return the log's days from `first` to `last`, found by bisection (it is sorted)."""
    return log[
        bisect_left(log, (first,)) : bisect_left(log, (last + timedelta(days=1),))
    ]


def recent_water_rate(
    settings: Settings, state: MachineState, now: datetime, tz: tzinfo
) -> tuple[float, bool]:
    """Return the water per day used lately, and whether it was measured.

    Measured over the whole local days of the last four weeks since counting
    began; today is left out, as its shots may still come. Before a whole day
    was counted, the typed use's water.
    """
    today = local_date(now, tz)
    typical = _basis_at(_bases(settings, state), today).typical_water_ml
    if state.counting_since is None:
        return typical, False
    first = max(today - timedelta(days=WATER_RATE_WINDOW_DAYS), state.counting_since)
    days = (today - first).days
    if days < 1:
        return typical, False
    yesterday = today - timedelta(days=1)
    water = sum(ml for _day, ml in _water_between(state.water_log, first, yesterday))
    return water / days, True


def _fill_day(
    settings: Settings, state: MachineState, start: date, last: date
) -> date | None:
    """Return the first day the load reached the interval, up to `last`.

    Only a day that adds load can be that day: an estimated day before counting
    began (the descale's own day adds none) or a day with water since. They are
    added in date order, as scale_load_days adds them, so the sums agree.
    """
    bases = _bases(settings, state)
    interval = settings.descale_interval_days
    counting = state.counting_since
    load = 0.0
    estimated_end = last
    if counting is not None:
        estimated_end = min(last, counting - timedelta(days=1))
    for first, days, basis in _segments(
        bases, start + timedelta(days=1), estimated_end
    ):
        for offset in range(days):
            load += basis.days_per_typical_day
            if _load_reached(load, interval):
                return first + timedelta(days=offset)
    if counting is not None:
        for day, water_ml in _water_between(
            state.water_log, max(start, counting), last
        ):
            load += water_ml * _basis_at(bases, day).days_per_ml
            if _load_reached(load, interval):
                return day
    return None


def scale_outlook(
    settings: Settings,
    state: MachineState,
    last_descale: datetime,
    now: datetime,
    tz: tzinfo,
) -> ScaleOutlook:
    """Work out the load since a descale and the day the next one is due."""
    today = local_date(now, tz)
    start = local_date(last_descale, tz)
    low, high = settings.descale_bounds
    earliest = start + timedelta(days=low)
    latest = start + timedelta(days=high)
    interval = settings.descale_interval_days
    load_days, water = scale_load_days(settings, state, start, today)
    water_per_day, measured = recent_water_rate(settings, state, now, tz)
    filled: date | None
    if _load_reached(load_days, interval):
        filled = _fill_day(settings, state, start, min(today, latest))
    else:
        per_day = water_per_day * _basis_at(_bases(settings, state), today).days_per_ml
        # Today's water so far is in the load, and a shot that fills it today
        # makes it due today; the rest fills from tomorrow, day by day. So the
        # date holds still between shots and moves at midnight. Nothing builds
        # up before the descale itself (a record dated ahead).
        base = max(start, today)
        filled = None
        if per_day > 0:
            days = (interval - load_days) / per_day
            # Beyond the maximum the date is the maximum (a near-zero rate
            # would overflow a date).
            if days <= (latest - base).days:
                filled = base + timedelta(days=max(1, math.ceil(days)))
    if filled is None or filled > latest:
        due_on, driver = latest, DescaleDriver.MAXIMUM
    elif filled < earliest:
        due_on, driver = earliest, DescaleDriver.MINIMUM
    else:
        due_on, driver = filled, DescaleDriver.USE
    return ScaleOutlook(
        load_days=load_days,
        load=load_days / interval,
        water_ml=water,
        water_per_day_ml=water_per_day,
        measured=measured,
        due_on=due_on,
        days_left=max(0, (due_on - today).days),
        driver=driver,
    )


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
    # The scale load and what sets the next descale (when its status is known).
    scale: ScaleOutlook | None = None

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


def _load_reached(load_days: float, limit: int, share: float = 1.0) -> bool:
    return load_days >= limit * share * (1 - LOAD_TOLERANCE)


def _descale_status(settings: Settings, days: int, load_days: float) -> DueStatus:
    """Due by time at the maximum, by use once the load is full (not before the minimum).

    Due soon at 80 % of the maximum, or at 80 % of both the load and the
    minimum: used as typed, that is 80 % of the interval, as before.
    """
    low, high = settings.descale_bounds
    interval = settings.descale_interval_days
    if _reached(days, high) or (
        _reached(days, low) and _load_reached(load_days, interval)
    ):
        return DueStatus.DUE
    soon = DUE_SOON_NUMERATOR / DUE_SOON_DENOMINATOR
    if _reached_soon(days, high) or (
        _reached_soon(days, low) and _load_reached(load_days, interval, soon)
    ):
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

    scale: ScaleOutlook | None = None
    if settings.track_descale and state.last_descale is not None:
        days_since_descale = days_between(state.last_descale, now, tz)
        scale = scale_outlook(settings, state, state.last_descale, now, tz)
        next_descale = start_of_local_day(scale.due_on, tz)
        descale = _descale_status(settings, days_since_descale, scale.load_days)

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
        scale=scale,
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


def rebuild_water_log(
    history: Iterable[Record],
    total_shots: int,
    now: datetime,
    tz: tzinfo,
    water_per_shot_ml: int,
) -> tuple[tuple[tuple[date, int], ...], date | None]:
    """Rebuild the water log of a machine from its history, on upgrade.

    Each record keeps the lifetime shot total of when it was entered, so the
    shots between two records (and from the last one to now) are known, if not
    their days: their water is spread evenly over the time between. Counting
    began with the first such shots; before it, days count as typical use, as
    they did before the load existed. Shots before the first record are not
    placed (their time is unknown).
    """
    today = local_date(now, tz)
    first_kept = today - timedelta(days=WATER_LOG_DAYS - 1)
    points = sorted(
        ((record.counted_at, record.total_shots) for record in history),
        key=lambda point: point[0],
    )
    points.append((now, total_shots))
    water: dict[date, int] = {}
    counting_since: date | None = None
    for (begin, shots_before), (end, shots_after) in pairwise(points):
        shots = shots_after - shots_before
        if shots <= 0:
            continue
        if counting_since is None:
            counting_since = local_date(begin, tz)
        _spread(
            water, shots * water_per_shot_ml, begin, end, tz=tz, first_kept=first_kept
        )
    log = tuple(
        (day, water_ml)
        for day, water_ml in sorted(water.items())
        if water_ml > 0 and first_kept <= day <= today
    )
    if counting_since is not None and log:
        counting_since = min(counting_since, log[0][0])
    return log, counting_since


def _spread(
    water: dict[date, int],
    water_ml: int,
    begin: datetime,
    end: datetime,
    *,
    tz: tzinfo,
    first_kept: date,
) -> None:
    """Add water spread evenly over a span of time to the days it covers."""
    last = local_date(end, tz)
    if end <= begin:
        water[last] = water.get(last, 0) + water_ml
        return
    span = end - begin
    day = max(local_date(begin, tz), first_kept)
    placed = round(water_ml * max(0.0, (start_of_local_day(day, tz) - begin) / span))
    while day <= last:
        boundary = start_of_local_day(day + timedelta(days=1), tz)
        upto = (
            water_ml
            if boundary >= end
            else round(water_ml * ((boundary - begin) / span))
        )
        water[day] = water.get(day, 0) + upto - placed
        placed = upto
        day += timedelta(days=1)
