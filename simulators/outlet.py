"""Publish simulated EEG and its ground-truth events over LSL.

Pacing is by sample count against the clock: sample ``i`` carries the
timestamp ``t0 + i / rate`` and is pushed once the clock has reached it, so
the stream never drifts however long it runs, and a late scheduler only
delays chunks, it never loses or stretches samples.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np
import pylsl
from numpy.typing import NDArray

from simulators.effects import Effects
from simulators.montage import montage
from simulators.scenario import EXPECTED_ALERT, STREAM_KINDS, Scenario, load_scenario
from simulators.settings import DEFAULT_SCHEDULE, check_rate, check_seed
from streamer.publish import eeg_info, markers_info

DEFAULT_NAME = "eegmon-sim"
DEFAULT_CHANNELS = 19
DEFAULT_RATE = 256.0
MIN_CHUNK_S, MAX_CHUNK_S = 0.02, 0.05
_MAX_STEP_CHUNKS = 250  # after a stall, catch up in bounded steps (about 10 s of samples)
T = TypeVar("T")


class SampleSource(Protocol):
    """Anything that hands out the next samples, (n_channels, n) float32 in µV."""

    def generate(self, n_samples: int) -> NDArray[np.float32]: ...


@dataclass(frozen=True)
class RunStats:
    """What a run did; ``max_lateness_s`` shows a congested host instead of hiding it."""

    t0: float
    samples: int
    pushed: int
    chunks: int
    max_lateness_s: float


class Simulator:
    """An LSL EEG outlet (plus ``<name>-markers``) fed by `SleepEEG` and a scenario.

    ``clock`` and ``sleep`` are injectable so tests can run a night of a fake
    clock in seconds; by default ``sleep`` waits on the stop event, so `stop`
    ends a run at once. ``source`` replaces the sleep EEG with any other
    signal (a sample counter makes continuity checks exact); scenario events
    are applied to it all the same.
    """

    def __init__(
        self,
        name: str = DEFAULT_NAME,
        n_channels: int = DEFAULT_CHANNELS,
        rate: float = DEFAULT_RATE,
        seed: int = 0,
        scenario: Scenario | str | Path | None = None,
        duration: float | None = None,
        chunk_s: float = 0.032,
        source_id: str | None = None,
        clock: Callable[[], float] = pylsl.local_clock,
        sleep: Callable[[float], object] | None = None,
        schedule: Sequence[tuple[str, float]] = DEFAULT_SCHEDULE,
        source: SampleSource | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"stream name {name!r} must be a non-empty string")
        if isinstance(n_channels, bool) or not isinstance(n_channels, int):
            raise ValueError(f"channel count {n_channels!r} is not an integer")
        self.labels = montage(n_channels).labels
        self.rate = check_rate(rate)
        self.seed = check_seed(seed)
        if duration is not None and (
            isinstance(duration, bool)
            or not isinstance(duration, int | float)
            or not math.isfinite(duration)
            or duration <= 0
        ):
            raise ValueError(f"duration {duration!r} must be a positive number of seconds")
        if isinstance(chunk_s, bool) or not isinstance(chunk_s, int | float):
            raise ValueError(f"chunk_s {chunk_s!r} is not a number")
        if not MIN_CHUNK_S <= chunk_s <= MAX_CHUNK_S:
            raise ValueError(f"chunk_s {chunk_s!r} is outside {MIN_CHUNK_S}-{MAX_CHUNK_S} s")
        if source_id is not None and (not isinstance(source_id, str) or not source_id.strip()):
            raise ValueError(f"source_id {source_id!r} must be a non-empty string")
        if isinstance(scenario, str | Path):
            scenario = load_scenario(scenario)
        if scenario is not None:
            scenario.check_labels(self.labels)

        self.name = name
        self.scenario = scenario
        self.duration = None if duration is None else float(duration)
        self.chunk_s = float(chunk_s)
        self.source_id = source_id or f"eegmon-sim-{seed}-{n_channels}x{self.rate:g}"
        self.clock = clock
        self.sleep = sleep
        self.schedule = schedule
        if source is None:
            from simulators.eeg import SleepEEG  # scipy: loaded once the options are valid

            # Built now so a bad schedule fails here, not in the publishing thread.
            source = SleepEEG(self.labels, self.rate, self.seed, schedule)
        self.source = source
        self._stop = threading.Event()
        self._run_stop: threading.Event | None = None
        self._eeg: pylsl.StreamOutlet | None = None
        self._markers: pylsl.StreamOutlet | None = None
        #: Next sample index to produce, and samples pushed so far (live, for status).
        self.index = 0
        self.pushed = 0

    @classmethod
    def from_options(
        cls,
        name: str | None = None,
        n_channels: int | None = None,
        rate: float | None = None,
        seed: int | None = None,
        scenario: str | Path | None = None,
        duration: float | None = None,
    ) -> Simulator:
        """Build from command-line options: given options beat the scenario's [stream]."""
        loaded = load_scenario(scenario) if scenario is not None else None
        stream = loaded.stream if loaded is not None else None

        def pick(given: T | None, key: str, default: T) -> T:
            if given is not None:
                return given
            value = getattr(stream, key) if stream is not None else None
            return default if value is None else value

        return cls(
            name=pick(name, "name", DEFAULT_NAME),
            n_channels=pick(n_channels, "channels", DEFAULT_CHANNELS),
            rate=pick(rate, "rate", DEFAULT_RATE),
            seed=pick(seed, "seed", 0),
            scenario=loaded,
            duration=pick(duration, "duration", None),
        )

    @property
    def n_channels(self) -> int:
        return len(self.labels)

    @property
    def markers_name(self) -> str:
        return f"{self.name}-markers"

    def summary(self) -> str:
        """One line for the command line to print: what is published, under which ids."""
        scenario = (
            f"scenario {self.scenario.name} ({len(self.scenario.events)} events)"
            if self.scenario is not None
            else "no scenario"
        )
        length = "until stopped" if self.duration is None else f"for {self.duration:g} s"
        return (
            f"publishing LSL stream {self.name!r} (EEG, {self.n_channels} ch @ {self.rate:g} Hz, "
            f"source_id {self.source_id}) and {self.markers_name!r}; {scenario}; {length}"
        )

    def open(self) -> tuple[pylsl.StreamOutlet, pylsl.StreamOutlet]:
        """Both outlets, created if need be (``run`` does it); opening first lets inlets connect."""
        if self._eeg is not None and self._markers is not None:
            return self._eeg, self._markers
        info = eeg_info(
            self.name,
            self.labels,
            self.rate,
            self.source_id,
            manufacturer="eegmon",
            model="simulator",
        )
        markers = markers_info(self.name, self.source_id)
        self._eeg = pylsl.StreamOutlet(info)
        self._markers = pylsl.StreamOutlet(markers)
        return self._eeg, self._markers

    def close(self) -> None:
        """Destroy the outlets: inlets see the streams disappear."""
        self._eeg = None
        self._markers = None

    def stop(self) -> None:
        """Ask a running ``run`` (in another thread) to finish."""
        self._stop.set()
        if self._run_stop is not None:
            self._run_stop.set()

    def _marker_schedule(self, t0: float) -> list[tuple[int, float, str]]:
        """(sample index, LSL time, JSON payload) of every event start and end."""
        if self.scenario is None:
            return []
        out = []
        for number, event in enumerate(self.scenario.events, start=1):
            start, end = round(event.at * self.rate), round(event.end * self.rate)
            for phase, index in (("start", start), ("end", end)):
                payload = {
                    "event": event.kind,
                    "phase": phase,
                    "onset": t0 + start / self.rate,
                    "duration": event.duration,
                    "channels": list(getattr(event, "channels", [])),
                    "at": event.at,
                    "expect": EXPECTED_ALERT[event.kind],
                    "id": number,
                }
                out.append((index, t0 + index / self.rate, json.dumps(payload)))
        return sorted(out, key=lambda item: item[0])

    def _holes(self) -> list[tuple[int, int]]:
        if self.scenario is None:
            return []
        return [
            (round(e.at * self.rate), round(e.end * self.rate))
            for e in self.scenario.events
            if e.kind in STREAM_KINDS
        ]

    def run(self, stop: threading.Event | None = None) -> RunStats:
        """Publish until ``duration`` or until stopped; the outlets are closed on exit."""
        if self.index:
            raise RuntimeError(f"simulator {self.name!r} has already run; create a new one")
        self._run_stop = stop
        stopped = stop.is_set if stop is not None else self._stop.is_set
        sleep = self.sleep or (stop.wait if stop is not None else self._stop.wait)
        rate = self.rate
        total = None if self.duration is None else round(self.duration * rate)
        chunk = max(1, round(self.chunk_s * rate))
        effects = Effects(
            self.scenario.events if self.scenario else (), self.labels, rate, self.seed
        )
        holes = self._holes()
        eeg, markers = self.open()
        try:
            t0 = self.clock()
            pending = self._marker_schedule(t0)
            next_marker = 0
            chunks = 0
            max_late = 0.0
            while not stopped() and not self._stop.is_set():
                i = self.index
                if total is not None and i >= total:
                    break
                next_n = chunk if total is None else min(chunk, total - i)
                ready_at = t0 + (i + next_n - 1) / rate
                now = self.clock()
                if now < ready_at:
                    sleep(ready_at - now)
                    continue
                max_late = max(max_late, now - ready_at)
                # Every whole chunk whose time has come (bounded, to catch up after a stall).
                due = int((now - t0) * rate) + 1 - i
                n = max(next_n, min(due // chunk, _MAX_STEP_CHUNKS) * chunk)
                n = n if total is None else min(n, total - i)
                data = self.source.generate(n)
                effects.apply(data, i)
                while next_marker < len(pending) and pending[next_marker][0] < i + n:
                    _, stamp, payload = pending[next_marker]
                    markers.push_sample([payload], stamp)
                    next_marker += 1
                samples = np.ascontiguousarray(data.T)
                keep = _kept(holes, i, n)
                for lo in range(0, n, chunk):
                    hi = min(lo + chunk, n)
                    for a, b in [(lo, hi)] if keep is None else _runs(keep[lo:hi], lo):
                        eeg.push_chunk(samples[a:b], t0 + (i + b - 1) / rate)
                        self.pushed += b - a
                        chunks += 1
                self.index = i + n
            if total is not None and self.index >= total:
                for index, stamp, payload in pending[next_marker:]:
                    if index <= total:  # events that end exactly with the run
                        markers.push_sample([payload], stamp)
            return RunStats(t0, self.index, self.pushed, chunks, max_late)
        finally:
            self._run_stop = None
            self.close()


def _kept(holes: list[tuple[int, int]], first: int, n: int) -> np.ndarray | None:
    """Which of samples ``first .. first+n`` are pushed; None when all of them are."""
    if not any(start < first + n and end > first for start, end in holes):
        return None
    keep = np.ones(n, dtype=bool)
    for start, end in holes:
        keep[max(start - first, 0) : max(end - first, 0)] = False
    return keep


def _runs(keep: np.ndarray, offset: int) -> list[tuple[int, int]]:
    """Contiguous [lo, hi) runs of True, shifted by ``offset``."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], keep.astype(np.int8), [0]))))
    return list(zip((edges[::2] + offset).tolist(), (edges[1::2] + offset).tolist(), strict=True))
