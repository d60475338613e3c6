"""How much EEG the simulator and the monitor each sustain in real time on one core.

Real-time factor (RTF) = seconds of EEG handled per second of CPU time of the
one thread doing it; RTF >= 1 means it keeps up. The monitor's figure is the
detector (the whole per-sample pipeline) plus the measured cost of pulling the
samples from a real LSL inlet.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pylsl

from detector import Detector, StreamMeta
from detector.types import Block
from simulators import SleepEEG, montage

SECONDS = 20.0
CONFIGS = [(8, 256), (19, 256), (32, 512), (64, 1000), (64, 2048), (128, 2048), (256, 2048)]
#: The simulator's montages stop at 64 channels.
SIMULATED = {8, 19, 32, 64}


def simulator_rtf(n_channels: int, rate: float) -> float:
    """Generate and push into a real outlet (no consumer), as `eegmon simulate` does."""
    labels = montage(n_channels).labels
    generator = SleepEEG(labels, rate, seed=1)
    name = f"bench-sim-{n_channels}-{rate}"
    info = pylsl.StreamInfo(name, "EEG", n_channels, rate, "float32", name)
    outlet = pylsl.StreamOutlet(info)
    chunk = int(rate * 0.032)
    total = int(SECONDS * rate)
    start = time.thread_time()
    for _ in range(total // chunk):
        outlet.push_chunk(np.ascontiguousarray(generator.generate(chunk).T))
    return SECONDS / (time.thread_time() - start)


def detector_rtf(n_channels: int, rate: float) -> float:
    labels = tuple(f"C{i}" for i in range(n_channels))
    detector = Detector(StreamMeta("bench", "bench", labels, rate))
    rng = np.random.default_rng(0)
    chunk = max(1, int(rate * 0.032))
    n_chunks = int(SECONDS * rate) // chunk
    data = (rng.standard_normal((n_channels, chunk * n_chunks)) * 20).astype(np.float32)
    stamps = np.arange(chunk * n_chunks) / rate
    start = time.thread_time()
    for i in range(n_chunks):
        s = slice(i * chunk, (i + 1) * chunk)
        detector.process(Block(data[:, s], stamps[s], i * chunk))
    return SECONDS / (time.thread_time() - start)


def lsl_pull_rate(n_channels: int, rate: float) -> float:
    """Samples per CPU second a consumer thread spends pulling into a numpy buffer."""
    name = f"bench-pull-{n_channels}-{rate}"
    info = pylsl.StreamInfo(name, "EEG", n_channels, rate, "float32", name)
    outlet = pylsl.StreamOutlet(info, chunk_size=32)
    inlet = pylsl.StreamInlet(info_of(info.name()), max_buflen=60)
    inlet.open_stream(timeout=5)
    total = int(10 * rate)
    payload = np.zeros((total, n_channels), dtype=np.float32)
    pushed = threading.Thread(target=lambda: outlet.push_chunk(payload))
    buffer = np.zeros((4096, n_channels), dtype=np.float32)
    got, cpu = 0, 0.0
    pushed.start()
    deadline = time.monotonic() + 30
    while got < total and time.monotonic() < deadline:
        start = time.thread_time()
        _, stamps = inlet.pull_chunk(timeout=0.2, max_samples=4096, dest_obj=buffer)
        cpu += time.thread_time() - start
        got += len(stamps)
    pushed.join()
    inlet.close_stream()
    return got / max(cpu, 1e-9)


def info_of(name: str) -> pylsl.StreamInfo:
    return pylsl.resolve_byprop("name", name, timeout=5)[0]


def run() -> list[dict[str, Any]]:
    rows = []
    for n_channels, rate in CONFIGS:
        detector = detector_rtf(n_channels, rate)
        pull = lsl_pull_rate(n_channels, rate)
        monitor = 1.0 / (1.0 / detector + rate / pull)
        rows.append(
            {
                "channels": n_channels,
                "rate_hz": rate,
                "simulator_rtf": (
                    round(simulator_rtf(n_channels, rate), 1) if n_channels in SIMULATED else None
                ),
                "detector_rtf": round(detector, 1),
                "lsl_pull_samples_per_cpu_s": round(pull),
                "monitor_rtf": round(monitor, 1),
            }
        )
    return rows


def summary(rows: list[dict[str, Any]]) -> str:
    """The largest channels x rate each part sustains in real time."""

    def best(key: str) -> str:
        ok = [r for r in rows if r[key] is not None and r[key] >= 1.0]
        top = max(ok, key=lambda r: r["channels"] * r["rate_hz"])
        return f"{top['channels']} ch @ {top['rate_hz']:g} Hz (RTF {top[key]})"

    return f"largest real-time: simulator {best('simulator_rtf')}, monitor {best('monitor_rtf')}"
