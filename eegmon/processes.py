"""`eegmon demo`: the simulator, the monitor and the dashboard as child processes.

Each part runs as its own ``eegmon`` process, exactly as an operator would
start it, so the demo exercises the real command line. Children get their own
session, so Ctrl-C reaches the demo alone and it stops them in order:
dashboard, monitor, simulator. They start together, so the URL comes as
soon as the slowest is up.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

#: Seconds each part may take to start (the monitor's to find the stream included).
STARTUP_S = 60


class Child:
    """A child ``eegmon`` process whose output is echoed with a prefix."""

    def __init__(self, label: str, args: list[str], say: Callable[[str], None]) -> None:
        self.label = label
        self.lines: list[str] = []
        self._say = say
        self._seen = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eegmon", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            line = line.rstrip("\n")
            with self._seen:
                self.lines.append(line)
                self._seen.notify_all()
            if line.strip():  # e.g. click's newline when stopped while starting
                self._say(f"[{self.label}] {line}")
        with self._seen:
            self._seen.notify_all()

    def wait_for(self, needle: str, timeout: float, stop: threading.Event) -> str | None:
        """The first output line containing `needle`; None if the child died or we stopped."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while not stop.is_set():
                found = next((line for line in self.lines if needle in line), None)
                if found is not None:
                    return found
                if self.process.poll() is not None and not self._reader.is_alive():
                    return None
                if time.monotonic() > deadline:
                    return None
                self._seen.wait(0.2)
        return None

    def interrupt(self) -> None:
        """Ask the child to stop (Ctrl-C), without waiting: `stop` waits."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)


class Demo:
    def __init__(
        self, port: int, feed_port: int, scenario: str, alerts_path: Path | None = None
    ) -> None:
        self.port, self.feed_port = port, feed_port
        self.scenario = scenario
        self.alerts_path = alerts_path
        self.name = f"eegmon-demo-{os.getpid()}"
        self.children: list[Child] = []

    def run(
        self,
        stop: threading.Event,
        *,
        say: Callable[[str], None],
        fail: Callable[[str], NoReturn],
    ) -> None:
        try:
            url = self._start(stop, say, fail)
            if url is None:
                return
            say(f"eegmon demo: open {url} (Ctrl-C stops everything)")
            while not stop.wait(0.5):
                dead = next((c for c in self.children if c.process.poll() is not None), None)
                if dead is not None:
                    fail(f"the {dead.label} stopped unexpectedly (exit {dead.process.returncode})")
        finally:
            for child in reversed(self.children):
                child.stop()

    def _start(
        self, stop: threading.Event, say: Callable[[str], None], fail: Callable[[str], NoReturn]
    ) -> str | None:
        """Start the three parts at once, then wait until each is up; the dashboard's URL.

        They need not wait for each other: the monitor looks for the stream
        until it appears, and the dashboard connects to the feed as soon as
        it is served.
        """
        feed_port = self.feed_port or free_port()
        parts = [
            (
                "simulator",
                ["simulate", "--name", self.name, "--scenario", self.scenario],
                "publishing",
            ),
            ("monitor", self._monitor_args(feed_port), "feed at "),
            (
                "dashboard",
                ["dashboard", "--feed", f"ws://127.0.0.1:{feed_port}", "--port", str(self.port)],
                "dashboard at ",
            ),
        ]
        for label, args, _ in parts:
            self.children.append(Child(label, args, say))
        line = ""
        for child, (label, _, needle) in zip(self.children, parts, strict=True):
            found = child.wait_for(needle, timeout=STARTUP_S, stop=stop)
            if stop.is_set():
                return None
            if found is None:
                last = child.lines[-1] if child.lines else "no output"
                fail(f"the {label} did not start: {last}")
            line = found
        return line.split("dashboard at ")[1].strip()

    def _monitor_args(self, feed_port: int) -> list[str]:
        args = ["monitor", "--stream", self.name, "--feed-port", str(feed_port)]
        args += ["--resolve-timeout", str(STARTUP_S)]
        if self.alerts_path is not None:
            args += ["--alerts", str(self.alerts_path)]
        return args


def free_port() -> int:
    """A loopback port free now, for the feed: the dashboard must know it before it is bound."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
