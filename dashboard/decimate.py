"""Display-side reduction of traces: min/max per pixel column and gap breaks.

The browser's cost grows with renderers and redraws, not points, but there is
no use sending more than two points per pixel column; min/max keeps spikes
visible where plain subsampling would hide them.
"""

from __future__ import annotations

import numpy as np


def minmax_decimate(
    times: np.ndarray, data: np.ndarray, n_bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """Reduce ``(times (n,), data (c, n))`` to at most ``2 * n_bins`` points per channel.

    Each bin of consecutive samples becomes its minimum and its maximum, in the
    order they occur; bins are placed at their first and last sample time.
    Input shorter than ``2 * n_bins`` is returned unchanged.

    Examples
    --------
    >>> t = np.arange(8.0)
    >>> y = np.array([[0.0, 5, 1, 1, -3, 0, 2, 2]])
    >>> tt, yy = minmax_decimate(t, y, 2)
    >>> tt.tolist(), yy.tolist()
    ([0.0, 3.0, 4.0, 7.0], [[0.0, 5.0, -3.0, 2.0]])
    """
    n = times.shape[0]
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins!r}")
    if n <= 2 * n_bins:
        return times, data
    size = -(-n // n_bins)  # ceil
    n_full = n // size
    cut = n_full * size
    blocks = data[:, :cut].reshape(data.shape[0], n_full, size)
    with np.errstate(invalid="ignore"):
        filled_lo = np.where(np.isnan(blocks), np.inf, blocks)
        filled_hi = np.where(np.isnan(blocks), -np.inf, blocks)
    i_min = filled_lo.argmin(axis=2)
    i_max = filled_hi.argmax(axis=2)
    v_min = np.take_along_axis(blocks, i_min[..., None], axis=2)[..., 0]
    v_max = np.take_along_axis(blocks, i_max[..., None], axis=2)[..., 0]
    min_first = i_min <= i_max
    first = np.where(min_first, v_min, v_max)
    second = np.where(min_first, v_max, v_min)
    out = np.empty((data.shape[0], 2 * n_full), dtype=data.dtype)
    out[:, 0::2] = first
    out[:, 1::2] = second
    t_blocks = times[:cut].reshape(n_full, size)
    t_out = np.empty(2 * n_full, dtype=times.dtype)
    t_out[0::2] = t_blocks[:, 0]
    t_out[1::2] = t_blocks[:, -1]
    if cut < n:  # the newest, partial bin: keep its samples as they are
        t_out = np.concatenate([t_out, times[cut:]])
        out = np.concatenate([out, data[:, cut:]], axis=1)
    return t_out, out


def break_gaps(
    times: np.ndarray, data: np.ndarray, max_step: float
) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN column wherever consecutive times are more than `max_step` apart.

    A line drawn through the result stops at the gap instead of bridging it.

    Examples
    --------
    >>> t, y = break_gaps(np.array([0.0, 1, 5]), np.array([[1.0, 2, 3]]), 2.0)
    >>> t.tolist(), y.tolist()
    ([0.0, 1.0, 3.0, 5.0], [[1.0, 2.0, nan, 3.0]])
    """
    if times.shape[0] < 2:
        return times, data
    gaps = np.flatnonzero(np.diff(times) > max_step) + 1
    if not gaps.size:
        return times, data
    t_nan = (times[gaps - 1] + times[gaps]) / 2
    return np.insert(times, gaps, t_nan), np.insert(data, gaps, np.nan, axis=1)
