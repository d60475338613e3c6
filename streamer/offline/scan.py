"""Offline scan: the live monitor's `Detector` over a recorded file, as fast as the CPU allows.

The file is read in chunks (`streamer.recordings.files`) and every chunk becomes a
`Block` whose timestamps are seconds from the file's first sample, so alert
``onset`` and ``detected_at`` are file seconds. The detector is the same
object with the same configuration as live, which is why a scan and a live
replay of the same file raise the same alerts.

A scan can also cover one span of a file (`Span`), for the archive scan
(`streamer.offline.archive`) that splits long files: it starts `warmup` seconds
earlier so filters, model, baseline and alert state are warm at the span's
start, keeps only the alert episodes whose onset falls in the span, and
runs past the span's end until those are final.

Offline nobody acknowledges, so a latched alert would fold every later
seizure into the first: the scan writes one line per episode
(`detector.episodes`), each with its own onset, detection and end.

Beside the alerts, a scan keeps a `Series` for the report: one point per
`SERIES_STEP_S` of signal quality per channel, anomaly score, threshold and
a spectrum (`protocol.spectra`, as the detector and the dashboard compute
theirs), so its size grows with the recording's hours, not its samples.
Its spectra are a fair part of the scan's work, so a scan without a report
skips it (``series=False``).

With ``stage=True`` the scan also stages the recording's sleep as it goes,
as the monitor's staging sink does, and tells the detector each staged
epoch at the stream time it was staged, so it judges each window in the
same stage as live (`detector.stages`). A file that cannot be staged (no
EEG channel, too slow a rate) is scanned unstaged.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from detector import Block, Detector, DetectorConfig, StreamMeta
from detector.core import MAX_PLAUSIBLE_UV
from detector.episodes import Episode, EpisodeLog
from detector.types import Alert, WindowScore
from protocol.feed import finite_or_none
from protocol.spectra import frequencies, psd, segments
from streamer.recordings.files import Recording, content_id

if TYPE_CHECKING:
    from staging import LiveStager

#: Seconds of signal per point of the report's series (a clinician's 30 s epoch).
SERIES_STEP_S = 30.0
#: Frequencies (Hz) of the report's spectrogram: 1 Hz bins.
SPECTRUM_HZ = (1.0, 30.0)


@dataclass
class Series:
    """Decimated per-epoch series of one recording, as plain lists (JSON, the report).

    Epoch `i` covers ``[t[i], t[i] + step_s)`` file seconds. `quality` is the
    mean per channel of the windows' quality (1 good .. 0 unusable); `score`
    the largest anomaly score of the epoch, with the threshold then in force
    (None while warming up); `spectrum` the log10 power (µV²/Hz) averaged over
    channels at `spectrum_hz`.
    """

    step_s: float
    t: list[float] = field(default_factory=list)
    quality: list[list[float]] = field(default_factory=list)
    score: list[float | None] = field(default_factory=list)
    threshold: list[float | None] = field(default_factory=list)
    spectrum_hz: list[float] = field(default_factory=list)
    spectrum: list[list[float | None]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Series:
        return cls(**d)

    def extend(self, other: Series) -> None:
        """Append a later span's epochs (the archive scan joins its segments)."""
        self.t += other.t
        self.quality += other.quality
        self.score += other.score
        self.threshold += other.threshold
        self.spectrum += other.spectrum
        self.spectrum_hz = self.spectrum_hz or other.spectrum_hz


class _SeriesBuilder:
    """Accumulates windows and chunks into epochs; only what falls in ``[begin, end)``."""

    def __init__(self, n_channels: int, rate: float, begin: float, end: float) -> None:
        self.rate = rate
        self.begin, self.end = begin, end
        self.nperseg = max(8, int(rate))
        freqs = frequencies(self.nperseg, rate)
        self.keep = (freqs >= SPECTRUM_HZ[0]) & (freqs <= SPECTRUM_HZ[1])
        self.series = Series(SERIES_STEP_S, spectrum_hz=freqs[self.keep].round(3).tolist())
        self.n_channels = n_channels
        self._epoch: int | None = None
        self._quality = np.zeros(n_channels)
        self._windows = 0
        self._score: float | None = None
        self._threshold: float | None = None
        self._power = np.zeros(int(self.keep.sum()))
        self._chunks = 0

    def _epoch_of(self, t: float) -> int | None:
        if not (self.begin <= t < self.end):
            return None
        return math.floor(t / SERIES_STEP_S)

    def _move_to(self, epoch: int) -> None:
        if self._epoch is not None and epoch != self._epoch:
            self._flush()
        self._epoch = epoch

    def window(self, w: WindowScore) -> None:
        epoch = self._epoch_of(w.end)
        if epoch is None:
            return
        self._move_to(epoch)
        self._quality += w.quality
        self._windows += 1
        if not w.warming_up and math.isfinite(w.score):
            if self._score is None or w.score > self._score:
                self._score = w.score
            self._threshold = w.threshold if math.isfinite(w.threshold) else None

    def chunk(self, first: int, data: NDArray[np.float32]) -> None:
        epoch = self._epoch_of(first / self.rate)
        if epoch is None or data.shape[1] < self.nperseg:
            return
        self._move_to(epoch)
        signal = data.astype(np.float64)
        signal[~(np.abs(signal) <= MAX_PLAUSIBLE_UV)] = 0.0  # NaN, Inf, corrupt: as the detector
        # Segments without overlap (Welch's method without it): half the cost, and the
        # 30 s epoch averages enough of them.
        _, density = psd(segments(signal, self.nperseg), self.rate)
        self._power += density.mean(axis=1)[:, self.keep].mean(axis=0)
        self._chunks += 1

    def _flush(self) -> None:
        s = self.series
        if self._epoch is not None and self._windows:  # else a tail too short for a window
            s.t.append(self._epoch * SERIES_STEP_S)
            s.quality.append((self._quality / self._windows).round(3).tolist())
            s.score.append(None if self._score is None else round(self._score, 4))
            s.threshold.append(None if self._threshold is None else round(self._threshold, 4))
            power = np.log10(self._power / max(self._chunks, 1) + 1e-12).round(3)
            s.spectrum.append(
                finite_or_none(power.tolist()) if self._chunks else [None] * len(power)
            )
        self._quality = np.zeros(self.n_channels)
        self._windows = 0
        self._score = self._threshold = None
        self._power[:] = 0.0
        self._chunks = 0

    def finish(self) -> Series:
        self._flush()
        self._epoch = None
        return self.series


@dataclass
class FileScan:
    """The result of scanning one file (or one span of it)."""

    file: str  # the path as given
    duration_s: float
    n_channels: int
    rate: float
    wall_s: float
    alerts: list[dict[str, Any]] = field(default_factory=list)
    warnings: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    source_id: str = ""
    series: Series | None = None
    #: seconds of signal the detector analysed (more than the span: warm-up and run-on)
    analysed_s: float = 0.0
    #: CPU seconds of the scanning process (its threads included) while it ran
    cpu_s: float = 0.0

    @property
    def realtime_factor(self) -> float:
        return self.duration_s / max(self.wall_s, 1e-9)

    def counts(self) -> dict[str, int]:
        """Alerts per kind, in order of first appearance."""
        return dict(Counter(a["kind"] for a in self.alerts))

    def summary(self) -> str:
        counts = ", ".join(f"{k} {n}" for k, n in self.counts().items()) or "none"
        return (
            f"{self.file}: {self.duration_s:.1f} s, {self.n_channels} ch @ {self.rate:g} Hz; "
            f"alerts: {counts}; {self.realtime_factor:.0f}x real time"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (the archive's result store, the report)."""
        d = asdict(self)
        d["warnings"], d["labels"] = list(self.warnings), list(self.labels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileScan:
        d = dict(d)
        d["warnings"], d["labels"] = tuple(d["warnings"]), tuple(d["labels"])
        d["series"] = None if d.get("series") is None else Series.from_dict(d["series"])
        return cls(**d)


def episode_line(episode: Episode, file: str) -> dict[str, Any]:
    """One ``--jsonl`` line: the Alert fields of the episode's latest snapshot plus ``file``.

    ``onset`` and ``detected_at`` are the episode's; ``end`` is when its
    condition ended (null: it lasted to the end of the file).
    """
    record: dict[str, Any] = episode.alert.to_dict()
    del record["episode_onset"], record["episode_detected_at"]
    record |= {"onset": episode.onset, "detected_at": episode.detected_at}
    record |= {"file": file, "end": episode.end, "episode": episode.number}
    return dict(finite_or_none(record))


def is_final(alert: Alert, config: DetectorConfig) -> bool:
    """Whether nothing later in the file can change the alert's onset or end.

    Cleared alerts are final; so are latched ones (a `latch` kind, or
    upgraded) whose condition is over: offline nobody acknowledges them, so
    they stay active to the end of the file, and a return of their
    condition is an episode of its own.
    """
    if alert.state == "cleared":
        return True
    latched = alert.kind in config.latch or alert.upgraded_at is not None
    return latched and alert.ended_at is not None


@dataclass(frozen=True)
class Span:
    """The part of a file a scan answers for, in file seconds: alerts with onset in it."""

    start: float
    stop: float  # math.inf: to the end of the file
    warmup: float = 0.0  # seconds analysed before `start` only to warm the detector up


def scan_recording(
    recording: Recording,
    file: str,
    config: DetectorConfig | None = None,
    *,
    chunk_s: float = 10.0,
    span: Span | None = None,
    source_id: str | None = None,
    series: bool = True,
    stage: bool = False,
) -> FileScan:
    """Run the detector over the recording (or a `Span`); alerts come back in order of onset.

    `source_id` saves hashing the file again when the caller knows it;
    `series` False leaves the result's `series` None (nobody wants a report);
    `stage` stages the sleep as the scan goes (see the module's docstring).
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    config = config if config is not None else DetectorConfig()
    span = span if span is not None else Span(0.0, math.inf)
    rate = recording.rate
    meta = StreamMeta(
        name=recording.path.name.split(".")[0],
        source_id=source_id if source_id is not None else content_id(recording.path),
        labels=recording.labels,
        rate=rate,
    )
    detector = Detector(meta, config)
    begin, end = span.start, min(span.stop, recording.duration)
    builder = _SeriesBuilder(recording.n_channels, rate, begin, span.stop) if series else None
    log = EpisodeLog()
    done: list[dict[str, Any]] = []

    def owned(episode: Episode) -> bool:
        return begin <= episode.onset < span.stop

    def finish(episodes: list[Episode]) -> None:
        done.extend(episode_line(e, file) for e in episodes if owned(e))

    # An alert is raised up to k-of-n windows after its onset: run that far past the span.
    settle = config.window_s + config.hop_s * max(config.raise_n, config.seizure_n)
    first_sample = max(0, round((begin - span.warmup) * rate))
    stager = _stager(recording) if stage else None
    analysed = 0
    for first, data in recording.blocks(chunk_s, start=first_sample):
        past_end = first / rate >= end + settle
        if past_end and all(is_final(e.alert, config) for e in log.open() if owned(e)):
            break
        stamps = (first + np.arange(data.shape[1])) / rate
        analysed += data.shape[1]
        if stager is not None:
            for epoch in stager.add(first, data):
                detector.stage(epoch.index, epoch.stage, epoch.staged_at_s)
        out = detector.process(Block(data, stamps, first))
        if builder is not None:
            builder.chunk(first, data)
            for window in out.windows:
                builder.window(window)
        for alert in out.alerts:
            finish(log.add(alert))
    finish(log.close())
    return FileScan(
        file=file,
        duration_s=end - begin,
        n_channels=recording.n_channels,
        rate=rate,
        wall_s=time.perf_counter() - started,
        alerts=sorted(done, key=lambda a: (a["onset"], a["id"])),
        warnings=recording.warnings,
        labels=recording.labels,
        source_id=meta.source_id,
        series=None if builder is None else builder.finish(),
        analysed_s=analysed / rate,
        cpu_s=time.process_time() - cpu_started,
    )


def _stager(recording: Recording) -> LiveStager | None:
    """A sleep stager for the recording, as the monitor's; None when it cannot be staged."""
    from staging import LiveStager  # slow: YASA, MNE, LightGBM

    try:
        return LiveStager(recording.labels, recording.rate)
    except ValueError:  # no EEG channel to stage from, a rate below 50 Hz
        return None
