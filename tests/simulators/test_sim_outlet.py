import json
import threading
import time
import uuid

import numpy as np
import pylsl
import pytest

from simulators.outlet import Simulator
from simulators.scenario import parse_scenario


class Counter:
    """A sample source whose first channel is the sample index: gaps show exactly."""

    def __init__(self, n_channels):
        self.n_channels = n_channels
        self.next = 0

    def generate(self, n):
        out = np.zeros((self.n_channels, n), np.float32)
        out[0] = np.arange(self.next, self.next + n)
        self.next += n
        return out


class Recorder:
    """Stands in for a pylsl outlet and checks what a real inlet would receive."""

    def __init__(self, rate):
        self.rate = rate
        self.indices = []
        self.last_stamp = -np.inf
        self.samples = []
        self.stamps = []
        self.chunks = []
        self.chunk_stamps = []

    def push_chunk(self, chunk, timestamp):
        first_stamp = timestamp - (len(chunk) - 1) / self.rate
        assert first_stamp > self.last_stamp, "timestamps must strictly increase"
        self.last_stamp = timestamp
        self.indices.append((int(chunk[0, 0]), int(chunk[-1, 0]), timestamp))
        self.chunks.append(chunk.copy())
        self.chunk_stamps.append(timestamp)

    def push_sample(self, sample, timestamp):
        self.samples.append(json.loads(sample[0]))
        self.stamps.append(timestamp)


class FakeClockSimulator(Simulator):
    """A simulator on a fake clock whose every sleep oversleeps a little."""

    def __init__(self, jitter_s, **kwargs):
        self.now = 5000.0
        self.rng = np.random.default_rng(1)
        self.jitter_s = jitter_s
        self.worst_lag = 0
        self.worst_lead = 0
        super().__init__(clock=lambda: self.now, sleep=self.fake_sleep, **kwargs)

    def fake_sleep(self, seconds):
        assert seconds > 0
        expected = (self.now - self.t0) * self.rate
        self.worst_lag = max(self.worst_lag, expected - self.index)
        self.worst_lead = max(self.worst_lead, self.index - expected)
        self.now += seconds + self.rng.exponential(self.jitter_s)

    def open(self):
        self.t0 = self.now
        self._eeg = self.data_out = Recorder(self.rate)
        self._markers = self.marker_out = Recorder(self.rate)
        return self._eeg, self._markers


def test_eight_hours_of_fake_clock_keep_pace_without_drift():
    hours = 8
    sim = FakeClockSimulator(
        jitter_s=0.3,
        n_channels=8,
        rate=128.0,
        chunk_s=0.05,
        duration=hours * 3600,
        source=Counter(8),
    )
    stats = sim.run()
    expected = hours * 3600 * 128
    assert stats.pushed == stats.samples == expected
    # at every wake-up, never ahead of the clock and behind by less than one chunk
    chunk = round(0.05 * 128)
    assert sim.worst_lead <= 1
    assert sim.worst_lag < chunk
    # every sample once, in order, stamped t0 + i / rate
    runs = np.array(sim.data_out.indices)
    assert runs[0, 0] == 0
    assert runs[-1, 1] == expected - 1
    assert (runs[1:, 0] == runs[:-1, 1] + 1).all()
    np.testing.assert_allclose(runs[:, 2], sim.t0 + runs[:, 1] / 128.0, rtol=0, atol=1e-6)
    assert (runs[:, 1] - runs[:, 0] + 1 <= chunk).all()


def test_what_is_published_does_not_depend_on_chunking_or_scheduling():
    def published(chunk_s, jitter_s):
        sim = FakeClockSimulator(
            jitter_s=jitter_s, chunk_s=chunk_s, duration=150.0, scenario="all_faults", seed=9
        )
        sim.run()
        out = sim.data_out
        stamps = np.concatenate(
            [
                ts - np.arange(len(c))[::-1] / sim.rate
                for c, ts in zip(out.chunks, out.chunk_stamps, strict=True)
            ]
        )
        return np.concatenate(out.chunks), stamps - sim.t0

    data_a, stamps_a = published(0.02, 0.001)
    data_b, stamps_b = published(0.05, 0.5)
    np.testing.assert_array_equal(data_a, data_b)
    np.testing.assert_allclose(stamps_a, stamps_b, atol=1e-9)
    assert len(data_a) == 150 * 256 - 128  # minus the 0.5 s of dropped samples
    assert np.isnan(data_a).any()  # the bad_values event is in there


def test_holes_and_markers_follow_the_scenario():
    scenario = parse_scenario(
        '[[event]]\nkind = "flatline"\nat = 1.0\nduration = 0.5\nchannels = ["O1"]\n'
        '[[event]]\nkind = "samples_dropped"\nat = 2.0\nduration = 0.25\n'
        '[[event]]\nkind = "pause"\nat = 3.0\nduration = 1.0\n'
    )
    sim = FakeClockSimulator(
        jitter_s=0.01, n_channels=8, rate=256.0, duration=5.0, scenario=scenario, source=Counter(8)
    )
    sim.run()
    pushed = np.concatenate([np.arange(a, b + 1) for a, b, _ in sim.data_out.indices])
    missing = sorted(set(range(5 * 256)) - set(pushed.tolist()))
    assert missing == list(range(512, 512 + 64)) + list(range(768, 768 + 256))

    kinds = [(m["event"], m["phase"]) for m in sim.marker_out.samples]
    assert kinds == [
        ("flatline", "start"),
        ("flatline", "end"),
        ("samples_dropped", "start"),
        ("samples_dropped", "end"),
        ("pause", "start"),
        ("pause", "end"),
    ]
    first = sim.marker_out.samples[0]
    assert first["channels"] == ["O1"]
    assert first["expect"] == "flatline"
    assert first["onset"] == pytest.approx(sim.t0 + 1.0)
    assert sim.marker_out.samples[4]["expect"] == "signal_lost"
    np.testing.assert_allclose(
        sim.marker_out.stamps, sim.t0 + np.array([1.0, 1.5, 2.0, 2.25, 3.0, 4.0]), atol=1e-9
    )


@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [
        ({"n_channels": 20}, "20"),
        ({"rate": 100.0}, "100.0"),
        ({"chunk_s": 0.01}, "0.01"),
        ({"chunk_s": 0.2}, "0.2"),
        ({"duration": -1.0}, "-1.0"),
        ({"name": ""}, "''"),
        ({"seed": -3}, "-3"),
        ({"source_id": " "}, "' '"),
        ({"scenario": "no-such-scenario"}, "'no-such-scenario'"),
    ],
)
def test_bad_arguments_are_refused_quoting_the_value(kwargs, quoted):
    with pytest.raises(ValueError, match=quoted):
        Simulator(**kwargs)


def test_scenario_channels_must_exist_in_the_stream():
    with pytest.raises(ValueError, match="'T8'"):
        Simulator(n_channels=8, scenario="demo")


def test_options_beat_the_scenario_stream_settings_and_ids_are_stable():
    sim = Simulator.from_options(scenario="demo", rate=512.0)
    assert sim.rate == 512.0  # given on the command line
    assert sim.n_channels == 19  # from the scenario
    assert sim.source_id == "eegmon-sim-0-19x512"
    assert sim.markers_name == "eegmon-sim-markers"
    line = sim.summary()
    assert "'eegmon-sim'" in line
    assert "eegmon-sim-0-19x512" in line
    assert "demo" in line
    assert Simulator(seed=4, n_channels=32, rate=256.0).source_id == "eegmon-sim-4-32x256"


def _labels_and_units(info):
    channel = info.desc().child("channels").child("channel")
    found = []
    while not channel.empty():
        found.append(
            (
                channel.child_value("label"),
                channel.child_value("unit"),
                channel.child_value("type"),
            )
        )
        channel = channel.next_sibling()
    return found


def test_a_real_inlet_receives_metadata_continuous_samples_and_ground_truth():
    name = f"eegmon-test-{uuid.uuid4().hex}"
    scenario = parse_scenario(
        '[[event]]\nkind = "flatline"\nat = 1.0\nduration = 0.5\nchannels = ["O1"]\n'
        '[[event]]\nkind = "samples_dropped"\nat = 2.0\nduration = 0.25\n'
    )
    sim = Simulator(name=name, n_channels=8, rate=256.0, scenario=scenario, seed=3)
    stop = threading.Event()
    result = {}
    sim.open()
    try:
        (info,) = pylsl.resolve_byprop("name", name, timeout=5.0)
        (marker_info,) = pylsl.resolve_byprop("name", sim.markers_name, timeout=5.0)
        inlet = pylsl.StreamInlet(info, recover=False)
        markers = pylsl.StreamInlet(marker_info, recover=False)
        inlet.open_stream(timeout=5.0)
        markers.open_stream(timeout=5.0)
        full = inlet.info(timeout=5.0)
        assert full.type() == "EEG"
        assert full.nominal_srate() == 256.0
        assert full.channel_format() == pylsl.cf_float32
        assert full.source_id() == sim.source_id
        assert _labels_and_units(full) == [(lab, "microvolts", "EEG") for lab in sim.labels]
        assert full.desc().child("acquisition").child_value("manufacturer") == "eegmon"
        assert marker_info.type() == "Markers"
        assert marker_info.source_id() == f"{sim.source_id}-markers"

        thread = threading.Thread(target=lambda: result.update(stats=sim.run(stop)))
        thread.start()
        data, stamps, events, event_stamps = [], [], [], []
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and len(stamps) < int(2.8 * 256):
            chunk, ts = inlet.pull_chunk(timeout=0.2)
            data.extend(chunk)
            stamps.extend(ts)
            got, got_ts = markers.pull_chunk(timeout=0.0)
            events.extend(got)
            event_stamps.extend(got_ts)
        time.sleep(0.1)
        got, got_ts = markers.pull_chunk(timeout=0.5)
        events.extend(got)
        event_stamps.extend(got_ts)
    finally:
        stop.set()
        sim.stop()
    thread.join(timeout=5.0)
    assert not thread.is_alive()
    assert sim._eeg is None  # outlets destroyed

    t0 = result["stats"].t0
    stamps = np.array(stamps)
    data = np.array(data)
    index = np.round((stamps - t0) * 256).astype(int)
    np.testing.assert_allclose(stamps, t0 + index / 256.0, atol=1e-6)
    assert index[0] == 0
    steps = np.diff(index)
    assert set(steps.tolist()) == {1, 65}  # continuous except the 0.25 s hole
    assert index[np.flatnonzero(steps == 65)[0]] == 511
    o1 = sim.labels.index("O1")
    flat = (index >= 256) & (index < 384)
    assert (data[flat, o1] == 0.0).all()
    assert np.abs(data[~flat, o1]).max() > 1.0
    decoded = [json.loads(e[0]) for e in events]
    assert [(d["event"], d["phase"]) for d in decoded] == [
        ("flatline", "start"),
        ("flatline", "end"),
        ("samples_dropped", "start"),
        ("samples_dropped", "end"),
    ]
    np.testing.assert_allclose(event_stamps, t0 + np.array([1.0, 1.5, 2.0, 2.25]), atol=1e-6)


def test_stop_ends_a_run_promptly():
    sim = Simulator(name=f"eegmon-test-{uuid.uuid4().hex}", n_channels=8, rate=128.0)
    thread = threading.Thread(target=sim.run)
    thread.start()
    time.sleep(0.3)
    sim.stop()
    thread.join(timeout=2.0)
    assert not thread.is_alive()
    assert sim.pushed > 0
    with pytest.raises(RuntimeError, match="already run"):
        sim.run()
