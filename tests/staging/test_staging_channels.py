"""Which channels the stager reads, from the labels alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staging import parse_label, pick_channels
from staging.channels import PREFERRED_EEG

ELECTRODES = ["C3", "C4", "CZ", "F4", "FPZ", "O2", "PZ", "T8", "A1", "A2", "M1", "M2"]
OTHERS = ["ECG", "Resp chest", "SaO2", "Leg L", "EOG LOC-M2", "EMG Chin1-Chin2"]


def spelled(draw: st.DrawFn, word: str) -> str:
    return "".join(draw(st.sampled_from([c.lower(), c.upper()])) for c in word)


@st.composite
def labels_of(draw: st.DrawFn, active: str, reference: str | None) -> str:
    prefix = draw(st.sampled_from(["", "EEG ", "eeg-", "EEG:"]))
    separator = draw(st.sampled_from(["-", ":", "_", " - ", "/", " "]))
    tail = "" if reference is None else separator + spelled(draw, reference)
    return draw(st.sampled_from(["", " "])) + prefix + spelled(draw, active) + tail


@given(st.data(), st.sampled_from(ELECTRODES), st.sampled_from([*ELECTRODES, None]))
def test_a_label_names_its_electrodes_whatever_the_spelling(
    data: st.DataObject, active: str, reference: str | None
) -> None:
    label = data.draw(labels_of(active, reference))
    assert parse_label(label) == (active, reference)


@given(st.data(), st.integers(0, len(PREFERRED_EEG) - 1))
def test_the_best_central_mastoid_derivation_is_picked_wherever_it_is_listed(
    data: st.DataObject, best: int
) -> None:
    worse = [f"{a}-{r}" for a, r in PREFERRED_EEG[best + 1 :]]
    chosen = data.draw(labels_of(*PREFERRED_EEG[best]))
    labels = data.draw(st.permutations([*OTHERS, "Fp1-F3", "Pz-Oz", *worse, chosen]))
    assert pick_channels(labels).eeg == labels.index(chosen)


def test_a_central_channel_comes_before_other_eeg_and_eeg_before_nothing() -> None:
    assert pick_channels(["Fp1-F3", "EEG Fpz-Cz", "O1"]).eeg == 1
    assert pick_channels(["ECG", "Fp1-F3", "EEG"]).eeg == 1
    assert pick_channels(["C4"]).kinds == ("eeg",)


@pytest.mark.parametrize(
    ("labels", "eog", "emg"),
    [
        (["C4-M1", "E2-M1", "E1-M2", "Chin1-Chin2"], 2, 3),
        (["C4-M1", "ROC-A1", "EMG submental"], 1, 2),
        (["EEG C3-A2", "EOG horizontal"], 1, None),
        (["CZ-A1"], None, None),
    ],
)
def test_eog_prefers_the_left_eye_and_emg_is_found_by_its_names(
    labels: list[str], eog: int | None, emg: int | None
) -> None:
    picked = pick_channels(labels)
    assert (picked.eog, picked.emg) == (eog, emg)
    assert picked.rows[0] == picked.eeg


@pytest.mark.parametrize("labels", [[], ["ECG", "EOG LOC", "EMG chin"], ["SaO2", "Pleth"]])
def test_no_eeg_is_an_error_naming_the_labels(labels: list[str]) -> None:
    with pytest.raises(ValueError, match="no EEG channel"):
        pick_channels(labels)
