"""Tests for how the machine uses the journal: when it appends, when it writes the file."""

from __future__ import annotations

from datetime import timedelta
import errno
import logging
import os
from pathlib import Path
from typing import Any
from unittest.mock import patch

import atomicwrites
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir, storage
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.espresso_maintenance import journal
from custom_components.espresso_maintenance.const import (
    CONF_BACKFLUSH_INTERVAL_SHOTS,
    CONF_TRACK_DESCALE,
    DOMAIN,
)
from custom_components.espresso_maintenance.journal import (
    MAX_JOURNAL_LINES,
    read_journal,
    use_to_line,
)
from custom_components.espresso_maintenance.model import Use
from custom_components.espresso_maintenance.store import MachineStore, storage_key

from .common import disk_state, journal_path
from .conftest import ENTRY_ID, NOW

pytestmark = pytest.mark.freeze_time(NOW)

KEY = storage_key(ENTRY_ID)
TARGET = {"entity_id": "sensor.gaggia_total_shots"}
# The real file functions, captured before the test harness mocks storage.
REAL_LOAD = storage.Store._async_load
REAL_WRITE = storage.Store._async_write_data
ISSUE = f"storage_{ENTRY_ID}"


@pytest.fixture
def entry_options(entry_options: dict[str, Any]) -> dict[str, Any]:
    """Nothing becomes due by shots here, so every shot may go to the journal."""
    return {
        **entry_options,
        CONF_BACKFLUSH_INTERVAL_SHOTS: 5000,
        CONF_TRACK_DESCALE: False,
    }


@pytest.fixture
def platforms() -> list[str]:
    """Load only the sensors, which show what the machine counted."""
    return ["sensor"]


async def call(hass: HomeAssistant, service: str, **data: Any) -> None:
    """Call one of our actions on the Gaggia and wait for it."""
    await hass.services.async_call(DOMAIN, service, {**TARGET, **data}, blocking=True)


def shown(hass: HomeAssistant, entity_id: str = "sensor.gaggia_total_shots") -> str:
    """Return what an entity shows."""
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


def journal_lines(hass: HomeAssistant) -> list[bytes]:
    """Return the journal's lines (none when there is no journal)."""
    path = journal_path(hass, ENTRY_ID)
    return path.read_bytes().splitlines() if path.exists() else []


def full(*_args: Any) -> Any:
    """Fail as a full disk does."""
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


async def test_a_shot_appends_one_line_and_leaves_the_file(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
) -> None:
    """A shot is one synced line in the journal; the file is not written."""
    file = hass_storage[KEY]
    await call(hass, "record_shot")
    await call(hass, "record_shot", count=2)
    assert hass_storage[KEY] is file
    lines = journal_lines(hass)
    assert len(lines) == 2
    replay = read_journal(b"\n".join(lines) + b"\n", file["data"]["journal_seq"])
    assert [use.shots for use in replay.uses] == [1, 2]
    assert shown(hass) == "11"
    assert (
        disk_state(hass, hass_storage, ENTRY_ID) == init_integration.runtime_data.state
    )


async def test_a_record_folds_the_journal_into_the_file(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
) -> None:
    """Anything but a shot writes the whole file, which then holds every line."""
    await call(hass, "record_shot", count=3)
    await call(hass, "record_shot")
    await call(hass, "record_backflush", note="Cafiza")
    data = hass_storage[KEY]["data"]
    assert (data["total_shots"], data["shots_since_backflush"]) == (12, 0)
    assert data["journal_seq"] == 2
    assert journal_lines(hass) == []
    # The next line follows the file's last one.
    await call(hass, "record_shot")
    replay = read_journal(journal_path(hass, ENTRY_ID).read_bytes(), 2)
    assert (replay.last_seq, [use.shots for use in replay.uses]) == (3, [1])
    assert disk_state(hass, hass_storage, ENTRY_ID).total_shots == 13


@pytest.mark.parametrize("how", ["unload", "stop"])
async def test_unload_and_stop_fold_the_journal_into_the_file(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
    how: str,
) -> None:
    """Unloading the machine or stopping Home Assistant leaves an empty journal."""
    for _ in range(3):
        await call(hass, "record_shot")
    assert len(journal_lines(hass)) == 3
    if how == "unload":
        assert await hass.config_entries.async_unload(init_integration.entry_id)
    else:
        hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
        await hass.async_block_till_done()
    data = hass_storage[KEY]["data"]
    assert (data["total_shots"], data["journal_seq"]) == (11, 3)
    assert journal_lines(hass) == []


async def test_the_nightly_rollover_folds_the_journal_into_the_file(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """At local midnight the file takes in the day's shots."""
    await call(hass, "record_shot", count=2)
    file = hass_storage[KEY]
    # 23:59 in Rome: nothing yet.
    freezer.move_to("2026-11-28T22:59:00+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass_storage[KEY] is file
    freezer.move_to("2026-11-28T23:00:01+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    data = hass_storage[KEY]["data"]
    assert (data["total_shots"], data["journal_seq"]) == (10, 1)
    assert journal_lines(hass) == []
    assert dt_util.as_local(dt_util.utcnow()).hour == 0


async def test_a_full_journal_is_folded_into_the_file(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
) -> None:
    """After MAX_JOURNAL_LINES lines the next shot writes the whole file."""
    machine = init_integration.runtime_data
    file = hass_storage[KEY]
    for _ in range(MAX_JOURNAL_LINES):
        await machine.async_record_shots()
    assert hass_storage[KEY] is file
    assert len(journal_lines(hass)) == MAX_JOURNAL_LINES == 1000
    await machine.async_record_shots()
    data = hass_storage[KEY]["data"]
    # That shot went to the file, not the journal: the file holds lines 1-1000.
    assert (data["total_shots"], data["journal_seq"]) == (8 + 1001, 1000)
    assert journal_lines(hass) == []
    await machine.async_record_shots()
    assert len(journal_lines(hass)) == 1
    assert disk_state(hass, hass_storage, ENTRY_ID).total_shots == 8 + 1002


@pytest.mark.parametrize("failing", ["write", "sync"])
async def test_a_failed_append_changes_nothing(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
    failing: str,
) -> None:
    """A full disk refuses the shot with a translated error; nothing is counted.

    The line may be on disk in part or in whole: the next change writes the
    whole file, whose journal_seq covers it, and empties the journal.
    """
    machine = init_integration.runtime_data
    await call(hass, "record_shot")
    before = machine.state
    with pytest.MonkeyPatch.context() as patches:
        if failing == "write":
            patches.setattr(os, "write", full)
        else:
            patches.setattr(journal, "_datasync", full)
        with pytest.raises(HomeAssistantError) as err:
            await call(hass, "record_shot", count=2)
    assert err.value.translation_key == "storage_write_failed"
    assert "No space left on device" in str(err.value)
    assert "Gaggia" in str(err.value)
    assert machine.state is before
    assert shown(hass) == "9"

    file = hass_storage[KEY]
    await call(hass, "record_shot")
    assert hass_storage[KEY] is not file
    data = hass_storage[KEY]["data"]
    assert (data["total_shots"], data["journal_seq"]) == (10, 2)
    assert journal_lines(hass) == []
    assert disk_state(hass, hass_storage, ENTRY_ID) == machine.state
    # Appending again.
    await call(hass, "record_shot")
    assert len(journal_lines(hass)) == 1
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    assert shown(hass) == "11"


@pytest.mark.parametrize("then", ["unload", "restart"])
async def test_a_refused_shot_never_counts_later(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
    then: str,
) -> None:
    """A shot whose line was written but not synced was refused: it stays refused.

    Here the journal's only line is the refused one; Home Assistant stops (or
    the machine is unloaded) before anything else changes.
    """
    with pytest.MonkeyPatch.context() as patches:
        patches.setattr(journal, "_datasync", full)
        with pytest.raises(HomeAssistantError):
            await call(hass, "record_shot", count=5)
    assert shown(hass) == "8"
    if then == "unload":
        assert await hass.config_entries.async_unload(init_integration.entry_id)
    else:
        hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
        await hass.async_block_till_done()
    assert disk_state(hass, hass_storage, ENTRY_ID).total_shots == 8


async def test_a_failed_file_write_keeps_the_journal(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A record that cannot be written is refused; the journal's shots stay safe.

    The same at unload: the compaction fails with a warning, the journal keeps
    its lines, and the next start reads them.
    """
    machine = init_integration.runtime_data
    await call(hass, "record_shot", count=2)
    await call(hass, "record_shot", count=3)
    before = machine.state
    content = journal_path(hass, ENTRY_ID).read_bytes()
    with pytest.MonkeyPatch.context() as patches:
        patches.setattr(storage.Store, "_async_write_data", full_write)
        with pytest.raises(HomeAssistantError) as err:
            await call(hass, "record_backflush")
        assert err.value.translation_key == "storage_write_failed"
        assert machine.state is before
        assert shown(hass, "sensor.gaggia_shots_since_backflush") == "13"
        assert journal_path(hass, ENTRY_ID).read_bytes() == content
        assert disk_state(hass, hass_storage, ENTRY_ID) == before
        # While the file cannot be written, a shot is refused (it would go to
        # the file, as the journal's end is unknown after a failed write).
        with pytest.raises(HomeAssistantError):
            await call(hass, "record_shot")
        assert shown(hass) == "13"
        assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert "Could not compact Gaggia" in caplog.text
    assert journal_path(hass, ENTRY_ID).read_bytes() == content
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    assert shown(hass) == "13"
    assert init_integration.runtime_data.state.total_shots == 13
    assert journal_lines(hass) == []


async def full_write(*_args: Any) -> None:
    """Fail a whole-file write as Store does on a full disk."""
    from homeassistant.util.file import WriteError  # noqa: PLC0415

    raise WriteError(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))


async def test_a_full_disk_on_the_real_files(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    tmp_path: Path,
) -> None:
    """ENOSPC from the real atomic write and from the journal's sync.

    Each is refused with a translated error and changes nothing; once there is
    room again, nothing acknowledged is missing after a restart.
    """
    mock_config_entry.add_to_hass(hass)
    with pytest.MonkeyPatch.context() as patches:
        patches.setattr(storage.Store, "_async_load", REAL_LOAD)
        patches.setattr(storage.Store, "_async_write_data", REAL_WRITE)
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        machine = mock_config_entry.runtime_data
        file = tmp_path / ".storage" / KEY
        await call(hass, "record_shot", count=2)
        written = file.read_bytes()
        with pytest.MonkeyPatch.context() as disk:
            disk.setattr(journal, "_datasync", full)
            with pytest.raises(HomeAssistantError) as err:
                await call(hass, "record_shot")
            assert err.value.translation_key == "storage_write_failed"
            assert "No space left on device" in str(err.value)
        with pytest.MonkeyPatch.context() as disk:
            # The atomic write syncs its temporary file before renaming it.
            disk.setattr(atomicwrites, "_proper_fsync", full)
            # A record, then a shot (which goes to the file after the failed
            # append), are refused.
            for service in ("record_backflush", "record_shot"):
                with pytest.raises(HomeAssistantError) as err:
                    await call(hass, service)
                assert err.value.translation_key == "storage_write_failed"
                assert "No space left on device" in str(err.value)
            assert file.read_bytes() == written
            # No temporary file is left behind.
            assert sorted(item.name for item in file.parent.glob(f"*{KEY}*")) == [
                KEY,
                f"{KEY}.journal",
            ]
        assert shown(hass) == "10"
        assert machine.state.history == ()
        await call(hass, "record_shot")
        await call(hass, "record_backflush", note="room again")
        await call(hass, "record_shot", count=3)
        assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        state = mock_config_entry.runtime_data.state
        assert (state.total_shots, state.shots_since_backflush) == (8 + 6, 3)
        assert [record.note for record in state.history] == ["room again"]


# Damaged and torn journals at setup.


def write_journal(hass: HomeAssistant, *lines: bytes) -> Path:
    """Put a journal beside the file, as a run that crashed left it."""
    path = journal_path(hass, ENTRY_ID)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines))
    return path


async def stopped_after_shots(
    hass: HomeAssistant, entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> dict[str, Any]:
    """Set up the machine once and stop it, leaving its file; return the file."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)
    return dict(hass_storage[KEY])


async def test_a_torn_last_line_is_left_out_with_a_warning(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A crash while a line was written: the lines before it count, it does not."""
    await stopped_after_shots(hass, mock_config_entry, hass_storage)
    write_journal(
        hass,
        use_to_line(1, Use(shots=2)),
        use_to_line(2, Use(shots=1)),
        use_to_line(3, Use(shots=4))[:9],
    )
    with caplog.at_level(logging.WARNING):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    assert shown(hass) == "11"
    assert "cut short by a crash" in caplog.text
    data = hass_storage[KEY]["data"]
    assert (data["total_shots"], data["journal_seq"]) == (11, 2)
    assert journal_lines(hass) == []
    # The next shot's line follows the last one counted.
    await call(hass, "record_shot")
    replay = read_journal(journal_path(hass, ENTRY_ID).read_bytes(), 2)
    assert (replay.last_seq, [use.shots for use in replay.uses]) == (3, [1])


DAMAGED = (
    use_to_line(1, Use(shots=2)),
    b'{"seq":2,"sh\x00\x00\n',
    use_to_line(3, Use(shots=4)),
)


async def test_a_damaged_journal_fails_setup_and_is_repaired(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    time_zone: str,
) -> None:
    """A damaged middle line refuses setup; nothing is written until the user chooses.

    The fix keeps what comes before the damage, sets the journal aside under a
    new name and loads the machine.
    """
    file = await stopped_after_shots(hass, mock_config_entry, hass_storage)
    path = write_journal(hass, *DAMAGED)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    assert issue.translation_key == "storage_journal_damaged"
    assert issue.is_fixable
    assert "line 2" in (issue.translation_placeholders or {})["error"]
    assert hass_storage[KEY] == file
    assert path.read_bytes() == b"".join(DAMAGED)
    # Still refused at the next start.
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id) is False
    assert path.read_bytes() == b"".join(DAMAGED)

    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": ISSUE}
    )
    flow = await response.json()
    assert flow["step_id"] == "confirm"
    assert flow["description_placeholders"] == {"name": "Gaggia"}
    response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}")
    assert (await response.json())["type"] == "create_entry"
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert shown(hass) == "10"
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None
    assert hass_storage[KEY]["data"]["total_shots"] == 10
    assert not path.exists() or path.read_bytes() == b""
    kept = list(path.parent.glob(f"{path.name}.damaged.*"))
    assert len(kept) == 1
    assert kept[0].read_bytes() == b"".join(DAMAGED)
    await call(hass, "record_shot")
    assert disk_state(hass, hass_storage, ENTRY_ID).total_shots == 11


async def test_a_journal_beside_a_2_x_file_is_set_aside(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    time_zone: str,
) -> None:
    """A file from before journals never takes in a journal's lines."""
    file = await stopped_after_shots(hass, mock_config_entry, hass_storage)
    data = {k: v for k, v in file["data"].items() if k != "journal_seq"}
    hass_storage[KEY] = {**file, "version": 2, "minor_version": 3, "data": data}
    path = write_journal(hass, use_to_line(1, Use(shots=50)))
    journal_when_written: list[bool] = []
    write = MachineStore._async_write_data

    async def watched_write(store: MachineStore, *args: Any) -> None:
        journal_when_written.append(path.exists())
        await write(store, *args)

    with patch.object(MachineStore, "_async_write_data", watched_write):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    # Set aside before the migrated 3.x file was first written, so a crash in
    # between never leaves that file beside the journal.
    assert journal_when_written[0] is False
    assert shown(hass) == "8"
    assert not path.exists()
    kept = list(path.parent.glob(f"{path.name}.unused.*"))
    assert [item.read_bytes() for item in kept] == [use_to_line(1, Use(shots=50))]
    assert (hass_storage[KEY]["version"], hass_storage[KEY]["minor_version"]) == (3, 1)
    assert hass_storage[KEY]["data"]["journal_seq"] == 0
    await call(hass, "record_shot")
    assert disk_state(hass, hass_storage, ENTRY_ID).total_shots == 9


async def test_nothing_is_folded_while_nothing_was_appended(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An unload or a midnight with an empty journal writes nothing."""
    file = hass_storage[KEY]
    freezer.tick(timedelta(hours=16))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert hass_storage[KEY]["data"] == file["data"]


async def test_a_journal_that_cannot_be_emptied_is_never_applied_twice(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The file holds the lines, so the record stands; shots go to the file meanwhile."""
    machine = init_integration.runtime_data
    await call(hass, "record_shot", count=2)
    with pytest.MonkeyPatch.context() as patches:
        patches.setattr(journal.JournalFile, "truncate", full)
        await call(hass, "record_backflush")
        assert "could not empty the journal" in caplog.text
        assert hass_storage[KEY]["data"]["journal_seq"] == 1
        assert len(journal_lines(hass)) == 1
        # Appending waits until the journal is emptied: this shot goes to the file.
        file = hass_storage[KEY]
        await call(hass, "record_shot")
        assert hass_storage[KEY] is not file
        assert len(journal_lines(hass)) == 1
        assert disk_state(hass, hass_storage, ENTRY_ID) == machine.state
    await call(hass, "record_shot")
    assert journal_lines(hass) == []
    await call(hass, "record_shot")
    assert len(journal_lines(hass)) == 1
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    state = init_integration.runtime_data.state
    assert (state.total_shots, state.shots_since_backflush) == (8 + 5, 3)
