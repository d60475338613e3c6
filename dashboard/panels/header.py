"""The top of a bed page: which bed and patient this is, since when, and whether it is monitored.

A monitor's ``hello`` and ``status`` carry its session (``patient``, a
pseudonymous code; ``session``; ``started``, ISO 8601 UTC); a monitor that
does not gets the time this page first saw its feed connected instead.

Names: ``header`` (css ``eegmon-header``), ``banner`` (css ``eegmon-banner``).
"""

from __future__ import annotations

import html
import time
from datetime import datetime
from typing import Any

from bokeh.models.widgets import Div

from ..alarm import banner_html, not_monitoring_reason
from ..feed_client import FeedSnapshot
from ..stages import stage_text
from .traces import MAX_TRACE_CHANNELS


class HeaderPanel:
    """The bed's name, channels and feed, and the MONITORING / NOT MONITORING banner."""

    def __init__(self, css: str) -> None:
        self.header = Div(name="header", css_classes=["eegmon-header"], text="")
        self._connected_at: float | None = None  #: wall time the feed was first seen connected
        self.banner = Div(
            name="banner",
            css_classes=["eegmon-banner"],
            stylesheets=[css],
            sizing_mode="stretch_width",
            text=banner_html(False, "waiting for the feed"),
        )
        self._header_key: tuple[Any, ...] = ()
        self._banner_key: tuple[Any, ...] = ()

    def update(self, snap: FeedSnapshot, now: float) -> None:
        """Rewrite what changed (`now`: `time.monotonic()`, for how long the feed is lost)."""
        self._update_header(snap, time.time())
        detail = not_monitoring_reason(snap, now)
        key = (snap.monitoring, detail)
        if key != self._banner_key:
            self._banner_key = key
            self.banner.text = banner_html(snap.monitoring, detail)

    def _update_header(self, snap: FeedSnapshot, now_wall: float) -> None:
        if self._connected_at is None and snap.connected:
            self._connected_at = now_wall
        session = session_html({**snap.stream, **snap.status}, self._connected_at, now_wall)
        rate = snap.stream.get("rate")
        stage = stage_text(snap.stages[-1] if snap.stages else None)
        key = (snap.name, session, snap.labels, rate, snap.url, stage)
        if key == self._header_key:
            return
        self._header_key = key
        shown = snap.labels[:MAX_TRACE_CHANNELS]
        bed = [
            '<a href="./">&larr; Ward</a>',
            f"<b style='font-size:22px'>{html.escape(snap.name)}</b>",
            *([session] if session else []),
            *([f"<span class='stage'>sleep <b>{stage}</b></span>"] if stage else []),
        ]
        about = []
        if snap.labels:
            rate_txt = f" at {float(rate):g} Hz" if isinstance(rate, int | float) else ""
            more = f" (first {len(shown)} shown)" if len(shown) < len(snap.labels) else ""
            about.append(f"{len(snap.labels)} channels{rate_txt}{more}")
            about.append(html.escape(", ".join(shown)))
        about.append(f"feed {html.escape(snap.url)}")
        self.header.text = (
            f"<div class='bed'>{' · '.join(bed)}</div>"
            f"<div class='about' style='font-size:12px;color:#555'>{' · '.join(about)}</div>"
        )


def session_html(info: dict[str, Any], connected_at: float | None, now_wall: float) -> str:
    """The patient and session, when it started and for how long, as HTML.

    >>> info = {"patient": "P-0042", "session": "3fa2c1d0e9b8"}
    >>> info["started"] = "2026-12-06T20:00:00+00:00"
    >>> now = datetime.fromisoformat("2026-12-06T22:14:30+00:00").timestamp()
    >>> print(session_html(info, None, now))  # doctest: +ELLIPSIS
    patient <b>P-0042</b> · session 3fa2c1d0e9b8 · started ... · 2 h 14 min
    >>> print(session_html({}, now - 125, now))  # doctest: +ELLIPSIS
    watched since ... · 2 min
    """
    parts = []
    patient, session, started = info.get("patient"), info.get("session"), info.get("started")
    if isinstance(patient, str) and patient:
        parts.append(f"patient <b>{html.escape(patient)}</b>")
    if isinstance(session, str) and session:
        parts.append(f"session {html.escape(session)}")
    since: float | None = None
    if isinstance(started, str):
        try:
            since = datetime.fromisoformat(started).timestamp()
        except ValueError:
            since = None
    word = "started"
    if since is None:
        since, word = connected_at, "watched since"
    if since is not None:
        clock = datetime.fromtimestamp(since).strftime("%H:%M")
        parts.append(f"{word} {clock}")
        minutes = max(0, int(now_wall - since) // 60)
        parts.append(
            f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
        )
    return " · ".join(parts)
