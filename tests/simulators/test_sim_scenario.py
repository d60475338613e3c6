import itertools
import typing

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.kinds import KINDS
from simulators.effects import Effects
from simulators.montage import MONTAGES
from simulators.scenario import (
    EXPECTED_ALERT,
    Event,
    available_scenarios,
    load_scenario,
    parse_scenario,
)

RATE = 256.0
LABELS = MONTAGES[19]


def events(text):
    return parse_scenario(text, source="test.toml").events


def rendered(scenario_text, seconds, first=0, base=None):
    evs = events(scenario_text)
    n = int(seconds * RATE)
    data = np.zeros((len(LABELS), n), np.float32) if base is None else base.copy()
    Effects(evs, LABELS, RATE, seed=0).apply(data, first)
    return data


def test_shipped_scenarios_load_and_fit_the_default_montage():
    names = available_scenarios()
    assert {"demo", "all_faults", "line_noise_60hz"} <= set(names)
    for name in names:
        scenario = load_scenario(name)
        scenario.check_labels(LABELS)
        assert scenario.name == name
        assert scenario.events


def test_demo_has_o1_coming_off_then_a_seizure():
    demo = load_scenario("demo")
    flat, seizure = demo.events
    assert (flat.kind, flat.channels, flat.at, flat.duration) == ("flatline", ["O1"], 20.0, 15.0)
    assert (seizure.kind, seizure.at, seizure.duration) == ("seizure", 60.0, 20.0)


def test_every_event_kind_expects_an_alert_kind_of_the_vocabulary():
    event_classes = typing.get_args(typing.get_args(Event)[0])
    event_kinds = {typing.get_args(cls.model_fields["kind"].annotation)[0] for cls in event_classes}
    assert set(EXPECTED_ALERT) == event_kinds
    assert set(EXPECTED_ALERT.values()) <= set(KINDS)


def test_all_faults_has_every_kind_without_overlap():
    evs = load_scenario("all_faults").events
    assert {e.kind for e in evs} == set(EXPECTED_ALERT)
    for before, after in itertools.pairwise(evs):
        assert before.end <= after.at


def test_a_path_loads_too(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[[event]]\nkind = "pause"\nat = 1\nduration = 2\n')
    scenario = load_scenario(path)
    assert scenario.name == "mine"
    assert scenario.events[0].kind == "pause"


def test_defaults_and_stream_settings():
    scenario = parse_scenario(
        '[stream]\nname = "bed-4"\nchannels = 32\nrate = 512\n\n'
        '[[event]]\nkind = "line_noise"\nat = 3\nduration = 1\nchannels = ["Cz"]\n'
        '[[event]]\nkind = "saturation"\nat = 1\nduration = 1\nchannels = ["Cz"]\n'
    )
    assert scenario.stream.name == "bed-4"
    assert scenario.stream.channels == 32
    line, saturation = scenario.events  # in file order
    assert (line.frequency_hz, line.amplitude_uv) == (50, 80.0)
    assert saturation.rail_uv == 3276.7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[event]]\nkind = "flatline"\nat = 1\nduration = 2\n',
            "event 1 (flatline): field 'channels'",
        ),
        (
            '[[event]]\nkind = "pause"\nat = 1\nduration = 2\n'
            '[[event]]\nkind = "flatline"\nat = 1\nduration = 2\nchannels = ["O1"]\ncolour = 3\n',
            "event 2 (flatline): field 'colour': unknown key",
        ),
        (
            '[[event]]\nkind = "fire"\nat = 1\nduration = 2\n',
            "event 1 (fire): field 'kind': unknown kind 'fire'",
        ),
        (
            '[[event]]\nkind = "line_noise"\nat = 1\nduration = 2\nchannels = ["O1"]\n'
            "frequency_hz = 55\n",
            "event 1 (line_noise): field 'frequency_hz'",
        ),
        ('[[event]]\nkind = "pause"\nat = -1\nduration = 2\n', "field 'at'"),
        ('[[event]]\nkind = "pause"\nat = 1\nduration = 0\n', "field 'duration'"),
        (
            '[[event]]\nkind = "pause"\nat = 1\nduration = 1\nchannels = ["O1"]\n',
            "event 1 (pause): field 'channels'",
        ),
        (
            '[[event]]\nkind = "flatline"\nat = 1\nduration = 2\nchannels = ["O1", "O1"]\n',
            "event 1 (flatline): field 'channels': Value error, a channel is listed twice",
        ),
        ("[stream]\nrate = 50\n", "[stream]: field 'rate'"),
        ("[stream]\nchannels = 20\n", "[stream]: field 'channels'"),
        ('[[events]]\nkind = "pause"\n', "unknown key 'events'"),
        ("[[event]\n", "invalid TOML"),
    ],
)
def test_errors_are_one_line_naming_file_event_and_field(text, expected):
    with pytest.raises(ValueError, match=r"test\.toml") as info:
        parse_scenario(text, source="test.toml")
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_unknown_channel_and_unknown_name_are_refused():
    scenario = parse_scenario(
        '[[event]]\nkind = "flatline"\nat = 1\nduration = 2\nchannels = ["Q9"]\n', "x.toml"
    )
    with pytest.raises(ValueError, match=r"x.toml: event 1 \(flatline\): field 'channels': 'Q9'"):
        scenario.check_labels(LABELS)
    with pytest.raises(ValueError, match=r"'nope'.*demo"):
        load_scenario("nope")
    with pytest.raises(ValueError, match=r"missing\.toml"):
        load_scenario("missing.toml")


CH = '"O1"'


def test_flatline_is_exactly_constant_and_bad_values_are_nan():
    base = np.random.default_rng(0).normal(0, 20, (19, 512)).astype(np.float32)
    data = rendered(
        f'[[event]]\nkind = "flatline"\nat = 0.5\nduration = 0.5\nchannels = [{CH}]\n'
        '[[event]]\nkind = "bad_values"\nat = 1.0\nduration = 0.25\nchannels = ["Cz"]\n',
        2,
        base=base,
    )
    o1, cz = LABELS.index("O1"), LABELS.index("Cz")
    assert (data[o1, 128:256] == 0.0).all()
    assert (data[o1, :128] == base[o1, :128]).all()
    assert np.isnan(data[cz, 256:320]).all()
    assert not np.isnan(np.delete(data, cz, axis=0)).any()


def test_saturation_clips_at_the_rails():
    base = np.random.default_rng(0).normal(0, 20, (19, 512)).astype(np.float32)
    data = rendered(
        f'[[event]]\nkind = "saturation"\nat = 0\nduration = 2\nchannels = [{CH}]\n', 2, base=base
    )
    o1 = data[LABELS.index("O1")]
    assert np.abs(o1).max() == pytest.approx(3276.7, rel=1e-6)
    assert (np.abs(o1) >= 3276.6).mean() > 0.5


@pytest.mark.parametrize("freq", [50, 60])
def test_line_noise_is_a_mains_sinusoid(freq):
    data = rendered(
        f'[[event]]\nkind = "line_noise"\nat = 0\nduration = 4\nchannels = [{CH}]\n'
        f"frequency_hz = {freq}\namplitude_uv = 80\n",
        4,
    )
    o1 = data[LABELS.index("O1")]
    spectrum = np.abs(np.fft.rfft(o1))
    assert np.fft.rfftfreq(len(o1), 1 / RATE)[spectrum.argmax()] == pytest.approx(freq, abs=0.5)
    assert o1.std() == pytest.approx(80 / np.sqrt(2), rel=0.02)


def test_electrode_pop_is_a_step_that_decays_to_zero():
    data = rendered(
        f'[[event]]\nkind = "electrode_pop"\nat = 1\nduration = 2\nchannels = [{CH}]\n', 4
    )
    o1 = data[LABELS.index("O1")]
    assert o1[255] == 0
    assert o1[256] == pytest.approx(400, rel=1e-3)
    assert abs(o1[256 + 511]) < 5
    assert (o1[768:] == 0).all()


def test_artifacts_movement_is_slow_and_muscle_is_broadband_high_frequency():
    data = rendered(
        '[[event]]\nkind = "artifact"\nat = 0\nduration = 4\nchannels = ["O1"]\n'
        '[[event]]\nkind = "artifact"\nat = 0\nduration = 4\nchannels = ["Cz"]\ntype = "muscle"\n',
        4,
    )
    freqs = np.fft.rfftfreq(1024, 1 / RATE)
    move = np.abs(np.fft.rfft(data[LABELS.index("O1")])) ** 2
    muscle = np.abs(np.fft.rfft(data[LABELS.index("Cz")])) ** 2
    assert move[freqs < 2].sum() > 0.9 * move.sum()
    assert muscle[(freqs >= 20) & (freqs <= 100)].sum() > 0.9 * muscle.sum()
    assert np.abs(data[LABELS.index("O1")]).max() > 150


def test_seizure_grows_slows_and_spreads():
    text = '[[event]]\nkind = "seizure"\nat = 0\nduration = 20\nchannels = ["T8"]\n'
    data = rendered(text, 21)
    t8, c4, fp1 = (data[LABELS.index(ch)] for ch in ("T8", "C4", "Fp1"))

    def peak_freq(x):
        spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        return np.fft.rfftfreq(len(x), 1 / RATE)[spectrum.argmax()]

    early, late = t8[: 3 * 256], t8[15 * 256 : 18 * 256]
    assert np.ptp(early[:256]) < 100
    assert 150 <= np.abs(late).max() <= 300
    assert 4.5 <= peak_freq(early) <= 7
    assert 2.5 <= peak_freq(late) <= 4
    # the neighbour joins later and weaker; the far side never
    first = lambda x: np.flatnonzero(np.abs(x) > 1e-3)[0]  # noqa: E731
    assert first(c4) > first(t8) + 256
    assert 0 < np.abs(c4).max() < np.abs(t8).max()
    assert (fp1 == 0).all()
    assert (data[:, 20 * 256 :] == 0).all()


ALL = load_scenario("all_faults")


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 3000), min_size=1, max_size=6), st.integers(0, 60_000))
def test_effects_do_not_depend_on_chunking(sizes, first):
    total = sum(sizes)
    first += int(ALL.events[0].at * RATE) - 5000  # land on or near the events
    reference = np.ones((19, total), np.float32)
    Effects(ALL.events, LABELS, RATE, 1).apply(reference, first)
    effects, pieces, start = Effects(ALL.events, LABELS, RATE, 1), [], first
    for n in sizes:
        block = np.ones((19, n), np.float32)
        effects.apply(block, start)
        pieces.append(block)
        start += n
    np.testing.assert_array_equal(np.concatenate(pieces, axis=1), reference)
