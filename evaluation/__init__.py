"""Evaluation: recordings with ground truth, event-level metrics, and the baseline.

`corpus` builds the cases (simulated nights, faults and anomalies, and the
real recordings), `metrics` matches alerts to labelled events, `baseline` is
the fixed-threshold detector eegmon is compared with.
"""
