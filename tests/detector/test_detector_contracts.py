"""Generic contracts of every stage: parameters stored as given, clone, pickle, determinism."""

from __future__ import annotations

import copy
import inspect
import pickle

import numpy as np
import pytest
from river import anomaly

from benchmarks import scorers
from benchmarks.scorers import FeatureDeviation, PerFeature
from detector import Block, Detector, DetectorConfig, StreamMeta
from detector.alerts import AlertBook
from detector.filters import StreamingFilter, design_sos
from detector.model import FeatureCovariance, QuantileThreshold
from detector.seizure import ChannelBaseline
from detector.windows import WindowBuffer
from evaluation.baseline import LineLengthBaseline
from protocol.kinds import KINDS

META = StreamMeta("s", "id", ("A", "B"), 128.0)
STAGES = [
    StreamingFilter(design_sos(128.0, 0.5, 50.0, 50.0, 4), 2),
    WindowBuffer(2, 128, 64),
    FeatureDeviation(grace_period=5),
    FeatureCovariance(grace_period=5),
    QuantileThreshold(q=0.9, margin=1.2, memory=50),
    AlertBook(
        META,
        2,
        3,
        3,
        "x:",
        {"electrode_pop": (1, 1, 3)},
        10.0,
        300.0,
        ("seizure_suspect",),
        {"seizure_suspect": (2, 3)},
    ),
    Detector(META, DetectorConfig(warmup_windows=7), id_prefix="x:", scorer=FeatureDeviation()),
    PerFeature(anomaly.StandardAbsoluteDeviation),
    ChannelBaseline(2, 100),
    LineLengthBaseline(META, 3.0, 60.0, 1.0, 0.5),
]


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: type(s).__name__)
def test_init_stores_parameters_under_their_names(stage):
    for name in inspect.signature(type(stage)).parameters:
        assert hasattr(stage, name), f"{type(stage).__name__} does not keep {name!r}"


@pytest.mark.parametrize("model", ["deviation", "covariance", "hst"])
def test_pickled_detector_continues_exactly_like_the_original(meta19, eeg19, feed_blocks, model):
    data = eeg19(40.0, seed=8)
    data[4, 30 * 256 :] = 0.0
    config, scorer = scorers.make(model, DetectorConfig(warmup_windows=20))
    det = Detector(meta19, config, scorer=scorer)
    feed_blocks(det, data[:, : 20 * 256])
    twin = pickle.loads(pickle.dumps(det))
    deep = copy.deepcopy(det)
    outs = [feed_blocks(d, data[:, 20 * 256 :], first_index=20 * 256) for d in (det, twin, deep)]
    assert outs[0].alerts, "the flat channel should raise an alert"
    assert outs[0] == outs[1] == outs[2]


@pytest.mark.parametrize("model", ["deviation", "covariance", "hst"])
def test_same_seed_same_output_and_clone_starts_fresh(meta19, eeg19, feed_blocks, model):
    data = eeg19(40.0, seed=9) * np.linspace(1, 6, 40 * 256)
    config, scorer = scorers.make(model, DetectorConfig(warmup_windows=20), seed=3)
    first = Detector(meta19, config, scorer=scorer)
    a = feed_blocks(first, data, seed=1)
    b = feed_blocks(Detector(meta19, config, scorer=scorer), data, seed=2)
    assert a.alerts == b.alerts
    assert [w.score for w in a.windows] == pytest.approx([w.score for w in b.windows])
    fresh = first.clone()
    assert (fresh.stream, fresh.config, fresh.id_prefix, fresh.learned_windows) == (
        first.stream,
        first.config,
        first.id_prefix,
        0,
    )
    assert fresh.scorer is first.scorer  # the same prototype: clones of it learn
    assert [w.score for w in feed_blocks(fresh, data, seed=1).windows] == [
        w.score for w in a.windows
    ]


def test_config_defaults_are_valid_and_documented():
    config = DetectorConfig()
    doc = inspect.getdoc(DetectorConfig) or ""
    for name in inspect.signature(DetectorConfig).parameters:
        assert name in doc, f"{name} is not documented"
    assert config.lowpass_for(256.0) == 70.0
    assert config.lowpass_for(100.0) == 45.0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"hop_s": 0}, "hop_s must be a positive number, got 0"),
        ({"notch_hz": -50.0}, "notch_hz must be a positive number, got -50.0"),
        ({"window_s": float("nan")}, "window_s must be a positive number, got nan"),
        ({"line_noise_ratio": 1.5}, "line_noise_ratio must be strictly between 0 and 1, got 1.5"),
        ({"raise_k": 4}, r"raise_k \(4\) cannot exceed raise_n \(3\)"),
        ({"hop_s": 2.0}, r"hop_s \(2.0\) cannot exceed window_s \(1.0\)"),
        ({"clear_m": True}, "clear_m must be an integer >= 1, got True"),
        ({"anomaly_margin": 0.0}, "anomaly_margin must be a positive number, got 0.0"),
        ({"warmup_windows": -1}, "warmup_windows must be an integer >= 0, got -1"),
    ],
)
def test_bad_settings_are_refused_with_the_value_quoted(settings, message):
    with pytest.raises(ValueError, match=message):
        DetectorConfig(**settings)


def test_unknown_setting_is_refused_by_name():
    with pytest.raises(ValueError, match=r"^unknown detector setting 'window'$"):
        DetectorConfig.from_dict({"window": 2.0})
    assert DetectorConfig.from_dict({"window_s": 2.0, "hop_s": 1.0}).window_s == 2.0
    # The detector has one scorer: the benchmarks compare others (benchmarks/scorers.py).
    with pytest.raises(ValueError, match=r"^unknown detector setting 'model'$"):
        DetectorConfig.from_dict({"model": "covariance"})


def test_window_too_short_for_rate_is_refused():
    with pytest.raises(ValueError, match="too short"):
        Detector(StreamMeta("s", "i", ("A",), 1.0), DetectorConfig(window_s=1.0, hop_s=0.4))


def test_stalled_refuses_negative_silence():
    with pytest.raises(ValueError, match=r"got -1\.0"):
        Detector(META).stalled(at=3.0, silent_for=-1.0)


# -- one generic suite over every stage: feed, pickle mid-way, a flat channel, NaN input ----
def _feed_filter(stage, x):
    return stage.filter(x)


def _feed_buffer(stage, x):
    bad = ~np.isfinite(x)
    return [w.raw.copy() for w in stage.push(x, x, bad, np.arange(x.shape[1]) / 128.0)]


def _feed_scorer(stage, x):
    scores = []
    for column in x.T[::16]:
        v = {"a": float(column[0]), "b": float(column[1])}
        scores.append(stage.score_one(v))
        stage.learn_one(v)
    return scores


def _feed_threshold(stage, x):
    for v in x[0, ::8]:
        stage.update(float(v))
    return stage.get()


def _feed_baseline(stage, x):
    windows = x.reshape(2, -1, 64)
    rms = np.sqrt(np.nanmean(windows**2, axis=2))
    line_length = np.nanmean(np.abs(np.diff(windows, axis=2)), axis=2)
    out = []
    for amplitude, length in zip(rms.T, line_length.T, strict=True):
        out.append(stage.ratios(amplitude, length))
        stage.learn(amplitude, length)
    return out


def _feed_detector(stage, x):
    out = stage.process(Block(x.astype(np.float32), np.arange(x.shape[1]) / 128.0, 0))
    return [(a.kind, a.state, a.channels) for a in out.alerts], [w.score for w in out.windows]


def _feed_line_length(stage, x):
    alerts = stage.process(Block(x.astype(np.float32), np.arange(x.shape[1]) / 128.0, 0))
    return [(a.kind, a.state, a.channels) for a in alerts]


GENERIC = [
    (lambda: StreamingFilter(design_sos(128.0, 0.5, 50.0, 50.0, 4), 2), _feed_filter),
    (lambda: WindowBuffer(2, 128, 64), _feed_buffer),
    (lambda: FeatureDeviation(grace_period=5, memory=100), _feed_scorer),
    (lambda: FeatureCovariance(grace_period=5, memory=100), _feed_scorer),
    (lambda: PerFeature(anomaly.StandardAbsoluteDeviation), _feed_scorer),
    (lambda: QuantileThreshold(q=0.9, margin=1.2, memory=50), _feed_threshold),
    (lambda: ChannelBaseline(2, 100), _feed_baseline),
    (lambda: Detector(META, DetectorConfig(warmup_windows=10)), _feed_detector),
    (lambda: LineLengthBaseline(META, calibration_s=5.0), _feed_line_length),
]
GENERIC_IDS = [
    "StreamingFilter",
    "WindowBuffer",
    "FeatureDeviation",
    "FeatureCovariance",
    "PerFeature",
    "QuantileThreshold",
    "ChannelBaseline",
    "Detector",
    "LineLengthBaseline",
]


def _signal(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=20.0, size=(2, 128 * 20))


def _same(a, b) -> bool:
    return pickle.dumps(a) == pickle.dumps(b) or repr(a) == repr(b)


@pytest.mark.parametrize(("make", "feed"), GENERIC, ids=GENERIC_IDS)
def test_stage_pickled_mid_way_continues_identically(make, feed):
    x = _signal(1)
    stage = make()
    feed(stage, x[:, : x.shape[1] // 2])
    twin = pickle.loads(pickle.dumps(stage))
    assert _same(feed(stage, x[:, x.shape[1] // 2 :]), feed(twin, x[:, x.shape[1] // 2 :]))


@pytest.mark.parametrize(("make", "feed"), GENERIC, ids=GENERIC_IDS)
def test_stage_is_deterministic(make, feed):
    x = _signal(2)
    assert _same(feed(make(), x), feed(make(), x))


@pytest.mark.parametrize(("make", "feed"), GENERIC, ids=GENERIC_IDS)
def test_stage_takes_a_channel_going_flat(make, feed):
    x = _signal(3)
    x[1, x.shape[1] // 3 :] = 7.0
    result = feed(make(), x)
    flat = np.asarray(
        [
            v
            for v in np.ravel(np.asarray(result, dtype=object))
            if isinstance(v, float | np.floating)
        ]
    )
    assert np.isfinite(flat.astype(float)).all()


@pytest.mark.parametrize(("make", "feed"), GENERIC, ids=GENERIC_IDS)
def test_stage_takes_nan_input_without_crashing(make, feed):
    x = _signal(4)
    x[0, 300:340] = np.nan
    x[1, 500] = np.inf
    stage = make()
    feed(stage, x)  # must not raise
    after = feed(stage, _signal(5))  # and must go on, with finite results
    numbers = [
        v for v in np.ravel(np.asarray(after, dtype=object)) if isinstance(v, float | np.floating)
    ]
    assert np.isfinite(np.asarray(numbers, dtype=float)).all()


def test_defaults_come_from_the_kinds_registry():
    config = DetectorConfig()
    assert (config.seizure_k, config.seizure_n) == KINDS["seizure_suspect"].debounce
    assert config.latch == tuple(name for name, kind in KINDS.items() if kind.latch)
