"""A crash at every point of the write path, simulated in process.

The storage file and the journal are real files. While a sequence of shots,
meter readings, maintenance records and compactions runs, the files are copied
at each step of the write path: before an append, with the line torn, with the
whole line written but its sync not returned, before and after the whole file
is written, and once the journal is emptied. A fresh machine is then started
from each copy: every acknowledged change is there, the change in flight is
there or not as its step allows, and nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import storage
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.espresso_maintenance import journal
from custom_components.espresso_maintenance.const import CONF_STORAGE_CREATED, DOMAIN
from custom_components.espresso_maintenance.machine import Machine
from custom_components.espresso_maintenance.model import Kind, MachineState
from custom_components.espresso_maintenance.store import MachineStore, storage_key

from .conftest import NOW

pytestmark = pytest.mark.freeze_time(NOW)

# The real file functions, captured before the test harness mocks storage.
REAL_LOAD = storage.Store._async_load
REAL_WRITE = storage.Store._async_write_data


@pytest.fixture
def platforms() -> list[str]:
    """Only the sensors: each copy starts a machine."""
    return ["sensor"]


@pytest.fixture
def real_files(hass: HomeAssistant, tmp_path: Path) -> Path:
    """Write the storage files to the config dir, as Home Assistant does."""
    with pytest.MonkeyPatch.context() as patches:
        patches.setattr(storage.Store, "_async_load", REAL_LOAD)
        patches.setattr(storage.Store, "_async_write_data", REAL_WRITE)
        yield tmp_path / ".storage"


def counted(state: MachineState) -> dict[str, Any]:
    """Return what the machine counted and recorded (not what start-up notes)."""
    return {
        "total_shots": state.total_shots,
        "shots_since_backflush": state.shots_since_backflush,
        "last_backflush": state.last_backflush,
        "last_descale": state.last_descale,
        "history": state.history,
        "water_log": state.water_log,
        "source_baseline": state.source_baseline,
        "water_baseline": state.water_baseline,
    }


@dataclass(frozen=True)
class Snapshot:
    """The files on disk at one step, and what a restart must then read."""

    step: str
    operation: str
    file: bytes | None
    journal: bytes
    expected: dict[str, Any]


# Whether the change in flight is on disk at each step: a torn line or an
# unwritten file never counts; a whole line or a written file does (its call
# may not have returned yet, which is the one change allowed beyond the
# acknowledged ones).
IN_FLIGHT_COUNTS = {
    "before append": False,
    "torn line": False,
    "line not synced": True,
    "before file write": False,
    "file written, journal not emptied": True,
    "journal emptied": True,
}


class Recorder:
    """Copy the files at each step of the write path while an operation runs."""

    def __init__(self, storage_dir: Path, key: str) -> None:
        """Name the files."""
        self.file = storage_dir / key
        self.journal = storage_dir / f"{key}.journal"
        self.snapshots: list[Snapshot] = []
        self.operation: str | None = None
        self.before: dict[str, Any] = {}
        self.after: dict[str, Any] = {}

    def snap(self, step: str, journal_content: bytes | None = None) -> None:
        """Copy the files as they are now (or with the given journal)."""
        if self.operation is None:
            return
        if journal_content is None:
            journal_content = (
                self.journal.read_bytes() if self.journal.exists() else b""
            )
        self.snapshots.append(
            Snapshot(
                step,
                self.operation,
                self.file.read_bytes() if self.file.exists() else None,
                journal_content,
                # Filled in once the operation returned.
                {},
            )
        )

    async def run(self, name: str, operation: Awaitable[Any], machine: Machine) -> None:
        """Run one operation, then note what each of its copies must hold."""
        before = counted(machine.state)
        first = len(self.snapshots)
        self.operation = name
        try:
            await operation
        finally:
            self.operation = None
        after = counted(machine.state)
        for index in range(first, len(self.snapshots)):
            snapshot = self.snapshots[index]
            expected = after if IN_FLIGHT_COUNTS[snapshot.step] else before
            self.snapshots[index] = Snapshot(
                snapshot.step,
                snapshot.operation,
                snapshot.file,
                snapshot.journal,
                expected,
            )


def record_steps(patches: pytest.MonkeyPatch, recorder: Recorder) -> None:
    """Copy the files around each step of the journal and of the whole file write."""
    real_append = journal.JournalFile.append
    real_truncate = journal.JournalFile.truncate
    real_write = MachineStore._async_write_data

    def append(self: journal.JournalFile, line: bytes) -> None:
        content = self.read()
        recorder.snap("before append", content)
        recorder.snap("torn line", content + line[: len(line) // 2])
        recorder.snap("line not synced", content + line)
        real_append(self, line)

    def truncate(self: journal.JournalFile) -> None:
        real_truncate(self)
        recorder.snap("journal emptied")

    async def write(self: MachineStore, *args: Any) -> None:
        recorder.snap("before file write")
        await real_write(self, *args)
        recorder.snap("file written, journal not emptied")

    patches.setattr(journal.JournalFile, "append", append)
    patches.setattr(journal.JournalFile, "truncate", truncate)
    patches.setattr(MachineStore, "_async_write_data", write)


def operations(machine: Machine) -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
    """Return a day's worth of changes: shots, readings, records, compactions."""
    return [
        ("shot", machine.async_record_shots),
        ("two shots", lambda: machine.async_record_shots(2)),
        ("first counter reading", lambda: machine.async_apply_counter_reading(100)),
        ("counter reading", lambda: machine.async_apply_counter_reading(103)),
        ("first water reading", lambda: machine.async_apply_water_reading(5000)),
        ("water reading", lambda: machine.async_apply_water_reading(5120)),
        ("shot", machine.async_record_shots),
        (
            "backflush",
            lambda: machine.async_record_maintenance(Kind.BACKFLUSH, note="Cafiza"),
        ),
        ("three shots", lambda: machine.async_record_shots(3)),
        ("nightly compaction", lambda: machine.async_refresh(compact=True)),
        ("shot", machine.async_record_shots),
        ("counter reading", lambda: machine.async_apply_counter_reading(104)),
        (
            "descale",
            lambda: machine.async_record_maintenance(Kind.DESCALE, note="citric"),
        ),
        ("correction", lambda: machine.async_set_shots_since_backflush(2)),
        ("shot", machine.async_record_shots),
        ("two shots", lambda: machine.async_record_shots(2)),
        ("unload", machine.async_stop),
    ]


async def start_from(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    storage_dir: Path,
    index: int,
    snapshot: Snapshot,
) -> MockConfigEntry:
    """Start a machine of its own from a copy of the files."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Gaggia copy",
        data={
            **mock_config_entry.data,
            CONF_NAME: "Gaggia copy",
            CONF_STORAGE_CREATED: True,
        },
        options=mock_config_entry.options,
        entry_id=f"copy{index:03d}",
    )
    key = storage_key(entry.entry_id)
    if snapshot.file is not None:
        (storage_dir / key).write_bytes(snapshot.file)
    (storage_dir / f"{key}.journal").write_bytes(snapshot.journal)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id), snapshot
    await hass.async_block_till_done()
    return entry


async def test_a_crash_at_any_step_loses_nothing_and_counts_nothing_twice(
    hass: HomeAssistant,
    real_files: Path,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    platforms: list[str],
) -> None:
    """Every copy restarts with each acknowledged change exactly once."""
    mock_config_entry.add_to_hass(hass)
    with pytest.MonkeyPatch.context() as patches:
        patches.setattr("custom_components.espresso_maintenance.PLATFORMS", platforms)
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        machine = mock_config_entry.runtime_data
        recorder = Recorder(real_files, storage_key(mock_config_entry.entry_id))
        with pytest.MonkeyPatch.context() as steps:
            record_steps(steps, recorder)
            for name, operation in operations(machine):
                await recorder.run(name, operation(), machine)
        assert await hass.config_entries.async_unload(mock_config_entry.entry_id)

        snapshots = recorder.snapshots
        # Every step of the write path was reached, appends and whole writes alike.
        assert {snapshot.step for snapshot in snapshots} == set(IN_FLIGHT_COUNTS)
        assert machine.state.total_shots == 8 + 15
        for index, snapshot in enumerate(snapshots):
            where = f"{snapshot.operation}, {snapshot.step}"
            entry = await start_from(
                hass, mock_config_entry, real_files, index, snapshot
            )
            assert entry.state is ConfigEntryState.LOADED, where
            assert counted(entry.runtime_data.state) == snapshot.expected, where
            # The load folded the journal into the file: a second restart
            # (after an unload, or a crash right away) reads the same.
            key = storage_key(entry.entry_id)
            assert (real_files / f"{key}.journal").read_bytes() == b"", where
            assert await hass.config_entries.async_unload(entry.entry_id)
            assert await hass.config_entries.async_reload(entry.entry_id)
            assert counted(entry.runtime_data.state) == snapshot.expected, where
            # One copy at a time, so each starts as quickly as the first.
            await hass.config_entries.async_remove(entry.entry_id)
