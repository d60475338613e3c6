"""Live sleep staging with YASA's trained classifiers: a 30 s hypnogram as the night goes on.

`LiveStager` takes the stream's blocks and stages each 30 s epoch (W, N1,
N2, N3, REM, with the classifier's confidence) within a minute of its end,
then revises it until it is final; `stage_recording` does the same for a
whole recording at once. Both are pure: the same samples give the same
stages. `agreement` compares hypnograms.
"""

from staging.agreement import STAGES, accuracy, cohen_kappa
from staging.channels import ChannelPick, parse_label, pick_channels
from staging.live import (
    DEADLINE_S,
    LiveStager,
    RecordingStages,
    StagedEpoch,
    stage_recording,
)

__all__ = [
    "DEADLINE_S",
    "STAGES",
    "ChannelPick",
    "LiveStager",
    "RecordingStages",
    "StagedEpoch",
    "accuracy",
    "cohen_kappa",
    "parse_label",
    "pick_channels",
    "stage_recording",
]
