"""The night's list of a bed page left open follows every transition of an alert.

A real feed server (`SimulatedFeed`), a real dashboard server and a real
headless chromium: the page is opened while a flatline is active, and its
*Alerts of the night* row then goes through acknowledged and cleared, with
how long it lasted, without reloading.
"""

from __future__ import annotations

import pytest

from dashboard import DashboardServer
from simulators.feed import SimulatedFeed
from tests.support import chromium_page, wait_for_model

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


def test_an_open_page_follows_raised_acknowledged_cleared(feed: SimulatedFeed) -> None:
    flat = feed.send_alert(kind="flatline", channels=["O1"], message="Channel O1 is flat.")
    server = DashboardServer([feed.url], port=0).start()
    try:
        with chromium_page() as page:
            page.goto(server.url + "bed?bed=0&render=canvas")
            wait_for_model(page, "history_source")
            row = page.locator(".eegmon-history .slick-row", has_text="flatline")
            expect(row).to_contain_text("active", timeout=5000)
            feed.send_alert(**(flat | {"state": "acknowledged", "acknowledged_by": "Ada"}))
            expect(row).to_contain_text("acknowledged", timeout=3000)
            expect(row).to_contain_text("Ada")
            cleared = flat | {"state": "cleared", "cleared_at": flat["onset"] + 16.0}
            feed.send_alert(**(cleared | {"acknowledged_by": "Ada"}))
            expect(row).to_contain_text("cleared", timeout=3000)
            expect(row).to_contain_text("16 s")
            expect(page.locator(".eegmon-history .slick-row")).to_have_count(1)
    finally:
        server.stop()
