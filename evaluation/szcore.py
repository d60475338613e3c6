"""SzCORE event scoring of alert episodes, by the `timescoring` library.

SzCORE (Dan et al. 2025, Epilepsia 66 suppl. 3:14-24) is the seizure detection field's
common scoring: an event is detected when an alert overlaps it at all,
widened by 30 s before and 60 s after; events (and alerts) less than 90 s
apart are merged into one, longer than 5 min split; an alert overlapping
no (widened, detected) event is a false alarm, counted per 24 h of
recording. It is kinder than `evaluation.metrics.score`, which wants the
alert to start within the event and times its latency: both are reported.
Recordings are pooled by summing their counts and their hours.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from timescoring import scoring  # type: ignore[import-untyped]
from timescoring.annotations import Annotation  # type: ignore[import-untyped]

from evaluation.metrics import ANY_KIND, Detection, Event, rounded

#: SzCORE's event scoring parameters (seconds; no minimum overlap).
SZCORE = {
    "toleranceStart": 30.0,
    "toleranceEnd": 60.0,
    "minOverlap": 0.0,
    "maxEventDuration": 300.0,
    "minDurationBetweenEvents": 90.0,
}
#: The resolution timescoring's event scoring works at (Hz): shorter spans last one sample.
RESOLUTION_HZ = 10
#: A time interval (start, stop) in seconds from the recording's start.
Span = tuple[float, float]


@dataclass
class SzcoreScore:
    """SzCORE's counts for one kind, over one recording or several pooled."""

    kind: str
    events: int = 0  # reference events, once merged and split
    detected: int = 0
    false_alarms: int = 0
    hours: float = 0.0  # the whole recording: SzCORE counts false alarms over all of it

    @property
    def sensitivity(self) -> float | None:
        return self.detected / self.events if self.events else None

    @property
    def precision(self) -> float | None:
        found = self.detected + self.false_alarms
        return self.detected / found if found else None

    @property
    def f1(self) -> float | None:
        """timescoring's F1: 2 TP / (2 TP + FP + FN), None without events nor false alarms."""
        if self.events + self.false_alarms == 0:
            return None
        return 2 * self.detected / (self.detected + self.events + self.false_alarms)

    @property
    def false_alarms_per_24h(self) -> float | None:
        return 24 * self.false_alarms / self.hours if self.hours > 0 else None

    def merge(self, other: SzcoreScore) -> None:
        self.events += other.events
        self.detected += other.detected
        self.false_alarms += other.false_alarms
        self.hours += other.hours

    def row(self) -> dict[str, float | int | str | None]:
        return {
            "kind": self.kind,
            "events": self.events,
            "detected": self.detected,
            "false_alarms": self.false_alarms,
            "sensitivity": rounded(self.sensitivity),
            "precision": rounded(self.precision),
            "f1": rounded(self.f1),
            "false_alarms_per_24h": rounded(self.false_alarms_per_24h, 2),
            "hours": rounded(self.hours, 4),
        }


def score_spans(
    reference: Iterable[Span],
    hypothesis: Iterable[Span],
    duration_s: float,
    kind: str = "",
    parameters: dict[str, float] | None = None,
) -> SzcoreScore:
    """timescoring's event scoring of `hypothesis` against `reference` (SzCORE's parameters).

    Spans may overlap and come in any order; they are cut to the recording.

    Examples
    --------
    >>> s = score_spans([(100, 160)], [(130, 200), (1000, 1010)], duration_s=3600)
    >>> s.events, s.detected, s.false_alarms, s.precision, s.false_alarms_per_24h
    (1, 1, 1, 0.5, 24.0)
    """
    if not duration_s > 0:
        return SzcoreScore(kind)  # nothing recorded: nothing to detect, no time for alarms
    samples = max(round(duration_s * RESOLUTION_HZ), 1)
    param = scoring.EventScoring.Parameters(**(SZCORE if parameters is None else parameters))
    result = scoring.EventScoring(
        _annotation(reference, samples), _annotation(hypothesis, samples), param
    )
    return SzcoreScore(
        kind, int(result.refTrue), int(result.tp), int(result.fp), samples / RESOLUTION_HZ / 3600
    )


def score_kind(
    kind: str,
    events: Sequence[Event],
    detections: Iterable[Detection],
    duration_s: float,
    parameters: dict[str, float] | None = None,
) -> SzcoreScore:
    """SzCORE scoring of the alert episodes of `kind` against the events of that kind.

    An episode spans its onset to its end (the file's end when its condition
    lasted to it); the baseline's ``line_length`` episodes count for any kind.
    """
    reference = [(e.onset, e.end) for e in events if e.kind == kind]
    hypothesis = [
        (d.onset, duration_s if d.end is None else d.end)
        for d in detections
        if d.kind in (kind, ANY_KIND)
    ]
    return score_spans(reference, hypothesis, duration_s, kind, parameters)


def _annotation(spans: Iterable[Span], samples: int) -> Annotation:
    """The spans as a mask, then as timescoring's sorted disjoint events (which it expects)."""
    mask = np.zeros(samples, dtype=np.bool_)
    for start, stop in spans:
        first = max(round(start * RESOLUTION_HZ), 0)
        if first >= samples:
            continue  # after the recording's end
        mask[first : max(round(stop * RESOLUTION_HZ), first + 1)] = True
    return Annotation(mask, RESOLUTION_HZ)
