"""`eegmon ward` end to end: real simulators, the ward's own monitor processes, a real browser.

Three beds at start and a fourth appearing later are all monitored; a
monitor killed -9 comes back on its feed with its journal continued; a
simulator that stops leaves its bed NOT MONITORING until a person removes it,
and the removal is journaled under her name.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from streamer.live.journal import read_journal
from tests.support import CHROMIUM, CHROMIUM_ARGS, Proc, require_chromium, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(180)]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

#: Electrode O1 comes off again and again: each bed journals alerts as long as it is monitored.
FLAPPING = "".join(
    f'[[event]]\nkind = "flatline"\nat = {at}\nduration = 4\nchannels = ["O1"]\n'
    for at in range(3, 300, 12)
)


def monitor_of(ward: Proc, name: str) -> psutil.Process:
    """The ward's monitor process of bed `name`."""

    def find() -> psutil.Process | None:
        for child in psutil.Process(ward.process.pid).children():
            args = child.cmdline()
            if "monitor" in args and str(Path("ward") / name / "alerts.jsonl") in " ".join(args):
                return child
        return None

    return wait_for(find, 30, f"the monitor of {name}")


def journal(data: Path, name: str) -> list[dict]:
    path = data / name / "alerts.jsonl"
    return list(read_journal(path)) if path.exists() else []


def test_a_ward_monitors_every_bed_restarts_monitors_and_keeps_lost_beds(
    eegmon, unique_name: str, tmp_path: Path
) -> None:
    require_chromium()
    scenario = tmp_path / "flapping.toml"
    scenario.write_text(FLAPPING)
    names = [f"{unique_name}-{bed}" for bed in "abcd"]
    data = tmp_path / "ward"

    def simulate(name: str, seed: int) -> Proc:
        return eegmon(
            "simulate", "--name", name, "--channels", "8", "--rate", "128", "--seed", str(seed),
            "--scenario", str(scenario),
        )  # fmt: skip

    sims = [simulate(name, seed) for seed, name in enumerate(names[:3])]
    for sim in sims:
        sim.wait_line("publishing LSL stream")
    ward = eegmon("ward", "--data-dir", str(data), "--streams", f"{unique_name}-*", "--port", "0")
    url = ward.wait_line("dashboard at ", timeout=60).split("dashboard at ")[1].split()[0]
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(url)
            tiles = page.locator(".eegmon-tile")
            for name in names[:3]:
                expect(tiles.filter(has_text=name)).to_contain_text("MONITORING", timeout=60_000)
            # A fourth bed appears after the start.
            sims.append(simulate(names[3], 3))
            expect(tiles.filter(has_text=names[3])).to_contain_text("8 ch", timeout=60_000)
            expect(tiles).to_have_count(4)

            # Bed b's monitor is killed -9: the ward starts it again, the journal goes on.
            wait_for(lambda: journal(data, names[1]), 60, "bed b's first journal line")
            before = journal(data, names[1])[-1]["seq"]
            os.kill(monitor_of(ward, names[1]).pid, signal.SIGKILL)
            ward.wait_line(f"the monitor of bed {names[1]!r} exited", timeout=15)
            started = f"[bed {names[1]}] eegmon monitor: stream"
            wait_for(
                lambda: sum(started in line for line in ward.lines) == 2, 60, "the monitor back"
            )
            wait_for(
                lambda: journal(data, names[1])[-1]["seq"] > before, 60, "the journal to go on"
            )
            seqs = [r["seq"] for r in journal(data, names[1])]
            assert seqs == list(range(1, len(seqs) + 1)), "the journal was truncated or reset"
            expect(tiles.filter(has_text=names[1])).not_to_contain_text(
                "NOT MONITORING", timeout=30_000
            )

            # Bed c's simulator stops: its bed stays, NOT MONITORING, until someone removes it.
            sims[2].stop()
            lost = tiles.filter(has_text=names[2])
            expect(lost).to_contain_text("NOT MONITORING", timeout=30_000)
            page.select_option("select", label=names[2])
            page.get_by_placeholder("Your name").fill("Night tech R.")
            page.get_by_role("button", name="Remove bed").click()
            expect(tiles.filter(has_text=names[2])).to_have_count(0, timeout=10_000)
            expect(tiles).to_have_count(3)
            removed = [r for r in journal(data, names[2]) if r["event"] == "bed_removed"]
            assert [(r["who"], r["stream"]) for r in removed] == [("Night tech R.", names[2])]
            for name in (names[0], names[3]):
                expect(tiles.filter(has_text=name)).not_to_contain_text("NOT MONITORING")
        finally:
            browser.close()
    children = psutil.Process(ward.process.pid).children(recursive=True)
    assert ward.stop() == 0
    psutil.wait_procs(children, timeout=15)
    assert not [c for c in children if c.is_running()], "the ward left monitors running"
    assert (data / names[0]).stat().st_mode & 0o777 == 0o700
