"""What every publisher of EEG on LSL declares: eegmon's stream contract (docs/design.md).

The simulator, the file player and the BrainFlow boards all publish through
these, so the monitor, LabRecorder or any LSL client read the same metadata:
type ``EEG``, float32 microvolts, channel labels and types per the XDF
meta-data convention, the device in ``desc/acquisition``, and a markers
stream ``<name>-markers`` beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pylsl


def eeg_info(
    name: str,
    labels: Sequence[str],
    rate: float,
    source_id: str,
    *,
    manufacturer: str,
    model: str,
    types: Sequence[str] | None = None,
) -> pylsl.StreamInfo:
    """An EEG stream's description: float32 µV, one labelled channel per label.

    >>> info = eeg_info("bed-1", ["C3", "C4"], 256.0, "amp-7", manufacturer="eegmon", model="sim")
    >>> first = info.desc().child("channels").child("channel")
    >>> info.type(), info.channel_count(), first.child_value("label"), first.child_value("unit")
    ('EEG', 2, 'C3', 'microvolts')
    """
    info = pylsl.StreamInfo(name, "EEG", len(labels), rate, pylsl.cf_float32, source_id)
    channels = info.desc().append_child("channels")
    for label, kind in zip(labels, types or ["EEG"] * len(labels), strict=True):
        channel = channels.append_child("channel")
        channel.append_child_value("label", label)
        channel.append_child_value("unit", "microvolts")
        channel.append_child_value("type", kind)
    acquisition = info.desc().append_child("acquisition")
    acquisition.append_child_value("manufacturer", manufacturer)
    acquisition.append_child_value("model", model)
    return info


def markers_info(eeg_name: str, source_id: str) -> pylsl.StreamInfo:
    """The ``<name>-markers`` stream beside an EEG stream: one JSON string per event."""
    return pylsl.StreamInfo(
        f"{eeg_name}-markers", "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string,
        f"{source_id}-markers",
    )  # fmt: skip
