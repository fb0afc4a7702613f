"""Runtime of one espresso machine.

Every change to a machine's maintenance state goes through `Machine`: it asks the
model for the new state, writes it to disk, then tells the entities and fires
the events. Nothing else mutates the state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    CONF_NAME,
    EVENT_CORE_CONFIG_UPDATE,
    EVENT_HOMEASSISTANT_STOP,
)
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from . import model
from .const import (
    CONF_BACKFLUSH_INTERVAL_DAYS,
    CONF_BACKFLUSH_INTERVAL_SHOTS,
    CONF_DESCALE_INTERVAL_DAYS,
    CONF_DESCALE_MAX_DAYS,
    CONF_DESCALE_MIN_DAYS,
    CONF_LAST_BACKFLUSH,
    CONF_LAST_DESCALE,
    CONF_SHOT_SOURCE,
    CONF_SHOTS_PER_DAY,
    CONF_SHOTS_SINCE_BACKFLUSH,
    CONF_THREE_WAY_VALVE,
    CONF_TRACK_DESCALE,
    CONF_WATER_PER_SHOT_ML,
    CONF_WATER_SOURCE,
    DEFAULT_SHOTS_PER_DAY,
    DOMAIN,
    EVENT_BACKFLUSH_DUE,
    EVENT_BACKFLUSH_RECORDED,
    EVENT_DESCALE_DUE,
    EVENT_DESCALE_RECORDED,
    EVENT_NAME,
    EVENT_RECORD_UNDONE,
    LOGGER,
    MAX_WATER_JUMP_ML,
)
from .detectors import CounterReading, TimestampReading, read_counter, read_timestamp
from .hardness import hardness_mg_l
from .model import Kind, MachineState, Settings, Status, Use
from .store import MachineStore, StorageError

type EspressoConfigEntry = ConfigEntry[Machine]
type MachineEventListener = Callable[[str, dict[str, Any]], None]


class Source(Protocol):
    """Something that records on the machine from another entity's states.

    The shot and maintenance sources (shot_sources.py, maintenance_sources.py)
    call the machine; the machine only keeps them for the diagnostics.
    """

    def diagnostics(self) -> dict[str, Any]:
        """Describe the source and what it saw lately."""


RECORDED_EVENT = {
    Kind.BACKFLUSH: EVENT_BACKFLUSH_RECORDED,
    Kind.DESCALE: EVENT_DESCALE_RECORDED,
}
DUE_EVENT = {Kind.BACKFLUSH: EVENT_BACKFLUSH_DUE, Kind.DESCALE: EVENT_DESCALE_DUE}


def settings_from_entry(entry: ConfigEntry) -> Settings:
    """Read what is tracked, and the limits, from a config entry."""
    options = entry.options
    return Settings(
        track_backflush=bool(entry.data[CONF_THREE_WAY_VALVE]),
        track_descale=bool(options[CONF_TRACK_DESCALE]),
        backflush_interval_shots=int(options[CONF_BACKFLUSH_INTERVAL_SHOTS]),
        backflush_interval_days=int(options[CONF_BACKFLUSH_INTERVAL_DAYS]),
        descale_interval_days=int(options[CONF_DESCALE_INTERVAL_DAYS]),
        shots_per_day=float(options.get(CONF_SHOTS_PER_DAY, DEFAULT_SHOTS_PER_DAY)),
        water_per_shot_ml=int(
            options.get(CONF_WATER_PER_SHOT_ML, model.DEFAULT_WATER_PER_SHOT_ML)
        ),
        hardness_mg_l=hardness_mg_l(options),
        water_from_source=bool(options.get(CONF_WATER_SOURCE)),
        descale_min_days=int(
            options.get(CONF_DESCALE_MIN_DAYS, model.MIN_DESCALE_DAYS)
        ),
        descale_max_days=int(
            options.get(CONF_DESCALE_MAX_DAYS, model.MAX_DESCALE_DAYS)
        ),
    )


def today() -> date:
    """Return today's local date, the day water is counted on."""
    return model.local_date(dt_util.utcnow(), dt_util.get_default_time_zone())


def _date_only(value: str | None) -> datetime | None:
    """Return the moment a date without a time stands for: noon of that local day.

    Noon is the same calendar day for anyone within twelve hours of Home
    Assistant's time zone, so the frontend's "3 days ago" (whole days in the
    browser's time zone) agrees with "Days since: 3". Today's date before noon
    is now, never a moment in the future.
    """
    if value is None:
        return None
    noon = datetime.combine(
        date.fromisoformat(value), time(12), tzinfo=dt_util.get_default_time_zone()
    )
    return min(dt_util.as_utc(noon), now_utc())


def initial_state(entry: ConfigEntry) -> MachineState:
    """Build the state of a new machine from the starting point given in the flow."""
    shots = int(entry.data.get(CONF_SHOTS_SINCE_BACKFLUSH, 0))
    return MachineState(
        shots_since_backflush=shots,
        total_shots=shots,
        last_backflush=_date_only(entry.data.get(CONF_LAST_BACKFLUSH)),
        last_descale=_date_only(entry.data.get(CONF_LAST_DESCALE)),
    )


def scale_percent(scale: model.ScaleOutlook) -> float:
    """Return the scale load as a percentage of the capacity, to a tenth."""
    return round(scale.load * 100, 1)


def now_utc() -> datetime:
    """Return the current time, to the second, as records keep it."""
    return dt_util.utcnow().replace(microsecond=0)


def _maintenance(
    state: MachineState,
    kind: Kind,
    performed_at: datetime,
    *,
    note: str | None,
    source: str | None,
    now: datetime,
) -> tuple[MachineState, tuple[str, dict[str, Any]]]:
    """Record a maintenance on a state; return the new state and its event."""
    new_state = model.record_maintenance(
        state,
        kind,
        # Records keep seconds; a detected moment has its fraction dropped.
        performed_at.replace(microsecond=0),
        note,
        recorded_at=now,
        source=source,
    )
    event = {
        "performed_at": new_state.undo[-1].record.performed_at.isoformat(),
        "note": note,
        "source": source,
        "shots_since_backflush": state.shots_since_backflush,
        "total_shots": state.total_shots,
    }
    return new_state, (RECORDED_EVENT[kind], event)


class Machine:
    """One espresso machine: its settings, its state and what follows from them."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EspressoConfigEntry,
        store: MachineStore,
        state: MachineState,
        device_id: str,
    ) -> None:
        """Set up the runtime from a loaded state."""
        self.hass = hass
        self.entry = entry
        self.device_id = device_id
        self.settings = settings_from_entry(entry)
        self.state = state
        self.status = self._evaluate(state)
        self._store = store
        self._lock = asyncio.Lock()
        self._listeners: list[CALLBACK_TYPE] = []
        self._event_listeners: list[MachineEventListener] = []
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._timer_at: datetime | None = None
        self._prediction: (
            tuple[MachineState, Status, tuple[date, str], date | None] | None
        ) = None
        # The entities recorded from, by the option that chose them
        # (shot_source, backflush_source, descale_source, water_source).
        self.sources: dict[str, Source] = {}

    @property
    def name(self) -> str:
        """Return the machine's name."""
        return str(self.entry.data[CONF_NAME])

    @property
    def shot_source(self) -> Source | None:
        """Return the source shots are counted from besides the buttons, if any."""
        return self.sources.get(CONF_SHOT_SOURCE)

    def storage_diagnostics(self) -> dict[str, Any]:
        """Describe the machine's file and journal."""
        return self._store.diagnostics()

    def status_as_dict(self) -> dict[str, Any]:
        """Describe the machine's status for actions, assistants and diagnostics."""
        status = self.status

        def time(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        def due(value: model.DueStatus | None) -> str | None:
            return None if value is None else value.value

        return {
            "device_id": self.device_id,
            "name": self.name,
            "tracks_backflush": self.settings.track_backflush,
            "tracks_descale": self.settings.track_descale,
            "shots_since_backflush": status.shots_since_backflush,
            "total_shots": status.total_shots,
            "shots_until_backflush": status.shots_until_backflush,
            "days_since_backflush": status.days_since_backflush,
            "days_since_descale": status.days_since_descale,
            "last_backflush": time(status.last_backflush),
            "last_descale": time(status.last_descale),
            "next_descale": time(status.next_descale),
            "backflush_status": due(status.backflush),
            "descale_status": due(status.descale),
            "backflush_due": status.backflush is model.DueStatus.DUE
            if status.backflush is not None
            else None,
            "descale_due": status.descale is model.DueStatus.DUE
            if status.descale is not None
            else None,
            "backflush_interval_shots": self.settings.backflush_interval_shots,
            "backflush_interval_days": self.settings.backflush_interval_days,
            "descale_interval_days": self.settings.descale_interval_days,
            **self._scale_as_dict(),
        }

    def _scale_as_dict(self) -> dict[str, Any]:
        """Describe the scale load and what sets the next descale's date.

        `descale_driver` is `use` (the load reaches the interval at the recent
        rate), `minimum` (it would sooner; the shortest interval holds the date)
        or `maximum` (little use: the longest interval comes first).
        `descale_rate_measured` is false while the rate is the typed use.
        """
        scale = self.status.scale
        low, high = self.settings.descale_bounds
        return {
            "descale_min_days": low,
            "descale_max_days": high,
            "water_per_shot_ml": self.settings.water_per_shot_ml,
            "scale_load_percent": None if scale is None else scale_percent(scale),
            "descale_days_left": None if scale is None else scale.days_left,
            "descale_driver": None if scale is None else scale.driver.value,
            "descale_rate_measured": None if scale is None else scale.measured,
            "water_per_day_ml": None
            if scale is None
            else round(scale.water_per_day_ml),
        }

    def shot_rate(self) -> float:
        """Return the shots per day pulled lately, or the typical ones given."""
        typical = float(
            self.entry.options.get(CONF_SHOTS_PER_DAY, DEFAULT_SHOTS_PER_DAY)
        )
        return model.recent_shot_rate(self.state, dt_util.utcnow(), typical)

    def predicted_backflush(self) -> date | None:
        """Predict the day a backflush becomes due, at the recent shot rate.

        The to-do list and the calendar both ask after every change; the
        prediction is worked out once per state, status and day.
        """
        tz = dt_util.get_default_time_zone()
        today = model.local_date(dt_util.utcnow(), tz)
        cached = self._prediction
        if (
            cached is not None
            and cached[0] is self.state
            and cached[1] is self.status
            and cached[2] == (today, str(tz))
        ):
            return cached[3]
        predicted = model.predict_backflush(
            self.settings,
            self.state,
            self.status,
            today=today,
            tz=tz,
            shots_per_day=self.shot_rate(),
        )
        self._prediction = (self.state, self.status, (today, str(tz)), predicted)
        return predicted

    def _evaluate(self, state: MachineState) -> Status:
        return model.evaluate(
            self.settings, state, dt_util.utcnow(), dt_util.get_default_time_zone()
        )

    async def async_start(self) -> None:
        """Catch up on what became due while stopped, and plan the next change.

        Settings that weigh water (hardness, typed use, water per shot, the
        interval) are noted in the state from today, so a change made in the
        options or the hard-water repair applies from the day it was made.
        """
        self.entry.async_on_unload(
            self.hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, self._async_on_config)
        )
        self.entry.async_on_unload(
            self.hass.bus.async_listen_once(
                EVENT_HOMEASSISTANT_STOP, self._async_on_stop
            )
        )
        self.entry.async_on_unload(self._async_cancel_timer)
        await self._async_commit(
            model.apply_scale_settings(self.state, self.settings, today()),
            [],
            force_save=False,
        )

    async def async_stop(self) -> None:
        """Fold the journal into the file and close it (the machine is unloaded)."""
        async with self._lock:
            await self._async_compact()
            self._store.async_close()

    async def _async_compact(self) -> None:
        """Write the whole state if the journal holds anything (under the lock).

        After a failed append the journal may hold the refused line, whole:
        the file's journal_seq must pass it, or the next start would count it.
        """
        if self._store.journal_lines or not self._store.can_append:
            try:
                await self._store.async_save_state(self.state)
            except StorageError as err:
                # The journal still holds every use; it is folded in later.
                LOGGER.warning("Could not compact %s: %s", self.name, err.detail)

    @callback
    def _async_on_stop(self, _event: Event[Any]) -> None:
        # Home Assistant waits for this task before it stops.
        self.entry.async_create_task(
            self.hass, self._async_locked_compact(), f"{DOMAIN} compact"
        )

    async def _async_locked_compact(self) -> None:
        async with self._lock:
            await self._async_compact()

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `update` after each change; return a function that stops it."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def async_add_event_listener(self, listener: MachineEventListener) -> CALLBACK_TYPE:
        """Call `listener(type, data)` for each event; return a remover."""
        self._event_listeners.append(listener)
        return lambda: self._event_listeners.remove(listener)

    def _shots(self, count: int, **readings: float) -> Use:
        """Return the use of shots pulled today, with their water."""
        return Use(
            shots=count,
            water_ml=count * self.settings.shot_water_ml,
            day=today(),
            **readings,
        )

    async def _async_use(self, use: Use) -> None:
        """Count a use (under the lock): to the journal, unless more changes."""
        await self._async_commit(model.apply_use(self.state, use), [], use=use)

    async def async_record_shots(self, count: int = 1) -> None:
        """Count shots pulled, and their water unless a water source meters it."""
        async with self._lock:
            await self._async_use(self._shots(count))

    async def async_apply_counter_reading(self, value: float) -> CounterReading:
        """Count the shots a shot-counter source shows since its last reading.

        The baseline is read and moved under the lock, together with the shots,
        so quick readings never count the same increase twice.
        """
        async with self._lock:
            reading = read_counter(self.state.source_baseline, value)
            if reading.baseline != self.state.source_baseline:
                await self._async_use(
                    self._shots(reading.shots, source_baseline=reading.baseline)
                )
            return reading

    async def async_apply_water_reading(self, value_ml: float) -> CounterReading:
        """Count the water a water source shows since its last reading (in mL).

        The rules are the shot counter's: the first reading is the baseline, a
        decrease is a reset, a jump too large for real use is not counted, and
        whole mL are counted while the rest waits for the next reading.
        """
        async with self._lock:
            reading = read_counter(
                self.state.water_baseline, value_ml, max_jump=MAX_WATER_JUMP_ML
            )
            if reading.baseline != self.state.water_baseline:
                await self._async_use(
                    Use(
                        water_ml=reading.shots,
                        day=today(),
                        water_baseline=reading.baseline,
                    )
                )
            return reading

    async def async_set_shots_since_backflush(self, shots: int) -> None:
        """Correct the shots counted since the last backflush."""
        async with self._lock:
            await self._async_commit(
                model.set_shots_since_backflush(self.state, shots), []
            )

    async def async_record_maintenance(
        self,
        kind: Kind,
        performed_at: datetime | None = None,
        note: str | None = None,
        *,
        source: str | None = None,
    ) -> None:
        """Record a backflush or descale, now or back-dated.

        `source` is the entity it was detected from; None when entered by hand.
        """
        now = now_utc()
        async with self._lock:
            new_state, event = _maintenance(
                self.state,
                kind,
                performed_at or now,
                note=note,
                source=source,
                now=now,
            )
            await self._async_commit(new_state, [event])

    async def async_apply_maintenance_reading(
        self, kind: Kind, value: datetime | None, source: str
    ) -> TimestampReading:
        """Record the maintenance a timestamp source shows, if it is new.

        The last value is read and kept under the lock, together with the
        record, so a value seen twice in quick succession is recorded once.
        """
        now = now_utc()
        async with self._lock:
            reading = read_timestamp(
                value,
                last_record=self.state.last(kind),
                last_reading=self.state.source_reading(kind),
                now=now,
            )
            new_state = model.remember_source_reading(self.state, kind, reading.reading)
            events = []
            if reading.record_at is not None:
                new_state, event = _maintenance(
                    new_state,
                    kind,
                    reading.record_at,
                    note=None,
                    source=source,
                    now=now,
                )
                events.append(event)
            if new_state != self.state:
                await self._async_commit(new_state, events)
            return reading

    async def async_undo_last_record(self) -> model.Record:
        """Take back the latest backflush or descale record, and return it."""
        async with self._lock:
            try:
                new_state, record = model.undo_last(self.state)
            except model.NothingToUndoError as err:
                # Asking for an undo with nothing left is the caller's mistake,
                # not a failure: refused without an error traceback in the log.
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="nothing_to_undo",
                    translation_placeholders={"name": self.name},
                ) from err
            event = {
                "kind": record.kind.value,
                "performed_at": record.performed_at.isoformat(),
                "note": record.note,
                "source": record.source,
            }
            await self._async_commit(new_state, [(EVENT_RECORD_UNDONE, event)])
            return record

    def _due_event(self, kind: Kind, status: Status) -> dict[str, Any]:
        if kind is Kind.BACKFLUSH:
            return {
                "shots_since_backflush": status.shots_since_backflush,
                "days_since_backflush": status.days_since_backflush,
                "interval_shots": self.settings.backflush_interval_shots,
                "interval_days": self.settings.backflush_interval_days,
            }
        scale = status.scale
        return {
            "days_since_descale": status.days_since_descale,
            "interval_days": self.settings.descale_interval_days,
            "scale_load_percent": None if scale is None else scale_percent(scale),
            "driver": None if scale is None else scale.driver.value,
        }

    async def _async_commit(
        self,
        new_state: MachineState,
        events: list[tuple[str, dict[str, Any]]],
        *,
        force_save: bool = True,
        use: Use | None = None,
        compact: bool = False,
    ) -> None:
        """Make a new state current: due edges, disk, entities, events, timer.

        The state only becomes current once it is on disk, so a failed write
        changes nothing and is reported. A use that changes nothing else (no
        due edge) is appended to the journal; any other change writes the whole
        file, which also empties the journal, as does `compact`.
        """
        status = self._evaluate(new_state)
        noted, newly_due = model.note_due_edges(new_state, status)
        events = events + [
            (DUE_EVENT[kind], self._due_event(kind, status)) for kind in newly_due
        ]
        try:
            if use is not None and noted is new_state and self._store.can_append:
                await self._store.async_append(use)
            elif (
                force_save
                or noted != self.state
                or (compact and self._store.journal_lines)
            ):
                await self._store.async_save_state(noted)
        except StorageError as err:
            LOGGER.error("Could not save %s: %s", self.name, err.detail)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key=err.translation_key,
                translation_placeholders={"name": self.name, "error": err.detail},
            ) from err
        self.state = noted
        self.status = status
        self._async_schedule(status.next_change)
        for update in list(self._listeners):
            update()
        for event_type, data in events:
            LOGGER.debug("%s: %s %s", self.name, event_type, data)
            self.hass.bus.async_fire(
                EVENT_NAME, {"device_id": self.device_id, "type": event_type, **data}
            )
            for listener in list(self._event_listeners):
                listener(event_type, data)

    async def async_refresh(self, *, compact: bool = False) -> None:
        """Re-evaluate at the current time (day rollover, time zone change).

        At the day's rollover the journal is folded into the file too.
        """
        async with self._lock:
            await self._async_commit(self.state, [], force_save=False, compact=compact)

    @callback
    def _async_schedule(self, when: datetime | None) -> None:
        # Most changes (a shot) keep the next day change: keep its timer.
        if self._unsub_timer is not None and when == self._timer_at:
            return
        self._async_cancel_timer()
        if when is not None:
            self._timer_at = when
            self._unsub_timer = async_track_point_in_utc_time(
                self.hass, self._async_on_timer, when
            )

    @callback
    def _async_cancel_timer(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None

    @callback
    def _async_on_timer(self, _now: datetime) -> None:
        self._unsub_timer = None
        self.entry.async_create_task(
            self.hass,
            self.async_refresh(compact=True),
            f"{DOMAIN} rollover {self.entry.entry_id}",
        )

    @callback
    def _async_on_config(self, _event: Event[Any]) -> None:
        # The time zone may have changed, which moves local midnight.
        self.entry.async_create_task(
            self.hass, self.async_refresh(), f"{DOMAIN} config {self.entry.entry_id}"
        )
