"""Tests for the journal of shots: its lines, how it is read back, and its file."""

from __future__ import annotations

from datetime import date
import errno
import os
from pathlib import Path
from typing import Any

from hypothesis import example, given, strategies as st
import pytest

from custom_components.espresso_maintenance import journal
from custom_components.espresso_maintenance.journal import (
    JournalDamagedError,
    JournalFile,
    read_journal,
    use_from_line,
    use_to_line,
)
from custom_components.espresso_maintenance.model import Use

READINGS = st.none() | st.floats(
    min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False
)


@st.composite
def uses(draw: st.DrawFn) -> Use:
    """Draw a use as the machine makes them: water is counted on a day."""
    water_ml = draw(st.integers(min_value=0, max_value=10**7))
    return Use(
        shots=draw(st.integers(min_value=0, max_value=10**6)),
        water_ml=water_ml,
        day=draw(st.dates(min_value=date(2000, 1, 1))) if water_ml else None,
        source_baseline=draw(READINGS),
        water_baseline=draw(READINGS),
    )


def journal_of(all_uses: list[Use], first_seq: int = 1) -> bytes:
    """Write uses as consecutive lines, numbered from `first_seq`."""
    return b"".join(use_to_line(first_seq + i, use) for i, use in enumerate(all_uses))


@given(st.integers(min_value=1, max_value=2**53), uses())
@example(1, Use(shots=1))
@example(7, Use(water_ml=1, day=date(2026, 3, 29), water_baseline=0.0))
def test_a_line_reads_back(seq: int, use: Use) -> None:
    """A line is one line of JSON and reads back as the same number and use."""
    line = use_to_line(seq, use)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert use_from_line(line.rstrip(b"\n")) == (seq, use)


def test_a_line_leaves_out_what_does_not_change() -> None:
    """A shot's line holds only its number and what it adds."""
    assert use_to_line(12, Use(shots=1)) == b'{"seq":12,"shots":1}\n'
    assert (
        use_to_line(13, Use(shots=2, water_ml=80, day=date(2026, 11, 28)))
        == b'{"seq":13,"shots":2,"water_ml":80,"day":"2026-11-28"}\n'
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"[1, 2]",
        b'"text"',
        b'{"seq": 0, "shots": 1}',
        b'{"shots": 1}',
        b'{"seq": 1, "shots": -1}',
        b'{"seq": 1, "shots": true}',
        b'{"seq": 1, "shots": 1.5}',
        b'{"seq": 1, "water_ml": 5}',
        b'{"seq": 1, "day": "2026-11-28"}',
        b'{"seq": 1, "water_ml": 5, "day": 20261128}',
        b'{"seq": 1, "water_ml": 5, "day": "28/11/2026"}',
        b'{"seq": 1, "source_baseline": "12"}',
        b'{"seq": 1, "source_baseline": true}',
        b'{"seq": 1, "water_baseline": NaN}',
        b'{"seq": 1, "shots": 1, "note": "x"}',
        b'{"seq": 1, "shots": 1',
        b"",
    ],
)
def test_lines_that_do_not_fit_are_refused(raw: bytes) -> None:
    """Anything but a line the journal writes raises ValueError or TypeError."""
    with pytest.raises((ValueError, TypeError)):
        use_from_line(raw)


@given(st.lists(uses(), max_size=8), st.data())
def test_any_prefix_reads_up_to_its_last_whole_line(
    all_uses: list[Use], data: st.DataObject
) -> None:
    """A journal cut anywhere (a crash while appending) is never damage.

    Every line ended by its newline is read; what follows the last newline was
    never confirmed and is left out.
    """
    content = journal_of(all_uses)
    cut = data.draw(st.integers(min_value=0, max_value=len(content)))
    prefix = content[:cut]
    whole_lines = prefix.count(b"\n")
    replay = read_journal(prefix, 0)
    assert replay.uses == all_uses[:whole_lines]
    assert replay.last_seq == whole_lines
    assert replay.damage is None
    assert replay.ignored == prefix[prefix.rfind(b"\n") + 1 :]
    assert read_journal(prefix, 0, up_to_damage=True) == replay


@given(
    st.lists(uses(), min_size=1, max_size=8),
    st.integers(min_value=0, max_value=20),
    st.data(),
)
def test_lines_the_file_holds_are_skipped(
    all_uses: list[Use], first_seq: int, data: st.DataObject
) -> None:
    """A crash after the whole file was written, before the journal was emptied.

    The lines numbered up to the file's `journal_seq` are already in the file
    and are not applied again; the ones after it are.
    """
    first_seq += 1
    content = journal_of(all_uses, first_seq)
    last_seq = first_seq + len(all_uses) - 1
    file_seq = data.draw(st.integers(min_value=first_seq - 1, max_value=last_seq + 3))
    replay = read_journal(content, file_seq)
    assert replay.uses == all_uses[max(0, file_seq - first_seq + 1) :]
    assert replay.last_seq == last_seq
    assert replay.ignored == b""


def test_a_journal_starting_after_the_file_is_damage() -> None:
    """Lines missing between the file and the journal are damage, not skipped."""
    content = journal_of([Use(shots=1), Use(shots=2)], first_seq=5)
    assert read_journal(content, 4).uses == [Use(shots=1), Use(shots=2)]
    with pytest.raises(JournalDamagedError, match="lines are missing"):
        read_journal(content, 3)
    replay = read_journal(content, 3, up_to_damage=True)
    assert (replay.uses, replay.last_seq) == ([], 0)
    assert replay.damage is not None
    assert replay.damage.startswith("line 1:")


SHOT = Use(shots=1)
TWO = Use(shots=2)
THREE = Use(shots=3)
GOOD = [use_to_line(1, SHOT), use_to_line(2, TWO), use_to_line(3, THREE)]


@pytest.mark.parametrize(
    ("lines", "kept", "where"),
    [
        # A garbled line in the middle.
        ([GOOD[0], b"\x00\x00garbage\n", GOOD[2]], [SHOT], "line 2"),
        # A line cut short in the middle, then more lines.
        ([GOOD[0], GOOD[1][:7] + b"\n", GOOD[2]], [SHOT], "line 2"),
        # Out of order.
        ([GOOD[1], GOOD[0], GOOD[2]], [], "line 1"),
        ([GOOD[0], GOOD[2], GOOD[1]], [SHOT], "line 2"),
        # The same number twice.
        ([GOOD[0], GOOD[1], use_to_line(2, THREE), GOOD[2]], [SHOT, TWO], "line 3"),
        # A number missing.
        ([GOOD[0], GOOD[2], use_to_line(4, SHOT)], [SHOT], "line 2"),
        # An empty line in the middle.
        ([GOOD[0], b"\n", GOOD[1], GOOD[2]], [SHOT], "line 2"),
    ],
)
def test_damage_before_the_last_line_is_refused(
    lines: list[bytes], kept: list[Use], where: str
) -> None:
    """Only the last line may be torn: anything else is damage, and nothing is guessed."""
    content = b"".join(lines)
    with pytest.raises(JournalDamagedError, match=where):
        read_journal(content, 0)
    replay = read_journal(content, 0, up_to_damage=True)
    assert replay.uses == kept
    assert replay.last_seq == len(kept)
    assert replay.damage is not None
    assert replay.damage.startswith(f"{where}:")
    assert replay.ignored == b""


@pytest.mark.parametrize(
    "torn",
    [
        GOOD[2][:5],
        GOOD[2][:-1],
        b"\x00\x00\x00\x00",
        # A garbled last line that did get its newline.
        b"\x00\x00\x00\x00\n",
        b'{"seq":3,"sho\n',
    ],
)
def test_a_torn_last_line_is_left_out(torn: bytes) -> None:
    """A last line a crash cut short or garbled is ignored, not damage."""
    content = GOOD[0] + GOOD[1] + torn
    replay = read_journal(content, 0)
    assert replay.uses == [SHOT, TWO]
    assert replay.last_seq == 2
    assert replay.ignored.rstrip(b"\n") == torn.rstrip(b"\n")
    assert replay.damage is None


def test_an_empty_journal_holds_nothing() -> None:
    """No journal, or an emptied one, adds nothing."""
    assert read_journal(b"", 17) == journal.Replay(uses=[], last_seq=0, ignored=b"")


# The journal file on disk.


def test_append_creates_and_syncs(tmp_path: Path) -> None:
    """The first append creates the file (and its folder); each line is synced."""
    path = tmp_path / ".storage" / "machine.journal"
    file = JournalFile(path)
    assert file.read() == b""
    synced: list[int] = []
    real_sync = journal._datasync

    def sync(fd: int) -> None:
        synced.append(fd)
        real_sync(fd)

    with pytest.MonkeyPatch.context() as patches:
        patches.setattr(journal, "_datasync", sync)
        file.append(GOOD[0])
        file.append(GOOD[1])
    assert path.read_bytes() == GOOD[0] + GOOD[1]
    assert len(synced) == 2
    assert file.read() == GOOD[0] + GOOD[1]
    file.close()


def test_append_goes_to_the_end_of_an_existing_file(tmp_path: Path) -> None:
    """A journal left by a previous run is appended to, never overwritten."""
    path = tmp_path / "machine.journal"
    path.write_bytes(GOOD[0])
    file = JournalFile(path)
    file.append(GOOD[1])
    assert path.read_bytes() == GOOD[0] + GOOD[1]
    file.close()


def test_a_short_write_is_finished(tmp_path: Path) -> None:
    """os.write may write part of a line; the rest follows before the sync."""
    path = tmp_path / "machine.journal"
    file = JournalFile(path)
    real_write = os.write

    def write_two_bytes(fd: int, data: Any) -> int:
        return real_write(fd, bytes(data[:2]))

    with pytest.MonkeyPatch.context() as patches:
        patches.setattr(os, "write", write_two_bytes)
        file.append(GOOD[2])
    assert path.read_bytes() == GOOD[2]
    file.close()


@pytest.mark.parametrize("failing", ["write", "sync"])
def test_a_failed_append_raises(tmp_path: Path, failing: str) -> None:
    """A full disk fails the append with OSError; the file stays usable."""
    path = tmp_path / "machine.journal"
    file = JournalFile(path)
    file.append(GOOD[0])

    def full(*_args: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.MonkeyPatch.context() as patches:
        if failing == "write":
            patches.setattr(os, "write", full)
        else:
            patches.setattr(journal, "_datasync", full)
        with pytest.raises(OSError, match="No space left") as err:
            file.append(GOOD[1])
    assert err.value.errno == errno.ENOSPC
    file.truncate()
    file.append(GOOD[2])
    assert path.read_bytes() == GOOD[2]
    file.close()


def test_truncate_empties_open_or_closed(tmp_path: Path) -> None:
    """Emptying works on the open file, on a closed one, and on none."""
    path = tmp_path / "machine.journal"
    file = JournalFile(path)
    file.truncate()
    assert not path.exists()
    file.append(GOOD[0])
    file.truncate()
    assert path.read_bytes() == b""
    # Appending after emptying starts at the beginning (O_APPEND).
    file.append(GOOD[1])
    assert path.read_bytes() == GOOD[1]
    file.close()
    file.truncate()
    assert path.read_bytes() == b""


def test_a_late_append_after_close_closes_again(tmp_path: Path) -> None:
    """A shot finishing after unload is still written, and leaves no file open."""
    path = tmp_path / "machine.journal"
    file = JournalFile(path)
    file.append(GOOD[0])
    file.close()
    assert file._fd is None
    file.close()
    file.append(GOOD[1])
    assert file._fd is None
    assert path.read_bytes() == GOOD[0] + GOOD[1]

    def full(*_args: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.MonkeyPatch.context() as patches:
        patches.setattr(journal, "_datasync", full)
        with pytest.raises(OSError, match="No space left"):
            file.append(GOOD[2])
    assert file._fd is None


def test_set_aside_keeps_the_journal_under_a_new_name(tmp_path: Path) -> None:
    """A journal that holds anything is renamed, content intact; an empty one stays."""
    path = tmp_path / "machine.journal"
    file = JournalFile(path)
    assert file.set_aside("damaged") is None
    file.append(GOOD[0])
    file.truncate()
    assert file.set_aside("damaged") is None
    assert path.exists()
    file.append(GOOD[1])
    kept = file.set_aside("damaged")
    assert kept is not None
    assert kept.parent == tmp_path
    assert kept.name.startswith("machine.journal.damaged.")
    assert kept.read_bytes() == GOOD[1]
    assert not path.exists()
    assert file._fd is None


def test_remove_deletes_the_journal(tmp_path: Path) -> None:
    """A removed machine's journal is closed and deleted; removing twice is fine."""
    path = tmp_path / "machine.journal"
    file = JournalFile(path)
    file.append(GOOD[0])
    file.remove()
    assert not path.exists()
    assert file._fd is None
    file.remove()
