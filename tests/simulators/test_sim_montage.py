import numpy as np
import pytest

from simulators.montage import MONTAGES, montage, positions


@pytest.mark.parametrize("n", [8, 19, 32, 64])
def test_standard_montages_have_unique_labels_on_the_upper_head(n):
    m = montage(n)
    assert m.n_channels == n == len(set(m.labels))
    assert np.allclose(np.linalg.norm(m.pos3d, axis=1), 1.0)
    assert (m.pos3d[:, 2] > -0.2).all()  # nothing below the ears
    assert (np.sort(m.distances(), axis=1)[:, 1] > 0.1).all()  # no two electrodes coincide


def test_classic_1020_set():
    classic = "Fp1 Fp2 F7 F3 Fz F4 F8 T7 C3 Cz C4 T8 P7 P3 Pz P4 P8 O1 O2"
    assert " ".join(MONTAGES[19]) == classic
    assert " ".join(MONTAGES[8]) == "F3 F4 C3 C4 P3 P4 O1 O2"


def test_positions_are_anatomically_plausible():
    m = positions(["Fp1", "Fp2", "Cz", "O1", "T7", "T8", "Fz"])
    pos = dict(zip(m.labels, m.pos3d, strict=True))
    assert np.allclose(pos["Cz"], [0, 0, 1])
    assert pos["Fp1"][1] > 0.8  # front
    assert pos["O1"][1] < -0.8  # back
    assert pos["T7"][0] < -0.9  # left
    assert pos["T8"][0] > 0.9  # right
    assert pos["Fp1"][0] < 0 < pos["Fp2"][0]
    # Neighbours are closer than electrodes on opposite sides.
    d = m.distances()
    assert d[0, 1] < d[0, 3]


def test_old_names_are_accepted():
    assert np.allclose(positions(["T3"]).pos3d, positions(["T7"]).pos3d)


@pytest.mark.parametrize("n", [0, 7, 20, 128])
def test_other_channel_counts_are_refused_naming_the_allowed_ones(n):
    with pytest.raises(ValueError, match=rf"{n}.*8, 19, 32, 64"):
        montage(n)


@pytest.mark.parametrize("labels", [["Cz", "Xy1"], ["F0"], ["Cz", "Cz"], []])
def test_bad_labels_are_refused(labels):
    with pytest.raises(ValueError, match="label"):
        positions(labels)
