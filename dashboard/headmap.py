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
from collections.abc import Sequence

from protocol.electrodes import RING_STEPS, flat_position


def head_position(label: str) -> tuple[float, float] | None:
    """Flat position of a 10-20 label, head radius 1 at the outer ring (x right, y nose)."""
    position = flat_position(label, inside_ring=True)
    if position is None:
        return None
    return round(position[0] / RING_STEPS, 6), round(position[1] / RING_STEPS, 6)


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
            cx, cy = 10 + (k % 8) * (size - 20) / 7, float(size + 7 + (k // 8) * 14)
        else:
            cx, cy = half + pos[0] * radius, half - pos[1] * radius
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{dot:.1f}" fill="{color}">'
            f"<title>{title}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
