"""LSL faults on real outlets: outages, impostors, a stalled consumer, wrong clocks.

The monitor is a real ``eegmon monitor`` process where the feed and the
recording are checked, and the same `Monitor` run in this process where its
buffers and counters are read directly.

The outlets carry a sample counter (channel 0), so every gap the monitor
reports or records is checked against the samples really missing.
"""

from __future__ import annotations

import re
import signal
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pylsl
import pytest

from detector import Detector
from detector.types import Block
from streamer.live.acquisition import Acquisition
from streamer.live.lsl import Selector, resolve
from streamer.live.monitor import Monitor
from streamer.recordings.files import open_recording
from tests.reliability.harness import (
    CounterOutlet,
    acknowledge,
    alerts,
    decode_counter,
    gauge,
    last_status,
    outage_edges,
    running,
    samples,
    scaled,
    wait_alert,
    wait_back,
)
from tests.support import wait_for

pytestmark = pytest.mark.slow


def recorded(path: Path) -> tuple[np.ndarray, list[str]]:
    with open_recording(path) as rec:
        return rec.read(0, rec.n_samples), [a.text for a in rec.annotations]


def counter_gaps(counter: np.ndarray) -> list[int]:
    """Samples missing at each jump of a (wrapping) counter; a filled gap reads 0 µV."""
    steps = np.diff(counter) % 30_000
    return [int(s) - 1 for s in steps if s != 1]


def mark(chunk: np.ndarray, index: np.ndarray) -> np.ndarray:
    chunk[:, 1] = 1234.5  # what another device's samples look like
    return chunk


def test_outages_and_other_devices_under_the_same_name(
    monitor, unique_name: str, tmp_path: Path, figures
) -> None:
    """The amplifier goes away; while it is away others publish under its name; it comes back."""
    outages = int(scaled(1, 5))
    figures.fault = (
        f"{outages} outage(s) of 3+ s (outlet destroyed, then recreated with the same "
        "source_id); during the first, the same name with another source_id, and the same "
        "source_id with 19 channels instead of 8"
    )
    figures.load = "8 ch × 256 Hz, real time, recording on"
    source_id = f"amp-{uuid.uuid4().hex[:6]}"
    outlet = CounterOutlet(unique_name, source_id).start()
    path = tmp_path / "night.edf"
    proc, client = monitor(unique_name, "--record", str(path))
    outlet.wait_consumer()
    delays, back_delays, gaps = [], [], []
    for n in range(outages):
        wanted = samples(client) + 2 * 256
        wait_for(lambda w=wanted: samples(client) > w, 20, "2 s of data")
        outlet.stop()
        stopped_at = pylsl.local_clock()
        lost = wait_alert(client, "signal_lost", "raised", 10, after=n)
        delays.append(lost["published_at"] - stopped_at)
        if n == 0:
            other = CounterOutlet(unique_name, "amp-other", tamper=mark).start()
            wider = CounterOutlet(unique_name, source_id, n_channels=19, tamper=mark).start()
            wait_for(
                lambda: any("19 channels" in line and "refused" in line for line in proc.lines),
                15,
                "the 19-channel stream refused",
            )
            assert not outage_edges(client)[1], "another device was taken"
            other.stop()
            wider.stop()
        time.sleep(max(0.0, 3.0 - (pylsl.local_clock() - stopped_at)))
        outlet.start()
        back_at = pylsl.local_clock()
        back = wait_back(client, lost["id"], 15)
        back_delays.append(pylsl.local_clock() - back_at)
        gaps.append(int(back["evidence"]["gap_samples"]))
        # Latched until someone has seen the hole; acknowledged, the next outage is a new alert.
        assert back["state"] == "active"
        assert "is back" in back["message"]
        acknowledge(client, back)
    resumed = samples(client)
    wait_for(lambda: samples(client) > resumed + 256, 20, "data after the last outage")
    status = last_status(client)
    assert proc.stop(signal.SIGINT) == 0
    data, notes = recorded(path)
    counter = decode_counter(data[0])
    recorded_gaps = [int(m[1]) for t in notes if (m := re.match(r"gap: (\d+) samples", t))]
    in_file = counter_gaps(counter[counter != 0])
    foreign = int(np.sum(np.isclose(data[1], 1234.5, atol=0.06)))
    figures.update(
        outages=outages,
        alert_delay_s_max=round(max(delays), 3),
        back_delay_s_max=round(max(back_delays), 3),
        gap_samples=gaps,
        recorded_gaps=recorded_gaps,
        counter_gaps=in_file,
        samples_dropped=status["samples_dropped"],
        foreign_samples_recorded=foreign,
    )
    assert max(delays) <= 3.0, f"signal_lost after {max(delays):.2f} s"
    assert len(alerts(client, "signal_lost", "raised")) == outages  # one alert per outage
    assert gaps == recorded_gaps == in_file, "the gap recorded is the gap the counter shows"
    assert status["samples_dropped"] == sum(gaps)
    assert all(g >= 2.5 * 256 for g in gaps)
    assert foreign == 0, "samples of another device were recorded"


class Published(list):
    """The feed messages of an in-process monitor, read like a feed client's."""

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in list(self) if m["type"] == kind]


def in_process(name: str, **options) -> tuple[Acquisition, Detector, Monitor, Published]:
    """A monitor in this process on a real inlet; its feed messages land in a list."""
    acquisition = Acquisition(resolve(Selector("name", name), 10), **options)
    detector = Detector(acquisition.meta)
    messages = Published()
    return acquisition, detector, Monitor(acquisition, detector, publish=messages.append), messages


def test_outlet_without_source_id_is_never_taken_back_blindly(
    unique_name: str, figures, caplog: pytest.LogCaptureFixture
) -> None:
    """A stream without source_id cannot be told from another device once it is gone."""
    figures.fault = "outlet without source_id destroyed, a new one published under the same name"
    figures.load = "8 ch × 256 Hz, real time"
    outlet = CounterOutlet(unique_name, "").start()
    acquisition, _, mon, messages = in_process(unique_name)
    outlet.wait_consumer()
    with running(mon, outlet) as thread:
        wait_for(lambda: acquisition.stats.samples > 256, 20, "data")
        outlet.stop()
        stopped_at = pylsl.local_clock()
        lost = wait_for(
            lambda: next(
                (
                    m
                    for m in messages
                    if m["type"] == "alert" and m["alert"]["kind"] == "signal_lost"
                ),
                None,
            ),
            10,
            "signal_lost",
        )["alert"]
        again = CounterOutlet(unique_name, "").start()
        time.sleep(scaled(3, 10))  # several reconnection attempts
        returned = [  # the stream back: the latched alert ends (or clears)
            m
            for m in messages
            if m["type"] == "alert"
            and m["alert"]["kind"] == "signal_lost"
            and (m["alert"]["ended_at"] is not None or m["alert"]["state"] == "cleared")
        ]
        taken = again.outlet.have_consumers()
        assert thread.is_alive(), "the monitor stopped"
    again.stop()
    warned = [r.getMessage() for r in caplog.records if "no source_id" in r.getMessage()]
    figures.update(
        source_id_used=acquisition.meta.source_id,
        alert_delay_s=round(lost["published_at"] - stopped_at, 3),
        taken_back_by_the_newcomer=bool(returned),
        warning=warned[:1],
    )
    assert acquisition.meta.source_id, "a stream without source_id is still identified (uid)"
    assert lost["published_at"] - stopped_at <= 3.0
    assert lost["detected_at"] <= lost["published_at"], "the detector's stream time is kept"
    assert not returned, "an unidentified stream was taken back"
    assert not taken
    assert warned


class Stall:
    """A sink that blocks the monitor's thread once, as a stuck consumer would."""

    def __init__(self, after_samples: int, seconds: float) -> None:
        self.after_samples, self.seconds = after_samples, seconds
        self.seen = 0
        self.counter: list[np.ndarray] = []
        self.stalled = threading.Event()

    def block(self, block: Block) -> None:
        self.counter.append(decode_counter(block.data[0]))
        self.seen += block.n_samples
        if self.seen >= self.after_samples and not self.stalled.is_set():
            self.stalled.set()
            time.sleep(self.seconds)

    def alert(self, event: str, alert: dict) -> None:
        pass

    def status(self) -> dict:
        return {}

    def close(self) -> None:
        pass


def test_consumer_stalled_with_a_small_buffer(unique_name: str, figures) -> None:
    """The monitor's thread stops reading (10 s in the soak) while LSL keeps only 1-2 s."""
    stall_s, buffer_s = scaled(4, 10), int(scaled(1, 2))
    figures.fault = f"monitor thread blocked {stall_s:g} s; LSL inlet buffer {buffer_s} s"
    figures.load = "8 ch × 256 Hz, real time"
    outlet = CounterOutlet(unique_name, f"amp-{uuid.uuid4().hex[:6]}").start()
    stall = Stall(after_samples=2 * 256, seconds=stall_s)
    acquisition, detector, mon, messages = in_process(unique_name, buffer_s=buffer_s)
    mon.sinks = (stall,)
    outlet.wait_consumer()
    with running(mon, outlet) as thread:
        wait_for(stall.stalled.is_set, 20, "the stall")
        rss_stalled = gauge_self()
        learned, windows = detector.learned_windows, mon.windows
        wait_for(lambda: mon.windows > windows + 4, 30, "detection after the stall")
        rss_after = gauge_self()
        assert thread.is_alive(), "the monitor stopped"
    counter = np.concatenate(stall.counter)
    missing = counter_gaps(counter)
    dropped = [
        m for m in messages if m["type"] == "alert" and m["alert"]["kind"] == "samples_dropped"
    ]
    figures.update(
        samples_missing_by_counter=sum(missing),
        samples_dropped_counted=acquisition.stats.samples_dropped,
        samples_dropped_alert=dropped[-1]["alert"]["evidence"]["missing"] if dropped else None,
        rss_growth_mib=round(rss_after - rss_stalled, 1),
        learned_windows_before=learned,
        learned_windows_after=detector.learned_windows,
        skipped_s=round(mon.skipped_s, 2),
    )
    assert len(missing) == 1, missing
    assert (stall_s - buffer_s - 1) * 256 <= missing[0] <= (stall_s - buffer_s + 1) * 256
    assert acquisition.stats.samples_dropped == sum(missing)
    assert dropped
    assert dropped[-1]["alert"]["evidence"]["missing"] == sum(missing)
    assert rss_after - rss_stalled < 20, "memory grew while stalled"
    assert detector.learned_windows >= learned, "the model lost what it learned"
    assert not any(m["type"] == "alert" and m["alert"]["kind"] == "signal_lost" for m in messages)


def gauge_self() -> float:
    import os

    return gauge(os.getpid()).rss_mib


#: (what happens to the outlet's clock, offset jump in s, clock rate, samples counted as dropped)
CLOCK_FAULTS = [
    ("jumps 5 s back", -5.0, 1.0, 0),
    ("jumps 5 s ahead", 5.0, 1.0, 5 * 256),  # cannot be told from lost samples: counted
    ("runs 0.5 % fast", 0.0, 1.005, 0),
    ("runs 0.5 % slow", 0.0, 0.995, 0),
]


def test_clock_offset_jumps_and_drift(unique_name: str, figures) -> None:
    """The timestamps go wrong while every sample still arrives (the counter says so)."""
    figures.fault = "the outlet's clock " + "; then ".join(f[0] for f in CLOCK_FAULTS)
    figures.load = "8 ch × 256 Hz, real time"
    outlet = CounterOutlet(unique_name, f"amp-{uuid.uuid4().hex[:6]}").start()
    _, _, mon, client = in_process(unique_name)
    outlet.wait_consumer()
    with running(mon, outlet) as thread:
        check_clock_faults(outlet, client, figures)
        assert thread.is_alive(), "the monitor stopped"


def check_clock_faults(outlet: CounterOutlet, client: Published, figures) -> None:
    wait_for(lambda: samples(client) > 2 * 256, 20, "2 s of data")
    seconds = scaled(2, 15)
    for what, offset_s, clock_rate, expected in CLOCK_FAULTS:
        before = last_status(client)
        outlet.drift(clock_rate)
        outlet.t0 += offset_s
        wait_for(
            lambda b=before: samples(client) > b["samples"] + seconds * 256,
            seconds + 15,
            f"{seconds} s of data after the clock {what}",
        )
        after = last_status(client)
        dropped = after["samples_dropped"] - before["samples_dropped"]
        figures[what] = {
            "samples_dropped": dropped,
            "skipped_s": round(after["skipped_s"] - before["skipped_s"], 2),
            "latency_p99_ms": round(1000 * (after["latency_p99_s"] or 0), 1),
        }
        assert after["connected"], what
        assert dropped == expected, what
        assert after["skipped_s"] == before["skipped_s"], f"samples skipped when the clock {what}"
    kinds = sorted({m["alert"]["kind"] for m in client.of_type("alert")})
    figures["alert_kinds"] = kinds
    assert "signal_lost" not in kinds
