"""A websockets client of one monitor feed, shared by every browser session.

`FeedClient` runs forever in a background thread with its own asyncio event
loop: it connects to the feed, parses each message with
`protocol.feed.decode`, keeps the newest state behind a lock and reconnects
with a capped backoff when the connection drops. Browser sessions never touch
the network: they read `FeedClient.snapshot()` from their periodic callbacks
and send acknowledgements and notes with `FeedClient.ack()` and
`FeedClient.note()`, which hand the message to the client's own loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from protocol import feed as protocol
from protocol.kinds import SEVERITY_RANK
from protocol.redact import redact_url

from .options import feed_access, validate_feed_url
from .pages import RecordedPages
from .ring import TraceHistory, TraceRing
from .stages import NightStages, SleepEpoch
from .trends import NightTrends, TrendSnapshot

log = logging.getLogger(__name__)

#: Seconds without a ``status`` heartbeat after which a connected feed is stale.
STALE_AFTER_S = 3.0
#: Reconnection backoff: first delay, growth factor and cap, in seconds.
BACKOFF_FIRST_S = 0.1
BACKOFF_FACTOR = 2.0
BACKOFF_MAX_S = 2.0
#: Seconds of traces kept: the longest page (60 s) plus a margin for the display filter.
TRACE_WINDOW_S = 70.0
#: Bounds on what a feed can make us keep.
MAX_ACTIVE_ALERTS = 1000
#: Alerts of the night kept (newest state of each), for the history panel.
MAX_NIGHT_ALERTS = 2000
#: Status messages used to estimate the offset from the stream clock to the wall clock.
OFFSET_SAMPLES = 30
MAX_CHANNELS = 1024
MAX_DISPLAY_RATE = 4096.0


@dataclasses.dataclass(frozen=True)
class FeedSnapshot:
    """A consistent copy of one feed's state, safe to use from any thread.

    Times named ``*_at`` are `time.monotonic()` seconds of this process;
    stream times (``trace_times``, alert ``onset``) are on the monitor's clock.
    """

    url: str  #: the feed URL, its token masked (`protocol.redact.redact_url`)
    connected: bool
    since: float  #: monotonic time of the last connect or disconnect
    last_message_at: float | None
    last_status_at: float | None
    stale: bool  #: connected but no ``status`` heartbeat for more than `STALE_AFTER_S`
    error: str | None  #: why the last connection attempt or connection failed
    stream: dict[str, Any]  #: the ``hello`` stream info (name, labels...), patient and session
    labels: tuple[str, ...]
    status: dict[str, Any]  #: the newest ``status`` message
    alerts: tuple[dict[str, Any], ...]  #: active and acknowledged alerts
    history: tuple[dict[str, Any], ...]  #: cleared alerts, newest last
    night: tuple[dict[str, Any], ...]  #: every alert of the night, newest state; () unless asked
    alerts_version: int  #: grows on every alert change
    hellos: int  #: grows on every ``hello``: the stream may have changed, traces start over
    trace_times: np.ndarray | None  #: (n,) or None when traces were not asked for
    trace_data: np.ndarray | None  #: (n_channels, n) µV
    traces_version: int  #: grows on every ``traces`` message
    display_rate: float  #: samples/s of the traces
    traces_received_wall: float | None  #: `time.time()` when the newest traces arrived
    wall_offset: float | None  #: add to a stream time to get `time.time()` seconds
    scores: tuple[dict[str, Any], ...]  #: ``{"end", "score", "threshold"}``, oldest first
    scores_version: int  #: grows on every ``scores`` message
    score_info: dict[str, Any]  #: ``warming_up`` and per-channel ``quality`` of the newest
    messages: int
    protocol_errors: int
    stages: tuple[SleepEpoch, ...] = ()  #: the night's sleep epochs (`dashboard.stages`)
    notes: tuple[dict[str, Any], ...] = ()  #: the night's notes (`at`, `text`, `who`), oldest first
    notes_version: int = 0  #: grows on every note

    @property
    def failing(self) -> dict[str, Any] | None:
        """The monitor's own `monitor_failed` alert while it is not cleared."""
        return next(
            (
                a
                for a in self.alerts
                if a.get("kind") == "monitor_failed" and a.get("state") != "cleared"
            ),
            None,
        )

    @property
    def monitoring(self) -> bool:
        """True when the feed is connected, fresh, the monitor has its stream and works."""
        return (
            self.connected
            and not self.stale
            and self.status.get("connected", True) is not False
            and self.failing is None
        )

    @property
    def name(self) -> str:
        return str(self.stream.get("name") or self.url)

    @property
    def stream_now(self) -> float | None:
        """The newest known time on the stream clock (status ``now`` or newest trace)."""
        candidates = []
        now = self.status.get("now")
        if isinstance(now, int | float) and math.isfinite(now):
            candidates.append(float(now))
        if self.trace_times is not None and self.trace_times.size:
            candidates.append(float(self.trace_times[-1]))
        return max(candidates) if candidates else None


class FeedClient:
    """Connects to one feed forever (in its own thread) and keeps its latest state.

    Parameters
    ----------
    url
        ``ws://host:port`` or ``wss://host:port``, optionally ``?token=...``.
    window_s
        Seconds of traces kept per channel.
    trends
        The night trends kept for this feed (`NightTrends` defaults when None).
    history
        Cleared alerts kept.
    max_scores
        Score entries kept.
    stale_after_s
        Seconds without a ``status`` heartbeat after which the feed is stale.
    clock
        Monotonic clock, replaceable in tests.
    """

    def __init__(
        self,
        url: str,
        window_s: float = TRACE_WINDOW_S,
        history: int = 200,
        max_scores: int = 600,
        stale_after_s: float = STALE_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
        trends: NightTrends | None = None,
    ) -> None:
        self.url = validate_feed_url(url)
        self.window_s = window_s
        self.history = history
        self.max_scores = max_scores
        self.stale_after_s = stale_after_s
        self.clock = clock
        self.display_url = redact_url(url)

        self._lock = threading.Lock()
        self._connected = False
        self._since = clock()
        self._last_message_at: float | None = None
        self._last_status_at: float | None = None
        self._error: str | None = None
        self._stream: dict[str, Any] = {}
        self._labels: tuple[str, ...] = ()
        self._status: dict[str, Any] = {}
        self._alerts: dict[str, dict[str, Any]] = {}
        self._history: collections.deque[dict[str, Any]] = collections.deque(maxlen=history)
        self._night: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        self._alerts_version = 0
        self._hellos = 0
        self._ring = TraceRing(window_s)
        self._night_traces = TraceHistory()  #: for looking back (`night_traces`)
        self._traces_version = 0
        self._display_rate = 0.0
        self._traces_received_wall: float | None = None
        self._offsets: collections.deque[float] = collections.deque(maxlen=OFFSET_SAMPLES)
        self._scores: collections.deque[dict[str, Any]] = collections.deque(maxlen=max_scores)
        self._scores_version = 0
        self.trends = trends if trends is not None else NightTrends()
        self._scores_meta: dict[str, Any] = {}
        self._messages = 0
        self._protocol_errors = 0
        self._listeners: list[Callable[[str], None]] = []
        self._stages = NightStages()
        self._notes: dict[str, dict[str, Any]] = {}
        self._notes_version = 0
        self.pages = RecordedPages(self._send)  #: looking back past what is kept

        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._started = threading.Event()

    def __repr__(self) -> str:
        return f"FeedClient({self.display_url!r})"

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> FeedClient:
        """Start the background thread (idempotent); returns self."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(
            target=self._run, name=f"feed {self.display_url}", daemon=True
        )
        self._thread.start()
        self._started.wait(5.0)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close the connection and end the thread."""
        thread, loop, task = self._thread, self._loop, self._task
        if thread is None:
            return
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout)
        if thread.is_alive():
            log.warning("feed client %s did not stop within %.1f s", self.display_url, timeout)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(self._connect_forever())
            self._started.set()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._task)
        finally:
            self._started.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._set_disconnected("stopped")

    async def _connect_forever(self) -> None:
        delay = BACKOFF_FIRST_S
        while True:
            try:
                async with connect(
                    self.url,
                    additional_headers=feed_access().headers(),
                    ssl=feed_access().tls(self.url),
                    max_size=protocol.MAX_SERVER_MESSAGE,
                    open_timeout=3.0,
                    ping_interval=5.0,
                    ping_timeout=5.0,
                    close_timeout=1.0,
                    proxy=None,
                ) as ws:
                    self._ws = ws
                    self._set_connected()
                    delay = BACKOFF_FIRST_S
                    async for raw in ws:
                        self._handle(raw)
                    reason = f"closed by the feed ({ws.close_code})"
            except asyncio.CancelledError:
                raise
            except (OSError, WebSocketException, TimeoutError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # keep monitoring whatever a feed does
                log.exception("feed client %s failed", self.display_url)
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                self._ws = None
            self._set_disconnected(reason)
            await asyncio.sleep(delay)
            delay = min(BACKOFF_MAX_S, delay * BACKOFF_FACTOR)

    # -- state updates (feed thread) ---------------------------------------------------

    def _set_connected(self) -> None:
        with self._lock:
            self._connected = True
            self._since = self.clock()
            self._error = None
            self._last_status_at = None
        log.info("feed %s connected", self.display_url)

    def _set_disconnected(self, reason: str) -> None:
        with self._lock:
            was = self._connected
            if was or self._error is None:
                self._since = self.clock()
            self._connected = False
            self._error = reason
        if was:
            log.warning("feed %s disconnected: %s", self.display_url, reason)

    def _handle(self, raw: str | bytes) -> None:
        now = self.clock()
        try:
            message = protocol.decode(raw)
            handler = getattr(self, f"_on_{message['type']}")
            with self._lock:
                self._last_message_at = now
                self._messages += 1
                handler(message, now)
                listeners = list(self._listeners)
        except (protocol.ProtocolError, ValueError, TypeError, KeyError) as exc:
            with self._lock:
                self._protocol_errors += 1
                errors = self._protocol_errors
            if errors <= 10 or errors % 1000 == 0:
                log.warning(
                    "feed %s: ignored a message (%d so far): %s", self.display_url, errors, exc
                )
            return
        for listener in listeners:
            try:
                listener(message["type"])
            except Exception:  # one broken page must not stop the feed
                log.exception("feed %s: a listener failed", self.display_url)

    def add_listener(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(message_type)`` on the feed's thread after each message is stored.

        For pages that hand the work to their own thread at once (Bokeh's
        ``add_next_tick_callback``); a listener must return quickly.
        """
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[str], None]) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _on_hello(self, message: dict[str, Any], now: float) -> None:
        stream = message.get("stream") or {}
        if not isinstance(stream, dict):
            raise protocol.ProtocolError("hello 'stream' must be an object")
        labels = stream.get("labels") or []
        if not isinstance(labels, list) or len(labels) > MAX_CHANNELS:
            raise protocol.ProtocolError("hello 'labels' must be a list of channel labels")
        known = (self._stream.get("source_id"), self._stream.get("session"), len(self._labels))
        if (stream.get("source_id"), message.get("session"), len(labels)) != known:
            # Another device, patient or monitor run (session): nothing of the previous is kept.
            self.trends.reset()
            self._night.clear()
            self._history.clear()
            self._scores.clear()
            self._stages.clear()
            self._notes.clear()
            self._night_traces.clear()
            self.pages.clear()
        self._offsets.clear()  # perhaps another monitor host, another clock
        self._stream = {**stream, **{key: message.get(key) for key in ("patient", "session")}}
        self._labels = tuple(str(label) for label in labels)
        self._ring.clear()
        self._hellos += 1
        self._traces_version += 1
        self._alerts = {}
        for alert in message.get("alerts") or []:
            self._put_alert(alert)
        self._missed_clearings()
        self._alerts_version += 1
        for note in message.get("notes") or []:
            self._put_note(note)
        self._notes_version += 1

    def _missed_clearings(self) -> None:
        """Alerts of the night a ``hello`` no longer lists cleared while we were away.

        A ``hello`` lists every alert not cleared, and states only move forward:
        those missing are cleared (when exactly is unknown).
        """
        for alert_id, alert in list(self._night.items()):
            if alert.get("state") != "cleared" and alert_id not in self._alerts:
                self._night[alert_id] = cleared = {**alert, "state": "cleared"}
                self._history.append(dict(cleared))

    def _on_traces(self, message: dict[str, Any], now: float) -> None:
        times = np.asarray(message["timestamps"], dtype=np.float64)
        data = np.asarray(message["data"], dtype=np.float32)  # None (JSON null) -> NaN
        rate = float(message.get("rate") or self._stream.get("rate") or 0.0)
        if times.ndim != 1 or data.ndim != 2 or data.shape[1] != times.shape[0]:
            raise protocol.ProtocolError(
                f"traces shape mismatch: timestamps {times.shape}, data {data.shape}"
            )
        if not 0 < rate <= MAX_DISPLAY_RATE or data.shape[0] > MAX_CHANNELS:
            raise protocol.ProtocolError(f"traces rate {rate!r} or channel count out of range")
        self._ring.append(times, data, rate)
        self._night_traces.append(times, data)
        self.trends.add_samples(times, data, rate)
        self._display_rate = rate
        self._traces_version += 1
        wall = time.time()
        self._traces_received_wall = wall
        if times.size and not self._offsets:
            self._offsets.append(wall - float(times[-1]))

    def _on_scores(self, message: dict[str, Any], now: float) -> None:
        ends = message.get("end") or []
        scores = message.get("score") or []
        thresholds = message.get("threshold") or [None] * len(ends)
        for end, score, threshold in zip(ends, scores, thresholds, strict=False):
            self._scores.append({"end": end, "score": score, "threshold": threshold})
        quality = message.get("quality")
        if isinstance(quality, list) and ends:
            self.trends.add_quality(ends[-1], [q for q in quality if isinstance(q, int | float)])
        self._scores_meta = {
            "warming_up": bool(message.get("warming_up", False)),
            "quality": quality,
        }
        self._scores_version += 1

    def _on_alert(self, message: dict[str, Any], now: float) -> None:
        alert = message.get("alert")
        if not isinstance(alert, dict):
            raise protocol.ProtocolError("alert message needs an 'alert' object")
        self._put_alert(alert)
        self._alerts_version += 1

    def _put_alert(self, alert: dict[str, Any]) -> None:
        alert_id = alert.get("id")
        if not isinstance(alert_id, str) or not alert_id:
            raise protocol.ProtocolError(f"alert without a string 'id': {alert_id!r}")
        if alert_id not in self._night:
            self.trends.add_alert(str(alert.get("severity")))
            if len(self._night) >= MAX_NIGHT_ALERTS:
                self._night.popitem(last=False)
        self._night[alert_id] = dict(alert)
        if alert.get("state") == "cleared":
            self._alerts.pop(alert_id, None)
            self._history.append(dict(alert))
            return
        if alert_id not in self._alerts and len(self._alerts) >= MAX_ACTIVE_ALERTS:
            # Keep the most severe, newest alerts; drop the least important one.
            victim = max(
                self._alerts.values(),
                key=lambda a: (SEVERITY_RANK.get(str(a.get("severity")), 3), -_onset(a)),
            )
            self._alerts.pop(victim["id"], None)
        self._alerts[alert_id] = dict(alert)

    def _on_status(self, message: dict[str, Any], now: float) -> None:
        self._status = dict(message)
        self._last_status_at = now
        stream_now = message.get("now")
        if isinstance(stream_now, int | float) and math.isfinite(stream_now):
            # Transit only delays a status, so the smallest recent difference is the best.
            self._offsets.append(time.time() - float(stream_now))

    def _on_stage(self, message: dict[str, Any], now: float) -> None:
        self._stages.put(message)

    def _on_note(self, message: dict[str, Any], now: float) -> None:
        self._put_note(message.get("note"))
        self._notes_version += 1

    def _put_note(self, note: Any) -> None:
        if not isinstance(note, dict) or not isinstance(note.get("id"), str):
            raise protocol.ProtocolError(f"a note needs a string 'id', got {note!r}")
        if not isinstance(note.get("at"), int | float) or not isinstance(note.get("text"), str):
            raise protocol.ProtocolError("a note needs a number 'at' and a string 'text'")
        if note["id"] not in self._notes and len(self._notes) >= protocol.MAX_RUN_NOTES:
            self._notes.pop(next(iter(self._notes)))
        self._notes[note["id"]] = dict(note)

    def _on_page(self, message: dict[str, Any], now: float) -> None:
        self.pages.put(message)

    def _on_error(self, message: dict[str, Any], now: float) -> None:
        log.warning("feed %s refused a message: %s", self.display_url, message.get("message"))
        self.pages.refused(message)

    # -- reading (any thread) ----------------------------------------------------------

    def snapshot(
        self,
        traces: bool = True,
        max_channels: int | None = None,
        after: float | None = None,
        night: bool = False,
    ) -> FeedSnapshot:
        """A consistent copy of the state.

        Traces are limited to the first `max_channels` and, with `after`, to the
        samples newer than that stream time; `night` adds the night's alerts.
        """
        now = self.clock()
        with self._lock:
            heartbeat = self._last_status_at if self._last_status_at is not None else self._since
            stale = self._connected and now - heartbeat > self.stale_after_s
            times = data = None
            if traces:
                times, data = self._ring.read(max_channels, after)
            return FeedSnapshot(
                url=self.display_url,
                connected=self._connected,
                since=self._since,
                last_message_at=self._last_message_at,
                last_status_at=self._last_status_at,
                stale=stale,
                error=self._error,
                stream=dict(self._stream),
                labels=self._labels,
                status=dict(self._status),
                alerts=tuple(dict(a) for a in self._alerts.values()),
                history=tuple(self._history),
                night=tuple(dict(a) for a in self._night.values()) if night else (),
                alerts_version=self._alerts_version,
                hellos=self._hellos,
                trace_times=times,
                trace_data=data,
                traces_version=self._traces_version,
                display_rate=self._display_rate,
                traces_received_wall=self._traces_received_wall,
                wall_offset=min(self._offsets) if self._offsets else None,
                scores=tuple(self._scores),
                scores_version=self._scores_version,
                score_info=dict(self._scores_meta),
                messages=self._messages,
                protocol_errors=self._protocol_errors,
                stages=self._stages.epochs(),
                notes=tuple(sorted(self._notes.values(), key=lambda n: float(n["at"]))),
                notes_version=self._notes_version,
            )

    def night_traces(
        self, start: float, end: float, max_channels: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, tuple[float, float] | None]:
        """The night's traces from `start` to `end` (stream times), and the span kept."""
        with self._lock:
            times, data = self._night_traces.read(start, end, max_channels)
            return times, data, self._night_traces.span()

    def trend_snapshot(self, channel: int = 0) -> TrendSnapshot:
        """The night trends, with the spectra of `channel`."""
        with self._lock:
            return self.trends.snapshot(channel)

    def ack(self, alert_id: str, who: str = "dashboard") -> bool:
        """Send an ``ack`` for `alert_id`; False when the feed is not connected.

        Returns once the message is handed to the feed thread; delivery is
        confirmed by the feed's next ``alert`` message for that id.
        """
        text = protocol.encode({"type": "ack", "id": alert_id, "who": who})
        if len(text.encode()) > protocol.MAX_CLIENT_MESSAGE:
            raise ValueError(f"ack too long for the feed: id {alert_id!r}, who {who!r}")
        return self._send(text, f"ack {alert_id}")

    def note(self, text: str, who: str = "dashboard") -> bool:
        """Send a ``note``; False when the feed is not connected.

        ValueError (`protocol.ProtocolError`) names a text the feed would refuse;
        the note is taken once the feed's ``note`` message for it arrives.
        """
        message = {"type": "note", "text": protocol.note_text(text), "who": who}
        return self._send(protocol.encode(message), "note")

    def _send(self, text: str, what: str) -> bool:
        """Hand `text` to the feed's thread; False when the feed is not connected."""
        loop, ws = self._loop, self._ws
        if loop is None or ws is None or loop.is_closed():
            return False

        async def send() -> None:
            try:
                await ws.send(text)
            except WebSocketException as exc:
                log.warning("%s not sent to %s: %s", what, self.display_url, exc)

        try:
            asyncio.run_coroutine_threadsafe(send(), loop)
        except RuntimeError:  # loop closed meanwhile
            return False
        return True


def _onset(alert: dict[str, Any]) -> float:
    onset = alert.get("onset")
    return float(onset) if isinstance(onset, int | float) else -math.inf
