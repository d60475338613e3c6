"""The newest seconds of a feed's display samples, in fixed memory."""

from __future__ import annotations

import math

import numpy as np


class TraceRing:
    """The newest `window_s` seconds of display samples, one row per channel.

    A fixed numpy ring, reallocated only when the channel count or the display
    rate changes.
    """

    def __init__(self, window_s: float = 10.0) -> None:
        self.window_s = window_s
        self._rate = 0.0
        self._data = np.zeros((0, 0), dtype=np.float32)
        self._times = np.zeros(0, dtype=np.float64)
        self._end = 0  # index of the next write
        self._count = 0  # valid samples

    @property
    def capacity(self) -> int:
        return self._times.shape[0]

    @property
    def n_channels(self) -> int:
        return self._data.shape[0]

    def clear(self) -> None:
        self._end = 0
        self._count = 0

    def _ensure(self, n_channels: int, rate: float) -> None:
        capacity = max(16, math.ceil(self.window_s * rate * 1.25) + 1)
        if n_channels != self.n_channels or not math.isclose(rate, self._rate):
            self._rate = rate
            self._data = np.full((n_channels, capacity), np.nan, dtype=np.float32)
            self._times = np.full(capacity, np.nan, dtype=np.float64)
            self.clear()

    def append(self, timestamps: np.ndarray, data: np.ndarray, rate: float) -> None:
        """Add samples: `timestamps` shape (n,), `data` shape (n_channels, n)."""
        self._ensure(data.shape[0], rate)
        n = timestamps.shape[0]
        if n == 0:
            return
        if self._count and timestamps[0] < self.newest_time():
            # The stream restarted (new clock or new connection): start over.
            self.clear()
        cap = self.capacity
        if n >= cap:
            timestamps, data, n = timestamps[-cap:], data[:, -cap:], cap
        idx = (self._end + np.arange(n)) % cap
        self._times[idx] = timestamps
        self._data[:, idx] = data
        self._end = (self._end + n) % cap
        self._count = min(cap, self._count + n)

    def newest_time(self) -> float:
        if not self._count:
            return math.nan
        return float(self._times[(self._end - 1) % self.capacity])

    def read(
        self, max_channels: int | None = None, after: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Copies of ``(timestamps, data)`` of the last `window_s` seconds, oldest first.

        With `after`, only the samples newer than that stream time.
        """
        n_ch = self.n_channels if max_channels is None else min(max_channels, self.n_channels)
        if not self._count:
            return np.zeros(0), np.zeros((n_ch, 0), dtype=np.float32)
        cap = self.capacity
        idx = (self._end - self._count + np.arange(self._count)) % cap
        times = self._times[idx]
        keep = times >= times[-1] - self.window_s
        if after is not None:
            keep &= times > after
        idx = idx[keep]
        return self._times[idx], self._data[:n_ch, idx]
