"""Acquisition on real LSL outlets: labels, units, continuity counted exactly, reconnection."""

from __future__ import annotations

import numpy as np
import pylsl
import pytest

from streamer.live.acquisition import Acquisition, StreamRefused
from streamer.live.lsl import Selector, StreamNotFound, resolve
from tests.support import wait_for

RATE = 250.0


def make_outlet(name: str, labels: list[str], unit: str = "microvolts", source_id: str = "dev-1"):
    info = pylsl.StreamInfo(name, "EEG", len(labels), RATE, "float32", source_id)
    channels = info.desc().append_child("channels")
    for label in labels:
        channel = channels.append_child("channel")
        channel.append_child_value("label", label)
        channel.append_child_value("unit", unit)
        channel.append_child_value("type", "EEG")
    return pylsl.StreamOutlet(info, chunk_size=10)


def push_counter(outlet, start: int, stop: int, t0: float, n_channels: int = 3) -> None:
    """Samples whose first channel is their own index, timestamped t0 + index / rate."""
    index = np.arange(start, stop)
    chunk = np.zeros((len(index), n_channels), dtype=np.float32)
    chunk[:, 0] = index
    chunk[:, 1] = 0.001  # volts or microvolts, depending on the declared unit
    outlet.push_chunk(chunk, (t0 + index / RATE).tolist())


def read_all(acquisition: Acquisition, n_samples: int) -> list:
    blocks: list = []

    def got_all() -> bool:
        blocks.extend(acquisition.read(timeout=0.05))
        return sum(b.n_samples for b in blocks) >= n_samples

    wait_for(got_all, 10, f"{n_samples} samples")
    return blocks


def test_labels_and_units_from_any_outlet(unique_name: str) -> None:
    outlet = make_outlet(unique_name, ["Fp1", "Fp2", "Cz"], unit="volts")
    acquisition = Acquisition(resolve(Selector("name", unique_name), timeout=5))
    try:
        assert acquisition.meta.labels == ("Fp1", "Fp2", "Cz")
        assert acquisition.meta.rate == RATE
        assert acquisition.meta.source_id == "dev-1"
        wait_for(lambda o=outlet: o.have_consumers(), 5, "the inlet to connect")
        push_counter(outlet, 0, 50, pylsl.local_clock())
        blocks = read_all(acquisition, 50)
        data = np.concatenate([b.data for b in blocks], axis=1)
        assert data.dtype == np.float32
        assert data.shape == (3, 50)
        np.testing.assert_allclose(data[1], 1000.0, rtol=1e-5)  # 1 mV declared in volts
    finally:
        acquisition.close()
        del outlet


def test_gaps_are_counted_exactly(unique_name: str) -> None:
    outlet = make_outlet(unique_name, ["counter", "a", "b"])
    acquisition = Acquisition(resolve(Selector("name", unique_name), timeout=5))
    try:
        wait_for(lambda o=outlet: o.have_consumers(), 5, "the inlet to connect")
        t0 = pylsl.local_clock()
        push_counter(outlet, 0, 100, t0)
        push_counter(outlet, 137, 200, t0)  # 37 samples never sent
        push_counter(outlet, 200, 260, t0)
        blocks = read_all(acquisition, 223)
        for block in blocks:  # every sample sits at its true index
            np.testing.assert_array_equal(
                block.data[0], np.arange(block.first_index, block.first_index + block.n_samples)
            )
            assert np.all(np.diff(block.timestamps) > 0)
        assert acquisition.stats.samples_dropped == 37
        assert acquisition.stats.gaps == 1
        assert acquisition.stats.samples == 223
    finally:
        acquisition.close()
        del outlet


def test_reconnects_to_the_same_source_id_only(unique_name: str) -> None:
    first = make_outlet(unique_name, ["counter", "a", "b"], source_id="amp-7")
    acquisition = Acquisition(resolve(Selector("source_id", "amp-7"), timeout=5))
    try:
        wait_for(lambda o=first: o.have_consumers(), 5, "the inlet to connect")
        t0 = pylsl.local_clock()
        push_counter(first, 0, 20, t0)
        read_all(acquisition, 20)
        del first
        impostor = make_outlet(unique_name, ["counter", "a", "b"], source_id="amp-8")
        assert not acquisition.reconnect(timeout=0.5)
        back = make_outlet(unique_name, ["counter", "a", "b"], source_id="amp-7")
        wait_for(lambda: acquisition.reconnect(timeout=0.5), 10, "the same device to come back")
        assert acquisition.stats.reconnects == 1
        wait_for(lambda o=back: o.have_consumers(), 5, "the new inlet to connect")
        push_counter(back, 500, 520, t0)
        blocks = read_all(acquisition, 20)
        assert blocks[0].first_index == 500
        assert acquisition.stats.samples_dropped == 480
        del impostor, back
    finally:
        acquisition.close()


def test_refuses_string_and_irregular_streams(unique_name: str) -> None:
    markers = pylsl.StreamOutlet(pylsl.StreamInfo(unique_name, "EEG", 1, 0, "string", "m-1"))
    info = resolve(Selector("name", unique_name), timeout=5)
    with pytest.raises(StreamRefused, match="strings"):
        Acquisition(info)
    del markers


def test_no_match_names_what_was_searched(unique_name: str) -> None:
    with pytest.raises(StreamNotFound, match=rf"name '{unique_name}'.*visible"):
        resolve(Selector("name", unique_name), timeout=0.5)
