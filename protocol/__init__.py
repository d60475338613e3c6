"""The vocabulary every part of eegmon shares: alert kinds, the feed's wire format,
frequency bands and electrode positions.

The bottom layer: pure definitions (standard library and NumPy), imported by
the detector, the runtime, the simulators and the dashboard alike, so each
fact is written once.
"""
