"""The EEG frequency bands, written once for the detector's features and the dashboard's trends.

Alpha stops at 12 Hz and sigma (sleep spindles, 12-16 Hz) has a band of its
own, so spindles in N2 are not read as waking alpha; gamma stops below the
mains.

>>> [name for name in BANDS]
['delta', 'theta', 'alpha', 'sigma', 'beta', 'gamma']
>>> BANDS["alpha"]
(8.0, 12.0)
"""

from __future__ import annotations

#: Band edges in Hz, ``[low, high)``.
BANDS: dict[str, tuple[float, float]] = {
    "delta": (0.5, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 12.0),
    "sigma": (12.0, 16.0),
    "beta": (16.0, 30.0),
    "gamma": (30.0, 45.0),
}
