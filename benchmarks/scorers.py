"""The anomaly scorers docs/detection.md compares with the detector's own.

The detector scores windows with `detector.model.FeatureCovariance`; the
quality benchmark (`benchmarks/quality.py`) runs the same cases with each of
these instead, so the comparison stays reproducible. Each is a river
`AnomalyDetector` on the detector's window vectors, given to
`detector.Detector` as its `scorer`, with the anomaly margin it was compared
at (`DetectorConfig.anomaly_margin`):

- ``covariance``: the detector's own scorer, for reference;
- ``deviation``: `FeatureDeviation`, mean |z| of the features against the
  same memory;
- ``hst``: river's `HalfSpaceTrees` behind a `MinMaxScaler` (features in
  [0, 1]), whose scores never exceed 1, hence a margin just above it;
- ``gaussian`` / ``sad``: river's `GaussianScorer` /
  `StandardAbsoluteDeviation` per feature, averaged (`PerFeature`);
- ``svm``: river's `OneClassSVM` behind a `StandardScaler`.

Examples
--------
>>> from detector import DetectorConfig
>>> config, scorer = make("deviation", DetectorConfig())
>>> config.anomaly_margin, scorer.memory
(1.5, 1200)
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable
from typing import Any

from river import anomaly, base, preprocessing
from river.base.typing import FeatureName

from detector import DetectorConfig
from detector.model import SCALE, FeatureCovariance

#: The scorers compared, the detector's own first.
NAMES: tuple[str, ...] = ("covariance", "deviation", "hst", "gaussian", "sad", "svm")
#: The anomaly margin of each: the detector's 2.0 for its own, 1.03 for HST, 1.5 for the rest.
MARGINS: dict[str, float] = {"covariance": DetectorConfig().anomaly_margin, "hst": 1.03}
OTHER_MARGIN = 1.5
#: Seed of the randomized scorers.
SEED = 42


def make(name: str, config: DetectorConfig, seed: int = SEED) -> tuple[DetectorConfig, Any]:
    """The detector settings (`config` with the scorer's margin) and the scorer named `name`.

    Memory-bound scorers remember as many vectors as the detector's memory
    (`DetectorConfig.memory_windows`).
    """
    memory = config.memory_windows()
    scorer: Any
    if name == "covariance":
        scorer = FeatureCovariance(memory=memory)
    elif name == "deviation":
        scorer = FeatureDeviation(memory=memory)
    elif name == "hst":
        scorer = preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(seed=seed, window_size=50)
    elif name == "gaussian":
        scorer = PerFeature(gaussian)
    elif name == "sad":
        scorer = PerFeature(anomaly.StandardAbsoluteDeviation)
    elif name == "svm":
        scorer = preprocessing.StandardScaler() | anomaly.OneClassSVM(nu=0.05)
    else:
        raise ValueError(f"unknown scorer {name!r}; known: {', '.join(NAMES)}")
    margin = MARGINS.get(name, OTHER_MARGIN)
    return dataclasses.replace(config, anomaly_margin=margin), scorer


def gaussian() -> anomaly.GaussianScorer:
    """River's `GaussianScorer` of one value, scoring after ten."""
    return anomaly.GaussianScorer(grace_period=10)  # type: ignore[no-untyped-call]


class FeatureDeviation(base.AnomalyDetector):
    """Mean absolute z-score of the features against the last `memory` vectors learned.

    The multivariate, forgetting form of river's `StandardAbsoluteDeviation`:
    each feature's mean and variance are those of the last `memory` learned
    vectors (all of them when None), so what is normal follows the patient
    from one sleep stage to the next; the score is the mean over features of
    |x - mean| / std. Scores are 0 until `grace_period` vectors were learned.

    The statistics are exact sums of the vectors quantized to 2**-20, so they
    depend only on which vectors are in memory, not on what came before: two
    scorers that learned the same last `memory` vectors score alike to the
    last bit, which is what lets a long recording be scanned in independent
    segments with the alerts of one pass.

    Parameters
    ----------
    grace_period
        Vectors to learn before scoring (10).
    memory
        Learned vectors the statistics cover (None: all).

    Examples
    --------
    >>> scorer = FeatureDeviation(grace_period=2, memory=3)
    >>> for v in (9.0, 1.0, 2.0, 3.0):  # 9.0 falls out of memory
    ...     scorer.learn_one({"a": v, "b": -v})
    >>> round(scorer.score_one({"a": 2.0, "b": -2.0}), 3)
    0.0
    >>> round(scorer.score_one({"a": 5.0, "b": -5.0}), 3)
    3.674
    """

    def __init__(self, grace_period: int = 10, memory: int | None = None) -> None:
        if memory is not None and not (isinstance(memory, int) and memory >= 1):
            raise ValueError(f"memory must be None or an integer >= 1, got {memory!r}")
        self.grace_period = grace_period
        self.memory = memory
        self._kept: deque[tuple[int, ...]] = deque()
        self._names: tuple[FeatureName, ...] = ()
        self._sum: list[int] = []
        self._sum_sq: list[int] = []
        self._mean: list[float] = []
        self._std: list[float] = []
        self._n = 0

    def learn_one(self, x: dict[FeatureName, Any]) -> None:
        if not all(math.isfinite(v) for v in x.values()):
            return  # one bad vector must not poison the statistics for good
        if not self._names:
            self._names = tuple(x)
            self._sum = [0] * len(x)
            self._sum_sq = [0] * len(x)
        quantized = tuple(round(x[name] * SCALE) for name in self._names)
        for i, q in enumerate(quantized):
            self._sum[i] += q
            self._sum_sq[i] += q * q
        self._n += 1
        if self.memory is not None:
            self._kept.append(quantized)
            if len(self._kept) > self.memory:
                for i, q in enumerate(self._kept.popleft()):
                    self._sum[i] -= q
                    self._sum_sq[i] -= q * q
                self._n -= 1
        n = self._n
        self._mean = [s / (n * SCALE) for s in self._sum]
        # n * sum(q^2) - sum(q)^2 is exact in integers: no cancellation error.
        self._std = [
            math.sqrt((n * sq - s * s) / (n * n)) / SCALE
            for s, sq in zip(self._sum, self._sum_sq, strict=True)
        ]

    def score_one(self, x: dict[FeatureName, Any]) -> float:
        if self._n < self.grace_period or not self._names:
            return 0.0
        total = 0.0
        for name, mean, std in zip(self._names, self._mean, self._std, strict=True):
            total += abs(x[name] - mean) / (std + 1e-9)
        score = total / len(self._names)
        return score if math.isfinite(score) else math.inf


class PerFeature(base.AnomalyDetector):
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
        self._scorers: dict[FeatureName, Any] = {}

    def learn_one(self, x: dict[FeatureName, Any]) -> None:
        if not all(math.isfinite(v) for v in x.values()):
            return
        for name, value in x.items():
            scorer = self._scorers.get(name)
            if scorer is None:
                scorer = self._scorers[name] = self.make()
            scorer.learn_one(None, value)

    def score_one(self, x: dict[FeatureName, Any]) -> float:
        if not self._scorers:
            return 0.0
        scores = [float(self._scorers[n].score_one(None, v)) for n, v in x.items()]
        score = sum(scores) / len(scores)
        return score if math.isfinite(score) else math.inf
