"""A simulated monitor feed: the feed protocol over real websockets, without a monitor.

`SimulatedFeed` serves what a monitor's feed serves (`protocol.feed`): a
``hello``, then ``traces``, ``scores`` and ``status`` every `period`, and an
``alert`` message for each alert published with `SimulatedFeed.send_alert`
and a ``stage`` message for each sleep epoch sent with `SimulatedFeed.send_stage`.
Dashboards, their tests and their benchmarks connect to it as to a monitor.
It only publishes: an ``ack`` it receives is recorded and acknowledges the
alert, as the monitor would.

Its stream clock runs `speed` times faster than the wall clock, from the
moment the feed is created, so a night of trends fills in minutes, and the
clock keeps running across `stop` / `start` on the same port, like a
monitor's LSL clock across a monitor restart.

Examples
--------
>>> feed = SimulatedFeed(labels=["C3", "C4"]).start()
>>> feed.url.startswith("ws://127.0.0.1:")
True
>>> alert = feed.send_alert(kind="flatline", channels=["C3"])
>>> alert["state"], alert["severity"]
('active', 'medium')
>>> feed.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from protocol import feed as protocol
from protocol.kinds import KINDS, SEVERITIES

#: The channels of a feed created without labels.
LABELS = ("Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T3", "C3", "Cz")
#: Samples per second of the ``hello``'s stream (the traces are at the feed's `rate`).
STREAM_RATE = 256.0


def simulated_signal(times: np.ndarray, n_channels: int) -> np.ndarray:
    """µV of each channel at `times` (stream seconds), rounded to 0.01 µV.

    Each channel is a 40 µV sine of its own frequency (2 Hz, 3 Hz, ...); the
    first has a 200 µV step every fourth second, so a page shows at once
    whether traces move; every other ten minutes all carry a 10 Hz alpha
    rhythm, so night trends have something to show.

    >>> simulated_signal(np.array([0.0, 0.125, 1.125]), 2).tolist()  # 2 Hz + step, 3 Hz
    [[200.0, 240.0, 40.0], [0.0, 28.28, 28.28]]
    """
    channel = np.arange(n_channels)[:, None]
    data = 40.0 * np.sin(2 * np.pi * (2 + channel) * times)
    data[0] += np.where(np.floor(times) % 4 == 0, 200.0, 0.0)
    data += np.where((times // 600) % 2 == 1, 30.0 * np.sin(2 * np.pi * 10.0 * times), 0.0)
    rounded: np.ndarray = np.round(data, 2) + 0.0  # + 0.0 turns -0.0 into 0.0
    return rounded


class SimulatedFeed:
    """A monitor's feed on a loopback port, publishing a simulated stream.

    Parameters
    ----------
    labels
        Channel labels (`LABELS` when None).
    rate
        Samples per second of the ``traces`` (the monitor's display rate).
    period
        Wall seconds between two rounds of ``traces``, ``scores`` and ``status``.
    name
        The stream's name (its ``source_id`` is derived from it).
    speed
        Stream seconds per wall second.
    score_step_s
        Stream seconds between two scores, like the monitor's window step;
        None sends one score per period.

    Attributes
    ----------
    heartbeat
        False keeps traces and scores coming but no ``status``: a stale feed.
    alerts
        Alerts not cleared, by id, as the ``hello`` of a new connection lists them.
    acks
        ``(alert_id, who)`` of every ``ack`` received.
    connections
        Connections accepted so far.
    patient, session
        The monitor run each ``hello`` announces; a new session is a new night
        for a dashboard.
    """

    def __init__(
        self,
        labels: Sequence[str] | None = None,
        rate: float = 128.0,
        period: float = 0.2,
        name: str = "Simulated EEG",
        speed: float = 1.0,
        score_step_s: float | None = None,
    ) -> None:
        self.labels = list(labels if labels is not None else LABELS)
        self.rate = rate
        self.period = period
        self.name = name
        self.speed = speed
        self.score_step_s = score_step_s
        self.port = 0
        self.t0 = time.monotonic()
        self.heartbeat = True
        self.alerts: dict[str, dict[str, Any]] = {}
        self.acks: list[tuple[str, str]] = []
        self.connections = 0
        self._notes = 0
        self.patient: str | None = None
        self.session = "simulated-1"
        self._ids = itertools.count(1)
        self._sends: set[asyncio.Future[None]] = set()
        self._acked = threading.Condition()
        self._clients: set[ServerConnection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def now(self) -> float:
        """The stream clock, in seconds."""
        return (time.monotonic() - self.t0) * self.speed

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> SimulatedFeed:
        """Serve on `port` (a free one when 0) in a thread of its own; returns self."""
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, errors), name=f"simulated feed {self.name}", daemon=True
        )
        self._thread.start()
        ready.wait(5)
        if errors:
            raise errors[0]
        return self

    def _run(self, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(self._open())
            self.port = self._server.sockets[0].getsockname()[1]
        except BaseException as exc:  # reported to start()
            errors.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _open(self) -> Server:
        return await serve(
            self._handle,
            "127.0.0.1",
            self.port,
            max_size=protocol.MAX_CLIENT_MESSAGE,
            compression=None,  # as the monitor's feed
        )

    def stop(self) -> None:
        """Close every connection and the server (idempotent); `start` serves again."""
        loop, server, thread = self._loop, self._server, self._thread
        if loop is None or thread is None:
            return

        async def close() -> None:
            if server is not None:
                server.close(close_connections=True)
                await server.wait_closed()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(RuntimeError):  # the loop is already closed
            asyncio.run_coroutine_threadsafe(close(), loop).result(5)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        self._loop = self._server = self._thread = None
        self._clients.clear()

    # -- what the feed sends -----------------------------------------------------------

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "version": protocol.PROTOCOL_VERSION,
            "stream": {
                "name": self.name,
                "source_id": f"simulated-{self.name}",
                "stream_type": "EEG",
                "rate": STREAM_RATE,
                "labels": self.labels,
            },
            "alerts": list(self.alerts.values()),
            "config": {},
            "patient": self.patient,
            "session": self.session,
            "started": None,
        }

    def _traces(self, start: float, n: int) -> dict[str, Any]:
        times = start + np.arange(n) / self.rate
        data = simulated_signal(times, len(self.labels))
        return {
            "type": "traces",
            "timestamps": times.tolist(),
            "rate": self.rate,
            "data": data.tolist(),
        }

    def _scores(self, start: float, now: float) -> dict[str, Any] | None:
        if self.score_step_s is None:
            ends = [now]
        else:
            step = self.score_step_s
            first, last = math.floor(start / step) + 1, math.floor(now / step) + 1
            ends = (np.arange(first, last) * step).tolist()
        if not ends:
            return None
        return {
            "type": "scores",
            "end": ends,
            "score": [0.1] * len(ends),
            "threshold": [0.9] * len(ends),
            "warming_up": False,
            "quality": [1.0] * len(self.labels),
        }

    def _status(self, now: float) -> dict[str, Any]:
        active = [alert.get("severity") for alert in self.alerts.values()]
        return {
            "type": "status",
            "now": now,
            "connected": True,
            "rate": STREAM_RATE,
            "lag_s": 0.01,
            "buffer_fill": 0.0,
            "samples_dropped": 0,
            "latency_p50_s": 0.005,
            "latency_p99_s": 0.02,
            "windows": 10,
            "active_alerts": {severity: active.count(severity) for severity in SEVERITIES},
            "warming_up": False,
        }

    async def _handle(self, ws: ServerConnection) -> None:
        self._clients.add(ws)
        self.connections += 1
        receiver = asyncio.create_task(self._receive(ws))
        try:
            await ws.send(protocol.encode(self._hello()))
            sent_until = scored_until = self.now()
            while True:
                await asyncio.sleep(self.period)
                now = self.now()
                n = int((now - sent_until) * self.rate)
                if n > 0:
                    await ws.send(protocol.encode(self._traces(sent_until, n)))
                    sent_until += n / self.rate
                scores = self._scores(scored_until, now)
                if scores is not None:
                    await ws.send(protocol.encode(scores))
                    scored_until = now
                if self.heartbeat:
                    await ws.send(protocol.encode(self._status(now)))
        except ConnectionClosed:
            pass
        finally:
            receiver.cancel()
            self._clients.discard(ws)

    async def _receive(self, ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                try:
                    alert_id, who = protocol.parse_ack(raw)
                except protocol.ProtocolError as exc:
                    await ws.send(protocol.encode({"type": "error", "message": str(exc)}))
                    continue
                with self._acked:
                    self.acks.append((alert_id, who))
                    self._acked.notify_all()
                alert = self.alerts.get(alert_id)
                if alert is not None and alert["state"] == "active":
                    self._publish({**alert, "state": "acknowledged", "acknowledged_by": who})

    # -- alerts (any thread) -----------------------------------------------------------

    def _publish(self, alert: dict[str, Any]) -> None:
        if alert["state"] == "cleared":
            self.alerts.pop(alert["id"], None)
        else:
            self.alerts[alert["id"]] = alert
        self._broadcast({"type": "alert", "alert": alert})

    def _broadcast(self, message: dict[str, Any]) -> None:
        text = protocol.encode(message)
        for ws in list(self._clients):
            task = asyncio.ensure_future(self._send(ws, text))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)

    @staticmethod
    async def _send(ws: ServerConnection, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(text)

    def send_alert(self, **fields: Any) -> dict[str, Any]:
        """Publish an alert (the Alert object of docs/design.md) to every client; returns it.

        A new ``flatline`` on F3 unless `fields` say otherwise; the same
        ``id`` with another ``state`` publishes that alert's change.
        """
        now = self.now()
        kind = str(fields.get("kind", "flatline"))
        alert: dict[str, Any] = {
            "id": f"alert-{next(self._ids)}",
            "stream": self.name,
            "source_id": f"simulated-{self.name}",
            "kind": kind,
            "severity": KINDS[kind].severity if kind in KINDS else "medium",
            "channels": ["F3"],
            "onset": now - 2.0,
            "detected_at": now,
            "latency_s": 0.4,
            "score": 1.0,
            "message": "Channel F3 carries no signal.",
            "state": "active",
            "evidence": {"variance": 0.0},
        }
        alert.update(fields)
        if self._loop is None:
            raise RuntimeError("the simulated feed is not started")
        self._loop.call_soon_threadsafe(self._publish, alert)
        return alert

    def send_stage(self, index: int, stage: str, final: bool = True) -> dict[str, Any]:
        """Publish the sleep stage of 30 s epoch `index` (from the stream clock's 0); returns it.

        Sent again with another stage or `final`, it revises the epoch, as the monitor does.
        """
        message = {
            "type": "stage", "index": index, "onset": 30.0 * index, "duration": 30.0,
            "stage": stage, "confidence": 0.8, "final": final,
        }  # fmt: skip
        if self._loop is None:
            raise RuntimeError("the simulated feed is not started")
        self._loop.call_soon_threadsafe(self._broadcast, message)
        return message

    def send_note(self, text: str, who: str, at: float | None = None) -> dict[str, Any]:
        """Publish a technician's note as the monitor does once journaled (`at`: now)."""
        self._notes += 1
        at = self.now() if at is None else at
        wall = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        note = {"id": f"note-{self._notes}", "at": at, "at_utc": wall, "text": text, "who": who}
        if self._loop is None:
            raise RuntimeError("the simulated feed is not started")
        self._loop.call_soon_threadsafe(
            self._broadcast, {"type": "note", "note": note, "ref": None}
        )
        return note

    def wait_for_ack(self, alert_id: str, timeout: float = 5.0) -> tuple[str, str]:
        """The first ``ack`` received for `alert_id`; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._acked:
            while True:
                for ack in self.acks:
                    if ack[0] == alert_id:
                        return ack
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no ack for {alert_id!r} within {timeout} s: {self.acks!r}")
                self._acked.wait(left)
