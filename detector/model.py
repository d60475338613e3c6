"""Online anomaly scoring of windows, and the threshold that turns scores into decisions.

Scoring and deciding are separate, as in river: a scorer (a river
`AnomalyDetector`: `learn_one` / `score_one`, a high score is anomalous) and
a `QuantileThreshold` fed only with the scores of windows the scorer learned
from. The detector protects the scorer: it never learns from a window
flagged by a rule, carrying bad values, scored above the threshold, or seen
while any alert is active, so a seizure (a long, packed anomaly) is not
slowly learned as normal.

Which scorer. `FeatureCovariance` knows how sleep moves the features
together, so a change of stage costs little and a change no stage makes
(one band rising alone, every band but one falling) costs much; scorers
that judge each feature on its own see every change of stage as several
large deviations, and river's tree and kernel scorers need their features
rescaled to a range that an outlier stretches. The alternatives stay
reproducible in ``benchmarks/scorers.py``; docs/detection.md compares them.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
from numpy.typing import NDArray
from river import base, stats
from river.base.typing import FeatureName
from scipy.linalg import lapack

from detector.features import Features
from protocol.bands import BANDS

#: Names of the per-window model features, in order.
MODEL_FEATURES: tuple[str, ...] = (*(f"log_{b}" for b in BANDS), "log_line_length", "log_rms")
#: Quantization of the scorer's exact sums and of the threshold's scores: 2**20 steps a unit.
SCALE = float(1 << 20)


def model_features(features: Features) -> dict[FeatureName, float]:
    """The stream-level vector the model sees: medians across channels.

    Medians keep one bad electrode from moving the vector, and the log scale
    makes amplitude changes multiplicative, as they are in EEG.

    Examples
    --------
    >>> import numpy as np
    >>> from detector.features import compute_features
    >>> x = np.random.default_rng(1).normal(scale=20, size=(3, 256))
    >>> v = model_features(compute_features(x, x, 256.0))
    >>> list(v) == list(MODEL_FEATURES), round(v["log_rms"], 2)
    (True, 1.27)
    """
    [vector] = model_features_batch(features.rows(1))
    return vector


def model_features_batch(features: Features) -> list[dict[FeatureName, float]]:
    """`model_features` of each window of stacked (windows, channels) features, in one sort."""
    rows = [features.band_power[b] for b in BANDS]
    rows.append(np.log10(features.line_length + 1e-6))
    rows.append(np.log10(features.rms + 1e-6))
    stacked = np.sort(np.stack(rows, axis=1), axis=2)  # np.median's own overhead is most of it
    mid = stacked.shape[2] // 2
    medians = (
        stacked[:, :, mid]
        if stacked.shape[2] % 2
        else (stacked[:, :, mid - 1] + stacked[:, :, mid]) / 2
    )
    return [dict(zip(MODEL_FEATURES, row, strict=True)) for row in medians.tolist()]


class FeatureCovariance(base.AnomalyDetector):
    """Mahalanobis distance of the features from the last `memory` vectors learned.

    Sleep moves the features together: deeper sleep raises delta and the
    amplitude and lowers the line length's share at once, so a per-feature
    deviation sees every stage change as several large z-scores, and
    dilutes a change of one band among the unchanged ones.
    Against the learned covariance, a change along the ways sleep moves the
    features costs little and a change across them (fast activity that
    nothing else follows, a drop of every band but one) costs much. The
    score is sqrt(z' S^-1 z / d), with S the covariance of the learned
    vectors shrunk towards its diagonal by `shrinkage` (it stays invertible
    with few vectors or collinear features), so it reads like a z-score.

    The sums (of the vectors and of their outer products) are exact integer
    sums of values quantized to 2**-20: they, and so the mean, covariance
    and score computed from them, depend only on which vectors are in
    memory, not on what came before. Two scorers that learned the same last
    `memory` vectors score alike to the last bit, which is what lets a long
    recording be scanned in independent segments with the alerts of one
    pass.

    Parameters
    ----------
    grace_period
        Vectors to learn before scoring (10).
    memory
        Learned vectors the statistics cover (None: all).
    shrinkage
        Weight of the diagonal in the covariance, in [0, 1] (0.1).

    Examples
    --------
    >>> scorer = FeatureCovariance(grace_period=2, memory=4)
    >>> for a, b in ((1.0, 2.0), (2.0, 4.1), (3.0, 5.9), (4.0, 8.0)):  # b follows a
    ...     scorer.learn_one({"a": a, "b": b})
    >>> round(scorer.score_one({"a": 5.0, "b": 10.0}), 2)  # further along the same line
    1.63
    >>> round(scorer.score_one({"a": 5.0, "b": 5.0}), 2)  # across it
    3.62
    >>> scorer.clone().score_one({"a": 5.0, "b": 5.0})  # same parameters, nothing learned
    0.0
    """

    def __init__(
        self, grace_period: int = 10, memory: int | None = None, shrinkage: float = 0.1
    ) -> None:
        if memory is not None and not (isinstance(memory, int) and memory >= 1):
            raise ValueError(f"memory must be None or an integer >= 1, got {memory!r}")
        if not (isinstance(shrinkage, int | float) and 0.0 <= shrinkage <= 1.0):
            raise ValueError(f"shrinkage must be a number in [0, 1], got {shrinkage!r}")
        self.grace_period = grace_period
        self.memory = memory
        self.shrinkage = shrinkage
        # int64 holds a memory's sums of products (|q| < 2**24 even at 10 V);
        # without a memory the sums grow for ever, so they are Python integers.
        self._dtype: Any = np.int64 if memory is not None else object
        self._kept: deque[NDArray[Any]] = deque()
        self._names: tuple[FeatureName, ...] = ()
        self._sum: NDArray[Any] = np.zeros(0, dtype=self._dtype)
        self._sum_outer: NDArray[Any] = np.zeros((0, 0), dtype=self._dtype)
        self._n = 0
        self._mean: NDArray[np.float64] = np.zeros(0)
        self._covariance: NDArray[np.float64] | None = None  # shrunk, computed when needed

    def learn_one(self, x: dict[FeatureName, Any]) -> None:
        if not self._names:
            self._names = tuple(x)
            self._sum = np.zeros(len(x), dtype=self._dtype)
            self._sum_outer = np.zeros((len(x), len(x)), dtype=self._dtype)
        vector = np.fromiter(map(x.__getitem__, self._names), np.float64, len(self._names))
        if not np.isfinite(vector).all():
            return  # one bad vector must not poison the statistics for good
        rounded = np.rint(vector * SCALE)  # half to even, like round()
        quantized = rounded.astype(np.int64) if self.memory is not None else _integers(rounded)
        self._sum += quantized
        change = quantized[:, None] * quantized
        self._n += 1
        if self.memory is not None:
            self._kept.append(quantized)
            if len(self._kept) > self.memory:
                old = self._kept.popleft()
                self._sum -= old
                change -= old[:, None] * old
                self._n -= 1
        self._sum_outer += change
        self._covariance = None

    def state(self) -> tuple[tuple[str, ...], NDArray[np.int64]]:
        """What it learned, as plain data: the feature names, the quantized vectors in memory.

        The sums follow from the vectors, so this is all a restart needs;
        only a scorer with a `memory` has such a state.
        """
        if self.memory is None:
            raise ValueError("only a FeatureCovariance with a memory has an array state")
        kept = np.array(list(self._kept), dtype=np.int64).reshape(len(self._kept), len(self._names))
        return tuple(str(name) for name in self._names), kept

    def load_state(self, names: tuple[str, ...], kept: NDArray[Any]) -> None:
        """Continue from a `state`; ValueError (scorer unchanged) when it cannot be its state."""
        kept = np.asarray(kept)
        if self.memory is None:
            raise ValueError("only a FeatureCovariance with a memory has an array state")
        if kept.dtype != np.int64 or kept.ndim != 2 or kept.shape[1] != len(names):
            raise ValueError(f"scorer vectors of shape {kept.shape} ({kept.dtype}) for {names}")
        if kept.shape[0] > self.memory or (kept.shape[0] and not names):
            raise ValueError(f"{kept.shape[0]} scorer vectors for a memory of {self.memory}")
        largest = int(np.abs(kept).max(initial=0))
        if largest >= 1 << 40 or largest * largest * max(1, kept.shape[0]) >= 1 << 62:
            raise ValueError("scorer vectors too large for its exact sums")
        self._names = tuple(names)
        self._kept = deque(row.copy() for row in kept)
        self._sum = kept.sum(axis=0)
        self._sum_outer = kept.T @ kept
        self._n = kept.shape[0]
        self._covariance = None

    def _fit(self) -> NDArray[np.float64]:
        """Mean and shrunk covariance: floats computed from the exact integer sums."""
        n = self._n
        mean = self._sum.astype(np.float64) / n
        cov = (self._sum_outer.astype(np.float64) / n - np.outer(mean, mean)) / (SCALE * SCALE)
        shrunk = (1.0 - self.shrinkage) * cov + np.diag(self.shrinkage * np.diag(cov) + 1e-12)
        self._mean = mean / SCALE
        return np.asarray(shrunk)

    def score_one(self, x: dict[FeatureName, Any]) -> float:
        if self._n < self.grace_period or not self._names:
            return 0.0
        if self._covariance is None:
            self._covariance = self._fit()
        z = np.array([x[name] for name in self._names]) - self._mean
        # LAPACK's symmetric positive-definite solver, called directly: numpy's
        # wrappers cost more than the 8 x 8 solve itself, once per window.
        _, solved, info = lapack.dposv(self._covariance, z)
        if info != 0:  # not positive definite: a feature that never changed (a flat recording)
            solved = np.linalg.pinv(self._covariance, hermitian=True) @ z
        score = math.sqrt(max(float(z @ solved), 0.0) / len(z))
        return score if math.isfinite(score) else math.inf


def _integers(values: NDArray[np.float64]) -> NDArray[Any]:
    """Whole floats as Python integers (an object array), whose sums never overflow."""
    return np.array([int(v) for v in values], dtype=object)


class QuantileThreshold:
    """A margin times the quantile of the last learned scores: the decision threshold.

    Like river's `QuantileFilter`, but updated only with what the detector
    chose to learn; infinite until it has seen `2 / (1 - q)` scores (200 for
    the 0.99 quantile), since before that the "quantile" is just the largest
    score seen so far, which the first unusual minute of REM sleep exceeds.
    The margin matters because overlapping windows give correlated scores:
    without it, the quantile alone lets about 1 - q of all windows through,
    in runs.

    With a `memory`, the quantile is river's exact `RollingQuantile` over the
    last `memory` scores, so, like `FeatureCovariance`, the threshold depends
    only on what is in memory; without, river's streaming `Quantile` of all.

    Parameters
    ----------
    q
        Quantile level (0.99).
    margin
        Factor applied to the quantile (1.0).
    memory
        Scores the quantile covers (None: all); at least `2 / (1 - q)`.

    Examples
    --------
    >>> t = QuantileThreshold(q=0.5, memory=4)
    >>> for s in (1.0, 2.0, 3.0):
    ...     t.update(s)
    >>> t.get()  # a median needs 4 scores
    inf
    >>> for s in (4.0, 5.0):
    ...     t.update(s)
    >>> t.get()  # the median of 2, 3, 4 and 5
    3.5
    """

    def __init__(self, q: float = 0.99, margin: float = 1.0, memory: int | None = None) -> None:
        self.q = q
        self.margin = margin
        self.memory = memory
        self._needed = math.ceil(2.0 / (1.0 - q) - 1e-9)
        if memory is not None and not (isinstance(memory, int) and memory >= self._needed):
            raise ValueError(
                f"memory must be None or an integer >= 2 / (1 - q) = {self._needed}, got {memory!r}"
            )
        self._quantile: Any = (
            stats.Quantile(q=q) if memory is None else stats.RollingQuantile(q, memory)
        )
        #: the scores in memory, oldest first: all a restart needs of a rolling quantile
        self._recent: deque[float] | None = None if memory is None else deque(maxlen=memory)
        self._seen = 0

    def update(self, score: float) -> None:
        if not math.isfinite(score):
            return  # says nothing about what is normal (and would corrupt the quantile)
        # Quantized like `FeatureCovariance`'s sums: scores that differ only in
        # their last bits (the filters of a scan started elsewhere in the file
        # round differently) give the same threshold.
        value = round(score * SCALE) / SCALE
        self._quantile.update(value)
        if self._recent is not None:
            self._recent.append(value)
        self._seen += 1

    def state(self) -> tuple[int, NDArray[np.float64]]:
        """Scores learned so far, and those in memory (oldest first); needs a `memory`."""
        if self._recent is None:
            raise ValueError("only a QuantileThreshold with a memory has an array state")
        return self._seen, np.array(self._recent, dtype=np.float64)

    def load_state(self, seen: int, scores: NDArray[Any]) -> None:
        """Continue from a `state`; ValueError (threshold unchanged) when it cannot be its state."""
        scores = np.asarray(scores)
        if self.memory is None or self._recent is None:
            raise ValueError("only a QuantileThreshold with a memory has an array state")
        if scores.dtype != np.float64 or scores.ndim != 1 or not np.isfinite(scores).all():
            raise ValueError(f"threshold scores of shape {scores.shape} ({scores.dtype})")
        if not (isinstance(seen, int) and len(scores) == min(seen, self.memory)):
            raise ValueError(f"{len(scores)} threshold scores for {seen!r} seen")
        quantile = stats.RollingQuantile(self.q, self.memory)
        for value in scores.tolist():
            quantile.update(value)
        self._quantile = quantile
        self._recent = deque(scores.tolist(), maxlen=self.memory)
        self._seen = seen

    def get(self) -> float:
        value = self._quantile.get() if self._seen >= self._needed else None
        return math.inf if value is None else self.margin * float(value)
