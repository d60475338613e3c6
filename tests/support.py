"""Helpers for tests on real processes, streams and sockets."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def data_folder() -> Path:
    """Real recordings: EEGMON_TEST_DATA, else ../shared/data beside the project."""
    return Path(os.environ.get("EEGMON_TEST_DATA", ROOT.parent / "shared" / "data"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.02
) -> Any:
    """Poll `condition` until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Proc:
    """A started ``eegmon`` subprocess whose output lines are collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.args = args
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eegmon", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, needle: str, timeout: float = 60) -> str:
        def found() -> str | None:
            if self.process.poll() is not None and not self._reader.is_alive():
                raise AssertionError(
                    f"eegmon {' '.join(self.args)} exited {self.process.returncode}:\n"
                    + "\n".join(self.lines[-20:])
                )
            return next((line for line in self.lines if needle in line), None)

        return str(wait_for(found, timeout, f"{needle!r} from eegmon {self.args[0]}"))

    def stop(self, sig: int = signal.SIGINT, timeout: float = 10) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._reader.join(timeout=5)
        return int(self.process.returncode)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)


class FeedProbe:
    """A websockets client of the monitor's feed, reading on a thread of its own."""

    def __init__(self, url: str, **connect_kwargs: Any) -> None:
        from websockets.sync.client import connect

        self.messages: list[dict[str, Any]] = []
        self.ws = connect(url, open_timeout=10, **connect_kwargs).__enter__()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            for text in self.ws:
                self.messages.append(json.loads(text))
        except ConnectionClosed:
            pass

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in list(self.messages) if m["type"] == kind]

    def wait(self, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str) -> dict:
        return wait_for(
            lambda: next((m for m in list(self.messages) if predicate(m)), None), timeout, what
        )

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def close(self) -> None:
        self.ws.close()
        self._reader.join(timeout=5)


SCREENSHOTS = ROOT / "docs" / "screenshots"
ARTIFACTS = ROOT / "tests" / "artifacts"


def save_screenshot(page: Any, name: str) -> None:
    """Into the test artifacts; into the docs too when missing or EEGMON_UPDATE_SCREENSHOTS=1."""
    import shutil

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))
    target = SCREENSHOTS / name
    if os.environ.get("EEGMON_UPDATE_SCREENSHOTS") == "1" or not target.exists():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / name, target)


CHROMIUM = "/usr/bin/chromium"
#: Headless Debian chromium on a closed network: no background connections, no sandbox as root.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Reads a Bokeh model of the page by name.
BOKEH_MODEL = "(name) => Bokeh.documents[0].get_model_by_name(name)"


def wait_for_model(page: Any, name: str, condition: str = "true", timeout_ms: int = 15_000) -> None:
    """Wait until the page's Bokeh document has the model `name` and `condition` (JS of `m`)."""
    page.wait_for_function(
        "() => { if (!window.Bokeh || !Bokeh.documents.length) { return false; }"
        f" const m = ({BOKEH_MODEL})({name!r}); return m !== null && ({condition}); }}",
        timeout=timeout_ms,
    )


@contextmanager
def chromium_page(
    viewport: dict[str, int] | None = None, extra_args: Sequence[str] = ()
) -> Iterator[Any]:
    """A page in headless Debian chromium; fails the test on any JavaScript error it shows."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            page = browser.new_page(viewport=viewport or {"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page
            assert not errors, f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()


def require_chromium() -> None:
    """Skip where chromium is absent, but fail in CI, which installs it."""
    import pytest

    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def replay_into_monitor(
    start: Callable[..., Proc], source: Path, name: str, replay: list[str], monitor: list[str]
) -> tuple[Proc, Proc, float]:
    """``eegmon replay`` a file into ``eegmon monitor``; returns both and the file's t0.

    t0 is the stream time of the file's first sample, read from the player's
    first annotation marker, so file seconds map exactly onto alert times.
    """
    import pylsl

    player = start("replay", str(source), "--name", name, *replay)
    player.wait_line("waiting for an inlet")
    found = pylsl.resolve_byprop("name", f"{name}-markers", timeout=10)
    assert found, f"no markers stream {name}-markers"
    markers = pylsl.StreamInlet(found[0])
    markers.open_stream(timeout=5)
    watcher = start("monitor", "--stream", name, "--feed-port", "0", "--quiet", *monitor)
    watcher.wait_line("feed at ", timeout=30)
    sample, stamp = markers.pull_sample(timeout=30)
    assert sample is not None, "the replay published no annotation"
    return player, watcher, stamp - json.loads(sample[0])["onset"]
