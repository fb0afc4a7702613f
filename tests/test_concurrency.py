"""Overlapping changes on slow storage, atomic file writes, and state writes.

The test storage of Home Assistant's test harness writes instantly, so calls
never overlap mid-write there. Here the journal's appends and emptying, and the
whole file's writes, each pause, so shots from actions and buttons, readings of a
shot counter and a water meter, records, undo, corrections and the nightly fold
overlap. Each scenario is also run against a broken machine (no lock) and broken
storage (writes landing out of order), which the same checks must catch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
import contextlib
import contextvars
from dataclasses import dataclass, field
from datetime import timedelta
import inspect
import json
import os
from pathlib import Path
import random
import threading
import time
from typing import Any
from unittest.mock import patch

import atomicwrites
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import CONF_NAME, EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.espresso_maintenance.const import (
    CONF_SHOT_SOURCE,
    CONF_SOURCE_ENTITY,
    CONF_WATER_SOURCE,
    DOMAIN,
    STORAGE_MINOR_VERSION,
    STORAGE_VERSION,
)
from custom_components.espresso_maintenance.entity import EspressoEntity
from custom_components.espresso_maintenance.journal import JournalFile
from custom_components.espresso_maintenance.machine import Machine
from custom_components.espresso_maintenance.model import MachineState
from custom_components.espresso_maintenance.store import MachineStore, storage_key

from .common import disk_state
from .conftest import ENTRY_ID, NOW

pytestmark = pytest.mark.freeze_time(NOW)

LITERS = {
    "device_class": "water",
    "unit_of_measurement": "L",
    "state_class": "total_increasing",
}
# Each journal operation pauses up to this long in the executor, and each file
# write yields to the event loop up to this many times: long enough for the other
# pending calls to run up to their own writes.
MAX_PAUSE_S = 0.002
MAX_YIELDS = 4
# The operation a change is made for, seen by the machine's listener.
OPERATION: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "operation", default=None
)


@dataclass
class SlowStorage:
    """Disk operations that take time, and what landed on disk, in order."""

    rng: random.Random
    # (storage key, "line" | "file" | "empty", journal line number or None)
    landed: list[tuple[str, str, int | None]] = field(default_factory=list)
    # Broken storage, to prove the checks catch it: every other file write
    # lands only after the next one, or the journal is emptied only after the
    # next line is appended.
    reorder: bool = False
    late_emptying: bool = False
    file_writes: int = 0
    held_writes: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    held_emptying: list[Callable[[], None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pause_s(self) -> float:
        """Return how long the next journal operation pauses."""
        with self.lock:
            return self.rng.uniform(0, MAX_PAUSE_S)

    async def async_pause(self) -> None:
        """Yield to the other tasks a few times, as a slow write would."""
        for _ in range(self.rng.randrange(MAX_YIELDS + 1)):
            await asyncio.sleep(0)

    def lines(self, key: str) -> list[int | None]:
        """Return the journal line numbers of a machine, as they landed."""
        return [seq for k, what, seq in self.landed if k == key and what == "line"]

    def empty_held(self) -> None:
        """Empty the journals whose emptying was held back."""
        with self.lock:
            held, self.held_emptying[:] = list(self.held_emptying), []
        for empty in held:
            empty()

    async def async_land_held(self) -> None:
        """Land the file writes that were held back."""
        while self.held_writes:
            await self.held_writes.pop(0)()

    async def async_settle(self, hass: HomeAssistant) -> None:
        """Land whatever was held back."""
        await self.async_land_held()
        await hass.async_add_executor_job(self.empty_held)


@pytest.fixture
def slow_storage(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> Iterator[SlowStorage]:
    """Make the journal's appends and emptying, and the file's writes, take time.

    The pauses are random (seeded), so calls overlap mid-write in varied orders.
    """
    slow = SlowStorage(random.Random(0))  # noqa: S311 - seeded orders, not secrets
    append, truncate = JournalFile.append, JournalFile.truncate
    # The test harness's in-memory write, which hass_storage reads.
    write_data = Store._async_write_data

    def key_of(journal: JournalFile) -> str:
        return journal.path.name.removesuffix(".journal")

    def slow_append(journal: JournalFile, line: bytes) -> None:
        time.sleep(slow.pause_s())
        append(journal, line)
        slow.landed.append((key_of(journal), "line", json.loads(line)["seq"]))
        slow.empty_held()

    def empty(journal: JournalFile) -> None:
        truncate(journal)
        slow.landed.append((key_of(journal), "empty", None))

    def slow_truncate(journal: JournalFile) -> None:
        if slow.late_emptying:
            with slow.lock:
                slow.held_emptying.append(lambda: empty(journal))
            return
        time.sleep(slow.pause_s())
        empty(journal)

    # Home Assistant 2025 passes the path and the data, newer ones the data alone.
    async def land(store: Store[Any], *args: Any) -> None:
        await write_data(store, *args)
        slow.landed.append((store.key, "file", args[-1]["data"]["journal_seq"]))

    async def slow_write(store: Store[Any], *args: Any) -> None:
        if not isinstance(store, MachineStore):
            await write_data(store, *args)
            return
        slow.file_writes += 1
        if slow.reorder and slow.file_writes % 2:
            slow.held_writes.append(lambda: land(store, *args))
            return
        await slow.async_pause()
        await land(store, *args)
        await slow.async_land_held()

    with (
        patch.object(JournalFile, "append", slow_append),
        patch.object(JournalFile, "truncate", slow_truncate),
        patch.object(Store, "_async_write_data", slow_write),
    ):
        yield slow


@dataclass(frozen=True)
class Target:
    """One machine, and the entities that feed it."""

    entry: MockConfigEntry
    prefix: str
    counter: str
    meter: str

    @property
    def machine(self) -> Machine:
        """Return the machine's runtime."""
        machine: Machine = self.entry.runtime_data
        return machine


async def action(
    hass: HomeAssistant, target: Target, service: str, **data: Any
) -> None:
    """Call one of our actions on a machine, through its device."""
    await hass.services.async_call(
        DOMAIN,
        service,
        {"device_id": target.machine.device_id, **data},
        blocking=True,
    )


async def press(hass: HomeAssistant, target: Target, key: str) -> None:
    """Press one of a machine's buttons."""
    await hass.services.async_call(
        "button", "press", {"entity_id": f"button.{target.prefix}_{key}"}, blocking=True
    )


@dataclass(frozen=True)
class Operation:
    """One thing a user, an automation or a source does to a machine."""

    kind: str
    value: Any = None

    async def run(self, hass: HomeAssistant, target: Target) -> None:
        """Do it on a machine; readings are counted in a task of their own."""
        if self.kind == "shot":
            await action(hass, target, "record_shot")
        elif self.kind == "shot_button":
            await press(hass, target, "record_shot")
        elif self.kind == "backflush":
            await action(hass, target, "record_backflush", note=self.value)
        elif self.kind == "descale_button":
            await press(hass, target, "record_descale")
        elif self.kind == "undo":
            await action(hass, target, "undo_last_record")
        elif self.kind == "set_shots":
            await action(hass, target, "set_shots_since_backflush", shots=self.value)
        elif self.kind == "counter":
            hass.states.async_set(target.counter, str(self.value))
        elif self.kind == "water":
            hass.states.async_set(target.meter, f"{self.value:.3f}", LITERS)
        else:
            assert self.kind == "fold"
            # What the nightly rollover does: re-evaluate and fold the journal.
            await target.machine.async_refresh(compact=True)


# Records made before the overlapping calls, so an undo always has one to take.
RECORDS_BEFORE = 3
COUNTER_START = 100
METER_START_L = 120.5


def operations(seed: int, count: int = 30) -> list[Operation]:
    """Choose a mix of operations, mostly shots and readings as in real use."""
    rng = random.Random(seed)  # noqa: S311 - seeded orders, not secrets
    counter_values = iter(rng.sample(range(COUNTER_START + 1, COUNTER_START + 40), 20))
    meter_steps = iter(rng.sample(range(1, 60), 20))
    undos = 0
    chosen: list[Operation] = []
    for index in range(count):
        kind = rng.choice(
            ["shot"] * 4
            + ["shot_button"] * 3
            + ["counter"] * 3
            + ["water"] * 3
            + ["backflush", "descale_button", "undo", "set_shots", "fold"]
        )
        if kind == "undo":
            if undos == RECORDS_BEFORE:
                kind = "shot"
            undos += 1
        value: Any = None
        if kind == "counter":
            value = next(counter_values)
        elif kind == "water":
            value = METER_START_L + next(meter_steps) * 0.03
        elif kind == "backflush":
            value = f"overlapping {index}"
        elif kind == "set_shots":
            value = rng.randrange(30)
        chosen.append(Operation(kind, value))
    return chosen


def source_options(counter: str, meter: str) -> dict[str, Any]:
    """Return the options that count shots from `counter` and water from `meter`."""
    return {
        CONF_SHOT_SOURCE: "counter",
        CONF_SOURCE_ENTITY: counter,
        CONF_WATER_SOURCE: meter,
    }


async def setup_machine(
    hass: HomeAssistant, entry: MockConfigEntry, prefix: str
) -> Target:
    """Set up a machine fed by its own shot counter and water meter."""
    target = Target(entry, prefix, f"sensor.{prefix}_coffees", f"sensor.{prefix}_water")
    hass.states.async_set(target.counter, str(COUNTER_START))
    hass.states.async_set(target.meter, str(METER_START_L), LITERS)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry,
        options={**entry.options, **source_options(target.counter, target.meter)},
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    for _ in range(RECORDS_BEFORE):
        await action(hass, target, "record_backflush")
    return target


@pytest.fixture
async def machines(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
    time_zone: str,
    slow_storage: SlowStorage,
) -> tuple[Target, Target]:
    """Set up the Gaggia, called concurrently, and the same machine called in turn."""
    gaggia = await setup_machine(hass, mock_config_entry, "gaggia")
    twin_entry = MockConfigEntry(
        domain=DOMAIN,
        title="Twin",
        data={**entry_data, CONF_NAME: "Twin"},
        options=entry_options,
    )
    return gaggia, await setup_machine(hass, twin_entry, "twin")


async def check_overlapping(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    slow: SlowStorage,
    gaggia: Target,
    twin: Target,
    chosen: list[Operation],
) -> None:
    """Run the operations at once on the Gaggia; check them against running them in turn.

    Raises AssertionError when a change was lost, made twice, acknowledged
    before it was on disk, or written out of order.
    """
    key = storage_key(gaggia.entry.entry_id)
    commits: list[tuple[int | None, MachineState, object]] = []

    @callback
    def committed() -> None:
        # Called by the machine as each change becomes current.
        try:
            on_disk: object = disk_state(hass, hass_storage, gaggia.entry.entry_id)
        except Exception as err:  # noqa: BLE001 - a damaged journal is a failure too
            on_disk = err
        commits.append((OPERATION.get(), gaggia.machine.state, on_disk))

    async def run(index: int, operation: Operation) -> None:
        OPERATION.set(index)
        await operation.run(hass, gaggia)

    landed_before = len(slow.landed)
    unsubscribe = gaggia.machine.async_add_listener(committed)
    results = await asyncio.gather(
        *(run(index, operation) for index, operation in enumerate(chosen)),
        return_exceptions=True,
    )
    await hass.async_block_till_done()
    await slow.async_settle(hass)
    await hass.async_block_till_done()
    unsubscribe()

    assert [r for r in results if r is not None] == []
    # Each operation took effect exactly once: no shot lost or counted twice.
    assert sorted(index for index, _, _ in commits) == list(range(len(chosen)))
    # Each change was on disk (file and journal) when it became current.
    for index, state, on_disk in commits:
        assert on_disk == state, f"{chosen[index]!r} not on disk as acknowledged"
    assert disk_state(hass, hass_storage, gaggia.entry.entry_id) == (
        gaggia.machine.state
    )
    # The journal's line numbers, and the line the file holds up to, never go back.
    line_seq = file_seq = 0
    for landed_key, what, seq in slow.landed[landed_before:]:
        if landed_key != key or seq is None:
            continue
        if what == "line":
            assert seq > max(line_seq, file_seq), f"line {seq} after {line_seq}"
            line_seq = seq
        else:
            assert seq >= max(line_seq, file_seq), f"file at {seq} after {line_seq}"
            file_seq = seq
    # The same operations in the order they took effect, one at a time, on a
    # machine like the Gaggia, pass through the same states.
    assert gaggia.machine.state != twin.machine.state
    for index, state, _ in commits:
        assert index is not None
        await chosen[index].run(hass, twin)
        await hass.async_block_till_done()
        assert twin.machine.state == state, f"{chosen[index]!r} differs in turn"
    assert twin.machine.state == gaggia.machine.state


@pytest.mark.parametrize("seed", range(4))
async def test_overlapping_calls_on_slow_storage(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    slow_storage: SlowStorage,
    machines: tuple[Target, Target],
    seed: int,
) -> None:
    """Shots, readings, records, undo and corrections at once keep every change once."""
    slow_storage.rng.seed(seed)
    chosen = operations(seed)
    before = machines[0].machine.state.total_shots
    await check_overlapping(hass, hass_storage, slow_storage, *machines, chosen)
    shots = sum(op.kind in ("shot", "shot_button") for op in chosen)
    assert machines[0].machine.state.total_shots >= before + shots
    assert slow_storage.lines(storage_key(ENTRY_ID)), "nothing was appended"


async def test_a_burst_of_shots_overlaps_a_fold(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    slow_storage: SlowStorage,
    machines: tuple[Target, Target],
) -> None:
    """Forty shots by action and button at once, a fold among them, are forty shots."""
    gaggia = machines[0]
    before = gaggia.machine.state.total_shots
    chosen = [Operation("shot" if n % 2 else "shot_button") for n in range(40)]
    chosen[20] = Operation("fold")
    await check_overlapping(hass, hass_storage, slow_storage, *machines, chosen)
    assert gaggia.machine.state.total_shots == before + 39


class NoLock:
    """A lock that lets everything through (the mutation to catch)."""

    async def __aenter__(self) -> None:
        """Enter at once."""

    async def __aexit__(self, *_exc: object) -> None:
        """Leave."""


@pytest.mark.parametrize("broken", ["no_lock", "writes_reordered", "emptied_late"])
async def test_the_checks_catch_a_broken_write_path(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    slow_storage: SlowStorage,
    machines: tuple[Target, Target],
    broken: str,
) -> None:
    """Without the machine's lock, or with writes landing out of order, the checks fail."""
    gaggia = machines[0]
    if broken == "no_lock":
        gaggia.machine._lock = NoLock()  # type: ignore[assignment]
    elif broken == "writes_reordered":
        slow_storage.reorder = True
    else:
        slow_storage.late_emptying = True
    # Shots around a correction: the correction writes the whole file and empties
    # the journal while shots are appended.
    chosen = [Operation("shot" if n % 3 else "shot_button") for n in range(20)]
    chosen[7] = Operation("set_shots", 3)
    chosen[14] = Operation("counter", COUNTER_START + 2)
    with pytest.raises(AssertionError):
        await check_overlapping(hass, hass_storage, slow_storage, *machines, chosen)


def write_file(store: Store[Any], data: dict[str, Any]) -> None:
    """Write a store's file with its own writer (the test harness keeps files in memory).

    Home Assistant 2025's writer takes the path and the data, newer ones the data.
    """
    takes_path = "path" in inspect.signature(store._write_data).parameters
    store._write_data(*([store.path] if takes_path else []), data)


def _identity(file: str | Path | int) -> tuple[int, int]:
    stat = os.fstat(file) if isinstance(file, int) else Path(file).stat()
    return stat.st_dev, stat.st_ino


def check_written_atomically(store: Store[Any], data: dict[str, Any]) -> None:
    """Write a file with the store's own writer; check it is synced, then renamed.

    The file's new content is synced to disk before it replaces the old file,
    and the directory after, so a power cut leaves the old file or the new one.
    """
    synced: list[tuple[int, int]] = []
    renamed: list[tuple[tuple[int, int], str, int]] = []
    fsync, rename, replace = os.fsync, os.rename, os.replace

    def record_fsync(fd: int) -> None:
        synced.append(_identity(fd))
        fsync(fd)

    def moved(move: Callable[..., None]) -> Callable[..., None]:
        def record(src: str, dst: str, *args: Any, **kwargs: Any) -> None:
            renamed.append((_identity(src), os.fspath(dst), len(synced)))
            move(src, dst, *args, **kwargs)

        return record

    with (
        patch("os.fsync", record_fsync),
        # The library behind Home Assistant's atomic writes keeps its own name.
        patch.object(atomicwrites, "_proper_fsync", record_fsync),
        patch("os.rename", moved(rename)),
        patch("os.replace", moved(replace)),
    ):
        write_file(store, data)
    into_place = [item for item in renamed if item[1] == store.path]
    assert len(into_place) == 1, renamed
    written, _, synced_before = into_place[0]
    assert written in synced[:synced_before], "renamed into place before it was synced"
    directory = _identity(Path(store.path).parent)
    assert directory in synced[synced_before:], "the rename itself was not synced"


@pytest.mark.parametrize("atomic", [True, False])
async def test_the_file_is_written_atomically(
    hass: HomeAssistant, hass_storage: dict[str, Any], atomic: bool
) -> None:
    """The machine's file is synced before it replaces the old one (not when turned off)."""
    store = MachineStore(hass, ENTRY_ID)
    if not atomic:
        store._atomic_writes = False  # the mutation to catch
    data = {
        "version": STORAGE_VERSION,
        "minor_version": STORAGE_MINOR_VERSION,
        "key": store.key,
        "data": {"journal_seq": 0},
    }
    await hass.async_add_executor_job(write_file, store, data)
    written = await hass.async_add_executor_job(Path(store.path).read_text)
    assert json.loads(written) == data
    if atomic:
        await hass.async_add_executor_job(check_written_atomically, store, data)
    else:
        with pytest.raises(AssertionError):
            await hass.async_add_executor_job(check_written_atomically, store, data)


@dataclass
class StateWrites:
    """The state writes of a machine's entities."""

    entity_ids: set[str]
    changed: list[Event[Any]] = field(default_factory=list)
    reported: list[Event[Any]] = field(default_factory=list)

    def unchanged_writes(self) -> list[str]:
        """Return the writes that did not change the state or its attributes."""
        unchanged = [event.data["entity_id"] for event in self.reported]
        for event in self.changed:
            old, new = event.data["old_state"], event.data["new_state"]
            if (
                old is not None
                and new is not None
                and (old.state, old.attributes) == (new.state, new.attributes)
            ):
                unchanged.append(new.entity_id)
        return unchanged


async def use_for_days(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, gaggia: Target, days: int
) -> None:
    """Use the machine for a few days: shots, readings, records and midnights."""
    counter, water_l = COUNTER_START, METER_START_L

    async def step(coro: Any) -> None:
        await coro
        await hass.async_block_till_done()
        freezer.tick(timedelta(minutes=7))

    for day in range(days):
        for shot in range(9):
            if shot % 3 == 0:
                await step(action(hass, gaggia, "record_shot"))
            elif shot % 3 == 1:
                await step(press(hass, gaggia, "record_shot"))
            else:
                counter += 1
                hass.states.async_set(gaggia.counter, str(counter))
                await step(asyncio.sleep(0))
            water_l += 0.04
            hass.states.async_set(gaggia.meter, f"{water_l:.3f}", LITERS)
            await step(asyncio.sleep(0))
            # A reading that changes nothing shown (a tenth of a mL).
            hass.states.async_set(gaggia.meter, f"{water_l + 0.0001:.4f}", LITERS)
            await step(asyncio.sleep(0))
        if day == 1:
            await step(action(hass, gaggia, "record_backflush", note="weekly"))
            await step(action(hass, gaggia, "undo_last_record"))
            await step(press(hass, gaggia, "record_backflush"))
        if day == 2:
            await step(action(hass, gaggia, "set_shots_since_backflush", shots=20))
            await step(press(hass, gaggia, "record_descale"))
        # Past the next local midnight: the day's rollover.
        now = dt_util.now()
        midnight = dt_util.start_of_local_day(now + timedelta(days=1))
        freezer.move_to(midnight + timedelta(seconds=1))
        async_fire_time_changed(hass, dt_util.utcnow())
        await hass.async_block_till_done()
        freezer.move_to(midnight + timedelta(hours=8))
        async_fire_time_changed(hass, dt_util.utcnow())
        await hass.async_block_till_done()


@pytest.mark.parametrize("writes_always", [False, True])
async def test_entities_write_only_what_changed(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    freezer: FrozenDateTimeFactory,
    writes_always: bool,
) -> None:
    """Every state write of the machine's entities changes what they show."""
    gaggia = await setup_machine(hass, mock_config_entry, "gaggia")
    entity_ids = {
        entry.entity_id
        for entry in er.async_entries_for_config_entry(entity_registry, ENTRY_ID)
    }
    writes = StateWrites(entity_ids)

    @callback
    def ours(event_data: Any) -> bool:
        return event_data["entity_id"] in entity_ids

    unsubscribe = [
        hass.bus.async_listen(EVENT_STATE_CHANGED, writes.changed.append, ours),
        hass.bus.async_listen(EVENT_STATE_REPORTED, writes.reported.append, ours),
    ]
    if writes_always:
        # The mutation to catch: every entity writes after every change.
        updated = patch.object(
            EspressoEntity,
            "_async_machine_updated",
            lambda self: self.async_write_ha_state(),
        )
    else:
        updated = contextlib.nullcontext()
    with updated:
        # Entities follow the machine from when they are added: reload them.
        await hass.config_entries.async_reload(ENTRY_ID)
        await hass.async_block_till_done()
        writes.changed.clear()
        await use_for_days(hass, freezer, gaggia, days=4)
    for remove in unsubscribe:
        remove()

    written = {event.data["entity_id"] for event in writes.changed}
    if writes_always:
        assert writes.unchanged_writes()
        return
    assert writes.unchanged_writes() == []
    # Every kind of entity was written, so each was checked.
    for expected in (
        "calendar.",
        "todo.",
        "binary_sensor.",
        "event.",
        "sensor.gaggia_scale_load",
        "sensor.gaggia_shots_since_backflush",
    ):
        assert any(entity_id.startswith(expected) for entity_id in written), expected
