"""Bad samples: NaN and Inf bursts, absurd amplitudes, streams that are not EEG.

The monitor runs in this process on a real LSL inlet so the test can read
what its model learned window by window: nothing while the samples are bad.
"""

from __future__ import annotations

import uuid

import numpy as np
import pylsl
import pytest

from detector import Detector, DetectorConfig
from detector.types import Block
from streamer.live.acquisition import Acquisition
from streamer.live.lsl import Selector, resolve
from streamer.live.monitor import Monitor
from tests.reliability.harness import SOAK, CounterOutlet, running, scaled
from tests.support import wait_for

pytestmark = pytest.mark.slow

RATE = 256.0


class Learning:
    """A sink noting what the model had learned after each block, and every alert event.

    Both are stamped with the stream time of the newest sample, so they can be
    placed against the bursts.
    """

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.now = 0.0
        self.rows: list[tuple[float, int]] = []  # (stream time, learned windows)
        self.events: list[tuple[float, str, str]] = []  # (stream time, kind, event)

    def block(self, block: Block) -> None:
        self.now = float(block.timestamps[-1])
        self.rows.append((self.now, self.detector.learned_windows))

    def alert(self, event: str, alert: dict) -> None:
        self.events.append((self.now, alert["kind"], event))

    def status(self) -> dict:
        return {}

    def close(self) -> None:
        pass

    def learned_between(self, start: float, end: float) -> int:
        inside = [n for t, n in self.rows if start <= t <= end]
        return inside[-1] - inside[0] if inside else -1

    def kinds_between(self, start: float, end: float) -> list[str]:
        """Alert kinds active at some moment between `start` and `end`."""
        active: set[str] = set()
        seen: set[str] = set()
        for t, kind, event in self.events:
            if t > end:
                break
            if event == "cleared":
                active.discard(kind)
            else:
                active.add(kind)
            if t >= start:
                seen |= active
        return sorted(seen | active)


BURSTS = {
    "NaN": np.nan,
    "+Inf": np.inf,
    "-Inf": -np.inf,
    "absurd 1e6 µV": 1e6,
    "absurd 3e38 µV": 3e38,
}


def test_bad_values_are_flagged_never_learned_and_monitoring_goes_on(
    unique_name: str, figures
) -> None:
    """Bursts of invalid or absurd samples on every channel but the counter, one after another."""
    burst_s = scaled(1.0, 5.0)
    bursts = ["NaN", "+Inf", "absurd 3e38 µV"] if not SOAK else list(BURSTS)
    figures.fault = f"{burst_s:g} s bursts: " + ", ".join(bursts) + "; 1.5 s clean between"
    figures.load = "8 ch × 256 Hz, real time; detector warm-up 10 windows"
    schedule: list[tuple[str, int, int]] = []  # (what, first index, end index)

    def inject(chunk: np.ndarray, index: np.ndarray) -> np.ndarray:
        for what, first, end in schedule:
            chunk[(index >= first) & (index < end), 1:] = BURSTS[what]
        return chunk

    outlet = CounterOutlet(unique_name, f"amp-{uuid.uuid4().hex[:6]}", tamper=inject).start()
    acquisition = Acquisition(resolve(Selector("name", unique_name), 10))
    detector = Detector(acquisition.meta, DetectorConfig(warmup_windows=10))
    learning = Learning(detector)
    messages: list[dict] = []
    mon = Monitor(acquisition, detector, publish=messages.append, sinks=[learning])
    outlet.wait_consumer()
    with running(mon, outlet) as thread:
        wait_for(lambda: not detector.warming_up, 30, "the model to warm up")
        first = outlet.due() + int(0.5 * RATE)
        for what in bursts:
            schedule.append((what, first, first + int(burst_s * RATE)))
            first += int((burst_s + 1.5) * RATE)
        last_bad = outlet.t0 + schedule[-1][2] / RATE
        wait_for(lambda: learning.now > last_bad + 1.0, 60, "the bursts")
        learned_at_end = detector.learned_windows
        wait_for(lambda: detector.learned_windows > learned_at_end, 60, "the model to learn again")
        resumed_after = learning.now - last_bad
        assert thread.is_alive(), "the monitor stopped"
    results = {}
    for what, first, end in schedule:
        start_t, end_t = outlet.t0 + first / RATE, outlet.t0 + end / RATE
        results[what] = {
            # Windows (1 s) that overlap a burst end up to 1 s after its last sample.
            "learned_during": learning.learned_between(start_t, end_t + 1.0),
            "alerts": learning.kinds_between(start_t, end_t + 1.5),
        }
    traces = [m for m in messages if m["type"] == "traces"]
    figures.update(
        results,
        learning_resumed_after_s=round(resumed_after, 1),
        samples_dropped=acquisition.stats.samples_dropped,
    )
    for what, found in results.items():
        assert found["learned_during"] == 0, f"the model learned from {what}"
        assert found["alerts"], f"no alert for {what}"
    for what in {"NaN", "+Inf", "-Inf", "absurd 3e38 µV"} & set(results):
        assert "bad_values" in results[what]["alerts"], what
    assert resumed_after < 30
    assert all(v is None or np.isfinite(v) for m in traces for row in m["data"] for v in row)


def test_streams_that_are_not_eeg_are_refused_clearly(eegmon, unique_name: str, figures) -> None:
    """A string-format stream and an irregular-rate stream under the monitored name."""
    figures.fault = "a string stream; an irregular-rate float32 stream"
    figures.load = "one monitor start each"
    infos = {
        "string": pylsl.StreamInfo(f"{unique_name}-s", "EEG", 8, RATE, "string", "s-1"),
        "irregular": pylsl.StreamInfo(f"{unique_name}-i", "EEG", 8, 0, "float32", "i-1"),
    }
    outlets = [pylsl.StreamOutlet(info) for info in infos.values()]
    # Started together: each monitor sees only the stream it names, and exits on its own.
    procs = {
        what: eegmon("monitor", "--stream", info.name(), "--feed-port", "0")
        for what, info in infos.items()
    }
    results = {}
    for what, proc in procs.items():
        code = proc.process.wait(60)
        proc.stop()
        results[what] = {"exit": code, "lines": proc.lines}
    del outlets
    figures.update({k: {"exit": v["exit"], "said": v["lines"][-1:]} for k, v in results.items()})
    assert results["string"]["exit"] == 2
    assert results["irregular"]["exit"] == 2
    assert results["string"]["lines"] == [
        f"eegmon: error: stream '{unique_name}-s' carries strings, not EEG samples"
    ]
    assert "irregular rate" in results["irregular"]["lines"][-1]
    assert not any("Traceback" in line for r in results.values() for line in r["lines"])
