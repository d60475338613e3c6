"""BrainFlow boards published on LSL: BrainFlow's synthetic and playback boards, real outlets."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pylsl
import pytest

from streamer.boards import BoardError, BoardPublisher, BoardSettings, board_id
from tests.support import wait_for

brainflow = pytest.importorskip("brainflow")

#: BrainFlow's synthetic board: 16 EEG channels at 250 Hz; channel k carries a 5k Hz sine
#: whose amplitude grows with k (about 10 µV rms on channel 1).
SYNTHETIC_LABELS = ["Fz", "C3", "Cz", "C4", "Pz", "PO7", "Oz", "PO8"]


@pytest.fixture
def publish() -> Iterator:
    started: list[tuple[threading.Thread, threading.Event]] = []

    def start(settings: BoardSettings) -> BoardPublisher:
        publisher = BoardPublisher(settings, say=lambda line: None)
        stop = threading.Event()
        thread = threading.Thread(target=publisher.run, args=(stop,), daemon=True)
        thread.start()
        started.append((thread, stop))
        return publisher

    yield start
    for thread, stop in started:
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the publisher did not stop"


def pull(name: str, seconds: float) -> tuple[pylsl.StreamInfo, np.ndarray, np.ndarray]:
    found = pylsl.resolve_byprop("name", name, timeout=10)
    assert found, f"no stream {name}"
    inlet = pylsl.StreamInlet(found[0])
    info = inlet.info(timeout=5)
    chunks, stamps = [], []
    rate = info.nominal_srate()

    def enough() -> bool:
        data, ts = inlet.pull_chunk(timeout=0.1)
        if ts:
            chunks.append(np.asarray(data))
            stamps.extend(ts)
        return len(stamps) >= seconds * rate

    wait_for(enough, seconds + 15, f"{seconds} s of samples from {name}")
    inlet.close_stream()
    return info, np.concatenate(chunks).T, np.asarray(stamps)


def labels_of(info: pylsl.StreamInfo) -> list[str]:
    channel = info.desc().child("channels").child("channel")
    labels = []
    while not channel.empty():
        labels.append(channel.child_value("label"))
        channel = channel.next_sibling("channel")
    return labels


def test_the_synthetic_board_is_a_labelled_microvolt_eeg_stream(publish, unique_name: str) -> None:
    publish(BoardSettings("synthetic", name=unique_name))
    info, data, stamps = pull(unique_name, 4.0)
    assert info.type() == "EEG"
    assert info.nominal_srate() == 250.0
    assert info.channel_count() == 16
    assert info.source_id() == "brainflow-synthetic-default"
    assert labels_of(info)[:8] == SYNTHETIC_LABELS
    assert info.desc().child("channels").child("channel").child_value("unit") == "microvolts"
    centred = data - data.mean(axis=1, keepdims=True)
    freqs = np.fft.rfftfreq(centred.shape[1], 1 / 250.0)
    peaks = freqs[np.abs(np.fft.rfft(centred, axis=1)).argmax(axis=1)]
    np.testing.assert_allclose(peaks[:8], 5.0 * np.arange(1, 9), atol=0.5)  # channel order
    assert 7.0 < centred[0].std() < 14.0, "channel 1 is not in microvolts"
    # The board's own spacing, on the LSL clock, in the present.
    np.testing.assert_allclose(np.median(np.diff(stamps)), 1 / 250.0, rtol=0.05)
    assert abs(stamps[-1] - pylsl.local_clock()) < 2.0


def test_a_playback_file_is_published_as_recorded(
    publish, unique_name: str, tmp_path: Path
) -> None:
    from brainflow.board_shim import BoardIds, BoardShim
    from brainflow.data_filter import DataFilter

    rate = BoardShim.get_sampling_rate(BoardIds.SYNTHETIC_BOARD)
    rows = BoardShim.get_num_rows(BoardIds.SYNTHETIC_BOARD)
    recorded = np.zeros((rows, 5 * rate))
    eeg = BoardShim.get_eeg_channels(BoardIds.SYNTHETIC_BOARD)
    recorded[eeg] = np.arange(1, len(eeg) + 1)[:, None] * 11.0  # channel k at 11 k µV
    recorded[BoardShim.get_timestamp_channel(BoardIds.SYNTHETIC_BOARD)] = (
        1.0e9 + np.arange(5 * rate) / rate  # recorded long ago
    )
    path = tmp_path / "night.csv"
    DataFilter.write_file(recorded, str(path), "w")
    publisher = publish(BoardSettings("playback", name=unique_name, file=path))
    assert publisher.source_id == "brainflow-playback-night.csv"
    _, data, stamps = pull(unique_name, 2.0)
    np.testing.assert_allclose(data[:, 0], 11.0 * np.arange(1, 17))
    assert abs(stamps[-1] - pylsl.local_clock()) < 2.0, "old stamps were not brought to the present"


def test_bad_boards_are_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(BoardError, match="unknown BrainFlow board 'cytn'"):
        board_id("cytn")
    with pytest.raises(BoardError, match="needs --file"):
        BoardPublisher(BoardSettings("playback"))
    with pytest.raises(BoardError, match="does not exist"):
        BoardPublisher(BoardSettings("playback", file=tmp_path / "missing.csv"))
