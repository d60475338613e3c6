"""Composition: builds the monitor's parts from settings and runs them."""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from detector import Block, Detector, StreamMeta
from eegmon import config as config_file
from streamer.acquisition import Acquisition, StreamRefused
from streamer.alert_outlet import AlertOutlet
from streamer.feed import Feed, check_exposure
from streamer.journal import AlertJournal
from streamer.lsl import Selector, StreamNotFound, resolve
from streamer.monitor import Monitor, Sink
from streamer.notify import Notifier, check_urls
from streamer.recorder import DEFAULT_RANGE_UV, Recorder, parse_duration

log = logging.getLogger(__name__)

DEFAULTS = {"stall_timeout": 2.0, "status_every": 5.0, "resolve_timeout": 10.0}


@dataclass(frozen=True)
class MonitorSettings:
    prop: str
    value: str
    feed_host: str = "127.0.0.1"
    feed_port: int = 8765
    feed_token: str | None = None
    allow_origins: tuple[str, ...] = ()
    alerts_path: Path | None = None
    notify_urls: tuple[str, ...] = ()
    config_path: Path | None = None
    stall_timeout: float | None = None
    status_every: float | None = None
    resolve_timeout: float | None = None
    quiet: bool = False
    record_path: Path | None = None
    record_rotate: str | None = None
    record_range_uv: float | None = None
    model_state_path: Path | None = None


def status_line(status: dict[str, Any]) -> str:
    """The one-line terminal summary of a ``status`` message."""
    active = status["active_alerts"]
    lag = status["lag_s"]
    p99 = status["latency_p99_s"]
    failing = status.get("notify", {}).get("failing", [])
    state = "LOST" if not status["connected"] else ("warm-up" if status["warming_up"] else "ok")
    return (
        f"{time.strftime('%H:%M:%S')} {state:7s} rate {status['rate']:7.1f}/s"
        f"  lag {'-' if lag is None else f'{lag * 1000:.0f} ms'}"
        f"  p99 {'-' if p99 is None else f'{p99 * 1000:.1f} ms'}"
        f"  dropped {status['samples_dropped']}"
        f"  alerts {active['high']} high {active['medium']} medium {active['low']} low"
        + (f"  NOTIFY FAILING: {', '.join(failing)}" if failing else "")
    )


def run_monitor(
    settings: MonitorSettings,
    stop: threading.Event,
    *,
    say: Callable[[str], None],
    fail: Callable[[str], NoReturn],
) -> None:
    """Resolve the stream, start the feed and monitor until `stop` is set."""
    try:
        check_exposure(settings.feed_host, settings.feed_token)
        detector_config, file_settings = config_file.load(settings.config_path)
        notify_config = config_file.load_notify(settings.config_path).with_urls(
            settings.notify_urls
        )
        check_urls(notify_config.destinations)
        selector = Selector(settings.prop, settings.value)
    except ValueError as exc:
        fail(str(exc))
    merged = {**DEFAULTS, **file_settings}
    for key in DEFAULTS:
        given = getattr(settings, key)
        if given is not None:
            if given <= 0:
                fail(f"--{key.replace('_', '-')} must be positive, got {given!r}")
            merged[key] = given
    try:
        info = resolve(selector, timeout=merged["resolve_timeout"])
        acquisition = Acquisition(info)
    except (StreamNotFound, StreamRefused) as exc:
        fail(str(exc))
    meta = acquisition.meta
    try:
        detector = Detector(meta, detector_config, id_prefix=f"{int(time.time())}-")
    except ValueError as exc:
        acquisition.close()
        fail(str(exc))
    journal = None
    if settings.alerts_path is not None:
        try:
            journal = AlertJournal(settings.alerts_path)
        except (OSError, ValueError) as exc:
            acquisition.close()
            fail(f"cannot open alert journal {str(settings.alerts_path)!r}: {exc}")
    sinks: list[Sink] = [AlertOutlet(meta)]
    notifier = None
    if notify_config.destinations:
        try:
            notifier = Notifier(notify_config, journal=journal)
        except ValueError as exc:
            acquisition.close()
            fail(str(exc))
        sinks.append(notifier)
    recorder = None
    if settings.record_path is not None:
        try:
            recorder = _recorder(settings.record_path, settings, meta)
        except ValueError as exc:
            acquisition.close()
            fail(str(exc))
        sinks.append(recorder)
    if settings.model_state_path is not None:
        sinks.append(ModelStateFile(settings.model_state_path, detector, say))
    printer = None if settings.quiet else _every(merged["status_every"], say)
    feed_ref: list[Feed] = []

    def publish(message: dict[str, Any]) -> None:
        feed_ref[0].publish(message)

    runner = Monitor(
        acquisition,
        detector,
        publish=publish,
        journal=journal,
        sinks=sinks,
        stall_timeout=merged["stall_timeout"],
        on_status=printer,
    )
    if recorder is not None:
        recorder.report = runner.report
    try:
        feed = Feed(
            settings.feed_host,
            settings.feed_port,
            hello=runner.hello,
            on_ack=runner.acknowledge,
            token=settings.feed_token,
            allow_origins=settings.allow_origins,
        )
        feed_ref.append(feed)
        feed.start()
        if notifier is not None:
            notifier.feed_url = feed.url
    except ValueError as exc:
        acquisition.close()
        fail(str(exc))
    except OSError as exc:
        acquisition.close()
        fail(f"cannot serve the feed on {settings.feed_host}:{settings.feed_port}: {exc.strerror}")
    if recorder is not None:
        say(f"eegmon monitor: {recorder.describe()}")
    say(
        f"eegmon monitor: stream {meta.name!r} ({meta.n_channels} ch @ {meta.rate:g} Hz, "
        f"source_id {meta.source_id!r}); feed at {feed.url}"
    )
    try:
        runner.run(stop)
    finally:
        feed.stop()
        acquisition.close()
        for sink in runner.sinks:
            sink.close()
        if journal is not None:
            journal.close()


class ModelStateFile:
    """``--model-state``: what the detector learned, loaded at start and saved as it goes.

    A monitor sink, so saving happens on the monitor's thread (the detector
    is never touched from two threads): every `every_s` seconds and at exit,
    written to a temporary file then renamed, so a crash never leaves half a
    state. A file of another stream (source_id, channels, rate or model) or
    an unreadable one is left alone: the detector starts fresh and says so.
    The file is a pickle: keep it where only the monitor's user can write.
    """

    def __init__(
        self, path: Path, detector: Detector, say: Callable[[str], None], every_s: float = 60.0
    ) -> None:
        self.path = path
        self.detector = detector
        self.every_s = every_s
        self.saved_at: float | None = None
        self.error: str | None = None
        self._next = time.monotonic() + every_s
        if path.exists():
            try:
                detector.load_model_state(pickle.loads(path.read_bytes()))
                say(
                    f"eegmon monitor: model state loaded from {str(path)!r} "
                    f"({detector.learned_windows} windows learned)"
                )
            except (OSError, ValueError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
                say(f"eegmon monitor: model state {str(path)!r} not used ({exc}); starting fresh")
        else:
            say(f"eegmon monitor: no model state at {str(path)!r} yet; starting fresh")

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_bytes(pickle.dumps(self.detector.model_state()))
            os.replace(tmp, self.path)
            self.saved_at, self.error = time.time(), None
        except OSError as exc:  # a full disk must not stop monitoring
            self.error = f"{exc.strerror or exc}"
            log.error("model state %s cannot be written: %s", self.path, self.error)

    def block(self, block: Block) -> None:
        if time.monotonic() >= self._next:
            self._next = time.monotonic() + self.every_s
            self.save()

    def alert(self, event: str, alert: dict[str, Any]) -> None:
        pass

    def status(self) -> dict[str, Any]:
        return {
            "model_state": {"path": str(self.path), "saved_at": self.saved_at, "error": self.error}
        }

    def close(self) -> None:
        self.save()


def _recorder(path: Path, settings: MonitorSettings, meta: StreamMeta) -> Recorder:
    """The EDF+/BDF+ recorder sink of ``--record``; ValueError names a bad option."""
    rotate = None if settings.record_rotate is None else parse_duration(settings.record_rotate)
    return Recorder(
        path,
        meta,
        range_uv=settings.record_range_uv or DEFAULT_RANGE_UV,
        rotate_s=rotate,
    )


def _every(seconds: float, say: Callable[[str], None]) -> Callable[[dict[str, Any]], None]:
    """Print a status line at most every `seconds`."""
    last = [-float("inf")]

    def on_status(status: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - last[0] >= seconds:
            last[0] = now
            say(status_line(status))

    return on_status
