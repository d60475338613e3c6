"""Montages: the derivations a bed can show, the files a lab writes, the traces they draw."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.montage import (
    AS_RECORDED,
    AVERAGE_REFERENCE,
    BANANA,
    BUILT_IN,
    TRANSVERSE,
    MontageError,
    derive,
    electrode,
    load_montage,
    parse_montage,
)
from simulators.feed import SimulatedFeed
from tests.support import wait_for

#: A 10-20 cap with both the old and the new temporal names, and the four references.
ELECTRODES = [
    "Fp1",
    "Fp2",
    "F7",
    "F3",
    "Fz",
    "F4",
    "F8",
    "T3",
    "T4",
    "T5",
    "T6",
    "T7",
    "T8",
    "P7",
    "P8",
    "C3",
    "Cz",
    "C4",
    "P3",
    "Pz",
    "P4",
    "O1",
    "O2",
    "A1",
    "A2",
    "M1",
    "M2",
]
SAME = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}


def canonical(name: str) -> str:
    return SAME.get(name, name).upper()


@st.composite
def caps(draw: st.DrawFn) -> tuple[str, ...]:
    """Recorded labels: a subset of electrodes, one name for each, in any order and case."""
    chosen = draw(st.lists(st.sampled_from(ELECTRODES), unique_by=canonical, max_size=20))
    cased = [draw(st.sampled_from([name, name.upper(), f"EEG {name}-REF"])) for name in chosen]
    return tuple(cased)


@given(caps(), st.sampled_from([BANANA, TRANSVERSE]))
def test_a_derivation_appears_iff_both_electrodes_exist(labels, montage) -> None:
    have = {electrode(label) for label in labels}
    assert montage.derivations is not None
    expected = [
        (canonical(a), canonical(b))
        for a, b in montage.derivations
        if canonical(a) in have and canonical(b) in have
    ]
    view = derive(montage, labels)
    shown = [tuple(canonical(part) for part in label.split("-")) for label in view.labels]
    assert shown == expected
    # Each row reads exactly its two electrodes, +1 and -1: a bipolar derivation.
    assert view.matrix.shape == (len(expected), len(labels))
    assert all(sorted(row[row != 0]) == [-1.0, 1.0] for row in view.matrix)


@given(caps())
def test_the_average_reference_rows_sum_to_zero_over_the_scalp(labels) -> None:
    view = derive(AVERAGE_REFERENCE, labels)
    assert len(view.labels) == len(labels)
    references = {"A1", "A2", "M1", "M2"}
    scalp = [i for i, label in enumerate(labels) if electrode(label) not in references]
    if scalp:
        constant = np.zeros(len(labels))
        constant[scalp] = 7.0  # a potential common to the whole scalp is gone
        assert np.allclose(view.matrix[[i in scalp for i in range(len(labels))]] @ constant, 0.0)


def test_as_recorded_is_the_identity_and_labels_are_named_as_recorded() -> None:
    view = derive(AS_RECORDED, ("Fp1", "ECG"))
    assert view.labels == ("Fp1", "ECG")
    assert np.array_equal(view.matrix, np.eye(2))
    assert derive(BANANA, ("EEG Fp1-REF", "EEG F7-REF", "ECG")).labels == ("Fp1-F7",)
    assert derive(BANANA, ("Fp1", "F7", "T7", "P7")).labels == ("Fp1-F7", "F7-T7", "T7-P7")
    assert derive(TRANSVERSE, ("M1", "T3")).labels == ()  # A1 is the ear, M1 the mastoid
    # What a derivation is about, for the red band of a channel under a quality alert.
    assert derive(BANANA, ("Fp1", "F7")).sources == (frozenset({"Fp1", "F7"}),)
    average = derive(AVERAGE_REFERENCE, ("C3", "C4", "A1")).sources
    assert average == (frozenset({"C3"}), frozenset({"C4"}), frozenset({"A1"}))


good_entries = st.lists(
    st.tuples(st.sampled_from(ELECTRODES), st.sampled_from(ELECTRODES)).filter(
        lambda pair: canonical(pair[0]) != canonical(pair[1])
    ),
    min_size=1,
    max_size=30,
    unique_by=lambda pair: (canonical(pair[0]), canonical(pair[1])),
)


@given(st.text(min_size=1, max_size=60).filter(lambda s: s.strip() == s), good_entries)
def test_a_good_montage_file_reads_back_as_written(name, pairs) -> None:
    if name in {m.name for m in BUILT_IN}:
        return
    montage = parse_montage({"name": name, "derivations": [f"{a}-{b}" for a, b in pairs]})
    assert montage.name == name
    assert montage.derivations == tuple(pairs)


@given(good_entries, st.integers(min_value=0), st.one_of(st.text(max_size=12), st.integers()))
def test_a_bad_entry_is_refused_in_one_line_naming_it(pairs, where, bad) -> None:
    entries: list[object] = [f"{a}-{b}" for a, b in pairs]
    try:
        parse_montage({"name": "x", "derivations": [bad]})
    except MontageError:
        pass
    else:
        return  # `bad` happens to be a good derivation
    entries.insert(where % (len(entries) + 1), bad)
    with pytest.raises(MontageError) as caught:
        parse_montage({"name": "Mine", "derivations": entries})
    message = str(caught.value)
    assert "\n" not in message
    assert repr(bad) in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('name = "N"\nderivations = ["Fp1-F7", "Fp1-Q9"]', ["'Fp1-Q9'", "'Q9'"]),
        ('name = "N"\nderivations = ["Fp1-F7", "Fp1-F7"]', ["'Fp1-F7'", "twice"]),
        ('name = "N"\nderivations = ["C3-C3"]', ["'C3-C3'", "same electrode"]),
        ('name = "N"\nderivations = ["T3-T7"]', ["'T3-T7'", "same electrode"]),
        ('name = "N"\nderivations = ["Fp1F7"]', ["'Fp1F7'", "two electrodes"]),
        ('name = "N"\nderivations = [3]', ["3", "not a string"]),
        ('name = "N"\nderivations = []', ["derivations", "non-empty"]),
        ('derivations = ["Fp1-F7"]', ["'name'"]),
        ('name = "Transverse bipolar"\nderivations = ["Fp1-F7"]', ["built-in"]),
        ('name = "N"\nderivation = ["Fp1-F7"]', ["unknown key 'derivation'"]),
        ("name = ", ["not TOML"]),
    ],
)
def test_montage_files_are_checked(tmp_path: Path, text: str, words: list[str]) -> None:
    path = tmp_path / "montage.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MontageError) as caught:
        load_montage(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    for word in words:
        assert word in message


def test_a_montage_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "neonatal.toml"
    path.write_text('name = "Neonatal"\nderivations = ["Fp1-C3", "C3-O1", "T3-C3"]\n')
    montage = load_montage(path)
    assert montage.name == "Neonatal"
    assert derive(montage, ("Fp1", "C3", "O1", "T7")).labels == ("Fp1-C3", "C3-O1", "T7-C3")


# -- the traces panel -------------------------------------------------------------------


@pytest.fixture
def bed(feed: SimulatedFeed) -> Iterator[object]:
    from dashboard.bed import BedView
    from dashboard.beds import Beds

    beds = Beds([feed.url])
    beds.start()
    try:
        view = BedView(beds, render="canvas")
        wait_for(lambda: view.client.snapshot().trace_times is not None, 5, "traces")
        wait_for(lambda: view.client.snapshot().trace_times.size > 64, 5, "a second of traces")
        yield view
    finally:
        beds.stop()


def drawn(view) -> tuple[list[str], np.ndarray]:
    """The y labels and the newest row's points, one line per channel."""
    view.update()
    labels = list(view.traces.figure.yaxis.major_label_overrides.values())
    ys = np.asarray(view.traces.source.data["ys"][-1], dtype=float)
    return labels, ys.reshape(len(labels), -1)


def test_montage_gain_and_hidden_channels_change_the_traces_only(bed) -> None:
    view = bed
    labels, recorded = drawn(view)
    assert labels == list(view.client.snapshot().labels)
    view.controls.montage.value = BANANA.key
    labels, derived = drawn(view)
    # The bipolar pairs of the bed's 10 channels, in the montage's order.
    assert labels == ["Fp1-F7", "F7-T3", "Fp2-F8", "Fp1-F3", "F3-C3", "Fp2-F4", "Fz-Cz"]
    assert derived.shape[0] == 7
    assert recorded.shape[0] == 10
    assert view.controls.channel.options == [(label, label) for label in labels]
    assert view.client.snapshot().labels[0] == "Fp1"  # the feed's channels stay as recorded

    view.controls.channel.value = "F3-C3"
    view.controls._scale(2.0)  # the ×2 button
    labels, _ = drawn(view)
    assert labels[4] == "F3-C3 ×2"
    view.controls._on_hide()  # the Hide button, on F3-C3
    labels, _ = drawn(view)
    assert labels == ["Fp1-F7", "F7-T3", "Fp2-F8", "Fp1-F3", "Fp2-F4", "Fz-Cz"]
    assert view.controls.hide.label == "Show"
    assert not view.controls.show_all.disabled
    view.controls._on_show_all()
    view.controls.montage.value = AS_RECORDED.key
    labels, _ = drawn(view)
    assert labels == list(view.client.snapshot().labels)


def test_the_dashboard_command_refuses_a_bad_montage_file_in_one_line(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('name = "Mine"\nderivations = ["C3-A2"]\n')
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "Other"\nderivations = ["C3-A2", "C4-X1"]\n')
    args = [
        "dashboard",
        "--feed",
        "ws://127.0.0.1:9",
        "--montage",
        str(good),
        "--montage",
        str(bad),
    ]
    result = subprocess.run(
        [sys.executable, "-m", "eegmon", *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"eegmon: error: montage {bad}: derivation 'C4-X1': 'X1' is not a 10-10 electrode "
        "nor A1, A2, M1, M2"
    ]


def test_the_bed_header_names_the_patient_and_the_session_or_when_the_page_connected() -> None:
    from dashboard.feed_client import FeedClient
    from dashboard.panels.header import HeaderPanel

    snap = FeedClient("ws://127.0.0.1:9").snapshot()
    header = HeaderPanel(css="")
    started = "2026-12-06T20:00:00+00:00"
    session = {"patient": "P-0042", "session": "3fa2c1d0e9b8", "started": started}
    header.update(dataclasses.replace(snap, stream={"name": "Bed 7"}, status=session), 0.0)
    assert "Bed 7" in header.header.text
    assert "patient <b>P-0042</b> · session 3fa2c1d0e9b8 · started " in header.header.text
    # A monitor without sessions: the time this page first saw its feed connected.
    header = HeaderPanel(css="")
    header.update(dataclasses.replace(snap, stream={"name": "Bed 8"}, connected=False), 0.0)
    assert "watched since" not in header.header.text
    header.update(dataclasses.replace(snap, stream={"name": "Bed 8"}, connected=True), 0.0)
    assert "Bed 8</b> · watched since " in header.header.text
    assert "· 0 min</div>" in header.header.text


def test_a_lab_montage_is_offered_on_every_bed_page(bed) -> None:
    from dashboard.montage import Montage, use_custom
    from dashboard.panels.controls import DisplayControls

    use_custom([Montage("Neonatal", (("Fp1", "C3"), ("C3", "O1"), ("T3", "C3")))])
    try:
        controls = DisplayControls(bed.traces, bed.update)
        assert ("Neonatal", "Neonatal") in controls.montage.options
        controls.montage.value = "Neonatal"
        labels, _ = drawn(bed)
        assert labels == ["Fp1-C3", "T3-C3"]  # the bed has no O1
    finally:
        use_custom([])
