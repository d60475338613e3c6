"""Alert state machine: from per-window flags to debounced, stable alerts.

Pure bookkeeping, no signal processing. Per kind and per channel, a channel
enters a condition when `raise_k` of its last `raise_n` windows are flagged
and leaves it after `clear_m` consecutive clean windows; a single alert per
kind carries the channels currently in that condition. States only move
forward: active -> acknowledged -> cleared, or active -> cleared. Callers get
snapshots, so an alert already handed out (journaled, sent) never changes
under them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from detector.types import SEVERITY, SEVERITY_RANK, Alert, StreamMeta


@dataclass(frozen=True)
class Finding:
    """What a rule or the model saw in one window, per unit (channel, or 1 for the stream).

    `message` is a template formatted with `channels`, `duration` (s since
    onset), `score` and the evidence names.
    """

    kind: str
    flags: NDArray[np.bool_]
    score: NDArray[np.float64]  # larger is worse
    message: str
    evidence: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    whole_stream: bool = False


class _Debounce:
    """k-of-n entry, m-clean exit, per unit."""

    def __init__(self, n_units: int, k: int, n: int, m: int) -> None:
        self.k, self.m = k, m
        self.history = np.zeros((n_units, n), dtype=bool)
        self.starts = np.full(n, math.inf)
        self.pos = 0
        self.inside = np.zeros(n_units, dtype=bool)
        self.clean_run = np.zeros(n_units, dtype=np.int64)
        self.onset = np.full(n_units, math.inf)

    def step(self, flags: NDArray[np.bool_], start: float) -> None:
        self.history[:, self.pos] = flags
        self.starts[self.pos] = start
        self.pos = (self.pos + 1) % self.history.shape[1]
        enter = ~self.inside & (self.history.sum(axis=1) >= self.k)
        for unit in np.flatnonzero(enter):
            self.onset[unit] = self.starts[self.history[unit]].min()
        self.clean_run = np.where(flags, 0, self.clean_run + 1)
        leave = self.inside & (self.clean_run >= self.m)
        self.history[leave] = False
        self.onset[leave] = math.inf
        self.inside = (self.inside | enter) & ~leave


class AlertBook:
    """The alerts of one stream: raising, updating, acknowledging, clearing.

    Parameters
    ----------
    stream
        The stream the alerts are about.
    raise_k, raise_n, clear_m
        Debounce: enter after `raise_k` of `raise_n` flagged windows, leave after
        `clear_m` clean ones.
    id_prefix
        Prepended to every alert id, e.g. to keep ids unique across monitors.

    Examples
    --------
    >>> import numpy as np
    >>> from detector.types import StreamMeta
    >>> book = AlertBook(StreamMeta("ward", "dev1", ("C3", "O1"), 256.0), 2, 3, 3)
    >>> def flat(*flags):
    ...     f = np.array(flags)
    ...     return Finding("flatline", f, f.astype(float), "Flat signal on {channels}.")
    >>> book.observe(flat(False, True), start=0.0, end=1.0)
    []
    >>> [(a.id, a.state, a.channels, a.onset) for a in book.observe(flat(False, True), 0.5, 1.5)]
    [('flatline-1', 'active', ['O1'], 0.0)]
    >>> for t in (1.0, 1.5):
    ...     book.observe(flat(False, False), t, t + 1.0)
    []
    []
    >>> [(a.state, a.cleared_at) for a in book.observe(flat(False, False), 2.0, 3.0)]
    [('cleared', 3.0)]
    """

    def __init__(
        self, stream: StreamMeta, raise_k: int, raise_n: int, clear_m: int, id_prefix: str = ""
    ) -> None:
        self.stream = stream
        self.raise_k = raise_k
        self.raise_n = raise_n
        self.clear_m = clear_m
        self.id_prefix = id_prefix
        self._seq = 0
        self._debounce: dict[str, _Debounce] = {}
        self._current: dict[str, Alert] = {}

    def observe(self, finding: Finding, start: float, end: float) -> list[Alert]:
        """Feed one window's finding; return the alerts it changed."""
        deb = self._debounce.get(finding.kind)
        if deb is None:
            deb = _Debounce(len(finding.flags), self.raise_k, self.raise_n, self.clear_m)
            self._debounce[finding.kind] = deb
        deb.step(finding.flags, start)
        units = np.flatnonzero(deb.inside)
        alert = self._current.get(finding.kind)
        if alert is None and len(units) == 0:
            return []
        if alert is not None and len(units) == 0:
            return [self.clear(finding.kind, end)]
        channels = [] if finding.whole_stream else [self.stream.labels[u] for u in units]
        if alert is not None and channels == alert.channels:
            return []
        worst = units[np.argmax(finding.score[units])]
        onset = float(deb.onset[units].min()) if alert is None else alert.onset
        evidence = {name: round(float(v[worst]), 6) for name, v in finding.evidence.items()}
        score = float(finding.score[worst])
        message = finding.message.format_map(
            evidence
            | {
                "channels": ", ".join(channels) or "the stream",
                "duration": end - onset,
                "score": score,
            }
        )
        if alert is None:
            return [self.raise_event(finding.kind, channels, onset, end, score, message, evidence)]
        alert.channels, alert.score, alert.message, alert.evidence = (
            channels,
            score,
            message,
            evidence,
        )
        return [_snapshot(alert)]

    def raise_event(
        self,
        kind: str,
        channels: list[str],
        onset: float,
        detected_at: float,
        score: float,
        message: str,
        evidence: dict[str, float],
    ) -> Alert:
        """Raise an alert of `kind`, or update the active one (same id)."""
        alert = self._current.get(kind)
        if alert is None:
            self._seq += 1
            alert = Alert(
                id=f"{self.id_prefix}{kind}-{self._seq}",
                stream=self.stream.name,
                source_id=self.stream.source_id,
                kind=kind,
                severity=SEVERITY[kind],
                channels=channels,
                onset=onset,
                detected_at=detected_at,
                latency_s=0.0,
                score=score,
                message=message,
                evidence=evidence,
            )
            self._current[kind] = alert
        else:
            alert.channels, alert.score, alert.message, alert.evidence = (
                channels,
                score,
                message,
                evidence,
            )
        return _snapshot(alert)

    def clear(self, kind: str, at: float, evidence: dict[str, float] | None = None) -> Alert:
        """Clear the active alert of `kind`; it never changes again."""
        alert = self._current.pop(kind)
        alert.state = "cleared"
        alert.cleared_at = at
        if evidence:
            alert.evidence = {**alert.evidence, **evidence}
        return _snapshot(alert)

    def current(self, kind: str) -> Alert | None:
        """A snapshot of the active alert of `kind`, if any."""
        alert = self._current.get(kind)
        return None if alert is None else _snapshot(alert)

    def acknowledge(self, alert_id: str, who: str, at: float) -> Alert | None:
        """Mark an active alert as seen by `who`; None if unknown or cleared."""
        for alert in self._current.values():
            if alert.id == alert_id:
                if alert.state == "active":
                    alert.state = "acknowledged"
                    alert.acknowledged_by = who
                    alert.acknowledged_at = at
                return _snapshot(alert)
        return None

    def active(self) -> list[Alert]:
        """Snapshots of the alerts not yet cleared, most severe and oldest first."""
        alerts = sorted(
            self._current.values(), key=lambda a: (SEVERITY_RANK[a.severity], a.onset, a.id)
        )
        return [_snapshot(a) for a in alerts]


def _snapshot(alert: Alert) -> Alert:
    return replace(alert, channels=list(alert.channels), evidence=dict(alert.evidence))
