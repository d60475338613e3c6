"""The top of a bed page: which bed this is, and whether it is monitored.

Names: ``header`` (css ``eegmon-header``), ``banner`` (css ``eegmon-banner``).
"""

from __future__ import annotations

import html
from typing import Any

from bokeh.models.widgets import Div

from ..alarm import banner_html, not_monitoring_reason
from ..feed_client import FeedSnapshot
from .traces import MAX_TRACE_CHANNELS


class HeaderPanel:
    """The bed's name, channels and feed, and the MONITORING / NOT MONITORING banner."""

    def __init__(self, css: str) -> None:
        self.header = Div(name="header", css_classes=["eegmon-header"], text="")
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
        self._update_header(snap)
        detail = not_monitoring_reason(snap, now)
        key = (snap.monitoring, detail)
        if key != self._banner_key:
            self._banner_key = key
            self.banner.text = banner_html(snap.monitoring, detail)

    def _update_header(self, snap: FeedSnapshot) -> None:
        rate = snap.stream.get("rate")
        key = (snap.name, snap.labels, rate, snap.url)
        if key == self._header_key:
            return
        self._header_key = key
        shown = snap.labels[:MAX_TRACE_CHANNELS]
        parts = [
            '<a href="./">&larr; Ward</a>',
            f"<b style='font-size:22px'>{html.escape(snap.name)}</b>",
        ]
        if snap.labels:
            rate_txt = f" at {float(rate):g} Hz" if isinstance(rate, int | float) else ""
            more = f" (first {len(shown)} shown)" if len(shown) < len(snap.labels) else ""
            parts.append(f"{len(snap.labels)} channels{rate_txt}{more}")
            parts.append(html.escape(", ".join(shown)))
        parts.append(f"feed {html.escape(snap.url)}")
        self.header.text = " · ".join(parts)
