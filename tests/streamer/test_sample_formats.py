"""Every numeric LSL sample format on real outlets, and MNE-LSL's player into a real monitor.

Each outlet carries realistic simulated EEG with one electrode held flat at its
offset: acquisition must deliver every sample in µV, whatever the sample type
or the unit the device declares, and the monitor must find that flatline on
that channel and call no healthy channel flat.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pylsl
import pytest

from detector.types import Block
from simulators.eeg import SleepEEG
from streamer.live.acquisition import Acquisition
from streamer.live.lsl import Selector, resolve
from tests.support import FeedProbe, Proc, wait_for

pytestmark = pytest.mark.slow

RATE = 256.0
LABELS = ["Fz", "Cz", "Pz", "O1", "O2"]
FLAT = "Pz"


class Pusher:
    """Pushes simulated EEG of one sample type into an outlet, in real time, on a thread."""

    def __init__(self, outlet: pylsl.StreamOutlet, dtype: type[np.number], scale: float) -> None:
        self.outlet, self.dtype, self.scale = outlet, dtype, scale
        self.eeg = SleepEEG(LABELS, rate=RATE, seed=4)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        t0 = pylsl.local_clock()
        sent = 0
        while not self.stop.wait(0.05):
            due = int((pylsl.local_clock() - t0) * RATE) - sent
            if due <= 0:
                continue
            data = self.eeg.generate(due)
            data[LABELS.index(FLAT)] = 3.0  # an electrode off sits at its offset
            samples = data.T * self.scale
            if np.issubdtype(self.dtype, np.integer):
                info = np.iinfo(self.dtype)
                samples = np.clip(np.round(samples), info.min, info.max)
            stamps = t0 + (sent + np.arange(due)) / RATE
            self.outlet.push_chunk(np.ascontiguousarray(samples, dtype=self.dtype), stamps.tolist())
            sent += due

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


@pytest.fixture
def publish() -> Iterator[Callable[[str, str, type[np.number], str, float], Pusher]]:
    pushers: list[Pusher] = []

    def start(name: str, fmt: str, dtype: type[np.number], unit: str, scale: float) -> Pusher:
        info = pylsl.StreamInfo(name, "EEG", len(LABELS), RATE, fmt, f"{name}-amp")
        channels = info.desc().append_child("channels")
        for label in LABELS:
            channel = channels.append_child("channel")
            channel.append_child_value("label", label)
            if unit:
                channel.append_child_value("unit", unit)
        pusher = Pusher(pylsl.StreamOutlet(info), dtype, scale)
        pushers.append(pusher)
        return pusher

    yield start
    for pusher in pushers:
        pusher.close()


def start_monitor(eegmon: Callable[..., Proc], name: str) -> Proc:
    return eegmon("monitor", "--stream", name, "--feed-port", "0", "--quiet")


def connect(monitor: Proc, feed_client: Callable[..., FeedProbe]) -> FeedProbe:
    url = monitor.wait_line("feed at ", timeout=60).split("feed at ")[1].strip()
    return feed_client(url)


def watch(eegmon: Callable[..., Proc], feed_client: Callable[..., FeedProbe], name: str):
    monitor = start_monitor(eegmon, name)
    return monitor, connect(monitor, feed_client)


#: Each LSL sample format, with a unit its devices declare (none: µV) and the factor to it.
FORMATS = [
    ("float32", np.float32, "microvolts", 1.0),
    ("double64", np.float64, "volts", 1e-6),
    ("int8", np.int8, "", 1.0),
    ("int16", np.int16, "", 1.0),
    ("int32", np.int32, "nanovolts", 1e3),
    ("int64", np.int64, "microvolts", 1.0),
]
SCALES = {fmt: scale for fmt, _, _, scale in FORMATS}


def test_every_numeric_format_arrives_in_microvolts_exactly(publish, unique_name: str) -> None:
    """One outlet per format, all at once, each read by acquisition as the monitor reads it.

    Every sample must arrive, converted once to float32 µV: the flat electrode at
    its 3 µV offset and the others at the values pushed, whatever the type or unit.
    """
    acquisitions = {}
    try:
        for fmt, dtype, unit, scale in FORMATS:
            name = f"{unique_name}-{fmt}"
            publish(name, fmt, dtype, unit, scale)
            acquisitions[fmt] = Acquisition(resolve(Selector("name", name), timeout=5))
        for fmt, acquisition in acquisitions.items():
            assert acquisition.meta.labels == tuple(LABELS), fmt
            blocks: list[Block] = []

            def two_seconds(a: Acquisition = acquisition, got: list[Block] = blocks) -> bool:
                got.extend(a.read(timeout=0.05))
                return sum(b.n_samples for b in got) >= 2 * RATE

            wait_for(two_seconds, 10, f"two seconds of {fmt}")
            data = np.concatenate([b.data for b in blocks], axis=1)
            assert data.dtype == np.float32, fmt
            np.testing.assert_allclose(data[LABELS.index(FLAT)], 3.0, rtol=1e-6, err_msg=fmt)
            healthy = np.delete(data, LABELS.index(FLAT), axis=0)
            assert 2.0 < float(healthy.std()) < 500.0, f"{fmt}: not in microvolts"
            if fmt in ("int8", "int16", "int32", "int64"):  # rounded to whole units pushed
                units = healthy.astype(np.float64) * SCALES[fmt]
                np.testing.assert_allclose(units, np.round(units), atol=1e-2, err_msg=fmt)
            stamps = np.concatenate([b.timestamps for b in blocks])
            assert np.allclose(np.diff(stamps), 1 / RATE, atol=1e-6), f"{fmt}: samples missing"
    finally:
        for acquisition in acquisitions.values():
            acquisition.close()


def test_a_string_stream_is_refused_in_one_line(eegmon, unique_name: str) -> None:
    info = pylsl.StreamInfo(unique_name, "EEG", 2, RATE, "string", f"{unique_name}-s")
    outlet = pylsl.StreamOutlet(info)
    monitor = eegmon("monitor", "--stream", unique_name, "--feed-port", "0", "--quiet")
    assert monitor.process.wait(30) == 2
    monitor.stop()
    errors = [line for line in monitor.lines if line.startswith("eegmon")]
    assert any("carries strings, not EEG samples" in line for line in errors), monitor.lines
    assert not [line for line in monitor.lines if "Traceback" in line]
    del outlet


def test_mne_lsl_player_into_a_monitor(
    eegmon, feed_client, unique_name: str, test_data: Path
) -> None:
    """MNE-LSL publishes float64 in volts, its unit a power of ten ("0")."""
    mne = pytest.importorskip("mne")
    player_lsl = pytest.importorskip("mne_lsl.player")
    edf = test_data / "eegmmidb_S001" / "S001R01.edf"
    raw = mne.io.read_raw_edf(edf, preload=True, verbose="error")
    raw.pick(raw.ch_names[:8])
    flat = raw.ch_names[2]
    raw._data[2] = 4e-6  # that electrode off, at a 4 µV offset
    player = player_lsl.PlayerLSL(raw, chunk_size=16, name=unique_name, source_id=unique_name)
    player.start()
    try:
        monitor, client = watch(eegmon, feed_client, unique_name)
        hello = client.wait(lambda m: m["type"] == "hello", 10, "hello")
        labels = hello["stream"]["labels"]
        assert labels == raw.ch_names
        found = client.wait(
            lambda m: m["type"] == "alert" and m["alert"]["kind"] == "flatline", 30, "a flatline"
        )["alert"]
        assert found["channels"] == [flat]
        traces = client.wait(lambda m: m["type"] == "traces", 10, "traces")
        healthy = np.array(traces["data"][0], dtype=float)
        assert 1.0 < np.nanstd(healthy) < 500.0, "volts were not converted to microvolts"
        client.wait(lambda m: m["type"] == "status" and m["samples"] > 6 * raw.info["sfreq"], 30,
                    "six seconds of samples")  # fmt: skip
        called_flat = {
            ch
            for m in client.of_type("alert")
            if m["alert"]["kind"] == "flatline"
            for ch in m["alert"]["channels"]
        }
        assert called_flat == {flat}
        assert monitor.process.poll() is None
    finally:
        player.stop()
