"""The dashboard in a real headless chromium, fed by real feed servers on loopback.

The tests of this module share two feeds (bed 7 in real time, bed 8 on an
accelerated clock so its night trends fill in seconds), one dashboard server
and one browser page, and run in order: the last one stops the dashboard
server itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from dashboard import DashboardServer
from simulators.feed import LABELS, SimulatedFeed
from tests.support import (
    BOKEH_MODEL,
    ROOT,
    chromium_page,
    wait_for_model,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

ARTIFACTS = ROOT / "tests" / "artifacts"
MODEL = BOKEH_MODEL
#: Lets the page start its alarm tone without a click, as after a technician's first click.
AUDIO_ARGS = ["--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="module")
def beds() -> Iterator[tuple[SimulatedFeed, SimulatedFeed]]:
    bed7 = SimulatedFeed(name="Bed 7 EEG").start()
    bed8 = SimulatedFeed(
        name="Bed 8 EEG", labels=["F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2"], speed=40.0
    ).start()
    try:
        yield bed7, bed8
    finally:
        bed7.stop()
        bed8.stop()


@pytest.fixture(scope="module")
def dashboard(beds: tuple[SimulatedFeed, SimulatedFeed]) -> Iterator[DashboardServer]:
    server = DashboardServer([bed.url for bed in beds], port=0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def page(dashboard: DashboardServer):
    with chromium_page(extra_args=AUDIO_ARGS) as page:
        yield page


def wait_model(page, model: str) -> None:
    wait_for_model(page, model)


def open_page(page, url: str, model: str) -> None:
    page.goto(url)
    wait_model(page, model)


def range_is(seconds: int) -> str:
    return (
        f"() => {{ const r = ({MODEL})('traces').x_range;"
        f" return Math.abs(r.end - r.start - {seconds}) < 1e-6; }}"
    )


def model_value(page, name: str, expression: str):
    return page.evaluate(f"() => {{ const m = ({MODEL})({name!r}); return {expression}; }}")


def newest_trace_time(page) -> float:
    return model_value(page, "traces_source", "m.data.t_end[m.data.t_end.length - 1] ?? 0")


def banner(page):
    return page.locator(".eegmon-banner")


def test_ward_shows_every_bed_with_its_state_and_head_map(page, dashboard, beds) -> None:
    open_page(page, dashboard.url, "ward")
    tiles = page.locator(".eegmon-tile")
    expect(tiles).to_have_count(2)
    for index, bed in enumerate(beds):
        tile = page.locator(f'.eegmon-tile[data-bed="{index}"]')
        expect(tile).to_contain_text(bed.name, timeout=5000)
        expect(tile).to_contain_text("MONITORING")
        expect(tile).not_to_contain_text("NOT MONITORING")
        # One dot per channel on the head map, green while the quality is good.
        expect(tile.locator("svg circle[fill='#2e7d32']")).to_have_count(len(bed.labels))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-ward.png"))


def test_a_tile_opens_the_bed_with_its_labels_and_moving_traces(page, beds) -> None:
    page.locator('.eegmon-tile[data-bed="0"]').click()
    wait_model(page, "traces_source")
    # No GPU here: the pages' probe chose the plain canvas, remembered in a cookie.
    assert model_value(page, "traces", "m.output_backend") == "canvas"
    assert "eegmon_render=canvas" in page.evaluate("() => document.cookie")
    expect(page.locator(".eegmon-header")).to_contain_text(beds[0].name, timeout=5000)
    labels = model_value(page, "traces_yaxis", "Array.from(m.major_label_overrides.values())")
    assert labels == beds[0].labels
    page.wait_for_function(f"() => ({MODEL})('traces_source').data.t_end.length > 0", timeout=5000)
    first = newest_trace_time(page)
    page.wait_for_function(
        f"(t) => {{ const d = ({MODEL})('traces_source').data;"
        " return d.t_end[d.t_end.length - 1] > t; }",
        arg=first,
        timeout=3000,
    )
    # Every channel of the page is one multi_line row per refresh; the page holds one page.
    row_points = model_value(page, "traces_source", "m.data.ys[m.data.ys.length - 1].length")
    assert row_points % len(beds[0].labels) == 0
    x_range = model_value(page, "traces", "[m.x_range.start, m.x_range.end]")
    assert x_range[1] - x_range[0] == pytest.approx(10.0)


def test_page_length_sensitivity_and_filter_redraw_the_traces(page) -> None:
    page.get_by_role("button", name="30 s page").click()
    page.wait_for_function(range_is(30), timeout=3000)
    ticks = model_value(page, "traces", "m.below[0].ticker.interval")
    assert ticks == 5  # a grid line every 5 s on a 30 s page, every second on a 10 s one

    # Peak-to-peak of the last channel (a 40 µV sine) in the newest row, in divisions.
    last_channel_span = f"""() => {{
        const d = ({MODEL})('traces_source').data, ys = d.ys[d.ys.length - 1];
        const n = ys.length / {len(LABELS)};
        const y = Array.from(ys.slice(ys.length - n)).filter((v) => Number.isFinite(v));
        return Math.max(...y) - Math.min(...y); }}"""
    page.locator("select").first.select_option(label="1000 µV/div")
    page.wait_for_function(f"() => ({MODEL})('sensitivity').value === '1000'", timeout=3000)
    page.wait_for_function(f"() => ({last_channel_span})() < 0.1", timeout=3000)
    page.locator("select").first.select_option(label="20 µV/div")
    page.wait_for_function(f"() => ({MODEL})('sensitivity').value === '20'", timeout=3000)
    page.wait_for_function(f"() => ({last_channel_span})() > 1.0", timeout=3000)
    page.get_by_role("button", name=re.compile("Filter")).click()
    page.wait_for_function(f"() => ({MODEL})('display_filter').active === false", timeout=3000)
    page.get_by_role("button", name="10 s page").click()
    page.locator("select").first.select_option(label="100 µV/div")
    page.get_by_role("button", name=re.compile("Filter")).click()
    page.wait_for_function(range_is(10), timeout=3000)


def test_alerts_appear_sorted_marked_and_highlighted(page, beds) -> None:
    bed = beds[0]
    medium = bed.send_alert()  # flatline on F3: a quality alert
    high = bed.send_alert(
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
    assert model_value(page, "alerts_source", "m.data.kind") == ["seizure_suspect", "flatline"]
    # High is red and flashing; the alarm bar names the bed, the kind and the channels.
    expect(row.locator(".sev-high")).to_have_css("animation-name", "eegmon-flash")
    expect(page.locator(".eegmon-alarm-bar")).to_contain_text(
        "HIGH ALERT seizure_suspect on T3, C3"
    )
    # Marks on the time axis, and the channel of the quality alert highlighted.
    page.wait_for_function(f"() => ({MODEL})('marks_source').data.x0.length >= 2", timeout=3000)
    page.wait_for_function(
        f"() => ({MODEL})('highlight_source').data.label.join() === 'F3'", timeout=3000
    )
    labels = model_value(page, "traces_yaxis", "Array.from(m.major_label_overrides.values())")
    assert "⚠ F3" in labels
    expect(page.locator(".eegmon-history .slick-row", has_text="seizure_suspect")).to_be_visible()
    bed.last_alerts = (medium, high)  # for the next tests


def test_tone_sounds_for_a_high_alert_and_the_mute_is_timed(page) -> None:
    page.wait_for_function("() => window.eegmon && window.eegmon.beeps >= 1", timeout=5000)
    mute = page.locator("button", has_text="Silence alarm")
    mute.click()
    page.wait_for_function("() => window.eegmon.muted", timeout=2000)
    expect(page.locator("button", has_text=re.compile(r"Silenced 1:5\d"))).to_be_visible()
    beeps = page.evaluate("() => window.eegmon.beeps")
    # Past the moment the tone would have sounded again (every 3 s), and a tick later.
    ticks = page.evaluate("() => window.eegmon.ticks")
    page.wait_for_function(
        f"() => Date.now() - window.eegmon.lastTone > 3300 && window.eegmon.ticks > {ticks}",
        timeout=5000,
    )
    assert page.evaluate("() => window.eegmon.beeps") == beeps
    assert page.evaluate("() => window.eegmon.muted")
    # The technician's name, for acknowledgements, is kept by the browser.
    page.get_by_placeholder("Your name").fill("Nurse Ada")
    page.get_by_placeholder("Your name").press("Enter")
    page.wait_for_function("() => localStorage.getItem('eegmon.who') === 'Nurse Ada'")


def test_night_trends_fill_from_an_accelerated_night(page, dashboard, beds) -> None:
    open_page(page, dashboard.url + "bed?bed=1&render=canvas", "csa_source")
    expect(page.get_by_placeholder("Your name")).to_have_value("Nurse Ada", timeout=5000)
    page.get_by_text("Night trends", exact=True).click()
    page.wait_for_function(f"() => ({MODEL})('trend_source').data.x.length >= 3", timeout=10_000)
    shape = model_value(page, "csa_source", "[m.data.image[0].length]")
    assert shape[0] > 0
    options = model_value(page, "trend_channel", "m.options.map((o) => o[1])")
    assert options == beds[1].labels
    page.screenshot(path=str(ARTIFACTS / "dashboard-trends.png"))


def test_acknowledge_sends_the_name_remembered_by_the_browser(page, dashboard, beds) -> None:
    bed = beds[0]
    medium, high = bed.last_alerts
    open_page(page, dashboard.url + "bed?bed=0", "alerts_source")
    assert model_value(page, "traces", "m.output_backend") == "canvas"  # from the cookie
    expect(page.get_by_placeholder("Your name")).to_have_value("Nurse Ada", timeout=5000)
    row = page.locator(".eegmon-alerts .slick-row", has_text="seizure_suspect")
    expect(row).to_be_visible(timeout=5000)
    # Its condition is over but it latches: it stays, saying so, until acknowledged.
    high = bed.send_alert(**(high | {"ended_at": bed.now()}))
    expect(row).to_contain_text("over, unacknowledged", timeout=2000)
    button = page.get_by_role("button", name="Acknowledge")
    expect(button).to_be_disabled()
    row.locator(".slick-cell").nth(1).click()
    expect(button).to_be_enabled(timeout=2000)
    button.click()
    assert bed.wait_for_ack(high["id"], timeout=3) == (high["id"], "Nurse Ada")
    expect(row).to_contain_text("acknowledged", timeout=2000)
    assert all(ack[0] != medium["id"] for ack in bed.acks)
    # Acknowledged: the high alert no longer sounds nor flashes in the alarm bar.
    page.wait_for_function("() => window.eegmon.keys.length === 0", timeout=3000)
    expect(page.locator(".eegmon-alarm-bar")).to_be_hidden()


def test_feed_loss_shows_not_monitoring_then_recovers(page, dashboard, beds) -> None:
    bed = beds[0]
    expect(banner(page)).to_have_text(re.compile(r"^\s*MONITORING"), timeout=5000)
    page.evaluate("() => { window.notReloaded = true; }")
    connections = bed.connections
    bed.stop()
    expect(banner(page)).to_contain_text("NOT MONITORING", timeout=5000)
    expect(banner(page)).to_contain_text("disconnected")
    expect(page.locator(".eegmon-alarm-bar")).to_contain_text(f"{bed.name}: NOT MONITORING")
    page.wait_for_function("() => window.eegmon.keys.includes('0:not-monitoring')", timeout=3000)
    page.screenshot(path=str(ARTIFACTS / "dashboard-not-monitoring.png"))

    bed.start()  # same port
    expect(banner(page)).to_have_text(re.compile(r"^\s*MONITORING"), timeout=5000)
    assert bed.connections == connections + 1
    first = newest_trace_time(page)
    page.wait_for_function(
        f"(t) => {{ const d = ({MODEL})('traces_source').data;"
        " return d.t_end[d.t_end.length - 1] > t; }",
        arg=first,
        timeout=3000,
    )
    assert page.evaluate("() => window.notReloaded === true")


def test_the_page_itself_notices_when_the_dashboard_server_is_gone(page, dashboard) -> None:
    overlay = page.locator("#eegmon-client-lost")
    expect(overlay).to_have_count(0)
    dashboard.stop()
    expect(overlay).to_contain_text("NOT MONITORING", timeout=5000)
    expect(overlay).to_contain_text("lost its connection to the dashboard server")
    page.wait_for_function("() => window.eegmon.keys.includes('dashboard-connection')")
