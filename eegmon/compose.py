"""Composition: builds the monitor's parts from settings and runs them."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from detector import Detector, StreamMeta
from eegmon.config import CheckedMonitor
from streamer.live.acquisition import Acquisition, StreamRefused
from streamer.live.alert_outlet import AlertOutlet
from streamer.live.feed import Feed
from streamer.live.journal import AlertJournal
from streamer.live.lsl import Selector, StreamNotFound, resolve
from streamer.live.model_state import ModelStateFile
from streamer.live.monitor import Monitor, Sink
from streamer.notify import Notifier
from streamer.recordings.recorder import DEFAULT_RANGE_UV, Recorder

log = logging.getLogger(__name__)


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
    checked: CheckedMonitor,
    stop: threading.Event,
    *,
    say: Callable[[str], None],
    fail: Callable[[str], NoReturn],
) -> None:
    """Resolve the stream, start the feed and monitor until `stop` is set."""
    settings, merged, notify_config = checked.settings, checked.timings, checked.notify
    try:
        detector_config = checked.config.detector()
        selector = Selector(settings.prop, settings.value)
    except ValueError as exc:
        fail(str(exc))
    # Everything opened is closed in reverse order, on a bad option as after a clean stop:
    # the feed, then the sinks (which may still journal), the journal, the inlet.
    with contextlib.ExitStack() as opened:
        try:
            acquisition = Acquisition(resolve(selector, timeout=merged["resolve_timeout"]))
        except (StreamNotFound, StreamRefused) as exc:
            fail(str(exc))
        opened.callback(acquisition.close)
        meta = acquisition.meta
        try:
            detector = Detector(meta, detector_config, id_prefix=f"{int(time.time())}-")
        except ValueError as exc:
            fail(str(exc))
        journal = None
        if settings.alerts_path is not None:
            try:
                journal = AlertJournal(settings.alerts_path)
            except (OSError, ValueError) as exc:
                fail(f"cannot open alert journal {str(settings.alerts_path)!r}: {exc}")
            opened.callback(journal.close)
        sinks: list[Sink] = [AlertOutlet(meta)]
        notifier = recorder = None
        try:
            if notify_config.destinations:
                notifier = Notifier(notify_config, journal=journal)
                sinks.append(notifier)
            if settings.record_path is not None:
                recorder = _recorder(settings.record_path, checked, meta)
                sinks.append(recorder)
        except ValueError as exc:
            fail(str(exc))
        finally:
            for sink in reversed(sinks):
                opened.callback(sink.close)
        if settings.model_state_path is not None:
            state = ModelStateFile(settings.model_state_path, detector, say)
            sinks.append(state)
            opened.callback(state.close)
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
            recorder.on_condition = runner.set_condition
        try:
            feed = Feed(
                settings.feed_host,
                settings.feed_port,
                hello=runner.hello,
                on_ack=runner.acknowledge,
                token=settings.feed_token,
                allow_origins=settings.allow_origins,
            )
            feed.start()
        except ValueError as exc:
            fail(str(exc))
        except OSError as exc:
            where = f"{settings.feed_host}:{settings.feed_port}"
            fail(f"cannot serve the feed on {where}: {exc.strerror or exc}")
        feed_ref.append(feed)
        opened.callback(feed.stop)
        if notifier is not None:
            notifier.feed_url = feed.url
        if recorder is not None:
            say(f"eegmon monitor: {recorder.describe()}")
        say(
            f"eegmon monitor: stream {meta.name!r} ({meta.n_channels} ch @ {meta.rate:g} Hz, "
            f"source_id {meta.source_id!r}); feed at {feed.url}"
        )
        runner.run(stop)


def _recorder(path: Path, checked: CheckedMonitor, meta: StreamMeta) -> Recorder:
    """The EDF+/BDF+ recorder sink of ``--record``; ValueError names a bad option."""
    return Recorder(
        path,
        meta,
        range_uv=checked.settings.record_range_uv or DEFAULT_RANGE_UV,
        rotate_s=checked.record_rotate_s,
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
