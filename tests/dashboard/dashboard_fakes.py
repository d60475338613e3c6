"""Helpers of the dashboard tests: a real feed server speaking the protocol on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from websockets.asyncio.server import Server, ServerConnection, serve  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from protocol import feed as protocol  # noqa: E402

LABELS = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T3", "C3", "Cz"]


class FakeFeed:
    """A monitor's feed: ``hello``, then ``traces``, ``scores`` and ``status`` every `period`.

    Stream time is ``time.monotonic()`` minus the feed's creation time, times
    `speed` (an accelerated night for the trends), so it keeps running across
    `stop` / `start` like a monitor's LSL clock. Received ``ack`` messages are
    recorded in `acks`.
    """

    def __init__(
        self,
        labels: list[str] | None = None,
        rate: float = 128.0,
        period: float = 0.2,
        name: str = "Bed 7 EEG",
        speed: float = 1.0,
    ) -> None:
        self.labels = list(labels or LABELS)
        self.rate = rate
        self.period = period
        self.name = name
        self.speed = speed
        self.port = 0
        self.t0 = time.monotonic()
        self.heartbeat = True  # False: keep sending traces but no status
        self.alerts: dict[str, dict[str, Any]] = {}
        self.acks: list[tuple[str, str]] = []
        self.connections = 0
        self._ids = itertools.count(1)
        self._sends: set[asyncio.Future[None]] = set()
        self._cond = threading.Condition()
        self._clients: set[ServerConnection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def now(self) -> float:
        return (time.monotonic() - self.t0) * self.speed

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeFeed:
        ready = threading.Event()
        errors: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:

                async def open_server() -> Server:
                    return await serve(
                        self._handler, "127.0.0.1", self.port, max_size=protocol.MAX_CLIENT_MESSAGE
                    )

                self._server = loop.run_until_complete(open_server())
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:
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

        self._thread = threading.Thread(target=main, name="fake feed", daemon=True)
        self._thread.start()
        ready.wait(5)
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
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

        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(close(), loop).result(5)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        self._loop = self._server = self._thread = None
        self._clients.clear()

    # -- protocol ----------------------------------------------------------------------

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "version": protocol.PROTOCOL_VERSION,
            "stream": {
                "name": self.name,
                "source_id": f"fake-{self.name}",
                "stream_type": "EEG",
                "rate": 256.0,
                "labels": self.labels,
            },
            "alerts": list(self.alerts.values()),
            "config": {},
        }

    async def _handler(self, ws: ServerConnection) -> None:
        self._clients.add(ws)
        self.connections += 1
        receiver = asyncio.create_task(self._receive(ws))
        try:
            await ws.send(protocol.encode(self._hello()))
            sent_until = self.now()
            while True:
                await asyncio.sleep(self.period)
                now = self.now()
                n = int((now - sent_until) * self.rate)
                if n > 0:
                    times = [sent_until + i / self.rate for i in range(n)]
                    sent_until += n / self.rate
                    data = [
                        [
                            round(40 * math.sin(2 * math.pi * (2 + c) * t), 2)
                            + (200 if c == 0 and int(t) % 4 == 0 else 0)
                            + (30 * math.sin(2 * math.pi * 10 * t) if (t // 600) % 2 else 0)
                            for t in times
                        ]
                        for c in range(len(self.labels))
                    ]
                    await ws.send(
                        protocol.encode(
                            {"type": "traces", "timestamps": times, "rate": self.rate, "data": data}
                        )
                    )
                await ws.send(
                    protocol.encode(
                        {
                            "type": "scores",
                            "end": [now],
                            "score": [0.1],
                            "threshold": [0.9],
                            "warming_up": False,
                            "quality": [1.0] * len(self.labels),
                        }
                    )
                )
                if self.heartbeat:
                    await ws.send(protocol.encode(self._status(now)))
        except ConnectionClosed:
            pass
        finally:
            receiver.cancel()
            self._clients.discard(ws)

    def _status(self, now: float) -> dict[str, Any]:
        return {
            "type": "status",
            "now": now,
            "connected": True,
            "rate": 256.0,
            "lag_s": 0.01,
            "buffer_fill": 0.0,
            "samples_dropped": 0,
            "latency_p50_s": 0.005,
            "latency_p99_s": 0.02,
            "windows": 10,
            "active_alerts": len(self.alerts),
            "warming_up": False,
        }

    async def _receive(self, ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                try:
                    alert_id, who = protocol.parse_ack(raw)
                except protocol.ProtocolError as exc:
                    await ws.send(protocol.encode({"type": "error", "message": str(exc)}))
                    continue
                with self._cond:
                    self.acks.append((alert_id, who))
                    self._cond.notify_all()
                alert = self.alerts.get(alert_id)
                if alert is not None and alert["state"] == "active":
                    self._publish({**alert, "state": "acknowledged"})

    # -- test controls (any thread) ----------------------------------------------------

    def _publish(self, alert: dict[str, Any]) -> None:
        if alert["state"] == "cleared":
            self.alerts.pop(alert["id"], None)
        else:
            self.alerts[alert["id"]] = alert
        text = protocol.encode({"type": "alert", "alert": alert})
        for ws in list(self._clients):
            task = asyncio.ensure_future(self._send(ws, text))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)

    @staticmethod
    async def _send(ws: ServerConnection, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(text)

    def send_alert(self, **fields: Any) -> dict[str, Any]:
        """Publish an alert (design.md's Alert object) to every connected client."""
        now = self.now()
        alert = {
            "id": f"alert-{next(self._ids)}",
            "stream": self.name,
            "source_id": f"fake-{self.name}",
            "kind": "flatline",
            "severity": "medium",
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
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._publish, alert)
        return alert

    def wait_for_ack(self, alert_id: str, timeout: float = 5.0) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ack in self.acks:
                    if ack[0] == alert_id:
                        return ack
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no ack for {alert_id!r}; got {self.acks!r}")
                self._cond.wait(left)


def wait_until(predicate: Any, timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Poll `predicate` until it returns a truthy value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: last value {value!r}")
        time.sleep(interval)
