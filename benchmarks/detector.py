"""Detector quality and speed: the evaluation table, the model comparison, windows per second.

- Evaluation: simulated nights with ground truth (20 min of faults and
  seizures; 8 h of clean sleep), Bonn (ictal S segments inserted among
  healthy Z or O), Ombao/Chung (seizure in the second half), YASA sleep and
  REM snippets, eegmmidb with technical faults injected on the real
  background; eegmon and the line-length baseline on the same events.
- Model comparison: each scorer on Bonn (AUC of segment scores, learning on
  healthy segments) and on a clean simulated night (alarm windows per hour),
  with its time per window.
- Speed: windows per second and per-window time, 19 ch @ 256 Hz and 64 ch @ 1000 Hz.
"""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import numpy as np

from detector import Block, Detector, DetectorConfig, StreamMeta

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MODELS = ("deviation", "hst", "gaussian", "sad", "svm")


def _corpus():
    from tests.evaluation import corpus  # the same cases the tests run

    return corpus


def evaluation_rows(night_hours: float = 8.0) -> list[dict]:
    c = _corpus()
    groups = {
        "technical, simulated": [c.simulated_faults()],
        "technical, eegmmidb": [
            c.eegmmidb(DATA / "eegmmidb_S001", r, 20 + r) for r in (1, 2, 3, 4)
        ],
        "seizure, Bonn": [c.bonn(DATA / "bonn", "Z"), c.bonn(DATA / "bonn", "O")],
        "seizure, Ombao/Chung": [c.ombao(DATA / "ombao_chung_seizure_8ch")],
        "sleep, simulated night": [c.simulated_night(night_hours)],
        "sleep, YASA": c.yasa(DATA / "yasa"),
    }
    rows = []
    for group, cases in groups.items():
        results = [c.evaluate(case) for case in cases]
        hours = sum(case.duration_s for case in cases) / 3600
        for who in ("eegmon", "baseline"):
            merged = c.total(results, who)
            for _, s in sorted(merged.items()):
                if s.events == 0 and who == "baseline":
                    continue
                rows.append({"group": group, "who": who, "hours": round(hours, 2), **s.row()})
    return rows


def model_rows() -> list[dict]:
    c = _corpus()
    rows = []
    folder = DATA / "bonn"
    z, o, s = (sorted((folder / k).glob("*.txt")) for k in "ZOS")
    meta = StreamMeta("bonn", "bonn", ("ch",), c.BONN_RATE)
    night = c.simulated_night(1.0)
    for model in MODELS:
        det = Detector(meta, DetectorConfig(model=model))
        index = 0
        started = time.perf_counter()
        windows = 0
        for path in [p for pair in zip(z[:25], o[:25], strict=True) for p in pair]:
            x = np.loadtxt(path)[None, :].astype(np.float32)
            out = det.process(Block(x, (index + np.arange(x.shape[1])) / c.BONN_RATE, index))
            windows += len(out.windows)
            index += x.shape[1] + 1000
        per_window = (time.perf_counter() - started) / windows

        frozen = pickle.dumps(det)

        def mean_score(path: Path, frozen: bytes = frozen, index: int = index) -> float:
            fresh = pickle.loads(frozen)
            x = np.loadtxt(path)[None, :].astype(np.float32)
            out = fresh.process(Block(x, (index + np.arange(x.shape[1])) / c.BONN_RATE, index))
            return float(np.mean([w.score for w in out.windows[4:]]))

        healthy = [mean_score(p) for p in z[25:] + o[25:]]
        seizure = [mean_score(p) for p in s]
        auc = float(np.mean([[si > hi for hi in healthy] for si in seizure]))
        det = Detector(night.stream, DetectorConfig(model=model))
        alarms = 0
        for block in night.blocks():
            alarms += sum(
                1
                for a in det.process(block).alerts
                if a.kind == "anomaly" and a.state == "active" and a.ended_at is None
            )
        rows.append(
            {
                "model": model,
                "bonn_auc": round(auc, 3),
                "night_anomaly_alerts_per_h": alarms / (night.duration_s / 3600),
                "us_per_window": round(per_window * 1e6, 1),
            }
        )
    return rows


def speed_rows() -> list[dict]:
    rows = []
    for n_ch, rate in ((19, 256.0), (64, 1000.0)):
        labels = tuple(f"E{i}" for i in range(n_ch))
        det = Detector(StreamMeta("bench", "bench", labels, rate))
        rng = np.random.default_rng(0)
        seconds = 120
        data = rng.normal(scale=20.0, size=(n_ch, round(seconds * rate))).astype(np.float32)
        hop = round(rate * det.config.hop_s)
        times = []
        for first in range(0, data.shape[1] - hop + 1, hop):
            block = Block(data[:, first : first + hop], (first + np.arange(hop)) / rate, first)
            started = time.perf_counter()
            out = det.process(block)
            if out.windows:
                times.append(time.perf_counter() - started)
        times_arr = np.array(times)
        rows.append(
            {
                "stream": f"{n_ch} ch @ {rate:g} Hz",
                "windows_per_s": round(1.0 / float(np.median(times_arr)), 1),
                "window_p50_ms": round(float(np.median(times_arr)) * 1e3, 3),
                "window_p99_ms": round(float(np.percentile(times_arr, 99)) * 1e3, 3),
                "realtime_factor": round(det.config.hop_s / float(np.mean(times_arr)), 1),
            }
        )
    return rows


def run() -> list[dict]:
    rows = [{"part": "speed", **r} for r in speed_rows()]
    rows += [{"part": "model", **r} for r in model_rows()]
    rows += [{"part": "evaluation", **r} for r in evaluation_rows()]
    return rows


def summary(rows: list[dict]) -> str:
    speed = [r for r in rows if r["part"] == "speed"]
    return "; ".join(f"{r['stream']}: {r['window_p50_ms']} ms per window" for r in speed)
