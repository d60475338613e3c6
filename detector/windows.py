"""Fixed windows over a stream, independent of how the stream was cut into blocks.

Windows are counted from the start of a run of consecutive samples (the
stream start, or the first sample after a gap): window `j` covers samples
`[j * hop, j * hop + size)` of the run, so where the blocks begin and end
never changes which windows come out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Window:
    """One analysis window; arrays are views valid until the next `push`."""

    raw: NDArray[np.float64]  # (channels, size), non-finite samples already replaced
    filtered: NDArray[np.float64]  # (channels, size)
    bad: NDArray[np.bool_]  # (channels, size), True where the sample arrived non-finite
    timestamps: NDArray[np.float64]  # (size,)

    @property
    def start(self) -> float:
        return float(self.timestamps[0])

    @property
    def end(self) -> float:
        return float(self.timestamps[-1])


class WindowBuffer:
    """Linear buffer that yields every complete window as samples arrive.

    It holds `2 * size` samples; when full, it moves the samples still needed
    to its front, so windows are contiguous views (no per-window copy) and a
    one-sample block costs a few element writes, not a window copy.

    Parameters
    ----------
    n_channels
        Channels per sample.
    size
        Samples per window.
    hop
        Samples between the starts of consecutive windows.

    Examples
    --------
    >>> import numpy as np
    >>> buf = WindowBuffer(n_channels=1, size=4, hop=2)
    >>> x = np.arange(9.0)[None, :]
    >>> bad = np.zeros((1, 9), dtype=bool)
    >>> [w.timestamps.tolist() for w in buf.push(x, x, bad, np.arange(9.0))]
    [[0.0, 1.0, 2.0, 3.0], [2.0, 3.0, 4.0, 5.0], [4.0, 5.0, 6.0, 7.0]]
    """

    def __init__(self, n_channels: int, size: int, hop: int) -> None:
        self.n_channels = n_channels
        self.size = size
        self.hop = hop
        capacity = 2 * size
        self._raw = np.zeros((n_channels, capacity))
        self._filtered = np.zeros((n_channels, capacity))
        self._bad = np.zeros((n_channels, capacity), dtype=bool)
        self._ts = np.zeros(capacity)
        self._stored = 0  # samples held
        self._next_start = 0  # buffer position where the next window starts

    def reset(self) -> None:
        """Drop held samples: the next window starts with the next sample."""
        self._stored = 0
        self._next_start = 0

    def push(
        self,
        raw: NDArray[np.float64],
        filtered: NDArray[np.float64],
        bad: NDArray[np.bool_],
        timestamps: NDArray[np.float64],
    ) -> Iterator[Window]:
        """Append samples and yield each window completed by them, in order."""
        capacity = self._ts.shape[0]
        n = timestamps.shape[0]
        done = 0
        while done < n:
            if self._stored == capacity:
                self._compact()
            take = min(n - done, capacity - self._stored)
            dst = slice(self._stored, self._stored + take)
            src = slice(done, done + take)
            self._raw[:, dst] = raw[:, src]
            self._filtered[:, dst] = filtered[:, src]
            self._bad[:, dst] = bad[:, src]
            self._ts[dst] = timestamps[src]
            self._stored += take
            done += take
            while self._next_start + self.size <= self._stored:
                win = slice(self._next_start, self._next_start + self.size)
                yield Window(
                    self._raw[:, win], self._filtered[:, win], self._bad[:, win], self._ts[win]
                )
                self._next_start += self.hop

    def _compact(self) -> None:
        keep = slice(self._next_start, self._stored)
        kept = self._stored - self._next_start  # < size, as hop <= size
        self._raw[:, :kept] = self._raw[:, keep]
        self._filtered[:, :kept] = self._filtered[:, keep]
        self._bad[:, :kept] = self._bad[:, keep]
        self._ts[:kept] = self._ts[keep]
        self._stored = kept
        self._next_start = 0


class WindowStack:
    """Consecutive windows copied into preallocated (windows, channels, size) arrays.

    The detector analyses windows in batches: filling one stack, reused from
    batch to batch, costs one copy per window and no allocation.

    Examples
    --------
    >>> import numpy as np
    >>> stack = WindowStack(n_channels=1, size=4, capacity=2)
    >>> x = np.arange(6.0)[None, :]
    >>> buf = WindowBuffer(n_channels=1, size=4, hop=2)
    >>> [stack.add(w) for w in buf.push(x, x, np.zeros((1, 6), dtype=bool), np.arange(6.0))]
    [False, True]
    >>> stack.raw[: stack.count, 0].tolist(), stack.ends[: stack.count].tolist()
    ([[0.0, 1.0, 2.0, 3.0], [2.0, 3.0, 4.0, 5.0]], [3.0, 5.0])
    """

    def __init__(self, n_channels: int, size: int, capacity: int) -> None:
        self.capacity = capacity
        self.raw = np.zeros((capacity, n_channels, size))
        self.filtered = np.zeros((capacity, n_channels, size))
        self.bad = np.zeros((capacity, n_channels, size), dtype=bool)
        self.starts = np.zeros(capacity)
        self.ends = np.zeros(capacity)
        self.count = 0

    def add(self, window: Window) -> bool:
        """Copy a window in; True when the stack is full."""
        i = self.count
        self.raw[i] = window.raw
        self.filtered[i] = window.filtered
        self.bad[i] = window.bad
        self.starts[i] = window.timestamps[0]
        self.ends[i] = window.timestamps[-1]
        self.count += 1
        return self.count == self.capacity
