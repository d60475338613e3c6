"""Filters and windows give the same result whatever the block boundaries."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from detector import Block, Detector, DetectorConfig, StreamMeta
from detector.filters import StreamingFilter, design_sos
from detector.windows import WindowBuffer


def split(n: int, cuts: list[int]) -> list[slice]:
    edges = sorted({0, n, *(c % (n + 1) for c in cuts)})
    return [slice(a, b) for a, b in itertools.pairwise(edges)]


cuts_st = st.lists(st.integers(min_value=0, max_value=10_000), max_size=30)


@settings(max_examples=60, deadline=None)
@given(cuts=cuts_st, rate=st.sampled_from([100.0, 173.61, 256.0, 1000.0]))
def test_filtering_in_blocks_equals_filtering_whole(cuts, rate):
    x = np.random.default_rng(0).normal(scale=20.0, size=(3, 700)) + 40.0
    sos = design_sos(rate, 0.5, 50.0, min(70.0, 0.45 * rate), 4)
    whole = StreamingFilter(sos, 3).filter(x)
    f = StreamingFilter(sos, 3)
    parts = np.concatenate([f.filter(x[:, s]) for s in split(700, cuts)], axis=1)
    np.testing.assert_allclose(parts, whole, rtol=0, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(cuts=cuts_st, size=st.integers(2, 40), hop_fraction=st.floats(0.05, 1.0))
def test_windows_do_not_depend_on_block_boundaries(cuts, size, hop_fraction):
    hop = max(1, round(size * hop_fraction))
    n = 300
    x = np.arange(2 * n, dtype=float).reshape(2, n)
    bad = np.zeros((2, n), dtype=bool)
    ts = np.arange(n) / 10.0

    def windows(slices):
        buf = WindowBuffer(2, size, hop)
        return [
            (w.raw.copy(), w.timestamps.copy())
            for s in slices
            for w in buf.push(x[:, s], x[:, s], bad[:, s], ts[s])
        ]

    whole = windows([slice(0, n)])
    parts = windows(split(n, cuts))
    assert len(whole) == len(parts) == (n - size) // hop + 1
    for (a_raw, a_ts), (b_raw, b_ts) in zip(whole, parts, strict=True):
        np.testing.assert_array_equal(a_raw, b_raw)
        np.testing.assert_array_equal(a_ts, b_ts)
    assert [w[1][-1] for w in whole] == [ts[j * hop + size - 1] for j in range(len(whole))]


@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_detector_output_does_not_depend_on_block_boundaries(cuts):
    meta = StreamMeta("s", "id", ("A", "B", "C"), 128.0)
    rng = np.random.default_rng(2)
    x = rng.normal(scale=15.0, size=(3, 1600)).astype(np.float32)
    x[1, 600:1000] = 0.0
    x[2, 100:110] = np.nan
    ts = np.arange(1600) / 128.0
    config = DetectorConfig(warmup_windows=5)

    def run(slices):
        det = Detector(meta, config)
        outs = [det.process(Block(x[:, s], ts[s], s.start)) for s in slices]
        windows = [w for o in outs for w in o.windows]
        alerts = [(a.id, a.state, a.channels, a.onset) for o in outs for a in o.alerts]
        return windows, alerts

    whole_w, whole_a = run([slice(0, 1600)])
    part_w, part_a = run(split(1600, cuts))
    assert part_a == whole_a
    assert [(w.end, w.quality, w.warming_up) for w in part_w] == [
        (w.end, w.quality, w.warming_up) for w in whole_w
    ]
    # Features of a whole block are computed in one batch, of small blocks one
    # window at a time: the values must be exactly the same.
    assert [w.score for w in part_w] == [w.score for w in whole_w]
