"""Where a 10-20 / 10-10 electrode sits, from its label alone.

The row letters give the front-back level and the number the side and the
distance from the midline, so any cap is placed without a table of
coordinates. The simulator uses it to make neighbours share signal, the
dashboard and the scan reports to draw head maps; it lives here, below both,
so there is one rule for every picture and every simulated field.

Examples
--------
>>> flat_position("Cz"), flat_position("Fz")
((0.0, 0.0), (0.0, 2.0))
>>> [round(v, 3) for v in flat_position("T3")]  # T3 is T7's old name
[-4.0, 0.0]
>>> flat_position("EKG") is None, flat_position("F0") is None
(True, True)
>>> [round(v, 3) for v in flat_position("P10") + flat_position("P10", inside_ring=True)]
[4.045, -2.439, 3.236, -2.351]
"""

from __future__ import annotations

import math
import re

#: Steps (10 % of the nasion-inion arc) from Cz to the ring through Fpz, T7, Oz and T8.
RING_STEPS = 4
# Row -> (front-back level in steps from Cz, azimuth in degrees of the row's
# electrode on the ring; 90 = nose, 180 = left ear).
_ROWS: dict[str, tuple[int, float]] = {
    "FP": (4, 108.0),
    "AF": (3, 126.0),
    "F": (2, 144.0),
    "FT": (1, 162.0),
    "FC": (1, 162.0),
    "T": (0, 180.0),
    "C": (0, 180.0),
    "TP": (-1, 198.0),
    "CP": (-1, 198.0),
    "P": (-2, 216.0),
    "PO": (-3, 234.0),
    "O": (-4, 252.0),
    "I": (-5, 270.0),
}
#: Old 10-20 names still found on many amplifiers.
ALIASES = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}
_LABEL = re.compile(r"^(FP|AF|FT|FC|TP|CP|PO|F|T|C|P|O|I)(Z|\d{1,2})$")


def flat_position(label: str, *, inside_ring: bool = False) -> tuple[float, float] | None:
    """Azimuthal-equidistant position in steps from Cz (x right, y nose); None if not 10-20.

    Fp, O and I electrodes sit on the ring; elsewhere 1-2 are next to the
    midline and each further pair one step out. `inside_ring` keeps the
    few electrodes below the ring (P9, P10, FT9, ...) on it, for drawings.
    """
    key = label.strip().upper()
    key = ALIASES.get(key, key)
    match = _LABEL.match(key)
    if match is None:
        return None
    row, column = match.groups()
    level, ring_azimuth = _ROWS[row]
    if column == "Z":
        return 0.0, float(level)
    number = int(column)
    if number == 0:
        return None
    lateral = RING_STEPS if row in ("FP", "O", "I") else math.ceil(number / 2)
    if inside_ring:
        lateral = min(lateral, RING_STEPS)
    azimuth = math.radians(ring_azimuth if number % 2 else 180.0 - ring_azimuth)
    frac = lateral / RING_STEPS
    x = frac * RING_STEPS * math.cos(azimuth)
    y = level + frac * (RING_STEPS * math.sin(azimuth) - level)
    return x, y
