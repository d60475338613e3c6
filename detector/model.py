"""Online anomaly scoring of windows, and the threshold that turns scores into decisions.

Scoring and deciding are separate, as in river: a scorer (`learn_one` /
`score_one`, a high score is anomalous) and a `QuantileThreshold` fed only
with the scores of windows the scorer learned from. The detector protects
the scorer: it never learns from a window flagged by a rule, carrying bad
values, scored above the threshold, or seen while any alert is active, so a
seizure (a long, packed anomaly) is not slowly learned as normal.

Which scorer. On the Bonn set (173.61 Hz, one channel; learn on 30 healthy
segments of Z and 30 of O, score 20 + 20 held-out healthy segments against
the 50 seizure segments of S, mean score per segment), the area under the
ROC curve was 1.00 for `FeatureDeviation` and 0.95 for
`MinMaxScaler() | HalfSpaceTrees(seed=42, window_size=50)` (0.99 and 0.88
per window), at 7 µs and 33 µs per window. HST scores 0 until its first
window of `window_size` vectors fills and its MinMaxScaler stretches with
every outlier; it stays available as `model="hst"`, but it missed a
sustained eightfold amplitude rise on synthetic EEG that `FeatureDeviation`
flags (tests): values beyond the learned range fall into the same
leaves as the largest normal ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from river import anomaly, preprocessing, stats

from detector.features import BANDS, Features

#: Names of the per-window model features, in order.
MODEL_FEATURES: tuple[str, ...] = (*(f"log_{b}" for b in BANDS), "log_line_length", "log_rms")


def model_features(features: Features) -> dict[str, float]:
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
    rows = [features.band_power[b] for b in BANDS]
    rows.append(np.log10(features.line_length + 1e-6))
    rows.append(np.log10(features.rms + 1e-6))
    stacked = np.sort(np.vstack(rows), axis=1)  # np.median's own overhead is most of the cost
    mid = stacked.shape[1] // 2
    medians = (
        stacked[:, mid] if stacked.shape[1] % 2 else (stacked[:, mid - 1] + stacked[:, mid]) / 2
    )
    return dict(zip(MODEL_FEATURES, medians.tolist(), strict=True))


class FeatureDeviation:
    """Mean absolute z-score of the features against their exponentially weighted mean and variance.

    The multivariate, forgetting form of river's `StandardAbsoluteDeviation`:
    each feature keeps a mean and variance that weigh the last `halflife`
    learned vectors most (a plain running average until then), so what is
    normal follows the patient from one sleep stage to the next; the score is
    the mean over features of |x - mean| / std. Scores are 0 until
    `grace_period` vectors were learned.

    Parameters
    ----------
    grace_period
        Vectors to learn before scoring (10).
    halflife
        Learned vectors after which an old one weighs half (None: never forget).

    Examples
    --------
    >>> scorer = FeatureDeviation(grace_period=2)
    >>> for v in (1.0, 2.0, 3.0):
    ...     scorer.learn_one({"a": v, "b": -v})
    >>> round(scorer.score_one({"a": 2.0, "b": -2.0}), 3)
    0.0
    >>> round(scorer.score_one({"a": 5.0, "b": -5.0}), 3)
    3.674
    """

    def __init__(self, grace_period: int = 10, halflife: float | None = None) -> None:
        self.grace_period = grace_period
        self.halflife = halflife
        self._alpha = 0.0 if halflife is None else 1.0 - 0.5 ** (1.0 / halflife)
        self._mean: dict[str, float] = {}
        self._var: dict[str, float] = {}
        self._n = 0

    def learn_one(self, x: dict[str, float]) -> None:
        if not all(math.isfinite(v) for v in x.values()):
            return  # one bad vector must not poison the statistics for good
        self._n += 1
        weight = max(self._alpha, 1.0 / self._n)
        for name, value in x.items():
            mean = self._mean.get(name, value)
            diff = value - mean
            step = weight * diff
            self._mean[name] = mean + step
            self._var[name] = (1.0 - weight) * (self._var.get(name, 0.0) + diff * step)

    def score_one(self, x: dict[str, float]) -> float:
        if self._n < self.grace_period:
            return 0.0
        total = 0.0
        for name, value in x.items():
            total += abs(value - self._mean[name]) / (math.sqrt(self._var[name]) + 1e-9)
        score = total / len(x)
        return score if math.isfinite(score) else math.inf


class PerFeature:
    """One univariate river scorer per feature; the score is their mean.

    How river's `GaussianScorer` and `StandardAbsoluteDeviation` (which score
    one value) are applied to a vector of features.

    Parameters
    ----------
    make
        Builds one univariate scorer (called once per feature name).

    Examples
    --------
    >>> from river import anomaly
    >>> scorer = PerFeature(anomaly.StandardAbsoluteDeviation)
    >>> for v in (1.0, 2.0, 3.0):
    ...     scorer.learn_one({"a": v})
    >>> round(scorer.score_one({"a": 4.0}), 3)
    2.0
    """

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make
        self._scorers: dict[str, Any] = {}

    def learn_one(self, x: dict[str, float]) -> None:
        if not all(math.isfinite(v) for v in x.values()):
            return
        for name, value in x.items():
            scorer = self._scorers.get(name)
            if scorer is None:
                scorer = self._scorers[name] = self.make()
            scorer.learn_one(None, value)

    def score_one(self, x: dict[str, float]) -> float:
        if not self._scorers:
            return 0.0
        scores = [float(self._scorers[n].score_one(None, v)) for n, v in x.items()]
        score = sum(scores) / len(scores)
        return score if math.isfinite(score) else math.inf


class QuantileThreshold:
    """A margin times the running quantile of learned scores: the decision threshold.

    Like river's `QuantileFilter`, but updated only with what the detector
    chose to learn; infinite until it has seen `2 / (1 - q)` scores (200 for
    the 0.99 quantile), since before that the "quantile" is just the largest
    score seen so far and alarmed on the first unusual minute of REM sleep.
    The margin matters because overlapping windows give correlated scores:
    without it, the quantile alone lets about 1 - q of all windows through,
    in runs.

    Parameters
    ----------
    q
        Quantile level (0.99).
    margin
        Factor applied to the quantile (1.0).

    Examples
    --------
    >>> t = QuantileThreshold(q=0.5)
    >>> for s in (1.0, 2.0, 3.0):
    ...     t.update(s)
    >>> t.get()  # a median needs 4 scores
    inf
    >>> for s in (4.0, 5.0):
    ...     t.update(s)
    >>> t.get()
    3.0
    """

    def __init__(self, q: float = 0.99, margin: float = 1.0) -> None:
        self.q = q
        self.margin = margin
        self._quantile = stats.Quantile(q=q)
        self._seen = 0

    def update(self, score: float) -> None:
        self._quantile.update(score)
        self._seen += 1

    def get(self) -> float:
        needed = math.ceil(2.0 / (1.0 - self.q) - 1e-9)
        value = self._quantile.get() if self._seen >= needed else None
        return math.inf if value is None else self.margin * float(value)


def _gaussian() -> Any:
    return anomaly.GaussianScorer(grace_period=10)  # type: ignore[no-untyped-call]


def make_scorer(name: str, seed: int, halflife: float | None = None) -> Any:
    """The scorer named in the config, seeded; `halflife` (vectors) for "deviation"."""
    if name == "hst":
        return preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(seed=seed, window_size=50)
    if name == "gaussian":
        return PerFeature(_gaussian)
    if name == "sad":
        return PerFeature(anomaly.StandardAbsoluteDeviation)
    if name == "svm":
        return preprocessing.StandardScaler() | anomaly.OneClassSVM(nu=0.05)
    if name == "deviation":
        return FeatureDeviation(halflife=halflife)
    raise ValueError(f"unknown model {name!r}")
