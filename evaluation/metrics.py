"""Event-level metrics: alerts matched against labelled events.

Pure: the evaluation command, the tests and the benchmarks read files and
feed arrays; this module only matches and counts (docs/design.md, "Labelled
events for evaluation"):

- an event counts as detected when an alert of its kind starts between its
  onset and its end plus `tolerance_s`;
- it is localized when that alert names at least one of the event's
  channels (events without channels, e.g. a seizure on a single-channel
  recording, are localized by any alert);
- every alert that overlaps no event of its kind is a false alarm; false
  alarms per hour are counted over the time outside events;
- latency is the time from the event's onset to the alert's detection.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from detector.episodes import EpisodeLog
from detector.types import Alert
from simulators.scenario import EXPECTED_ALERT

#: The line-length baseline's alerts carry this kind; they match events of any kind.
ANY_KIND = "line_length"


@dataclass(frozen=True)
class Event:
    """A labelled event: what should be detected, when, and where."""

    onset: float
    duration: float
    kind: str
    channels: tuple[str, ...] = ()

    @property
    def end(self) -> float:
        return self.onset + self.duration


@dataclass(frozen=True)
class Detection:
    """An alert as the evaluation sees it: kind, channels, onset, detection and end time."""

    kind: str
    channels: tuple[str, ...]
    onset: float
    detected_at: float
    end: float | None = None
    #: (channel, time) for each channel that joined the alert after it was raised
    joins: tuple[tuple[str, float], ...] = ()


def rounded(value: float | None, digits: int = 3) -> float | None:
    """A metric as the result tables give it (None: not defined)."""
    return None if value is None else round(value, digits)


@dataclass
class KindScore:
    """The metrics of one kind (or of all kinds, "all")."""

    kind: str
    events: int = 0
    detected: int = 0
    localized: int = 0
    false_alarms: int = 0
    latencies: list[float] = field(default_factory=list)
    hours: float = 0.0  # time outside events, for the false alarm rate

    @property
    def sensitivity(self) -> float | None:
        return self.detected / self.events if self.events else None

    @property
    def localization(self) -> float | None:
        return self.localized / self.detected if self.detected else None

    @property
    def false_alarms_per_hour(self) -> float | None:
        return self.false_alarms / self.hours if self.hours > 0 else None

    @property
    def latency_median(self) -> float | None:
        return float(np.median(self.latencies)) if self.latencies else None

    @property
    def latency_p95(self) -> float | None:
        return float(np.percentile(self.latencies, 95)) if self.latencies else None

    def merge(self, other: KindScore) -> None:
        self.events += other.events
        self.detected += other.detected
        self.localized += other.localized
        self.false_alarms += other.false_alarms
        self.latencies.extend(other.latencies)
        self.hours += other.hours

    def row(self) -> dict[str, float | int | str | None]:
        return {
            "kind": self.kind,
            "events": self.events,
            "detected": self.detected,
            "sensitivity": rounded(self.sensitivity),
            "localization": rounded(self.localization),
            "false_alarms": self.false_alarms,
            "false_alarms_per_hour": rounded(self.false_alarms_per_hour),
            "latency_median_s": rounded(self.latency_median, 2),
            "latency_p95_s": rounded(self.latency_p95, 2),
        }


def expected_kind(label: str) -> str:
    """The alert kind an event label asks for (``seizure`` -> ``seizure_suspect``).

    Event labels (BIDS ``trial_type``) are the scenario's event kinds, or
    alert kinds themselves.
    """
    return EXPECTED_ALERT.get(label, label)


def score(
    events: Sequence[Event],
    detections: Iterable[Detection],
    duration_s: float,
    *,
    tolerance_s: float = 2.0,
    kinds: Iterable[str] | None = None,
) -> dict[str, KindScore]:
    """Match detections to events; one `KindScore` per kind seen (events or alerts).

    `kinds` restricts the false alarm count to those alert kinds (None: all).

    Examples
    --------
    >>> events = [Event(10.0, 5.0, "flatline", ("O1",))]
    >>> found = [Detection("flatline", ("O1",), 10.0, 11.5)]
    >>> found.append(Detection("flatline", ("C3",), 40.0, 41.0))
    >>> s = score(events, found, duration_s=3600.0)["flatline"]
    >>> s.sensitivity, s.localization, s.false_alarms, s.latency_median
    (1.0, 1.0, 1, 1.5)
    """
    detections = list(detections)
    wanted = None if kinds is None else set(kinds)
    scores: dict[str, KindScore] = {}
    for event in events:
        scores.setdefault(event.kind, KindScore(event.kind)).events += 1
    for found in detections:
        if wanted is None or found.kind in wanted:
            scores.setdefault(found.kind, KindScore(found.kind))
    everything = list(events)
    for kind, result in scores.items():
        mine = [e for e in events if e.kind == kind]
        result.hours = unlabelled_hours(everything, duration_s, tolerance_s)
        candidates = [d for d in detections if d.kind in (kind, ANY_KIND)]
        for event in mine:
            lo, hi = event.onset - tolerance_s, event.end + tolerance_s
            hits = [d for d in candidates if lo <= d.onset <= hi and d.detected_at <= hi]
            # an alert already raised on other channels, joined by the event's channel
            joined = [
                at
                for d in candidates
                for ch, at in d.joins
                if ch in event.channels and lo <= at <= hi
            ]
            if not hits and not joined:
                continue
            result.detected += 1
            first = min([d.detected_at for d in hits] + joined)
            result.latencies.append(max(first - event.onset, 0.0))
            named = any(set(d.channels) & set(event.channels) for d in hits)
            if not event.channels or named or joined:
                result.localized += 1
        if wanted is not None and kind not in wanted:
            continue
        for d in detections:
            if d.kind != kind:
                continue
            end = d.end if d.end is not None else d.detected_at
            if not any(
                d.onset <= e.end + tolerance_s and end >= e.onset - tolerance_s for e in everything
            ):
                result.false_alarms += 1
    return scores


def unlabelled_hours(events: Sequence[Event], duration_s: float, tolerance_s: float) -> float:
    """The time outside every event (each widened by the tolerance): false alarms are per hour
    of it, for every kind, also when pooling recordings where a kind raised nothing."""
    return max(duration_s - _covered(events, duration_s, tolerance_s), 0.0) / 3600.0


def _covered(events: Sequence[Event], duration_s: float, tolerance_s: float) -> float:
    spans = sorted(
        (max(e.onset - tolerance_s, 0.0), min(e.end + tolerance_s, duration_s)) for e in events
    )
    total, reach = 0.0, 0.0
    for lo, hi in spans:
        lo = max(lo, reach)
        if hi > lo:
            total += hi - lo
            reach = hi
    return total


def detections(snapshots: Iterable[tuple[Alert, float]]) -> list[Detection]:
    """Detections from the alert snapshots a detector returned, each with its window's time.

    One detection per episode (`detector.episodes`): an alert that stays
    (latched or refractory) after its condition ended and then sees it
    again counts again, from that episode's own onset and detection. The
    channels are all those named during the episode; its end is when the
    condition ended (`ended_at`), not when a latched alert was acknowledged.
    """
    log = EpisodeLog()
    episodes = [done for alert, at in snapshots for done in log.add(alert, at)]
    episodes += log.close()
    found = [
        Detection(e.alert.kind, tuple(e.channels), e.onset, e.detected_at, e.end, tuple(e.joins))
        for e in episodes
    ]
    return sorted(found, key=lambda d: d.detected_at)
