"""Damaged and wrong files, generated from a valid one: one line naming file and problem, exit 2."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.support import ROOT

HEADER = 256 * 66  # eegmmidb: 65 signals
TAL_AT = HEADER + 64 * 160 * 2  # the annotation signal of the first record (160 bytes)


def field(ns: int, index: int, before: int, width: int) -> slice:
    """Byte range of signal `index`'s field that starts `before` bytes into the signal headers."""
    start = 256 + before * ns + index * width
    return slice(start, start + width)


def put(data: bytearray, where: slice, text: bytes) -> bytearray:
    data[where] = text.ljust(where.stop - where.start)
    return data


Make = Callable[[bytes, Path], Path]


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


CASES: dict[str, tuple[Make, str]] = {
    "missing file": (lambda ok, d: d / "absent.edf", "no such file"),
    "unknown extension": (lambda ok, d: write(d / "night.xyz", ok), "unknown file type '.xyz'"),
    "empty file": (lambda ok, d: write(d / "empty.edf", b""), "empty file"),
    "truncated main header": (lambda ok, d: write(d / "cut.edf", ok[:100]), "truncated header"),
    "truncated signal headers": (
        lambda ok, d: write(d / "cut2.edf", ok[:1000]),
        "truncated header: 1000 bytes, 65 signals need 16896",
    ),
    "record count lies": (
        lambda ok, d: write(d / "lies.edf", bytes(put(bytearray(ok), slice(236, 244), b"100"))),
        "declares 100 data records but the file holds 60",
    ),
    "zero signals": (
        lambda ok, d: write(d / "zero.edf", bytes(put(bytearray(ok), slice(252, 256), b"0"))),
        "declares 0 signals",
    ),
    "non-ASCII header": (
        lambda ok, d: write(
            d / "latin.edf", bytes(put(bytearray(ok), slice(8, 16), "Zoë".encode()))
        ),
        "non-ASCII byte 0xc3 in the header at offset 10",
    ),
    "physical min == max": (
        lambda ok, d: write(
            d / "flatrange.edf",
            bytes(put(bytearray(ok), field(65, 2, 16 + 80 + 8 + 8, 8), b"-8092")),
        ),
        "signal 3 ('Fc1.'): physical minimum equals maximum (-8092)",
    ),
    "annotation outside": (
        lambda ok, d: write(
            d / "late.edf",
            bytes(
                put(
                    bytearray(ok),
                    slice(TAL_AT, TAL_AT + 160),
                    b"+0\x14\x14\x00+900\x151\x14T9\x14\x00",
                )
            ),
        ),
        "annotation 'T9' at 900 s lies outside the recording (0-60 s)",
    ),
    "random bytes .edf": (
        lambda ok, d: write(d / "noise.edf", np.random.default_rng(0).bytes(5000)),
        "not an EDF or BDF file",
    ),
    "random bytes .bdf": (
        lambda ok, d: write(d / "noise.bdf", np.random.default_rng(1).bytes(5000)),
        "not an EDF or BDF file",
    ),
    "random bytes .fif": (
        lambda ok, d: write(d / "noise.fif", np.random.default_rng(2).bytes(5000)),
        "cannot be read",
    ),
    "random bytes .vhdr": (
        lambda ok, d: write(d / "noise.vhdr", np.random.default_rng(3).bytes(5000)),
        "cannot be read",
    ),
    "random bytes .xdf": (
        lambda ok, d: write(d / "noise.xdf", np.random.default_rng(4).bytes(5000)),
        "cannot be read as XDF",
    ),
}


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`eegmon ...` through its real entry point, in this process."""
    from eegmon.cli import main

    old = sys.argv
    sys.argv = ["eegmon", *args]
    try:
        with pytest.raises(SystemExit) as exit_info:
            main()
    finally:
        sys.argv = old
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.mark.parametrize("command", ["scan", "replay"])
@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_is_one_line_and_exit_2(
    case: str, command: str, eegmmidb: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, problem = CASES[case]
    path = make(eegmmidb.read_bytes(), tmp_path)
    code, _, err = run_cli([command, str(path)], capsys)
    lines = err.splitlines()
    assert code == 2, err
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"eegmon: error: {path}: ")
    assert problem in lines[0]


def test_truncated_last_record_warns_and_scans_the_rest(
    eegmmidb: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "cut_data.edf", eegmmidb.read_bytes()[:-1000])
    code, _, err = run_cli(["scan", str(path), "--jsonl", str(tmp_path / "a.jsonl")], capsys)
    lines = err.splitlines()
    assert code == 0, err
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"eegmon scan: warning: {path}: the last data record is incomplete")
    assert lines[1].startswith(f"eegmon scan: {path}: 59.0 s, 64 ch @ 160 Hz")


def test_one_bad_file_among_good_ones_scans_the_rest_then_exits_2(
    eegmmidb: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path / "noise.edf", b"\x00" * 300)
    code, _, err = run_cli(["scan", str(bad), str(eegmmidb)], capsys)
    lines = err.splitlines()
    assert code == 2
    assert (
        lines[0]
        == f"eegmon: error: {bad}: not an EDF or BDF file (its first 8 bytes are not a version)"
    )
    assert lines[1].startswith(f"eegmon scan: {eegmmidb}: 60.0 s")
    assert lines[2] == "eegmon: error: 1 of 2 inputs could not be scanned"


@pytest.mark.parametrize("case", ["random bytes .fif", "truncated signal headers"])
def test_real_process_prints_no_traceback_nor_library_warnings(
    case: str, eegmmidb: Path, tmp_path: Path
) -> None:
    make, problem = CASES[case]
    path = make(eegmmidb.read_bytes(), tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "eegmon", "scan", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [done.stderr.strip()]
    assert problem in done.stderr
    assert "Traceback" not in done.stderr
