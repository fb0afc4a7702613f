"""Tests for setting up, reloading and removing a machine, and its storage."""

from __future__ import annotations

from datetime import (
    UTC,
    datetime,
    timedelta,
)
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir, storage
from homeassistant.setup import async_setup_component
from homeassistant.util import (
    dt as dt_util,
)
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.espresso_maintenance import store as store_module
from custom_components.espresso_maintenance.const import (
    CONF_LAST_BACKFLUSH,
    CONF_STORAGE_CREATED,
    DOMAIN,
    STORAGE_MINOR_VERSION,
    STORAGE_VERSION,
)
from custom_components.espresso_maintenance.model import Kind
from custom_components.espresso_maintenance.store import storage_key

from .common import journal_path, on_disk
from .conftest import ENTRY_ID, NOW

pytestmark = pytest.mark.freeze_time(NOW)

KEY = storage_key(ENTRY_ID)
# The real file functions, captured before the test harness mocks storage.
REAL_LOAD = storage.Store._async_load
REAL_WRITE = storage.Store._async_write_data


def stored(state: dict[str, Any]) -> dict[str, Any]:
    """Wrap a machine state the way Store writes it."""
    return {
        "version": STORAGE_VERSION,
        "minor_version": STORAGE_MINOR_VERSION,
        "key": KEY,
        "data": state,
    }


def empty_state(**changes: Any) -> dict[str, Any]:
    """Return a stored machine state with zero counters."""
    return {
        "shots_since_backflush": 0,
        "total_shots": 0,
        "last_backflush": None,
        "last_descale": None,
        "backflush_due_notified": False,
        "descale_due_notified": False,
        "history": [],
        "undo": [],
        "source_baseline": None,
        "record_sources": {},
        "backflush_source_reading": None,
        "descale_source_reading": None,
        "water_log": [],
        "counting_since": None,
        "scale_bases": [],
        "water_baseline": None,
        "journal_seq": 0,
    } | changes


async def test_setup_and_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A machine loads, gets one device, and unloads."""
    assert init_integration.state is ConfigEntryState.LOADED
    device = dr.async_get(hass).async_get(init_integration.runtime_data.device_id)
    assert device is not None
    assert device.identifiers == {(DOMAIN, ENTRY_ID)}
    assert device.name == "Gaggia"
    assert device.model == "Semi-automatic espresso machine"

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert init_integration.state is ConfigEntryState.NOT_LOADED


async def test_first_setup_writes_the_starting_point(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
) -> None:
    """The starting point from the flow is written once; a date stands for its local noon."""
    data = hass_storage[KEY]["data"]
    assert data["shots_since_backflush"] == 8
    assert data["total_shots"] == 8
    # Noon of 2026-11-24 in Rome is 11:00 UTC (10:00 in summer time).
    assert data["last_backflush"] == "2026-11-24T11:00:00+00:00"
    assert data["last_descale"] == "2026-10-10T10:00:00+00:00"
    assert init_integration.data[CONF_STORAGE_CREATED] is True


@pytest.mark.parametrize(
    ("now", "stored"),
    [
        # Today's date, entered in the morning, is now, not noon to come.
        ("2026-11-28T08:30:00+00:00", "2026-11-28T08:30:00+00:00"),
        ("2026-11-28T15:00:00+00:00", "2026-11-28T11:00:00+00:00"),
    ],
)
async def test_todays_date_is_never_in_the_future(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    freezer: FrozenDateTimeFactory,
    now: str,
    stored: str,
) -> None:
    """A setup date of today counts from noon, or from now while it is still morning."""
    freezer.move_to(now)
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**mock_config_entry.data, CONF_LAST_BACKFLUSH: "2026-11-28"},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert hass_storage[KEY]["data"]["last_backflush"] == stored
    assert hass.states.get("sensor.gaggia_days_since_backflush").state == "0"


async def test_state_survives_reload(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
) -> None:
    """Counters, dates and history come back from disk after a reload."""
    await hass.services.async_call(
        DOMAIN,
        "record_shot",
        {"entity_id": "button.gaggia_record_shot", "count": 3},
        blocking=True,
    )
    await hass.services.async_call(
        DOMAIN,
        "record_descale",
        {"entity_id": "button.gaggia_record_shot", "note": "Citric acid"},
        blocking=True,
    )
    before = hass_storage[KEY]["data"]
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()

    assert hass_storage[KEY]["data"] == before
    assert hass.states.get("sensor.gaggia_total_shots").state == "11"
    assert hass.states.get("sensor.gaggia_days_since_descale").state == "0"
    machine = init_integration.runtime_data
    assert [r.note for r in machine.state.history] == ["Citric acid"]


async def test_remove_entry_deletes_storage(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
) -> None:
    """Removing the machine deletes its file."""
    assert KEY in hass_storage
    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert KEY not in hass_storage


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (stored({"shots_since_backflush": -1}), "storage_invalid"),
        (stored(empty_state(total_shots="many")), "storage_invalid"),
        (stored(empty_state(last_backflush="2026-11-01T10:00:00")), "storage_invalid"),
        (stored(empty_state(history=[{"kind": "polish"}])), "storage_invalid"),
    ],
)
async def test_unusable_storage_fails_setup(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    content: dict[str, Any],
    reason: str,
) -> None:
    """A file that does not fit fails setup, raises a repair and is not overwritten."""
    hass_storage[KEY] = content
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert mock_config_entry.reason is not None
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"storage_{ENTRY_ID}")
    assert issue is not None
    assert issue.translation_key == reason
    assert issue.is_fixable
    assert hass_storage[KEY] == content


async def test_missing_storage_of_known_machine_fails_setup(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    time_zone: str,
) -> None:
    """A machine whose file existed never silently starts from zero."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_STORAGE_CREATED: True}
    )
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"storage_{ENTRY_ID}")
    assert issue is not None
    assert issue.translation_key == "storage_missing"
    assert KEY not in hass_storage


async def _start_over(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> dict[str, Any]:
    """Run the storage issue's fix flow through the repairs API."""
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix",
        json={"handler": DOMAIN, "issue_id": f"storage_{ENTRY_ID}"},
    )
    assert response.status == 200
    flow = await response.json()
    assert flow["step_id"] == "confirm"
    assert flow["description_placeholders"] == {"name": "Gaggia"}
    response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}")
    assert response.status == 200
    result: dict[str, Any] = await response.json()
    await hass.async_block_till_done()
    return result


async def test_start_over_from_the_repair(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    time_zone: str,
) -> None:
    """The fix flow starts the machine over, only when asked."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_STORAGE_CREATED: True}
    )
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)

    result = await _start_over(hass, hass_client)
    assert result["type"] == "create_entry"
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.gaggia_total_shots").state == "0"
    assert hass.states.get("sensor.gaggia_last_backflush").state == "unknown"
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"storage_{ENTRY_ID}") is None


async def test_fix_flow_of_a_removed_machine_aborts(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
) -> None:
    """A storage issue left behind by a removed machine cannot start anything."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_STORAGE_CREATED: True}
    )
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix",
        json={"handler": DOMAIN, "issue_id": f"storage_{ENTRY_ID}"},
    )
    flow = await response.json()
    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}")
    result = await response.json()
    assert result["type"] == "abort"
    assert result["reason"] == "machine_removed"


async def test_corrupt_file_is_kept_and_never_reset(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    tmp_path: Path,
) -> None:
    """A truncated file on a real disk fails setup and is kept, renamed, for the user."""
    hass.config.config_dir = str(tmp_path)
    storage_dir = tmp_path / ".storage"
    storage_dir.mkdir()
    path = storage_dir / KEY
    path.write_text('{"version": 1, "minor_version": 1, "key": "x", "data": {"shots')
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_STORAGE_CREATED: True}
    )

    with (
        pytest.MonkeyPatch.context() as patches,
    ):
        patches.setattr(storage.Store, "_async_load", REAL_LOAD)
        patches.setattr(storage.Store, "_async_write_data", REAL_WRITE)
        assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
        issue = ir.async_get(hass).async_get_issue(DOMAIN, f"storage_{ENTRY_ID}")
        assert issue is not None
        assert issue.translation_key == "storage_corrupt"
        assert not path.exists()
        kept = list(storage_dir.glob(f"{KEY}.corrupt.*"))
        assert len(kept) == 1
        assert kept[0].read_text().endswith('"shots')

        # Still refused after a restart: the file is gone, not forgotten.
        await hass.config_entries.async_reload(mock_config_entry.entry_id)
        assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
        issue = ir.async_get(hass).async_get_issue(DOMAIN, f"storage_{ENTRY_ID}")
        assert issue is not None
        assert issue.translation_key == "storage_missing"

        await _start_over(hass, hass_client)
        assert mock_config_entry.state is ConfigEntryState.LOADED
        assert path.exists()
        assert len(list(storage_dir.glob(f"{KEY}.corrupt.*"))) == 1


async def test_start_over_sets_an_invalid_file_aside(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    tmp_path: Path,
) -> None:
    """A readable file with unexpected content is renamed, not overwritten."""
    hass.config.config_dir = str(tmp_path)
    storage_dir = tmp_path / ".storage"
    storage_dir.mkdir()
    path = storage_dir / KEY
    path.write_text('{"version": 1, "minor_version": 1, "key": "x", "data": {"a": 1}}')
    mock_config_entry.add_to_hass(hass)
    with pytest.MonkeyPatch.context() as patches:
        patches.setattr(storage.Store, "_async_load", REAL_LOAD)
        patches.setattr(storage.Store, "_async_write_data", REAL_WRITE)
        assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
        assert path.exists()
        await _start_over(hass, hass_client)
        assert mock_config_entry.state is ConfigEntryState.LOADED
        kept = list(storage_dir.glob(f"{KEY}.invalid.*"))
        assert len(kept) == 1
        assert '"a": 1' in kept[0].read_text()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            '{"version": 4, "minor_version": 1, "key": "k", "data": {}}',
            "storage_newer_version",
        ),
        ('{"minor_version": 1, "key": "k", "data": {}}', "storage_unreadable"),
    ],
)
async def test_file_from_a_newer_version_is_refused(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    tmp_path: Path,
    content: str,
    reason: str,
) -> None:
    """A file a newer release wrote is left alone, not misread or overwritten."""
    hass.config.config_dir = str(tmp_path)
    (tmp_path / ".storage").mkdir()
    path = tmp_path / ".storage" / KEY
    path.write_text(content)
    mock_config_entry.add_to_hass(hass)
    with pytest.MonkeyPatch.context() as patches:
        patches.setattr(storage.Store, "_async_load", REAL_LOAD)
        patches.setattr(storage.Store, "_async_write_data", REAL_WRITE)
        assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"storage_{ENTRY_ID}")
    assert issue is not None
    assert issue.translation_key == reason
    assert path.read_text() == content


async def test_migration_from_1_1(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    time_zone: str,
) -> None:
    """A file from before shot sources loads, and is written back as 2.3."""
    record = {
        "kind": "backflush",
        "at": "2026-11-24T08:00:00+00:00",
        "shots": 9,
        "total": 34,
    }
    state = empty_state(total_shots=42, history=[record])
    for added_since in (
        "journal_seq",
        "source_baseline",
        "water_log",
        "counting_since",
        "scale_bases",
        "water_baseline",
        "record_sources",
        "backflush_source_reading",
        "descale_source_reading",
    ):
        del state[added_since]
    hass_storage[KEY] = {**stored(state), "version": 1, "minor_version": 1}
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.gaggia_total_shots").state == "42"
    await hass.services.async_call(
        DOMAIN, "record_shot", {"entity_id": "sensor.gaggia_total_shots"}, blocking=True
    )
    written = hass_storage[KEY]
    assert (written["version"], written["minor_version"]) == (3, 1)
    assert (STORAGE_VERSION, STORAGE_MINOR_VERSION) == (3, 1)
    # The shot is in the journal; the file holds the rest.
    assert written["data"]["total_shots"] == 42
    assert written["data"]["journal_seq"] == 0
    data = on_disk(hass, hass_storage, ENTRY_ID)
    assert data["source_baseline"] is None
    assert data["record_sources"] == {}
    assert data["history"] == ["backflush 2026-11-24T08:00:00+00:00 9 34 -"]
    assert data["total_shots"] == 43
    # The 8 shots since the backflush, 800 mL over the 96.5 hours since (15,
    # 24, 24, 24 and 9.5 hours of Rome days), then the new shot's 100 mL; the
    # water is weighed at the options' hardness (8 °dH).
    assert data["counting_since"] == "2026-11-24"
    assert data["water_log"] == ["2026-11" + " 0" * 23 + " 124 199 199 199 179"]
    assert data["scale_bases"] == ["2026-11-28 142.784 200.0 142.784 60"]
    assert data["water_baseline"] is None


def history_of_use(shots_per_day: int, days: int) -> tuple[list[str], int]:
    """Return 2.1 records of a machine descaled `days` ago and backflushed weekly.

    The shots are pulled at `shots_per_day`; the records keep the running total.
    """
    records = []
    total = 0
    descaled = datetime(2026, 11, 28, 8, 30, tzinfo=UTC) - timedelta(days=days)
    records.append(f"descale {descaled.isoformat()} 0 {total} -")
    for week in range(1, days // 7 + 1):
        total = shots_per_day * 7 * week
        moment = descaled + timedelta(days=7 * week)
        records.append(f"backflush {moment.isoformat()} 0 {total} -")
    return records, shots_per_day * days


@pytest.mark.parametrize(
    ("shots_per_day", "next_descale"),
    [
        # Used as typed (2 a day): the date the interval gave before.
        (2, "2026-12-18"),
        # Twice the typed use: the 40 days so far count 80, past the 60 days
        # of typical use, and the minimum (30) has passed: due now.
        (4, "2026-11-18"),
        # No shot counted: the days count as typical use, as before.
        (0, "2026-12-18"),
    ],
)
async def test_upgrade_keeps_the_next_descale(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    shots_per_day: int,
    next_descale: str,
) -> None:
    """An upgraded machine used as typed keeps its date; one used more moves it forward."""
    history, total = history_of_use(shots_per_day, 40)
    state = empty_state(
        total_shots=total,
        last_descale=history[0].split(" ")[1],
        history=history,
    )
    for key in (
        "journal_seq",
        "water_log",
        "counting_since",
        "scale_bases",
        "water_baseline",
        "record_sources",
        "backflush_source_reading",
        "descale_source_reading",
    ):
        del state[key]
    hass_storage[KEY] = {**stored(state), "version": 2, "minor_version": 1}
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    status = mock_config_entry.runtime_data.status
    assert status.next_descale is not None
    assert dt_util.as_local(status.next_descale).date().isoformat() == next_descale
    assert (hass_storage[KEY]["version"], hass_storage[KEY]["minor_version"]) == (3, 1)


async def stop_after_use(
    hass: HomeAssistant, hass_storage: dict[str, Any], entry: MockConfigEntry
) -> dict[str, Any]:
    """Count shots and a backflush, then stop; return the file as it is left."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    machine = entry.runtime_data
    await machine.async_record_shots(3)
    await machine.async_record_maintenance(Kind.BACKFLUSH, note="Cafiza")
    await machine.async_record_shots(2)
    assert await hass.config_entries.async_unload(entry.entry_id)
    return hass_storage[KEY]


@pytest.mark.parametrize("minor_version", [1, 2, 3])
async def test_a_2_x_file_is_written_as_3_1_before_any_shot(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    minor_version: int,
) -> None:
    """An upgraded file is written as 3.1 at once, with nothing lost.

    A shot goes to the journal; a file still in 2.x beside it would, after a
    crash, be read as one from before journals, and the shot set aside.
    """
    file = await stop_after_use(hass, hass_storage, mock_config_entry)
    data = {key: value for key, value in file["data"].items() if key != "journal_seq"}
    if minor_version < 3:
        for key in ("record_sources", "backflush_source_reading"):
            data.pop(key)
        data.pop("descale_source_reading")
    if minor_version < 2:
        for key in ("water_log", "counting_since", "scale_bases", "water_baseline"):
            data.pop(key)
    hass_storage[KEY] = {**file, "version": 2, "minor_version": minor_version}
    hass_storage[KEY]["data"] = data
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    written = hass_storage[KEY]
    assert (written["version"], written["minor_version"]) == (3, 1)
    assert written["data"]["journal_seq"] == 0
    machine = mock_config_entry.runtime_data
    assert (machine.state.total_shots, machine.state.shots_since_backflush) == (13, 2)
    assert [record.note for record in machine.state.history] == ["Cafiza"]

    # A shot, then a crash: the next start reads it.
    await machine.async_record_shots()
    crashed = (hass_storage[KEY], journal_path(hass, ENTRY_ID).read_bytes())
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    hass_storage[KEY] = crashed[0]
    journal_path(hass, ENTRY_ID).write_bytes(crashed[1])
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.runtime_data.state.total_shots == 14


async def test_a_3_1_file_is_refused_by_the_previous_release(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    time_zone: str,
    tmp_path: Path,
) -> None:
    """Going back a release fails loudly, and leaves the file and journal alone.

    The previous release wrote 2.3 and refused a newer major version in its
    migration, as this one does; it is played by this release's store with its
    version numbers.
    """
    mock_config_entry.add_to_hass(hass)
    path = tmp_path / ".storage" / KEY
    with pytest.MonkeyPatch.context() as patches:
        patches.setattr(storage.Store, "_async_load", REAL_LOAD)
        patches.setattr(storage.Store, "_async_write_data", REAL_WRITE)
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        machine = mock_config_entry.runtime_data
        await machine.async_record_maintenance(Kind.BACKFLUSH, note="Cafiza")
        await machine.async_record_shots(4)
        # Killed: the shots are in the journal only.
        content = path.read_bytes()
        journal = journal_path(hass, ENTRY_ID).read_bytes()
        assert journal
        assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
        path.write_bytes(content)
        journal_path(hass, ENTRY_ID).write_bytes(journal)

        with pytest.MonkeyPatch.context() as previous:
            previous.setattr(store_module, "STORAGE_VERSION", 2)
            previous.setattr(store_module, "STORAGE_MINOR_VERSION", 3)
            assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
            assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
            issue = ir.async_get(hass).async_get_issue(DOMAIN, f"storage_{ENTRY_ID}")
            assert issue is not None
            assert issue.translation_key == "storage_newer_version"
            assert mock_config_entry.reason is not None
            assert path.read_bytes() == content
            assert journal_path(hass, ENTRY_ID).read_bytes() == journal
            # Every later start is refused the same way, never started over.
            assert not await hass.config_entries.async_reload(
                mock_config_entry.entry_id
            )
            assert path.read_bytes() == content

        # Back on this release, nothing is missing.
        assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        state = mock_config_entry.runtime_data.state
        assert (state.total_shots, state.shots_since_backflush) == (12, 4)
        assert [record.note for record in state.history] == ["Cafiza"]
