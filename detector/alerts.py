"""Alert state machine: from per-window flags to debounced, stable alerts.

Pure bookkeeping, no signal processing; time is the stream time of windows.

- **Debounce**: per kind and per channel, a channel enters a condition when
  `k` of its last `n` windows are flagged and leaves it after `m`
  consecutive clean windows (per-kind overrides, e.g. 1 of 1 for a one-off
  electrode pop, 8 of 10 for a sustained seizure), or sooner when the
  finding marks its flags as strong evidence (`Finding.strong`, e.g. 5 of 6
  for a seizure far above the patient's usual); a single alert per kind
  carries the channels currently in that condition.
- **Refractory period**: an alert lasts at least `refractory_s` from its
  detection, so a condition that comes and goes yields at most one alert per
  period; the alert notes `ended_at` while it waits.
- **Upgrade**: an unacknowledged medium alert whose condition lasts
  `upgrade_after_s` becomes high (`upgraded_at`).
- **Latching**: alerts of the `latch` kinds, and upgraded ones, stay until
  acknowledged even after their condition ends; acknowledging an alert whose
  condition is over clears it, acknowledging one still present silences it
  (state ``acknowledged``) without hiding it.
- **Episodes**: a condition that comes back to an alert still there (latched
  or refractory) is the alert's next `episode`, with its own
  `episode_onset` and `episode_detected_at`; live, the alert stays one, but
  a scan or an evaluation, where nobody acknowledges, counts every episode
  (`EpisodeLog`).

States only move forward: active -> acknowledged -> cleared, or active ->
cleared. Callers get snapshots, so an alert already handed out (journaled,
sent) never changes under them.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from detector.config import DetectorConfig
from detector.types import Alert, StreamMeta
from protocol.kinds import KINDS, SEVERITY_RANK, severity_of


@dataclass(frozen=True)
class Finding:
    """What a rule or the model saw in one window, per unit (channel, or 1 for the stream).

    `message` is a template formatted with `channels`, `duration` (s since
    onset), `score` and the evidence names. `strong` marks the flagged units
    whose evidence is strong enough for a shorter sustain (see `AlertBook`).
    """

    kind: str
    flags: NDArray[np.bool_]
    score: NDArray[np.float64]  # larger is worse
    message: str
    evidence: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    whole_stream: bool = False
    strong: NDArray[np.bool_] | None = None

    def at(self, window: int) -> Finding:
        """One window's finding from the findings of stacked windows (arrays (windows, units))."""
        return Finding(
            self.kind,
            self.flags[window],
            self.score[window],
            self.message,
            {name: values[window] for name, values in self.evidence.items()},
            self.whole_stream,
            None if self.strong is None else self.strong[window],
        )


class _Debounce:
    """k-of-n entry (or `strong_k` of the last `strong_n` strong windows), m-clean exit."""

    def __init__(
        self, n_units: int, k: int, n: int, m: int, strong: tuple[int, int] | None = None
    ) -> None:
        self.k, self.m = k, m
        self.history = np.zeros((n_units, n), dtype=bool)
        # Strong flags are a subset of flags, so they never make `idle` wrong.
        self.strong_k, strong_n = strong if strong is not None else (0, 0)
        self.strong_history = np.zeros((n_units, n), dtype=bool) if strong else None
        self._strong_back = np.arange(1, strong_n + 1)
        self.starts = np.full(n, math.inf)
        self.pos = 0
        self.inside = np.zeros(n_units, dtype=bool)
        self.clean_run = np.zeros(n_units, dtype=np.int64)
        self.onset = np.full(n_units, math.inf)
        self.any_inside = False
        self._remembered = 0  # flagged windows still in the history, all units

    @property
    def idle(self) -> bool:
        """Nothing flagged in the last n windows and no unit inside: a clean window changes nothing.

        The history column is already clean, nobody enters or leaves; a
        unit's clean run only matters once it is inside, and it enters only
        on a flagged window, which resets it.
        """
        return self._remembered == 0 and not self.any_inside

    def step_clean(self, start: float) -> None:
        """`step` for a window with no unit flagged, while `idle` (most windows of a night)."""
        self.starts[self.pos] = start
        self.pos = (self.pos + 1) % self.history.shape[1]

    def step(
        self, flags: NDArray[np.bool_], start: float, strong: NDArray[np.bool_] | None = None
    ) -> None:
        if self.idle and not flags.any():
            self.step_clean(start)
            return
        self.starts[self.pos] = start
        self.history[:, self.pos] = flags
        n = self.history.shape[1]
        due = self.history.sum(axis=1) >= self.k
        if self.strong_history is not None:
            self.strong_history[:, self.pos] = False if strong is None else strong & flags
            recent = self.strong_history[:, (self.pos + 1 - self._strong_back) % n]
            due |= recent.sum(axis=1) >= self.strong_k
        self.pos = (self.pos + 1) % n
        enter = ~self.inside & due
        for unit in np.flatnonzero(enter):
            self.onset[unit] = self.starts[self.history[unit]].min()
        self.clean_run = np.where(flags, 0, self.clean_run + 1)
        leave = self.inside & (self.clean_run >= self.m)
        self.history[leave] = False
        if self.strong_history is not None:
            self.strong_history[leave] = False
        self.onset[leave] = math.inf
        self.inside = (self.inside | enter) & ~leave
        self.any_inside = bool(self.inside.any())
        self._remembered = int(np.count_nonzero(self.history))


class AlertBook:
    """The alerts of one stream: raising, updating, upgrading, acknowledging, clearing.

    Parameters
    ----------
    stream
        The stream the alerts are about.
    raise_k, raise_n, clear_m
        Debounce: enter after `raise_k` of `raise_n` flagged windows, leave after
        `clear_m` clean ones.
    id_prefix
        Prepended to every alert id, e.g. to keep ids unique across monitors.
    debounce
        Per-kind `(k, n, m)` overriding the defaults above.
    refractory_s
        Minimum life of an alert, in seconds of stream time (0: none).
    upgrade_after_s
        A medium alert still active (unacknowledged) after this long becomes
        high (None: never).
    latch
        Kinds whose alerts stay until acknowledged once their condition ends.
    strong_debounce
        Per-kind `(k, n)`: a unit also enters after `k` of its last `n`
        windows flagged as strong (`Finding.strong`; `n` at most the kind's
        debounce `n`), so overwhelming evidence needs less time.

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
        self,
        stream: StreamMeta,
        raise_k: int,
        raise_n: int,
        clear_m: int,
        id_prefix: str = "",
        debounce: Mapping[str, tuple[int, int, int]] | None = None,
        refractory_s: float = 0.0,
        upgrade_after_s: float | None = None,
        latch: Collection[str] = (),
        strong_debounce: Mapping[str, tuple[int, int]] | None = None,
    ) -> None:
        self.stream = stream
        self.raise_k = raise_k
        self.raise_n = raise_n
        self.clear_m = clear_m
        self.id_prefix = id_prefix
        self.debounce = debounce
        self.strong_debounce = strong_debounce
        for kind, strong in (strong_debounce or {}).items():
            n = (debounce or {}).get(kind, (raise_k, raise_n, clear_m))[1]
            if not 1 <= strong[0] <= strong[1] <= n:
                raise ValueError(f"strong debounce {strong!r} of {kind} must be k <= n <= {n}")
        self.refractory_s = refractory_s
        self.upgrade_after_s = upgrade_after_s
        self.latch = latch
        self._seq = 0
        self._debounce: dict[str, _Debounce] = {}
        self._current: dict[str, Alert] = {}

    def observe(self, finding: Finding, start: float, end: float) -> list[Alert]:
        """Feed one window's finding; return the alerts it changed."""
        kind = finding.kind
        deb = self._debounce.get(kind)
        if deb is None:
            k, n, m = (self.debounce or {}).get(kind, (self.raise_k, self.raise_n, self.clear_m))
            strong = (self.strong_debounce or {}).get(kind)
            deb = _Debounce(len(finding.flags), k, n, m, strong)
            self._debounce[kind] = deb
        deb.step(finding.flags, start, finding.strong)
        alert = self._current.get(kind)
        if alert is None and not deb.any_inside:
            return []
        units = np.flatnonzero(deb.inside)
        if alert is not None and len(units) == 0:
            return self._condition_over(alert, end)
        channels = [] if finding.whole_stream else [self.stream.labels[u] for u in units]
        resumed = alert is not None and alert.ended_at is not None
        if alert is not None and resumed:
            _next_episode(alert, float(deb.onset[units].min()), end)
        if alert is not None and channels == alert.channels and not resumed:
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

    def retune(self, kind: str, k: int, n: int, strong: tuple[int, int] | None) -> bool:
        """Raise `kind` after `k` of `n` windows (`strong`: its shorter sustain) from now on.

        Only between episodes: True once done, False (nothing changed) while
        `kind` is flagged, remembered or active; the caller asks again later.
        """
        deb = self._debounce.get(kind)
        if self.ongoing(kind) or (deb is not None and not deb.idle):
            return False
        m = (self.debounce or {}).get(kind, (self.raise_k, self.raise_n, self.clear_m))[2]
        self.debounce = {**(self.debounce or {}), kind: (k, n, m)}
        strongs = {**(self.strong_debounce or {})}
        strongs.pop(kind, None)
        self.strong_debounce = strongs | ({kind: strong} if strong is not None else {})
        self._debounce.pop(kind, None)
        return True

    def observe_clean(self, kind: str, start: float) -> bool:
        """Count a window in which nothing of `kind` was flagged, if that is all it does.

        True when nothing of `kind` is active or remembered, so the window
        changes no alert (what `observe` would return: nothing); False when
        the caller must `observe` the window's finding. Saves building
        findings for the quiet windows that are most of a recording.
        """
        deb = self._debounce.get(kind)
        if deb is None or not deb.idle or kind in self._current:
            return False
        deb.step_clean(start)
        return True

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
        """Raise an alert of `kind`, or update the active one (same id).

        An alert whose condition had ended starts its next episode; an
        `onset` from before that end is the alert's own (the caller knows no
        other), so the episode starts at `detected_at`.
        """
        alert = self._current.get(kind)
        if alert is None:
            self._seq += 1
            alert = Alert(
                id=f"{self.id_prefix}{kind}-{self._seq}",
                stream=self.stream.name,
                source_id=self.stream.source_id,
                kind=kind,
                severity=severity_of(kind),
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
            if alert.ended_at is not None:
                start = onset if onset >= alert.ended_at else detected_at
                _next_episode(alert, start, detected_at)
        return _snapshot(alert)

    def clear(self, kind: str, at: float, evidence: dict[str, float] | None = None) -> Alert:
        """Clear the active alert of `kind` now, whatever its latch; it never changes again."""
        alert = self._current.pop(kind)
        alert.state = "cleared"
        alert.cleared_at = at
        if alert.ended_at is None:
            alert.ended_at = at
        if evidence:
            alert.evidence = {**alert.evidence, **evidence}
        return _snapshot(alert)

    def end(
        self,
        kind: str,
        at: float,
        evidence: dict[str, float] | None = None,
        message: str | None = None,
    ) -> list[Alert]:
        """The condition of `kind` is over: clear its alert unless latched or refractory.

        `evidence` joins the alert's and `message` replaces its own, so a
        latched alert can tell what happened while nobody was looking.
        """
        alert = self._current.get(kind)
        if alert is None:
            return []
        if evidence:
            alert.evidence = {**alert.evidence, **evidence}
        if message is not None:
            alert.message = message
        changed = self._condition_over(alert, at)
        return changed or ([_snapshot(alert)] if evidence or message is not None else [])

    def tick(self, at: float) -> list[Alert]:
        """Let time pass (once per window): upgrade, and clear what waited out its period."""
        changed: list[Alert] = []
        for kind, alert in list(self._current.items()):
            if alert.ended_at is not None:
                if not self._latched(alert) and at - alert.detected_at >= self.refractory_s:
                    changed.append(self.clear(kind, alert.ended_at))
            elif (
                self.upgrade_after_s is not None
                and alert.severity == "medium"
                and alert.state == "active"
                and at - alert.onset >= self.upgrade_after_s
            ):
                alert.severity = "high"
                alert.upgraded_at = at
                alert.message = f"{alert.message} Unattended for {at - alert.onset:.0f} s."
                changed.append(_snapshot(alert))
        return changed

    def _latched(self, alert: Alert) -> bool:
        return alert.state == "active" and (
            alert.kind in self.latch or alert.upgraded_at is not None
        )

    def _condition_over(self, alert: Alert, at: float) -> list[Alert]:
        if not self._latched(alert) and at - alert.detected_at >= self.refractory_s:
            return [self.clear(alert.kind, at if alert.ended_at is None else alert.ended_at)]
        if alert.ended_at is None:
            alert.ended_at = at
            return [_snapshot(alert)]
        return []

    def current(self, kind: str) -> Alert | None:
        """A snapshot of the active alert of `kind`, if any."""
        alert = self._current.get(kind)
        return None if alert is None else _snapshot(alert)

    def ongoing(self, kind: str) -> bool:
        """True while the condition of `kind` is present.

        An alert that only stays because it is latched or waits out its
        refractory period does not count: what the detector learns must not
        stop for good at an unacknowledged alert.
        """
        alert = self._current.get(kind)
        return alert is not None and alert.ended_at is None

    def acknowledge(self, alert_id: str, who: str, at: float) -> Alert | None:
        """Mark an alert as seen by `who`; None if unknown or cleared.

        A latched alert whose condition is over clears; otherwise the alert
        stays listed, acknowledged, until its condition ends.
        """
        for kind, alert in self._current.items():
            if alert.id == alert_id:
                if alert.state == "active":
                    alert.state = "acknowledged"
                    alert.acknowledged_by = who
                    alert.acknowledged_at = at
                    if alert.ended_at is not None and at - alert.detected_at >= self.refractory_s:
                        return self.clear(kind, alert.ended_at)
                return _snapshot(alert)
        return None

    def active(self) -> list[Alert]:
        """Snapshots of the alerts not yet cleared, most severe and oldest first."""
        alerts = sorted(
            self._current.values(), key=lambda a: (SEVERITY_RANK[a.severity], a.onset, a.id)
        )
        return [_snapshot(a) for a in alerts]


def _next_episode(alert: Alert, onset: float, detected_at: float) -> None:
    """The condition of `alert` is back: its next episode, from `onset` but not before the end."""
    alert.episode += 1
    alert.episode_onset = onset if alert.ended_at is None else max(onset, alert.ended_at)
    alert.episode_detected_at = detected_at
    alert.ended_at = None


def _snapshot(alert: Alert) -> Alert:
    return replace(alert, channels=list(alert.channels), evidence=dict(alert.evidence))


def alert_book(stream: StreamMeta, cfg: DetectorConfig, id_prefix: str) -> AlertBook:
    """The alert book of `stream`: the registry's debounce per kind, the configured overrides."""
    debounce = {
        name: (*kind.debounce, cfg.clear_m)
        for name, kind in KINDS.items()
        if kind.debounce is not None
    }
    debounce["seizure_suspect"] = (cfg.seizure_k, cfg.seizure_n, cfg.clear_m)
    debounce["anomaly"] = (cfg.raise_k, cfg.raise_n, cfg.anomaly_clear_m())
    return AlertBook(
        stream,
        cfg.raise_k,
        cfg.raise_n,
        cfg.clear_m,
        id_prefix,
        debounce=debounce,
        strong_debounce={"seizure_suspect": (cfg.seizure_strong_k, cfg.seizure_strong_n)},
        refractory_s=cfg.refractory_s,
        upgrade_after_s=cfg.upgrade_after_s,
        latch=cfg.latch,
    )
