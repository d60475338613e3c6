"""``eegmon acquire`` into a real monitor: BrainFlow's synthetic board, end to end."""

from __future__ import annotations

import numpy as np
import pylsl
import pytest

from tests.boards.test_brainflow import SYNTHETIC_LABELS

pytestmark = pytest.mark.slow
pytest.importorskip("brainflow")


def test_a_synthetic_board_is_monitored_and_its_loss_raised(
    eegmon, feed_client, unique_name: str
) -> None:
    board = eegmon("acquire", "--board", "synthetic", "--name", unique_name)
    board.wait_line("publishing LSL stream", timeout=30)
    monitor = eegmon("monitor", "--stream", unique_name, "--feed-port", "0", "--quiet")
    url = monitor.wait_line("feed at ", timeout=30).split("feed at ")[1].strip()
    client = feed_client(url)
    hello = client.wait(lambda m: m["type"] == "hello", 10, "hello")["stream"]
    assert hello["labels"][:8] == SYNTHETIC_LABELS
    assert hello["rate"] == 250.0
    assert hello["source_id"] == "brainflow-synthetic-default"
    client.wait(lambda m: m["type"] == "status" and m["samples"] > 750, 20, "3 s of samples")
    first = np.concatenate(
        [np.asarray(m["data"][0], dtype=float) for m in client.of_type("traces")]
    )
    assert 7.0 < np.nanstd(first) < 14.0, "channel 1 is not the synthetic board's µV"
    board.kill()
    killed_at = pylsl.local_clock()
    lost = client.wait(
        lambda m: m["type"] == "alert" and m["alert"]["kind"] == "signal_lost", 15, "signal_lost"
    )["alert"]
    assert lost["severity"] == "high"
    assert lost["detected_at"] - killed_at < 5.0
