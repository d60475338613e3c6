"""The EDF+/BDF+ recorder: samples as received, crash-safe at every byte, annotations, failures."""

from __future__ import annotations

import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detector.types import Block, StreamMeta
from streamer.recordings.files import open_recording
from streamer.recordings.recorder import Recorder, parse_duration
from tests.support import wait_for

RATE = 128.0
META = StreamMeta("bed-9", "amp-9", ("Fz", "Cz", "Pz"), RATE)


def signal(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((3, round(seconds * RATE))) * 40).astype(np.float32)


def feed(rec: Recorder, data: np.ndarray, first: int = 0, chunk: int = 13) -> None:
    for i in range(0, data.shape[1], chunk):
        part = data[:, i : i + chunk]
        index = first + i
        rec.block(Block(part, 100.0 + (index + np.arange(part.shape[1])) / RATE, index))


def read_all(path: Path) -> tuple[np.ndarray, list[tuple[float, str]]]:
    with open_recording(path) as r:
        return r.read(0, r.n_samples), [(a.onset, a.text) for a in r.annotations]


def test_round_trip_with_a_gap_clipping_and_alerts_in_three_readers(tmp_path: Path) -> None:
    import edfio
    import mne

    data = signal(6.0)
    data[1, 200:210] = 5000.0  # beyond the ±3276.7 µV range: clipped and counted
    rec = Recorder(tmp_path / "night.edf", META)
    feed(rec, data[:, :256])
    feed(rec, data[:, 320:640], first=320)  # 64 samples (0.5 s) never arrived
    rec.alert(
        "raised", {"kind": "flatline", "id": "x-flatline-1", "channels": ["Pz"], "onset": 103.0}
    )
    rec.alert(
        "cleared",
        {"kind": "flatline", "id": "x-flatline-1", "channels": ["Pz"], "cleared_at": 104.5},
    )
    feed(rec, data[:, 640:], first=640)
    rec.close()
    assert rec.status()["recording"]["clipped_samples"] == 10
    got, notes = read_all(rec.path)
    expected = np.clip(data, -3276.7, 3276.7)
    expected[:, 256:320] = 0.0
    assert got.shape == (3, 768)
    np.testing.assert_allclose(got, expected, atol=0.051)  # 0.1 µV steps
    texts = {t: o for o, t in notes}
    assert texts["flatline raised: Pz (x-flatline-1)"] == pytest.approx(3.0)
    assert texts["flatline cleared: Pz (x-flatline-1)"] == pytest.approx(4.5)
    assert texts["gap: 64 samples (0.500 s) filled with 0 uV"] == pytest.approx(2.0)
    assert texts["clipping on Cz at +-3276.7 uV"] == pytest.approx(200 / RATE)
    assert any(t.startswith("eegmon recording of bed-9 (amp-9) stream time 100.0") for t in texts)
    raw = mne.io.read_raw_edf(rec.path, verbose="error")
    np.testing.assert_allclose(raw.get_data() * 1e6, got, atol=1e-3)
    assert "flatline raised: Pz (x-flatline-1)" in raw.annotations.description
    edf = edfio.read_edf(rec.path)
    assert edf.num_data_records == 6
    np.testing.assert_allclose(edf.signals[2].data, got[2], atol=1e-3)


def test_wide_range_is_bdf_with_24_bits(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "wide.edf", META, range_uv=100_000.0)
    assert rec.path.name == "wide.bdf"
    data = signal(2.0) * 100  # a few mV: beyond EDF's 16 bits at 0.1 µV
    feed(rec, data)
    rec.close()
    got, _ = read_all(rec.path)
    np.testing.assert_allclose(got, data, atol=0.01)
    assert "BDF+" in rec.describe()


def test_rotation_splits_without_losing_a_sample(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "night.edf", META, rotate_s=2.0)
    data = signal(5.0)
    feed(rec, data)
    rec.close()
    assert [p.name for p in rec.files] == ["night-001.edf", "night-002.edf", "night-003.edf"]
    parts = [read_all(p)[0] for p in rec.files]
    assert [p.shape[1] for p in parts] == [256, 256, 128]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), data, atol=0.051)


def test_open_file_has_count_minus_one_and_loses_only_the_record_being_filled(
    tmp_path: Path,
) -> None:
    rec = Recorder(tmp_path / "live.edf", META)
    feed(rec, signal(10.6))
    wait_for(
        lambda: rec.path.exists() and rec.path.stat().st_size >= 768 * 10 + 2 * 10, 10, "10 records"
    )
    time.sleep(0.3)  # the writer has nothing more to write; nothing else must appear
    snapshot = tmp_path / "crashed.edf"
    shutil.copy(rec.path, snapshot)
    rec.close()
    assert snapshot.read_bytes()[236:244].strip() == b"-1"
    with open_recording(snapshot) as r:
        assert r.n_samples == 10 * 128  # 0.6 s were in the record being filled
        assert "record count is -1" in r.warnings[0]


@pytest.fixture(scope="module")
def unclosed(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a recording as a crash leaves them: header count -1, 8 records."""
    path = tmp_path_factory.mktemp("crash") / "live.edf"
    rec = Recorder(path, META)
    feed(rec, signal(8.5))
    size = 256 * 5 + 8 * (3 * 128 * 2 + 512)
    wait_for(lambda: path.exists() and path.stat().st_size == size, 10, "8 records on disk")
    content = path.read_bytes()
    rec.close()
    return content


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(256 * 5 + 768 + 512, 256 * 5 + 8 * 1280))
def test_a_crash_at_any_byte_leaves_a_file_every_reader_opens(
    unclosed: bytes, cut: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import edfio
    import mne

    path = tmp_path_factory.mktemp("cut") / "cut.edf"
    path.write_bytes(unclosed[:cut])
    complete = (cut - 256 * 5) // 1280
    with open_recording(path) as r:
        assert r.n_samples == complete * 128
        ours = r.read(0, r.n_samples)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = mne.io.read_raw_edf(path, verbose="error")
        edf = edfio.read_edf(path)
    assert raw.n_times == complete * 128
    assert edf.num_data_records == complete
    np.testing.assert_allclose(raw.get_data() * 1e6, ours, atol=1e-3)


def test_disk_full_is_reported_once_and_recording_keeps_trying(tmp_path: Path) -> None:
    reports: list[tuple[str, bool, str, dict[str, float]]] = []
    rec = Recorder("/dev/full", META, retry_s=0.2, on_condition=lambda *a: reports.append(a))
    for second in range(6):
        feed(rec, signal(0.5, seed=second), first=second * 64)
        time.sleep(0.1)
    wait_for(lambda: reports, 5, "recording_failed")
    rec.close()
    assert len(reports) == 1, "retries that fail again must not repeat the alert"
    kind, active, message, evidence = reports[0]
    assert (kind, active) == ("recording_failed", True)
    assert "No space left on device" in message
    assert evidence == {"errno": 28.0}
    assert rec.status()["recording"]["state"] == "failed"
    assert rec.status()["recording"]["lost_samples"] > 0


def test_bad_options_are_refused_with_the_value(tmp_path: Path) -> None:
    assert parse_duration("1h") == 3600.0
    assert parse_duration("90s") == 90.0
    assert parse_duration("30m") == 1800.0
    with pytest.raises(ValueError, match="'soon' is not like 2d, 1h"):
        parse_duration("soon")
    with pytest.raises(ValueError, match="must be positive"):
        parse_duration("-1h")
    with pytest.raises(ValueError, match="it is a directory"):
        Recorder(tmp_path, META)
    with pytest.raises(ValueError, match=r"range 0\.0"):
        Recorder(tmp_path / "x.edf", META, range_uv=0.0)
