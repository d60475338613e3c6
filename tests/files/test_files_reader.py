"""Reading recorded files: samples equal to the reference readers, chunking, formats."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamer.recordings.files import (
    FileProblem,
    content_id,
    find_recordings,
    open_recording,
)


def test_edf_plus_samples_labels_annotations_match_mne_and_edfio(test_data: Path) -> None:
    import edfio
    import mne

    path = test_data / "eegmmidb_S001" / "S001R03.edf"
    with open_recording(path) as rec:
        data = rec.read(0, rec.n_samples)
        raw = mne.io.read_raw_edf(path, verbose="error")
        assert rec.format == "EDF+"
        assert rec.rate == 160.0
        assert rec.labels == tuple(raw.ch_names)
        assert set(rec.types) == {"EEG"}
        assert data.dtype == np.float32
        np.testing.assert_array_equal(data, (raw.get_data() * 1e6).astype(np.float32))
        edf = edfio.read_edf(path)
        np.testing.assert_array_equal(data[10], edf.signals[10].data.astype(np.float32))
        ours = [(round(a.onset, 3), a.text) for a in rec.annotations]
        theirs = [
            (round(float(o), 3), str(d))
            for o, d in zip(raw.annotations.onset, raw.annotations.description, strict=True)
        ]
        assert ours == theirs
        assert len(ours) == 30
        assert rec.start_time is not None
        assert rec.start_time.year == 2009


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chunk=st.floats(0.01, 30.0), start=st.integers(0, 9000))
def test_blocks_are_the_file_whatever_the_chunk(eegmmidb: Path, chunk: float, start: int) -> None:
    with open_recording(eegmmidb) as rec:
        whole = rec.read(0, rec.n_samples)
        pieces = list(rec.blocks(chunk, start=start))
        indices = [first for first, _ in pieces]
        assert indices[0] == start
        assert all(b - a == pieces[0][1].shape[1] for a, b in itertools.pairwise(indices))
        np.testing.assert_array_equal(
            np.concatenate([d for _, d in pieces], axis=1), whole[:, start:]
        )


def test_bdf_and_fif_through_their_readers(tmp_path: Path, test_data: Path) -> None:
    import mne

    fif = test_data / "yasa" / "data_resting_EO_200Hz_raw.fif"
    raw = mne.io.read_raw_fif(fif, verbose="error")
    with open_recording(fif) as rec:
        assert rec.format == "FIF"
        assert rec.labels == ("F4-A1", "CZ-A2")
        assert rec.rate == 200.0
        np.testing.assert_array_equal(
            rec.read(100, 4100), (raw.get_data(start=100, stop=4100) * 1e6).astype(np.float32)
        )
    # BDF (24 bit), written by MNE's exporter through edfio, with a stimulus and an ECG channel.
    rng = np.random.default_rng(1)
    info = mne.create_info(["Fz", "ECG", "Status"], 256.0, ["eeg", "ecg", "stim"])
    values = np.vstack([rng.normal(0, 30e-6, 2560), rng.normal(0, 300e-6, 2560), np.zeros(2560)])
    bdf = tmp_path / "three.bdf"
    mne.export.export_raw(
        bdf, mne.io.RawArray(values, info, verbose="error"), fmt="bdf", verbose="error"
    )
    back = mne.io.read_raw_bdf(bdf, verbose="error")
    with open_recording(bdf) as rec:
        assert rec.format.startswith("BDF")
        assert rec.labels == ("Fz", "ECG")
        assert rec.types == ("EEG", "ECG")
        assert any(d.startswith("Status") for d in rec.dropped)
        np.testing.assert_allclose(
            rec.read(0, 2560), back.get_data(picks=[0, 1]) * 1e6, rtol=1e-6, atol=1e-3
        )


def test_directories_are_searched_recursively_by_extension(tmp_path: Path, eegmmidb: Path) -> None:
    (tmp_path / "night1" / "deep").mkdir(parents=True)
    (tmp_path / "night1" / "deep" / "a.edf").write_bytes(eegmmidb.read_bytes())
    (tmp_path / "night1" / "b.EDF").write_bytes(eegmmidb.read_bytes())
    (tmp_path / "night1" / "notes.txt").write_text("not a recording")
    (tmp_path / "night1" / "data.eeg").write_bytes(b"BrainVision data is opened by its .vhdr")
    found = find_recordings([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "night1/b.EDF",
        "night1/deep/a.edf",
    ]
    assert content_id(found[0]) == content_id(found[1]) == content_id(eegmmidb)
    assert content_id(eegmmidb).startswith("eegmon-file-")


def test_a_missing_file_is_a_problem_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FileProblem, match=r"nothing\.edf: no such file"):
        open_recording(tmp_path / "nothing.edf")


def xdf_chunk(tag: int, content: bytes) -> bytes:
    body = tag.to_bytes(2, "little") + content
    return bytes([8]) + len(body).to_bytes(8, "little") + body


def xdf_stream(stream_id: int, xml: str) -> bytes:
    return xdf_chunk(2, stream_id.to_bytes(4, "little") + xml.encode())


def write_xdf(
    path: Path, eeg: np.ndarray, rate: float, t0: float, notes: list[tuple[float, str]]
) -> None:
    """A minimal XDF 1.0 file (spec: github.com/sccn/xdf/wiki/Specifications), EEG in millivolts."""
    n_ch, n = eeg.shape
    channels = "".join(
        f"<channel><label>Ch{i}</label><unit>millivolts</unit><type>EEG</type></channel>"
        for i in range(n_ch)
    )
    out = b"XDF:" + xdf_chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')
    out += xdf_stream(
        1,
        f"<info><name>amp</name><type>EEG</type><channel_count>{n_ch}</channel_count>"
        f"<nominal_srate>{rate}</nominal_srate><channel_format>float32</channel_format>"
        f"<created_at>0</created_at><desc><channels>{channels}</channels></desc></info>",
    )
    out += xdf_stream(
        2,
        "<info><name>amp-markers</name><type>Markers</type><channel_count>1</channel_count>"
        "<nominal_srate>0</nominal_srate><channel_format>string</channel_format>"
        "<created_at>0</created_at></info>",
    )
    samples = b"".join(
        b"\x08" + np.float64(t0 + i / rate).tobytes() + eeg[:, i].astype("<f4").tobytes()
        for i in range(n)
    )
    out += xdf_chunk(3, (1).to_bytes(4, "little") + b"\x04" + n.to_bytes(4, "little") + samples)
    marks = b"".join(
        b"\x08" + np.float64(t0 + at).tobytes() + b"\x01" + bytes([len(text)]) + text.encode()
        for at, text in notes
    )
    out += xdf_chunk(
        3, (2).to_bytes(4, "little") + b"\x04" + len(notes).to_bytes(4, "little") + marks
    )
    for stream_id, first, last, count in ((1, t0, t0 + (n - 1) / rate, n), (2, t0, t0, len(notes))):
        footer = (
            f"<info><first_timestamp>{first}</first_timestamp><last_timestamp>{last}"
            f"</last_timestamp><sample_count>{count}</sample_count></info>"
        )
        out += xdf_chunk(6, stream_id.to_bytes(4, "little") + footer.encode())
    path.write_bytes(out)


def test_xdf_eeg_in_microvolts_with_markers_as_annotations(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    eeg = (rng.standard_normal((3, 500)) * 0.05).astype(np.float32)  # millivolts
    path = tmp_path / "session.xdf"
    write_xdf(path, eeg, 100.0, 1000.0, [(1.0, "lights off"), (3.5, "arousal")])
    with open_recording(path) as rec:
        assert (rec.format, rec.rate, rec.labels) == ("XDF", 100.0, ("Ch0", "Ch1", "Ch2"))
        np.testing.assert_allclose(rec.read(0, 500), eeg * 1000, rtol=1e-6)
        assert [(round(a.onset, 6), a.text) for a in rec.annotations] == [
            (1.0, "lights off"),
            (3.5, "arousal"),
        ]
