"""Synthetic EEG and block feeding shared by the detector tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from detector import Block, Detector, Output, StreamMeta

LABELS_19 = (
    "Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T3", "C3", "Cz",
    "C4", "T4", "T5", "P3", "Pz", "P4", "T6", "O1", "O2",
)  # fmt: skip
RATE = 256.0


def synthetic_eeg(n_channels: int, seconds: float, rate: float, seed: int) -> NDArray[np.float64]:
    """Pink (1/f) background of about 20 µV RMS plus a waxing and waning 10 Hz alpha."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    spectrum = np.fft.rfft(rng.normal(size=(n_channels, n)), axis=1)
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    spectrum[:, 1:] /= np.sqrt(freqs[1:])
    spectrum[:, 0] = 0.0
    pink = np.fft.irfft(spectrum, n=n, axis=1)
    pink *= 20.0 / pink.std(axis=1, keepdims=True)
    t = np.arange(n) / rate
    envelope = 1.0 + 0.5 * np.sin(2 * np.pi * 0.1 * t + rng.uniform(0, 6, size=(n_channels, 1)))
    alpha = 10.0 * envelope * np.sin(2 * np.pi * 10.0 * t + rng.uniform(0, 6, size=(n_channels, 1)))
    return np.asarray(pink + alpha + rng.normal(0, 30, size=(n_channels, 1)))  # + DC offsets


def feed(
    detector: Detector,
    data: NDArray[np.float64],
    *,
    seed: int = 0,
    first_index: int = 0,
    t0: float = 0.0,
    max_block: int = 200,
) -> Output:
    """Feed `data` in random block sizes; timestamps follow the sample index."""
    rng = np.random.default_rng(seed)
    rate = detector.stream.rate
    out = Output()
    pos = 0
    n = data.shape[1]
    while pos < n:
        size = int(min(n - pos, rng.integers(1, max_block + 1)))
        idx = first_index + pos + np.arange(size)
        block = Block(
            data[:, pos : pos + size].astype(np.float32), t0 + idx / rate, first_index + pos
        )
        out.extend(detector.process(block))
        pos += size
    return out


@pytest.fixture
def meta19() -> StreamMeta:
    return StreamMeta("test-eeg", "synthetic-1", LABELS_19, RATE)


@pytest.fixture
def eeg19() -> Callable[..., NDArray[np.float64]]:
    def make(seconds: float = 30.0, seed: int = 1) -> NDArray[np.float64]:
        return synthetic_eeg(len(LABELS_19), seconds, RATE, seed)

    return make


@pytest.fixture
def data_dir() -> Path:
    root = Path(__file__).resolve().parents[2]
    path = Path(os.environ.get("EEGMON_TEST_DATA", root.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"real EEG data folder {path} is absent (set EEGMON_TEST_DATA)")
    return path


@pytest.fixture
def feed_blocks() -> Callable[..., Output]:
    return feed
