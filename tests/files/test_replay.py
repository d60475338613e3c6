"""`eegmon replay`: a real file on real LSL, sample for sample, annotations at their times."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np
import pylsl
import pytest

from detector.types import Block, StreamMeta
from streamer.recordings.files import content_id, open_recording
from streamer.recordings.recorder import Recorder

pytestmark = pytest.mark.slow


def inlet(name: str) -> pylsl.StreamInlet:
    found = pylsl.resolve_byprop("name", name, timeout=15)
    assert found, f"no LSL stream {name!r}"
    stream = pylsl.StreamInlet(found[0], max_buflen=360)
    stream.info(timeout=5)  # the full description, while the outlet surely exists
    stream.open_stream(timeout=5)
    return stream


def pull(stream: pylsl.StreamInlet, n: int, timeout: float) -> tuple[np.ndarray, np.ndarray]:
    chunks, stamps = [], []
    got, deadline = 0, time.monotonic() + timeout
    while got < n and time.monotonic() < deadline:
        data, ts = stream.pull_chunk(timeout=0.2, max_samples=4096)
        if ts:
            chunks.append(np.asarray(data, dtype=np.float32))
            stamps.extend(ts)
            got += len(ts)
    assert got >= n, f"received {got} of {n} samples"
    return np.concatenate(chunks).T, np.asarray(stamps)


def test_replay_publishes_the_file_exactly_with_its_annotations(
    eegmon, unique_name: str, test_data: Path
) -> None:
    path = test_data / "eegmmidb_S001" / "S001R03.edf"
    player = eegmon("replay", str(path), "--speed", "max", "--name", unique_name)
    player.wait_line("waiting for an inlet")
    markers = inlet(f"{unique_name}-markers")  # subscribed first: no marker is missed
    eeg = inlet(unique_name)
    info = eeg.info(timeout=5)
    with open_recording(path) as rec:
        expected = rec.read(0, rec.n_samples)
        labels, annotations, rate = rec.labels, rec.annotations, rec.rate
    data, stamps = pull(eeg, expected.shape[1], timeout=30)
    assert player.process.wait(15) == 0
    player.stop()  # joins the output reader
    assert "eegmon replay: finished after 20000 samples (1 passes)" in player.lines
    np.testing.assert_array_equal(data, expected)  # the file's float32 µV, bit for bit
    t0 = stamps[0]
    np.testing.assert_allclose(stamps - t0, np.arange(len(stamps)) / rate, atol=1e-6)
    assert info.source_id() == content_id(path)
    assert info.type() == "EEG"
    channel = info.desc().child("channels").child("channel")
    assert (channel.child_value("label"), channel.child_value("unit")) == (labels[0], "microvolts")
    notes = []
    while len(notes) < len(annotations):
        sample, stamp = markers.pull_sample(timeout=5)
        assert sample is not None, f"{len(notes)} of {len(annotations)} annotations arrived"
        notes.append((json.loads(sample[0]), stamp))
    assert [n["annotation"] for n, _ in notes] == [a.text for a in annotations]
    for note, stamp in notes:
        assert stamp - t0 == pytest.approx(note["onset"], abs=1e-6)


def test_replay_start_speed_loop_and_ctrl_c(eegmon, unique_name: str, tmp_path: Path) -> None:
    rate = 128.0
    meta = StreamMeta("gen", "gen", ("Fz", "Cz"), rate)
    rec = Recorder(tmp_path / "two_s.edf", meta)
    ramp = np.vstack([np.arange(256), -np.arange(256)]).astype(np.float32)
    rec.block(Block(ramp, np.arange(256) / rate, 0))
    rec.close()
    with open_recording(rec.path) as r:
        values = r.read(0, r.n_samples)
    assert values.shape == (2, 256)
    player = eegmon(
        "replay", str(rec.path), "--speed", "4", "--start", "1", "--loop", "--name", unique_name
    )
    player.wait_line("waiting for an inlet")
    eeg = inlet(unique_name)
    begun = time.monotonic()
    data, stamps = pull(eeg, 128 + 2 * 256, timeout=20)  # 1 s from --start, then two passes
    took = time.monotonic() - begun
    got = data[:, : 128 + 2 * 256]
    np.testing.assert_array_equal(got, np.concatenate([values[:, 128:], values, values], axis=1))
    steps = np.diff(stamps[: 128 + 2 * 256])
    np.testing.assert_allclose(steps, 1 / rate, atol=1e-6)  # one continuous stream across passes
    assert 5.0 / 4 * 0.7 < took < 5.0 / 4 * 3, f"5 s of file at 4x took {took:.2f} s"
    assert player.stop(signal.SIGINT) == 0
    assert any("eegmon replay: stopped after" in line for line in player.lines)
