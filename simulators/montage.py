"""Standard 10-20 / 10-10 montages with approximate electrode positions.

The positions only need to be good enough to make neighbouring electrodes
share signal and to place rhythms (posterior alpha, frontal slow waves,
central spindles) where a clinician expects them. They come from the label
itself (`protocol.electrodes.flat_position`), mapped onto a spherical head.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from protocol.electrodes import flat_position

# Channel sets, in the order an amplifier of that size usually sends them.
_SETS = {
    8: "F3 F4 C3 C4 P3 P4 O1 O2",
    # The classic 10-20 set.
    19: "Fp1 Fp2 F7 F3 Fz F4 F8 T7 C3 Cz C4 T8 P7 P3 Pz P4 P8 O1 O2",
    # BioSemi 32-channel cap (10-10 subset).
    32: "Fp1 AF3 F7 F3 FC1 FC5 T7 C3 CP1 CP5 P7 P3 Pz PO3 O1 Oz "
    "O2 PO4 P4 P8 CP6 CP2 C4 T8 FC6 FC2 F4 F8 AF4 Fp2 Fz Cz",
    # BioSemi 64-channel cap (10-10 system).
    64: "Fp1 AF7 AF3 F1 F3 F5 F7 FT7 FC5 FC3 FC1 C1 C3 C5 T7 TP7 "
    "CP5 CP3 CP1 P1 P3 P5 P7 P9 PO7 PO3 O1 Iz Oz POz Pz CPz "
    "Fpz Fp2 AF8 AF4 AFz Fz F2 F4 F6 F8 FT8 FC6 FC4 FC2 FCz Cz "
    "C2 C4 C6 T8 TP8 CP6 CP4 CP2 P2 P4 P6 P8 P10 PO8 PO4 O2",
}
#: Standard channel labels per channel count.
MONTAGES: dict[int, tuple[str, ...]] = {n: tuple(labels.split()) for n, labels in _SETS.items()}

_STEP_DEG = 18.0


@dataclass(frozen=True)
class Montage:
    """Channel labels with unit-sphere (x right, y nose, z up) and flat positions."""

    labels: tuple[str, ...]
    pos3d: NDArray[np.float64]
    pos2d: NDArray[np.float64]

    @property
    def n_channels(self) -> int:
        return len(self.labels)

    def distances(self) -> NDArray[np.float64]:
        """Chord distances between every pair of electrodes on the unit sphere."""
        diff = self.pos3d[:, None, :] - self.pos3d[None, :, :]
        chords: NDArray[np.float64] = np.sqrt((diff**2).sum(axis=-1))
        return chords


def _flat_position(label: str) -> tuple[float, float]:
    position = flat_position(label)
    if position is None:
        raise ValueError(f"unknown 10-20 electrode label {label!r}")
    return position


def positions(labels: tuple[str, ...] | list[str]) -> Montage:
    """Place arbitrary 10-20/10-10 labels (``T3``-style old names accepted)."""
    if not labels:
        raise ValueError("a montage needs at least one channel label")
    if len(set(labels)) != len(labels):
        dupes = sorted({lab for lab in labels if list(labels).count(lab) > 1})
        raise ValueError(f"duplicate channel labels {dupes!r}")
    flat = np.array([_flat_position(lab) for lab in labels], dtype=np.float64)
    radius = np.hypot(flat[:, 0], flat[:, 1])
    polar = np.radians(radius * _STEP_DEG)
    azimuth = np.arctan2(flat[:, 1], flat[:, 0])
    pos3d = np.column_stack(
        [np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth), np.cos(polar)]
    )
    # Flat map: polar angle / 90°, so the ear-level circle has radius 1.
    return Montage(tuple(labels), pos3d, flat / 5.0)


def montage(n_channels: int) -> Montage:
    """The standard montage for 8, 19, 32 or 64 channels."""
    if n_channels not in MONTAGES:
        raise ValueError(
            f"no standard montage for {n_channels!r} channels; "
            f"choose one of {', '.join(map(str, MONTAGES))}"
        )
    return positions(MONTAGES[n_channels])
