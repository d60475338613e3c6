"""Live sleep staging: each 30 s epoch staged within a minute, revised until final.

An epoch is first staged (provisional) as soon as the epoch after it has
been filtered, well within `DEADLINE_S` of its end, then staged again as
each later epoch arrives, until the centred 7.5-minute window of YASA's
features is complete: from then on it is final and never changes. What
the night so far cannot tell yet is said in `staging.features`. The
stager is pure (no clock, no thread): the same samples give the same stages,
however they are cut into blocks, live or offline.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> stager = LiveStager(["EEG C4-M1", "EOG E1-M2", "ECG"], rate=100.0)
>>> stager.channels
ChannelPick(eeg=0, eog=1, emg=None, eeg_reference=None)
>>> staged = []
>>> for second in range(150):
...     block = rng.normal(0, 20, (3, 100)).astype(np.float32)
...     staged += stager.add(second * 100, block)
>>> [(epoch.index, epoch.staged_at_s) for epoch in staged]
[(0, 65.0), (0, 95.0), (1, 95.0), (0, 125.0), (1, 125.0), (2, 125.0)]
>>> any(epoch.final for epoch in staged)  # not until the 7.5 min window is complete
False
>>> staged[-1].stage, staged[-1].onset_s
('W', 60.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from numpy.typing import NDArray

from staging.channels import ChannelPick, pick_channels
from staging.classifier import STAGE_NAMES, load_classifier
from staging.features import (
    CENTRED_REACH,
    EPOCH_S,
    EPOCH_SAMPLES,
    FILTER_MARGIN,
    NIGHT_S,
    classifier_features,
    entropy_library,
    epoch_features,
    filtered_epoch,
)
from staging.resample import HALF_WIDTH_S, TARGET_RATE, Resampler

#: An epoch is staged at most this long after it ends.
DEADLINE_S = 60.0
#: How long after an epoch ends its own features can be computed.
FEATURE_DELAY_S = FILTER_MARGIN / TARGET_RATE + HALF_WIDTH_S
#: Later epochs an epoch waits for before it is first staged, within the deadline.
LOOKAHEAD_EPOCHS = math.floor((DEADLINE_S - FEATURE_DELAY_S) / EPOCH_S)


@dataclass(frozen=True)
class StagedEpoch:
    """The stage of one 30 s epoch, as known at stream time `staged_at_s`.

    `onset_s` and `staged_at_s` count seconds from the stream's first sample;
    `confidence` is the classifier's probability of `stage`; a `final` stage
    never changes again.
    """

    index: int
    onset_s: float
    stage: str
    confidence: float
    final: bool
    staged_at_s: float


class LiveStager:
    """Stages a stream of EEG blocks into 30 s sleep epochs (W, N1, N2, N3, REM).

    `labels` name the stream's channels (the EEG, EOG and EMG are picked from
    them, see `pick_channels`), `rate` is its sampling rate (50 Hz or more).
    `night_s` is the nominal night length over which YASA's ``time_norm``
    feature is taken.
    """

    def __init__(self, labels: Sequence[str], rate: float, night_s: float = NIGHT_S) -> None:
        self.labels = list(labels)
        self.rate = rate
        self.night_s = night_s
        self.channels: ChannelPick = pick_channels(self.labels)
        self._resampler = Resampler(rate)
        self._classifier = load_classifier(self.channels.kinds)
        entropy_library()  # compiled now rather than when the first epoch is due
        width = len(self.channels.kinds)
        self._first_index: int | None = None
        self._received = 0
        self._inputs = np.empty((width, 0))
        self._inputs_start = 0
        self._outputs = np.empty((width, 0))
        self._outputs_start = 0
        self._output_count = 0
        self._per_epoch: list[dict[str, float]] = []
        self._first_open = 0

    def add(self, first_index: int, data: NDArray[np.float32]) -> list[StagedEpoch]:
        """Take the samples ``first_index ..`` (channels x samples, µV); return what got staged.

        Each epoch staged or staged again by this block comes in the order of
        staging (a long block may stage an epoch more than once). Samples
        already given are ignored; a gap holds the last value.
        """
        if data.ndim != 2 or data.shape[0] != len(self.labels):
            raise ValueError(
                f"expected a ({len(self.labels)}, samples) block, got shape {data.shape}"
            )
        if data.shape[1] == 0:
            return []
        if self._first_index is None:
            self._first_index = first_index
        expected = self._first_index + self._received
        picked = self.channels.select(data)
        if first_index < expected:
            picked = picked[:, expected - first_index :]
        elif first_index > expected:
            hold = self._inputs[:, -1:] if self._inputs.shape[1] else picked[:, :1]
            picked = np.hstack([np.repeat(hold, first_index - expected, axis=1), picked])
        if picked.shape[1] == 0:  # all given already
            return []
        self._inputs = np.hstack([self._inputs, picked])
        self._received += picked.shape[1]
        return self._advance(ended=False)

    def finish(self) -> list[StagedEpoch]:
        """End of the recording: stage the last complete epochs, and make every stage final."""
        return self._advance(ended=True)

    def _advance(self, ended: bool) -> list[StagedEpoch]:
        self._resample(ended)
        staged: list[StagedEpoch] = []
        while self._epoch_ready(epoch := len(self._per_epoch), ended):
            staged += self._add_epoch(epoch, ended)
        if ended and self._per_epoch:
            staged += self._restage(len(self._per_epoch) - 1, self._stream_s(self._received), True)
        keep_from = len(self._per_epoch) * EPOCH_SAMPLES - FILTER_MARGIN
        if keep_from > self._outputs_start:
            self._outputs = self._outputs[:, keep_from - self._outputs_start :]
            self._outputs_start = keep_from
        return staged

    def _resample(self, ended: bool) -> None:
        resampler = self._resampler
        if ended:  # as many as resampling the whole recording gives
            target = round(self._received * TARGET_RATE / self.rate)
        else:
            target = resampler.complete_outputs(self._received)
        pieces = [self._outputs]
        for start in range(self._output_count, target, EPOCH_SAMPLES):
            count = min(EPOCH_SAMPLES, target - start)
            total = self._received if ended else None
            pieces.append(resampler.outputs(self._inputs, self._inputs_start, start, count, total))
        self._outputs = np.hstack(pieces)
        self._output_count = max(target, self._output_count)
        needed = resampler.last_input(self._output_count) - 2 * resampler.reach
        if needed > self._inputs_start:
            drop = min(needed - self._inputs_start, self._inputs.shape[1] - 1)
            self._inputs = self._inputs[:, drop:]
            self._inputs_start += drop

    def _epoch_ready(self, epoch: int, ended: bool) -> bool:
        end = (epoch + 1) * EPOCH_SAMPLES
        return self._output_count >= (end if ended else end + FILTER_MARGIN)

    def _stream_s(self, inputs: int) -> float:
        """Stream time (from its first sample) after `inputs` input samples."""
        assert self._first_index is not None
        return (self._first_index + inputs) / self.rate

    def _add_epoch(self, epoch: int, ended: bool) -> list[StagedEpoch]:
        start = epoch * EPOCH_SAMPLES
        first = max(0, start - FILTER_MARGIN)
        last = min(self._output_count, start + EPOCH_SAMPLES + FILTER_MARGIN)
        segment = self._outputs[:, first - self._outputs_start : last - self._outputs_start]
        epoch_data = filtered_epoch(segment, start - first)
        self._per_epoch.append(epoch_features(epoch_data, self.channels.kinds))
        if ended:
            return []
        needed = self._resampler.last_input(last - 1) + 1
        return self._restage(epoch, self._stream_s(needed), False)

    def _restage(self, newest: int, at_s: float, ended: bool) -> list[StagedEpoch]:
        """Stage again every epoch not yet final, with the epochs up to `newest`."""
        last = newest if ended else newest - LOOKAHEAD_EPOCHS
        rows = list(range(self._first_open, last + 1))
        if not rows:
            return []
        per_epoch = pd.DataFrame(self._per_epoch[: newest + 1])
        features = classifier_features(per_epoch, rows, self.night_s)
        probabilities = self._classifier.predict_proba(features[self._classifier.feature_name_])
        classes = self._classifier.classes_
        assert self._first_index is not None
        origin_s = self._first_index / self.rate
        staged = []
        for epoch, probability in zip(rows, probabilities, strict=True):
            best = int(np.argmax(probability))
            final = ended or epoch + CENTRED_REACH <= newest
            staged.append(
                StagedEpoch(
                    index=epoch,
                    onset_s=origin_s + epoch * EPOCH_S,
                    stage=STAGE_NAMES[str(classes[best])],
                    confidence=float(probability[best]),
                    final=final,
                    staged_at_s=at_s,
                )
            )
            if final:
                self._first_open = epoch + 1
        return staged


@dataclass(frozen=True)
class RecordingStages:
    """Every complete epoch of a recording, as finally staged and as first shown live."""

    final: list[StagedEpoch]
    live: list[StagedEpoch]


def stage_recording(
    data: NDArray[np.float32], labels: Sequence[str], rate: float, night_s: float = NIGHT_S
) -> RecordingStages:
    """Stage a whole recording (channels x samples, µV) as `LiveStager` would have, live."""
    stager = LiveStager(labels, rate, night_s)
    staged = stager.add(0, data) + stager.finish()
    first: dict[int, StagedEpoch] = {}
    last: dict[int, StagedEpoch] = {}
    for epoch in staged:
        first.setdefault(epoch.index, epoch)
        last[epoch.index] = epoch
    return RecordingStages(final=list(last.values()), live=list(first.values()))
