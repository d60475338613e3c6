"""Episodes: an alert's snapshots cut where its condition came back.

Live, an alert that latches stays one alert until someone acknowledges it,
however often its condition ends and returns. Offline nobody acknowledges,
so the scan and the evaluation count each return: the alert book numbers
them (`Alert.episode`, with the episode's own onset and detection), and
`EpisodeLog` is the one place that turns snapshots into episodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from detector.types import Alert


@dataclass
class Episode:
    """One episode of an alert, from its condition's onset to its end (None: not over).

    `alert` is its latest snapshot; `channels` all those it named, in order,
    and `joins` the (channel, time) of those that joined after it was
    detected, the time being what the caller gave with the snapshot.
    """

    alert: Alert
    onset: float
    detected_at: float
    channels: list[str] = field(default_factory=list)
    joins: list[tuple[str, float]] = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.alert.episode

    @property
    def end(self) -> float | None:
        """When the episode's condition ended (a cleared alert's condition is over too)."""
        return self.alert.ended_at

    def update(self, alert: Alert, at: float) -> None:
        self.alert = alert
        for channel in alert.channels:
            if channel not in self.channels:
                self.channels.append(channel)
                self.joins.append((channel, at))


class EpisodeLog:
    """Follows the snapshots of a stream's alerts, in order, and hands out their episodes.

    An episode is done when its alert clears or its next episode begins;
    `add` returns those, `close` the rest (still open at the end of the
    signal).

    Examples
    --------
    >>> from dataclasses import replace
    >>> from detector.types import Alert
    >>> first = Alert("seizure_suspect-1", "s", "s", "seizure_suspect", "high", ["C3"],
    ...               10.0, 13.0, 0.0, 1.0, "")
    >>> log = EpisodeLog()
    >>> log.add(first), log.add(replace(first, ended_at=40.0))
    ([], [])
    >>> back = replace(first, episode=2, episode_onset=300.0, episode_detected_at=305.0)
    >>> [(e.number, e.onset, e.detected_at, e.end) for e in log.add(back)]
    [(1, 10.0, 13.0, 40.0)]
    >>> [(e.number, e.onset, e.detected_at, e.end) for e in log.close()]
    [(2, 300.0, 305.0, None)]
    """

    def __init__(self) -> None:
        self._open: dict[str, Episode] = {}

    def add(self, alert: Alert, at: float | None = None) -> list[Episode]:
        """Take the next snapshot (`at`: when it was seen); return the episodes it ended."""
        done: list[Episode] = []
        seen = at if at is not None else alert.detected_at
        episode = self._open.get(alert.id)
        if episode is not None and episode.number != alert.episode:
            done.append(self._open.pop(alert.id))
            episode = None
        if episode is None:
            episode = self._open[alert.id] = Episode(
                alert,
                alert.onset if alert.episode_onset is None else alert.episode_onset,
                alert.detected_at
                if alert.episode_detected_at is None
                else alert.episode_detected_at,
                list(alert.channels),
            )
        episode.update(alert, seen)
        if alert.state == "cleared":
            done.append(self._open.pop(alert.id))
        return done

    def open(self) -> list[Episode]:
        """The episodes not done yet, oldest alert first."""
        return list(self._open.values())

    def close(self) -> list[Episode]:
        """The end of the signal: every open episode is done."""
        done, self._open = list(self._open.values()), {}
        return done
