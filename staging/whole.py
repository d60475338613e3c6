"""Staging a whole recording at once, as YASA does offline: the morning's hypnogram.

Offline the whole night is known: YASA's features use windows centred on
each epoch and are scaled over the whole night, which the live stager
(`staging.live`) cannot do as the night goes on. A scan's hypnogram is this
one, from the channels the live stager picks (`staging.channels`); its live
stages say what the monitor showed.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from staging.channels import pick_channels
from staging.classifier import STAGE_NAMES
from staging.features import EPOCH_S
from staging.live import StagedEpoch

#: YASA's names of the stages in its hypnograms, as the product names them.
YASA_NAMES = {"WAKE": "W", "N1": "N1", "N2": "N2", "N3": "N3", "REM": "REM", **STAGE_NAMES}


def stage_whole(data: NDArray[np.float32], labels: Sequence[str], rate: float) -> list[StagedEpoch]:
    """Every whole 30 s epoch of a recording (channels x samples, µV), staged by YASA at once.

    Raises ValueError when no channel can be staged from (see `pick_channels`).
    """
    import mne  # slow imports, as YASA's own
    import yasa

    pick = pick_channels(labels)
    kinds = list(pick.kinds)
    raw = mne.io.RawArray(
        pick.select(data) * 1e-6, mne.create_info(kinds, rate, kinds), verbose=False
    )
    # YASA logs that a short recording is short; its stages say as much, quietly
    yasa_log = logging.getLogger("yasa")
    level = yasa_log.level
    yasa_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the classifiers' scikit-learn version, as live
            staging = yasa.SleepStaging(
                raw,
                "eeg",
                eog_name="eog" if "eog" in kinds else None,
                emg_name="emg" if "emg" in kinds else None,
            )
            hypnogram = staging.predict()
    finally:
        yasa_log.setLevel(level)
    stages = [YASA_NAMES[str(stage)] for stage in hypnogram.hypno]
    confidence = hypnogram.proba.max(axis=1).to_numpy(dtype=float)
    at = data.shape[1] / rate
    return [
        StagedEpoch(i, i * EPOCH_S, stage, float(confidence[i]), final=True, staged_at_s=at)
        for i, stage in enumerate(stages)
    ]
