"""Measure one leg: a real Home Assistant run, Espresso Maintenance beside the DIY way.

run.py starts this once per leg (``python benchmarks/run.py --measure OUT.json``) and
writes BENCHMARKS.md from the results.

Home Assistant is bootstrapped in this process the way ``hass`` starts it
(``bootstrap.async_setup_hass`` with a ``RuntimeConfig``), from a throwaway
configuration directory, ``benchmarks/.work/<leg>/config``: its
``custom_components/espresso_maintenance`` links to this repository's integration, and
its ``configuration.yaml`` holds the DIY helpers (a ``counter``, two
``input_datetime``, ``template`` sensors and ``automation``), because those
integrations are set up by Home Assistant itself at start. Machines are added through
the real config flow. Every figure of a leg comes from that one run.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
import contextlib
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time as dt_time, timedelta, tzinfo
import gc
import inspect
import json
import logging
import os
from pathlib import Path
import platform
import re
import shutil
import socket
import statistics
import sys
import threading
import time
import tracemalloc
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

from homeassistant import bootstrap, runner
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
    __version__ as ha_version,
)
from homeassistant.core import Event, HassJob, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, event as event_helper
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.file import write_utf8_file, write_utf8_file_atomic
import orjson
import yaml

DOMAIN = "espresso_maintenance"
REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / ".work"
TIME_ZONE = "Europe/Rome"

# The same limits for our machines and the DIY helpers.
INTERVAL_SHOTS = 14
INTERVAL_DAYS = 7
DESCALE_DAYS = 60
LAST_BACKFLUSH_DAYS_AGO = 3
LAST_DESCALE_DAYS_AGO = 20

# Entities whose state stands for a machine's own shot counter (a counter source).
OUR_SOURCE = "sensor.source_counter_ours"
DIY_SOURCE = "sensor.source_counter_diy"

# Ten years of use: six shots a day, a backflush every week, a descale every month.
TEN_YEARS_DAYS = 3652
SHOTS_PER_DAY_TIMES = ((7, 30), (8, 0), (12, 30), (13, 0), (16, 0), (20, 0))
BACKFLUSH_AT = dt_time(21, 30)
DESCALE_AT = dt_time(10, 0)
MAX_NOTE = (
    "Backflushed with 3 g of Cafiza in the blind basket: five cycles of ten seconds, "
    "rinsed with ten cycles of clear water, group gasket and shower screen brushed, "
    "portafilters and baskets soaked for twenty minutes, drip tray and steam wand "
    "cleaned as well; all fine, no leaks, pressure 9 bar."
)[:255]

# Minutes after local midnight at which the simulated day's shots are pulled.
DAY_SHOT_MINUTES = (7 * 60, 7 * 60 + 5, 12 * 60 + 30, 15 * 60 + 45, 19 * 60, 21 * 60)

SETTLE_TIMEOUT = 120.0
LOGGER = logging.getLogger("benchmarks")


@dataclass(frozen=True, kw_only=True)
class Plan:
    """How much to measure."""

    quick: bool
    shots: int
    counting_cycles: int
    batches: tuple[int, ...]
    memory_machines: int
    write_repetitions: int

    @classmethod
    def create(cls, *, quick: bool) -> Plan:
        """Return the full plan, or a small one for a smoke run."""
        if quick:
            return cls(
                quick=True,
                shots=4 * INTERVAL_SHOTS,
                counting_cycles=1,
                batches=(1, 5, 10),
                memory_machines=3,
                write_repetitions=30,
            )
        return cls(
            quick=False,
            shots=1000,
            counting_cycles=2,
            batches=(1, 10, 50),
            memory_machines=10,
            write_repetitions=300,
        )


# --------------------------------------------------------------------------------------
# The DIY way: what users build today, once per machine.


@dataclass(frozen=True)
class DiySet:
    """The helpers one DIY machine needs, named like a user would name them."""

    title: str
    prefix: str

    @classmethod
    def numbered(cls, number: int | None) -> DiySet:
        """Return the base set (no number) or an extra one for the scaling runs."""
        if number is None:
            return cls("Espresso", "espresso")
        return cls(f"Espresso {number}", f"espresso_{number}")

    @property
    def counter(self) -> str:
        """Shots since the last backflush."""
        return f"counter.{self.prefix}_shots_since_backflush"

    @property
    def last_backflush(self) -> str:
        """When the machine was last backflushed."""
        return f"input_datetime.{self.prefix}_last_backflush"

    @property
    def last_descale(self) -> str:
        """When the machine was last descaled."""
        return f"input_datetime.{self.prefix}_last_descale"

    @property
    def days_since_backflush(self) -> str:
        """Template sensor: days since the last backflush."""
        return f"sensor.{self.prefix}_days_since_backflush"

    @property
    def days_since_descale(self) -> str:
        """Template sensor: days since the last descale."""
        return f"sensor.{self.prefix}_days_since_descale"

    @property
    def backflush_due(self) -> str:
        """Template binary sensor: a backflush is due."""
        return f"binary_sensor.{self.prefix}_backflush_due"

    @property
    def descale_due(self) -> str:
        """Template binary sensor: a descale is due."""
        return f"binary_sensor.{self.prefix}_descale_due"

    def counter_config(self) -> dict[str, Any]:
        """Return the counter's configuration, in YAML or made in the UI."""
        return {"name": f"{self.title} shots since backflush", "initial": 0, "step": 1}

    def entities(self) -> list[str]:
        """Return every entity of the set."""
        return [
            self.counter,
            self.last_backflush,
            self.last_descale,
            self.days_since_backflush,
            self.days_since_descale,
            self.backflush_due,
            self.descale_due,
        ]


def _days_since(entity_id: str) -> str:
    return (
        "{{ (now().date() - (states('" + entity_id + "') | as_datetime).date()).days }}"
    )


def diy_config(
    sets: list[DiySet], today: date, *, yaml_counters: list[DiySet], source: bool
) -> dict[str, Any]:
    """Return the DIY helpers of some machines, as a user writes them in YAML.

    Per machine: a counter incremented per shot and reset by an automation when the
    last-backflush date is set, two dates, "days since" template sensors (they use
    now(), so Home Assistant re-renders them every minute) and "due" template binary
    sensors. Counters in YAML cannot be reloaded, so only those of `yaml_counters`
    are in it; the others are made as the UI makes them. With `source`, the first
    set also counts shots from a machine's own shot counter, with an automation.
    """
    backflush_day = today - timedelta(days=LAST_BACKFLUSH_DAYS_AGO)
    descale_day = today - timedelta(days=LAST_DESCALE_DAYS_AGO)
    counters: dict[str, Any] = {}
    dates: dict[str, Any] = {}
    sensors: list[dict[str, Any]] = []
    binary_sensors: list[dict[str, Any]] = []
    automations: list[dict[str, Any]] = []
    for diy in sets:
        shots = f"states('{diy.counter}') | int(0)"
        if diy in yaml_counters:
            counters[diy.counter.partition(".")[2]] = diy.counter_config()
        for entity_id, what, day in (
            (diy.last_backflush, "last backflush", backflush_day),
            (diy.last_descale, "last descale", descale_day),
        ):
            dates[entity_id.partition(".")[2]] = {
                "name": f"{diy.title} {what}",
                "has_date": True,
                "has_time": True,
                "initial": f"{day.isoformat()} 00:00:00",
            }
        sensors += [
            {
                "name": f"{diy.title} days since backflush",
                "unique_id": f"{diy.prefix}_days_since_backflush",
                "unit_of_measurement": "d",
                "state": _days_since(diy.last_backflush),
            },
            {
                "name": f"{diy.title} days since descale",
                "unique_id": f"{diy.prefix}_days_since_descale",
                "unit_of_measurement": "d",
                "state": _days_since(diy.last_descale),
            },
        ]
        binary_sensors += [
            {
                "name": f"{diy.title} backflush due",
                "unique_id": f"{diy.prefix}_backflush_due",
                "device_class": "problem",
                "state": (
                    f"{{{{ {shots} >= {INTERVAL_SHOTS} or ({shots} > 0 and "
                    f"states('{diy.days_since_backflush}') | int(0) >= {INTERVAL_DAYS}) }}}}"
                ),
            },
            {
                "name": f"{diy.title} descale due",
                "unique_id": f"{diy.prefix}_descale_due",
                "device_class": "problem",
                "state": (
                    f"{{{{ states('{diy.days_since_descale}') | int(0) >= {DESCALE_DAYS} }}}}"
                ),
            },
        ]
        automations.append(
            {
                "id": f"{diy.prefix}_backflush_resets_shots",
                "alias": f"{diy.title}: a backflush resets the shot counter",
                "triggers": [{"trigger": "state", "entity_id": diy.last_backflush}],
                "actions": [
                    {"action": "counter.reset", "target": {"entity_id": diy.counter}}
                ],
            }
        )
    if source:
        automations.append(
            {
                "id": "espresso_shot_from_machine_counter",
                "alias": "Espresso: count a shot when the machine's counter goes up",
                "triggers": [{"trigger": "state", "entity_id": DIY_SOURCE}],
                "conditions": [
                    {
                        "condition": "template",
                        "value_template": (
                            "{{ trigger.from_state is not none and "
                            "trigger.to_state.state | int(0) > "
                            "trigger.from_state.state | int(0) }}"
                        ),
                    }
                ],
                "actions": [
                    {
                        "action": "counter.increment",
                        "target": {"entity_id": sets[0].counter},
                    }
                ],
            }
        )
    return {
        "counter": counters,
        "input_datetime": dates,
        "template": [{"sensor": sensors, "binary_sensor": binary_sensors}],
        "automation": automations,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ConfigDir:
    """The throwaway configuration directory of one leg."""

    path: Path
    today: date
    core: dict[str, Any]

    @classmethod
    def create(cls, leg: str, today: date) -> ConfigDir:
        """Start from an empty directory with the integration linked in."""
        path = WORK / leg / "config"
        shutil.rmtree(path, ignore_errors=True)
        (path / "custom_components").mkdir(parents=True)
        (path / "custom_components" / DOMAIN).symlink_to(
            REPO / "custom_components" / DOMAIN, target_is_directory=True
        )
        core = {
            "homeassistant": {
                "name": "Espresso benchmark",
                "latitude": 41.9,
                "longitude": 12.5,
                "elevation": 21,
                "unit_system": "metric",
                "time_zone": TIME_ZONE,
                "currency": "EUR",
                "country": "IT",
                "language": "en",
            },
            # Default integrations include the frontend, hence http; keep it local.
            "http": {"server_host": "127.0.0.1", "server_port": _free_port()},
            "logger": {"default": "warning"},
        }
        config_dir = cls(path, today, core)
        config_dir.write(extra_sets=0)
        return config_dir

    def write(self, *, extra_sets: int) -> None:
        """Write configuration.yaml with the base DIY set and some extra ones."""
        base = DiySet.numbered(None)
        sets = [base] + [DiySet.numbered(number) for number in range(1, extra_sets + 1)]
        config = {
            **self.core,
            **diy_config(sets, self.today, yaml_counters=[base], source=True),
        }
        (self.path / "configuration.yaml").write_text(
            yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=100),
            encoding="utf-8",
        )


# --------------------------------------------------------------------------------------
# Instruments.


class _TimeModule:
    """Stands in for the time module in Home Assistant's event helper."""

    def __init__(self, timestamp: Callable[[], float]) -> None:
        """Answer time() from the virtual clock, anything else from `time`."""
        self.time = timestamp

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class VirtualClock:
    """Moves Home Assistant's clocks forward by an offset, without waiting.

    The event loop's clock, time.time and utcnow() as the event helper, dt_util and
    templates read them all move together, so timers fire exactly when their
    moment comes, as they would in a day of real time.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        """Prepare a clock that is not moved yet."""
        self.hass = hass
        self.offset = 0.0
        self._undo: list[Callable[[], None]] = []

    def _patch(self, owner: Any, name: str, value: Any) -> None:
        old = getattr(owner, name)
        setattr(owner, name, value)
        self._undo.append(lambda: setattr(owner, name, old))

    def install(self) -> None:
        """Take over the clocks."""
        real_monotonic, real_time, real_utcnow = (
            time.monotonic,
            time.time,
            dt_util.utcnow,
        )

        def utcnow() -> datetime:
            return real_utcnow() + timedelta(seconds=self.offset)

        def now(time_zone: tzinfo | None = None) -> datetime:
            return utcnow().astimezone(time_zone or dt_util.get_default_time_zone())

        def timestamp() -> float:
            return real_time() + self.offset

        self._patch(self.hass.loop, "time", lambda: real_monotonic() + self.offset)
        self._patch(dt_util, "utcnow", utcnow)
        self._patch(dt_util, "now", now)
        self._patch(event_helper, "time_tracker_utcnow", utcnow)
        self._patch(event_helper, "time_tracker_timestamp", timestamp)
        self._patch(event_helper, "time", _TimeModule(timestamp))

    def uninstall(self) -> None:
        """Give the clocks back."""
        while self._undo:
            self._undo.pop()()

    def now(self) -> datetime:
        """Return the virtual time."""
        return dt_util.utcnow()

    async def advance(
        self, seconds: float, settle: Callable[[], Awaitable[None]]
    ) -> None:
        """Move the clocks forward and let what became due run.

        The first yield lets the loop move the timers now due to its ready queue,
        behind this task; the second lets them run before this task goes on. Then
        whatever they started is waited for.
        """
        self.offset += seconds
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        await settle()


# Renamed from TrackTemplateResultInfo after 2025.4.
TEMPLATE_TRACKER: type = getattr(
    event_helper,
    "TrackTemplateResultInfo",
    getattr(event_helper, "_TrackTemplateResultInfo", type(None)),
)


def _qualname(target: Any) -> str:
    func = getattr(target, "__func__", target)
    return str(getattr(func, "__qualname__", type(target).__qualname__))


def _owner_of(target: Any, depth: int = 0) -> Any:
    """Find the object a timer callback works for: its self, or one in its closure."""
    if depth > 4:
        return None
    if isinstance(target, HassJob):
        return _owner_of(target.target, depth + 1)
    if (owner := getattr(target, "__self__", None)) is not None:
        return owner
    for cell in getattr(target, "__closure__", None) or ():
        with contextlib.suppress(ValueError):
            content = cell.cell_contents
            if isinstance(content, Entity) or type(content).__name__ == "Machine":
                return content
            if (isinstance(content, HassJob) or callable(content)) and (
                found := _owner_of(content, depth + 1)
            ) is not None:
                return found
    return None


def timer_owner(callback_: Any, args: tuple[Any, ...]) -> str:
    """Name what a loop timer is for.

    "machine: <name>" for a machine's own timer, "entity: <entity_id>" for an
    entity's (a calendar's event start or end, say), "template now(): <id>" for a
    template's minute re-render, "polling: <platform>" for entity polling, and
    "other: <function>" for the rest of Home Assistant.
    """
    target: Any = callback_
    if isinstance(callback_, event_helper._TrackPointUTCTime):  # noqa: SLF001
        target = callback_.job.target
    elif getattr(callback_, "__name__", "") == "_run_async_call_action" and args:
        target = args[-1].target
    name = _qualname(target)
    if name.endswith("_TrackUTCTimeChange._pattern_time_change_listener"):
        target = target.__self__.job.target
        if _qualname(target).endswith("_refresh_from_time"):
            trackers = [
                cell.cell_contents
                for cell in target.__closure__ or ()
                if isinstance(cell.cell_contents, TEMPLATE_TRACKER)
            ]
            return f"template now(): {id(trackers[0]) if trackers else 0:x}"
    elif name.endswith("_TrackTimeInterval._interval_listener"):
        target = target.__self__.action
        platform_: Any = getattr(target, "__self__", None)
        if type(platform_).__name__ == "EntityPlatform":
            return f"polling: {platform_.platform_name}.{platform_.domain}"
    owner = _owner_of(target)
    if type(owner).__name__ == "Machine":
        return f"machine: {owner.name}"
    if isinstance(owner, Entity) and owner.entity_id:
        return f"entity: {owner.entity_id}"
    return f"other: {_qualname(target)}"


class TimerCensus:
    """Counts the timers put on the event loop, and those that fire, by owner."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Prepare an empty census."""
        self.loop = loop
        self.scheduled: Counter[str] = Counter()
        self.fired: Counter[str] = Counter()
        self.active = True
        self._original: Any = None

    def install(self) -> None:
        """Wrap the loop's call_at (call_later goes through it too)."""
        original = self.loop.call_at
        self._original = original

        def call_at(
            when: float, callback_: Any, *args: Any, context: Any = None
        ) -> asyncio.TimerHandle:
            owner = timer_owner(callback_, args)
            if self.active:
                self.scheduled[owner] += 1

            def fire(*fire_args: Any) -> Any:
                if self.active:
                    self.fired[owner] += 1
                return callback_(*fire_args)

            return original(when, fire, *args, context=context)

        self.loop.call_at = call_at  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        """Stop counting."""
        if self._original is not None:
            self.loop.call_at = self._original  # type: ignore[method-assign]
            self._original = None

    def reset(self) -> None:
        """Forget what was counted."""
        self.scheduled.clear()
        self.fired.clear()


class StateWrites:
    """Counts state writes per entity: changes, and writes that changed nothing."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Prepare empty counts."""
        self.hass = hass
        self.changed: Counter[str] = Counter()
        self.same_state: Counter[str] = Counter()
        self.reported: Counter[str] = Counter()
        self.active = False
        self._unsubs: list[Callable[[], None]] = []

    def install(self) -> None:
        """Listen to state_changed and state_reported."""

        @callback
        def on_changed(event: Event[Any]) -> None:
            if not self.active:
                return
            entity_id = event.data["entity_id"]
            self.changed[entity_id] += 1
            old, new = event.data["old_state"], event.data["new_state"]
            if old is not None and new is not None and old.state == new.state:
                self.same_state[entity_id] += 1

        @callback
        def on_reported(event_data: Any) -> bool:
            if self.active:
                self.reported[event_data["entity_id"]] += 1
            return False

        @callback
        def never(_event: Event[Any]) -> None:
            """Never called: the filter counts and drops every event."""

        self._unsubs = [
            self.hass.bus.async_listen(EVENT_STATE_CHANGED, on_changed),
            self.hass.bus.async_listen(
                EVENT_STATE_REPORTED, never, event_filter=on_reported
            ),
        ]

    def uninstall(self) -> None:
        """Stop listening."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs = []

    def reset(self) -> None:
        """Forget what was counted."""
        self.changed.clear()
        self.same_state.clear()
        self.reported.clear()


class StoreWrites:
    """Counts the files Home Assistant's Store writes, by storage key."""

    def __init__(self) -> None:
        """Prepare empty counts."""
        self.writes: Counter[str] = Counter()
        self.active = False
        self._original: Any = None

    def install(self) -> None:
        """Wrap Store._async_write_data, which every Store write goes through."""
        original = Store._async_write_data  # noqa: SLF001
        self._original = original

        async def counted(store: Store[Any], *args: Any) -> None:
            if self.active:
                self.writes[store.key] += 1
            await original(store, *args)

        Store._async_write_data = counted  # type: ignore[method-assign,assignment]  # noqa: SLF001

    def uninstall(self) -> None:
        """Stop counting."""
        if self._original is not None:
            Store._async_write_data = self._original  # type: ignore[method-assign]  # noqa: SLF001
            self._original = None


class LogCollector(logging.Handler):
    """Keeps the warnings and errors logged while measuring."""

    def __init__(self, level: int = logging.WARNING) -> None:
        """Collect from `level` up."""
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record."""
        self.records.append(record)

    def messages(self) -> list[str]:
        """Return the records as short lines."""
        return [
            f"{record.levelname} {record.name}: {record.getMessage()[:300]}"
            for record in self.records
        ]


def _rss_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


# --------------------------------------------------------------------------------------
# The run.


@dataclass
class OurMachine:
    """A machine added through the config flow."""

    entry: ConfigEntry
    device_id: str
    entities: dict[str, str]


@dataclass
class ShotPath:
    """One way of recording shots, timed per shot."""

    key: str
    shot: Callable[[], Awaitable[None]]
    reset: Callable[[], Awaitable[None]]
    # The shots shown since the last reset, read back to check every cycle.
    shown: Callable[[], int | None]
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    cycle_shots: list[int] = field(default_factory=list)


class Leg:
    """One Home Assistant run and the measurements made in it."""

    def __init__(self, hass: HomeAssistant, plan: Plan, config_dir: ConfigDir) -> None:
        """Measure in a started Home Assistant."""
        self.hass = hass
        self.plan = plan
        self.config_dir = config_dir
        self.diy = DiySet.numbered(None)
        self.source_values = {OUR_SOURCE: 0, DIY_SOURCE: 0}
        self.model: ModuleType
        self.store: ModuleType

    async def settle(self) -> None:
        """Let every task, background ones included, finish."""
        async with asyncio.timeout(SETTLE_TIMEOUT):
            await self.hass.async_block_till_done(wait_background_tasks=True)

    def _state(self, entity_id: str) -> str | None:
        state = self.hass.states.get(entity_id)
        return None if state is None else state.state

    def _int_state(self, entity_id: str) -> int | None:
        value = self._state(entity_id)
        try:
            return None if value is None else int(float(value))
        except ValueError:
            return None

    # ---- machines

    async def add_machine(self, name: str, *, source: str | None = None) -> OurMachine:
        """Add a machine through the config flow, as the UI does."""
        flow = self.hass.config_entries.flow
        today = self.config_dir.today
        result = await flow.async_init(DOMAIN, context={"source": "user"})
        result = await flow.async_configure(
            result["flow_id"], {"name": name, "machine_type": "semi_automatic"}
        )
        result = await flow.async_configure(
            result["flow_id"],
            {
                "three_way_valve": True,
                "track_descale": True,
                "shots_per_day": 2,
                "water_hardness": 8,
                "hardness_unit": "dh",
                "shot_source": "counter" if source else "none",
            },
        )
        if source:
            result = await flow.async_configure(
                result["flow_id"], {"source_entity": source}
            )
        result = await flow.async_configure(
            result["flow_id"],
            {
                "backflush_interval_shots": INTERVAL_SHOTS,
                "backflush_interval_days": INTERVAL_DAYS,
                "descale_interval_days": DESCALE_DAYS,
                "last_backflush": (
                    today - timedelta(days=LAST_BACKFLUSH_DAYS_AGO)
                ).isoformat(),
                "shots_since_backflush": 0,
                "last_descale": (
                    today - timedelta(days=LAST_DESCALE_DAYS_AGO)
                ).isoformat(),
            },
        )
        if result["type"] != "create_entry":
            raise RuntimeError(f"the config flow did not create {name}: {result}")
        await self.settle()
        return self.machine(result["result"])

    def machine(self, entry: ConfigEntry) -> OurMachine:
        """Find a machine's device and entities."""
        prefix = f"{entry.entry_id}_"
        entities = {
            item.unique_id.removeprefix(prefix): item.entity_id
            for item in er.async_entries_for_config_entry(
                er.async_get(self.hass), entry.entry_id
            )
        }
        return OurMachine(entry, entry.runtime_data.device_id, entities)

    def our_entity_ids(self) -> set[str]:
        """Return every entity of every machine."""
        return {
            item.entity_id
            for item in er.async_get(self.hass).entities.values()
            if item.platform == DOMAIN
        }

    def timer_kind(self, owner: str) -> str:
        """Tell whose a timer is: "ours", "diy" or "other"."""
        kind, _, rest = owner.partition(": ")
        if kind == "machine" or (
            kind in ("entity", "polling")
            and (rest in self.our_entity_ids() or rest.startswith(f"{DOMAIN}."))
        ):
            return "ours"
        if kind == "template now()" or (
            kind == "entity" and rest in self.diy.entities()
        ):
            return "diy"
        return "other"

    def timer_summary(self, census: TimerCensus) -> dict[str, Any]:
        """Sum up a census by whose the timers are, keeping the details."""
        summary: dict[str, Any] = {
            kind: {"scheduled": 0, "fired": 0, "by_owner": {}}
            for kind in ("ours", "diy", "other")
        }
        for owner in census.scheduled.keys() | census.fired.keys():
            part = summary[self.timer_kind(owner)]
            part["scheduled"] += census.scheduled[owner]
            part["fired"] += census.fired[owner]
            part["by_owner"][owner] = {
                "scheduled": census.scheduled[owner],
                "fired": census.fired[owner],
            }
        return summary

    async def _call(
        self,
        domain: str,
        service: str,
        data: dict[str, Any] | None = None,
        *,
        target: dict[str, Any] | None = None,
    ) -> None:
        await self.hass.services.async_call(
            domain, service, data, blocking=True, target=target
        )

    def _set_source(self, entity_id: str, value: int) -> None:
        self.source_values[entity_id] = value
        self.hass.states.async_set(entity_id, str(value), {"state_class": "total"})

    # ---- shot paths

    def paths(self, bench: OurMachine, ten_years: OurMachine) -> list[ShotPath]:
        """Return the ways of recording a shot that are compared."""
        diy = self.diy

        def action_path(key: str, machine: OurMachine) -> ShotPath:
            target = {"device_id": machine.device_id}

            async def shot() -> None:
                await self._call(DOMAIN, "record_shot", target=target)

            async def reset() -> None:
                await self._call(
                    DOMAIN, "set_shots_since_backflush", {"shots": 0}, target=target
                )

            return ShotPath(
                key,
                shot,
                reset,
                lambda: self._int_state(machine.entities["shots_since_backflush"]),
            )

        async def our_source_shot() -> None:
            self._set_source(OUR_SOURCE, self.source_values[OUR_SOURCE] + 1)

        async def diy_action_shot() -> None:
            await self._call("counter", "increment", target={"entity_id": diy.counter})

        async def diy_source_shot() -> None:
            self._set_source(DIY_SOURCE, self.source_values[DIY_SOURCE] + 1)

        async def diy_reset() -> None:
            await self._call("counter", "reset", target={"entity_id": diy.counter})

        async def nothing() -> None:
            return

        bench_action = action_path("ours_action", bench)
        return [
            ShotPath("harness", nothing, nothing, lambda: None),
            bench_action,
            ShotPath(
                "ours_source", our_source_shot, bench_action.reset, bench_action.shown
            ),
            action_path("ours_action_ten_years", ten_years),
            ShotPath(
                "diy_action",
                diy_action_shot,
                diy_reset,
                lambda: self._int_state(diy.counter),
            ),
            ShotPath(
                "diy_source",
                diy_source_shot,
                diy_reset,
                lambda: self._int_state(diy.counter),
            ),
        ]

    async def _cycle(self, path: ShotPath, shots: int, *, timed: bool) -> None:
        await path.reset()
        await self.settle()
        hass = self.hass
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(shots):
            await path.shot()
            await hass.async_block_till_done(wait_background_tasks=True)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        shown = path.shown()
        if path.key != "harness" and shown != shots:
            raise RuntimeError(f"{path.key}: {shots} shots pulled, {shown} shown")
        if timed:
            path.cpu.append(cpu)
            path.wall.append(wall)
            path.cycle_shots.append(shots)

    async def shot_timings(self, paths: list[ShotPath]) -> dict[str, Any]:
        """Time every path per shot, interleaved in backflush cycles.

        A cycle is the shots from one backflush to the next (the shot interval);
        the counter goes back to 0 between cycles, untimed, so the states pass
        through ok, due soon and due as in real use. The paths take turns cycle by
        cycle, in a rotating order, so a slow moment of the machine hits all alike.
        """
        cycles = [INTERVAL_SHOTS] * (self.plan.shots // INTERVAL_SHOTS)
        if self.plan.shots % INTERVAL_SHOTS:
            cycles.append(self.plan.shots % INTERVAL_SHOTS)
        for path in paths:  # warm-up, untimed
            await self._cycle(path, INTERVAL_SHOTS, timed=False)
        for index, shots in enumerate(cycles):
            # The garbage collector runs as usual, but a rare full collection of
            # Home Assistant's whole heap would land on one path: start each round
            # from a collected heap, untimed, so one is unlikely inside a round.
            gc.collect()
            turn = index % len(paths)
            for path in paths[turn:] + paths[:turn]:
                await self._cycle(path, shots, timed=True)
        results = {}
        for path in paths:
            shots = sum(path.cycle_shots)
            per_cycle = [
                c / n * 1e6 for c, n in zip(path.cpu, path.cycle_shots, strict=True)
            ]
            results[path.key] = {
                "shots": shots,
                "cpu_us": sum(path.cpu) / shots * 1e6,
                "cpu_us_median_cycle": statistics.median(per_cycle),
                "wall_us": sum(path.wall) / shots * 1e6,
            }
        return results

    async def count_writes(self, paths: list[ShotPath]) -> dict[str, Any]:
        """Count state writes, disk writes and timers per shot, in a separate pass.

        Counting costs time itself, so it is kept out of the timed runs.
        """
        states = StateWrites(self.hass)
        stores = StoreWrites()
        census = TimerCensus(self.hass.loop)
        states.install()
        stores.install()
        census.install()
        results: dict[str, Any] = {}
        try:
            for path in paths:
                if path.key == "harness":
                    continue
                states.reset()
                stores.writes.clear()
                census.reset()
                shots = 0
                for _ in range(self.plan.counting_cycles):
                    await path.reset()
                    await self.settle()
                    states.active = stores.active = census.active = True
                    for _ in range(INTERVAL_SHOTS):
                        await path.shot()
                        await self.settle()
                    shots += INTERVAL_SHOTS
                    states.active = stores.active = census.active = False
                results[path.key] = {
                    "shots": shots,
                    "state_writes": dict(states.changed),
                    "same_state_writes": dict(states.same_state),
                    "reported_writes": dict(states.reported),
                    "store_writes": dict(stores.writes),
                    "timers": self.timer_summary(census),
                }
        finally:
            census.uninstall()
            stores.uninstall()
            states.uninstall()
        return results

    # ---- storage

    def _simulate_years(
        self, note_backflush: str | None, note_descale: str | None
    ) -> Any:
        """Drive the model through ten years of use and return the state."""
        model = self.model
        tz = dt_util.get_default_time_zone()
        settings = model.Settings(
            track_backflush=True,
            track_descale=True,
            backflush_interval_shots=7 * len(SHOTS_PER_DAY_TIMES),
            backflush_interval_days=INTERVAL_DAYS,
            descale_interval_days=30,
        )
        first = self.config_dir.today - timedelta(days=TEN_YEARS_DAYS)
        state = model.apply_scale_settings(model.MachineState(), settings, first)
        for offset in range(TEN_YEARS_DAYS):
            day = first + timedelta(days=offset)
            # Each shot's water is kept per day (a year of it), as the machine does.
            state = model.record_shots(
                state,
                len(SHOTS_PER_DAY_TIMES),
                day=day,
                water_per_shot_ml=settings.shot_water_ml,
            )
            if offset % 7 == 6:
                state = model.record_maintenance(
                    state,
                    model.Kind.BACKFLUSH,
                    datetime.combine(day, BACKFLUSH_AT, tzinfo=tz),
                    note_backflush,
                )
            if day.day == 1:
                state = model.record_maintenance(
                    state,
                    model.Kind.DESCALE,
                    datetime.combine(day, DESCALE_AT, tzinfo=tz),
                    note_descale,
                )
            end_of_day = model.start_of_local_day(day + timedelta(days=1), tz)
            status = model.evaluate(settings, state, end_of_day, tz)
            state, _ = model.note_due_edges(state, status)
            state = replace(state, source_baseline=float(state.total_shots))
        return state

    async def ten_years(self) -> tuple[dict[str, Any], Any]:
        """Write ten years of records as the Store writes them; return sizes and state."""
        variants = {
            "no_notes": (None, None),
            "short_notes": ("Cafiza", "Citric acid"),
            "max_notes": (MAX_NOTE, MAX_NOTE),
        }
        results: dict[str, Any] = {}
        typical: Any = None
        for name, (note_b, note_d) in variants.items():
            state = self._simulate_years(note_b, note_d)
            store = self.store.MachineStore(self.hass, f"benchmark_ten_years_{name}")
            await store.async_save_state(state)
            size = await self.hass.async_add_executor_job(os.path.getsize, store.path)
            loaded = await self.store.MachineStore(
                self.hass, f"benchmark_ten_years_{name}"
            ).async_load_state(created=True)
            if loaded != state:
                raise RuntimeError(f"ten years ({name}) did not read back the same")
            kinds = Counter(record.kind.value for record in state.history)
            results[name] = {
                "bytes": size,
                "history_records": len(state.history),
                "history_by_kind": dict(kinds),
                "undo_steps": len(state.undo),
                "total_shots": state.total_shots,
            }
            if name == "no_notes":
                typical = state
        days = TEN_YEARS_DAYS
        results["simulated"] = {
            "days": days,
            "shots": days * len(SHOTS_PER_DAY_TIMES),
            "backflushes": days // 7,
            "descales": sum(
                1
                for offset in range(days)
                if (self.config_dir.today - timedelta(days=TEN_YEARS_DAYS - offset)).day
                == 1
            ),
        }
        return results, typical

    async def _serialize_cost(self, state: Any) -> tuple[float, dict[str, Any]]:
        """Time what the machine's store does on the loop for one shot, without I/O.

        A store is saved once, then with one more shot each time, as a machine
        saves it, with its file write replaced by nothing: whatever the store
        reuses from one save to the next (the history does not change with a
        shot) is reused here too. Returns the CPU per save and the last data.
        """
        store = self.store.MachineStore(self.hass, "benchmark_serialize")
        written: list[dict[str, Any]] = []

        async def no_write(*args: Any) -> None:
            written.append(args[-1])

        store._async_write_data = no_write  # noqa: SLF001
        await store.async_save_state(state)
        reps = self.plan.write_repetitions
        cpu = time.thread_time()
        for _ in range(reps):
            state = self.model.record_shots(state, 1)
            await store.async_save_state(state)
        cpu = (time.thread_time() - cpu) / reps * 1e6
        return cpu, written[-1]

    async def write_costs(self, states: dict[str, Any]) -> dict[str, Any]:
        """Time the parts of a shot's disk write, per machine state.

        Serialising the state as the machine's store does it for a shot (on the
        event loop), encoding it as Home Assistant's Store does (orjson, indented),
        and writing it atomically with fsync (as the machine's Store does) or
        plainly (as most stores do), the last two in a worker thread.
        """
        reps = self.plan.write_repetitions
        scratch = self.config_dir.path / "write_cost.json"
        option = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS

        def measure(data: dict[str, Any]) -> dict[str, float]:
            def per_call(func: Callable[[], Any]) -> tuple[float, float]:
                func()
                cpu, wall = time.thread_time(), time.perf_counter()
                for _ in range(reps):
                    func()
                return (
                    (time.thread_time() - cpu) / reps * 1e6,
                    (time.perf_counter() - wall) / reps * 1e6,
                )

            payload = orjson.dumps(data, option=option)
            encode_cpu, _ = per_call(lambda: orjson.dumps(data, option=option))
            atomic_cpu, atomic_wall = per_call(
                lambda: write_utf8_file_atomic(str(scratch), payload, mode="wb")
            )
            plain_cpu, plain_wall = per_call(
                lambda: write_utf8_file(str(scratch), payload, mode="wb")
            )
            scratch.unlink()
            return {
                "bytes": len(payload),
                "encode_cpu_us": encode_cpu,
                "atomic_write_cpu_us": atomic_cpu,
                "atomic_write_wall_us": atomic_wall,
                "plain_write_cpu_us": plain_cpu,
                "plain_write_wall_us": plain_wall,
            }

        results = {}
        for name, state in states.items():
            serialize_cpu, data = await self._serialize_cost(state)
            results[name] = {
                "serialize_cpu_us": serialize_cpu,
                **await self.hass.async_add_executor_job(measure, data),
            }
        return results

    # ---- setup and memory

    async def _timed(
        self, work: Callable[[], Awaitable[Any]]
    ) -> tuple[Any, float, float]:
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        result = await work()
        await self.settle()
        return result, time.process_time() - cpu, time.perf_counter() - wall

    async def _rss(self) -> int:
        gc.collect()
        return await self.hass.async_add_executor_job(_rss_bytes)

    async def _add_machines(self, names: list[str]) -> list[OurMachine]:
        return [await self.add_machine(name) for name in names]

    async def _remove_machines(self, machines: list[OurMachine]) -> None:
        for machine in machines:
            await self.hass.config_entries.async_remove(machine.entry.entry_id)
        await self.settle()

    def _counter_collection(self) -> Any:
        """Return the counters the UI makes (the collection behind counter/create)."""
        handler, _schema = self.hass.data["websocket_api"]["counter/create"]
        return inspect.unwrap(handler).__self__.storage_collection

    async def _diy_reload(self, extra_sets: int) -> None:
        """Have `extra_sets` DIY machines besides the base one, as a user would.

        The dates, templates and automations are edited in configuration.yaml and
        reloaded; YAML counters cannot be reloaded, so the counters are made (or
        deleted) as the UI does it.
        """
        await self.hass.async_add_executor_job(
            lambda: self.config_dir.write(extra_sets=extra_sets)
        )
        # Dates first when adding machines, last when removing them, so no
        # template ever reads a date that is not there.
        growing = extra_sets >= len(self._counter_collection().async_items())
        domains = ["input_datetime", "template", "automation"]
        for domain in domains if growing else domains[::-1]:
            await self._call(domain, "reload")
        counters = self._counter_collection()
        wanted = {
            DiySet.numbered(number).counter.partition(".")[2]: number
            for number in range(1, extra_sets + 1)
        }
        made = {item["id"] for item in counters.async_items()}
        for item_id in sorted(made - wanted.keys()):
            await counters.async_delete_item(item_id)
        for item_id, number in wanted.items():
            if item_id not in made:
                await counters.async_create_item(
                    DiySet.numbered(number).counter_config()
                )

    async def setup_scaling(self, count: int) -> dict[str, Any]:
        """Time setting up `count` machines, ours and DIY, and the memory they take.

        Ours: added one by one through the config flow (each waits for its file to
        be written), then all loaded at once as at a start of Home Assistant
        (unloaded, then set up together). DIY: `count` more sets of helpers in
        configuration.yaml and the four reload actions, minus the same reloads with
        no extra set.
        """
        names = [f"Scale {count} {index:03d}" for index in range(count)]
        rss = await self._rss()
        machines, add_cpu, add_wall = await self._timed(
            lambda: self._add_machines(names)
        )
        rss_ours = await self._rss() - rss
        for machine in machines:
            await self.hass.config_entries.async_unload(machine.entry.entry_id)
        await self.settle()

        async def load_all() -> None:
            results = await asyncio.gather(
                *(
                    self.hass.config_entries.async_setup(machine.entry.entry_id)
                    for machine in machines
                )
            )
            if not all(results):
                raise RuntimeError("a machine did not load")

        _, load_cpu, load_wall = await self._timed(load_all)
        entities = sum(len(machine.entities) for machine in machines)
        await self._remove_machines(machines)

        await self._diy_reload(0)
        await self.settle()
        _, base_cpu, base_wall = await self._timed(lambda: self._diy_reload(0))
        rss = await self._rss()
        _, diy_cpu, diy_wall = await self._timed(lambda: self._diy_reload(count))
        rss_diy = await self._rss() - rss
        diy_entities = sum(
            1
            for number in range(1, count + 1)
            for entity_id in DiySet.numbered(number).entities()
            if self.hass.states.get(entity_id) is not None
        )
        if diy_entities != count * len(self.diy.entities()):
            raise RuntimeError(f"{diy_entities} DIY entities set up for {count} sets")
        await self._diy_reload(0)
        await self.settle()
        return {
            "machines": count,
            "our_entities": entities,
            "diy_entities": diy_entities,
            "ours_add_cpu_s": add_cpu,
            "ours_add_wall_s": add_wall,
            "ours_load_cpu_s": load_cpu,
            "ours_load_wall_s": load_wall,
            "diy_cpu_s": max(diy_cpu - base_cpu, 0.0),
            "diy_wall_s": max(diy_wall - base_wall, 0.0),
            "diy_reload_base_wall_s": base_wall,
            "ours_rss_bytes": rss_ours,
            "diy_rss_bytes": rss_diy,
        }

    async def memory(self, count: int) -> dict[str, Any]:
        """Measure the memory of `count` more machines, ours and DIY, with tracemalloc."""

        async def traced(work: Callable[[], Awaitable[Any]]) -> tuple[Any, int]:
            gc.collect()
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                result = await work()
                await self.settle()
                gc.collect()
                return result, tracemalloc.get_traced_memory()[0] - before
            finally:
                tracemalloc.stop()

        # One machine first, so imports and caches are not counted.
        warm = await self._add_machines(["Memory warm-up"])
        machines, ours = await traced(
            lambda: self._add_machines(
                [f"Memory {index:03d}" for index in range(count)]
            )
        )
        await self._remove_machines(warm + machines)
        await self._diy_reload(1)
        await self.settle()
        _, diy_with_one = await traced(lambda: self._diy_reload(count + 1))
        await self._diy_reload(0)
        await self.settle()
        return {
            "machines": count,
            "ours_bytes": ours / count,
            "diy_bytes": diy_with_one / count,
        }

    # ---- a simulated day

    async def simulated_day(self, bench: OurMachine) -> dict[str, Any]:
        """Run a day of virtual time with six shots; count timers and state writes.

        Starts just after a local midnight and ends just after the next one, in
        steps of a minute (templates using now() re-render at second 0 of each).
        """
        hass = self.hass
        clock = VirtualClock(hass)
        census = TimerCensus(hass.loop)
        states = StateWrites(hass)
        tz = ZoneInfo(TIME_ZONE)
        diy = self.diy
        ours_days = bench.entities["days_since_backflush"]
        clock.install()
        census.install()
        states.install()
        try:
            now = clock.now().astimezone(tz)
            midnight = datetime.combine(now.date() + timedelta(days=1), dt_time(), tz)
            await clock.advance((midnight - now).total_seconds() + 30, self.settle)
            census.reset()
            states.reset()
            states.active = True
            before = {
                "ours": self._int_state(ours_days),
                "diy": self._int_state(diy.days_since_backflush),
            }
            cpu = time.process_time()
            for minute in range(1, 24 * 60 + 1):
                await clock.advance(60, self.settle)
                if minute in DAY_SHOT_MINUTES:
                    await self._call(
                        DOMAIN, "record_shot", target={"device_id": bench.device_id}
                    )
                    await self._call(
                        "counter", "increment", target={"entity_id": diy.counter}
                    )
                    await self.settle()
            cpu = time.process_time() - cpu
            after = {
                "ours": self._int_state(ours_days),
                "diy": self._int_state(diy.days_since_backflush),
            }
            day_start = midnight.isoformat()
        finally:
            states.uninstall()
            census.uninstall()
            # The clock stays moved: Home Assistant's timers are set on it now.
        if after["ours"] != (before["ours"] or 0) + 1:
            raise RuntimeError(f"our days since backflush went {before} -> {after}")
        if after["diy"] != (before["diy"] or 0) + 1:
            raise RuntimeError(f"DIY days since backflush went {before} -> {after}")
        return {
            "day_start": day_start,
            "shots": len(DAY_SHOT_MINUTES),
            "days_since_backflush_before": before,
            "days_since_backflush_after": after,
            "timers": self.timer_summary(census),
            "our_machines": len(self.hass.config_entries.async_entries(DOMAIN)),
            "diy_machines": 1,
            "state_writes": dict(states.changed),
            "same_state_writes": dict(states.same_state),
            "reported_writes": dict(states.reported),
            "cpu_s": cpu,
        }

    # ---- everything

    async def run(self) -> dict[str, Any]:
        """Make every measurement, in an order where each disturbs the next least."""
        hass = self.hass
        self._set_source(OUR_SOURCE, 0)
        self._set_source(DIY_SOURCE, 0)
        await self.settle()
        for entity_id in self.diy.entities():
            if hass.states.get(entity_id) is None:
                raise RuntimeError(f"DIY entity {entity_id} was not set up")

        bench = await self.add_machine("Bench", source=OUR_SOURCE)
        # The integration's own modules, as Home Assistant loaded them.
        self.model = sys.modules[f"custom_components.{DOMAIN}.model"]
        self.store = sys.modules[f"custom_components.{DOMAIN}.store"]

        storage, ten_year_state = await self.ten_years()
        ten_years = await self.add_machine("Bench ten years")
        entry_id = ten_years.entry.entry_id
        await hass.config_entries.async_unload(entry_id)
        await self.store.MachineStore(hass, entry_id).async_save_state(ten_year_state)
        if not await hass.config_entries.async_setup(entry_id):
            raise RuntimeError("the ten-year machine did not load")
        await self.settle()
        total = self._int_state(ten_years.entities["total_shots"])
        if total != ten_year_state.total_shots:
            raise RuntimeError(f"the ten-year machine shows {total} shots")

        paths = self.paths(bench, ten_years)
        timings = await self.shot_timings(paths)
        counts = await self.count_writes(paths)
        bench_state = bench.entry.runtime_data.state
        write_costs = await self.write_costs(
            {"fresh": bench_state, "ten_years": ten_year_state}
        )
        file_sizes = {
            name: await hass.async_add_executor_job(
                os.path.getsize,
                self.store.MachineStore(hass, machine.entry.entry_id).path,
            )
            for name, machine in (("bench", bench), ("ten_years", ten_years))
        }
        scaling = [await self.setup_scaling(count) for count in self.plan.batches]
        memory = await self.memory(self.plan.memory_machines)
        day = await self.simulated_day(bench)
        our_entities = self.our_entity_ids()
        return {
            "shot_timings": timings,
            "counts": counts,
            "storage": storage,
            "write_costs": write_costs,
            "machine_file_bytes": file_sizes,
            "scaling": scaling,
            "memory": memory,
            "day": day,
            "entities": {
                "ours_bench": sorted(bench.entities.values()),
                "ours_ten_years": sorted(ten_years.entities.values()),
                "machines": {
                    machine.entry.title: sorted(machine.entities.values())
                    for machine in (bench, ten_years)
                },
                "ours_all": len(our_entities),
                "diy": self.diy.entities(),
                "sources": [OUR_SOURCE, DIY_SOURCE],
            },
            "store_keys": {
                f"{DOMAIN}.{bench.entry.entry_id}": "bench",
                f"{DOMAIN}.{ten_years.entry.entry_id}": "ten_years",
            },
        }


# --------------------------------------------------------------------------------------
# Entry point.


def _leg_name() -> str:
    return f"py{sys.version_info.major}{sys.version_info.minor}-ha{ha_version}"


@contextlib.contextmanager
def _event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """Create the event loop as Home Assistant's runner does, for either version."""
    create = getattr(runner, "create_event_loop", None)
    if create is not None:
        loop: asyncio.AbstractEventLoop = create(False)
    else:
        asyncio.set_event_loop_policy(runner.HassEventLoopPolicy(False))
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


async def _async_run(plan: Plan, config_dir: ConfigDir) -> dict[str, Any]:
    setup_log = LogCollector(logging.ERROR)
    logging.getLogger("homeassistant.setup").addHandler(setup_log)
    started = time.perf_counter()
    hass = await bootstrap.async_setup_hass(
        runner.RuntimeConfig(config_dir=str(config_dir.path), skip_pip=True)
    )
    if hass is None:
        raise RuntimeError("Home Assistant did not set up")
    await hass.async_start()
    leg = Leg(hass, plan, config_dir)
    await leg.settle()
    startup_s = time.perf_counter() - started
    failed = sorted(
        {
            match.group(1)
            for record in setup_log.records
            if (
                match := re.match(r"Setup failed for '?([\w.]+)'?", record.getMessage())
            )
        }
    )
    problems = LogCollector(logging.WARNING)
    logging.getLogger().addHandler(problems)
    try:
        results = await leg.run()
    finally:
        logging.getLogger().removeHandler(problems)
        await hass.async_stop()
    errors = [
        line
        for record, line in zip(problems.records, problems.messages(), strict=True)
        if record.levelno >= logging.ERROR and DOMAIN in line
    ]
    if errors:
        raise RuntimeError("the integration logged errors:\n" + "\n".join(errors))
    return {
        **results,
        "startup_s": startup_s,
        "components": len(hass.config.components),
        "failed_default_integrations": failed,
        "warnings": problems.messages(),
    }


def run_leg(*, quick: bool, output: Path) -> None:
    """Measure this interpreter's leg and write the results as JSON."""
    plan = Plan.create(quick=quick)
    today = datetime.now(ZoneInfo(TIME_ZONE)).date()
    config_dir = ConfigDir.create(_leg_name(), today)
    started = time.perf_counter()
    with _event_loop() as loop:
        results = loop.run_until_complete(_async_run(plan, config_dir))
    text = json.dumps(
        {
            "leg": _leg_name(),
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "python_implementation": platform.python_implementation(),
            "home_assistant": ha_version,
            "plan": plan.__dict__,
            "today": today.isoformat(),
            "time_zone": TIME_ZONE,
            "intervals": {
                "backflush_shots": INTERVAL_SHOTS,
                "backflush_days": INTERVAL_DAYS,
                "descale_days": DESCALE_DAYS,
            },
            "config_dir": str(config_dir.path.relative_to(REPO)),
            "diy_yaml": yaml.safe_dump(
                diy_config(
                    [DiySet.numbered(None)],
                    today,
                    yaml_counters=[DiySet.numbered(None)],
                    source=True,
                ),
                sort_keys=False,
                allow_unicode=True,
                width=100,
            ),
            "duration_s": time.perf_counter() - started,
            **results,
        },
        indent=2,
        sort_keys=True,
    )
    # Home Assistant's guard against blocking calls in its loop thread stays on.
    writer = threading.Thread(target=_write, args=(output, text))
    writer.start()
    writer.join()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
