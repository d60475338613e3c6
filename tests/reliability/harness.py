"""Tools of the reliability suites: a counting LSL outlet, process gauges, durations.

Every outlet here carries a sample counter in its first channel, so what a
monitor received (or recorded) can be checked sample by sample: a gap's
length is known exactly, never estimated from timestamps.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pylsl

from simulators import SleepEEG, montage

#: ``EEGMON_SOAK=1`` (``make soak``) runs the long versions of every suite.
SOAK = os.environ.get("EEGMON_SOAK") == "1"
#: The counter wraps here; 0.1 µV steps stay exact in float32 and in a ±3276.7 µV EDF.
COUNTER_WRAP = 30_000
COUNTER_STEP_UV = 0.1


def scaled(short: float, soak: float) -> float:
    """A duration or count: `soak` under ``make soak``, `short` in ``make test``."""
    return soak if SOAK else short


def counter_values(index: np.ndarray) -> np.ndarray:
    return ((index % COUNTER_WRAP) * COUNTER_STEP_UV).astype(np.float32)


def decode_counter(values: np.ndarray) -> np.ndarray:
    """The counter (modulo `COUNTER_WRAP`) from received or recorded values."""
    return np.rint(np.asarray(values, dtype=np.float64) / COUNTER_STEP_UV).astype(np.int64)


@cache
def background(n_channels: int, rate: float, seconds: float = 60.0) -> np.ndarray:
    """Simulated sleep EEG (samples × channels), looped by the outlets."""
    labels = montage(n_channels).labels
    return np.ascontiguousarray(SleepEEG(labels, rate, seed=7).generate(int(seconds * rate)).T)


#: Changes a chunk (samples × channels) about to be pushed: the fault injected.
Tamper = Callable[[np.ndarray, np.ndarray], np.ndarray]


class CounterOutlet:
    """An EEG outlet paced by the wall clock (times `speed`) on a thread of its own.

    Sample ``i`` is stamped ``t0 + i / rate`` (move `t0` for a clock jump), channel 0
    carries ``i``; the index follows the wall clock even while the outlet is
    stopped, so a restart after an outage continues where a real amplifier
    would be, and the samples not sent are exactly the gap.
    """

    def __init__(
        self,
        name: str,
        source_id: str = "",
        *,
        n_channels: int = 8,
        rate: float = 256.0,
        speed: float = 1.0,
        chunk: int = 8,
        tamper: Tamper | None = None,
    ) -> None:
        self.name, self.source_id = name, source_id
        self.n_channels, self.rate, self.speed, self.chunk = n_channels, rate, speed, chunk
        self.tamper = tamper
        self.clock_rate = 1.0
        self._drift_from = 0
        self.labels = montage(n_channels).labels
        self.eeg = background(n_channels, rate)
        self.t0 = pylsl.local_clock()
        self.wall0 = time.monotonic()
        self.sent = 0  # samples pushed while an inlet was connected
        self.next_index = 0
        self.outlet: pylsl.StreamOutlet | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def info(self) -> pylsl.StreamInfo:
        info = pylsl.StreamInfo(
            self.name, "EEG", self.n_channels, self.rate, "float32", self.source_id
        )
        channels = info.desc().append_child("channels")
        for label in ["counter", *self.labels[1:]]:
            channel = channels.append_child("channel")
            channel.append_child_value("label", label)
            channel.append_child_value("unit", "microvolts")
            channel.append_child_value("type", "EEG")
        return info

    def drift(self, clock_rate: float) -> None:
        """From the next sample on, the outlet's clock runs `clock_rate` times too fast."""
        self._drift_from = self.next_index
        self.clock_rate = clock_rate

    def stamps(self, index: np.ndarray) -> np.ndarray:
        drifted = np.maximum(index - self._drift_from, 0) * (self.clock_rate - 1.0)
        return self.t0 + (index + drifted) / self.rate

    def due(self) -> int:
        """The index the stream has reached by now."""
        return int((time.monotonic() - self.wall0) * self.speed * self.rate)

    def start(self) -> CounterOutlet:
        self.outlet = pylsl.StreamOutlet(self.info(), chunk_size=self.chunk)
        self.next_index = max(self.next_index, self.due())
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"outlet-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """The amplifier goes away: the thread stops and the outlet is destroyed."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.outlet = None

    def wait_consumer(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while self.outlet is None or not self.outlet.have_consumers():
            if time.monotonic() > deadline:
                raise AssertionError(f"no inlet connected to {self.name} within {timeout} s")
            time.sleep(0.02)

    def _run(self) -> None:
        outlet = self.outlet
        assert outlet is not None
        period = self.chunk / (self.rate * self.speed)
        while not self._stop.is_set():
            due = self.due()
            if due - self.next_index < self.chunk:
                self._stop.wait(period / 2)
                continue
            if not outlet.have_consumers():  # nobody would receive them: never sent
                self.next_index = due
                continue
            index = np.arange(self.next_index, due)
            chunk = self.eeg[index % len(self.eeg)].copy()
            chunk[:, 0] = counter_values(index)
            if self.tamper is not None:
                chunk = self.tamper(chunk, index)
            outlet.push_chunk(np.ascontiguousarray(chunk), self.stamps(index).tolist())
            self.sent += len(index)
            self.next_index = due


@dataclass
class Gauge:
    """Threads, open files and resident memory of a process, from /proc."""

    threads: int
    fds: int
    rss_mib: float
    cpu_s: float


def gauge(pid: int) -> Gauge:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    ticks = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]
    return Gauge(
        threads=int(fields["Threads"]),
        fds=len(os.listdir(f"/proc/{pid}/fd")),
        rss_mib=int(fields["VmRSS"].split()[0]) / 1024,
        cpu_s=sum(map(int, ticks)) / os.sysconf("SC_CLK_TCK"),
    )


def growth(before: float, after: float) -> float:
    """Relative growth, e.g. 0.03 for 3 %."""
    return (after - before) / before if before else 0.0


def feed_url(proc) -> str:
    return proc.wait_line("feed at ", timeout=60).split("feed at ")[1].strip()


def alerts(client, kind: str, event: str | None = None) -> list[dict]:
    """Alert messages of one kind a feed client received (optionally one event)."""
    return [
        m["alert"] | {"event": m["event"]}
        for m in client.of_type("alert")
        if m["alert"]["kind"] == kind and (event is None or m["event"] == event)
    ]


def wait_alert(client, kind: str, event: str, timeout: float, after: int = 0) -> dict:
    """The `after`-th (0: first) `event` of an alert `kind`, waiting up to `timeout`."""
    from tests.support import wait_for

    found = wait_for(
        lambda: len(alerts(client, kind, event)) > after, timeout, f"{kind} {event} #{after + 1}"
    )
    assert found
    return alerts(client, kind, event)[after]


def outage_edges(client) -> tuple[list[dict], list[dict]]:
    """The ``signal_lost`` messages that tell a stream went away, and those that tell it is back.

    The alert latches: a stream that comes back leaves it active with
    ``ended_at`` set, and the next outage before anyone acknowledges it
    raises the same alert again.
    """
    messages = [a for a in alerts(client, "signal_lost") if a["state"] != "cleared"]
    lost = [a for a in messages if a["ended_at"] is None and a["event"] in ("raised", "updated")]
    back = [a for a in messages if a["ended_at"] is not None and a["event"] == "updated"]
    return lost, back


def wait_back(client, alert_id: str, timeout: float) -> dict:
    """The first message telling that the stream of `signal_lost` `alert_id` is back."""
    from tests.support import wait_for

    return wait_for(
        lambda: next((a for a in outage_edges(client)[1] if a["id"] == alert_id), None),
        timeout,
        f"{alert_id}: stream back",
    )


def acknowledge(client, alert: dict, timeout: float = 20) -> dict:
    """Acknowledge `alert` over the feed, as the dashboard does; returns it cleared.

    It clears at once if its condition is over and its refractory period
    has passed, otherwise when both are true.
    """
    from tests.support import wait_for

    client.send({"type": "ack", "id": alert["id"], "who": "night tech"})
    return wait_for(
        lambda: next(
            (a for a in alerts(client, alert["kind"], "cleared") if a["id"] == alert["id"]), None
        ),
        timeout,
        f"{alert['id']} cleared",
    )


def last_status(client) -> dict:
    statuses = client.of_type("status")
    assert statuses, "no status message yet"
    return statuses[-1]


def samples(client) -> int:
    """Samples the monitor has received, by its latest status (0 before the first)."""
    statuses = client.of_type("status")
    return int(statuses[-1]["samples"]) if statuses else 0


@contextlib.contextmanager
def running(monitor, *outlets: CounterOutlet) -> Iterator[threading.Thread]:
    """Runs an in-process `streamer.live.monitor.Monitor` on a thread of its own.

    On the way out the monitor stops, its inlet closes and `outlets` stop.
    """
    stop = threading.Event()
    thread = threading.Thread(target=monitor.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(10)
        monitor.acquisition.close()
        for outlet in outlets:
            outlet.stop()
