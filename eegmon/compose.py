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
from eegmon.cmd_users import read_users
from eegmon.config import CheckedMonitor
from protocol.feed import is_loopback
from streamer.live.acquisition import Acquisition, StreamRefused
from streamer.live.alert_outlet import AlertOutlet
from streamer.live.feed import Feed, server_tls
from streamer.live.journal import AlertJournal
from streamer.live.link import MonitorLink
from streamer.live.lsl import Selector, StreamNotFound, resolve
from streamer.live.model_state import ModelStateFile
from streamer.live.monitor import Monitor, Sink
from streamer.live.session import Session
from streamer.live.staging_sink import StagingSink
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
        + _stage_text(status.get("stage"))
        + (f"  NOTIFY FAILING: {', '.join(failing)}" if failing else "")
    )


def _stage_text(stage: dict[str, Any] | None) -> str:
    """The sleep stage for the status line; a provisional one is marked ``?``."""
    if stage is None or stage.get("error"):
        return ""
    if stage["stage"] is None:
        return "  stage -"
    return f"  stage {stage['stage']}{'' if stage['final'] else '?'}"


def run_monitor(
    checked: CheckedMonitor,
    stop: threading.Event,
    *,
    say: Callable[[str], None],
    fail: Callable[[str], NoReturn],
) -> None:
    """Resolve the stream, start the feed and monitor until `stop` is set.

    The parts are built in the order they depend on each other, each given
    what it needs: the stream and its detector, the session and the link the
    feed and the monitor share, the journal, the feed (started, so its URL is known), the
    sinks (the notifier names the feed's URL), then the monitor.
    """
    settings, timings = checked.settings, checked.timings
    try:
        detector_config = checked.config.detector()
        selector = Selector(settings.prop, settings.value)
    except ValueError as exc:
        fail(str(exc))
    # Everything opened is closed in reverse order, on a bad option as after a clean stop:
    # the sinks (which may still journal), the feed, the journal, the inlet.
    with contextlib.ExitStack() as opened:
        try:
            acquisition = Acquisition(resolve(selector, timeout=timings["resolve_timeout"]))
        except (StreamNotFound, StreamRefused) as exc:
            fail(str(exc))
        opened.callback(acquisition.close)
        meta = acquisition.meta
        try:
            detector = Detector(meta, detector_config, id_prefix=f"{int(time.time())}-")
        except ValueError as exc:
            fail(str(exc))
        session = Session.start(settings.patient)
        link = MonitorLink(meta, detector.config, timings["stall_timeout"], session)
        journal = _journal(settings.alerts_path, link, opened, fail)
        feed = _feed(checked, link, journal, opened, fail)
        sinks = _sinks(checked, meta, journal, link, feed.url, opened, fail)
        if settings.staging:
            sinks.append(StagingSink(meta, feed.publish))
            opened.callback(sinks[-1].close)
        if settings.model_state_path is not None:
            state = ModelStateFile(
                settings.model_state_path,
                detector,
                say,
                session=session,
                max_age_s=checked.model_state_max_age_s,
            )
            sinks.append(state)
            opened.callback(state.close)
        runner = Monitor(
            acquisition,
            detector,
            publish=feed.publish,
            link=link,
            journal=journal,
            sinks=sinks,
            stall_timeout=timings["stall_timeout"],
            on_status=None if settings.quiet else _every(timings["status_every"], say),
        )
        for sink in sinks:
            if isinstance(sink, Recorder):
                say(f"eegmon monitor: {sink.describe()}")
        say(
            f"eegmon monitor: stream {meta.name!r} ({meta.n_channels} ch @ {meta.rate:g} Hz, "
            f"source_id {meta.source_id!r}); feed at {feed.url}"
        )
        who = "no patient code" if session.patient is None else f"patient {session.patient}"
        say(f"eegmon monitor: session {session.id} ({who}) started {session.started}")
        runner.run(stop)


def _journal(
    path: Path | None,
    link: MonitorLink,
    opened: contextlib.ExitStack,
    fail: Callable[[str], NoReturn],
) -> AlertJournal | None:
    """The alert journal of ``--alerts``, closed with the rest; its failures raise conditions."""
    if path is None:
        return None
    try:
        journal = AlertJournal(path, session=link.session, on_condition=link.set_condition)
    except (OSError, ValueError) as exc:
        fail(f"cannot open alert journal {str(path)!r}: {exc}")
    opened.callback(journal.close)
    meta = link.meta
    journal.note(
        "session_started", stream=meta.name, source_id=meta.source_id, **link.session.fields()
    )
    return journal


def _feed(
    checked: CheckedMonitor,
    link: MonitorLink,
    journal: AlertJournal | None,
    opened: contextlib.ExitStack,
    fail: Callable[[str], NoReturn],
) -> Feed:
    """The feed, started: a port of 0 is now a real one, and its URL can be told to others.

    With ``--users`` each client is a person with a role; refused acknowledgements
    and failed authentications are journaled.
    """
    settings = checked.settings
    try:
        users = None if settings.users_path is None else read_users(settings.users_path)
        tls = None
        if settings.tls_cert is not None and settings.tls_key is not None:
            tls = server_tls(settings.tls_cert, settings.tls_key)
        feed = Feed(
            settings.feed_host,
            settings.feed_port,
            hello=link.hello,
            on_ack=link.acknowledge,
            on_note=link.note,
            on_page=link.page,
            token=settings.feed_token,
            users=users,
            on_event=None if journal is None else journal.note,
            tls=tls,
            allow_origins=settings.allow_origins,
        )
        feed.start()
    except ValueError as exc:
        fail(str(exc))
    except OSError as exc:
        where = f"{settings.feed_host}:{settings.feed_port}"
        fail(f"cannot serve the feed on {where}: {exc.strerror or exc}")
    opened.callback(feed.stop)
    if tls is None and not is_loopback(settings.feed_host):
        log.warning(
            "the feed is served beyond this machine without TLS: tokens and EEG cross the "
            "network in clear (give --tls-cert and --tls-key)"
        )
    return feed


def _sinks(
    checked: CheckedMonitor,
    meta: StreamMeta,
    journal: AlertJournal | None,
    link: MonitorLink,
    feed_url: str,
    opened: contextlib.ExitStack,
    fail: Callable[[str], NoReturn],
) -> list[Sink]:
    """The alert outlet, the notifier and the recorder: each closed with the rest."""
    sinks: list[Sink] = [AlertOutlet(meta)] if checked.settings.alerts_outlet else []
    try:
        if checked.notify.destinations:
            sinks.append(Notifier(checked.notify, journal=journal, feed_url=feed_url))
        if checked.settings.record_path is not None:
            sinks.append(_recorder(checked.settings.record_path, checked, meta, link))
    except ValueError as exc:
        fail(str(exc))
    finally:
        for sink in reversed(sinks):
            opened.callback(sink.close)
    return sinks


def _recorder(path: Path, checked: CheckedMonitor, meta: StreamMeta, link: MonitorLink) -> Recorder:
    """The EDF+/BDF+ recorder sink of ``--record``; ValueError names a bad option.

    A recording that fails is raised as a condition through the monitor's link.
    """
    recorder = Recorder(
        path,
        meta,
        range_uv=checked.settings.record_range_uv or DEFAULT_RANGE_UV,
        rotate_s=checked.record_rotate_s,
        on_condition=link.set_condition,
        patient=link.session.patient,
        session=link.session.id,
    )
    link.record_pages(recorder.segments)  # the feed's pages are read from it
    return recorder


def _every(seconds: float, say: Callable[[str], None]) -> Callable[[dict[str, Any]], None]:
    """Print a status line at most every `seconds`."""
    last = [-float("inf")]

    def on_status(status: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - last[0] >= seconds:
            last[0] = now
            say(status_line(status))

    return on_status
