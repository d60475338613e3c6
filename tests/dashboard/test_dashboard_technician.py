"""The technician's screens in a real headless chromium: a ward of 12 beds, a bed's montages.

Twelve simulated feeds in this process and one dashboard server are shared by
the tests of this module, which run in order on one browser page.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dashboard import DashboardServer
from simulators.feed import SimulatedFeed
from tests.support import (
    BOKEH_MODEL,
    chromium_page,
    save_screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

MODEL = BOKEH_MODEL
SCREEN = {"width": 1920, "height": 1080}
BEDS = 12


@pytest.fixture(scope="module")
def beds() -> Iterator[list[SimulatedFeed]]:
    # Bed 1 is watched closely (its traces at the monitor's pace); the others report calmly.
    feeds = [
        SimulatedFeed(name=f"Bed {i + 1}", period=0.2 if i == 0 else 0.5).start()
        for i in range(BEDS)
    ]
    try:
        yield feeds
    finally:
        for feed in feeds:
            feed.stop()


@pytest.fixture(scope="module")
def dashboard(beds: list[SimulatedFeed]) -> Iterator[DashboardServer]:
    server = DashboardServer([bed.url for bed in beds], port=0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def page(dashboard: DashboardServer):
    with chromium_page(SCREEN) as page:
        yield page


def model_value(page, name: str, expression: str):
    return page.evaluate(f"() => {{ const m = ({MODEL})({name!r}); return {expression}; }}")


def trace_labels(page) -> list[str]:
    return model_value(page, "traces_yaxis", "Array.from(m.major_label_overrides.values())")


def wait_labels(page, labels: list[str]) -> None:
    page.wait_for_function(
        f"(want) => {{ if (!window.Bokeh || !Bokeh.documents.length) {{ return false; }}"
        f" const m = ({MODEL})('traces_yaxis');"
        " return m !== null && JSON.stringify(Array.from(m.major_label_overrides.values()))"
        " === JSON.stringify(want); }",
        arg=labels,
        timeout=10_000,
    )


def test_twelve_beds_fit_a_1920x1080_screen_their_states_in_large_colour(
    page, dashboard, beds
) -> None:
    beds[1].send_alert(kind="seizure_suspect", channels=["T3", "C3"], message="Rhythmic.")
    beds[4].send_alert()  # flatline on F3, medium
    beds[8].send_alert(kind="line_noise", channels=["Cz"], message="50 Hz on Cz.")
    beds[11].heartbeat = False  # its monitor went silent
    page.goto(dashboard.url)
    tiles = page.locator(".eegmon-tile")
    expect(tiles).to_have_count(BEDS, timeout=15_000)
    expect(tiles.nth(11)).to_contain_text("NOT MONITORING", timeout=10_000)
    expect(tiles.nth(1).locator(".urgent")).to_have_text("HIGH · seizure suspect")
    expect(tiles.nth(4).locator(".urgent")).to_have_text("MEDIUM · flatline")
    expect(tiles.nth(8).locator(".urgent")).to_have_text("LOW · line noise")
    for index in (0, 2, 3, 5):
        expect(tiles.nth(index)).to_contain_text("MONITORING")
        expect(tiles.nth(index)).not_to_contain_text("NOT MONITORING")
    # Measured in one go: tiles are rewritten as their beds change.
    boxes = tiles.evaluate_all(
        "els => els.map((e) => { const r = e.getBoundingClientRect();"
        " return [r.left, r.top, r.right, r.bottom]; })"
    )
    assert len(boxes) == BEDS
    for index, (left, top, right, bottom) in enumerate(boxes):
        assert left >= 0
        assert top >= 0
        assert right <= SCREEN["width"], f"tile {index} is cut on the right"
        assert bottom <= SCREEN["height"], f"tile {index} is below the screen"
    assert page.evaluate("() => document.documentElement.scrollHeight") <= SCREEN["height"]
    # Readable across the room: the bed's state and its most urgent alert in large type,
    # the tile in the alert's colour (read in one go: tiles are rewritten as they change).
    style = tiles.nth(1).evaluate(
        "e => [e.querySelector('.state'), e.querySelector('.urgent'), e]"
        ".map((n) => [getComputedStyle(n).fontSize, getComputedStyle(n).borderTopColor])"
    )
    assert [float(size.removesuffix("px")) >= 24 for size, _ in style[:2]] == [True, True]
    assert style[2][1] == "rgb(211, 47, 47)"  # the high alert's red
    save_screenshot(page, "ward-12.png")
    beds[11].heartbeat = True


def test_a_montage_derives_the_traces_and_the_page_remembers_it(page, dashboard, beds) -> None:
    page.goto(f"{dashboard.url}bed?bed=0")
    wait_labels(page, beds[0].labels)
    montage = page.locator('select[name="montage"]')
    montage.select_option(label="Longitudinal bipolar")
    banana = ["Fp1-F7", "F7-T3", "Fp2-F8", "Fp1-F3", "F3-C3", "Fp2-F4", "Fz-Cz"]
    wait_labels(page, banana)
    # The traces move on, one line per derivation.
    first = model_value(page, "traces_source", "m.data.t_end[m.data.t_end.length - 1] ?? 0")
    page.wait_for_function(
        f"(t) => {{ const d = ({MODEL})('traces_source').data;"
        " return d.t_end.length > 0 && d.t_end[d.t_end.length - 1] > t"
        f" && d.ys[d.ys.length - 1].length % {len(banana)} === 0; }}",
        arg=first,
        timeout=5000,
    )
    # A note from the bedside shows on the derived traces (the docs' picture of the bed view).
    beds[0].send_note("Electrode F3 re-gelled", "Ada", at=beds[0].now() - 4.0)
    page.wait_for_function(
        f"() => ({MODEL})('note_marks_source').data.x.length === 1", timeout=5000
    )
    page.locator('select[name="sensitivity"]').select_option(label="300 µV/div")
    page.wait_for_function(f"() => ({MODEL})('sensitivity').value === '300'", timeout=3000)
    page.evaluate("() => window.scrollTo(0, 0)")
    save_screenshot(page, "bed-montage-note.png")
    page.locator('select[name="sensitivity"]').select_option(label="100 µV/div")
    page.reload()
    wait_labels(page, banana)  # the browser remembered this bed's montage
    assert model_value(page, "montage", "m.value") == "Longitudinal bipolar"
    montage.select_option(label="Average reference")
    wait_labels(page, [f"{label}-avg" for label in beds[0].labels])


def test_a_channel_is_hidden_shown_and_scaled_on_its_own(page, beds) -> None:
    page.locator('select[name="montage"]').select_option(label="As recorded")
    wait_labels(page, beds[0].labels)
    channel = page.locator('select[name="channel"]')
    channel.select_option(label="C3")
    page.wait_for_function(f"() => ({MODEL})('channel').value === 'C3'", timeout=3000)
    page.get_by_role("button", name="Hide").click()
    wait_labels(page, [label for label in beds[0].labels if label != "C3"])
    expect(page.get_by_role("button", name="Show", exact=True)).to_be_visible()
    page.get_by_role("button", name="Show all").click()
    wait_labels(page, beds[0].labels)
    page.get_by_role("button", name="×2").click()
    wait_labels(page, [f"{label} ×2" if label == "C3" else label for label in beds[0].labels])
    page.get_by_role("button", name="60 s page").click()
    page.wait_for_function(
        f"() => {{ const r = ({MODEL})('traces').x_range; return r.end - r.start === 60; }}",
        timeout=5000,
    )
