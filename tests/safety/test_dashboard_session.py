"""A new monitor run on the same amplifier is a new night on the dashboard: nothing inherited."""

from __future__ import annotations

import pytest

from dashboard.feed_client import FeedClient
from simulators.feed import SimulatedFeed
from tests.support import wait_for

pytestmark = pytest.mark.timeout(60)


def test_a_new_session_starts_the_bed_afresh_and_a_reconnection_does_not() -> None:
    feed = SimulatedFeed(speed=100.0).start()  # a 30 s trend bin every 0.3 s
    client = FeedClient(feed.url).start()
    try:
        wait_for(lambda: client.snapshot().hellos == 1, 10, "the first hello")
        alert = feed.send_alert()
        feed.send_alert(id=alert["id"], state="cleared")
        wait_for(lambda: client.snapshot(night=True).history, 5, "the cleared alert")
        wait_for(lambda: len(client.trends) >= 2, 10, "night trends")
        assert client.snapshot().stream["session"] == "simulated-1"

        feed.stop()  # the same run, reconnected: the night goes on
        feed.start()
        wait_for(lambda: client.snapshot().hellos == 2, 10, "the second hello")
        kept = client.snapshot(night=True)
        assert [a["id"] for a in kept.history] == [alert["id"]]
        assert [a["id"] for a in kept.night] == [alert["id"]]
        assert client.trend_snapshot().times[0] == 0.0

        feed.stop()  # another run (another patient) on the same amplifier
        feed.session, feed.patient = "second-run", "P-2"
        restarted_at = feed.now()
        feed.start()
        wait_for(lambda: client.snapshot().hellos == 3, 10, "the third hello")
        fresh = client.snapshot(night=True)
        assert (fresh.history, fresh.night) == ((), ())
        assert (fresh.stream["session"], fresh.stream["patient"]) == ("second-run", "P-2")
        wait_for(lambda: len(client.trends) >= 1, 10, "the new night's trends")
        assert client.trend_snapshot().times[0] >= restarted_at - 30.0, "no bin of the last run"
    finally:
        client.stop()
        feed.stop()
