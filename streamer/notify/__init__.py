"""Alert notifications: apprise URLs, routed by severity, escalated, rate-limited.

Two halves. `Policy` decides what to send and when: alert events and a clock
go in, `Notice` objects come out; it does no I/O, so its escalation and
rate-limit rules are tested with a fake clock. `Notifier` is the monitor's
sink that does the I/O: the monitor's thread only drops events into a bounded
queue; a dispatcher thread runs the policy, and each destination URL has its
own worker and queue, so a receiver that is slow, hangs or fails delays
neither detection, nor the feed, nor the other receivers. A failed delivery
is retried with exponential backoff and keeps its place, so nothing queued is
lost when the receiver recovers; a destination that keeps failing shows in
the monitor's ``status``. Every attempt is written to the journal.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import pylsl

from protocol.kinds import SEVERITIES
from streamer.live.journal import AlertJournal

if TYPE_CHECKING:  # the detector's package loads scipy: not needed to check a URL
    from detector.types import Block

log = logging.getLogger(__name__)

#: Routes: one per severity, and the second route escalations also go to.
ROUTES = (*SEVERITIES, "escalate")
#: Alert events waiting for the dispatcher; it drains them every tick, so this is never near.
EVENT_BACKLOG = 10_000
#: apprise's notify types (``apprise.NotifyType`` values) by severity. apprise itself is
#: imported only where a URL is checked or sent to: it costs half a second at start-up,
#: and most monitors notify nobody.
NOTIFY_TYPE = {"high": "failure", "medium": "warning", "low": "info"}


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
        extra = tuple(url for url in urls)
        if not extra:
            return self
        return replace(
            self,
            **{s: tuple(dict.fromkeys((*getattr(self, s), *extra))) for s in SEVERITIES},
        )

    def route(self, name: str) -> tuple[str, ...]:
        return tuple(getattr(self, name))

    @property
    def destinations(self) -> tuple[str, ...]:
        """Every URL of every route, once each, in order."""
        return tuple(dict.fromkeys(url for name in ROUTES for url in self.route(name)))


# -- the pure policy -------------------------------------------------------------------


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


# -- rendering -------------------------------------------------------------------------


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


def redact(url: str) -> str:
    """A URL fit for logs and the journal: no password, token or key in it.

    Examples
    --------
    >>> redact("mailto://nurse:s3cret@mail.example.org?to=ward@example.org")
    'mailto://nurse:***@mail.example.org?to=ward@example.org'
    >>> redact("json://127.0.0.1:8080/hook?token=abc&x=1")
    'json://127.0.0.1:8080/hook?token=***&x=1'
    """
    url = re.sub(r"^([a-z0-9+.-]+://[^:/@?#]*):[^@/?#]*@", r"\1:***@", url, flags=re.I)
    return re.sub(
        r"([?&](?:pass|password|token|key|apikey|secret|pwd)[^=&]*=)[^&#]*", r"\1***", url
    )


# -- the I/O ---------------------------------------------------------------------------


def check_urls(urls: Iterable[str]) -> None:
    """Refuse, before anything starts, a URL apprise cannot send to (naming it, redacted)."""
    import apprise

    _capture_apprise_errors()
    for url in urls:
        if apprise.Apprise.instantiate(url) is None:
            raise ValueError(f"notification URL {redact(url)!r} is not one apprise can send to")


class _AppriseErrors(logging.Handler):
    """Keeps the last error apprise logged on each thread, to journal it with the attempt."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.last: dict[int, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.last[record.thread or 0] = record.getMessage()


_APPRISE_ERRORS = _AppriseErrors()


def _capture_apprise_errors() -> None:
    """Apprise's own error lines go to the journal and our status, not to stderr."""
    logger = logging.getLogger("apprise")
    if _APPRISE_ERRORS not in logger.handlers:
        logger.addHandler(_APPRISE_ERRORS)
        logger.propagate = False


@dataclass
class _Job:
    notice: Notice
    title: str
    body: str
    queued_at: float
    attempts: int = 0


class Destination:
    """One receiver (an apprise URL) with its own bounded queue and worker thread."""

    def __init__(
        self,
        url: str,
        config: NotifyConfig,
        *,
        journal: AlertJournal | None,
        clock: Callable[[], float],
    ) -> None:
        import apprise

        _capture_apprise_errors()
        self.url = redact(url)
        plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            raise ValueError(f"notification URL {self.url!r} is not one apprise can send to")
        self._plugin = plugin
        self.config = config
        self.journal = journal
        self.clock = clock
        self.delivered = self.failures = self.dropped = 0
        self.failing_since: float | None = None
        self.consecutive_failures = 0
        self.last_error: str | None = None
        self._jobs: deque[_Job] = deque()
        self._in_flight: _Job | None = None
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="eegmon-notify", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        return len(self._jobs)

    def put(self, notice: Notice, title: str, body: str) -> None:
        """Queue a notice; when the queue is full, the oldest of the least severe goes."""
        job = _Job(notice, title, body, self.clock())
        with self._cond:
            self._jobs.append(job)
            waiting = [queued for queued in self._jobs if queued is not self._in_flight]
            if len(self._jobs) > self.config.queue_size and waiting:
                lost = max(waiting, key=lambda queued: SEVERITIES.index(queued.notice.severity))
                self._jobs.remove(lost)
                self.dropped += 1
                self._journal(lost, "dropped", error="queue full")
            self._cond.notify()

    def stop(self, grace: float) -> None:
        """Deliver what is queued for up to `grace` seconds, then give up on the rest."""
        deadline = time.monotonic() + grace
        with self._cond:
            while self._jobs and time.monotonic() < deadline and self.consecutive_failures == 0:
                self._cond.wait(0.05)
            self._stopping = True
            left = [job for job in self._jobs if job is not self._in_flight]
            self._jobs.clear()
            self._cond.notify_all()
        for job in left:
            self._journal(job, "undelivered", error="monitor stopped")
        self._thread.join(timeout=1.0)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                job = self._in_flight = self._jobs[0]
            ok, error, elapsed = self._send(job)
            job.attempts += 1
            with self._cond:
                self._in_flight = None
                if ok:
                    if self._jobs and self._jobs[0] is job:
                        self._jobs.popleft()
                    self.delivered += 1
                    self.consecutive_failures = 0
                    if self.failing_since is not None:
                        log.warning("notifications to %s are delivered again", self.url)
                    self.failing_since = None
                else:
                    self.failures += 1
                    self.consecutive_failures += 1
                    self.last_error = error
                    if (
                        self.consecutive_failures >= self.config.failing_after
                        and self.failing_since is None
                    ):
                        self.failing_since = self.clock()
                        log.warning(
                            "notifications to %s keep failing (%s); %d waiting, retrying",
                            self.url,
                            error,
                            len(self._jobs),
                        )
                self._cond.notify_all()
            self._journal(
                job,
                "delivered" if ok else "failed",
                error=error,
                elapsed_s=elapsed,
                queued_s=round(self.clock() - job.queued_at, 3),
            )
            if not ok:
                backoff = min(
                    self.config.retry_initial_s * 2 ** (self.consecutive_failures - 1),
                    self.config.retry_max_s,
                )
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping, timeout=backoff)

    def _send(self, job: _Job) -> tuple[bool, str | None, float]:
        started = time.perf_counter()
        _APPRISE_ERRORS.last.pop(threading.get_ident(), None)
        try:
            ok = bool(
                self._plugin.notify(
                    body=job.body, title=job.title, notify_type=NOTIFY_TYPE[job.notice.severity]
                )
            )
            error = None if ok else _APPRISE_ERRORS.last.get(threading.get_ident(), "refused")
        except Exception as exc:  # a plugin bug must not end the worker
            ok, error = False, f"{type(exc).__name__}: {exc}"
        return ok, error, round(time.perf_counter() - started, 4)

    def _journal(self, job: _Job, outcome: str, **details: Any) -> None:
        if self.journal is None:
            return
        try:
            self.journal.note(
                "notification",
                notice=job.notice.reason,
                severity=job.notice.severity,
                destination=self.url,
                attempt=job.attempts,
                outcome=outcome,
                kinds=job.notice.kinds,
                alert_ids=job.notice.alert_ids,
                title=job.title,
                **{k: v for k, v in details.items() if v is not None},
            )
        except (OSError, ValueError) as exc:  # ValueError: closed at shutdown
            log.error("alert journal cannot be written: %s", exc)


def _event_time(alert: Mapping[str, Any], now: float) -> float:
    """When a raise happened: its ``detected_at`` (the monitor's clock), never later than now."""
    detected = alert.get("detected_at")
    if isinstance(detected, int | float) and math.isfinite(detected) and detected > 0:
        return min(float(detected), now)
    return now


class Notifier:
    """The monitor's sink that turns alert events into notifications.

    `alert()` only queues the event (the monitor's thread never waits); a
    dispatcher thread runs the `Policy` every `tick_s` on `clock`, which must
    be the monitor's clock (an alert's ``detected_at`` is its time of
    raising), and hands notices to each destination's worker.
    Escalations are written to the journal as alert transitions
    (``escalated``), every delivery attempt as a ``notification`` line.
    """

    def __init__(
        self,
        config: NotifyConfig,
        *,
        journal: AlertJournal | None = None,
        clock: Callable[[], float] = pylsl.local_clock,
        feed_url: str | None = None,
        tick_s: float = 0.1,
    ) -> None:
        if not config.destinations:
            raise ValueError("no notification URL configured")
        self.config = config
        self.journal = journal
        self.clock = clock
        self.feed_url = feed_url
        self.tick_s = tick_s
        self.policy = Policy(config.escalation_after_s, config.min_interval_s, config.low_summary_s)
        self.lost_events = 0
        self.destinations: dict[str, Destination] = {}
        try:
            for url in config.destinations:
                self.destinations[url] = Destination(url, config, journal=journal, clock=clock)
        except ValueError:
            for destination in self.destinations.values():
                destination.stop(grace=0)
            raise
        self._events: deque[tuple[str, dict[str, Any]]] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="eegmon-dispatch", daemon=True)
        self._thread.start()

    # -- the Sink protocol, called on the monitor's thread --------------------------------
    def block(self, block: Block) -> None:
        """Nothing to do per block: the dispatcher keeps its own time."""

    def alert(self, event: str, alert: dict[str, Any]) -> None:
        with self._cond:
            if len(self._events) >= EVENT_BACKLOG:
                self.lost_events += 1
                log.error("notification queue full: %s %s not notified", event, alert.get("id"))
                return
            self._events.append((event, alert))
            self._cond.notify()

    def status(self) -> dict[str, Any]:
        failing = [d for d in self.destinations.values() if d.failing_since is not None]
        return {
            "notify": {
                "destinations": len(self.destinations),
                "pending": sum(d.pending for d in self.destinations.values()),
                "delivered": sum(d.delivered for d in self.destinations.values()),
                "failed_attempts": sum(d.failures for d in self.destinations.values()),
                "dropped": sum(d.dropped for d in self.destinations.values()) + self.lost_events,
                "failing": [d.url for d in failing],
                "errors": {d.url: d.last_error for d in failing},
                "waiting_for_ack": len(self.policy.waiting_for_ack),
            }
        }

    def close(self, grace: float = 3.0) -> None:
        """Send what the policy still holds, give the receivers `grace` seconds, stop."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout=5.0)
        self._dispatch(self.policy.flush())
        deadline = time.monotonic() + grace
        for destination in self.destinations.values():
            destination.stop(grace=max(0.0, deadline - time.monotonic()))

    # -- the dispatcher thread -------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._events or self._stopping, timeout=self.tick_s)
                events = list(self._events)
                self._events.clear()
                stopping = self._stopping
            try:
                for event, alert in events:
                    self._dispatch(
                        self.policy.event(event, alert, _event_time(alert, self.clock()))
                    )
                self._dispatch(self.policy.tick(self.clock()))
            except Exception:  # the dispatcher must outlive one odd alert
                log.exception("notification dispatch failed")
            if stopping:
                return

    def _dispatch(self, notices: list[Notice]) -> None:
        for notice in notices:
            if notice.reason == "escalated" and self.journal is not None:
                try:
                    self.journal.append(
                        "escalated", notice.alerts[0], after_s=round(notice.after_s, 3)
                    )
                except OSError as exc:
                    log.error("alert journal cannot be written: %s", exc)
            if notice.reason == "suppressed":
                self._note_suppressed(notice)
                continue
            title, body = render(notice, self.feed_url)
            urls = dict.fromkeys(url for route in notice.routes for url in self.config.route(route))
            for url in urls:
                self.destinations[url].put(notice, title, body)

    def _note_suppressed(self, notice: Notice) -> None:
        if self.journal is None:
            return
        try:
            self.journal.note(
                "notification",
                notice="suppressed",
                severity=notice.severity,
                outcome="rate_limited",
                kinds=notice.kinds,
                alert_ids=notice.alert_ids,
                min_interval_s=self.config.min_interval_s,
            )
        except OSError as exc:
            log.error("alert journal cannot be written: %s", exc)
