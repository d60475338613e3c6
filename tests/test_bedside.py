"""At the bedside: real simulator, monitor and dashboard processes, the pages in real chromium.

Two beds, each a simulator and a monitor process, one dashboard process: the
ward shows both; bed A's electrode comes off, its alert reaches the page,
the technician acknowledges it under her name and the monitor's journal
records who; the monitor is killed (NOT MONITORING) and restarted on the same
feed port (monitoring again, without reloading the page). The README's and docs'
screenshots come from this test.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from streamer.live.journal import read_journal
from tests.support import (
    BOKEH_MODEL,
    CHROMIUM,
    CHROMIUM_ARGS,
    Proc,
    free_port,
    require_chromium,
    save_screenshot,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(120)]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

NEWEST = (
    f"() => {{ const d = ({BOKEH_MODEL})('traces_source').data;"
    " return d.t_end.length ? d.t_end[d.t_end.length - 1] : 0; }"
)


def journal_records(path: Path, event: str) -> list[dict]:
    if not path.exists():
        return []
    return [r for r in read_journal(path) if r["event"] == event]


def traces_advance(page, timeout: float = 5_000) -> None:
    page.wait_for_function(f"() => ({NEWEST})() > 0", timeout=timeout)
    first = page.evaluate(NEWEST)
    page.wait_for_function(f"(t) => ({NEWEST})() > t", arg=first, timeout=timeout)


@dataclass
class Bedside:
    """Two beds (simulator and monitor each) and one dashboard, started by `start_bedside`."""

    name_a: str
    name_b: str
    port_a: int
    journal: Path
    monitor_a: Proc
    url: str
    start_monitor: Callable[[str, int, Path], Proc]


def start_bedside(eegmon, unique_name: str, tmp_path: Path) -> Bedside:
    """All at once: the monitors wait for their streams, the dashboard for its feeds."""
    name_a, name_b = f"{unique_name}-a", f"{unique_name}-b"
    scenario = tmp_path / "o1_off.toml"
    scenario.write_text('[[event]]\nkind = "flatline"\nat = 3\nduration = 60\nchannels = ["O1"]\n')
    journal = tmp_path / "alerts-a.jsonl"
    port_a, port_b = free_port(), free_port()
    feed_a, feed_b = f"ws://127.0.0.1:{port_a}", f"ws://127.0.0.1:{port_b}"

    def start_monitor(name: str, port: int, alerts: Path) -> Proc:
        return eegmon(
            "monitor",
            "--stream",
            name,
            "--feed-port",
            str(port),
            "--alerts",
            str(alerts),
            "--quiet",
        )

    eegmon("simulate", "--name", name_a, "--scenario", str(scenario))
    eegmon("simulate", "--name", name_b, "--channels", "8", "--seed", "3")
    monitor_a = start_monitor(name_a, port_a, journal)
    monitor_b = start_monitor(name_b, port_b, tmp_path / "alerts-b.jsonl")
    dashboard = eegmon("dashboard", "--feed", feed_a, "--feed", feed_b, "--port", "0")
    assert monitor_a.wait_line("feed at ").endswith(feed_a)
    assert monitor_b.wait_line("feed at ").endswith(feed_b)
    url = dashboard.wait_line("dashboard at ").split("dashboard at ")[1].strip()
    return Bedside(name_a, name_b, port_a, journal, monitor_a, url, start_monitor)


def ward_shows_both_beds(page, beds: Bedside) -> None:
    """The ward: both beds, each with its own stream."""
    page.goto(beds.url)
    tile_a = page.locator('.eegmon-tile[data-bed="0"]')
    tile_b = page.locator('.eegmon-tile[data-bed="1"]')
    expect(tile_a).to_contain_text(beds.name_a, timeout=15_000)
    expect(tile_b).to_contain_text(beds.name_b, timeout=5_000)
    expect(tile_a).to_contain_text("19 ch")
    expect(tile_b).to_contain_text("8 ch")
    expect(page.locator(".eegmon-tile", has_text="NOT MONITORING")).to_have_count(0, timeout=10_000)


def bed_a_shows_its_labels_and_moving_traces(page, beds: Bedside) -> None:
    page.locator('.eegmon-tile[data-bed="0"]').click()
    header = page.locator(".eegmon-header")
    expect(header).to_contain_text(beds.name_a, timeout=15_000)
    expect(header).to_contain_text("Fp1, Fp2")
    expect(page.locator(".eegmon-banner")).to_contain_text("MONITORING")
    traces_advance(page, timeout=10_000)


def electrode_off_alert_reaches_the_page(page, beds: Bedside) -> tuple[object, dict]:
    """The alert is on the page within 2 s of its journal line; returns its row and alert."""
    wait_for(lambda: journal_records(beds.journal, "raised"), 30, "the flatline alert")
    row = page.locator(".eegmon-alerts .slick-row", has_text="flatline")
    expect(row).to_be_visible(timeout=2_000)
    expect(row).to_contain_text("O1")
    raised = journal_records(beds.journal, "raised")[0]["alert"]
    assert raised["kind"] == "flatline"
    assert raised["channels"] == ["O1"]
    return row, raised


def acknowledge_under_a_name(page, beds: Bedside, row, raised: dict) -> None:
    """Acknowledged under the technician's name: the journal records who."""
    page.get_by_placeholder("Your name").fill("Nurse Ada")
    page.get_by_placeholder("Your name").press("Enter")
    row.locator(".slick-cell").nth(1).click()
    page.get_by_role("button", name="Acknowledge").click()
    expect(row).to_contain_text("acknowledged by Nurse Ada", timeout=5_000)
    record = wait_for(
        lambda: journal_records(beds.journal, "acknowledged"), 5, "the acknowledgement"
    )[0]
    assert record["alert"]["id"] == raised["id"]
    assert record["who"] == "Nurse Ada"
    assert record["alert"]["acknowledged_by"] == "Nurse Ada"


def monitor_restart_is_seen_without_reload(page, beds: Bedside) -> None:
    """The monitor dies: NOT MONITORING within 5 s; back on the same port, no reload."""
    page.evaluate("() => { window.notReloaded = true; }")
    beds.monitor_a.kill()
    killed = time.monotonic()
    expect(page.locator(".eegmon-banner")).to_contain_text("NOT MONITORING", timeout=5_000)
    assert time.monotonic() - killed < 5.0
    beds.start_monitor(beds.name_a, beds.port_a, beds.journal)
    expect(page.locator(".eegmon-banner")).to_have_text(
        re.compile(r"^\s*MONITORING"), timeout=20_000
    )
    traces_advance(page)
    assert page.evaluate("() => window.notReloaded === true")


def ward_shows_bed_a_alert(page) -> None:
    """Back to the ward: both beds monitored, bed A's acknowledged or new alert shown."""
    page.get_by_role("link", name="Ward").click()
    expect(page.locator(".eegmon-tile")).to_have_count(2, timeout=15_000)
    expect(page.locator(".eegmon-tile", has_text="NOT MONITORING")).to_have_count(0)
    expect(page.locator('.eegmon-tile[data-bed="0"]')).to_contain_text(
        "flatline on O1", timeout=10_000
    )


def test_two_beds_alert_acknowledge_and_monitor_restart(
    eegmon, unique_name: str, tmp_path: Path
) -> None:
    require_chromium()
    beds = start_bedside(eegmon, unique_name, tmp_path)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            ward_shows_both_beds(page, beds)
            bed_a_shows_its_labels_and_moving_traces(page, beds)
            row, raised = electrode_off_alert_reaches_the_page(page, beds)
            acknowledge_under_a_name(page, beds, row, raised)
            page.evaluate("() => window.scrollTo(0, 0)")
            save_screenshot(page, "bed.png")
            monitor_restart_is_seen_without_reload(page, beds)
            ward_shows_bed_a_alert(page)
            save_screenshot(page, "ward.png")
            assert not errors, f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()
