"""Delivery of notices: apprise, one queue and worker per destination, retries, journal lines.

The monitor's thread only drops alert events into a bounded queue; a
dispatcher thread runs the `Policy`, and each destination URL has its own
worker and queue, so a receiver that is slow, hangs or fails delays neither
detection, nor the feed, nor the other receivers. A failed delivery is
retried with exponential backoff and keeps its place, so nothing queued is
lost when the receiver recovers; a destination that keeps failing shows in
the monitor's ``status``. Every attempt is written to the journal.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pylsl

from protocol.kinds import SEVERITIES
from protocol.redact import redact_url
from streamer.live.journal import AlertJournal
from streamer.notify.policy import Notice, NotifyConfig, Policy, render

if TYPE_CHECKING:  # the detector's package loads scipy: not needed to check a URL
    from detector.types import Block

log = logging.getLogger(__name__)

#: Alert events waiting for the dispatcher; it drains them every tick, so this is never near.
EVENT_BACKLOG = 10_000
#: apprise's notify types (``apprise.NotifyType`` values) by severity. apprise itself is
#: imported only where a URL is checked or sent to: it costs half a second at start-up,
#: and most monitors notify nobody.
NOTIFY_TYPE = {"high": "failure", "medium": "warning", "low": "info"}


def check_urls(urls: Iterable[str]) -> None:
    """Refuse, before anything starts, a URL apprise cannot send to (naming it, redacted)."""
    import apprise

    _capture_apprise_errors()
    for url in urls:
        if apprise.Apprise.instantiate(url) is None:
            raise ValueError(f"notification URL {redact_url(url)!r} is not one apprise can send to")


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
        self.url = redact_url(url)
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
    """When an alert was raised: its ``published_at`` (the monitor's clock), at the latest now."""
    published = alert.get("published_at")
    if isinstance(published, int | float) and math.isfinite(published) and published > 0:
        return min(float(published), now)
    return now


class Notifier:
    """The monitor's sink that turns alert events into notifications.

    `alert()` only queues the event (the monitor's thread never waits); a
    dispatcher thread runs the `Policy` every `tick_s` on `clock`, which must
    be the monitor's clock (an alert's ``published_at`` is its time of
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
