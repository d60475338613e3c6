"""DREAMS sleep excerpts (one channel in text) as EDF+ files the readers open."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from detector.types import Block, StreamMeta
from streamer.recordings.recorder import Recorder

#: The excerpts' rate (excerpt 6: 200.08 Hz by its length).
DREAMS_RATE = 200.0


def dreams_edf(source: Path, target: Path, minutes: float) -> Path:
    """The first `minutes` of the DREAMS excerpt `source` written to `target` (EDF+)."""
    lines = source.read_text().split()
    label = lines[0].strip("[]")
    count = int(minutes * 60 * DREAMS_RATE)
    values = np.asarray(lines[1 : 1 + count], dtype=np.float32)[None, :]
    recorder = Recorder(target, StreamMeta("dreams", "dreams", (label,), DREAMS_RATE))
    recorder.block(Block(values, np.arange(values.shape[1]) / DREAMS_RATE, 0))
    recorder.close()
    return recorder.path
