"""Offline scan: the live monitor's `Detector` over a recorded file, as fast as the CPU allows.

The file is read in chunks (`streamer.files`) and every chunk becomes a
`Block` whose timestamps are seconds from the file's first sample, so alert
``onset`` and ``detected_at`` are file seconds. The detector is the same
object with the same configuration as live, which is why a scan and a live
replay of the same file raise the same alerts.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detector import Block, Detector, DetectorConfig, StreamMeta
from detector.types import Alert
from streamer.files import Recording, content_id
from streamer.protocol import finite_or_none


@dataclass
class FileScan:
    """The result of scanning one file."""

    file: str  # the path as given
    duration_s: float
    n_channels: int
    rate: float
    wall_s: float
    alerts: list[dict[str, Any]] = field(default_factory=list)
    warnings: tuple[str, ...] = ()

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


def alert_line(alert: Alert, file: str) -> dict[str, Any]:
    """One ``--jsonl`` line: the Alert fields plus ``file`` and ``end`` (null while active)."""
    record: dict[str, Any] = alert.to_dict()
    record["file"] = file
    record["end"] = alert.cleared_at if alert.state == "cleared" else None
    return dict(finite_or_none(record))


def scan_recording(
    recording: Recording,
    file: str,
    config: DetectorConfig | None = None,
    *,
    chunk_s: float = 10.0,
    on_alert: Callable[[dict[str, Any]], None] | None = None,
) -> FileScan:
    """Run the detector over the whole recording; alerts come back in order of onset.

    `on_alert` receives each alert's line once it is final (cleared, or still
    active at the end of the file), so long files stream their results.
    """
    started = time.perf_counter()
    meta = StreamMeta(
        name=recording.path.name.split(".")[0],
        source_id=content_id(recording.path),
        labels=recording.labels,
        rate=recording.rate,
    )
    detector = Detector(meta, config)
    rate = recording.rate
    latest: dict[str, Alert] = {}
    done: list[dict[str, Any]] = []

    def finish(alert: Alert) -> None:
        line = alert_line(alert, file)
        done.append(line)
        if on_alert is not None:
            on_alert(line)

    for first, data in recording.blocks(chunk_s):
        stamps = (first + np.arange(data.shape[1])) / rate
        for alert in detector.process(Block(data, stamps, first)).alerts:
            latest[alert.id] = alert
            if alert.state == "cleared":
                finish(latest.pop(alert.id))
    for alert in latest.values():
        finish(alert)
    return FileScan(
        file=file,
        duration_s=recording.duration,
        n_channels=recording.n_channels,
        rate=rate,
        wall_s=time.perf_counter() - started,
        alerts=sorted(done, key=lambda a: (a["onset"], a["id"])),
        warnings=recording.warnings,
    )
