"""Looking back in the bed view, in a real chromium: paging, clicks on an alert and an epoch, Live.

A simulated feed runs its clock 120 times faster than real time until it has
six and a half minutes of night, then in real time, so a real dashboard
server holds that history when the page opens.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from dashboard import DashboardServer
from simulators.feed import SimulatedFeed, simulated_signal
from tests.support import BOKEH_MODEL, chromium_page, wait_for, wait_for_model

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

#: Stream seconds the feed runs fast, and how fast.
FAST_S = 390.0
SPEED = 120.0


class FastThenLive(SimulatedFeed):
    """A feed whose clock runs `speed` times faster up to `FAST_S`, then in real time."""

    def now(self) -> float:
        wall = time.monotonic() - self.t0
        fast_wall = FAST_S / self.speed
        return wall * self.speed if wall < fast_wall else FAST_S + wall - fast_wall


@pytest.fixture
def bed() -> Iterator[tuple[FastThenLive, DashboardServer]]:
    feed = FastThenLive(speed=SPEED).start()
    try:
        with DashboardServer([feed.url], port=0) as server:
            yield feed, server
    finally:
        feed.stop()


#: Where epoch `i` of the hypnogram is on the screen (its middle).
EPOCH_ON_SCREEN = f"""(i) => {{
    const fig = ({BOKEH_MODEL})('hypnogram'), data = ({BOKEH_MODEL})('hypnogram_source').data;
    const view = Bokeh.index.get_one(fig), box = view.el.getBoundingClientRect();
    const x = view.frame.x_scale.compute((data.left[i] + data.right[i]) / 2);
    return [box.left + x, box.top + view.frame.bbox.vcenter]; }}"""


def model(page: Any, name: str, expression: str) -> Any:
    return page.evaluate(f"() => {{ const m = ({BOKEH_MODEL})({name!r}); return {expression}; }}")


def drawn_page(page: Any) -> tuple[np.ndarray, np.ndarray, float]:
    """The one row of a redrawn page: stream times (n,), µV per channel (c, n), its t_end."""
    xs, ys, t_end = model(
        page,
        "traces_source",
        "[Array.from(m.data.xs[0]), Array.from(m.data.ys[0]), m.data.t_end[0]]",
    )
    n_ch = len(model(page, "traces_yaxis", "Array.from(m.major_label_overrides.keys())"))
    x = np.array(xs, dtype=float).reshape(n_ch, -1)[0, 1:-1]  # each channel: x0, samples, NaN
    y = np.array(ys, dtype=float).reshape(n_ch, -1)[:, 1:-1]
    times = x - (x[-1] - t_end)  # the newest sample is at t_end
    microvolts = -(y + np.arange(n_ch)[:, None]) * 100.0  # 100 µV/div, channel i at -i, negative up
    return times, microvolts, float(t_end)


def assert_bipolar_page(page: Any, recorded: list[str], t_end: float, expected: Any) -> None:
    """A bipolar montage applies to the past page as to the live one."""
    page.locator("select").nth(1).select_option(label="Longitudinal bipolar")
    page.wait_for_function(
        f"() => Array.from(({BOKEH_MODEL})('traces_yaxis').major_label_overrides.values())"
        ".some((label) => label.endsWith('F3-C3'))"
    )
    labels = model(page, "traces_yaxis", "Array.from(m.major_label_overrides.values())")
    labels = [label.removeprefix("⚠ ") for label in labels]  # C3 is under the alert
    times, microvolts, again = drawn_page(page)
    assert again == t_end
    f3, c3 = recorded.index("F3"), recorded.index("C3")
    np.testing.assert_allclose(
        microvolts[labels.index("F3-C3")], (expected[f3] - expected[c3])[: times.size], atol=4
    )


def test_paging_back_five_minutes_a_click_on_an_alert_and_live(bed) -> None:
    feed, server = bed
    wait_for(lambda: feed.now() >= FAST_S, timeout=20, what="the simulated night")
    onset = 150.0  # an alert of the night, long before the live page
    feed.send_alert(kind="artifact", channels=["C3"], onset=onset, message="Movement.")
    for epoch in range(10):
        feed.send_stage(epoch, "N2" if epoch % 2 else "N3")
    with chromium_page(viewport={"width": 1400, "height": 1300}) as page:
        page.goto(server.url + "bed?bed=0")
        wait_for_model(page, "traces_source", "m.data.t_end.length > 0", 20_000)
        expect(page.locator(".bk-btn", has_text="page ▶")).to_be_disabled()
        page.get_by_role("button", name=re.compile("Filter")).click()  # only the DC blocker
        page.get_by_role("button", name="60 s page").click()
        page.wait_for_function(f"() => ({BOKEH_MODEL})('display_filter').active === false")
        newest = model(page, "traces_source", "m.data.t_end[m.data.t_end.length - 1]")

        # Five pages of 60 s back; the live traces stop moving, Live is highlighted.
        back = page.get_by_role("button", name="◀ page")
        for _ in range(5):
            back.click()
        expect(page.locator(".bk-Div", has_text="Reviewing")).to_be_visible(timeout=5000)
        expect(page.get_by_role("button", name="● Live")).to_be_visible()
        page.get_by_role("button", name="10 s page").click()  # undecimated: every sample drawn
        page.wait_for_function(
            f"() => {{ const r = ({BOKEH_MODEL})('traces').x_range;"
            " return Math.abs(r.end - r.start - 10) < 1e-6; }"
        )
        times, microvolts, t_end = drawn_page(page)
        assert t_end == pytest.approx(newest - 300.0, abs=3.0)  # the page moved on meanwhile
        assert times[0] == pytest.approx(t_end - 10.0, abs=0.05)
        assert times.size >= 1270
        # The samples of that time: each channel's sine (the first, with its steps, aside).
        expected = simulated_signal(times, len(feed.labels))
        np.testing.assert_allclose(microvolts[1:], expected[1:], atol=3.0)
        time.sleep(0.5)
        assert drawn_page(page)[2] == t_end  # looking back: the page does not follow live

        assert_bipolar_page(page, feed.labels, t_end, expected)

        # A click on the alert in the night's list shows its onset on the page.
        page.locator(".eegmon-history .slick-row", has_text="artifact").click()
        page.wait_for_function(
            f"() => {{ const m = ({BOKEH_MODEL})('marks_source').data.x0,"
            f" r = ({BOKEH_MODEL})('traces').x_range;"
            " return m.length > 0 && r.start < m[0] && m[0] < r.end; }",
            timeout=5000,
        )
        assert drawn_page(page)[2] == pytest.approx(onset + 10 * 2 / 3, abs=0.05)

        # A click on the hypnogram's ninth epoch (240 s to 270 s) shows its start.
        page.wait_for_function(
            f"() => ({BOKEH_MODEL})('hypnogram_source').data.left.length === 10", timeout=5000
        )
        x, y = page.evaluate(EPOCH_ON_SCREEN, 8)
        page.mouse.click(x, y)
        page.wait_for_function(
            f"() => Math.abs(({BOKEH_MODEL})('traces_source').data.t_end[0] - {240 + 10 * 2 / 3})"
            " < 0.05",
            timeout=5000,
        )

        # Live: the page follows the newest samples again.
        page.get_by_role("button", name="● Live").click()
        expect(page.locator(".bk-Div", has_text="live")).to_be_visible(timeout=5000)
        page.wait_for_function(
            f"(t) => {{ const d = ({BOKEH_MODEL})('traces_source').data;"
            " return d.t_end[d.t_end.length - 1] > t; }",
            arg=newest,
            timeout=5000,
        )
        expect(page.locator(".bk-btn", has_text="page ▶")).to_be_disabled()
