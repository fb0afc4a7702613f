"""Durable storage of one machine's counters, dates and history.

Two files in .storage: the Store file holds the whole state, written atomically;
beside it the journal (journal.py) holds the shots and meter readings since, one
line each, appended and synced before a shot is acknowledged. Loading applies the
journal's lines to the file's state through the model. The journal is folded into
the file (the whole file is written, then the journal emptied) when anything else
changes, every night, at shutdown, when it grows long, and after a load. The file
keeps the number of the last line it holds, so no line is applied twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, tzinfo
import json
import math
from pathlib import Path
from typing import Any, cast

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.file import WriteError
from homeassistant.util.json import SerializationError

from .const import DOMAIN, LOGGER, STORAGE_MINOR_VERSION, STORAGE_VERSION
from .journal import (
    MAX_JOURNAL_LINES,
    JournalDamagedError,
    JournalFile,
    read_journal,
    use_to_line,
)
from .model import (
    DEFAULT_WATER_PER_SHOT_ML,
    Kind,
    MachineState,
    Record,
    ScaleBasis,
    UndoStep,
    Use,
    apply_use,
    rebuild_water_log,
)

# The first major version with a journal: an older file has none of its own.
JOURNAL_VERSION = 3

type StoredData = dict[str, Any]


class StorageError(Exception):
    """The storage file cannot be used; the translation key says why."""

    def __init__(self, translation_key: str, detail: str) -> None:
        """Keep the reason."""
        super().__init__(detail)
        self.translation_key = translation_key
        self.detail = detail


class StorageVersionError(StorageError):
    """The file was written by a newer, incompatible version."""


class StorageWriteError(StorageError):
    """A state could not be written; nothing was changed."""


def storage_key(entry_id: str) -> str:
    """Return the storage key of a machine."""
    return f"{DOMAIN}.{entry_id}"


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"not a time: {value!r}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"time without a time zone: {value!r}")
    return parsed


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"not a count: {value!r}")
    return value


def _baseline(value: Any) -> float | None:
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"not a reading: {value!r}")
    return float(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"not a flag: {value!r}")
    return value


def _record_to_text(record: Record) -> str:
    """Write a record on one line: kind, time, counters, entry time, note.

    One short string per record keeps ten years of history well under 64 KiB
    (a mapping per record took twice the room, indented as Store writes).
    """
    text = " ".join(
        (
            record.kind.value,
            record.performed_at.isoformat(),
            str(record.shots_since_backflush),
            str(record.total_shots),
            _time(record.recorded_at) or "-",
        )
    )
    return f"{text} {record.note}" if record.note else text


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"not a count: {text!r}")
    return int(text)


def _record_from_text(data: Any, source: Any = None) -> Record:
    if not isinstance(data, str):
        raise TypeError(f"not a record: {data!r}")
    parts = data.split(" ", 5)
    if len(parts) < 5:
        raise ValueError(f"not a record: {data!r}")
    kind, at, shots, total, recorded = parts[:5]
    return Record(
        kind=Kind(kind),
        performed_at=_required_time(at),
        note=parts[5] if len(parts) == 6 else None,
        shots_since_backflush=_count(shots),
        total_shots=_count(total),
        recorded_at=None if recorded == "-" else _required_time(recorded),
        source=_source(source),
    )


def _source(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise TypeError(f"not a source: {value!r}")
    return value


def _required_time(value: Any) -> datetime:
    parsed = _parse_time(value)
    if parsed is None:
        raise ValueError("record without a time")
    return parsed


def _record_from_dict(data: Any) -> Record:
    """Read a record as version 1 stored it (a mapping)."""
    note = data.get("note")
    if note is not None and not isinstance(note, str):
        raise TypeError(f"not a note: {note!r}")
    return Record(
        kind=Kind(data["kind"]),
        performed_at=_required_time(data["at"]),
        note=note,
        shots_since_backflush=_int(data["shots"]),
        total_shots=_int(data["total"]),
        recorded_at=_parse_time(data.get("recorded")),
    )


def _water_log_to_list(log: tuple[tuple[date, int], ...]) -> list[str]:
    """Write the water log one month a line: the month, then mL for each day.

    "2026-11 0 0 200 400" is 200 mL on the 3rd and 400 mL on the 4th; trailing
    days without water are left out. A year of daily use is 13 lines, under 2 KiB.
    """
    lines: list[str] = []
    month: tuple[int, int] | None = None
    values: list[str] = []
    for day, water_ml in log:
        if (day.year, day.month) != month:
            if month is not None:
                lines.append(_month_line(month, values))
            month, values = (day.year, day.month), []
        values.extend("0" for _ in range(day.day - 1 - len(values)))
        values.append(str(water_ml))
    if month is not None:
        lines.append(_month_line(month, values))
    return lines


def _month_line(month: tuple[int, int], values: list[str]) -> str:
    return f"{month[0]:04d}-{month[1]:02d} {' '.join(values)}"


def _water_log_from_list(data: Any) -> tuple[tuple[date, int], ...]:
    log: list[tuple[date, int]] = []
    for line in data:
        if not isinstance(line, str):
            raise TypeError(f"not a month of water: {line!r}")
        month, *values = line.split(" ")
        if not values:
            raise ValueError(f"a month without water: {line!r}")
        year_text, _, month_text = month.partition("-")
        year, number = _count(year_text), _count(month_text)
        for index, text in enumerate(values):
            if (water_ml := _count(text)) > 0:
                day = date(year, number, index + 1)
                if log and day <= log[-1][0]:
                    raise ValueError(f"water log out of order: {line!r}")
                log.append((day, water_ml))
    return tuple(log)


def _positive(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"not a positive number: {text!r}")
    return value


def _basis_to_text(basis: ScaleBasis) -> str:
    """Write a basis on one line: since, hardness, typical water, calibration, interval."""
    return " ".join(
        (
            basis.since.isoformat(),
            repr(basis.hardness_mg_l),
            repr(basis.typical_water_ml),
            repr(basis.calibration_mg_l),
            str(basis.interval_days),
        )
    )


def _basis_from_text(data: Any) -> ScaleBasis:
    if not isinstance(data, str):
        raise TypeError(f"not a basis: {data!r}")
    since, hardness, typical, calibration, interval = data.split(" ")
    interval_days = _count(interval)
    if interval_days < 1:
        raise ValueError(f"not an interval: {data!r}")
    return ScaleBasis(
        since=date.fromisoformat(since),
        hardness_mg_l=_positive(hardness),
        typical_water_ml=_positive(typical),
        calibration_mg_l=_positive(calibration),
        interval_days=interval_days,
    )


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"not a day: {value!r}")
    return date.fromisoformat(value)


def _history_to_list(history: tuple[Record, ...]) -> list[str]:
    return [_record_to_text(record) for record in history]


def _record_sources(history: tuple[Record, ...]) -> dict[str, str]:
    """Map the history's detected records, by position, to their source.

    Kept beside the one-line records rather than in them, so a release that
    reads 2.1 files reads 2.3 files too (without the sources) instead of
    taking a source for part of a note.
    """
    return {
        str(index): record.source
        for index, record in enumerate(history)
        if record.source is not None
    }


def _history_from_lists(lines: Any, sources: Any) -> tuple[Record, ...]:
    if not isinstance(sources, dict):
        raise TypeError(f"not record sources: {sources!r}")
    records = tuple(
        _record_from_text(line, sources.get(str(index)))
        for index, line in enumerate(lines)
    )
    if not set(sources) <= {str(index) for index in range(len(records))}:
        raise ValueError(f"sources of records that do not exist: {sources!r}")
    return records


def _undo_to_list(undo: tuple[UndoStep, ...]) -> list[dict[str, Any]]:
    return [
        {
            "record": _record_to_text(step.record),
            "source": step.record.source,
            "applied": step.applied,
            "previous_last": _time(step.previous_last),
            "previous_shots": step.previous_shots_since_backflush,
            "previous_notified": step.previous_due_notified,
        }
        for step in undo
    ]


def migrate_records_from_version_1(data: StoredData) -> StoredData:
    """Rewrite version 1's records (mappings) as version 2's one-line texts."""
    try:
        history = [_record_to_text(_record_from_dict(item)) for item in data["history"]]
        undo = [
            {**step, "record": _record_to_text(_record_from_dict(step["record"]))}
            for step in data["undo"]
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise StorageError("storage_invalid", f"{type(err).__name__}: {err}") from err
    return {**data, "history": history, "undo": undo}


def migrate_water_from_version_2_1(
    data: StoredData, now: datetime | None = None, tz: tzinfo | None = None
) -> StoredData:
    """Add 2.2's water log, rebuilt from the shots in the history.

    Machines had no water per shot setting and no water source before, so the
    shots' water is the default. The hardness and calibration bases are added
    by the machine when it starts, from its options.
    """
    try:
        history = [_record_from_text(item) for item in data["history"]]
        total = _int(data["total_shots"])
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise StorageError("storage_invalid", f"{type(err).__name__}: {err}") from err
    log, counting_since = rebuild_water_log(
        history,
        total,
        now or dt_util.utcnow(),
        tz or dt_util.get_default_time_zone(),
        DEFAULT_WATER_PER_SHOT_ML,
    )
    return {
        **data,
        "water_log": _water_log_to_list(log),
        "counting_since": None
        if counting_since is None
        else counting_since.isoformat(),
        "scale_bases": [],
        "water_baseline": None,
    }


def migrate_to_record_sources(data: StoredData) -> StoredData:
    """Add what 2.3 added to a 2.1 or 2.2 file: records and readings without a source."""
    try:
        undo = [{**step, "source": None} for step in data["undo"]]
    except (KeyError, TypeError) as err:
        raise StorageError("storage_invalid", f"{type(err).__name__}: {err}") from err
    return {
        **data,
        "undo": undo,
        "record_sources": {},
        "backflush_source_reading": None,
        "descale_source_reading": None,
    }


def state_to_dict(
    state: MachineState,
    history: tuple[list[str], dict[str, str]] | None = None,
    undo: list[dict[str, Any]] | None = None,
    *,
    water_log: list[str] | None = None,
) -> StoredData:
    """Serialize a machine's state for storage (the lists if not given)."""
    lines, sources = (
        (_history_to_list(state.history), _record_sources(state.history))
        if history is None
        else history
    )
    return {
        "shots_since_backflush": state.shots_since_backflush,
        "total_shots": state.total_shots,
        "last_backflush": _time(state.last_backflush),
        "last_descale": _time(state.last_descale),
        "backflush_due_notified": state.backflush_due_notified,
        "descale_due_notified": state.descale_due_notified,
        "history": lines,
        "record_sources": sources,
        "undo": _undo_to_list(state.undo) if undo is None else undo,
        "source_baseline": state.source_baseline,
        "backflush_source_reading": _time(state.backflush_source_reading),
        "descale_source_reading": _time(state.descale_source_reading),
        "water_log": _water_log_to_list(state.water_log)
        if water_log is None
        else water_log,
        "counting_since": None
        if state.counting_since is None
        else state.counting_since.isoformat(),
        "scale_bases": [_basis_to_text(basis) for basis in state.scale_bases],
        "water_baseline": state.water_baseline,
    }


def state_from_dict(data: Any) -> MachineState:
    """Read a machine's state back; raise StorageError when it does not fit."""
    try:
        return MachineState(
            shots_since_backflush=_int(data["shots_since_backflush"]),
            total_shots=_int(data["total_shots"]),
            last_backflush=_parse_time(data["last_backflush"]),
            last_descale=_parse_time(data["last_descale"]),
            backflush_due_notified=_bool(data["backflush_due_notified"]),
            descale_due_notified=_bool(data["descale_due_notified"]),
            history=_history_from_lists(data["history"], data["record_sources"]),
            undo=tuple(
                UndoStep(
                    record=_record_from_text(item["record"], item["source"]),
                    applied=_bool(item["applied"]),
                    previous_last=_parse_time(item["previous_last"]),
                    previous_shots_since_backflush=_int(item["previous_shots"]),
                    previous_due_notified=_bool(item["previous_notified"]),
                )
                for item in data["undo"]
            ),
            source_baseline=_baseline(data["source_baseline"]),
            backflush_source_reading=_parse_time(data["backflush_source_reading"]),
            descale_source_reading=_parse_time(data["descale_source_reading"]),
            water_log=_water_log_from_list(data["water_log"]),
            counting_since=_day(data["counting_since"]),
            scale_bases=tuple(_basis_from_text(item) for item in data["scale_bases"]),
            water_baseline=_baseline(data["water_baseline"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise StorageError("storage_invalid", f"{type(err).__name__}: {err}") from err


def _file_version(path: Path) -> int | None:
    """Read the major version a storage file declares, if it can be read."""
    try:
        version = json.loads(path.read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return version if isinstance(version, int) else None


class MachineStore(Store[StoredData]):
    """A versioned Store for one machine."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Create the store of a machine, written atomically."""
        super().__init__(
            hass,
            STORAGE_VERSION,
            storage_key(entry_id),
            minor_version=STORAGE_MINOR_VERSION,
            atomic_writes=True,
        )
        self._history: tuple[
            tuple[Record, ...] | None, tuple[list[str], dict[str, str]]
        ] = (None, ([], {}))
        self._undo: tuple[tuple[UndoStep, ...] | None, list[dict[str, Any]]] = (
            None,
            [],
        )
        self._water_months: tuple[tuple[tuple[date, int], ...], list[str]] = ((), [])
        self.journal = JournalFile(Path(f"{self.path}.journal"))
        # The number of the last line written (or tried), and what the journal holds.
        self._seq = 0
        self.journal_lines = 0
        self._journal_bytes = 0
        # After a failed append the journal's end is unknown: nothing more is
        # appended until a whole file write has emptied it.
        self._dirty = False
        self._migrated_from: int | None = None

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: StoredData
    ) -> StoredData:
        """Read files of other versions.

        1.1 had no shot sources: 1.2 added the counter source's baseline. 2.1
        writes each record on one line instead of as a mapping. 2.2 adds the
        water log (rebuilt from the history's shots), the scale bases and the
        water source's baseline. 2.3 adds where detected records came from, and
        the timestamp sources' last values. 3.1 adds the journal beside the file,
        and the number of its last line the file holds: a release that reads 2.x
        files would read the file without the journal's shots, so it must refuse
        it. A newer minor version only adds fields, so it reads as is. A newer
        major version is refused rather than misread: going back to an older
        release of the integration must not lose what the newer one recorded.
        """
        if old_major_version > STORAGE_VERSION:
            raise StorageVersionError(
                "storage_newer_version",
                f"version {old_major_version}.{old_minor_version}",
            )
        self._migrated_from = old_major_version
        if old_major_version >= JOURNAL_VERSION:
            return old_data
        # A journal beside a file from before journals is not this file's (left
        # over from a newer release). It is kept aside now, before Store writes
        # the migrated file with journal_seq 0: a crash in between must not
        # leave a 3.x file beside it, which would take its lines in.
        kept = await self.hass.async_add_executor_job(self.journal.set_aside, "unused")
        if kept is not None:
            LOGGER.warning("%s: an unused journal was kept as %s", self.key, kept)
        data = old_data
        if old_major_version == 1:
            if old_minor_version < 2:
                data = {**data, "source_baseline": None}
            data = migrate_records_from_version_1(data)
            old_minor_version = 1
        if old_minor_version < 2:
            data = migrate_water_from_version_2_1(data)
        if old_minor_version < 3:
            data = migrate_to_record_sources(data)
        return {**data, "journal_seq": 0}

    async def _async_write_data(self, *args: Any) -> None:
        """Raise write failures instead of only logging them.

        Store logs and swallows them, but a record must not be acknowledged
        unless it is on disk.
        """
        try:
            await super()._async_write_data(*args)
        except (SerializationError, WriteError) as err:
            raise StorageWriteError("storage_write_failed", str(err)) from err

    async def async_load_state(
        self, *, created: bool, up_to_damage: bool = False
    ) -> MachineState | None:
        """Load the state; None for a new machine, whose file was never created.

        Home Assistant renames a file it cannot parse to *.corrupt.<time> and
        loads nothing; that is told apart from a new machine by the file having
        existed before the load. A file that was created once and is gone now
        is an error too: a known machine never starts from zero unasked. The
        journal's lines are applied to the file's state, then folded into it.
        A damaged journal is refused, unless the user chose (in the repair) to
        keep what comes before the damage: then the journal is kept aside.
        """
        path = Path(self.path)
        try:
            existed, content = await self.hass.async_add_executor_job(
                lambda: (path.exists(), self.journal.read())
            )
        except OSError as err:
            raise StorageError("storage_unreadable", str(err)) from err
        try:
            data = await self.async_load()
        except StorageError:
            raise
        except Exception as err:
            # Newer Home Assistant versions refuse a newer major version before
            # asking _async_migrate_func; tell that case apart by the file itself.
            version = await self.hass.async_add_executor_job(_file_version, path)
            if version is not None and version > STORAGE_VERSION:
                raise StorageVersionError(
                    "storage_newer_version", f"version {version}"
                ) from err
            raise StorageError("storage_unreadable", str(err)) from err
        if data is None:
            if existed:
                raise StorageError("storage_corrupt", self.path)
            if created:
                raise StorageError("storage_missing", self.path)
            return None
        state = state_from_dict(data)
        try:
            self._seq = _int(data["journal_seq"])
        except (KeyError, TypeError, ValueError) as err:
            raise StorageError(
                "storage_invalid", f"{type(err).__name__}: {err}"
            ) from err
        return await self._async_replay(state, content, up_to_damage)

    async def _async_replay(
        self, state: MachineState, content: bytes, up_to_damage: bool
    ) -> MachineState:
        """Apply the journal's lines to the file's state, then fold them into it."""
        if not content:
            return state
        if self._migrated_from is not None and self._migrated_from < JOURNAL_VERSION:
            # Kept aside by the migration, unread: not this file's journal.
            return state
        try:
            replay = read_journal(content, self._seq, up_to_damage=up_to_damage)
        except JournalDamagedError as err:
            raise StorageError("storage_journal_damaged", str(err)) from err
        if replay.damage is not None:
            kept = await self.hass.async_add_executor_job(
                self.journal.set_aside, "damaged"
            )
            LOGGER.warning(
                "%s: kept the journal up to its damage (%s); it is kept as %s",
                self.key,
                replay.damage,
                kept,
            )
        if replay.ignored:
            LOGGER.warning(
                "%s: the journal's last line was cut short by a crash while it was "
                "written; it was never confirmed, so it is left out: %r",
                self.key,
                replay.ignored[:120],
            )
        for use in replay.uses:
            state = apply_use(state, use)
        self._seq = max(self._seq, replay.last_seq)
        self._journal_bytes = len(content)
        await self.async_save_state(state)
        return state

    async def async_save(self, data: StoredData) -> None:
        """Write the file now, also while Home Assistant stops.

        Store defers writes asked for while Home Assistant stops to its final
        write; a record is only acknowledged once it is on disk, and the journal
        is only emptied once the file holds its lines.
        """
        if getattr(self, "_read_only", False):
            raise StorageWriteError("storage_write_failed", "the file is read-only")
        self._data = {
            "version": self.version,
            "minor_version": self.minor_version,
            "key": self.key,
            "data": data,
        }
        # Store's own writer (lock, cache, errors), which is not annotated.
        write = cast("Callable[[], Awaitable[None]]", self._async_handle_write_data)
        await write()

    async def async_save_state(self, state: MachineState) -> None:
        """Write the whole state to the file now, then empty the journal.

        A shot changes only the counters, so the history and undo lists (up to
        500 records) are turned into JSON-ready lists again only when they change.
        The file keeps the number of the journal's last line, so a crash before
        the journal is emptied never applies its lines twice.
        """
        if state.history is not self._history[0]:
            self._history = (
                state.history,
                (_history_to_list(state.history), _record_sources(state.history)),
            )
        if state.undo is not self._undo[0]:
            self._undo = (state.undo, _undo_to_list(state.undo))
        data = state_to_dict(
            state,
            self._history[1],
            self._undo[1],
            water_log=self._water_log_lines(state.water_log),
        )
        data["journal_seq"] = self._seq
        written = False
        try:
            await self.async_save(data)
            written = True
        finally:
            if not written:
                # Failed or cancelled: the file may hold this state or the last.
                # The next change writes the whole file again, so disk and
                # memory agree.
                self._dirty = True
        self.journal_lines = 0
        if self._journal_bytes or self._dirty:
            try:
                await self.hass.async_add_executor_job(self.journal.truncate)
            except OSError as err:
                # The file holds every line, so the state is safe; appending
                # waits until the journal could be emptied.
                LOGGER.warning("%s: could not empty the journal: %s", self.key, err)
                self._dirty = True
            else:
                self._journal_bytes = 0
                self._dirty = False

    @property
    def can_append(self) -> bool:
        """Tell whether the next use can go to the journal (else, to the file)."""
        return not self._dirty and self.journal_lines < MAX_JOURNAL_LINES

    def diagnostics(self) -> dict[str, Any]:
        """Describe the file and its journal, for diagnostics."""
        return {
            "version": f"{STORAGE_VERSION}.{STORAGE_MINOR_VERSION}",
            "journal_lines": self.journal_lines,
            "last_journal_line": self._seq,
            "appending": self.can_append,
        }

    async def async_append(self, use: Use) -> None:
        """Add a use to the journal; returns once it is on disk.

        A failed append may have left part of its line: its number is not used
        again, and the next change writes the whole file, which empties the
        journal before anything is appended to it again.
        """
        self._seq += 1
        line = use_to_line(self._seq, use)
        written = False
        try:
            await self.hass.async_add_executor_job(self.journal.append, line)
            written = True
        except OSError as err:
            raise StorageWriteError("storage_write_failed", str(err)) from err
        finally:
            if not written:
                # Failed or cancelled: the line may be there, whole or in part.
                self._dirty = True
        self.journal_lines += 1
        self._journal_bytes += len(line)

    @callback
    def async_close(self) -> None:
        """Close the journal (the machine is unloaded).

        Closing waits for no disk: each line was synced when it was written.
        """
        self.journal.close()

    async def async_remove(self) -> None:
        """Delete the file and the journal of a removed machine."""
        await super().async_remove()
        await self.hass.async_add_executor_job(self.journal.remove)

    def _water_log_lines(self, log: tuple[tuple[date, int], ...]) -> list[str]:
        """Write the water log, reusing the lines of the months before the last.

        A shot only changes today's water, so only the last month is written anew.
        """
        split = len(log)
        if log:
            last_month = log[-1][0].replace(day=1)
            while split and log[split - 1][0] >= last_month:
                split -= 1
        head = log[:split]
        if head != self._water_months[0]:
            self._water_months = (head, _water_log_to_list(head))
        return self._water_months[1] + _water_log_to_list(log[split:])

    async def async_set_aside(self) -> str | None:
        """Rename an unusable file, and its journal, so a fresh start overwrites neither."""
        path = Path(self.path)

        def _rename() -> str | None:
            self.journal.set_aside("invalid")
            if not path.exists():
                return None
            target = path.with_name(f"{path.name}.invalid.{int(path.stat().st_mtime)}")
            path.replace(target)
            return str(target)

        return await self.hass.async_add_executor_job(_rename)
