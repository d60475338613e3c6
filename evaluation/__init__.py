"""Evaluation: recordings with ground truth, event-level metrics, and the baseline they are compared with."""
