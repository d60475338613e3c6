"""What to notify and when: the ``[notify]`` config, the `Policy` and its `Notice` objects.

Pure: alert events and a clock go in, notices come out; no I/O, no threads,
so the escalation and rate-limit rules are tested with a fake clock. The
delivery of the notices is `streamer.notify.delivery`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from protocol.kinds import SEVERITIES

#: Routes: one per severity, and the second route escalations also go to.
ROUTES = (*SEVERITIES, "escalate")


@dataclass(frozen=True)
class NotifyConfig:
    """Where notices go and how hard we try: the ``[notify]`` section of the config.

    ``high``, ``medium``, ``low`` list the apprise URLs that receive alerts of
    that severity (low ones as a summary every `low_summary_s`); ``escalate``
    is the second route a high alert goes to when nobody acknowledged it
    within `escalation_after_s`. `min_interval_s`: at most one notification per
    alert kind in that time (a flapping condition is told once, then summed
    up). A failed delivery is retried after `retry_initial_s`, doubling up to
    `retry_max_s`; after `failing_after` failures in a row the destination is
    reported as failing. `queue_size` bounds what waits per destination.
    """

    high: tuple[str, ...] = ()
    medium: tuple[str, ...] = ()
    low: tuple[str, ...] = ()
    escalate: tuple[str, ...] = ()
    escalation_after_s: float = 300.0
    min_interval_s: float = 60.0
    low_summary_s: float = 300.0
    retry_initial_s: float = 1.0
    retry_max_s: float = 60.0
    failing_after: int = 3
    queue_size: int = 1000

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> NotifyConfig:
        """Validate a parsed ``[notify]`` table; errors name the key and quote the value.

        Examples
        --------
        >>> NotifyConfig.from_dict({"high": ["json://127.0.0.1:9/"], "min_interval_s": 30})
        ... # doctest: +ELLIPSIS
        NotifyConfig(high=('json://127.0.0.1:9/',), medium=(), ..., min_interval_s=30.0, ...)
        >>> NotifyConfig.from_dict({"hihg": []})
        Traceback (most recent call last):
        ...
        ValueError: unknown key 'hihg'; known: escalate, escalation_after_s, ...
        """
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in known:
                raise ValueError(f"unknown key {key!r}; known: {', '.join(sorted(known))}")
            if key in ROUTES:
                if isinstance(value, str):
                    value = [value]
                if not isinstance(value, list) or not all(
                    isinstance(url, str) and url.strip() for url in value
                ):
                    raise ValueError(f"{key} must be a list of URLs, got {value!r}")
                values[key] = tuple(url.strip() for url in value)
            elif key in ("failing_after", "queue_size"):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError(f"{key} must be a positive integer, got {value!r}")
                values[key] = value
            else:
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not math.isfinite(value)
                    or value <= 0
                ):
                    raise ValueError(f"{key} must be a positive number of seconds, got {value!r}")
                values[key] = float(value)
        config = cls(**values)
        if config.retry_max_s < config.retry_initial_s:
            raise ValueError(
                f"retry_max_s ({config.retry_max_s}) is below retry_initial_s "
                f"({config.retry_initial_s})"
            )
        return config

    def with_urls(self, urls: Iterable[str]) -> NotifyConfig:
        """Add URLs given on the command line (``--notify``): they receive every severity."""
        extra = tuple(urls)
        if not extra:
            return self
        routes: dict[str, Any] = {
            s: tuple(dict.fromkeys((*self.route(s), *extra))) for s in SEVERITIES
        }
        return replace(self, **routes)

    def route(self, name: str) -> tuple[str, ...]:
        return tuple(getattr(self, name))

    @property
    def destinations(self) -> tuple[str, ...]:
        """Every URL of every route, once each, in order."""
        return tuple(dict.fromkeys(url for name in ROUTES for url in self.route(name)))


@dataclass(frozen=True)
class Notice:
    """One decision of the policy.

    `reason`: ``raised`` (first notice of an alert), ``upgraded`` (the
    detector made an alert more severe), ``escalated`` (a high alert
    unacknowledged after T), ``repeated`` (what a kind did while it was
    rate-limited), ``summary`` (low alerts), ``suppressed`` (rate-limited:
    journaled, not sent; `routes` is empty).
    """

    reason: str
    severity: str
    routes: tuple[str, ...]
    alerts: tuple[dict[str, Any], ...]
    #: how many times the kind was raised while held back (``repeated``)
    raises: int = 0
    #: how long the alert had been waiting unacknowledged (``escalated``)
    after_s: float = 0.0

    @property
    def kinds(self) -> list[str]:
        return list(dict.fromkeys(str(a["kind"]) for a in self.alerts))

    @property
    def alert_ids(self) -> list[str]:
        return [str(a["id"]) for a in self.alerts]


@dataclass
class _Held:
    """A kind's events held back during its minimum interval."""

    raises: int = 0
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class _Watch:
    """A high alert waiting for its acknowledgement."""

    alert: dict[str, Any]
    due: float


class Policy:
    """Decides what to notify and when, from alert events and the time.

    Rules: a medium or high alert is notified when raised, unless a notice of
    the same kind went out less than `min_interval_s` ago; then it is held, and
    when the minimum interval ends one ``repeated`` notice tells what happened
    meanwhile. A high alert not acknowledged (nor cleared) `escalation_after_s`
    after it was raised is notified again, to its route and the ``escalate``
    route, once; escalations are never held back. An alert the detector makes
    more severe (``updated`` with a higher severity) is told to its new route
    at once (``upgraded``), and a high one is then watched like a raised one.
    Low alerts are collected and sent as one ``summary`` every `low_summary_s`.

    Examples
    --------
    >>> policy = Policy(escalation_after_s=60, min_interval_s=30, low_summary_s=300)
    >>> pop = {"id": "a1", "kind": "signal_lost", "severity": "high"}
    >>> [n.reason for n in policy.event("raised", pop, now=0.0)]
    ['raised']
    >>> policy.tick(now=59.0)
    []
    >>> [(n.reason, n.routes) for n in policy.tick(now=60.0)]
    [('escalated', ('high', 'escalate'))]
    >>> again = {"id": "a2", "kind": "signal_lost", "severity": "high"}
    >>> [n.reason for n in policy.event("raised", again, now=70.0)]
    ['suppressed']
    >>> [(n.reason, n.raises) for n in policy.tick(now=90.0)]
    [('repeated', 1)]
    """

    def __init__(self, escalation_after_s: float, min_interval_s: float, low_summary_s: float):
        self.escalation_after_s = escalation_after_s
        self.min_interval_s = min_interval_s
        self.low_summary_s = low_summary_s
        self._last_sent: dict[str, float] = {}
        self._held: dict[str, _Held] = {}
        self._watch: dict[str, _Watch] = {}
        self._low: list[dict[str, Any]] = []
        self._low_due = math.inf
        self._severity: dict[str, str] = {}

    @property
    def waiting_for_ack(self) -> list[str]:
        """Ids of high alerts that will escalate unless acknowledged."""
        return list(self._watch)

    def event(self, event: str, alert: Mapping[str, Any], now: float) -> list[Notice]:
        """An alert transition (``raised``, ``updated``, ``acknowledged``, ``cleared``)."""
        alert = dict(alert)
        alert_id, kind, severity = str(alert["id"]), str(alert["kind"]), str(alert["severity"])
        held = self._held.get(kind)
        if held is not None and alert_id in held.alerts:
            held.alerts[alert_id] = alert  # the repeated notice tells the latest state
        if event in ("acknowledged", "cleared"):
            self._watch.pop(alert_id, None)
            if event == "cleared":
                self._severity.pop(alert_id, None)
            return []
        if event == "updated":
            if alert_id in self._watch:
                self._watch[alert_id].alert = alert
            was = self._severity.get(alert_id, severity)
            self._severity[alert_id] = severity
            if SEVERITIES.index(severity) >= SEVERITIES.index(was):
                return []
            # The detector made it more severe (a medium condition that lasts): tell its new
            # route now, never held back, and wait for its acknowledgement if it is high.
            if severity == "high":
                self._watch[alert_id] = _Watch(alert, now + self.escalation_after_s)
            self._last_sent[kind] = now
            return [Notice("upgraded", severity, (severity,), (alert,))]
        if event != "raised":
            return []
        self._severity[alert_id] = severity
        if severity == "high":
            self._watch[alert_id] = _Watch(alert, now + self.escalation_after_s)
        if severity == "low":
            if not self._low:
                self._low_due = now + self.low_summary_s
            self._low.append(alert)
            return []
        last = self._last_sent.get(kind, -math.inf)
        if now - last < self.min_interval_s:
            held = self._held.setdefault(kind, _Held())
            held.raises += 1
            held.alerts[alert_id] = alert
            return [Notice("suppressed", severity, (), (alert,))]
        self._last_sent[kind] = now
        return [Notice("raised", severity, (severity,), (alert,))]

    def tick(self, now: float) -> list[Notice]:
        """What has fallen due by `now`: escalations, ended minimum intervals, the summary."""
        notices: list[Notice] = []
        for alert_id, watch in list(self._watch.items()):
            if now >= watch.due:
                del self._watch[alert_id]
                self._last_sent[str(watch.alert["kind"])] = now
                waited = now - (watch.due - self.escalation_after_s)
                notices.append(
                    Notice(
                        "escalated", "high", ("high", "escalate"), (watch.alert,), after_s=waited
                    )
                )
        for kind, held in list(self._held.items()):
            if now - self._last_sent[kind] >= self.min_interval_s:
                notices.append(self._repeated(kind, held))
                self._last_sent[kind] = now
        if self._low and now >= self._low_due:
            notices.append(self._summary())
        return notices

    def flush(self) -> list[Notice]:
        """Everything still held back (at shutdown): repeated notices and the summary."""
        notices = [self._repeated(kind, held) for kind, held in list(self._held.items())]
        if self._low:
            notices.append(self._summary())
        return notices

    def _repeated(self, kind: str, held: _Held) -> Notice:
        del self._held[kind]
        alerts = tuple(held.alerts.values())
        severity = str(alerts[-1]["severity"])
        return Notice("repeated", severity, (severity,), alerts, raises=held.raises)

    def _summary(self) -> Notice:
        alerts, self._low, self._low_due = tuple(self._low), [], math.inf
        return Notice("summary", "low", ("low",), alerts)


def where(alert: Mapping[str, Any]) -> str:
    """``flatline on O1, C3`` or ``signal_lost on the whole stream``."""
    channels = alert.get("channels") or []
    return f"{alert['kind']} on {', '.join(channels) if channels else 'the whole stream'}"


def render(notice: Notice, feed_url: str | None = None) -> tuple[str, str]:
    """The title and body of a notice: what, where, which alert, and how to acknowledge.

    Examples
    --------
    >>> alert = {"id": "17-flatline-1", "stream": "bed-4", "kind": "flatline",
    ...          "severity": "medium", "channels": ["O1"], "state": "active",
    ...          "message": "Flat signal on O1."}
    >>> title, body = render(Notice("raised", "medium", ("medium",), (alert,)))
    >>> print(title)
    eegmon bed-4: MEDIUM flatline on O1
    >>> print(body)
    Flat signal on O1.
    kind: flatline; severity: medium; channels: O1; alert 17-flatline-1
    acknowledge: eegmon ack 17-flatline-1 --feed ws://HOST:PORT
    """
    first = notice.alerts[0]
    stream = first.get("stream", "?")
    feed = feed_url or "ws://HOST:PORT"
    if notice.reason == "summary":
        title = f"eegmon {stream}: {len(notice.alerts)} low-severity alerts"
        lines = [f"- {where(a)}: {a.get('message', '')} (alert {a['id']})" for a in notice.alerts]
        return title, "\n".join(lines)
    if notice.reason == "repeated":
        title = (
            f"eegmon {stream}: {notice.severity.upper()} {first['kind']} "
            f"raised {notice.raises} more time{'s' if notice.raises != 1 else ''}"
        )
        lines = [f"{where(a)}: {a.get('state', '?')} (alert {a['id']})" for a in notice.alerts]
        return title, "\n".join(lines)
    title = f"eegmon {stream}: {notice.severity.upper()} {where(first)}"
    if notice.reason == "upgraded":
        title += ", now more severe"
    if notice.reason == "escalated":
        title = f"ESCALATED {title}, unacknowledged for {notice.after_s:.0f} s"
    channels = ", ".join(first.get("channels") or []) or "whole stream"
    body = (
        f"{first.get('message', '')}\n"
        f"kind: {first['kind']}; severity: {first['severity']}; channels: {channels}; "
        f"alert {first['id']}\n"
        f"acknowledge: eegmon ack {first['id']} --feed {feed}"
    )
    return title, body
