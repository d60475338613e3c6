"""Evaluation recordings with ground truth: simulated nights and the real recordings.

Each builder returns a `Case`: the stream, its blocks (produced lazily) and the
labelled events. The tests and ``benchmarks/quality.py`` run the same cases.
Thresholds were fixed before these were run (see DetectorConfig); nothing
here is tuned to a file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from detector import Alert, Block, Detector, DetectorConfig, StreamMeta
from evaluation.baseline import LineLengthBaseline
from evaluation.metrics import Detection, Event, KindScore, detections, expected_kind, score
from protocol.kinds import KINDS
from simulators import SleepEEG
from simulators.effects import Effects
from simulators.scenario import ChannelEvent, parse_scenario

BONN_RATE = 173.61
#: The DREAMS excerpts' rate (excerpt 6: 200.08 Hz by its length).
DREAMS_RATE = 200.0
#: The technical faults: the kinds that judge a channel's signal.
TECHNICAL = tuple(name for name, kind in KINDS.items() if kind.quality is not None)
SIM_LABELS = ("Fp1", "Fp2", "F3", "F4", "C3", "Cz", "C4", "P3", "P4", "O1", "O2", "T7")


@dataclass
class Case:
    name: str
    stream: StreamMeta
    blocks: Callable[[], Iterator[Block]]
    events: list[Event]
    duration_s: float
    #: staged epochs (index, stage, stream time staged), told to the detector as live
    stages: list[tuple[int, str, float]] = field(default_factory=list)


def array_blocks(data: NDArray[np.float64], rate: float, chunk: int = 64) -> Iterator[Block]:
    for first in range(0, data.shape[1], chunk):
        part = data[:, first : first + chunk].astype(np.float32)
        yield Block(part, (first + np.arange(part.shape[1])) / rate, first)


def run(
    case: Case, config: DetectorConfig | None = None
) -> tuple[list[Detection], list[Detection]]:
    """The detector's and the baseline's detections on a case."""
    det = Detector(case.stream, config)
    base = LineLengthBaseline(case.stream)
    mine: list[tuple[Alert, float]] = []
    theirs: list[tuple[Alert, float]] = []
    staged = iter(case.stages)
    epoch = next(staged, None)
    for block in case.blocks():
        at = float(block.timestamps[-1])
        while epoch is not None and epoch[2] <= at:  # takes effect later (`detector.stages`)
            det.stage(*epoch)
            epoch = next(staged, None)
        mine.extend((a, at) for a in det.process(block).alerts)
        theirs.extend((a, at) for a in base.process(block))
    return detections(mine), detections(theirs)


def evaluate(case: Case, config: DetectorConfig | None = None) -> dict[str, dict[str, KindScore]]:
    mine, theirs = run(case, config)
    kinds = {e.kind for e in case.events}
    return {
        "eegmon": score(case.events, mine, case.duration_s),
        "baseline": score(case.events, theirs, case.duration_s, kinds=kinds),
    }


# -- simulated --------------------------------------------------------------------------
FAULTS_TOML = """
[[event]]
kind = "flatline"
at = {t0}
duration = 8.0
channels = ["{a}"]
[[event]]
kind = "saturation"
at = {t1}
duration = 6.0
channels = ["{b}"]
[[event]]
kind = "line_noise"
at = {t2}
duration = 8.0
channels = ["{c}"]
frequency_hz = {mains}
[[event]]
kind = "electrode_pop"
at = {t3}
duration = 2.0
channels = ["{d}"]
[[event]]
kind = "artifact"
at = {t4}
duration = 5.0
channels = ["{e}"]
type = "muscle"
[[event]]
kind = "artifact"
at = {t5}
duration = 5.0
channels = ["{a}", "{b}"]
type = "movement"
[[event]]
kind = "bad_values"
at = {t6}
duration = 3.0
channels = ["{c}"]
"""


def fault_events(labels: tuple[str, ...], start: float, seed: int) -> str:
    """A TOML scenario with each technical fault once, on channels picked by `seed`."""
    rng = np.random.default_rng(seed)
    a, b, c, d, e = rng.choice(labels, 5, replace=False)
    times = {f"t{i}": start + 20.0 * i for i in range(7)}
    mains = int(rng.choice([50, 60]))
    return FAULTS_TOML.format(a=a, b=b, c=c, d=d, e=e, mains=mains, **times)


def seizure_event(at: float, channels: list[str], seed: int) -> str:
    rng = np.random.default_rng(seed)
    return (
        f'[[event]]\nkind = "seizure"\nat = {at}\nduration = {rng.uniform(30, 90):.1f}\n'
        f"channels = {channels!r}\namplitude_uv = {rng.uniform(120, 250):.0f}\n"
        f"start_hz = {rng.uniform(4, 8):.1f}\nend_hz = {rng.uniform(2.5, 4):.1f}\n"
    ).replace("'", '"')


def simulated(
    name: str, minutes: float, seed: int, scenario: str = "", rate: float = 128.0
) -> Case:
    labels = SIM_LABELS
    parsed = parse_scenario(scenario or "", source=name)
    n = round(minutes * 60 * rate)
    events = [
        Event(e.at, e.duration, expected_kind(e.kind), tuple(getattr(e, "channels", ())))
        for e in parsed.events
    ]
    for event in events:  # a seizure spreads: its neighbours count as localized too
        if event.kind == "seizure_suspect":
            events[events.index(event)] = Event(event.onset, event.duration, event.kind, ())

    def blocks() -> Iterator[Block]:
        eeg = SleepEEG(labels, rate, seed=seed)
        effects = Effects(parsed.events, labels, rate, seed)
        chunk = round(4 * rate)
        for first in range(0, n, chunk):
            data = eeg.generate(min(chunk, n - first))
            effects.apply(data, first)
            yield Block(data, (first + np.arange(data.shape[1])) / rate, first)

    return Case(name, StreamMeta(name, f"sim-{seed}", labels, rate), blocks, events, n / rate)


def simulated_faults(seed: int = 11) -> Case:
    """20 minutes of sleep; technical faults twice and two seizures, at known times."""
    toml = fault_events(SIM_LABELS, 120.0, seed) + fault_events(SIM_LABELS, 600.0, seed + 1)
    toml += seizure_event(360.0, ["F3", "C3"], seed) + seizure_event(900.0, ["P4"], seed + 1)
    return simulated("sim-faults", 20.0, seed, toml)


def simulated_night(hours: float, seed: int = 5) -> Case:
    """Clean sleep: every stage, no events."""
    return simulated("sim-night", hours * 60.0, seed)


#: Whole-stream changes that no rule names, for the model (kind ``anomaly``):
#: each scales the background or adds to it, on every channel, for 30 s.
ANOMALIES = ("suppression", "slowing", "fast", "amplitude")


def _inject(data: NDArray[np.float64], kind: str, rate: float, rng: np.random.Generator) -> None:
    from scipy import signal

    n = data.shape[1]
    if kind == "suppression":  # electrodecremental: the EEG drops to a fifth
        data *= 0.2
    elif kind == "amplitude":  # a diffuse, non-rhythmic rise to four times
        data *= 4.0
    elif kind == "slowing":  # diffuse 1-3 Hz slowing at twice the background's RMS
        noise = signal.sosfiltfilt(
            signal.butter(2, (1.0, 3.0), "bandpass", fs=rate, output="sos"),
            rng.normal(size=data.shape),
        )
        data += noise * 2.0 * data.std() / noise.std()
    else:  # "fast": diffuse 18-25 Hz activity at the background's RMS
        noise = signal.sosfiltfilt(
            signal.butter(2, (18.0, 25.0), "bandpass", fs=rate, output="sos"),
            rng.normal(size=(data.shape[0], n)),
        )
        data += noise * data.std() / noise.std()


def simulated_anomalies(
    minutes: float = 24.0, seed: int = 3, repeats: int = 2, rate: float = 128.0
) -> Case:
    """Clean sleep; each of ANOMALIES `repeats` times for 30 s, after 5 minutes, at known times."""
    labels = SIM_LABELS
    n = round(minutes * 60 * rate)
    rng = np.random.default_rng(seed)
    kinds = list(ANOMALIES) * repeats
    rng.shuffle(kinds)
    spacing = (minutes * 60.0 - 300.0) / len(kinds)
    if spacing < 45.0:
        raise ValueError(f"{minutes} min leave {spacing:.0f} s per anomaly; 45 s are needed")
    starts = [
        300.0 + i * spacing + float(rng.uniform(0, spacing - 40.0)) for i in range(len(kinds))
    ]
    events = [Event(at, 30.0, "anomaly") for at in starts]
    eeg = SleepEEG(labels, rate, seed=seed)
    data = eeg.generate(n).astype(np.float64)
    for at, kind in zip(starts, kinds, strict=True):
        lo = round(at * rate)
        _inject(data[:, lo : lo + round(30.0 * rate)], kind, rate, rng)
    stream = StreamMeta("sim-anomalies", f"sim-{seed}", labels, rate)
    return Case(stream.name, stream, lambda: array_blocks(data, rate), events, n / rate)


# -- real recordings ------------------------------------------------------------------------
def _join(segments: list[NDArray[np.float64]], rate: float) -> NDArray[np.float64]:
    """Concatenate segments, each centred, with a 0.5 s cross-fade so no join is a step."""
    fade = round(0.5 * rate)
    ramp = np.linspace(0.0, 1.0, fade)
    out: NDArray[np.float64] = segments[0] - segments[0].mean(axis=-1, keepdims=True)
    for seg in segments[1:]:
        seg = seg - seg.mean(axis=-1, keepdims=True)
        mixed = out[..., -fade:] * (1 - ramp) + seg[..., :fade] * ramp
        out = np.concatenate([out[..., :-fade], mixed, seg[..., fade:]], axis=-1)
    return out


def bonn(folder: Path, normal_set: str) -> Case:
    """50 normal segments of Z or O; after the first 10, an ictal S segment after every 2."""
    normal = [np.loadtxt(p) for p in sorted((folder / normal_set).glob("*.txt"))]
    ictal = [np.loadtxt(p) for p in sorted((folder / "S").glob("*.txt"))]
    ictal = ictal[:20] if normal_set == "Z" else ictal[20:40]
    segments: list[NDArray[np.float64]] = []
    kinds: list[bool] = []
    for i, seg in enumerate(normal):
        segments.append(seg)
        kinds.append(False)
        if i >= 10 and i % 2 == 0 and ictal:
            segments.append(ictal.pop(0))
            kinds.append(True)
    data = _join(segments, BONN_RATE)[None, :]
    fade = round(0.5 * BONN_RATE)
    events, pos = [], 0
    for seg, is_ictal in zip(segments, kinds, strict=True):
        if is_ictal:
            events.append(Event(pos / BONN_RATE, (len(seg) - fade) / BONN_RATE, "seizure_suspect"))
        pos += len(seg) - fade
    stream = StreamMeta(f"bonn-{normal_set}", f"bonn-{normal_set}", ("ch",), BONN_RATE)
    return Case(
        stream.name,
        stream,
        lambda: array_blocks(data, BONN_RATE),
        events,
        data.shape[1] / BONN_RATE,
    )


def ombao(folder: Path) -> Case:
    """One patient, 8 channels at 100 Hz; the seizure fills the second half."""
    names = ("c3", "c4", "cz", "p3", "p4", "t3", "t4", "t5")
    data = np.vstack([np.array((folder / n).read_text().split(), float) for n in names])
    rate = 100.0
    half = data.shape[1] / 2 / rate
    stream = StreamMeta("ombao-chung", "ombao-chung", tuple(n.upper() for n in names), rate)
    events = [Event(half, data.shape[1] / rate - half, "seizure_suspect")]
    return Case(stream.name, stream, lambda: array_blocks(data, rate), events, data.shape[1] / rate)


def yasa(folder: Path) -> list[Case]:
    """Sleep and rest snippets: no events."""
    cases = []
    rem = np.load(folder / "data_EOGs_REM_256Hz.npz")
    data = rem["data"].astype(np.float64)
    if np.abs(data).max() < 1.0:  # stored in volts
        data = data * 1e6
    labels = tuple(str(c) for c in rem["chan"])
    stream = StreamMeta("yasa-rem", "yasa-rem", labels, 256.0)
    cases.append(
        Case(stream.name, stream, lambda: array_blocks(data, 256.0), [], data.shape[1] / 256.0)
    )
    for name, rate in (
        ("data_N2_spindles_15sec_200Hz.txt", 200.0),
        ("data_N3_no-spindles_30sec_100Hz.txt", 100.0),
    ):
        x = np.loadtxt(folder / name)[None, :]
        s = StreamMeta(name, name, ("EEG",), rate)
        cases.append(Case(name, s, partial(array_blocks, x, rate), [], x.shape[1] / rate))
    return cases


def live_stages(
    data: NDArray[np.float64], labels: tuple[str, ...], rate: float
) -> list[tuple[int, str, float]]:
    """The epochs a `LiveStager` stages live from `data`, each at its stream time.

    The stream times do not depend on how the samples are cut into blocks:
    30 s blocks are the quickest.
    """
    from staging import LiveStager  # slow: YASA, MNE, LightGBM

    stager, step = LiveStager(labels, rate), round(30 * rate)
    samples = data.astype(np.float32)
    return [
        (epoch.index, epoch.stage, epoch.staged_at_s)
        for first in range(0, samples.shape[1], step)
        for epoch in stager.add(first, samples[:, first : first + step])
    ]


def dreams(folder: Path, excerpt: int, minutes: float | None = None) -> Case:
    """A DREAMS excerpt (30 min of real sleep, one channel), staged live: no events.

    Every `seizure_suspect` or `anomaly` on it is a false alarm.
    """
    lines = (folder / f"excerpt{excerpt}.txt").read_text().split()
    count = None if minutes is None else 1 + round(minutes * 60 * DREAMS_RATE)
    data = np.asarray(lines[1:count], dtype=np.float64)[None, :]
    labels = (lines[0].strip("[]"),)
    stream = StreamMeta(f"dreams-{excerpt}", f"dreams-{excerpt}", labels, DREAMS_RATE)
    blocks = partial(array_blocks, data, DREAMS_RATE)
    duration = data.shape[1] / DREAMS_RATE
    return Case(stream.name, stream, blocks, [], duration, live_stages(data, labels, DREAMS_RATE))


def chbmit(folder: Path) -> Case:
    """CHB-MIT chb01_03, 23 bipolar channels: the background clip, then the seizure clip.

    The background (the record's first 41 s) is the patient's baseline; the
    seizure runs from 1 s into the seizure clip to its end.
    """
    import mne

    clips = [
        mne.io.read_raw_edf(folder / f"chb01_03_{name}_clip.edf", verbose="error")
        for name in ("background", "seizure")
    ]
    rate = float(clips[0].info["sfreq"])
    parts = [clip.get_data() * 1e6 for clip in clips]
    data = _join(parts, rate)
    fade = round(0.5 * rate)
    onset = (parts[0].shape[1] - fade) / rate + 1.0
    duration = data.shape[1] / rate
    labels = tuple(clips[0].ch_names)
    stream = StreamMeta("chbmit-chb01_03", "chbmit-chb01_03", labels, rate)
    events = [Event(onset, duration - onset, "seizure_suspect")]
    return Case(stream.name, stream, lambda: array_blocks(data, rate), events, duration)


def eegmmidb(folder: Path, run_number: int, seed: int) -> Case:
    """A real 64-channel EDF with the technical faults injected at known times and channels."""
    import mne

    path = folder / f"S001R{run_number:02d}.edf"
    raw = mne.io.read_raw_edf(path, verbose="error")
    rate = float(raw.info["sfreq"])
    labels = tuple(name.strip(".") for name in raw.ch_names)
    data = (raw.get_data() * 1e6).astype(np.float32)
    scenario = parse_scenario(fault_events(labels, 5.0, seed), source=path.name)
    Effects(scenario.events, labels, rate, seed).apply(data, 0)
    n = data.shape[1]
    events = [
        Event(e.at, e.duration, expected_kind(e.kind), tuple(e.channels))
        for e in scenario.events
        if isinstance(e, ChannelEvent) and e.end <= n / rate
    ]
    stream = StreamMeta(path.name, path.name, labels, rate)
    return Case(
        stream.name, stream, lambda: array_blocks(data.astype(np.float64), rate), events, n / rate
    )


def total(
    results: list[dict[str, dict[str, KindScore]]],
    who: str,
    durations_s: Sequence[float] | None = None,
) -> dict[str, KindScore]:
    """`who`'s scores pooled over recordings, each kind's false alarms per hour of all of them.

    A recording where a kind was never raised still adds its unlabelled time
    to that kind's hours: the time any of its scores counted, or its length
    (`durations_s`, in the order of `results`) when it has no score at all.
    """
    kinds = sorted({kind for result in results for kind in result[who]})
    merged = {kind: KindScore(kind) for kind in kinds}
    for index, result in enumerate(results):
        known = [s.hours for scores in result.values() for s in scores.values()]
        hours = known[0] if known else (durations_s[index] / 3600 if durations_s else 0.0)
        for kind in kinds:
            score = result[who].get(kind)
            if score is None:
                merged[kind].hours += hours
            else:
                merged[kind].merge(score)
    return merged
