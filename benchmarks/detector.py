"""Detector speed: time per window, live (one window per block) and offline (10 s blocks).

Live, the monitor hands the detector a block per pull, so each window is
analysed alone and its time is the detector's share of the alert latency.
Offline, `eegmon scan` hands it 10 s blocks, whose windows get their features
in one vectorized call; the figure there is CPU time per window, and the
real-time factor it allows on one core. Quality (sensitivity, false alarms,
the scorer comparison) is the `quality` suite.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from detector import Block, Detector, StreamMeta

STREAMS = ((19, 256.0), (64, 1000.0))
SECONDS = 120.0
OFFLINE_BLOCK_S = 10.0


def _signal(n_channels: int, rate: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(scale=20.0, size=(n_channels, round(SECONDS * rate))).astype(np.float32)


def _detector(n_channels: int, rate: float) -> Detector:
    labels = tuple(f"E{i}" for i in range(n_channels))
    return Detector(StreamMeta("bench", "bench", labels, rate))


def live_times(n_channels: int, rate: float) -> list[float]:
    """Seconds per call for blocks of one hop, each completing one window."""
    det = _detector(n_channels, rate)
    data = _signal(n_channels, rate)
    hop = round(rate * det.config.hop_s)
    times = []
    for first in range(0, data.shape[1] - hop + 1, hop):
        block = Block(data[:, first : first + hop], (first + np.arange(hop)) / rate, first)
        started = time.perf_counter()
        out = det.process(block)
        if out.windows:
            times.append(time.perf_counter() - started)
    return times


def offline_per_window(n_channels: int, rate: float) -> tuple[float, float]:
    """CPU seconds per window over 10 s blocks (median of 3 runs), and the hop."""
    data = _signal(n_channels, rate)
    step = round(OFFLINE_BLOCK_S * rate)
    runs = []
    for _ in range(3):
        det = _detector(n_channels, rate)
        windows = 0
        started = time.process_time()
        for first in range(0, data.shape[1], step):
            chunk = data[:, first : first + step]
            stamps = (first + np.arange(chunk.shape[1])) / rate
            windows += len(det.process(Block(chunk, stamps, first)).windows)
        runs.append((time.process_time() - started) / windows)
    return statistics.median(runs), det.config.hop_s


def run() -> list[dict[str, Any]]:
    rows = []
    for n_channels, rate in STREAMS:
        live = np.array(live_times(n_channels, rate))
        per_window, hop_s = offline_per_window(n_channels, rate)
        rows.append(
            {
                "stream": f"{n_channels} ch @ {rate:g} Hz",
                "live_p50_ms": round(float(np.median(live)) * 1e3, 3),
                "live_p99_ms": round(float(np.percentile(live, 99)) * 1e3, 3),
                "offline_ms_per_window": round(per_window * 1e3, 3),
                "offline_windows_per_cpu_s": round(1.0 / per_window, 1),
                "offline_rtf_per_core": round(hop_s / per_window, 1),
            }
        )
    return rows


def summary(rows: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{r['stream']}: live {r['live_p50_ms']} ms per window (p99 {r['live_p99_ms']}), "
        f"offline {r['offline_ms_per_window']} ms ({r['offline_rtf_per_core']}x real time per core)"
        for r in rows
    )
