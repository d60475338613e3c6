"""YASA's trained LightGBM sleep-stage classifiers, loaded once per channel set."""

from __future__ import annotations

import functools
import re
import warnings
from importlib import resources
from typing import Any

import joblib  # type: ignore[import-untyped]

#: The classifier's stage names, as the product names them.
STAGE_NAMES = {"W": "W", "N1": "N1", "N2": "N2", "N3": "N3", "R": "REM"}


@functools.cache
def load_classifier(kinds: tuple[str, ...]) -> Any:
    """YASA's newest classifier for channels of `kinds` (``("eeg",)``, ``("eeg", "eog")``...).

    The classifiers were pickled by an older scikit-learn: its version warning
    is expected, so it is silenced here. They predict on one thread: a few
    epochs at a time gain nothing from more, and the detector needs the cores.
    """
    folder = resources.files("yasa") / "classifiers"
    pattern = re.compile(rf"clf_{re.escape('+'.join(kinds))}_lgb_([\d.]+)\.joblib")
    versions = {
        tuple(int(part) for part in match[1].split(".")): entry
        for entry in folder.iterdir()
        if (match := pattern.fullmatch(entry.name))
    }
    if not versions:
        raise ValueError(f"YASA has no classifier for the channels {kinds!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with resources.as_file(versions[max(versions)]) as path:
            classifier = joblib.load(path)
    classifier.set_params(n_jobs=1)
    return classifier
