"""The night's sleep stages on the dashboard: kept by the feed client, drawn as a hypnogram."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dashboard import DashboardServer
from dashboard.feed_client import FeedClient
from simulators.feed import SimulatedFeed
from tests.support import (
    BOKEH_MODEL,
    chromium_page,
    wait_for,
    wait_for_model,
)

pytestmark = pytest.mark.timeout(60)


def test_the_client_keeps_each_epoch_s_newest_stage(feed: SimulatedFeed) -> None:
    client = FeedClient(feed.url).start()
    try:
        wait_for(lambda: client.snapshot(traces=False).connected, 5, "the feed")
        feed.send_stage(0, "W", final=False)
        feed.send_stage(1, "N1", final=False)
        feed.send_stage(0, "N1", final=True)  # the epoch revised
        feed.send_stage(1, "N2", final=False)
        snap = wait_for(
            lambda: (
                (s := client.snapshot(traces=False)).stages and s.stages[-1].stage == "N2" and s
            ),
            5,
            "the revised epochs",
        )
        assert [(e.index, e.stage, e.final) for e in snap.stages] == [
            (0, "N1", True),
            (1, "N2", False),
        ]
        assert snap.stages[1].onset == 30.0
        assert snap.stages[1].duration == 30.0
        assert snap.protocol_errors == 0
        feed.send_stage(2, "N9")  # not a stage: refused, the others kept
        wait_for(lambda: client.snapshot(traces=False).protocol_errors == 1, 5, "the refusal")
        assert len(client.snapshot(traces=False).stages) == 2
    finally:
        client.stop()


@pytest.fixture
def staged_bed() -> Iterator[tuple[SimulatedFeed, DashboardServer]]:
    bed = SimulatedFeed(name="Bed 3 EEG").start()
    server = DashboardServer([bed.url], port=0).start()
    try:
        yield bed, server
    finally:
        server.stop()
        bed.stop()


@pytest.mark.browser
def test_the_bed_page_draws_the_hypnogram_and_the_ward_shows_the_stage(
    staged_bed: tuple[SimulatedFeed, DashboardServer],
) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    bed, server = staged_bed
    night = ["W", "N1", "N2", "N2", "N3", "N2"]
    watching = server.clients[0]
    wait_for(lambda: watching.snapshot(traces=False).labels, 10, "the dashboard's hello")
    for index, stage in enumerate(night):
        bed.send_stage(index, stage, final=index < 4)
    with chromium_page() as page:
        page.goto(server.url)
        tile = page.locator('.eegmon-tile[data-bed="0"]')
        playwright_api.expect(tile.locator(".stage")).to_have_text("sleep N2?", timeout=15_000)
        page.goto(f"{server.url}bed?bed=0")
        source = f"({BOKEH_MODEL})('hypnogram_source')"
        wait_for_model(page, "hypnogram_source", f"m.data.stage.length === {len(night)}")
        data = page.evaluate(f"() => {{ const d = {source}.data;"
                             " return {stage: [...d.stage], alpha: [...d.alpha],"
                             " left: [...d.left], right: [...d.right]}; }")  # fmt: skip
        assert data["stage"] == night
        assert data["alpha"] == [1.0] * 4 + [0.3] * 2  # the provisional ones lighter
        widths = [end - start for start, end in zip(data["left"], data["right"], strict=True)]
        assert widths == pytest.approx([30.0] * len(night))
        assert data["left"][1] - data["left"][0] == pytest.approx(30.0)
        header = page.locator(".eegmon-header .stage")
        playwright_api.expect(header).to_have_text("sleep N2?", timeout=5000)
        assert page.locator(".bk-Canvas, canvas").count() > 0
        bed.send_stage(5, "REM", final=True)  # revised: the page follows
        page.wait_for_function(f"() => {source}.data.stage[5] === 'REM'", timeout=10_000)
        # the night trends' own hypnogram: the same epochs, on the trends' time axis
        model = f"({BOKEH_MODEL})"
        page.wait_for_function(
            f"() => {model}('night_hypnogram_source').data.stage[5] === 'REM'", timeout=10_000
        )
        assert page.evaluate(
            f"() => {model}('night_hypnogram').x_range === {model}('csa').x_range"
        ), "the night trends and their hypnogram are not on one time axis"
        playwright_api.expect(header).to_have_text("sleep REM", timeout=5000)
