"""Voltage units as devices and files declare them, and their factor to microvolts.

Everything inside eegmon is in microvolts; the live inlet and the file
readers convert at the edge with this one table. What to do with a unit the
table does not know is the caller's choice: a file reader leaves such a
channel out (it is not a voltage), a live stream takes it as microvolts.

>>> UNIT_TO_UV["mv"], UNIT_TO_UV["µv"], UNIT_TO_UV["volts"]
(1000.0, 1.0, 1000000.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

#: Names of voltage units (lower case) and their factor to microvolts.
UNIT_TO_UV: Final[Mapping[str, float]] = MappingProxyType(
    {
        "uv": 1.0,
        "µv": 1.0,  # micro sign
        "μv": 1.0,  # Greek mu
        "microvolt": 1.0,
        "microvolts": 1.0,
        "mv": 1e3,
        "millivolt": 1e3,
        "millivolts": 1e3,
        "v": 1e6,
        "volt": 1e6,
        "volts": 1e6,
        "nv": 1e-3,
        "nanovolts": 1e-3,
    }
)


def unit_to_uv(unit: str) -> float:
    """The factor from a live stream's declared unit to microvolts; 1 when none or unknown.

    Besides names, MNE-LSL declares units as a power of ten of volts
    (``"0"`` volts, ``"-6"`` microvolts), as FIFF files do.

    >>> unit_to_uv("Volts"), unit_to_uv("0"), unit_to_uv("-6"), unit_to_uv("furlongs")
    (1000000.0, 1000000.0, 1.0, 1.0)
    >>> unit_to_uv(""), unit_to_uv(" mV ")
    (1.0, 1000.0)
    """
    unit = unit.strip().lower()
    if unit in UNIT_TO_UV:
        return UNIT_TO_UV[unit]
    try:
        exponent = int(unit)  # FIFF's unit multiplier: data in 10**exponent volts
    except ValueError:
        return 1.0
    return float(10.0 ** (exponent + 6)) if -12 <= exponent <= 0 else 1.0
