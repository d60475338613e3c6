"""Generated sleep recordings with faults and discharges at known times, written as EDF+."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from detector.types import Block, StreamMeta
from simulators import SleepEEG, montage
from streamer.recordings.recorder import Recorder

#: A detector that forgets within a minute, so a short file holds several warm segments.
QUICK_CONFIG = {
    "memory_s": 20.0,
    "warmup_windows": 20,
    "upgrade_after_s": 40.0,
    "latch": [],
}


def write_night(
    path: Path,
    seconds: float,
    *,
    seed: int,
    n_channels: int = 8,
    every_s: float = 60.0,
    suppressed_at: tuple[float, ...] = (),
) -> Path:
    """Simulated sleep at 128 Hz; every `every_s` for 20 s: electrode off, discharge or clipping.

    A fault of each kind lands on a different channel each time, and some fall
    on the planned segment borders of the tests. At each of `suppressed_at`
    the whole EEG drops to a fifth for 30 s (an `anomaly` no rule names).
    """
    rate = 128.0
    labels = montage(n_channels).labels
    source = SleepEEG(labels, rate, seed=seed)
    data = np.concatenate(
        [source.generate(round(10 * rate)) for _ in range(round(seconds / 10))], axis=1
    )
    t = np.arange(data.shape[1]) / rate
    for number, start in enumerate(np.arange(45.0, seconds - 30.0, every_s)):
        channel = number % n_channels
        span = (t >= start) & (t < start + 20.0)
        kind = number % 3
        if kind == 0:
            data[channel, span] = data[channel, span][0]
        elif kind == 1:
            rows = [channel, (channel + 1) % n_channels]
            data[np.ix_(rows, span)] += 300.0 * np.sin(2 * np.pi * 5.0 * t[span])
        else:
            data[channel, span] = np.clip(data[channel, span] * 40.0, -1000.0, 1000.0)
    for start in suppressed_at:
        data[:, (t >= start) & (t < start + 30.0)] *= 0.2
    recorder = Recorder(path, StreamMeta(path.stem, path.stem, labels, rate), queue_blocks=1 << 16)
    step = round(rate * 10)
    for first in range(0, data.shape[1], step):
        chunk = data[:, first : first + step]
        recorder.block(Block(chunk, (first + np.arange(chunk.shape[1])) / rate, first))
    recorder.close()
    return path
