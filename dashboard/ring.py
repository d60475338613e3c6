"""A feed's display samples: the newest seconds for live pages, the night's for looking back."""

from __future__ import annotations

import bisect
import collections
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


#: Bytes of the night's traces kept per bed (`TraceHistory`); measured and explained
#: in docs/dashboard.md.
HISTORY_BUDGET_BYTES = 96 * 2**20
#: Samples per sealed chunk of the history: each channel's chunk has its own scale.
HISTORY_CHUNK = 256
#: The int16 code of a missing sample (NaN); the others span ±`_Q_MAX`.
_Q_NAN = -32768
_Q_MAX = 32767
#: The finest step kept, in µV (the feed rounds to 0.01 µV).
MIN_STEP_UV = 1e-3


class _Chunk:
    """`HISTORY_CHUNK` samples: times, and each channel as int16 steps above its minimum."""

    __slots__ = ("codes", "low", "step", "times")

    def __init__(self, times: np.ndarray, data: np.ndarray) -> None:
        x = data.astype(np.float64)
        finite = np.isfinite(x)
        some = finite.any(axis=1)
        low = np.where(some, np.where(finite, x, np.inf).min(axis=1), 0.0)
        high = np.where(some, np.where(finite, x, -np.inf).max(axis=1), 0.0)
        step = np.maximum((high - low) / (2 * _Q_MAX), MIN_STEP_UV)
        codes = np.rint((np.where(finite, x, 0.0) - low[:, None]) / step[:, None]) - _Q_MAX
        self.codes = np.where(finite, codes, _Q_NAN).astype(np.int16)
        self.times = times.copy()
        self.low, self.step = low, step

    @property
    def nbytes(self) -> int:
        return self.times.nbytes + self.codes.nbytes + self.low.nbytes + self.step.nbytes

    def decode(self, keep: np.ndarray, n_channels: int) -> np.ndarray:
        codes = self.codes[:n_channels, keep]
        x = (codes.astype(np.float64) + _Q_MAX) * self.step[:n_channels, None]
        x += self.low[:n_channels, None]
        x[codes == _Q_NAN] = np.nan
        return x.astype(np.float32)


class TraceHistory:
    """The night's display samples, as far back as `budget_bytes` allows.

    Samples gather in a float32 chunk of `chunk` samples; a full chunk is
    sealed: each channel's samples become int16 steps above that channel's
    minimum in the chunk, a step being its range in the chunk / 65534 (at
    least `MIN_STEP_UV`), so nothing clips and the error is at most half a
    step; NaN stays NaN. Sealed chunks are allocated as the night goes, and
    the oldest are dropped beyond the budget: memory follows what is kept.

    >>> history = TraceHistory(chunk=4)
    >>> history.append(np.arange(6.0), np.array([[0.0, 1, 2, 3, np.nan, 500.0]]))
    >>> times, data = history.read(1.0, 5.0)
    >>> times.tolist(), np.round(data, 2).tolist(), history.span()
    ([1.0, 2.0, 3.0, 4.0, 5.0], [[1.0, 2.0, 3.0, nan, 500.0]], (0.0, 5.0))
    """

    def __init__(self, budget_bytes: int = HISTORY_BUDGET_BYTES, chunk: int = HISTORY_CHUNK):
        self.budget_bytes = budget_bytes
        self.chunk = chunk
        self._chunks: collections.deque[_Chunk] = collections.deque()
        self._firsts: collections.deque[float] = collections.deque()
        self._sealed_bytes = 0
        self._times = np.zeros(chunk, dtype=np.float64)
        self._data = np.zeros((0, chunk), dtype=np.float32)
        self._n = 0  # samples in the open chunk

    @property
    def nbytes(self) -> int:
        """Bytes held: the sealed chunks and the open one."""
        return self._sealed_bytes + self._times.nbytes + self._data.nbytes

    def clear(self) -> None:
        self._chunks.clear()
        self._firsts.clear()
        self._sealed_bytes = 0
        self._n = 0

    def span(self) -> tuple[float, float] | None:
        """The stream times of the oldest and the newest sample kept."""
        if not self._n and not self._chunks:
            return None
        oldest = self._firsts[0] if self._chunks else float(self._times[0])
        newest = float(self._times[self._n - 1]) if self._n else float(self._chunks[-1].times[-1])
        return oldest, newest

    def append(self, times: np.ndarray, data: np.ndarray) -> None:
        """Add samples: `times` (n,) increasing, `data` (n_channels, n) µV."""
        if data.shape[0] != self._data.shape[0]:
            self.clear()
            self._data = np.zeros((data.shape[0], self.chunk), dtype=np.float32)
        span = self.span()
        if times.size and span is not None and times[0] < span[1]:
            self.clear()  # the stream's clock started again
        done = 0
        while done < times.shape[0]:
            take = min(self.chunk - self._n, times.shape[0] - done)
            self._times[self._n : self._n + take] = times[done : done + take]
            self._data[:, self._n : self._n + take] = data[:, done : done + take]
            self._n += take
            done += take
            if self._n == self.chunk:
                self._seal()

    def _seal(self) -> None:
        sealed = _Chunk(self._times, self._data)
        self._chunks.append(sealed)
        self._firsts.append(float(sealed.times[0]))
        self._sealed_bytes += sealed.nbytes
        self._n = 0
        while self._sealed_bytes + self._data.nbytes > self.budget_bytes and len(self._chunks) > 1:
            self._sealed_bytes -= self._chunks.popleft().nbytes
            self._firsts.popleft()

    def read(
        self, start: float, end: float, max_channels: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(times, data)`` of the samples kept from `start` to `end` (stream times)."""
        n_ch = self._data.shape[0]
        if max_channels is not None:
            n_ch = min(max_channels, n_ch)
        times: list[np.ndarray] = [np.zeros(0)]
        data: list[np.ndarray] = [np.zeros((n_ch, 0), dtype=np.float32)]
        first = max(0, bisect.bisect_right(self._firsts, start) - 1)
        for i in range(first, len(self._chunks)):
            sealed = self._chunks[i]
            if sealed.times[0] > end:
                break
            keep = (sealed.times >= start) & (sealed.times <= end)
            if keep.any():
                times.append(sealed.times[keep])
                data.append(sealed.decode(keep, n_ch))
        if self._n:
            open_times = self._times[: self._n]
            keep = (open_times >= start) & (open_times <= end)
            times.append(open_times[keep])
            data.append(self._data[:n_ch, : self._n][:, keep].copy())
        return np.concatenate(times), np.concatenate(data, axis=1)
