"""eegmon's detector: pure computation from EEG blocks to alerts.

The processing order is fixed, and this is the one place it is written down.
For every block given to `Detector.process`:

1. **gap check** (`core`): a jump in `first_index` raises `samples_dropped`
   (or, during an outage, clears `signal_lost`) and restarts filters and
   windows, so no window straddles a gap;
2. **bad-value masking** (`core`): NaN/±Inf samples are replaced by the
   channel's last finite value and remembered, so they never reach a filter;
3. **streaming filters** (`filters`): high-pass, mains notch, low-pass, run
   over whole blocks with state carried between blocks;
4. **windows** (`windows`): `window_s` long every `hop_s`, counted from the
   start of the run, identical whatever the block boundaries;
5. **features** (`features`): computed once per window for all channels;
6. **rules + model** (`rules`, `model`): exact per-channel quality rules, and
   an online river anomaly scorer (`FeatureCovariance`) with a quantile
   threshold, protected from learning flagged windows;
7. **alert state machine** (`alerts`): debounced per channel, one alert per
   kind, states active -> acknowledged -> cleared.

No I/O, threads or clocks here: live, replay and offline scans feed the same
blocks and get the same alerts.
"""

from detector.config import DetectorConfig
from detector.core import Detector
from detector.features import Features, compute_features
from detector.types import Alert, Block, ModelState, Output, StreamMeta, WindowScore

__all__ = [
    "Alert",
    "Block",
    "Detector",
    "DetectorConfig",
    "Features",
    "ModelState",
    "Output",
    "StreamMeta",
    "WindowScore",
    "compute_features",
]
