"""Stage-aware judging: each sleep stage's own baselines, model and threshold.

Sleep changes the EEG more than most pathology does: slow-wave sleep has two
to three times the amplitude of light sleep, and each stage has its own mix
of bands. Judged against one baseline of the whole night, the first
slow-wave sleep looks like a seizure and each change of stage like an
anomaly. Once the sleep stager has staged the stream, the detector judges
each window against what it learned in the current stage: N3 against N3.

How the stage arrives. The stager stages each 30 s epoch some 35 s after
its end, then revises it; the caller passes each staged epoch to
`Detector.stage` with the stream time it was staged at. The stage takes
effect for windows that end `STAGE_SETTLE_S` later, whatever the moment
the caller passed it: the monitor's thread (which takes it from the staging
thread a little later) and the offline scan (which stages the file as it
goes) then judge the same windows in the same stage. The current stage is
the newest epoch's, as last revised.

Before the first stage (and in recordings that are never staged: short
clips, a stream too slow to stage) the detector judges as it always did,
against the stream's pooled baselines. A stage met for the first time has
nothing learned yet: its windows are learned, not judged (as in the
detector's own warm-up), for `warmup_windows` windows (its amplitude
baselines) and for as long as its threshold needs scores (its model).
Seizures are looked for in every stage, against the stage's own baseline.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from numpy.typing import NDArray
from river.base import AnomalyDetector

from detector.model import FeatureCovariance, QuantileThreshold
from detector.seizure import ChannelBaseline
from protocol.feed import SLEEP_STAGES

#: Seconds between the moment an epoch is staged (stream time) and the first window it judges.
STAGE_SETTLE_S = 2.0


@dataclass
class StageModel:
    """What the detector learned in one stage: amplitude baselines, scorer, threshold."""

    baseline: ChannelBaseline
    scorer: AnomalyDetector
    threshold: QuantileThreshold
    learned: int = 0


class StageTracker:
    """The current sleep stage, from staged epochs, at the stream time each takes effect.

    Examples
    --------
    >>> tracker = StageTracker()
    >>> tracker.tell(0, "N2", at=65.0)
    >>> tracker.advance(66.5), tracker.advance(67.0)  # in effect 2 s after it was staged
    (None, 'N2')
    >>> tracker.tell(1, "N3", at=95.0)
    >>> tracker.tell(0, "N1", at=95.0)  # an older epoch revised: not the current stage
    >>> tracker.advance(100.0)
    'N3'
    >>> tracker.tell(1, "S4", at=125.0)
    Traceback (most recent call last):
    ...
    ValueError: unknown sleep stage 'S4'; known: W, N1, N2, N3, REM
    """

    def __init__(self) -> None:
        self.current: str | None = None
        self._newest = -1
        self._pending: deque[tuple[float, int, str]] = deque()

    def tell(self, epoch: int, stage: str, at: float) -> None:
        """Epoch `epoch` (30 s epochs from the stream's first sample) was staged `stage` at `at`."""
        if stage not in SLEEP_STAGES:
            raise ValueError(f"unknown sleep stage {stage!r}; known: {', '.join(SLEEP_STAGES)}")
        if not (isinstance(epoch, int) and epoch >= 0 and math.isfinite(at)):
            raise ValueError(f"a staged epoch needs an index >= 0 and a finite time, got {epoch!r}")
        self._pending.append((at + STAGE_SETTLE_S, epoch, stage))

    def advance(self, end: float) -> str | None:
        """The stage in force for a window ending at `end`, applying what took effect by then."""
        pending = self._pending
        while pending and pending[0][0] <= end:
            _, epoch, stage = pending.popleft()
            if epoch >= self._newest:
                self._newest, self.current = epoch, stage
        return self.current


class StageModels:
    """A `StageModel` per sleep stage, made when the stage is first met, and the current one.

    Each stage's model starts from `empty` (copies of its baseline and
    threshold, a clone of its scorer); it judges amplitude and line length
    once it learned `warmup` windows (its threshold waits for its own scores).

    Examples
    --------
    >>> from detector.model import FeatureCovariance
    >>> empty = StageModel(ChannelBaseline(1, 100), FeatureCovariance(), QuantileThreshold())
    >>> models = StageModels(empty, 2)
    >>> models.for_window(10.0) is None  # nothing staged: the pooled model judges
    True
    >>> models.tell(0, "N3", at=65.0)
    >>> model = models.for_window(67.0)
    >>> models.ready(model), sorted(models.stages)
    (False, ['N3'])
    >>> model.learned = 2
    >>> models.ready(model)
    True
    """

    def __init__(self, empty: StageModel, warmup: int) -> None:
        self.empty = empty
        self.warmup = warmup
        self.stages: dict[str, StageModel] = {}
        self.tracker = StageTracker()

    def tell(self, epoch: int, stage: str, at: float) -> None:
        self.tracker.tell(epoch, stage, at)

    def for_window(self, end: float) -> StageModel | None:
        """The model that judges a window ending at `end`: its stage's (None: no stage yet)."""
        stage = self.tracker.advance(end)
        if stage is None:
            return None
        model = self.stages.get(stage)
        if model is None:
            model = self.stages[stage] = self._fresh()
        return model

    def _fresh(self) -> StageModel:
        empty = self.empty
        return StageModel(
            copy.deepcopy(empty.baseline), empty.scorer.clone(), copy.deepcopy(empty.threshold)
        )

    def ready(self, model: StageModel) -> bool:
        """Whether the stage learned enough windows to judge amplitude and line length."""
        return model.learned >= self.warmup

    def state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        """What each stage learned, as JSON facts (``stages``) and arrays (``stage_<S>_...``).

        Not the current stage: a restarted monitor waits for its stager.
        """
        facts: dict[str, Any] = {}
        arrays: dict[str, NDArray[Any]] = {}
        for name, model in self.stages.items():
            if not isinstance(model.scorer, FeatureCovariance):
                raise ValueError(f"the {type(model.scorer).__name__} scorer has no saved state")
            features, arrays[f"stage_{name}_scorer_vectors"] = model.scorer.state()
            seen, arrays[f"stage_{name}_threshold_scores"] = model.threshold.state()
            for key, array in model.baseline.state().items():
                arrays[f"stage_{name}_baseline_{key}"] = array
            facts[name] = {"learned": model.learned, "features": features, "threshold_seen": seen}
        return {"stages": facts}, arrays

    def load_state(self, facts: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> None:
        """Continue from a `state`; ValueError (nothing changed) when it cannot be this one's."""
        loaded: dict[str, StageModel] = {}
        for name, learned in facts.get("stages", {}).items():
            if name not in SLEEP_STAGES or not isinstance(learned.get("learned"), int):
                raise ValueError(f"stage {name!r} of {learned!r}")
            model = self._fresh()
            if not isinstance(model.scorer, FeatureCovariance):
                raise ValueError(f"the {type(model.scorer).__name__} scorer has no saved state")
            vectors = arrays[f"stage_{name}_scorer_vectors"]
            model.scorer.load_state(tuple(map(str, learned["features"])), vectors)
            model.threshold.load_state(
                learned["threshold_seen"], arrays[f"stage_{name}_threshold_scores"]
            )
            model.baseline.load_state(
                *(arrays[f"stage_{name}_baseline_{key}"] for key in ("kept", "next", "counts"))
            )
            model.learned = learned["learned"]
            loaded[name] = model
        self.stages = loaded
