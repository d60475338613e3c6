"""The model-state file: data never code, only for its patient while young, written privately."""

from __future__ import annotations

import pickle
import stat
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from detector import Block, Detector, DetectorConfig, ModelState, StreamMeta
from streamer.live.model_state import ModelStateFile, StateRefused, decode_state, encode_state
from streamer.live.session import Session

META = StreamMeta("bed-1", "amp-17", ("C3", "C4", "O1"), 128.0)
CONFIG = DetectorConfig(warmup_windows=5)
NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def learned_detector(seconds: float = 30.0) -> Detector:
    detector = Detector(META, CONFIG)
    rng = np.random.default_rng(3)
    n = round(seconds * META.rate)
    data = rng.normal(scale=20.0, size=(3, n)).astype(np.float32)
    detector.process(Block(data, np.arange(n) / META.rate, 0))
    assert detector.learned_windows > 0
    return detector


@pytest.fixture(scope="module")
def saved() -> bytes:
    return encode_state(learned_detector().model_state(), Session.start("P-1", 0.0), NOW)


def load(path: Path, patient: str | None = "P-1", max_age_s: float = 86400.0) -> list[str]:
    lines: list[str] = []
    state = ModelStateFile(
        path,
        Detector(META, CONFIG),
        lines.append,
        session=Session.start(patient, 0.0),
        max_age_s=max_age_s,
    )
    state.close()
    return lines


def test_saved_at_exit_privately_and_loaded_by_the_same_patient(tmp_path: Path) -> None:
    path = tmp_path / "bed.state"
    detector = learned_detector()
    lines: list[str] = []
    state = ModelStateFile(path, detector, lines.append, session=Session.start("P-1", 0.0))
    state.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p != path], "no temporary file left"
    assert lines == [f"eegmon monitor: no model state at {str(path)!r} yet; starting fresh"]
    restarted = Detector(META, CONFIG)
    ModelStateFile(path, restarted, lines.append, session=Session.start("P-1", 0.0)).close()
    assert f"({detector.learned_windows} windows learned)" in lines[1]
    assert restarted.learned_windows == detector.learned_windows


def test_a_symlink_at_the_path_is_replaced_never_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("not to be touched")
    path = tmp_path / "bed.state"
    path.symlink_to(target)
    ModelStateFile(path, learned_detector(), print).close()
    assert target.read_text() == "not to be touched"
    assert not path.is_symlink()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("patient", "max_age_s", "saved_at", "reason"),
    [
        ("P-2", 86400.0, NOW, "for patient 'P-1', not 'P-2'"),
        (None, 86400.0, NOW, "for patient 'P-1', not None"),
        ("P-1", 3600.0, NOW - timedelta(hours=2), "saved 2.0 h ago, older than 1 h"),
        ("P-1", 3600.0, NOW + timedelta(hours=2), "saved in the future"),
    ],
)
def test_a_state_of_another_patient_or_too_old_is_refused(
    patient: str | None, max_age_s: float, saved_at: datetime, reason: str
) -> None:
    data = encode_state(learned_detector(5.0).model_state(), Session.start("P-1", 0.0), saved_at)
    with pytest.raises(StateRefused, match=reason):
        decode_state(data, patient=patient, max_age_s=max_age_s, now=NOW)


def test_a_pickle_is_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[Path]]:
            return (Path.touch, (marker,))

    path = tmp_path / "old.state"
    path.write_bytes(pickle.dumps({"version": 3, "scorer": Payload()}))
    (line,) = load(path)
    assert "a pickle of an older eegmon" in line
    assert line.endswith("starting fresh")
    assert not marker.exists()


def test_another_format_version_or_no_archive_is_refused(tmp_path: Path, saved: bytes) -> None:
    other = tmp_path / "other.npz"
    np.savez(other, meta=np.frombuffer(b'{"format": "eegmon-model-state"}', dtype=np.uint8))
    with pytest.raises(StateRefused, match="format version None"):
        decode_state(other.read_bytes(), patient="P-1", max_age_s=1e9, now=NOW)
    npy = tmp_path / "one.npy"
    np.save(npy, np.arange(3))
    with pytest.raises(StateRefused, match="not a model-state archive"):
        decode_state(npy.read_bytes(), patient="P-1", max_age_s=1e9, now=NOW)


def test_an_array_claiming_more_than_it_holds_is_refused(tmp_path: Path, saved: bytes) -> None:
    path = tmp_path / "bed.state"
    path.write_bytes(saved)
    with zipfile.ZipFile(path, "a") as archive:  # a header promising a terabyte
        archive.writestr("huge.npy", b"\x93NUMPY\x01\x00v\x00" + _header(b"(1000000000000,)"))
    with pytest.raises(StateRefused, match=r"'huge\.npy' is truncated"):
        decode_state(path.read_bytes(), patient="P-1", max_age_s=1e9, now=NOW)


def _header(shape: bytes) -> bytes:
    text = b"{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + b", }"
    return text.ljust(117) + b"\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_corrupted_state_is_refused_and_never_raises_anything_else(
    saved: bytes, data: st.DataObject
) -> None:
    """Random byte flips, cuts and insertions: refused with a reason, or still a valid state."""
    damaged = bytearray(saved)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(damaged) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            damaged[at] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del damaged[at:]
            if not damaged:
                break
        else:
            damaged[at:at] = data.draw(st.binary(min_size=1, max_size=64))
    detector = Detector(META, CONFIG)
    try:
        state, _ = decode_state(bytes(damaged), patient="P-1", max_age_s=1e9, now=NOW)
        detector.load_model_state(state)
    except ValueError:  # StateRefused is one: a fresh start, said in one line
        assert detector.learned_windows == 0, "a refused state changes nothing"


ARRAY_NAMES = ("scorer_vectors", "threshold_scores", "baseline_kept", "baseline_next")


@settings(max_examples=200, deadline=None)
@given(
    replaced=st.dictionaries(
        st.sampled_from(ARRAY_NAMES),
        hnp.arrays(
            st.sampled_from([np.int64, np.float64, np.int8, np.bool_]),
            hnp.array_shapes(min_dims=0, max_dims=3, max_side=6),
        ),
        min_size=1,
    ),
    learned=st.one_of(st.just("as learned"), st.integers(-5, 10**12), st.none(), st.text()),
)
def test_well_formed_archives_of_wrong_arrays_are_refused(
    replaced: dict[str, np.ndarray], learned: object
) -> None:
    """An intact archive whose arrays or counts are not a detector's: refused, nothing changed."""
    state = learned_detector(5.0).model_state()
    facts = state.facts if learned == "as learned" else {**state.facts, "learned": learned}
    forged = ModelState(facts, {**state.arrays, **replaced})
    data = encode_state(forged, Session.start("P-1", 0.0), NOW)
    detector = Detector(META, CONFIG)
    try:
        decoded, _ = decode_state(data, patient="P-1", max_age_s=1e9, now=NOW)
        detector.load_model_state(decoded)
    except ValueError:
        assert detector.learned_windows == 0
