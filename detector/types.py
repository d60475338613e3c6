"""Data contracts shared by every producer and consumer of the detector.

The streamer (live), the file reader (replay and scan) and the evaluation
harness all hand the detector the same `Block`s and read back the same
`Output`, which is what makes their alerts comparable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from protocol.kinds import AlertState, Severity


@dataclass(frozen=True)
class StreamMeta:
    """What the detector needs to know about a stream, given once."""

    name: str
    source_id: str
    labels: tuple[str, ...]
    rate: float
    stream_type: str = "EEG"

    def __post_init__(self) -> None:
        if not self.labels:
            raise ValueError(f"stream {self.name!r} has no channels")
        if not np.isfinite(self.rate) or self.rate <= 0:
            raise ValueError(
                f"stream {self.name!r} has an irregular or invalid rate ({self.rate!r}); "
                "EEG needs a regular nominal rate"
            )

    @property
    def n_channels(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Block:
    """A run of consecutive samples, as acquired.

    `data` is float32 (n_channels, n_samples) in microvolts, `timestamps` are
    float64 seconds on the LSL clock (already time-corrected), `first_index`
    counts samples since the stream started, so a gap shows as a jump.
    `acquired_at` is the local clock when the block was pulled (None offline);
    latency is measured from it.
    """

    data: NDArray[np.float32]
    timestamps: NDArray[np.float64]
    first_index: int
    acquired_at: float | None = None

    def __post_init__(self) -> None:
        if self.data.ndim != 2:
            raise ValueError(
                f"block data must be 2-D (channels, samples), got shape {self.data.shape}"
            )
        if self.timestamps.shape != (self.data.shape[1],):
            raise ValueError(
                f"block has {self.data.shape[1]} samples but {self.timestamps.shape[0]} timestamps"
            )

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[1])


@dataclass
class Alert:
    """One alert, as journaled and sent on the feed (the Alert object of docs/design.md)."""

    id: str
    stream: str
    source_id: str
    kind: str
    severity: Severity
    channels: list[str]
    onset: float
    detected_at: float
    latency_s: float
    score: float
    message: str
    state: AlertState = "active"
    evidence: dict[str, float] = field(default_factory=dict)
    cleared_at: float | None = None
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None
    #: when the condition ended while the alert stays (latched, or within its refractory period)
    ended_at: float | None = None
    #: when a medium alert that lasted became high
    upgraded_at: float | None = None
    #: 1, then 2, 3... each time the condition comes back to the alert after it ended
    episode: int = 1
    #: onset and detection of the current episode (None: the alert's own, its first episode)
    episode_onset: float | None = None
    episode_detected_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WindowScore:
    """The result of one analysis window: what the dashboard plots as scores."""

    end: float  # stream time of the window's last sample
    score: float  # model anomaly score, higher is more anomalous
    threshold: float  # current decision threshold for `score`
    warming_up: bool
    quality: tuple[float, ...]  # per channel, 1 good .. 0 unusable


@dataclass
class Output:
    """What one call into the detector produced."""

    alerts: list[Alert] = field(default_factory=list)  # alerts whose state changed
    windows: list[WindowScore] = field(default_factory=list)
    #: stream time of the last sample of the last window processed (latency origin)
    last_window_end: float | None = None

    def extend(self, other: Output) -> None:
        self.alerts.extend(other.alerts)
        self.windows.extend(other.windows)
        if other.last_window_end is not None:
            self.last_window_end = other.last_window_end


@dataclass(frozen=True)
class ModelState:
    """What a detector learned about one patient, as plain data: nothing in it can run.

    `facts` are JSON values (the stream, the config's fingerprint, the model,
    the feature names, counts); `arrays` are numeric NumPy arrays, so the
    state is saved and read back without pickle (`numpy.savez`, and
    `numpy.load` with ``allow_pickle=False``).
    """

    facts: dict[str, Any]
    arrays: dict[str, NDArray[Any]]
