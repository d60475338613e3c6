"""Standalone HTML reports of an archive scan: one per recording, and an index.

A recording's report is the night at a glance for whoever reads it before
the physician: the hypnogram and sleep summary when the recording was
staged, signal quality per channel over time, the anomaly score
against its threshold, a spectrogram, and the alerts with their times and
evidence, one row per alert episode (a latched seizure alert that saw four
seizures is four rows of one alert). It is one HTML file with Bokeh's
JavaScript inlined, so it opens offline, from a USB stick or a mail
attachment (about 1 MB each, most of it Bokeh). The alert list and the
index are plain HTML tables: readable without JavaScript, and by scripts.

The renderer takes plain data, the dict of a `streamer.offline.scan.FileScan`
(``FileScan.to_dict()``), so it needs nothing from the detector.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import Any
from urllib.parse import quote

import numpy as np
from bokeh.embed import components
from bokeh.embed.bundle import bundle_for_objs_and_resources
from bokeh.layouts import column
from bokeh.models import HoverTool, LinearColorMapper, Range1d
from bokeh.models.annotations import BoxAnnotation, ColorBar
from bokeh.palettes import RdYlGn11, Viridis256
from bokeh.plotting import figure
from bokeh.resources import INLINE

from dashboard.stages import STAGE_COLORS, STAGE_LEVELS, sleep_statistics

#: Quality below this is not good signal (the dashboard's "doubtful" starts here).
GOOD_QUALITY = 0.75
_WIDTH = 1100
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.high td.kind { color: #b00; font-weight: bold; }
tr.medium td.kind { color: #a60; }
.failed { color: #b00; }
.facts span { margin-right: 1.5em; }
"""


def clock(seconds: float | None) -> str:
    """File seconds as h:mm:ss.

    Examples
    --------
    >>> clock(3725.4), clock(None)
    ('1:02:05', '-')
    """
    if seconds is None:
        return "-"
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def good_fraction(scan: dict[str, Any]) -> float | None:
    """Share of channel-epochs whose mean quality is good, None without epochs."""
    series = scan.get("series") or {}
    quality = series.get("quality") or []
    return float((np.asarray(quality) >= GOOD_QUALITY).mean()) if quality else None


def _page(title: str, body: str, head: str = "") -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n{head}\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _hours(series: dict[str, Any]) -> np.ndarray:
    return np.asarray(series["t"], dtype=float) / 3600.0


def _quality_plot(scan: dict[str, Any], series: dict[str, Any]) -> Any:
    labels = scan["labels"]
    quality = np.asarray(series["quality"], dtype=float).T  # (channels, epochs)
    t = _hours(series)
    step = series["step_s"] / 3600.0
    fig = figure(
        title="Signal quality per channel (green good, red unusable)",
        width=_WIDTH,
        height=max(180, 14 * len(labels) + 60),
        x_range=Range1d(start=t[0], end=t[-1] + step),
        y_range=Range1d(start=-0.5, end=len(labels) - 0.5),
        x_axis_label="hours from the start of the recording",
        tools="xpan,xwheel_zoom,reset,save",
    )
    mapper = LinearColorMapper(palette=RdYlGn11[::-1], low=0.0, high=1.0)
    fig.image(
        image=[quality], x=t[0], y=-0.5, dw=t[-1] + step - t[0], dh=len(labels),
        **_colored_by(mapper),
    )  # fmt: skip
    fig.yaxis.ticker = list(range(len(labels)))
    fig.yaxis.major_label_overrides = dict(enumerate(labels))
    fig.add_layout(ColorBar(color_mapper=mapper, width=10), "right")
    return fig


def _score_plot(scan: dict[str, Any], series: dict[str, Any], x_range: Any) -> Any:
    t = _hours(series)
    nan = float("nan")
    score = [nan if v is None else v for v in series["score"]]
    threshold = [nan if v is None else v for v in series["threshold"]]
    fig = figure(
        title="Anomaly score (largest per 30 s) and its threshold; anomaly alerts shaded",
        width=_WIDTH,
        height=200,
        x_range=x_range,
        x_axis_label="hours",
        tools="xpan,xwheel_zoom,reset,save",
    )
    fig.line(t, score, legend_label="score", color="#1f77b4")
    fig.line(t, threshold, legend_label="threshold", color="#d62728", line_dash="dashed")
    end_of_file = scan["duration_s"]
    for alert in scan["alerts"]:
        if alert["kind"] == "anomaly":
            end = alert["end"] if alert["end"] is not None else end_of_file
            fig.add_layout(
                BoxAnnotation(
                    left=alert["onset"] / 3600, right=end / 3600, fill_alpha=0.2, fill_color="red"
                )
            )
    fig.legend.location = "top_left"
    fig.add_tools(HoverTool(tooltips=[("hour", "@x{0.00}"), ("value", "@y{0.00}")]))
    return fig


def _spectrogram(series: dict[str, Any], x_range: Any) -> Any:
    t = _hours(series)
    step = series["step_s"] / 3600.0
    hz = np.asarray(series["spectrum_hz"], dtype=float)
    power = np.asarray(
        [[np.nan if v is None else v for v in row] for row in series["spectrum"]], dtype=float
    ).T  # (frequencies, epochs)
    finite = power[np.isfinite(power)]
    low, high = np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0)
    fig = figure(
        title="Spectrogram: log10 power (µV²/Hz), mean of channels",
        width=_WIDTH,
        height=220,
        x_range=x_range,
        y_range=Range1d(hz[0], hz[-1]),
        x_axis_label="hours",
        y_axis_label="Hz",
        tools="xpan,xwheel_zoom,reset,save",
    )
    mapper = LinearColorMapper(
        palette=Viridis256, low=float(low), high=float(high), nan_color="white"
    )
    fig.image(
        image=[power],
        x=t[0],
        y=hz[0],
        dw=t[-1] + step - t[0],
        dh=hz[-1] - hz[0],
        **_colored_by(mapper),
    )
    fig.add_layout(ColorBar(color_mapper=mapper, width=10), "right")
    return fig


def _alert_table(alerts: list[dict[str, Any]]) -> str:
    if not alerts:
        return "<p>No alerts.</p>"
    rows = []
    for a in alerts:
        evidence = ", ".join(
            f"{k} {'-' if v is None else format(v, 'g')}"
            for k, v in (a.get("evidence") or {}).items()
        )
        rows.append(
            f"<tr class='{html.escape(a['severity'])}'>"
            f"<td class='num'>{clock(a['onset'])}</td><td class='num'>{clock(a['end'])}</td>"
            f"<td class='kind'>{html.escape(a['kind'])}</td>"
            f"<td>{html.escape(a['id'])}</td><td class='num'>{a.get('episode', 1)}</td>"
            f"<td>{html.escape(a['severity'])}</td>"
            f"<td>{html.escape(', '.join(a['channels']) or 'all')}</td>"
            f"<td>{html.escape(a['message'])}</td><td>{html.escape(evidence)}</td></tr>"
        )
    return (
        "<table id='alerts'><thead><tr><th>onset</th><th>end</th><th>kind</th>"
        "<th>alert</th><th>episode</th><th>severity</th>"
        "<th>channels</th><th>message</th><th>evidence</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _counts(alerts: list[dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(a["kind"] for a in alerts))


def _colored_by(mapper: LinearColorMapper) -> dict[str, Any]:
    """The ``color_mapper`` argument of ``figure.image``, which Bokeh's type stubs omit."""
    return {"color_mapper": mapper}


def _inline(bundle: Any) -> str:
    """The bundle's scripts and styles as inline tags (INLINE resources carry no URLs)."""
    return str(bundle._render_css() + bundle._render_js())


def _hypnogram_plot(stages: list[dict[str, Any]], x_range: Any | None) -> Any:
    """The final hypnogram as steps (wake on top), the live one faint behind it."""
    extra = {} if x_range is None else {"x_range": x_range}
    fig = figure(
        title="Sleep stages (30 s epochs): final, and as the monitor first showed them (faint)",
        width=_WIDTH,
        height=170,
        x_axis_label="hours",
        tools="xpan,xwheel_zoom,reset,save",
        **extra,
    )
    nan = float("nan")
    for column_name, alpha, width in (("live_stage", 0.3, 1), ("stage", 1.0, 2)):
        xs: list[float] = []
        ys: list[float] = []
        for epoch in stages:
            level = STAGE_LEVELS.get(epoch[column_name] or "", nan)
            xs += [epoch["onset"] / 3600, (epoch["onset"] + epoch["duration"]) / 3600]
            ys += [level, level]
        fig.line(xs, ys, color="#222", alpha=alpha, line_width=width)
    for stage, level in STAGE_LEVELS.items():
        at = [e["onset"] / 3600 for e in stages if e["stage"] == stage]
        widths = [e["duration"] / 3600 for e in stages if e["stage"] == stage]
        fig.rect(
            [a + w / 2 for a, w in zip(at, widths, strict=True)], level, widths, 0.5,
            color=STAGE_COLORS[stage], alpha=0.6,
        )  # fmt: skip
    fig.yaxis.ticker = sorted(STAGE_LEVELS.values())
    fig.yaxis.major_label_overrides = {level: stage for stage, level in STAGE_LEVELS.items()}
    return fig


def _sleep_table(stages: list[dict[str, Any]]) -> str:
    """Time in each stage, sleep efficiency, latency and wake after sleep onset."""
    stats = sleep_statistics([(e["onset"], e["duration"], e["stage"]) for e in stages])
    if stats.staged_s == 0:
        return "<p>No epoch could be staged.</p>"
    rows = "".join(
        f"<tr><td>{stage}</td><td class='num'>{seconds / 60:.1f}</td>"
        f"<td class='num'>{100 * seconds / stats.staged_s:.0f} %</td></tr>"
        for stage, seconds in stats.by_stage_s.items()
    )
    efficiency = stats.efficiency or 0.0
    latency = "-" if stats.onset_latency_s is None else f"{stats.onset_latency_s / 60:.1f} min"
    facts = (
        f"<p class='facts'><span>staged {clock(stats.staged_s)}</span>"
        f"<span>total sleep {clock(stats.sleep_s)}</span>"
        f"<span>sleep efficiency {100 * efficiency:.0f} %</span>"
        f"<span>sleep onset latency {latency}</span>"
        f"<span>wake after sleep onset {stats.wake_after_onset_s / 60:.1f} min</span></p>"
    )
    return (
        f"{facts}<table id='stages'><thead><tr><th>stage</th><th>minutes</th>"
        f"<th>of the staged time</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def render_recording(scan: dict[str, Any], stages: list[dict[str, Any]] | None = None) -> str:
    """The standalone HTML report of one scanned recording (a `FileScan` as a dict).

    `stages`, when the recording was staged, are its 30 s epochs (``onset``,
    ``duration``, ``stage``, ``live_stage``; a stage None when unscored): the
    report then shows its hypnogram and the night's sleep summary.
    """
    series = scan.get("series") or {}
    good = good_fraction(scan)
    counts = ", ".join(f"{k} {n}" for k, n in _counts(scan["alerts"]).items()) or "none"
    facts = (
        f"<p class='facts'><span>duration {clock(scan['duration_s'])}</span>"
        f"<span>{scan['n_channels']} channels @ {scan['rate']:g} Hz</span>"
        f"<span>good signal {'-' if good is None else f'{100 * good:.0f} %'}</span>"
        f"<span>alerts: {html.escape(counts)}</span>"
        f"<span>source {html.escape(scan['source_id'])}</span></p>"
    )
    warnings = "".join(f"<p class='failed'>{html.escape(w)}</p>" for w in scan["warnings"])
    head, plots, sleep = "", "", ""
    staged = [e for e in stages or [] if e["stage"] is not None]
    figures = []
    if series.get("t"):
        quality = _quality_plot(scan, series)
        figures = [
            quality,
            _score_plot(scan, series, quality.x_range),
            _spectrogram(series, quality.x_range),
        ]
    if staged:
        figures.insert(0, _hypnogram_plot(stages or [], figures[0].x_range if figures else None))
        sleep = f"<h2>Sleep</h2>{_sleep_table(staged)}"
    if figures:
        layout = column(*figures)
        script, div = components(layout)
        # only the bundles this page uses, inlined (Bokeh's widgets and tables are left out)
        head = _inline(bundle_for_objs_and_resources([layout], INLINE)) + script
        plots = div
    body = (
        f"<h1>{html.escape(scan['file'])}</h1>{facts}{warnings}{sleep}{plots}"
        f"<h2>Alerts</h2>{_alert_table(scan['alerts'])}"
    )
    return _page(f"eegmon scan: {scan['file']}", body, head)


def render_index(entries: list[dict[str, Any]]) -> str:
    """The archive's index: one row per file, linking its report (plain HTML, no script).

    Each entry has ``file``, ``report`` (the report's relative URL or None),
    ``scan`` (a `FileScan` as a dict, or None) and ``failure`` (why not).
    """
    kinds = sorted({a["kind"] for e in entries if e["scan"] for a in e["scan"]["alerts"]})
    head = "".join(f"<th>{html.escape(k)}</th>" for k in kinds)
    rows = []
    total_s = 0.0
    for entry in entries:
        name = html.escape(entry["file"])
        href = html.escape(quote(entry["report"])) if entry["report"] else ""
        link = f"<a href='{href}'>{name}</a>" if entry["report"] else name
        scan = entry["scan"]
        if scan is None:
            rows.append(
                f"<tr><td>{name}</td><td class='failed' colspan='{len(kinds) + 3}'>"
                f"failed: {html.escape(entry['failure'] or '')}</td></tr>"
            )
            continue
        total_s += scan["duration_s"]
        counts = _counts(scan["alerts"])
        good = good_fraction(scan)
        cells = "".join(f"<td class='num'>{counts.get(k, 0)}</td>" for k in kinds)
        rows.append(
            f"<tr><td>{link}</td><td class='num'>{clock(scan['duration_s'])}</td>"
            f"<td class='num'>{len(scan['alerts'])}</td>{cells}"
            f"<td class='num'>{'-' if good is None else f'{100 * good:.0f} %'}</td></tr>"
        )
    scanned = sum(e["scan"] is not None for e in entries)
    body = (
        f"<h1>EEG archive scan</h1><p class='facts'><span>{scanned} of {len(entries)} files "
        f"scanned</span><span>{total_s / 3600:.1f} h of EEG</span></p>"
        "<table id='files'><thead><tr><th>file</th><th>duration</th><th>alerts</th>"
        f"{head}<th>good signal</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return _page("eegmon scan: index", body)
