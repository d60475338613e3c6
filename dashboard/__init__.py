"""eegmon's dashboard: a Bokeh server app showing live monitor feeds in the browser.

The ward view (`ward`, at ``/``) shows every bed; the bed view (`bed`, at
``/bed?bed=N``) one bed's traces, scores, alerts and night trends (`trends`),
each a panel of its own (`panels`).
It talks to monitors only through the feed protocol (`protocol.feed`),
one shared `FeedClient` per feed.

Names are loaded on first use, so that `dashboard.options` checks a command
line's options without importing Bokeh.

>>> from dashboard import serve  # serve(["ws://127.0.0.1:8765"], port=5006) blocks
"""

from __future__ import annotations

import importlib
from typing import Any

#: Each exported name and the module it lives in.
_HOMES = {
    "DashboardServer": "dashboard.server",
    "serve": "dashboard.server",
    "FeedClient": "dashboard.feed_client",
    "FeedSnapshot": "dashboard.feed_client",
    "validate_feed_url": "dashboard.options",
}

__all__ = ["DashboardServer", "FeedClient", "FeedSnapshot", "serve", "validate_feed_url"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'dashboard' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value
