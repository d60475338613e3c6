"""Live sleep staging in the monitor: a real DREAMS night replayed, its epochs on the feed
and in a browser's hypnogram."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dashboard import DashboardServer
from detector.types import Block, StreamMeta
from streamer.live.staging_sink import StagingSink
from tests.files.dreams import DREAMS_RATE, dreams_edf
from tests.support import BOKEH_MODEL, chromium_page, wait_for, wait_for_model

#: The stream time after an epoch's end within which it must be on the feed.
DEADLINE_S = 60.0
EPOCHS = 2


def status_after(messages: list[dict], message: dict) -> dict | None:
    """The first status message after `message`."""
    position = next(i for i, m in enumerate(messages) if m is message)
    return next((m for m in messages[position:] if m["type"] == "status"), None)


@pytest.mark.slow
@pytest.mark.browser
def test_each_epoch_is_on_the_feed_within_a_minute_of_its_end(
    eegmon, feed_client, unique_name: str, test_data: Path, tmp_path: Path
) -> None:
    night = dreams_edf(test_data / "dreams_spindles" / "excerpt2.txt", tmp_path / "n.edf", 10)
    player = eegmon("replay", str(night), "--speed", "3", "--name", unique_name)
    player.wait_line("waiting for an inlet")
    watcher = eegmon(
        "monitor", "--stream", unique_name, "--feed-port", "0", "--quiet", "--resolve-timeout", "30"
    )
    url = watcher.wait_line("feed at ", timeout=30).split("feed at ")[1].strip()
    client = feed_client(url)
    last = client.wait(
        lambda m: m["type"] == "stage" and m["index"] == EPOCHS - 1, 55, "the second epoch"
    )
    wait_for(
        lambda: client.messages[-1] is not last and status_after(client.messages, last),
        5,
        "a status",
    )
    messages = list(client.messages)
    assert status_after(messages, last)["stage"]["stage"] in {"W", "N1", "N2", "N3", "REM"}
    first_seen: dict[int, float] = {}
    for position, message in enumerate(messages):
        if message["type"] == "stage" and message["index"] not in first_seen:
            # the stream time then: the samples received by the next status, a little later
            status = next(m for m in messages[position:] if m["type"] == "status")
            first_seen[message["index"]] = status["samples"] / DREAMS_RATE
    assert sorted(first_seen)[:EPOCHS] == list(range(EPOCHS))
    for index in range(EPOCHS):
        assert first_seen[index] - (index + 1) * 30.0 <= DEADLINE_S, (
            f"epoch {index} late {first_seen}"
        )
    stages = [m for m in messages if m["type"] == "stage"]
    onsets = {m["index"]: m["onset"] for m in stages}
    assert all(onsets[i] - onsets[0] == pytest.approx(30.0 * i) for i in onsets)
    assert {m["stage"] for m in stages} <= {"W", "N1", "N2", "N3", "REM"}
    assert all(m["duration"] == 30.0 and 0 < m["confidence"] <= 1 for m in stages)
    # provisional first, staged again as later epochs come
    assert not stages[0]["final"]
    assert sum(m["index"] == 0 for m in stages) > 1
    assert player.process.poll() is None
    assert watcher.process.poll() is None
    # and the bed view draws them: each epoch at its newest stage, as the feed says
    source = f"({BOKEH_MODEL})('hypnogram_source')"

    def feed_says() -> list[str]:
        newest = {m["index"]: m["stage"] for m in client.of_type("stage")}
        return [newest[i] for i in range(EPOCHS)]

    with DashboardServer([url], port=0) as server, chromium_page() as page:
        page.goto(server.url + "bed?bed=0")
        wait_for_model(page, "hypnogram_source", f"m.data.stage.length >= {EPOCHS}", 20_000)
        wait_for(
            lambda: page.evaluate(f"() => [...{source}.data.stage]")[:EPOCHS] == feed_says(),
            10,
            "the page's hypnogram to show the feed's stages",
        )


def test_no_eeg_channel_leaves_staging_off_and_says_why() -> None:
    published: list[dict] = []
    sink = StagingSink(StreamMeta("ecg", "ecg", ("ECG", "Resp"), 200.0), published.append)
    # The stager starts once a first epoch is complete: 30 s at 200 Hz.
    sink.block(Block(np.zeros((2, 6000), np.float32), np.arange(6000) / 200.0, 0))
    status = wait_for(lambda: sink.status()["stage"].get("error"), 30, "the reason")
    assert "no EEG channel" in status
    sink.close()
    assert published == []


def test_a_slow_stream_is_not_staged() -> None:
    sink = StagingSink(StreamMeta("slow", "slow", ("C4-M1",), 32.0), lambda message: None)
    assert "below 50 Hz" in sink.status()["stage"]["error"]
    sink.close()
