"""Measure one leg: CPU per shot in a real Home Assistant process, ours beside a peer.

    python benchmarks/bench.py OUT.json [--quick]

Home Assistant runs as `python -m homeassistant` (the end-to-end tests' harness, in
tests/e2e/harness.py) with one machine added through the config flow, a peer-like
baseline beside it, and a watched and an unwatched power sensor. Calls go over
WebSocket (power readings over REST, which is how a state is set from outside), one
at a time, in blocks that take turns, so noise hits every side alike. CPU is Home
Assistant's whole process (every thread), read from its CPU clock before and after
each block. run.py runs this once per leg and writes BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
import ctypes
from dataclasses import replace
from datetime import UTC, date, datetime, time as dt_time, timedelta
import functools
import json
import os
from pathlib import Path
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from homeassistant.const import __version__ as ha_version  # noqa: E402
from homeassistant.util.file import write_utf8_file_atomic  # noqa: E402
import orjson  # noqa: E402

from custom_components.espresso_maintenance import model  # noqa: E402
from custom_components.espresso_maintenance.store import state_to_dict  # noqa: E402
from tests.e2e.harness import (  # noqa: E402
    MACHINE_STEP,
    MAINTENANCE_STEP,
    Client,
    HassProcess,
    async_start_onboarded,
)

INTERVAL_SHOTS = 14  # the harness's machine: a backflush every 14 shots
PEER = "input_number.peer_uses"
WATCHED = "sensor.bench_power_watched"
UNWATCHED = "sensor.bench_power_unwatched"
# Standby and heater readings: below the pump's threshold, so never a shot.
READINGS = (2.1, 3.4, 1012.0, 1047.5)
POWER_ATTRIBUTES = {"device_class": "power", "unit_of_measurement": "W"}
LEAN_DISABLED = (
    "sensor.lean_total_shots",
    "sensor.lean_shots_until_backflush",
    "calendar.lean_maintenance_calendar",
)

# The peer: an input_number counts uses; a listener compares it to a baseline kept
# in memory (saved only when maintenance is recorded), as the closest public
# maintenance tracker does.
PEER_CONFIG = """
input_number:
  peer_uses:
    min: 0
    max: 1000000000
    step: 1
    mode: box
bench_peer:
"""
PEER_MANIFEST = {"domain": "bench_peer", "name": "Peer", "version": "1.0.0"}
PEER_CODE = '''"""A peer-like maintenance tracker: a listener reading an input_number."""
from homeassistant.core import callback
from homeassistant.helpers.event import async_track_state_change_event

async def async_setup(hass, config):
    baseline = {"uses": 0.0}

    @callback
    def _changed(event):
        state = event.data["new_state"]
        if state is not None and state.state not in ("unknown", "unavailable"):
            hass.data["bench_peer_due"] = float(state.state) - baseline["uses"] >= 14

    async_track_state_change_event(hass, "input_number.peer_uses", _changed)
    return True
'''

_LIBC = ctypes.CDLL("libc.so.6", use_errno=True)


def cpu_clock(pid: int) -> Callable[[], int]:
    """Return a reader of a process's CPU time in ns (all its threads, live or gone)."""
    clock = ctypes.c_int()
    if _LIBC.clock_getcpuclockid(pid, ctypes.byref(clock)):
        raise OSError(ctypes.get_errno(), "clock_getcpuclockid")
    return lambda: time.clock_gettime_ns(clock.value)


class Sides:
    """The sides measured in turns, each a list of (CPU ns, wall ns, operations)."""

    def __init__(self, read_cpu: Callable[[], int]) -> None:
        """Read the process's CPU with `read_cpu`."""
        self.read_cpu = read_cpu
        self.blocks: dict[str, list[tuple[int, int, int]]] = {}

    async def block(
        self, name: str, operations: list[Callable[[], Awaitable[Any]]]
    ) -> None:
        """Run operations one after the other; keep the process's CPU they took."""
        cpu, wall = self.read_cpu(), time.perf_counter_ns()
        for operation in operations:
            await operation()
        wall, cpu = time.perf_counter_ns() - wall, self.read_cpu() - cpu
        self.blocks.setdefault(name, []).append((cpu, wall, len(operations)))

    def summary(self) -> dict[str, dict[str, float]]:
        """Per operation: the median block's CPU and wall time (µs), and the spread."""
        result = {}
        for name, blocks in self.blocks.items():
            cpu = sorted(c / n / 1000 for c, _, n in blocks)
            wall = [w / n / 1000 for _, w, n in blocks]
            result[name] = {
                "cpu_us": statistics.median(cpu),
                "cpu_q1_us": cpu[len(cpu) // 4],
                "cpu_q3_us": cpu[3 * len(cpu) // 4],
                "wall_us": statistics.median(wall),
                "blocks": len(blocks),
                "operations": sum(n for *_, n in blocks),
            }
        return result


async def start(config_dir: Path) -> tuple[HassProcess, Client]:
    """Start Home Assistant with the peer, onboard the owner."""

    def with_peer() -> HassProcess:
        hass = HassProcess(config_dir, extra_config=PEER_CONFIG)
        peer = config_dir / "custom_components" / "bench_peer"
        peer.mkdir(parents=True, exist_ok=True)
        (peer / "manifest.json").write_text(json.dumps(PEER_MANIFEST))
        (peer / "__init__.py").write_text(PEER_CODE)
        return hass

    return await async_start_onboarded(with_peer)


async def measure_shots(
    client: Client, sides: Sides, rounds: int
) -> dict[str, Counter[str]]:
    """Shots through our action and button, and the peer's increment, in turns.

    A block is one backflush cycle of 14 shots (ok, due soon, due); the backflush
    and the peer's reset between blocks are not timed. Returns the state writes
    of each side per cycle, counted in a last, untimed round.
    """
    machine = await client.async_add_machine("Bench")
    status = await client.async_status(machine)
    ws = await client.async_websocket()
    # The same machine with the entities a user may not show disabled, so a
    # shot changes one shown value (Shots since backflush), as the peer's does.
    lean = await client.async_add_machine("Lean")
    for entity_id in LEAN_DISABLED:
        await ws.async_command(
            {
                "type": "config/entity_registry/update",
                "entity_id": entity_id,
                "disabled_by": "user",
            }
        )
    await client.async_ok(
        "POST",
        "/api/services/homeassistant/reload_config_entry",
        {"entry_id": lean.entry_id},
    )
    lean_status = await client.async_status(lean)

    def call(domain: str, service: str, data: dict[str, Any]) -> Any:
        async def send() -> None:
            answer = await ws.async_call_service(domain, service, data)
            assert answer["success"], answer

        return send

    shot = {
        "action": call(
            "espresso_maintenance", "record_shot", {"device_id": status["device_id"]}
        ),
        "button": call("button", "press", {"entity_id": "button.bench_record_shot"}),
        "lean": call(
            "espresso_maintenance",
            "record_shot",
            {"device_id": lean_status["device_id"]},
        ),
        "peer": call("input_number", "increment", {"entity_id": PEER}),
    }
    reset = {
        "action": call("espresso_maintenance", "record_backflush", machine.target),
        "button": call("espresso_maintenance", "record_backflush", machine.target),
        "lean": call("espresso_maintenance", "record_backflush", lean.target),
        "peer": call("input_number", "set_value", {"entity_id": PEER, "value": 0}),
    }

    async def ping() -> None:
        await ws.async_send({"type": "ping"})

    for side, operation in shot.items():  # warm up every path once
        await sides.block(f"warm-up {side}", [operation] * INTERVAL_SHOTS)
        await reset[side]()
    for index in range(rounds):
        turn = index % len(shot)
        order = list(shot)[turn:] + list(shot)[:turn]
        for side in order:
            await sides.block(side, [shot[side]] * INTERVAL_SHOTS)
            await reset[side]()
            await asyncio.sleep(0.02)
        await sides.block("ping", [ping] * INTERVAL_SHOTS)

    events = await ws.async_subscribe("state_changed")
    writes: dict[str, Counter[str]] = {}
    for side, operation in shot.items():
        for _ in range(INTERVAL_SHOTS):
            await operation()
        await asyncio.sleep(0.2)
        writes[side] = Counter(item["data"]["entity_id"] for item in _drain(events))
        await reset[side]()
        await asyncio.sleep(0.2)
        _drain(events)
    return writes


def _drain(queue: asyncio.Queue[dict[str, Any]]) -> list[dict[str, Any]]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


async def measure_readings(client: Client, sides: Sides, rounds: int) -> None:
    """Power readings on a watched sensor and on an identical unwatched one, in turns.

    The watched one is a machine's power source; the readings stay below its
    pump threshold, so they are never a shot and write nothing.
    """

    def reading(entity_id: str, value: float) -> Callable[[], Awaitable[None]]:
        async def send() -> None:
            status, body = await client.async_request(
                "POST",
                f"/api/states/{entity_id}",
                {"state": value, "attributes": POWER_ATTRIBUTES},
            )
            assert status in (200, 201), body

        return send

    for entity_id in (WATCHED, UNWATCHED):
        await reading(entity_id, 0.0)()
    await client.async_flow(
        [
            {"name": "Power", "machine_type": "semi_automatic"},
            {**MACHINE_STEP, "shot_source": "power"},
            {"source_entity": WATCHED},
            MAINTENANCE_STEP,
        ],
        base="/api/config/config_entries/flow",
        handler="espresso_maintenance",
    )
    for index in range(rounds):
        for entity_id in (WATCHED, UNWATCHED)[:: 1 if index % 2 else -1]:
            await sides.block(
                entity_id, [reading(entity_id, value) for value in READINGS * 5]
            )


async def floors(repetitions: int) -> dict[str, dict[str, float]]:
    """Time the ways a shot could be made durable, alone in this process (µs)."""
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(dir=REPO / "benchmarks") as work:
        line = b'{"seq":123,"shots":1,"day":"2026-11-28","water_ml":100}\n'
        fd = os.open(Path(work, "journal"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)

        def append() -> None:
            os.write(fd, line)
            os.fdatasync(fd)

        results["append + fdatasync"] = _time(append, repetitions)
        loop = asyncio.get_running_loop()
        cpu, wall = time.process_time_ns(), time.perf_counter_ns()
        for _ in range(repetitions):
            await loop.run_in_executor(None, append)
        results["the same, awaited through an executor thread"] = {
            "cpu_us": (time.process_time_ns() - cpu) / repetitions / 1000,
            "wall_us": (time.perf_counter_ns() - wall) / repetitions / 1000,
        }
        os.close(fd)
        for name, state in (
            ("new machine", model.MachineState()),
            ("ten years", ten_years()),
        ):
            data = orjson.dumps(
                {
                    "version": 3,
                    "minor_version": 1,
                    "key": "k",
                    "data": state_to_dict(state),
                },
                option=orjson.OPT_INDENT_2,
            )
            path = str(Path(work, "store"))
            results[f"atomic Store write, {name} ({len(data):,} B)"] = _time(
                functools.partial(write_utf8_file_atomic, path, data, mode="wb"),
                repetitions // 4,
            )
        db = sqlite3.connect(Path(work, "db.sqlite"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE shots (seq INTEGER PRIMARY KEY, line TEXT)")
        counter = iter(range(10**9))

        def insert() -> None:
            db.execute(
                "INSERT INTO shots VALUES (?, ?)", (next(counter), "1 2026-11-28 100")
            )

        results["sqlite3 WAL insert (synchronous=FULL)"] = _time(insert, repetitions)
        db.close()
    return results


def _time(operation: Callable[[], Any], repetitions: int) -> dict[str, float]:
    operation()
    cpu, wall = time.process_time_ns(), time.perf_counter_ns()
    for _ in range(repetitions):
        operation()
    return {
        "cpu_us": (time.process_time_ns() - cpu) / repetitions / 1000,
        "wall_us": (time.perf_counter_ns() - wall) / repetitions / 1000,
    }


def ten_years() -> model.MachineState:
    """Six shots a day, a weekly backflush and a monthly descale, for ten years."""
    settings = model.Settings(
        track_backflush=True,
        track_descale=True,
        backflush_interval_shots=42,
        backflush_interval_days=7,
        descale_interval_days=30,
        shots_per_day=6,
        hardness_mg_l=142.784,
    )
    first = date(2016, 11, 28)
    state = model.apply_scale_settings(model.MachineState(), settings, first)
    for offset in range(3652):
        day = first + timedelta(days=offset)
        state = model.record_shots(state, 6, day=day, water_per_shot_ml=100)
        if offset % 7 == 6:
            state = model.record_maintenance(
                state, model.Kind.BACKFLUSH, datetime.combine(day, dt_time(20), UTC)
            )
        if day.day == 1:
            state = model.record_maintenance(
                state, model.Kind.DESCALE, datetime.combine(day, dt_time(9), UTC)
            )
    return replace(state, source_baseline=21912.0)


async def run(output: Path, *, quick: bool) -> None:
    """Measure a leg and write its results as JSON."""
    with tempfile.TemporaryDirectory(dir=REPO / "benchmarks") as work:
        hass, client = await start(Path(work) / "config")
        try:
            assert hass.process is not None
            sides = Sides(cpu_clock(hass.process.pid))
            writes = await measure_shots(client, sides, 3 if quick else 30)
            await measure_readings(client, sides, 3 if quick else 30)
            blocks = sides.summary()
        finally:
            await client.async_close()
            hass.kill()
    result = {
        "python": platform.python_version(),
        "home_assistant": ha_version,
        "blocks": blocks,
        "state_writes": {side: dict(counter) for side, counter in writes.items()},
        "floors": await floors(50 if quick else 1000),
    }
    await asyncio.to_thread(output.write_text, json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(run(Path(sys.argv[1]), quick="--quick" in sys.argv))
