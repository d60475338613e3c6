"""Live staging: agreement with the experts, finality, causality, blocks and gaps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from benchmarks.staging import Excerpt, read_dreams
from staging import DEADLINE_S, LiveStager, StagedEpoch, accuracy, cohen_kappa, stage_recording
from staging.agreement import STAGES
from staging.whole import stage_whole

#: Ten minutes of DREAMS excerpt 8 for the causality checks: long enough for final epochs.
MINUTES = 10


@pytest.fixture(scope="module")
def excerpt(test_data: Path) -> Excerpt:
    return read_dreams(test_data, 8)


def feed(stager: LiveStager, data: NDArray[np.float32], sizes: list[int]) -> list[StagedEpoch]:
    staged: list[StagedEpoch] = []
    first = 0
    for size in sizes:
        staged += stager.add(first, data[:, first : first + size])
        first += size
    return staged


def test_staging_agrees_with_the_experts_about_as_well_as_yasa_offline(excerpt: Excerpt) -> None:
    data, rate, labels, expert = excerpt
    stages = stage_recording(data, labels, rate)
    final = [epoch.stage for epoch in stages.final]
    live = [epoch.stage for epoch in stages.live]
    assert len(final) == len(live) == len(expert) == 60
    assert set(final) <= set(STAGES)
    assert accuracy(expert, final) >= 0.8
    assert cohen_kappa(expert, final) >= 0.55
    assert accuracy(expert, live) >= 0.8
    whole = [epoch.stage for epoch in stage_whole(data, labels, rate)]
    assert accuracy(expert, whole) >= 0.8  # YASA offline: the scan's hypnogram
    assert accuracy(expert, final) >= accuracy(expert, whole) - 0.05
    assert all(epoch.final for epoch in stages.final)
    assert all(0.2 <= epoch.confidence <= 1.0 for epoch in stages.final)


def test_every_epoch_is_staged_within_a_minute_of_its_end(excerpt: Excerpt) -> None:
    data, rate, labels, _ = excerpt
    stages = stage_recording(data[:, : round(MINUTES * 60 * rate)], labels, rate)
    assert [epoch.index for epoch in stages.live] == list(range(2 * MINUTES))
    for epoch in stages.live:
        assert epoch.onset_s == 30.0 * epoch.index
        assert epoch.staged_at_s - (epoch.onset_s + 30.0) <= DEADLINE_S


def test_stages_do_not_depend_on_how_the_stream_is_cut(excerpt: Excerpt) -> None:
    data, rate, labels, _ = excerpt
    data = data[:, : round(MINUTES * 60 * rate)]
    whole = LiveStager(labels, rate)
    at_once = whole.add(0, data) + whole.finish()
    cuts = np.cumsum(np.random.default_rng(7).integers(1, 3000, size=data.shape[1]))
    sizes = np.diff(cuts[cuts < data.shape[1]], prepend=0, append=data.shape[1]).tolist()
    pieces = LiveStager(labels, rate)
    assert feed(pieces, data, sizes) + pieces.finish() == at_once


def test_adding_samples_never_changes_a_final_epoch(excerpt: Excerpt) -> None:
    data, rate, labels, _ = excerpt
    stager = LiveStager(labels, rate)
    staged = feed(stager, data[:, : round(MINUTES * 60 * rate)], [round(rate)] * MINUTES * 60)
    staged += stager.finish()
    finals = [epoch for epoch in staged if epoch.final]
    assert len({epoch.index for epoch in finals}) == len(finals) == 2 * MINUTES
    for final in finals:
        assert staged[-1] is final or all(
            later.index != final.index for later in staged[staged.index(final) + 1 :]
        )
    assert sum(not epoch.final for epoch in staged) > 0


@pytest.mark.parametrize("epoch", [0, 9])
def test_the_live_stage_ignores_samples_after_its_deadline(excerpt: Excerpt, epoch: int) -> None:
    data, rate, labels, _ = excerpt
    data = data[:, : round(MINUTES * 60 * rate)]
    deadline = round((30.0 * (epoch + 1) + DEADLINE_S) * rate)
    changed = data.copy()
    changed[:, deadline:] = np.random.default_rng(3).normal(0, 80, changed[:, deadline:].shape)
    first = stage_recording(data, labels, rate).live[epoch]
    assert first.staged_at_s * rate <= deadline
    assert stage_recording(changed, labels, rate).live[epoch] == first


def test_a_gap_holds_the_last_value_and_repeated_samples_are_ignored(excerpt: Excerpt) -> None:
    data, rate, labels, _ = excerpt
    data = data[:, : round(3 * 60 * rate)]
    held = data.copy()
    held[:, 1000:1500] = held[:, 999:1000]
    stager = LiveStager(labels, rate)
    gapped = stager.add(0, data[:, :1000]) + stager.add(1500, data[:, 1500:]) + stager.finish()
    again = LiveStager(labels, rate)
    overlapping = again.add(0, held[:, :2000]) + again.add(1000, held[:, 1000:]) + again.finish()
    assert gapped == overlapping
    final = {epoch.index: epoch for epoch in gapped}
    assert list(final.values()) == stage_recording(held, labels, rate).final


def test_a_block_of_the_wrong_shape_is_refused() -> None:
    stager = LiveStager(["C4-M1", "E1-M2"], 100.0)
    with pytest.raises(ValueError, match=r"expected a \(2, samples\) block, got shape \(1, 10\)"):
        stager.add(0, np.zeros((1, 10), dtype=np.float32))


def test_a_mastoid_recorded_on_its_own_is_subtracted(excerpt: Excerpt) -> None:
    """Monopolar CZ and A1 (both against the amplifier's reference) stage as CZ-A1 does."""
    data, rate, labels, _ = excerpt
    derived = data[:, : round(MINUTES * 60 * rate)]
    # what both electrodes share: a slow drift and mains hum the derivation cancels
    t = np.arange(derived.shape[1]) / rate
    common = (300 * np.sin(2 * np.pi * 0.05 * t) + 40 * np.sin(2 * np.pi * 50 * t)).astype(
        np.float32
    )
    monopolar = np.vstack([derived[0] + common, common])
    expected = stage_recording(derived, labels, rate)
    got = stage_recording(monopolar, ["CZ", "A1"], rate)
    assert [e.stage for e in got.final] == [e.stage for e in expected.final]
    assert [e.stage for e in got.live] == [e.stage for e in expected.live]
    confidences = [e.confidence for e in got.final]
    assert confidences == pytest.approx([e.confidence for e in expected.final], abs=1e-3)
