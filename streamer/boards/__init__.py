"""Amplifiers that speak BrainFlow rather than LSL, published on LSL by eegmon's stream contract.

Most low-cost and research amplifiers (OpenBCI, g.tec Unicorn, Muse,
Neurosity, BrainBit...) are read through BrainFlow; `BoardPublisher` turns
one of them into an ordinary EEG stream, so the monitor, the recorder and
the ward treat it like any LSL device.
"""

from streamer.boards.brainflow import BoardError, BoardPublisher, BoardSettings, board_id

__all__ = ["BoardError", "BoardPublisher", "BoardSettings", "board_id"]
