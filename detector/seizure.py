"""`seizure_suspect`: sustained high-amplitude activity, rhythmic or sharper than usual.

A channel is suspect in a window when its RMS is well above what this
patient's channel usually shows (`ChannelBaseline`, learned online from
clean windows only) and the activity is either rhythmic (a dominant 2-20 Hz
rhythm with its harmonic carries most of the power, `Features.peak_share`)
or sharper than usual (its line length, too, is well above the channel's
usual). The second branch is why this is not fooled by sleep: slow waves
raise the amplitude but slow the signal down, so their line length rises
far less; ictal discharges, spiky or polymorphic as they often are, raise
both. An alpha rhythm counts only well above twice the usual: that is how
the waking rhythm returns after sleep. The alert state machine then asks for
it to be sustained (`seizure_k` of `seizure_n` windows, 4 s of 5 s by
default), which spindles, K-complexes and muscle bursts are not, or 2.5 s
of 3 s for strong evidence (three times the usual amplitude and line
length, or amplitude and rhythm), which no sleep transient lasts; channels
join the alert as the discharge spreads, and the evidence names the
features that drove it, including how the rhythm's frequency evolved since
onset.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from detector.alerts import Finding
from detector.config import DetectorConfig
from detector.features import Features
from protocol.kinds import KINDS

Array = NDArray[np.float64]
#: Share of the power above 30 Hz (muscle) beyond which a rise of line length is not ictal.
MAX_HIGH_SHARE = 0.25
#: The waking alpha rhythm's range (Hz), whose return on arousal the criteria allow for: the
#: clinical 8-13 Hz, wider than the alpha band (which leaves 12-16 Hz to sleep spindles).
WAKING_ALPHA_HZ = (8.0, 13.0)
#: Quantization step of `ChannelBaseline`'s exact sums: 2**-24 of a log10 unit.
_SCALE = float(1 << 24)


class ChannelBaseline:
    """Each channel's usual amplitude and line length: means of their logs over its last windows.

    Learns only what the detector calls clean, so a seizure never becomes
    its own baseline, and keeps each channel's last `memory` learned windows,
    so the baseline follows sleep stages and a long artifact or seizure
    (nothing learned meanwhile) leaves it as it was. The means are exact
    sums of values quantized to 2**-24 of a log10 unit: they depend only on
    the windows in memory, never on older history (as `FeatureCovariance`'s).

    Parameters
    ----------
    n_channels
        Channels tracked.
    memory
        Learned windows each channel's means cover.

    Examples
    --------
    >>> import numpy as np
    >>> base = ChannelBaseline(2, memory=3)
    >>> for _ in range(3):
    ...     base.learn(np.array([10.0, 20.0]), np.array([2.0, 2.0]))
    >>> amplitude, line_length = base.ratios(np.array([30.0, 20.0]), np.array([2.0, 8.0]))
    >>> amplitude.round(2).tolist(), line_length.round(2).tolist()
    ([3.0, 1.0], [1.0, 4.0])
    """

    def __init__(self, n_channels: int, memory: int) -> None:
        if not (isinstance(memory, int) and memory >= 1):
            raise ValueError(f"memory must be an integer >= 1, got {memory!r}")
        self.n_channels = n_channels
        self.memory = memory
        self._kept = np.zeros((n_channels, memory, 2), dtype=np.int64)  # quantized logs
        self._sum = np.zeros((n_channels, 2), dtype=np.int64)
        self._next = np.zeros(n_channels, dtype=np.int64)  # where each channel writes next
        self._counts = np.zeros(n_channels, dtype=np.int64)
        self._all = np.arange(n_channels)
        self._log = np.zeros((2, n_channels))  # log10 RMS, log10 line length

    def learn(self, rms: Array, line_length: Array, mask: NDArray[np.bool_] | None = None) -> None:
        """Learn one window's RMS and line length, on the channels in `mask` (all by default)."""
        values = np.stack([rms, line_length], axis=1)
        learned = np.isfinite(values).all(axis=1)
        if mask is not None:
            learned &= mask
        channels = self._all if learned.all() else np.flatnonzero(learned)
        if len(channels) == 0:
            return
        slots = self._next[channels]
        new = np.rint(np.log10(values[channels] + 1e-3) * _SCALE).astype(np.int64)
        self._sum[channels] += new - self._kept[channels, slots]
        self._kept[channels, slots] = new
        self._next[channels] = (slots + 1) % self.memory
        self._counts[channels] = np.minimum(self._counts[channels] + 1, self.memory)
        self._log = (self._sum / (np.maximum(self._counts, 1)[:, None] * _SCALE)).T

    def state(self) -> dict[str, NDArray[np.int64]]:
        """What it learned, as integer arrays: the quantized logs, next slots, counts."""
        return {"kept": self._kept.copy(), "next": self._next.copy(), "counts": self._counts.copy()}

    def load_state(self, kept: NDArray[Any], next_slot: NDArray[Any], counts: NDArray[Any]) -> None:
        """Continue from a `state`; ValueError (baseline unchanged) when it cannot be this one's."""
        arrays = [np.asarray(a) for a in (kept, next_slot, counts)]
        shapes = [self._kept.shape, self._next.shape, self._counts.shape]
        if [(a.dtype, a.shape) for a in arrays] != [(np.dtype(np.int64), s) for s in shapes]:
            raise ValueError(f"baseline arrays of shapes {[a.shape for a in arrays]}")
        kept, next_slot, counts = arrays
        if not (
            ((next_slot >= 0) & (next_slot < self.memory)).all()
            and ((counts >= 0) & (counts <= self.memory)).all()
            and int(np.abs(kept).max(initial=0)) < 1 << 40
        ):
            raise ValueError("baseline slots, counts or values out of range")
        self._kept, self._next, self._counts = kept.copy(), next_slot.copy(), counts.copy()
        self._sum = self._kept.sum(axis=1)
        self._log = (self._sum / (np.maximum(self._counts, 1)[:, None] * _SCALE)).T

    def ratios(self, rms: Array, line_length: Array) -> tuple[Array, Array]:
        """Current RMS and line length over the usual ones (1 where nothing was learned yet)."""
        now = np.log10(np.vstack([rms, line_length]) + 1e-3)
        ratio = np.where(self._counts > 0, 10.0 ** (now - self._log), 1.0)
        return np.asarray(ratio[0]), np.asarray(ratio[1])


def seizure_finding(
    features: Features,
    baseline: ChannelBaseline,
    config: DetectorConfig,
    *,
    ready: bool,
    excluded: NDArray[np.bool_],
    onset_peak_hz: Array,
    movement_ratio: float | None = None,
) -> Finding:
    """Flag channels whose activity is high-amplitude and rhythmic or sharp in this window.

    `ready` is False until the baseline has been learned long enough;
    `excluded` marks channels a technical rule explains (a clipped or
    artifacted channel is not evidence of a seizure); `onset_peak_hz` is the
    rhythm's frequency when each channel's current episode began (NaN
    outside one), for the evidence of evolution. `movement_ratio`, in a
    stream whose sleep is staged: an amplitude this many times the stage's
    usual is a body movement, not evidence of a seizure.

    Examples
    --------
    >>> import numpy as np
    >>> from detector.features import compute_features
    >>> t = np.arange(256) / 256.0
    >>> rng = np.random.default_rng(0)
    >>> x = np.vstack([200 * np.sin(2 * np.pi * 5 * t), 20 * rng.normal(size=256)])
    >>> base = ChannelBaseline(2, 600)
    >>> base.learn(np.array([20.0, 20.0]), np.array([15.0, 15.0]))
    >>> f = seizure_finding(compute_features(x, x, 256.0), base, DetectorConfig(), ready=True,
    ...                     excluded=np.zeros(2, bool), onset_peak_hz=np.full(2, np.nan))
    >>> f.flags.tolist(), f.strong.tolist(), float(f.evidence["peak_hz"][0])
    ([True, False], [True, False], 5.0)
    >>> round(float(f.evidence["amplitude_ratio"][0]), 1)
    7.1
    """
    amplitude, line_length = baseline.ratios(features.rms, features.line_length)
    rhythmic = features.peak_share >= config.seizure_peak_share
    if rhythmic.any():  # (most windows of a night have no rhythm: skip the rest)
        # An arousal brings back the waking alpha rhythm at about twice the sleep's amplitude.
        low, high = WAKING_ALPHA_HZ
        alpha = (features.peak_hz >= low) & (features.peak_hz <= high)
        rhythmic &= ~alpha | (amplitude >= config.seizure_alpha_ratio)
    # Line length weighs fast activity most: muscle above 30 Hz raises it
    # without any ictal rhythm, so it only counts when the power stays below.
    slow = features.high_rms**2 < MAX_HIGH_SHARE * features.rms**2
    sharper = (line_length >= config.seizure_line_length_ratio) & slow
    flags = ready & (amplitude >= config.seizure_amplitude_ratio) & (rhythmic | sharper) & ~excluded
    if movement_ratio is not None:
        flags &= amplitude < movement_ratio
    strong = flags
    if flags.any():
        far = config.seizure_strong_ratio
        strong = flags & (amplitude >= far) & (rhythmic | ((line_length >= far) & slow))
    score = np.where(rhythmic | sharper, amplitude * np.maximum(line_length, 1.0), 0.0)
    evolution = np.where(np.isnan(onset_peak_hz), 0.0, features.peak_hz - onset_peak_hz)
    return Finding(
        "seizure_suspect",
        np.asarray(flags, dtype=bool),
        np.asarray(score, dtype=np.float64),
        KINDS["seizure_suspect"].message,
        {
            "peak_hz": features.peak_hz,
            "peak_share": features.peak_share,
            "amplitude_ratio": amplitude,
            "line_length_ratio": line_length,
            "rms_uv": features.rms,
            "line_length_uv": features.line_length,
            "peak_hz_change": evolution,
        },
        strong=np.asarray(strong, dtype=bool),
    )
