"""The display samples of the feed: the stream averaged down to a rate a browser can draw."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from detector.core import MAX_PLAUSIBLE_UV
from detector.types import Block
from protocol.feed import finite_or_none

#: The most samples per second per channel the feed carries for display.
MAX_DISPLAY_RATE = 128.0


def display_factor(rate: float, max_rate: float = MAX_DISPLAY_RATE) -> int:
    """How many stream samples make one display sample.

    Examples
    --------
    >>> display_factor(256.0), display_factor(1000.0), display_factor(100.0)
    (2, 8, 1)
    """
    return max(1, math.ceil(rate / max_rate))


def average_down(
    data: np.ndarray, stamps: np.ndarray, factor: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Means of whole buckets of `factor` samples, each stamped with its last sample's time.

    Returns ``(means, stamps, used)``: `used` samples made whole buckets; a sample
    beyond `MAX_PLAUSIBLE_UV` (a gap, not a 10 V spike) makes its bucket NaN.
    """
    usable = data.shape[1] // factor * factor
    buckets = data[:, :usable].reshape(data.shape[0], usable // factor, factor).astype(np.float64)
    buckets[np.abs(buckets) > MAX_PLAUSIBLE_UV] = np.nan
    return buckets.mean(axis=2), stamps[factor - 1 : usable : factor], usable


def display_message(kind: str, rate: float, stamps: np.ndarray, data: np.ndarray) -> dict[str, Any]:
    """A ``traces`` (or ``page``) message: µV to 0.01, times to 0.1 ms, NaN as null."""
    data = np.round(data, 2)
    rows: Any = data.tolist()
    if not np.isfinite(data).all():
        rows = finite_or_none(rows)
    return {"type": kind, "rate": rate, "timestamps": np.round(stamps, 4).tolist(), "data": rows}


class DisplayDecimator:
    """Averages samples in buckets so the feed carries at most `max_rate` samples/s."""

    def __init__(self, rate: float, n_channels: int, max_rate: float = MAX_DISPLAY_RATE) -> None:
        self.factor = display_factor(rate, max_rate)
        self.rate = rate / self.factor
        self._data: list[np.ndarray] = []
        self._stamps: list[np.ndarray] = []
        self._rest = np.empty((n_channels, 0), dtype=np.float32)
        self._rest_stamps = np.empty(0)

    def add(self, block: Block) -> None:
        data = np.concatenate([self._rest, block.data], axis=1)
        stamps = np.concatenate([self._rest_stamps, block.timestamps])
        means, kept, usable = average_down(data, stamps, self.factor)
        if usable:
            self._data.append(means)
            self._stamps.append(kept)
        self._rest, self._rest_stamps = data[:, usable:], stamps[usable:]

    def reset(self) -> None:
        """Forget a partial bucket (after a gap, buckets must not straddle it)."""
        self._rest = self._rest[:, :0]
        self._rest_stamps = self._rest_stamps[:0]

    def flush(self) -> dict[str, Any] | None:
        if not self._data:
            return None
        data = np.concatenate(self._data, axis=1)
        stamps = np.concatenate(self._stamps)
        self._data.clear()
        self._stamps.clear()
        return display_message("traces", self.rate, stamps, data)
