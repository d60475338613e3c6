"""eegmon's dashboard: a Bokeh server app showing live monitor feeds in the browser.

The ward view (`ward`, at ``/``) shows every bed; the bed view (`bed`, at
``/bed?bed=N``) one bed's traces, scores, alerts and night trends (`trends`).
It talks to monitors only through the feed protocol (`streamer.protocol`),
one shared `FeedClient` per feed.

>>> from dashboard import serve  # serve(["ws://127.0.0.1:8765"], port=5006) blocks
"""

from .feed_client import FeedClient, FeedSnapshot, validate_feed_url
from .server import DashboardServer, serve

__all__ = ["DashboardServer", "FeedClient", "FeedSnapshot", "serve", "validate_feed_url"]
