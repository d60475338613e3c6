"""At the bedside: real simulator, monitor and dashboard processes, the page in real chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import BOKEH_MODEL, CHROMIUM, CHROMIUM_ARGS, require_chromium, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.browser]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


def test_alert_reaches_the_page_and_acknowledge_reaches_the_journal(
    eegmon, unique_name: str, tmp_path: Path
) -> None:
    require_chromium()
    scenario = tmp_path / "o1_off.toml"
    scenario.write_text('[[event]]\nkind = "flatline"\nat = 8\nduration = 60\nchannels = ["O1"]\n')
    journal = tmp_path / "alerts.jsonl"
    eegmon("simulate", "--name", unique_name, "--scenario", str(scenario)).wait_line("publishing")
    monitor = eegmon(
        "monitor", "--stream", unique_name, "--feed-port", "0", "--alerts", str(journal), "--quiet"
    )
    feed = monitor.wait_line("feed at ").split("feed at ")[1].strip()
    dashboard = eegmon("dashboard", "--feed", feed, "--port", "0")
    url = dashboard.wait_line("dashboard at ").split("dashboard at ")[1].strip()

    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            expect(page.locator(".eegmon-header")).to_contain_text("Fp1", timeout=15_000)
            expect(page.locator(".eegmon-banner")).to_contain_text("MONITORING")
            newest = f"() => ({BOKEH_MODEL})('traces_source').data.t_end[0]"
            page.wait_for_function(f"() => ({newest})() > 0", timeout=10_000)
            first = page.evaluate(newest)
            page.wait_for_function(f"(t) => ({newest})() > t", arg=first, timeout=5_000)

            row = page.locator(".eegmon-alerts .slick-row", has_text="flatline")
            expect(row).to_be_visible(timeout=15_000)
            expect(row).to_contain_text("O1")
            raised = next(
                json.loads(line)
                for line in journal.read_text().splitlines()
                if json.loads(line)["event"] == "raised"
            )
            row.locator(".slick-cell").first.click()
            page.get_by_role("button", name="Acknowledge").click()
            expect(row).to_contain_text("acknowledged", timeout=5_000)
        finally:
            browser.close()

    def acknowledged() -> dict | None:
        for line in journal.read_text().splitlines():
            record = json.loads(line)
            if record["event"] == "acknowledged":
                return record
        return None

    record = wait_for(acknowledged, 5, "the acknowledgement in the journal")
    assert record["alert"]["id"] == raised["alert"]["id"]
    assert record["who"] == "dashboard"
    assert record["alert"]["acknowledged_by"] == "dashboard"
