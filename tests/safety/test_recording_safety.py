"""Recordings: never overwritten, private, and naming only the patient's code."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np

from detector import Block, StreamMeta
from streamer.recordings.recorder import Recorder, free_path

RATE = 64.0
META = StreamMeta("bed-9", "amp-9", ("Fz", "Cz", "Pz"), RATE)


def record(path: Path, seconds: float = 3.0, **options: object) -> Recorder:
    rec = Recorder(path, META, **options)  # type: ignore[arg-type]
    data = (np.random.default_rng(0).standard_normal((3, round(seconds * RATE))) * 40).astype(
        np.float32
    )
    rec.block(Block(data, 100.0 + np.arange(data.shape[1]) / RATE, 0))
    rec.close()
    return rec


def test_an_existing_recording_is_left_byte_for_byte_and_the_next_name_is_used(
    tmp_path: Path,
) -> None:
    night = tmp_path / "night.edf"
    first = record(night)
    before = night.read_bytes()
    second = record(night)
    third = record(night)
    assert first.files == [night]
    assert second.files == [tmp_path / "night-2.edf"]
    assert third.files == [tmp_path / "night-3.edf"]
    assert night.read_bytes() == before
    for path in (night, *second.files, *third.files):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_rotated_segments_are_never_overwritten_either(tmp_path: Path) -> None:
    night = tmp_path / "night.edf"
    first = record(night, seconds=5.0, rotate_s=2.0)
    assert [p.name for p in first.files] == ["night-001.edf", "night-002.edf", "night-003.edf"]
    before = {p: p.read_bytes() for p in first.files}
    second = record(night, seconds=3.0, rotate_s=2.0)
    assert [p.name for p in second.files] == ["night-2-001.edf", "night-2-002.edf"]
    assert {p: p.read_bytes() for p in first.files} == before


def test_free_path_skips_files_and_their_numbered_segments(tmp_path: Path) -> None:
    night = tmp_path / "night.edf"
    assert free_path(night) == night
    (tmp_path / "night-001.edf").write_bytes(b"")
    assert free_path(night) == tmp_path / "night-2.edf"
    (tmp_path / "night-2.edf").symlink_to(tmp_path / "nowhere")
    assert free_path(night) == tmp_path / "night-3.edf"


def test_the_header_holds_the_patient_code_and_the_session(tmp_path: Path) -> None:
    night = tmp_path / "night.edf"
    record(night, patient="P-0042", session="0123456789ab")
    header = night.read_bytes()[:256].decode("ascii")
    assert header[8:88].rstrip() == "P-0042 X X X"
    assert header[88:168].split()[2:4] == ["0123456789ab", "X"]
    record(tmp_path / "anonymous.edf")
    assert (tmp_path / "anonymous.edf").read_bytes()[8:88].rstrip() == b"X X X X"
