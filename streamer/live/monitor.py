"""The monitor loop: acquisition → detector → journal and feed, on one thread.

One thread pulls, detects and publishes, so a window is analysed the moment
its last sample arrives and nothing waits in a queue of ours (LSL's inlet
buffer is the queue). The feed runs on its own thread and receives encoded
messages; acknowledgements and conditions come back through the queues of a
`MonitorLink`.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import pylsl

from detector import Detector
from detector.types import Alert, Block, Output
from protocol.feed import finite_or_none
from protocol.kinds import KINDS, SEVERITIES
from streamer.live.acquisition import Acquisition
from streamer.live.display import DisplayDecimator
from streamer.live.journal import AlertJournal
from streamer.live.link import MonitorLink
from streamer.live.notes import NoteSink, make_note
from streamer.live.staging_sink import StagingSink

log = logging.getLogger(__name__)

FAIL_LOUD = os.environ.get("EEGMON_FAIL_LOUD") == "1"
Publish = Callable[[dict[str, Any]], None]


class Sink(Protocol):
    """Something the monitor hands every block and alert event to (recorder, notifier...).

    Called on the monitor's thread: a sink must return quickly and never
    raise for I/O trouble; slow work belongs on its own thread or queue.
    """

    def block(self, block: Block) -> None: ...

    def alert(self, event: str, alert: dict[str, Any]) -> None: ...

    def status(self) -> dict[str, Any]:
        """Fields merged into the monitor's ``status`` message (e.g. recording state)."""
        ...

    def close(self) -> None: ...


#: Failed steps within `FAILURE_WINDOW_S` seconds that mean the bed is not monitored.
FAILURES_TO_ALARM = 3
FAILURE_WINDOW_S = 5.0
#: Seconds without a failed step after which `monitor_failed` clears.
RECOVERED_AFTER_S = 5.0


class StepFailures:
    """When failed steps become the bed's alarm, and when it is over.

    >>> failures = StepFailures()
    >>> [failures.failed(t) for t in (0.0, 1.0, 2.0, 3.0)]  # the third within 5 s raises
    [False, False, True, False]
    >>> failures.recovered(6.0), failures.recovered(8.5), failures.alarmed
    (False, True, False)
    """

    def __init__(self) -> None:
        self._times: deque[float] = deque()
        self.alarmed = False

    @property
    def count(self) -> int:
        return len(self._times)

    def failed(self, now: float) -> bool:
        """Note a failed step; True when it is the one that raises the alarm."""
        self._times.append(now)
        while self._times and self._times[0] < now - FAILURE_WINDOW_S:
            self._times.popleft()
        if self.alarmed or len(self._times) < FAILURES_TO_ALARM:
            return False
        self.alarmed = True
        return True

    def recovered(self, now: float) -> bool:
        """After a successful step: True once, when an alarm's failures have stopped long enough."""
        if not self.alarmed or now - self._times[-1] < RECOVERED_AFTER_S:
            return False
        self.alarmed = False
        self._times.clear()
        return True


class LatencyTracker:
    """The newest `size` latencies, summarised as p50/p99."""

    def __init__(self, size: int = 2000) -> None:
        self._values: deque[float] = deque(maxlen=size)

    def add(self, seconds: float) -> None:
        self._values.append(seconds)

    def percentiles(self) -> tuple[float | None, float | None]:
        if not self._values:
            return None, None
        p50, p99 = np.percentile(np.fromiter(self._values, float), [50, 99])
        return float(p50), float(p99)


class Monitor:
    """Runs one stream through the detector and publishes what it finds.

    Parameters
    ----------
    publish
        Receives every feed message (a dict); `Feed.publish` in production.
    link
        Where the feed and the other threads meet this monitor (its hello,
        acknowledgements and conditions); made here when not given.
    on_status
        Receives each ``status`` message, e.g. to print a terminal line.
    """

    def __init__(
        self,
        acquisition: Acquisition,
        detector: Detector,
        *,
        publish: Publish,
        link: MonitorLink | None = None,
        journal: AlertJournal | None = None,
        sinks: Sequence[Sink] = (),
        stall_timeout: float = 2.0,
        status_interval: float = 1.0,
        traces_interval: float = 0.1,
        on_status: Callable[[dict[str, Any]], None] | None = None,
        clock: Callable[[], float] = pylsl.local_clock,
        max_backlog_s: float = 2.0,
    ) -> None:
        if stall_timeout <= 0:
            raise ValueError(f"stall timeout must be positive, got {stall_timeout!r}")
        if link is None:
            link = MonitorLink(acquisition.meta, detector.config, stall_timeout)
        elif link.stall_timeout != stall_timeout or link.meta != acquisition.meta:
            raise ValueError("the monitor link was made for another stream or stall timeout")
        self.link = link
        self.acquisition = acquisition
        self.detector = detector
        self.publish = publish
        self.journal = journal
        self.sinks = tuple(sinks)
        self.stall_timeout = stall_timeout
        self.status_interval = status_interval
        self.traces_interval = traces_interval
        self.on_status = on_status
        self.clock = clock
        meta = acquisition.meta
        self.display = DisplayDecimator(meta.rate, meta.n_channels)
        self.latency = LatencyTracker()
        self.alert_latency = LatencyTracker()
        #: CPU seconds of detection per analysed window
        self.work = LatencyTracker()
        #: beyond this much unanalysed signal, the oldest is skipped: latency stays bounded
        self.max_backlog_s = max_backlog_s
        self.skipped_s = 0.0
        self.windows = 0
        self.lost = False
        #: when each alert was first published, on `clock`
        self._published_at: dict[str, float] = {}
        self._last_reconnect = -math.inf
        self._next_status = self._next_traces = 0.0
        self.failures = StepFailures()
        self._next_index = 0
        self._samples_at_status = 0
        self._notes_taken = 0
        self._last_status = clock()

    # -- the monitor thread ------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Monitor until `stop` is set.

        Fail-soft: an unexpected error is logged and monitoring goes on (a night
        is not lost to one bad block); with ``EEGMON_FAIL_LOUD=1`` (the tests)
        it is raised instead.
        """
        now = self.clock()
        self._next_status, self._next_traces = now + self.status_interval, now
        while not stop.is_set():
            try:
                self._step()
            except Exception as exc:
                if FAIL_LOUD:
                    raise
                self._step_failed(exc)
                stop.wait(0.1)
                continue
            if self.failures.recovered(self.clock()):
                self._set_condition("monitor_failed", False, "", {})

    def _step_failed(self, exc: Exception) -> None:
        """A failed step: logged; failing again and again, the bed's own alarm."""
        now = self.clock()
        if self.failures.failed(now):
            log.exception("monitor step failed repeatedly; raising monitor_failed")
            error = f"{type(exc).__name__}: {exc}"[:200]
            evidence = {"failures": float(self.failures.count), "window_s": FAILURE_WINDOW_S}
            message = KINDS["monitor_failed"].message.format(
                failures=self.failures.count, window_s=FAILURE_WINDOW_S, error=error
            )
            self._set_condition("monitor_failed", True, message, evidence)
        elif self.failures.alarmed:
            log.warning("monitor step failed again: %s", exc)
        else:
            log.exception("monitor step failed; monitoring goes on")

    def _set_condition(
        self, kind: str, active: bool, message: str, evidence: dict[str, float]
    ) -> None:
        """Raise or clear a condition now, on this thread; its own failure is only logged."""
        try:
            output = self.detector.set_condition(kind, active, self.clock(), message, evidence)
            self._publish_output(output, acquired_at=None)
        except Exception:
            log.critical("could not raise %s", kind, exc_info=True)

    def _step(self) -> None:
        """One pull, then whatever is due: detection, stall handling, acks, feed."""
        blocks = self.acquisition.read(timeout=0.02)
        skip = self._backlog(blocks)
        for block in blocks:
            if skip > 0:  # fallen behind: analyse the newest samples, account for the rest
                old, block = _split(block, min(skip, block.n_samples))
                skip -= old.n_samples
                self.skipped_s += old.n_samples / self.acquisition.meta.rate
                self._process(old, analyse=False)
            if block.n_samples:
                self._process(block)
        if not blocks and self.acquisition.silent_for() > self.stall_timeout:
            self._stalled()
        self._drain_link()
        now = self.clock()
        if now >= self._next_traces:
            # On a fixed schedule (not drifting by each step's lateness); no burst after a stall.
            self._next_traces = max(self._next_traces + self.traces_interval, now)
            traces = self.display.flush()
            if traces is not None:
                self.publish(traces)
        if now >= self._next_status:
            self._next_status = now + self.status_interval
            self._publish_status(now)

    def _backlog(self, blocks: list[Block]) -> int:
        """Samples of this pull to skip: older than `max_backlog_s`, before its last window.

        A large pull (half a second or more) that is all older than that is
        skipped whole: more of the backlog is waiting behind it. Otherwise the
        newest window of a pull is always analysed, so a stream whose clock is
        wrong but that arrives in small pulls is never skipped.
        """
        if not blocks:
            return 0
        rate = self.acquisition.meta.rate
        total = sum(b.n_samples for b in blocks)
        keep = round(self.detector.config.window_s * rate)
        oldest_wanted = self.clock() - self.max_backlog_s
        stamps = np.concatenate([b.timestamps for b in blocks])
        too_old = int(np.searchsorted(stamps, oldest_wanted))
        if too_old == total and total >= 0.5 * rate:
            return total
        return max(0, min(too_old, total - keep))

    def _process(self, block: Block, analyse: bool = True) -> None:
        if analyse:
            for sink in self.sinks:  # the stages judge windows from their stream time on
                if isinstance(sink, StagingSink):
                    for epoch, stage, at in sink.take_staged():
                        self.detector.stage(epoch, stage, at)
            started = time.perf_counter()
            output = self.detector.process(block)
            if output.windows:
                self.work.add((time.perf_counter() - started) / len(output.windows))
        else:
            output = self.detector.skip(block)
        self.lost = False
        if block.first_index != self._next_index:
            self.display.reset()
        self._next_index = block.first_index + block.n_samples
        self.display.add(block)
        for sink in self.sinks:
            sink.block(block)
        self._publish_output(output, acquired_at=block.acquired_at)
        if block.acquired_at is not None:
            self.latency.add(self.clock() - block.acquired_at)

    def _stalled(self) -> None:
        silent = self.acquisition.silent_for()
        if not self.lost:
            self.lost = True
            last = self.acquisition.stats.last_timestamp
            at = (last if last is not None else self.clock() - silent) + silent
            self._publish_output(
                self.detector.stalled(at=at, silent_for=silent),
                acquired_at=self.clock() - (silent - self.stall_timeout),
            )
        now = self.clock()
        if now - self._last_reconnect >= 1.0:
            self._last_reconnect = now
            if self.acquisition.reconnect():
                log.info("stream %r is back", self.acquisition.meta.name)

    def _drain_link(self) -> None:
        """Acknowledgements and notes from the feed, then conditions from the other threads."""
        for alert_id, who, notes in self.link.acks():
            alert = self.detector.acknowledge(alert_id, who, at=self.clock())
            if alert is not None:
                self._emit(alert, "acknowledged", who=who, **notes)
        for text, who, fields, ref in self.link.notes():
            self._take_note(text, who, fields, ref)
        for kind, active, message, evidence in self.link.conditions():
            output = self.detector.set_condition(kind, active, self.clock(), message, evidence)
            self._publish_output(output, acquired_at=None)

    def _publish_output(self, output: Output, acquired_at: float | None) -> None:
        self.windows += len(output.windows)
        if output.windows:
            self.publish(
                {
                    "type": "scores",
                    "end": [w.end for w in output.windows],
                    "score": [finite_or_none(w.score) for w in output.windows],
                    "threshold": [finite_or_none(w.threshold) for w in output.windows],
                    "warming_up": output.windows[-1].warming_up,
                    "quality": [round(q, 3) for q in output.windows[-1].quality],
                }
            )
        for alert in output.alerts:
            if alert.id not in self._published_at:
                self._published_at[alert.id] = now = self.clock()
                if acquired_at is not None:
                    alert.latency_s = now - acquired_at
                    self.alert_latency.add(alert.latency_s)
                event = "raised"
            elif alert.state == "cleared":
                event = "cleared"
            else:
                event = "updated"
            self._emit(alert, event)

    def _emit(self, alert: Alert, event: str, **extra: Any) -> None:
        """Journal, publish and hand to the sinks one alert event.

        The record keeps the detector's ``detected_at`` (stream time) and adds
        ``published_at``: this monitor's clock when it first published the alert.
        """
        published_at = self._published_at.setdefault(alert.id, self.clock())
        record = finite_or_none({**alert.to_dict(), "published_at": published_at})
        self.link.keep(record)
        if self.journal is not None:  # only queued: the journal's own thread writes
            self.journal.append(event, record, **extra)
        self.publish({"type": "alert", "event": event, "alert": record})
        for sink in self.sinks:
            sink.alert(event, record)

    def _take_note(self, text: str, who: str, fields: dict[str, str], ref: str | None) -> None:
        """Journal, publish (the sender's `ref` with it) and record one note, stamped now."""
        self._notes_taken += 1
        note = make_note(self._notes_taken, self.clock(), text, who)
        self.link.keep_note(note)
        if self.journal is not None:
            self.journal.note("note", **note, **fields)
        self.publish({"type": "note", "note": note, "ref": ref})
        for sink in self.sinks:
            if isinstance(sink, NoteSink):
                sink.note(note)

    def _publish_status(self, now: float) -> None:
        stats = self.acquisition.stats
        received = stats.samples - self._samples_at_status
        elapsed = max(now - self._last_status, 1e-9)
        self._samples_at_status, self._last_status = stats.samples, now
        p50, p99 = self.latency.percentiles()
        a50, a99 = self.alert_latency.percentiles()
        w50, w99 = self.work.percentiles()
        severities = self.link.active_severities()
        status = {
            "type": "status",
            "now": now,
            "connected": not self.lost,
            "rate": received / elapsed,
            "lag_s": None if stats.last_timestamp is None else now - stats.last_timestamp,
            "samples": stats.samples,
            "samples_dropped": stats.samples_dropped,
            "gaps": stats.gaps,
            "reconnects": stats.reconnects,
            "latency_p50_s": p50,
            "latency_p99_s": p99,
            "alert_latency_p50_s": a50,
            "alert_latency_p99_s": a99,
            "work_p50_s": w50,
            "work_p99_s": w99,
            "skipped_s": self.skipped_s,
            "windows": self.windows,
            "warming_up": self.detector.warming_up,
            "active_alerts": {s: severities.count(s) for s in SEVERITIES},
            **self.link.session.fields(),
        }
        for sink in self.sinks:
            status.update(sink.status())
        if self.journal is not None:
            status.update(self.journal.status())
        self.publish(finite_or_none(status))
        if self.on_status is not None:
            self.on_status(status)


def _split(block: Block, n: int) -> tuple[Block, Block]:
    """The first `n` samples of a block, and the rest."""
    first = Block(block.data[:, :n], block.timestamps[:n], block.first_index, block.acquired_at)
    rest = Block(block.data[:, n:], block.timestamps[n:], block.first_index + n, block.acquired_at)
    return first, rest
