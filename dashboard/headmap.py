"""A small 10-20 head map of per-channel signal quality, as inline SVG.

Positions come from the label (row letters give the front-back level, the
number the side and the distance from the midline), so any 10-20 / 10-10 cap
is drawn without a table; labels that are not 10-20 names go in a grid under
the head. The SVG is plain markup escaped here, shown in a Bokeh ``Div``:
a ward of many beds costs no canvas renderer at all.

Examples
--------
>>> head_position("Cz"), head_position("Fz"), head_position("Oz")
((0.0, 0.0), (0.0, 0.5), (0.0, -1.0))
>>> x, y = head_position("T7")
>>> round(x, 2), round(y, 2)
(-1.0, 0.0)
>>> head_position("EKG") is None
True
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence

# Row -> (front-back level in 10 % steps from Cz, azimuth of the row's end on the outer ring).
_ROWS = {
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
_ALIASES = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}
_LABEL = re.compile(r"^(FP|AF|FT|FC|TP|CP|PO|F|T|C|P|O|I)(Z|\d{1,2})$")
_RING = 4  # the outer ring (Fpz, T7, Oz, T8) is 4 steps from Cz


def head_position(label: str) -> tuple[float, float] | None:
    """Flat position of a 10-20 label, head radius 1 at the outer ring (x right, y nose)."""
    key = _ALIASES.get(label.strip().upper(), label.strip().upper())
    match = _LABEL.match(key)
    if match is None:
        return None
    row, column = match.groups()
    level, end_azimuth = _ROWS[row]
    if column == "Z":
        return 0.0, level / _RING
    number = int(column)
    if number == 0:
        return None
    lateral = _RING if row in ("FP", "O", "I") else min(_RING, math.ceil(number / 2))
    azimuth = math.radians(end_azimuth if number % 2 else 180.0 - end_azimuth)
    frac = lateral / _RING
    x = frac * math.cos(azimuth)
    y = (level + frac * (_RING * math.sin(azimuth) - level)) / _RING
    return round(x, 6), round(y, 6)


def quality_color(quality: float | None, flagged: bool) -> str:
    """Green (good) to red (unusable); grey when unknown; red when an alert names it."""
    if flagged:
        return "#d32f2f"
    if quality is None or not math.isfinite(quality):
        return "#9e9e9e"
    if quality >= 0.8:
        return "#2e7d32"
    if quality >= 0.5:
        return "#f9a825"
    return "#d32f2f"


def headmap_svg(
    labels: Sequence[str],
    quality: Sequence[float | None] | None,
    flagged: set[str] | frozenset[str] = frozenset(),
    size: int = 150,
) -> str:
    """An SVG head seen from above with one dot per channel coloured by its quality."""
    half = size / 2
    radius = size * 0.36
    extra = [label for label in labels if head_position(label) is None]
    rows = math.ceil(len(extra) / 8)
    height = size + rows * 14
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{height}" '
        f'viewBox="0 0 {size} {height}" class="eegmon-headmap" role="img" '
        'aria-label="signal quality per electrode">',
        f'<circle cx="{half}" cy="{half}" r="{radius * 1.12:.1f}" fill="#fafafa" '
        'stroke="#607d8b" stroke-width="1.5"/>',
        f'<path d="M{half - 8},{half - radius * 1.1:.1f} L{half},{half - radius * 1.26:.1f} '
        f'L{half + 8},{half - radius * 1.1:.1f}" fill="none" stroke="#607d8b" stroke-width="1.5"/>',
    ]
    dot = max(2.5, min(6.0, size / (4 * math.sqrt(max(1, len(labels))))))
    for i, label in enumerate(labels):
        q = quality[i] if quality is not None and i < len(quality) else None
        color = quality_color(q, label in flagged)
        title = html.escape(f"{label}: " + ("no quality yet" if q is None else f"quality {q:.2f}"))
        pos = head_position(label)
        if pos is None:
            k = extra.index(label)
            cx, cy = 10 + (k % 8) * (size - 20) / 7, size + 7 + (k // 8) * 14
        else:
            cx, cy = half + pos[0] * radius, half - pos[1] * radius
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{dot:.1f}" fill="{color}">'
            f"<title>{title}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
