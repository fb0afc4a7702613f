"""End to end: killing Home Assistant never loses an acknowledged record.

A burst of shots and maintenance records is fired concurrently over REST and
WebSocket, and the process group is killed with SIGKILL at a different moment
each time: after a given number of acknowledged calls, after a given delay, or
once everything was acknowledged. A burst mixes shots (one line appended to the
journal each) with maintenance records (the whole file written, the journal
emptied), so kills land during appends, during those writes and between them.
After each kill the storage file must be intact and the journal undamaged (a
torn last line allowed), and after the restart every acknowledged record must
be there, counted once. Killing Home Assistant while it folds the journal into
the file at shutdown loses nothing either. Damaged files written while Home
Assistant is stopped must be refused, kept and never silently replaced by a
fresh start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
import json
import os
import random
import signal
from typing import Any

import aiohttp
import pytest

from custom_components.espresso_maintenance.const import DOMAIN
from custom_components.espresso_maintenance.journal import read_journal
from custom_components.espresso_maintenance.model import Record, apply_use
from custom_components.espresso_maintenance.store import (
    state_from_dict,
    state_to_dict,
)

from .harness import (
    Client,
    HassProcess,
    Machine,
    async_restart,
    async_start_onboarded,
    exception_text,
    read_storage,
)

pytestmark = pytest.mark.e2e

# Each kill point is (how, value): kill after `value` acknowledged calls, after
# `value` milliseconds, or ("settled", 0) once every call was acknowledged.
KILL_POINTS: list[tuple[str, int]] = [
    *(("acks", count) for count in (0, 1, 2, 4, 7, 11, 16, 22, 29, 35)),
    *(("ms", delay) for delay in (0, 2, 5, 10, 20, 35, 55, 80, 120, 180)),
    ("settled", 0),
]
SHOT_CALLS = 30
RECORD_CALLS = 6


@dataclass(frozen=True)
class Call:
    """One action call of a burst."""

    action: str
    data: dict[str, Any]
    over_ws: bool

    @property
    def shots(self) -> int:
        """Return the shots this call counts."""
        return int(self.data.get("count", 0)) if self.action == "record_shot" else 0

    @property
    def note(self) -> str | None:
        """Return the unique note of a maintenance record."""
        return self.data.get("note")


def burst(point: int, machine: Machine) -> list[Call]:
    """Return the calls of one burst: shots and records, in a shuffled order."""
    rng = random.Random(point)  # noqa: S311 - a reproducible order
    calls = [
        Call(
            "record_shot",
            {**machine.target, "count": rng.randint(1, 3)},
            over_ws=index % 2 == 1,
        )
        for index in range(SHOT_CALLS)
    ]
    for index in range(RECORD_CALLS):
        kind = "backflush" if index % 2 == 0 else "descale"
        calls.append(
            Call(
                f"record_{kind}",
                {**machine.target, "note": f"kill point {point} {kind} {index}"},
                over_ws=index % 3 == 0,
            )
        )
    rng.shuffle(calls)
    return calls


@dataclass
class Outcome:
    """What the client saw of a burst."""

    acknowledged: list[Call]
    unacknowledged: list[Call]


async def fire_and_kill(
    hass: HassProcess, client: Client, calls: list[Call], how: str, value: int
) -> Outcome:
    """Fire every call concurrently and kill the process group at the kill point."""
    ws = await client.async_websocket()
    acknowledged: list[Call] = []
    unacknowledged: list[Call] = []
    killed = asyncio.Event()
    refused_alive: list[tuple[Call, Any]] = []

    def kill() -> None:
        if not killed.is_set():
            hass.kill()
            killed.set()

    async def fire(call: Call) -> None:
        try:
            if call.over_ws:
                answer: Any = await ws.async_call_service(
                    DOMAIN, call.action, call.data
                )
                ok = bool(answer["success"])
            else:
                status, answer = await client.async_service(call.action, call.data)
                ok = status == 200
        except (aiohttp.ClientError, ConnectionError, TimeoutError) as err:
            ok, answer = False, err
        if ok:
            acknowledged.append(call)
            if how == "acks" and len(acknowledged) >= value:
                kill()
            return
        unacknowledged.append(call)
        if not killed.is_set():
            refused_alive.append((call, answer))

    tasks = [asyncio.create_task(fire(call)) for call in calls]
    if how == "acks" and value == 0:
        await asyncio.sleep(0)
        kill()
    elif how == "ms":
        await asyncio.sleep(value / 1000)
        kill()
    async with asyncio.timeout(60):
        await asyncio.gather(*tasks)
    kill()
    assert not refused_alive, refused_alive
    assert len(acknowledged) + len(unacknowledged) == len(calls)
    await ws.async_close()
    client.sockets.remove(ws)
    return Outcome(acknowledged, unacknowledged)


@dataclass(frozen=True)
class OnDisk:
    """What a kill left: the state a restart must read, and the journal's shape."""

    data: dict[str, Any]
    # Lines of the journal newer than the file, and a torn last line.
    journal_uses: int
    torn: bool


def check_file(hass: HassProcess, machine: Machine) -> OnDisk:
    """Check the files left by a kill are whole; return what they hold together.

    The storage file must be whole JSON, and the journal beside it readable up
    to its last line (only that line may be torn): read_journal raises on any
    other damage. The state is the file's with the journal's newer lines.
    """
    path = hass.storage_path(machine.entry_id)
    raw = path.read_text(encoding="utf-8")
    stored = json.loads(raw)
    assert stored["key"] == f"{DOMAIN}.{machine.entry_id}"
    assert (stored["version"], stored["minor_version"]) == (3, 1)
    state = state_from_dict(stored["data"])
    assert not list(path.parent.glob(f"{path.name}.corrupt.*"))
    journal = path.with_name(f"{path.name}.journal")
    content = journal.read_bytes() if journal.exists() else b""
    replay = read_journal(content, stored["data"]["journal_seq"])
    for use in replay.uses:
        state = apply_use(state, use)
    assert not list(path.parent.glob(f"{journal.name}.*"))
    return OnDisk(state_to_dict(state), len(replay.uses), bool(replay.ignored))


def latest(history: tuple[Record, ...], kind: str) -> str | None:
    """Return the time of the latest record of a kind, as the status gives it."""
    times = [record.performed_at for record in history if record.kind.value == kind]
    return max(times).isoformat() if times else None


async def run_lane(
    hass_factory: Callable[..., HassProcess], points: list[int]
) -> list[tuple[int, str, int, int, int, int]]:
    """Run some kill points, in order, against one Home Assistant and machine."""
    hass, client = await async_start_onboarded(hass_factory)
    summary = []
    try:
        machine = await client.async_add_machine("Gaggia")
        await client.async_wait_saved([machine])
        total = 0
        notes: set[str] = set()
        for point in points:
            how, value = KILL_POINTS[point]
            calls = burst(point, machine)
            outcome = await fire_and_kill(hass, client, calls, how, value)
            on_disk = check_file(hass, machine)
            data = on_disk.data

            hass.start()
            await client.async_wait_started(onboarded=True)
            status = await client.async_status(machine)
            where = f"kill point {point} ({how} {value}): {status}"
            acked_shots = sum(call.shots for call in outcome.acknowledged)
            in_flight_shots = sum(call.shots for call in outcome.unacknowledged)
            # Every acknowledged shot counts; only calls in flight may add more.
            assert total + acked_shots <= status["total_shots"], where
            assert status["total_shots"] <= total + acked_shots + in_flight_shots, where
            assert status["total_shots"] == data["total_shots"], where
            assert status["shots_since_backflush"] == data["shots_since_backflush"], (
                where
            )

            # The start folded the journal into the file.
            stored = read_storage(hass, machine)["data"]
            assert stored["total_shots"] == data["total_shots"], where
            assert stored["journal_seq"] >= on_disk.journal_uses, where
            # Every acknowledged record is kept; nothing appears that was never sent.
            assert stored["history"] == data["history"], where
            history = state_from_dict(data).history
            kept = {record.note for record in history}
            acked_notes = {call.note for call in outcome.acknowledged if call.note}
            sent_notes = {call.note for call in calls if call.note}
            assert notes | acked_notes <= kept, where
            assert kept <= notes | sent_notes, where
            assert status["last_backflush"] == latest(history, "backflush"), where
            assert status["last_descale"] == latest(history, "descale"), where
            diagnostics = await client.async_diagnostics(machine)
            assert diagnostics["history"]["records"] == len(history), where
            assert await client.async_state("sensor.gaggia_total_shots") == str(
                status["total_shots"]
            )
            if how == "settled":
                assert not outcome.unacknowledged
                assert status["total_shots"] == total + acked_shots
            summary.append(
                (
                    point,
                    how,
                    value,
                    len(outcome.acknowledged),
                    len(calls),
                    on_disk.journal_uses,
                )
            )
            total = status["total_shots"]
            notes = kept
    finally:
        await client.async_close()
    return summary


@pytest.mark.timeout(300)
async def test_sigkill_during_a_burst_loses_nothing_acknowledged(
    hass_factory: Callable[..., HassProcess],
) -> None:
    """At every kill point the file is whole and every acknowledged call is kept.

    Two Home Assistant processes take turns in parallel lanes, so one starts while
    the other is being killed; each lane's kill points run in order on its own
    config dir.
    """
    points = list(range(len(KILL_POINTS)))
    # A task group: if one lane fails, the other is cancelled, not left running.
    async with asyncio.TaskGroup() as group:
        lanes = [
            group.create_task(run_lane(hass_factory, points[0::2])),
            group.create_task(run_lane(hass_factory, points[1::2])),
        ]
    summary = sorted(item for lane in lanes for item in lane.result())
    print(summary)  # noqa: T201 - how many calls each kill point let through
    assert len(summary) == len(KILL_POINTS) >= 20
    # The kill points really were spread over the burst. How many answers arrive
    # after the kill is sent depends on what was already on its way (the lanes
    # share one event loop), so "early" means at most half the calls answered.
    acked_counts = {acked for *_, acked, _, _ in summary}
    assert min(acked_counts) <= (SHOT_CALLS + RECORD_CALLS) // 2, summary
    assert SHOT_CALLS + RECORD_CALLS in acked_counts, summary
    assert len(acked_counts) >= 6, summary
    # Some kills left shots in the journal only (after appends, between the
    # whole file writes of the records), so the restart had lines to apply.
    assert any(uses for *_, uses in summary), summary


# Milliseconds between asking Home Assistant to stop (it then folds the
# journal into the file) and killing it.
STOP_KILL_DELAYS_MS = (0, 1, 3, 6, 10, 20, 40, 80, 200)


@pytest.mark.timeout(300)
async def test_sigkill_while_stopping_loses_nothing(
    hass_factory: Callable[..., HassProcess],
) -> None:
    """A kill during the compaction at shutdown keeps every shot, counted once.

    Each round appends acknowledged shots to the journal, sends SIGTERM (Home
    Assistant writes the whole file, then empties the journal) and kills the
    process group after a delay: before, during or after that write.
    """
    hass, client = await async_start_onboarded(hass_factory)
    try:
        machine = await client.async_add_machine("Gaggia")
        await client.async_wait_saved([machine])
        total = (await client.async_status(machine))["total_shots"]
        folded = 0
        for delay in STOP_KILL_DELAYS_MS:
            for count in (1, 2, 3, 1):
                status, _ = await client.async_service(
                    "record_shot", {**machine.target, "count": count}
                )
                assert status == 200
                total += count
            for ws in client.sockets:
                await ws.async_close()
            client.sockets.clear()
            assert hass.process is not None
            os.killpg(hass.process.pid, signal.SIGTERM)
            await asyncio.sleep(delay / 1000)
            hass.kill()
            on_disk = check_file(hass, machine)
            where = f"killed {delay} ms after SIGTERM: {on_disk.journal_uses} lines"
            assert on_disk.data["total_shots"] == total, where
            folded += on_disk.journal_uses == 0

            hass.start()
            await client.async_wait_started(onboarded=True)
            status_now = await client.async_status(machine)
            assert status_now["total_shots"] == total, where
            assert read_storage(hass, machine)["data"]["total_shots"] == total, where
        # The kills came both before and after the journal was folded in.
        assert 0 < folded < len(STOP_KILL_DELAYS_MS), folded
    finally:
        await client.async_close()


# What is written over a machine's file while Home Assistant is stopped.
DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "Gaggia": lambda _content: b"\x00\x17garbage, not JSON {",
    "Lelit": lambda content: content[: len(content) // 2],
    "Rancilio": lambda _content: b"",
}


@pytest.mark.timeout(240)
async def test_damaged_storage_is_refused_kept_and_never_reset(
    hass_factory: Callable[..., HassProcess],
) -> None:
    """A garbage, truncated or empty file fails setup with a repair, and stays refused."""
    hass, client = await async_start_onboarded(hass_factory)
    try:
        machines = {
            name: await client.async_add_machine(name)
            for name in (*DAMAGE, "Rocket", "Bezzera")
        }
        await client.async_wait_saved(machines.values())
        for machine in machines.values():
            assert (
                await client.async_service(
                    "record_shot", {**machine.target, "count": 5}
                )
            )[0] == 200
            assert (
                await client.async_service(
                    "record_backflush", {**machine.target, "note": "Cafiza"}
                )
            )[0] == 200
            assert (
                await client.async_service(
                    "record_shot", {**machine.target, "count": 2}
                )
            )[0] == 200
        healthy = machines["Rocket"]
        healthy_status = await client.async_status(healthy)
        assert healthy_status["total_shots"] == 7

        await hass.async_stop()
        written: dict[str, bytes] = {}
        for name, damage in DAMAGE.items():
            path = hass.storage_path(machines[name].entry_id)
            written[name] = damage(path.read_bytes())
            path.write_bytes(written[name])
        # Valid JSON of the wrong shape is refused too, and left where it is.
        unexpected = hass.storage_path(machines["Bezzera"].entry_id)
        unexpected_content = json.dumps(
            {"version": 1, "minor_version": 2, "key": "x", "data": {"shots": "many"}}
        )
        unexpected.write_text(unexpected_content, encoding="utf-8")

        hass.start()
        await client.async_wait_started(onboarded=True)
        await check_refused(hass, client, machines, written, "storage_corrupt")
        assert unexpected.read_text(encoding="utf-8") == unexpected_content
        assert await client.async_status(healthy) == healthy_status

        # Another restart: the damaged files are gone, and still nothing starts over.
        await async_restart(hass, client)
        await check_refused(hass, client, machines, written, "storage_missing")
        assert unexpected.read_text(encoding="utf-8") == unexpected_content
        assert await client.async_status(healthy) == healthy_status
    finally:
        await client.async_close()


async def check_refused(
    hass: HassProcess,
    client: Client,
    machines: dict[str, Machine],
    written: dict[str, bytes],
    reason: str,
) -> None:
    """Check each damaged machine failed setup with a repair, and its file is kept."""
    entries = await client.async_entries()
    ws = await client.async_websocket()
    issues = {
        issue["issue_id"]: issue
        for issue in (await ws.async_command({"type": "repairs/list_issues"}))["issues"]
        if issue["domain"] == DOMAIN
    }
    expected = {**dict.fromkeys(written, reason), "Bezzera": "storage_invalid"}
    for name, key in expected.items():
        machine = machines[name]
        entry = entries[machine.entry_id]
        assert entry["state"] == "setup_error", entry
        assert entry["error_reason_translation_key"] == key, entry
        placeholders = entry["error_reason_translation_placeholders"]
        assert placeholders["name"] == name
        # The reason is the translated English text (Home Assistant drops the
        # final full stop).
        assert entry["reason"] == exception_text(key, **placeholders).rstrip("."), entry
        issue = issues[f"storage_{machine.entry_id}"]
        assert issue["translation_key"] == key, issue
        assert issue["severity"] == "error"
        assert issue["is_fixable"] is True
        assert issue["translation_placeholders"]["name"] == name

        # Not loaded, so refused with a translated message, not counted from zero.
        answer = await ws.async_call_service(DOMAIN, "record_shot", machine.target)
        assert not answer["success"]
        assert answer["error"]["translation_key"] == "machine_not_loaded"
        assert (
            exception_text("machine_not_loaded", name=name).rstrip(".")
            in (answer["error"]["message"])
        )

    for name, content in written.items():
        path = hass.storage_path(machines[name].entry_id)
        assert not path.exists(), f"{name} was started over"
        kept = list(path.parent.glob(f"{path.name}.corrupt.*"))
        assert len(kept) == 1, kept
        assert kept[0].read_bytes() == content
    await ws.async_close()
    client.sockets.remove(ws)
