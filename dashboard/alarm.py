"""What every page shares: the alarm bar over all beds, the banner text, formatting.

A technician looking at one bed must still see and hear another bed's high
alert or loss of monitoring, so the alarm bar and the tone (see `browser`)
cover every feed on every page.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Sequence
from typing import Any

from bokeh.models.widgets import Div

from protocol.kinds import KINDS, SEVERITY_RANK

from .browser import HEARTBEAT_S
from .feed_client import FeedSnapshot

SEVERITY_COLORS = {"high": "#d32f2f", "medium": "#f9a825", "low": "#00acc1"}
QUALITY_KINDS = frozenset(kind.name for kind in KINDS.values() if kind.marks_quality)

PAGE_CSS = """
:host { --eegmon-red: #d32f2f; }
@keyframes eegmon-flash { 0%, 49% { opacity: 1; } 50%, 100% { opacity: 0.35; } }
.eegmon-banner-box { font: bold 28px/1.3 sans-serif; padding: 10px 16px; border-radius: 6px;
  color: white; }
.eegmon-banner-box small { font-weight: normal; font-size: 15px; display: block; }
.eegmon-ok { background: #1b7f3b; }
.eegmon-alarm { background: #c62828; animation: eegmon-flash 1s steps(1) infinite; }
.eegmon-alarm-bar { font: bold 20px/1.4 sans-serif; padding: 8px 14px; border-radius: 6px;
  background: #d32f2f; color: white; animation: eegmon-flash 1s steps(1) infinite; }
.eegmon-alarm-bar a { color: white; }
.eegmon-alarm-bar div { margin: 2px 0; }
.sev { display: inline-block; min-width: 58px; text-align: center; border-radius: 4px;
  padding: 0 6px; font-weight: bold; }
.sev-high { background: #d32f2f; color: white; animation: eegmon-flash 1s steps(1) infinite; }
.sev-medium { background: #fbc02d; color: black; }
.sev-low { background: #4dd0e1; color: black; }
.sev-other { background: #9e9e9e; color: white; }
"""


def page_stylesheet() -> str:
    """The page's CSS for a widget's ``stylesheets``.

    A string, not a shared ``InlineStyleSheet`` model: BokehJS gives each view its
    own copy of a string, while one model's ``<style>`` element can live in only
    one shadow root at a time and silently leaves the others unstyled.
    """
    return PAGE_CSS


def fmt_age(seconds: float | None) -> str:
    """A short age: ``"12 s"``, ``"3 min"``, ``"2 h"``; ``""`` when unknown.

    >>> fmt_age(12.4), fmt_age(600), fmt_age(9000), fmt_age(None)
    ('12 s', '10 min', '2 h', '')
    """
    if seconds is None or not math.isfinite(seconds):
        return ""
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def as_float(value: Any) -> float:
    """A number of a feed message as a float; NaN when it is not a number.

    >>> as_float(3), as_float("3"), as_float(None)
    (3.0, nan, nan)
    """
    return float(value) if isinstance(value, int | float) else math.nan


def severity_class(severity: Any) -> str:
    """One of the fixed names used in markup (feed text never reaches a class or template)."""
    return severity if severity in SEVERITY_RANK else "other"


def alert_sort_key(alert: dict[str, Any]) -> tuple[int, int, float]:
    """Most severe first, unacknowledged before acknowledged, newest first."""
    onset = alert.get("onset")
    return (
        SEVERITY_RANK.get(str(alert.get("severity")), 3),
        0 if alert.get("state") == "active" else 1,
        -(float(onset) if isinstance(onset, int | float) else -math.inf),
    )


def not_monitoring_reason(snap: FeedSnapshot, now: float) -> str:
    """Why a feed is not monitored, in one short phrase ("" when it is)."""
    if snap.monitoring:
        return ""
    if not snap.connected:
        if snap.last_message_at is None and snap.error is None:
            return "connecting to the feed"
        detail = f"feed disconnected for {fmt_age(now - snap.since)}"
        return detail + (f" ({snap.error[:120]})" if snap.error else "")
    if snap.stale:
        last = snap.last_status_at if snap.last_status_at is not None else snap.since
        return f"no heartbeat from the monitor for {fmt_age(now - last)}"
    if snap.failing is not None:
        return "the monitor keeps failing: " + str(snap.failing.get("message", ""))[:160]
    return "the monitor has lost its EEG stream"


def banner_html(monitoring: bool, detail: str) -> str:
    css = "eegmon-ok" if monitoring else "eegmon-alarm"
    title = "MONITORING" if monitoring else "NOT MONITORING"
    small = f"<small>{html.escape(detail)}</small>" if detail else ""
    return f'<div class="eegmon-banner-box {css}">{title}{small}</div>'


def quality_flags(snap: FeedSnapshot) -> set[str]:
    """Channels named by an active quality alert (electrode off, clipping, mains...)."""
    flagged: set[str] = set()
    for alert in snap.alerts:
        if alert.get("kind") in QUALITY_KINDS and alert.get("state") != "cleared":
            flagged.update(str(c) for c in alert.get("channels") or [])
    return flagged


class AlarmBar:
    """The flashing bar listing every bed's unacknowledged high alerts and lost monitoring.

    Its ``Div`` (name ``alarm``) also carries the page heartbeat and the alarm
    keys for the browser's tone: ``tags = [beat, [key, ...]]``.
    """

    def __init__(self, stylesheet: str, link_beds: bool = True) -> None:
        self.link_beds = link_beds
        self.div = Div(
            name="alarm",
            css_classes=["eegmon-alarm-host"],
            stylesheets=[stylesheet],
            sizing_mode="stretch_width",
            visible=False,
            text="",
            tags=[0, []],
        )
        self._beat = 0
        self._beat_at = -math.inf
        self._key: tuple[Any, ...] = ()

    def update(self, snapshots: Sequence[FeedSnapshot]) -> None:
        now = time.monotonic()
        keys: list[str] = []
        lines: list[str] = []
        for index, snap in enumerate(snapshots):
            bed = html.escape(snap.name)
            if self.link_beds:
                bed = f'<a href="bed?bed={index}">{bed}</a>'
            if not snap.monitoring:
                keys.append(f"{index}:not-monitoring")
                lines.append(f"<div>{bed}: NOT MONITORING</div>")
            high = [
                a for a in snap.alerts if a.get("severity") == "high" and a.get("state") == "active"
            ]
            for alert in sorted(high, key=alert_sort_key):
                keys.append(f"{index}:{alert['id']}")
                channels = ", ".join(map(str, alert.get("channels") or [])) or "all channels"
                lines.append(
                    f"<div>{bed}: HIGH ALERT {html.escape(str(alert.get('kind', '')))} "
                    f"on {html.escape(channels)}</div>"
                )
        beat_due = now - self._beat_at >= HEARTBEAT_S
        if beat_due:
            self._beat += 1
            self._beat_at = now
        key = (self._beat, tuple(keys), tuple(lines))
        if key == self._key:
            return
        self._key = key
        self.div.tags = [self._beat, keys]
        text = f'<div class="eegmon-alarm-bar" role="alert">{"".join(lines)}</div>'
        if lines and self.div.text != text:
            self.div.text = text
        if self.div.visible != bool(lines):
            self.div.visible = bool(lines)
