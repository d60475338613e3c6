"""YASA's sleep-staging features, computed as the night goes on.

Per epoch, the features are YASA's own (``yasa.SleepStaging.fit``: the same
0.4-30 Hz filter, statistics, band powers, ratios, entropies and fractal
dimensions). YASA filters the whole night at once; here each epoch is
filtered with `FILTER_MARGIN_S` of signal on each side, more than the
filter's half length, which gives the same samples.

What YASA computes over the whole night is replaced by what is known so far:

- the centred 15-epoch triangular mean stops at the last epoch there is
  (as YASA's does at the end of a recording) and is recomputed as later
  epochs arrive, until its window is complete;
- the robust scaling (5-95 % quantile range) is over the epochs so far;
- ``time_norm`` (the fraction of the night elapsed) is over a nominal night,
  or the time elapsed once the night is longer.

The past 2-minute mean and ``time_hour`` are causal and kept as they are.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import scipy.signal
from mne.filter import filter_data
from numpy.typing import NDArray
from scipy.integrate import trapezoid
from sklearn.preprocessing import robust_scale  # type: ignore[import-untyped]
from yasa import bandpower_from_psd_ndarray

from protocol.feed import SLEEP_EPOCH_S
from staging.resample import TARGET_RATE

EPOCH_S = SLEEP_EPOCH_S
EPOCH_SAMPLES = int(EPOCH_S * TARGET_RATE)
BROAD_BAND = (0.4, 30.0)
#: Signal kept on each side of an epoch for its filter: more than the filter's half length.
FILTER_MARGIN_S = 5.0
FILTER_MARGIN = int(FILTER_MARGIN_S * TARGET_RATE)
BANDS = [
    (0.4, 1, "sdelta"),
    (1, 4, "fdelta"),
    (4, 8, "theta"),
    (8, 12, "alpha"),
    (12, 16, "sigma"),
    (16, 30, "beta"),
]
#: YASA's centred smoothing window (7.5 min) and past window (2 min), in epochs.
CENTRED_EPOCHS = 15
PAST_EPOCHS = 4
#: Epochs after an epoch that its centred window covers.
CENTRED_REACH = CENTRED_EPOCHS // 2
#: YASA's robust scaling range (percentiles).
QUANTILE_RANGE = (5.0, 95.0)
#: The nominal length of a night, for ``time_norm``.
NIGHT_S = 8 * 3600.0


def entropy_library() -> ModuleType:
    """antropy, imported on first use: it compiles its functions (numba) as it is imported,
    which takes seconds (as YASA, which imports it only to compute features)."""
    return importlib.import_module("antropy")


def filtered_epoch(segment: NDArray[np.float64], start: int) -> NDArray[np.float64]:
    """The 0.4-30 Hz filtered epoch starting `start` samples into `segment` (channels, samples)."""
    filtered = filter_data(
        segment, TARGET_RATE, l_freq=BROAD_BAND[0], h_freq=BROAD_BAND[1], verbose=False
    )
    epoch: NDArray[np.float64] = filtered[:, start : start + EPOCH_SAMPLES]
    return epoch


def epoch_features(epoch: NDArray[np.float64], kinds: Sequence[str]) -> dict[str, float]:
    """YASA's features of one filtered epoch, one row per channel of kind `kinds`."""
    features: dict[str, float] = {}
    for row, kind in zip(epoch, kinds, strict=True):
        for name, value in _channel_features(row[None, :], kind).items():
            features[f"{kind}_{name}"] = float(value[0])
    return features


def _channel_features(epochs: NDArray[np.float64], kind: str) -> dict[str, NDArray[np.float64]]:
    """As in ``yasa.SleepStaging.fit``, for `epochs` (epochs, samples) of one channel."""
    antropy = entropy_library()
    hmob, hcomp = antropy.hjorth_params(epochs, axis=1)
    quartiles = np.quantile(epochs, [0.25, 0.75], axis=1)
    dev = epochs - epochs.mean(axis=1, keepdims=True)
    dev2 = dev**2
    m2 = dev2.mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN for flat epochs
        skew = (dev2 * dev).mean(axis=1) / m2**1.5
        kurt = (dev2**2).mean(axis=1) / m2**2 - 3
    feat = {
        "std": np.std(epochs, ddof=1, axis=1),
        "iqr": quartiles[1] - quartiles[0],
        "skew": skew,
        "kurt": kurt,
        "nzc": antropy.num_zerocross(epochs, axis=1),
        "hmob": hmob,
        "hcomp": hcomp,
    }
    window = int(5 * TARGET_RATE)
    freqs, psd = scipy.signal.welch(
        epochs, TARGET_RATE, window="hamming", nperseg=window, average="median"
    )
    if kind != "emg":
        power = bandpower_from_psd_ndarray(psd, freqs, bands=BANDS)
        for j, (_, _, band) in enumerate(BANDS):
            feat[band] = power[j]
    if kind == "eeg":
        delta = feat["sdelta"] + feat["fdelta"]
        feat["dt"] = delta / feat["theta"]
        feat["ds"] = delta / feat["sigma"]
        feat["db"] = delta / feat["beta"]
        feat["at"] = feat["alpha"] / feat["theta"]
    broad = np.logical_and(freqs >= BROAD_BAND[0], freqs <= BROAD_BAND[1])
    feat["abspow"] = trapezoid(psd[:, broad], dx=freqs[1] - freqs[0])
    feat["perm"] = np.apply_along_axis(antropy.perm_entropy, axis=1, arr=epochs, normalize=True)
    feat["higuchi"] = np.apply_along_axis(antropy.higuchi_fd, axis=1, arr=epochs)
    feat["petrosian"] = antropy.petrosian_fd(epochs, axis=1)
    return feat


def classifier_features(
    per_epoch: pd.DataFrame, rows: Sequence[int], night_s: float = NIGHT_S
) -> pd.DataFrame:
    """The classifier's input for epochs `rows`, from the features of the epochs so far.

    `per_epoch` has one row per epoch so far (`epoch_features`), the latest last.
    """
    centred = per_epoch.rolling(
        window=CENTRED_EPOCHS, center=True, min_periods=1, win_type="triang"
    ).mean()
    past = per_epoch.rolling(window=PAST_EPOCHS, min_periods=1).mean()
    onsets = np.arange(len(per_epoch), dtype=np.float64) * EPOCH_S
    night = max(night_s, float(onsets[-1]))
    parts = [
        per_epoch,
        _scaled(centred).add_suffix("_c7min_norm"),
        _scaled(past).add_suffix("_p2min_norm"),
        pd.DataFrame({"time_hour": onsets / 3600, "time_norm": onsets / night}),
    ]
    features = pd.concat(parts, axis=1).iloc[list(rows)]
    return features.astype(np.float32).sort_index(axis=1)


def _scaled(features: pd.DataFrame) -> pd.DataFrame:
    scaled = robust_scale(features.to_numpy(), quantile_range=QUANTILE_RANGE)
    return pd.DataFrame(scaled, columns=features.columns, index=features.index)
