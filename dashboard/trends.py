"""Night trends of one feed, computed incrementally in fixed memory.

Every `bin_s` seconds of stream time (30 s) becomes one column: the mean power
spectrum of each channel (1 Hz bins up to `fmax`, from 2-second segments of the
display samples, by `protocol.spectra.psd`), two band-power ratios over the
bands of `protocol.bands` (sigma, 12-16 Hz, is in neither), the signal quality
the monitor reported, and how many alerts were raised. The columns live in
numpy rings allocated once when the stream's shape is known (12 h by default),
so a night costs the same memory at its tenth hour as at its first.

Examples
--------
>>> trends = NightTrends(bin_s=30.0, hours=1.0)
>>> rate = 128.0
>>> t = np.arange(0, 95, 1 / rate)
>>> alpha = 20 * np.sin(2 * np.pi * 10 * t)[None, :].astype(np.float32)
>>> trends.add_samples(t, alpha, rate)
>>> snap = trends.snapshot(channel=0)
>>> snap.times.tolist()  # three complete 30 s bins; the fourth is still filling
[0.0, 30.0, 60.0]
>>> int(snap.freqs[snap.csa[0].argmax()])  # the spectrum peaks at 10 Hz
10
>>> bool(snap.ratios["alpha/delta"][0] > 10)
True
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from protocol.bands import BANDS
from protocol.kinds import SEVERITIES
from protocol.spectra import frequencies, psd


@dataclasses.dataclass(frozen=True)
class TrendSnapshot:
    """Copies of the completed bins, oldest first (stream times of each bin's start)."""

    times: np.ndarray  #: (n,) seconds, stream clock
    bin_s: float
    freqs: np.ndarray  #: (n_freq,) centre of each 1 Hz bin
    csa: np.ndarray  #: (n, n_freq) log10 µV²/Hz of the chosen channel (NaN: no data)
    ratios: dict[str, np.ndarray]  #: name -> (n,) ratio of band powers, mean over channels
    quality_mean: np.ndarray  #: (n,) 0..1, NaN when the monitor sent none
    quality_min: np.ndarray  #: (n,) the worst channel
    alerts: dict[str, np.ndarray]  #: severity -> (n,) alerts raised in the bin


class NightTrends:
    """Incremental 30-second trends of one stream, bounded to `hours`.

    Parameters
    ----------
    bin_s
        Seconds of stream time per trend column.
    hours
        Columns kept: ``hours * 3600 / bin_s``; the oldest are overwritten.
    max_channels
        Spectra are kept for the first `max_channels` channels (bounds memory:
        12 h x 64 channels x 30 frequencies of float32 is 11 MB).
    fmax
        Highest frequency of the spectra (capped at 0.45 x the display rate).
    """

    def __init__(
        self,
        bin_s: float = 30.0,
        hours: float = 12.0,
        max_channels: int = 64,
        fmax: float = 30.0,
    ) -> None:
        if bin_s <= 0 or hours <= 0:
            raise ValueError(f"bin_s and hours must be positive, got {bin_s!r}, {hours!r}")
        self.bin_s = bin_s
        self.hours = hours
        self.max_channels = max_channels
        self.fmax = fmax
        self.capacity = max(1, math.ceil(hours * 3600.0 / bin_s))
        self.version = 0  #: grows each time a bin is completed
        self._shape: tuple[int, float] | None = None
        self._allocate(0, 0.0)

    # -- state -------------------------------------------------------------------------

    def _allocate(self, n_channels: int, rate: float) -> None:
        self._shape = (n_channels, rate) if n_channels else None
        self._rate = rate
        n_ch = min(n_channels, self.max_channels)
        self._nperseg = max(8, round(2.0 * rate)) if rate else 8
        freqs = frequencies(self._nperseg, rate) if rate else np.zeros(0)
        top = min(self.fmax, 0.45 * rate) if rate else 0.0
        self._edges = np.arange(0.5, top + 0.5, 1.0)
        n_freq = max(0, self._edges.size - 1)
        self.freqs = (self._edges[:-1] + 0.5) if n_freq else np.zeros(0)
        # (rfft bins, 1 Hz bins) averaging matrix: pooled = spectrum @ pool
        fbin = np.digitize(freqs, self._edges) - 1
        self._pool = np.zeros((freqs.size, n_freq))
        inside = np.flatnonzero((fbin >= 0) & (fbin < n_freq))
        self._pool[inside, fbin[inside]] = 1.0
        self._pool /= np.maximum(self._pool.sum(axis=0, keepdims=True), 1.0)
        self._band_masks = {
            b: (self.freqs >= lo) & (self.freqs < hi) for b, (lo, hi) in BANDS.items()
        }
        cap = self.capacity
        self._times = np.full(cap, np.nan)
        self._csa = np.full((cap, n_ch, n_freq), np.nan, dtype=np.float32)
        self._bands = np.full((cap, len(BANDS)), np.nan, dtype=np.float32)
        self._quality = np.full((cap, 2), np.nan, dtype=np.float32)
        self._alerts = np.zeros((cap, len(SEVERITIES)), dtype=np.int32)
        self._end = 0
        self._count = 0
        self._seg = np.zeros((n_ch, self._nperseg), dtype=np.float64)
        self._start_bin()
        self._bin: int | None = None

    def _start_bin(self) -> None:
        n_ch, n_freq = self._csa.shape[1], self._csa.shape[2]
        self._psd_sum = np.zeros((n_ch, n_freq))
        self._psd_count = 0
        self._q_sum = 0.0
        self._q_min = math.inf
        self._q_count = 0
        self._alert_counts = np.zeros(len(SEVERITIES), dtype=np.int32)
        self._seg_fill = 0
        self._last_t = math.nan

    def reset(self) -> None:
        """Forget everything (a different stream: trends never mix patients)."""
        self._allocate(0, 0.0)
        self.version += 1

    def __len__(self) -> int:
        return self._count

    # -- input -------------------------------------------------------------------------

    def add_samples(self, times: np.ndarray, data: np.ndarray, rate: float) -> None:
        """Add display samples: `times` (n,) stream seconds, `data` (n_channels, n) µV."""
        if not times.size or rate <= 0:
            return
        if self._shape != (data.shape[0], rate):
            self._allocate(data.shape[0], rate)
        bins = np.floor(times / self.bin_s).astype(np.int64)
        start = 0
        while start < times.size:
            b = int(bins[start])
            if self._bin is None:
                self._bin = b
            elif b != self._bin:
                if b < self._bin:  # the stream clock went back: a new stream
                    self._allocate(data.shape[0], rate)
                    self._bin = b
                else:
                    self._finish_bin()
                    self._bin = b
            stop = start + int(np.searchsorted(bins[start:], b, side="right"))
            self._add_piece(times[start:stop], data[:, start:stop], rate)
            start = stop

    def _add_piece(self, times: np.ndarray, data: np.ndarray, rate: float) -> None:
        n_ch = self._seg.shape[0]
        gap = 2.5 / rate
        pos = 0
        while pos < times.size:
            if not math.isnan(self._last_t) and times[pos] - self._last_t > gap:
                self._seg_fill = 0  # a hole: segments never straddle it
            take = min(self._nperseg - self._seg_fill, times.size - pos)
            block = data[:n_ch, pos : pos + take]
            steps = np.diff(times[pos : pos + take])
            cut = np.flatnonzero(steps > gap)
            if cut.size:  # stop at the first hole inside this block
                take = int(cut[0]) + 1
                block = block[:, :take]
            self._seg[:, self._seg_fill : self._seg_fill + take] = block
            self._seg_fill += take
            self._last_t = float(times[pos + take - 1])
            pos += take
            if self._seg_fill == self._nperseg:
                self._add_segment()
                self._seg_fill = 0

    def _add_segment(self) -> None:
        seg = self._seg
        if not np.isfinite(seg).all() or not self._psd_sum.shape[1]:
            return
        _, density = psd(seg - seg.mean(axis=1, keepdims=True), self._rate)
        self._psd_sum += density @ self._pool
        self._psd_count += 1

    def add_quality(self, end: float, quality: list[float] | np.ndarray) -> None:
        """The per-channel quality (0..1) of the monitor's newest window."""
        q = np.asarray(quality, dtype=np.float64)
        q = q[np.isfinite(q)]
        if not q.size:
            return
        self._q_sum += float(q.mean())
        self._q_min = min(self._q_min, float(q.min()))
        self._q_count += 1

    def add_alert(self, severity: str) -> None:
        """Count one raised alert in the bin being filled."""
        if severity in SEVERITIES:
            self._alert_counts[SEVERITIES.index(severity)] += 1

    def _finish_bin(self) -> None:
        assert self._bin is not None
        i = self._end
        self._times[i] = self._bin * self.bin_s
        if self._psd_count:
            mean = self._psd_sum / self._psd_count
            with np.errstate(divide="ignore"):
                self._csa[i] = np.log10(np.maximum(mean, 1e-6))
            bands = np.array([mean[:, m].sum(axis=1).mean() for m in self._band_masks.values()])
            self._bands[i] = bands
        else:
            self._csa[i] = np.nan
            self._bands[i] = np.nan
        if self._q_count:
            self._quality[i] = (self._q_sum / self._q_count, self._q_min)
        else:
            self._quality[i] = np.nan
        self._alerts[i] = self._alert_counts
        self._end = (self._end + 1) % self.capacity
        self._count = min(self.capacity, self._count + 1)
        last_t = self._last_t
        self._start_bin()
        self._last_t = last_t
        self.version += 1

    # -- output ------------------------------------------------------------------------

    def snapshot(self, channel: int = 0) -> TrendSnapshot:
        """Copies of the completed bins; the spectra of `channel` (clamped to those kept)."""
        idx = (self._end - self._count + np.arange(self._count)) % self.capacity
        n_ch = self._csa.shape[1]
        csa = (
            self._csa[idx, min(max(channel, 0), n_ch - 1)]
            if n_ch
            else np.zeros((idx.size, 0), dtype=np.float32)
        )
        bands = self._bands[idx].astype(np.float64)
        power = {name: bands[:, k] for k, name in enumerate(BANDS)}
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = {
                "alpha/delta": power["alpha"] / power["delta"],
                "(delta+theta)/(alpha+beta)": (power["delta"] + power["theta"])
                / (power["alpha"] + power["beta"]),
            }
        return TrendSnapshot(
            times=self._times[idx].copy(),
            bin_s=self.bin_s,
            freqs=self.freqs.copy(),
            csa=np.array(csa),
            ratios=ratios,
            quality_mean=self._quality[idx, 0].astype(np.float64),
            quality_min=self._quality[idx, 1].astype(np.float64),
            alerts={s: self._alerts[idx, k].copy() for k, s in enumerate(SEVERITIES)},
        )

    @property
    def nbytes(self) -> int:
        """Bytes held by the rings (constant once the stream's shape is known)."""
        arrays = (self._times, self._csa, self._bands, self._quality, self._alerts, self._seg)
        return int(sum(a.nbytes for a in arrays))
