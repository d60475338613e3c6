"""`seizure_suspect`: rhythmic, high-amplitude activity, sustained, on one or more channels.

A channel is suspect in a window when a dominant rhythm (2-20 Hz, with its
harmonic) carries most of its power (`Features.peak_share`) and its RMS is
well above what this patient's channel usually shows (`AmplitudeBaseline`,
learned online from clean windows only). The alert state machine then asks
for it to be sustained (`seizure_k` of `seizure_n` windows); channels join
the alert as the discharge spreads, and the evidence names the features that
drove it, including how the rhythm's frequency evolved since onset.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from detector.alerts import Finding
from detector.config import DetectorConfig
from detector.features import Features

Array = NDArray[np.float64]

MESSAGE = (
    "Possible seizure on {channels} for {duration:.1f} s: a {peak_hz:.1f} Hz rhythm "
    "at {amplitude_ratio:.1f} times this patient's usual amplitude."
)


class AmplitudeBaseline:
    """Each channel's usual amplitude: an exponentially weighted mean of log10 RMS.

    Learns only what the detector calls clean, so a seizure never becomes
    its own baseline; forgets with a half-life (in learned windows) so the
    baseline follows sleep stages.

    Parameters
    ----------
    n_channels
        Channels tracked.
    halflife
        Learned windows after which an old one weighs half.

    Examples
    --------
    >>> import numpy as np
    >>> base = AmplitudeBaseline(2, halflife=100.0)
    >>> for _ in range(3):
    ...     base.learn(np.array([10.0, 20.0]))
    >>> base.ratio(np.array([30.0, 20.0])).round(2).tolist()
    [3.0, 1.0]
    """

    def __init__(self, n_channels: int, halflife: float) -> None:
        self.n_channels = n_channels
        self.halflife = halflife
        self._alpha = 1.0 - 0.5 ** (1.0 / halflife)
        self._log_rms = np.zeros(n_channels)
        self._counts = np.zeros(n_channels)

    def learn(self, rms: Array, mask: NDArray[np.bool_] | None = None) -> None:
        """Learn one window's RMS, on the channels in `mask` (all by default)."""
        learned = np.isfinite(rms) if mask is None else mask & np.isfinite(rms)
        self._counts += learned
        weight = np.maximum(self._alpha, 1.0 / np.maximum(self._counts, 1.0))
        step = weight * (np.log10(np.where(learned, rms, 1.0) + 1e-3) - self._log_rms)
        self._log_rms += np.where(learned, step, 0.0)

    def ratio(self, rms: Array) -> Array:
        """Current RMS over the usual one, per channel (1 where nothing was learned yet)."""
        ratio = 10.0 ** (np.log10(rms + 1e-3) - self._log_rms)
        return np.asarray(np.where(self._counts > 0, ratio, 1.0))

    def usual_rms(self) -> Array:
        return np.asarray(10.0**self._log_rms)


def seizure_finding(
    features: Features,
    baseline: AmplitudeBaseline,
    config: DetectorConfig,
    *,
    ready: bool,
    excluded: NDArray[np.bool_],
    onset_peak_hz: Array,
) -> Finding:
    """Flag channels that are rhythmic and high-amplitude in this window.

    `ready` is False until the baseline has been learned long enough;
    `excluded` marks channels a technical rule explains (a clipped or
    artifacted channel is not evidence of a seizure); `onset_peak_hz` is the
    rhythm's frequency when each channel's current episode began (NaN
    outside one), for the evidence of evolution.

    Examples
    --------
    >>> import numpy as np
    >>> from detector.features import compute_features
    >>> t = np.arange(256) / 256.0
    >>> rng = np.random.default_rng(0)
    >>> x = np.vstack([200 * np.sin(2 * np.pi * 5 * t), 20 * rng.normal(size=256)])
    >>> base = AmplitudeBaseline(2, 600.0)
    >>> base.learn(np.array([20.0, 20.0]))
    >>> f = seizure_finding(compute_features(x, x, 256.0), base, DetectorConfig(), ready=True,
    ...                     excluded=np.zeros(2, bool), onset_peak_hz=np.full(2, np.nan))
    >>> f.flags.tolist(), float(f.evidence["peak_hz"][0])
    ([True, False], 5.0)
    >>> round(float(f.evidence["amplitude_ratio"][0]), 1)
    7.1
    """
    ratio = baseline.ratio(features.rms)
    rhythmic = features.peak_share >= config.seizure_peak_share
    strong = ratio >= config.seizure_amplitude_ratio
    flags = ready & rhythmic & strong & ~excluded
    score = np.where(rhythmic, ratio * features.peak_share, 0.0)
    evolution = np.where(np.isnan(onset_peak_hz), 0.0, features.peak_hz - onset_peak_hz)
    return Finding(
        "seizure_suspect",
        np.asarray(flags, dtype=bool),
        np.asarray(score, dtype=np.float64),
        MESSAGE,
        {
            "peak_hz": features.peak_hz,
            "peak_share": features.peak_share,
            "amplitude_ratio": ratio,
            "rms_uv": features.rms,
            "line_length_uv": features.line_length,
            "peak_hz_change": evolution,
        },
    )
