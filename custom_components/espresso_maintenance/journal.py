"""The journal beside a machine's storage file: one line per shot or meter reading.

A shot is acknowledged once its line is appended and synced, which costs a
fraction of rewriting the whole file. Each line holds a model.Use and a number;
the file keeps the number of the last line it holds (store.py), so a line is
applied once, whenever a crash comes. The blocking methods of JournalFile run in
the executor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
import math
import os
from pathlib import Path
from typing import Any

from homeassistant.helpers.json import json_bytes
from homeassistant.util.json import json_loads

from .model import Use

# The journal is folded into the file once it holds this many lines: weeks of
# shots, or a day of a busy water meter; about 60 kB, read back in milliseconds.
MAX_JOURNAL_LINES = 1000
LINE_KEYS = frozenset(
    ("seq", "shots", "water_ml", "day", "source_baseline", "water_baseline")
)
# Where fdatasync is missing (macOS), fsync does the same and more.
_datasync = getattr(os, "fdatasync", os.fsync)


class JournalDamagedError(Exception):
    """A line other than the last cannot be read, or lines are missing."""


def use_to_line(seq: int, use: Use) -> bytes:
    """Write a use as one line: its number, then what it adds.

    {"seq":12,"shots":1,"water_ml":100,"day":"2026-11-28"}; what a use leaves
    unchanged is left out.
    """
    line: dict[str, Any] = {"seq": seq}
    if use.shots:
        line["shots"] = use.shots
    if use.water_ml:
        line["water_ml"] = use.water_ml
        line["day"] = str(use.day)
    if use.source_baseline is not None:
        line["source_baseline"] = use.source_baseline
    if use.water_baseline is not None:
        line["water_baseline"] = use.water_baseline
    return json_bytes(line) + b"\n"


def _count(data: dict[str, Any], key: str) -> int:
    value = data.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{key} is not a count: {value!r}")
    return value


def _reading(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
    ):
        raise ValueError(f"{key} is not a reading: {value!r}")
    return float(value)


def use_from_line(raw: bytes) -> tuple[int, Use]:
    """Read a line back; raise ValueError (or TypeError) when it does not fit."""
    data = json_loads(raw)
    if not isinstance(data, dict):
        raise TypeError(f"not a line: {raw[:80]!r}")
    if unknown := set(data) - LINE_KEYS:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    seq = _count(data, "seq")
    water_ml = _count(data, "water_ml")
    day = data.get("day")
    if seq < 1 or (day is not None) != bool(water_ml):
        raise ValueError(f"not a line: {raw[:80]!r}")
    if day is not None and not isinstance(day, str):
        raise TypeError(f"not a day: {day!r}")
    return seq, Use(
        shots=_count(data, "shots"),
        water_ml=water_ml,
        day=None if day is None else date.fromisoformat(day),
        source_baseline=_reading(data, "source_baseline"),
        water_baseline=_reading(data, "water_baseline"),
    )


@dataclass(frozen=True)
class Replay:
    """What a journal holds beyond its file."""

    # The uses of the lines newer than the file, in order.
    uses: list[Use]
    # The highest line number read (0 for none).
    last_seq: int
    # A last line cut short or garbled by a crash, left out.
    ignored: bytes
    # Where the journal is damaged, when it was read up to the damage.
    damage: str | None = None


def _check_order(seq: int, last_seq: int, first_new: int) -> None:
    if seq <= last_seq:
        raise ValueError(f"number {seq} after {last_seq}")
    if seq > first_new:
        raise ValueError(f"number {seq} after {first_new - 1}: lines are missing")


def read_journal(
    content: bytes, file_seq: int, *, up_to_damage: bool = False
) -> Replay:
    """Read a journal whose file holds the lines up to number `file_seq`.

    Lines the file already holds are skipped (a crash came before the journal
    was emptied). A last line that is cut short or garbled was never confirmed,
    as its sync never returned: it is left out. Any other line that cannot be
    read, or a line missing between the file's and the journal's, is damage:
    JournalDamagedError, so nothing is guessed; or, when the user chose to keep
    what comes before it (`up_to_damage`), the end of what is read.
    """
    *lines, ignored = content.split(b"\n")
    if lines:
        try:
            use_from_line(lines[-1])
        except (TypeError, ValueError):
            ignored = lines.pop() + b"\n" + ignored
    uses: list[Use] = []
    last_seq = 0
    for number, raw in enumerate(lines, 1):
        try:
            seq, use = use_from_line(raw)
            _check_order(seq, last_seq, file_seq + 1 + len(uses))
        except (TypeError, ValueError) as err:
            damage = f"line {number}: {type(err).__name__}: {err}"
            if up_to_damage:
                return Replay(uses, last_seq, b"", damage)
            raise JournalDamagedError(damage) from err
        last_seq = seq
        if seq > file_seq:
            uses.append(use)
    return Replay(uses=uses, last_seq=last_seq, ignored=ignored)


class JournalFile:
    """The journal on disk, kept open for appending while the machine runs."""

    def __init__(self, path: Path) -> None:
        """Name the file; it is created by the first append."""
        self.path = path
        self._fd: int | None = None
        # Set once the machine is unloaded: a late append closes it again.
        self.closed = False

    def read(self) -> bytes:
        """Return the content; empty if there is no journal."""
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""

    def append(self, line: bytes) -> None:
        """Write a line at the end and sync it; returns once it is on disk."""
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            self._fd = os.open(
                self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644
            )
            if created:
                # The new file's name must survive a power cut too.
                _sync_directory(self.path.parent)
        fd = self._fd
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            _datasync(fd)
        finally:
            if self.closed:
                self._fd = None
                os.close(fd)

    def truncate(self) -> None:
        """Empty the journal, once the file holds its lines.

        Not synced: should the emptying be lost, its lines are no newer than
        the file's and are skipped.
        """
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
        elif self.path.exists():
            os.truncate(self.path, 0)

    def close(self) -> None:
        """Close the file; a later append opens and closes it again."""
        self.closed = True
        if (fd := self._fd) is not None:
            self._fd = None
            os.close(fd)

    def set_aside(self, why: str) -> Path | None:
        """Keep a journal that holds anything under another name; return it."""
        if not self.path.exists() or not self.path.stat().st_size:
            return None
        self.close()
        target = self.path.with_name(
            f"{self.path.name}.{why}.{int(self.path.stat().st_mtime)}"
        )
        self.path.replace(target)
        return target

    def remove(self) -> None:
        """Delete the journal of a removed machine."""
        self.close()
        self.path.unlink(missing_ok=True)


def _sync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
