"""The dashboard in a real headless chromium, fed by a real feed server on loopback.

The tests of this module share one feed, one dashboard server and one page and
run in order: the last one stops and restarts the feed.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator

import pytest

from dashboard import DashboardServer
from tests.dashboard.dashboard_fakes import ROOT, FakeFeed
from tests.support import BOKEH_MODEL, CHROMIUM, CHROMIUM_ARGS, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

ARTIFACTS = ROOT / "tests" / "artifacts"
README_SHOT = ROOT / "docs" / "screenshots" / "dashboard.png"

MODEL = BOKEH_MODEL


@pytest.fixture(scope="module")
def module_feed() -> Iterator[FakeFeed]:
    feed = FakeFeed().start()
    try:
        yield feed
    finally:
        feed.stop()


@pytest.fixture(scope="module")
def dashboard(module_feed: FakeFeed) -> Iterator[DashboardServer]:
    server = DashboardServer([module_feed.url], port=0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def page(dashboard: DashboardServer):
    require_chromium()
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(dashboard.url)
            page.wait_for_function(
                "() => window.Bokeh && Bokeh.documents.length > 0"
                " && Bokeh.documents[0].get_model_by_name('traces_source') !== null",
                timeout=15_000,
            )
            yield page
            assert not errors, f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()


def model_value(page, name: str, expression: str):
    return page.evaluate(f"() => {{ const m = ({MODEL})({name!r}); return {expression}; }}")


def banner(page):
    return page.locator(".eegmon-banner")


def test_page_shows_stream_channels_and_monitoring(page, module_feed: FakeFeed) -> None:
    expect(page.get_by_text(module_feed.name)).to_be_visible(timeout=5000)
    # The first 8 channel labels on the traces' y axis, in order, and in the header.
    page.wait_for_function(
        f"() => Object.keys(({MODEL})('traces_yaxis').major_label_overrides instanceof Map"
        f" ? Object.fromEntries(({MODEL})('traces_yaxis').major_label_overrides)"
        f" : ({MODEL})('traces_yaxis').major_label_overrides).length === 8",
        timeout=5000,
    )
    overrides = page.evaluate(
        f"() => {{ const o = ({MODEL})('traces_yaxis').major_label_overrides;"
        " return Array.from(o instanceof Map ? o.values() : Object.values(o)); }"
    )
    assert overrides == module_feed.labels[:8]
    header = page.locator(".eegmon-header")
    for label in module_feed.labels[:8]:
        expect(header).to_contain_text(label)
    expect(banner(page)).to_have_text(re.compile(r"^\s*MONITORING"), timeout=5000)
    assert model_value(page, "traces_source", "m.data.label.length") == 8


def test_traces_advance_at_a_bounded_rate(page) -> None:
    page.wait_for_function(f"() => ({MODEL})('traces_source').data.t_end.length > 0")
    first = model_value(page, "traces_source", "m.data.t_end[0]")
    page.wait_for_function(
        f"(t) => ({MODEL})('traces_source').data.t_end[0] > t + 0.5", arg=first, timeout=5000
    )
    # Count the data updates the page receives and the frames it paints for 2 s.
    stats = page.evaluate(
        """() => new Promise((resolve) => {
            const src = Bokeh.documents[0].get_model_by_name('traces_source');
            let last = src.data.t_end[0], updates = 0, frames = 0;
            const start = performance.now();
            function tick(now) {
                frames += 1;
                const t = src.data.t_end[0];
                if (t !== last) { updates += 1; last = t; }
                if (now - start < 2000) requestAnimationFrame(tick);
                else resolve({updates, frames, seconds: (now - start) / 1000});
            }
            requestAnimationFrame(tick);
        })"""
    )
    rate = stats["updates"] / stats["seconds"]
    print(f"trace updates {rate:.1f}/s, frames {stats['frames'] / stats['seconds']:.0f}/s")
    assert 1.5 <= rate <= 5.5, stats


def test_alert_appears_and_acknowledge_reaches_the_feed(page, module_feed: FakeFeed) -> None:
    medium = module_feed.send_alert()
    high = module_feed.send_alert(
        kind="seizure_suspect",
        severity="high",
        channels=["T3", "C3"],
        message="Rhythmic, evolving high-amplitude activity on T3, C3.",
    )
    table = page.locator(".eegmon-alerts")
    row = table.locator(".slick-row", has_text="seizure_suspect")
    expect(row).to_be_visible(timeout=2000)
    expect(row).to_contain_text("T3, C3")
    expect(table.locator(".slick-row", has_text="flatline")).to_contain_text("F3")
    # High severity first.
    assert model_value(page, "alerts_source", "m.data.kind") == ["seizure_suspect", "flatline"]

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
    if os.environ.get("EEGMON_UPDATE_SCREENSHOTS") or not README_SHOT.exists():
        # The README's picture changes only on request, so test runs leave the tree clean.
        README_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / "dashboard.png", README_SHOT)

    button = page.get_by_role("button", name="Acknowledge")
    expect(button).to_be_disabled()
    row.locator(".slick-cell").first.click()
    expect(button).to_be_enabled(timeout=2000)
    button.click()
    assert module_feed.wait_for_ack(high["id"], timeout=3) == (high["id"], "dashboard")
    # The feed confirms with an alert update; the row's state follows.
    expect(row).to_contain_text("acknowledged", timeout=2000)
    assert all(ack[0] != medium["id"] for ack in module_feed.acks)


def test_feed_loss_shows_not_monitoring_then_recovers(page, module_feed: FakeFeed) -> None:
    expect(banner(page)).to_have_text(re.compile(r"^\s*MONITORING"), timeout=5000)
    connections = module_feed.connections
    module_feed.stop()
    expect(banner(page)).to_contain_text("NOT MONITORING", timeout=5000)
    expect(banner(page)).to_contain_text("disconnected")
    page.screenshot(path=str(ARTIFACTS / "dashboard-not-monitoring.png"))

    module_feed.start()  # same port
    expect(banner(page)).to_have_text(re.compile(r"^\s*MONITORING"), timeout=5000)
    assert module_feed.connections == connections + 1
    t_end = model_value(page, "traces_source", "m.data.t_end[0]")
    page.wait_for_function(
        f"(t) => ({MODEL})('traces_source').data.t_end[0] > t", arg=t_end, timeout=3000
    )


def test_stale_feed_shows_not_monitoring(page, module_feed: FakeFeed) -> None:
    module_feed.heartbeat = False
    try:
        expect(banner(page)).to_contain_text("NOT MONITORING", timeout=6000)
        expect(banner(page)).to_contain_text("no heartbeat")
    finally:
        module_feed.heartbeat = True
    expect(banner(page)).to_have_text(re.compile(r"^\s*MONITORING"), timeout=3000)
