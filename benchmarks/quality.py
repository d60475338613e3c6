"""Detection quality: the evaluation table beside the line-length baseline; the scorers compared.

- Evaluation: every case of ``evaluation/corpus.py``, longer than the
  tests run them: simulated sleep with each technical fault twice and two
  evolving seizures; eegmmidb runs 1-4 with faults injected on the real
  background; Bonn (ictal S among healthy Z or O); Ombao/Chung; simulated
  sleep with whole-stream anomalies injected (suppression, slowing, fast
  activity, amplitude); an 8 h simulated night with every stage; the YASA
  sleep and REM snippets. eegmon and the baseline on the same events; on
  recordings without events the baseline's alarms are counted too.
- Scorers: each of ``benchmarks/scorers.py`` in the detector on the
  injected anomalies (sensitivity, false alarms) and on a clean simulated
  hour plus the YASA snippets (model alarms/h).

Cases run in parallel processes (two at a time), each its own detector.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks import scorers
from detector import Detector, DetectorConfig

if TYPE_CHECKING:
    from evaluation.corpus import Case

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
NIGHT_HOURS = 8.0
DREAMS_EXCERPTS = (2, 4, 6, 8)
#: The kinds that call someone to the bed for the patient: what real sleep must not raise.
CLINICAL = ("seizure_suspect", "anomaly")
WORKERS = 2


def _groups() -> dict[str, list[tuple[str, tuple[Any, ...]]]]:
    """Case builders by group, as (function name, arguments), so workers build their own."""
    return {
        "technical, simulated": [("simulated_faults", ())],
        "technical, eegmmidb": [
            ("eegmmidb", (DATA / "eegmmidb_S001", r, 20 + r)) for r in (1, 2, 3, 4)
        ],
        "seizure, Bonn": [("bonn", (DATA / "bonn", "Z")), ("bonn", (DATA / "bonn", "O"))],
        "seizure, Ombao/Chung": [("ombao", (DATA / "ombao_chung_seizure_8ch",))],
        "anomaly, simulated": [("simulated_anomalies", ())],
        "sleep, simulated night": [("simulated_night", (NIGHT_HOURS,))],
        "sleep, YASA": [("yasa", (DATA / "yasa",))],
        "seizure, CHB-MIT": [("chbmit", (DATA / "chbmit_chb01_03",))],
        "sleep, DREAMS": [("dreams", (DATA / "dreams_spindles", n)) for n in DREAMS_EXCERPTS],
    }


def _build(name: str, args: tuple[Any, ...]) -> list[Any]:
    from evaluation import corpus

    built = getattr(corpus, name)(*args)
    return built if isinstance(built, list) else [built]


def _evaluate(job: tuple[str, tuple[Any, ...]]) -> list[tuple[float, dict[str, Any], str, int]]:
    """Scores of eegmon and the baseline on each case a builder gives; its clinical alarms."""
    from evaluation import corpus
    from evaluation.metrics import score

    name, args = job
    out = []
    for case in _build(name, args):
        mine, theirs = corpus.run(case)
        kinds = {e.kind for e in case.events} or None  # no events: every baseline alarm is false
        result = {
            "eegmon": score(case.events, mine, case.duration_s),
            "baseline": score(case.events, theirs, case.duration_s, kinds=kinds),
        }
        alarms = sum(d.kind in CLINICAL for d in mine)
        out.append((case.duration_s, result, case.name, alarms))
    return out


def evaluation_rows() -> list[dict[str, Any]]:
    from evaluation import corpus

    groups = _groups()
    jobs = [(name, args) for cases in groups.values() for name, args in cases]
    with ProcessPoolExecutor(WORKERS) as pool:
        done = iter(pool.map(_evaluate, jobs))
        results = {group: [r for _ in cases for r in next(done)] for group, cases in groups.items()}
    rows = []
    for group, scored in results.items():
        hours = sum(duration for duration, *_ in scored) / 3600
        for who in ("eegmon", "baseline"):
            merged = corpus.total([r for _, r, *_ in scored], who, [d for d, *_ in scored])
            for _, s in sorted(merged.items()):
                if who == "eegmon" and s.events == 0 and s.false_alarms == 0:
                    continue
                rows.append({"group": group, "who": who, "hours": round(hours, 2), **s.row()})
        if group.startswith("sleep"):
            rows.extend(_sleep_row(group, *case) for case in scored)
    return rows


def _sleep_row(group: str, duration: float, _: Any, name: str, alarms: int) -> dict[str, Any]:
    """One real or simulated sleep recording: its `seizure_suspect` and `anomaly` episodes."""
    hours = duration / 3600
    return {
        "group": group,
        "who": "eegmon",
        "hours": round(hours, 3),
        "kind": "+".join(CLINICAL),
        "recording": name,
        "false_alarms": alarms,
        "false_alarms_per_hour": round(alarms / hours, 2),
    }


def _detections(case: Case, model: str) -> list[Any]:
    """The detections of the detector with the scorer `model` on a case."""
    from evaluation.metrics import detections

    config, scorer = scorers.make(model, DetectorConfig())
    det = Detector(case.stream, config, scorer=scorer)
    alerts = [(a, float(b.timestamps[-1])) for b in case.blocks() for a in det.process(b).alerts]
    return detections(alerts)


def _compare(model: str) -> dict[str, Any]:
    from evaluation import corpus
    from evaluation.metrics import score

    injected = corpus.simulated_anomalies()
    mine = _detections(injected, model)
    found = score(injected.events, mine, injected.duration_s)
    anomaly = found.get("anomaly")
    clean = [corpus.simulated_night(1.0), *corpus.yasa(DATA / "yasa")]
    alarms, hours = 0, 0.0
    for case in clean:
        detected = _detections(case, model)
        alarms += sum(d.kind in ("anomaly", "seizure_suspect") for d in detected)
        hours += case.duration_s / 3600
    return {
        "model": model,
        "injected_events": anomaly.events if anomaly else 0,
        "injected_detected": anomaly.detected if anomaly else 0,
        "injected_false_alarms": anomaly.false_alarms if anomaly else 0,
        "injected_latency_median_s": None if anomaly is None else anomaly.row()["latency_median_s"],
        "sleep_hours": round(hours, 2),
        "sleep_model_or_seizure_alarms_per_h": round(alarms / hours, 2),
    }


def model_rows() -> list[dict[str, Any]]:
    with ProcessPoolExecutor(WORKERS) as pool:
        return list(pool.map(_compare, scorers.NAMES))


def run() -> list[dict[str, Any]]:
    rows = [{"part": "evaluation", **r} for r in evaluation_rows()]
    rows += [{"part": "scorers", **r} for r in model_rows()]
    return rows


def summary(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        if r["part"] == "evaluation" and "recording" in r:
            lines.append(f"{r['recording']}: {r['kind']} {r['false_alarms_per_hour']} /h")
        elif r["part"] == "evaluation" and r["events"]:
            lines.append(
                f"{r['group']}: {r['kind']} {r['who']} sensitivity {r['sensitivity']}, "
                f"{r['false_alarms_per_hour']} FA/h, latency {r['latency_median_s']} s"
            )
        elif r["part"] == "evaluation":
            lines.append(f"{r['group']}: {r['kind']} {r['who']} {r['false_alarms_per_hour']} FA/h")
    return "\n".join(lines)
