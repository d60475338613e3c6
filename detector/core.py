"""The `Detector`: one stream's blocks in, alerts and window scores out."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from river.base import AnomalyDetector
from river.base.typing import FeatureName

from detector.alerts import Finding, alert_book
from detector.config import DetectorConfig
from detector.features import Features, compute_features_batch
from detector.filters import StreamingFilter, design_sos
from detector.model import FeatureCovariance, QuantileThreshold, model_features_batch
from detector.rules import evaluate_rules
from detector.seizure import ChannelBaseline, seizure_finding
from detector.stages import StageModel, StageModels
from detector.types import Alert, Block, ModelState, Output, StreamMeta, WindowScore
from detector.windows import WindowBuffer, WindowStack
from protocol.kinds import KINDS, SIGNAL_BACK_MESSAGE

#: Samples (channels x window length x windows) whose features are computed in one call:
#: enough to amortize NumPy's per-call cost (a 10 s block of 19 ch @ 256 Hz is one batch),
#: few enough that each intermediate array (1 MB) stays in cache, beyond which a larger
#: batch costs more per window, not less.
BATCH_SAMPLES = 1 << 17
#: 10 V: beyond the input range of any EEG amplifier. Such samples are corrupt, not
#: signal, and are treated like NaN (`bad_values`): a value near float32's limit would
#: otherwise ring through the filters for minutes and keep the model from learning.
#: Here, not in acquisition, so live, replay and scan see the same, and a recording
#: keeps the samples as they arrived.
MAX_PLAUSIBLE_UV = 1e7
#: Version of `Detector.model_state`'s layout; a state of another version is not loaded.
MODEL_STATE_VERSION = 5
#: `FeatureCovariance`'s name in a model state, the one states have always given it;
#: another scorer goes by its class name.
COVARIANCE_STATE_NAME = "covariance"


@dataclass(frozen=True)
class _Screened:
    """A batch of windows after its vectorized part: features and rules, rows per window."""

    windows: list[Features]  # each window's features
    rules: list[Finding]  # (windows, channels), in the order of `evaluate_rules`
    flagged: dict[str, list[bool]]  # per rule's kind, per window: some channel flagged
    technical: NDArray[np.bool_]  # (windows, channels): flagged by any rule
    technical_share: list[float]  # per window: share of channels flagged by any rule
    vectors: list[dict[FeatureName, float]]  # per window: what the model sees (`model_features`)
    broken: NDArray[np.bool_]  # (windows, channels): flagged by a `broken_signal` kind
    quality: NDArray[np.float64]  # (windows, channels)
    starts: list[float]
    ends: list[float]


class Detector:
    """Real-time detector for one EEG stream.

    Feed it every `Block` of the stream in order, of any size; it keeps the
    filter, window, model and alert state between calls. Live monitoring,
    replay and the offline scan all use it the same way, so the same samples
    give the same alerts.

    Parameters
    ----------
    stream
        Channel labels, rate and identity of the stream.
    config
        Settings; `DetectorConfig()` if None.
    id_prefix
        Prepended to alert ids (e.g. the monitor's name), so ids stay unique
        across detectors.
    scorer
        The anomaly scorer, a river `AnomalyDetector` fed the window vectors
        of `detector.model.model_features`; the detector learns with a clone
        of it (river's `clone`: same parameters, nothing learned). None: a
        `FeatureCovariance` over `memory_s`, the scorer of the product; the
        benchmarks compare others.

    Examples
    --------
    >>> import numpy as np
    >>> from detector import Block, Detector, StreamMeta
    >>> det = Detector(StreamMeta("ward-3", "amp-17", ("C3", "C4", "O1"), 256.0))
    >>> rng = np.random.default_rng(0)
    >>> data = rng.normal(scale=20.0, size=(3, 1024)).astype(np.float32)
    >>> data[2, 512:] = 0.0  # O1 goes flat after 2 s
    >>> out = det.process(Block(data, np.arange(1024) / 256.0, first_index=0))
    >>> len(out.windows), det.warming_up
    (7, True)
    >>> [(a.id, a.kind, a.channels, a.onset) for a in out.alerts]
    [('flatline-1', 'flatline', ['O1'], 2.0)]
    >>> print(out.alerts[0].message)
    Flat signal on O1 for 1.5 s: electrode off or amplifier fault.
    """

    def __init__(
        self,
        stream: StreamMeta,
        config: DetectorConfig | None = None,
        *,
        id_prefix: str = "",
        scorer: AnomalyDetector | None = None,
    ) -> None:
        self.stream = stream
        self.config = config if config is not None else DetectorConfig()
        self.id_prefix = id_prefix
        self.scorer = scorer
        cfg = self.config
        rate = stream.rate
        size = round(cfg.window_s * rate)
        hop = round(cfg.hop_s * rate)
        if size < 2 or hop < 1:
            raise ValueError(
                f"window_s={cfg.window_s!r} and hop_s={cfg.hop_s!r} are too short "
                f"for a {rate!r} Hz stream"
            )
        sos = design_sos(
            rate, cfg.highpass_hz, cfg.notch_hz, cfg.lowpass_for(rate), cfg.filter_order
        )
        self._filter = StreamingFilter(sos, stream.n_channels)
        self._buffer = WindowBuffer(stream.n_channels, size, hop)
        self._stack = WindowStack(
            stream.n_channels, size, max(1, BATCH_SAMPLES // (stream.n_channels * size))
        )
        self._no_onset = np.full(stream.n_channels, np.nan)  # shared, never written
        self._book = alert_book(stream, cfg, id_prefix)
        memory = cfg.memory_windows()
        self._scorer = (scorer if scorer is not None else FeatureCovariance(memory=memory)).clone()
        kind = type(self._scorer)
        self._scorer_name = COVARIANCE_STATE_NAME if kind is FeatureCovariance else kind.__name__
        self._threshold = QuantileThreshold(
            cfg.anomaly_quantile, cfg.anomaly_margin, cfg.threshold_memory()
        )
        self._baseline = ChannelBaseline(stream.n_channels, memory)
        self._stages = StageModels(
            StageModel(
                ChannelBaseline(stream.n_channels, memory),
                self._scorer.clone(),
                QuantileThreshold(cfg.anomaly_quantile, cfg.anomaly_margin, cfg.threshold_memory()),
            ),
            cfg.warmup_windows,
        )
        self._onset_hz = np.full(stream.n_channels, np.nan)
        self._unstaged_sustain = ["seizure_suspect", "anomaly"]  # kinds awaiting a staged one
        self._learned = 0
        self._last_good = np.zeros(stream.n_channels)
        self._expected_index: int | None = None
        self._last_ts: float | None = None
        self._windows_since_gap = 0

    @property
    def warming_up(self) -> bool:
        """True until the model learned `warmup_windows` windows; no `anomaly` alert before."""
        return self._learned < self.config.warmup_windows

    @property
    def learned_windows(self) -> int:
        """Windows the model has learned from (flagged and alerted windows are not learned)."""
        return self._learned

    def clone(self) -> Detector:
        """A fresh detector with the same parameters and no learned state."""
        return Detector(self.stream, self.config, id_prefix=self.id_prefix, scorer=self.scorer)

    def model_state(self) -> ModelState:
        """What the detector learned about this patient, as JSON facts and NumPy arrays.

        The model, its threshold and the amplitude baselines, pooled and per
        stage; not the alerts or filters (a restart begins with a clean signal path).
        Saving it is the caller's business (I/O); `load_model_state` takes it
        back so a restarted monitor does not start from nothing. Only the
        product's scorer (`FeatureCovariance`) has such a state.
        """
        if not isinstance(self._scorer, FeatureCovariance):
            raise ValueError(f"the {self._scorer_name} scorer has no saved state")
        (features, vectors), (seen, scores) = self._scorer.state(), self._threshold.state()
        baseline = self._baseline.state()
        stage_facts, stage_arrays = self._stages.state()
        return ModelState(
            {
                **self._state_identity(),
                "learned": self._learned,
                "features": list(features),
                "threshold_seen": seen,
                **stage_facts,
            },
            {
                "scorer_vectors": vectors,
                "threshold_scores": scores,
                "baseline_kept": baseline["kept"],
                "baseline_next": baseline["next"],
                "baseline_counts": baseline["counts"],
                **stage_arrays,
            },
        )

    def _state_identity(self) -> dict[str, Any]:
        """What a model state must share with this detector to be loaded into it."""
        return {
            "version": MODEL_STATE_VERSION,
            "source_id": self.stream.source_id,
            "labels": list(self.stream.labels),
            "rate": self.stream.rate,
            "model": self._scorer_name,
            "config": self.config.fingerprint(),
        }

    def load_model_state(self, state: ModelState) -> None:
        """Continue from a `model_state` of the same patient, montage and settings.

        Raises ValueError, naming the difference, when the state belongs to
        another source, channel list, rate, scorer, config or version, or
        does not hold what such a state holds; the detector is unchanged then.

        Examples
        --------
        >>> from detector import Detector, StreamMeta
        >>> state = Detector(StreamMeta("bed-1", "amp-17", ("C3", "C4"), 256.0)).model_state()
        >>> Detector(StreamMeta("bed-2", "amp-99", ("C3", "C4"), 256.0)).load_model_state(state)
        Traceback (most recent call last):
        ...
        ValueError: the model state is for source_id 'amp-17', not 'amp-99'
        """
        if not isinstance(state, ModelState):
            raise ValueError(f"a model state is a ModelState, got {type(state).__name__}")
        facts, arrays = state.facts, state.arrays
        for key, value in self._state_identity().items():
            if facts.get(key) != value:
                raise ValueError(f"the model state is for {key} {facts.get(key)!r}, not {value!r}")
        fresh = self.clone()
        try:
            learned = facts["learned"]
            if not (isinstance(learned, int) and learned >= 0):
                raise ValueError(f"learned windows {learned!r}")
            scorer = cast(FeatureCovariance, fresh._scorer)
            scorer.load_state(tuple(map(str, facts["features"])), arrays["scorer_vectors"])
            fresh._threshold.load_state(facts["threshold_seen"], arrays["threshold_scores"])
            fresh._baseline.load_state(
                arrays["baseline_kept"], arrays["baseline_next"], arrays["baseline_counts"]
            )
            fresh._stages.load_state(facts, arrays)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"the model state is malformed: {exc}") from None
        self._scorer, self._threshold = fresh._scorer, fresh._threshold
        self._baseline, self._stages.stages = fresh._baseline, fresh._stages.stages
        self._learned = learned

    def process(self, block: Block) -> Output:
        """Analyse a block: gap check, masking, filters, windows, features, rules, model, alerts."""
        if block.data.shape[0] != self.stream.n_channels:
            raise ValueError(
                f"block has {block.data.shape[0]} channels, stream {self.stream.name!r} "
                f"has {self.stream.n_channels}"
            )
        out = Output()
        n = block.n_samples
        if n == 0:
            return out
        first_ts = float(block.timestamps[0])
        out.alerts.extend(self._check_gap(block.first_index, first_ts))
        self._expected_index = block.first_index + n
        self._last_ts = float(block.timestamps[-1])

        data = block.data.astype(np.float64)
        finite = np.abs(data) <= MAX_PLAUSIBLE_UV  # False for NaN, infinities and corrupt values
        if not finite.all():
            data = self._fill(data, finite)
        self._last_good = data[:, -1].copy()
        filtered = self._filter.filter(data)
        for window in self._buffer.push(data, filtered, ~finite, block.timestamps):
            # the buffer's views do not outlive the next push: the stack keeps copies
            if self._stack.add(window):
                out.extend(self._analyse_batch())
        if self._stack.count:
            out.extend(self._analyse_batch())
        return out

    def _analyse_batch(self) -> Output:
        """The stacked windows: features and rules of all in one pass, then each in order."""
        stack = self._stack
        count, stack.count = stack.count, 0
        raw, bad = stack.raw[:count], stack.bad[:count]
        features = compute_features_batch(raw, stack.filtered[:count], self.stream.rate)
        rules = evaluate_rules(features, raw, bad, self.config)
        per_rule = cast(list[list[bool]], np.stack([f.flags for f in rules]).any(axis=2).tolist())
        flagged = {finding.kind: hits for finding, hits in zip(rules, per_rule, strict=True)}
        technical = np.zeros(features.rms.shape, dtype=bool)
        broken = np.zeros(features.rms.shape, dtype=bool)
        quality = np.ones(features.rms.shape)
        for finding in rules:
            if not any(flagged[finding.kind]):  # most rules, most batches
                continue
            kind = KINDS[finding.kind]
            technical |= finding.flags
            if kind.broken_signal:
                broken |= finding.flags
            if kind.quality is not None:
                quality = np.where(finding.flags, np.minimum(quality, kind.quality), quality)
        screened = _Screened(
            features.windows(),
            rules,
            flagged,
            technical,
            technical.mean(axis=1).tolist(),
            model_features_batch(features),
            broken,
            quality,
            stack.starts[:count].tolist(),
            stack.ends[:count].tolist(),
        )
        out = Output()
        for i in range(count):
            self._analyse(screened, i, out)
        return out

    def skip(self, block: Block) -> Output:
        """Account for a block without analysing it (the caller is behind real time).

        The samples count as received (no `samples_dropped`), but filters and
        windows restart after them, so no window mixes samples from both sides.
        """
        out = Output()
        if block.n_samples == 0:
            return out
        out.alerts.extend(self._check_gap(block.first_index, float(block.timestamps[0])))
        self._expected_index = block.first_index + block.n_samples
        self._last_ts = float(block.timestamps[-1])
        self._filter.reset()
        self._buffer.reset()
        return out

    def stalled(self, at: float, silent_for: float) -> Output:
        """Raise `signal_lost`: no samples arrived for `silent_for` s (idempotent while lost).

        A latched `signal_lost` of an earlier outage that nobody acknowledged
        yet is raised again (same id): one alert for a stream that keeps
        coming and going until someone looks.
        """
        if not (math.isfinite(silent_for) and silent_for >= 0):
            raise ValueError(f"silent_for must be a finite number >= 0, got {silent_for!r}")
        if self._book.ongoing("signal_lost"):
            return Output()
        evidence = {"silent_s": float(silent_for)}
        alert = self._book.raise_event(
            "signal_lost",
            [],
            onset=at - silent_for,
            detected_at=at,
            score=float(silent_for),
            message=KINDS["signal_lost"].message.format(**evidence),
            evidence=evidence,
        )
        return Output(alerts=[alert])

    def set_condition(
        self,
        kind: str,
        active: bool,
        at: float,
        message: str,
        evidence: dict[str, float] | None = None,
    ) -> Output:
        """Raise, update or end a condition observed outside the signal (e.g. `recording_failed`).

        It joins the stream's other alerts (same ids, states, severities and
        latching), so it is journaled and published like them. Ending a
        condition that is not present, or re-reporting one with the same
        message and evidence, changes nothing.

        Examples
        --------
        >>> from detector import Detector, StreamMeta
        >>> det = Detector(StreamMeta("ward-3", "amp-17", ("C3",), 256.0))
        >>> out = det.set_condition("recording_failed", True, 10.0, "Disk full.", {"errno": 28.0})
        >>> [(a.id, a.severity, a.state, a.onset) for a in out.alerts]
        [('recording_failed-1', 'high', 'active', 10.0)]
        >>> det.set_condition("recording_failed", True, 11.0, "Disk full.", {"errno": 28.0}).alerts
        []
        >>> out = det.set_condition("recording_failed", False, 30.0, "")
        >>> [(a.state, a.ended_at) for a in out.alerts]  # high severity: latched
        [('active', 30.0)]
        >>> det.acknowledge("recording_failed-1", "night tech", 31.0).state
        'cleared'
        """
        if kind not in KINDS:
            raise ValueError(f"unknown alert kind {kind!r}; known: {', '.join(KINDS)}")
        if not math.isfinite(at):
            raise ValueError(f"at must be a finite time, got {at!r}")
        current = self._book.current(kind)
        ongoing = self._book.ongoing(kind)
        if not active:
            return Output(alerts=self._book.end(kind, at)) if ongoing else Output()
        evidence = dict(evidence or {})
        if (
            ongoing
            and current is not None
            and (current.message, current.evidence) == (message, evidence)
        ):
            return Output()
        alert = self._book.raise_event(
            kind,
            [],
            onset=at if current is None else current.onset,
            detected_at=at,
            score=1.0,
            message=message,
            evidence=evidence,
        )
        return Output(alerts=[alert])

    def stage(self, epoch: int, stage: str, at: float) -> None:
        """The sleep stager staged 30 s epoch `epoch` as `stage` at stream time `at`.

        Windows ending `detector.stages.STAGE_SETTLE_S` after `at` and later
        are judged against the newest epoch's stage (`detector.stages`).
        """
        self._stages.tell(epoch, stage, at)

    def acknowledge(self, alert_id: str, who: str, at: float) -> Alert | None:
        """Mark an alert as seen; returns it updated, or None if unknown or cleared."""
        return self._book.acknowledge(alert_id, who, at)

    def active_alerts(self) -> list[Alert]:
        """Alerts not yet cleared, most severe first, then oldest first."""
        return self._book.active()

    def _check_gap(self, first_index: int, first_ts: float) -> list[Alert]:
        changed: list[Alert] = []
        lost = self._book.ongoing("signal_lost")
        expected = self._expected_index
        missing = 0 if expected is None else first_index - expected
        if missing != 0:
            # A gap, or a restarted stream (index going back): never window across it.
            self._filter.reset()
            self._buffer.reset()
            self._windows_since_gap = 0
        if lost:
            lost_s = first_ts - (self._last_ts if self._last_ts is not None else first_ts)
            evidence = {"lost_s": lost_s} | ({"gap_samples": float(missing)} if missing > 0 else {})
            message = SIGNAL_BACK_MESSAGE.format(lost_s=lost_s)
            changed.extend(self._book.end("signal_lost", first_ts, evidence, message))
        elif missing > 0:
            changed.append(self._samples_dropped(missing, first_ts))
        return changed

    def _samples_dropped(self, missing: int, first_ts: float) -> Alert:
        previous = self._book.current("samples_dropped")
        total = missing + (int(previous.evidence["missing"]) if previous else 0)
        evidence = {"missing": float(total), "missing_s": total / self.stream.rate}
        return self._book.raise_event(
            "samples_dropped",
            [],
            onset=previous.onset if previous else (self._last_ts or first_ts),
            detected_at=first_ts,
            score=float(total),
            message=KINDS["samples_dropped"].message.format(
                missing=total, missing_s=total / self.stream.rate
            ),
            evidence=evidence,
        )

    def _fill(self, data: NDArray[np.float64], finite: NDArray[np.bool_]) -> NDArray[np.float64]:
        """Replace non-finite samples by the channel's last finite value, before any filter."""
        n = data.shape[1]
        source = np.where(finite, np.arange(1, n + 1), 0)
        np.maximum.accumulate(source, axis=1, out=source)
        padded = np.concatenate([self._last_good[:, None], np.where(finite, data, 0.0)], axis=1)
        return np.take_along_axis(padded, source, axis=1)

    def _analyse(self, screened: _Screened, i: int, out: Output) -> None:
        """The sequential part of window `i`: seizure, model, alerts, learning; results to `out`."""
        features = screened.windows[i]
        end = screened.ends[i]
        warming = self.warming_up
        staged = self._stages.for_window(end)
        baseline, scorer, threshold_of = self._judges(staged)
        if staged is not None and self._unstaged_sustain:  # arousals outlast the usual sustain
            k, n, book = self.config.sleep_seizure_k, self.config.sleep_seizure_n, self._book
            self._unstaged_sustain = [
                s for s in self._unstaged_sustain if not book.retune(s, k, n, None)
            ]
        # A seizure's spikes look like pops and its fast transients like muscle; only a
        # signal that is not EEG at all (made up, clipped, flat, mains) keeps a channel out.
        seizure = seizure_finding(
            features,
            baseline,
            self.config,
            ready=not warming and (staged is None or self._stages.ready(staged)),
            excluded=screened.broken[i],
            onset_peak_hz=self._onset_hz,
            movement_ratio=None if staged is None else self.config.sleep_movement_ratio,
        )
        score = float(scorer.score_one(screened.vectors[i]))
        threshold = threshold_of.get()
        anomalous = not warming and score > threshold
        out.alerts.extend(self._observe(screened, i, seizure, score, threshold, anomalous))
        out.alerts.extend(self._window_done(end))
        in_seizure = self._follow_onset(seizure.flags, features.peak_hz)
        # Protection: nothing under suspicion is learned, so a long seizure or
        # a drifting fault never becomes this patient's normal.
        if not (anomalous or in_seizure or seizure.flags.any() or self._book.ongoing("anomaly")):
            self._learn(screened, i, score, staged)
        out.windows.append(
            WindowScore(
                end=end,
                score=score,
                threshold=threshold,
                warming_up=warming,
                quality=tuple(screened.quality[i].tolist()),
            )
        )
        out.last_window_end = end

    def _observe(
        self,
        screened: _Screened,
        i: int,
        seizure: Finding,
        score: float,
        threshold: float,
        anomalous: bool,
    ) -> list[Alert]:
        """Window `i`'s findings through the alert book, in order: rules, seizure, anomaly.

        Findings are built only for what may change an alert: most windows flag nothing.
        """
        book = self._book
        start, end = screened.starts[i], screened.ends[i]
        alerts: list[Alert] = []
        for rule in screened.rules:
            if screened.flagged[rule.kind][i] or not book.observe_clean(rule.kind, start):
                alerts.extend(book.observe(rule.at(i), start, end))
        if seizure.flags.any() or not book.observe_clean(seizure.kind, start):
            alerts.extend(book.observe(seizure, start, end))
        if anomalous or not book.observe_clean("anomaly", start):
            anomaly = Finding(
                "anomaly",
                np.array([anomalous]),
                np.array([score]),
                KINDS["anomaly"].message,
                {"score": np.array([score]), "threshold": np.array([threshold])},
                whole_stream=True,
            )
            alerts.extend(book.observe(anomaly, start, end))
        return alerts

    def _window_done(self, end: float) -> list[Alert]:
        """Time moves on to `end`: a gap far enough behind ends `samples_dropped`; alerts age."""
        alerts: list[Alert] = []
        self._windows_since_gap += 1
        if self._windows_since_gap == self.config.clear_m:
            alerts.extend(self._book.end("samples_dropped", end))
        alerts.extend(self._book.tick(end))
        return alerts

    def _follow_onset(self, flags: NDArray[np.bool_], peak_hz: NDArray[np.float64]) -> bool:
        """Keep each suspect channel's rhythm at the onset of its episode; True during a seizure."""
        in_seizure = self._book.ongoing("seizure_suspect")
        if in_seizure or flags.any():
            self._onset_hz = np.where(
                flags,
                np.where(np.isnan(self._onset_hz), peak_hz, self._onset_hz),
                self._onset_hz if in_seizure else np.nan,
            )
        else:
            self._onset_hz = self._no_onset
        return in_seizure

    def _judges(
        self, staged: StageModel | None
    ) -> tuple[ChannelBaseline, AnomalyDetector, QuantileThreshold]:
        if staged is None:  # no stage yet: the stream's pooled ones
            return self._baseline, self._scorer, self._threshold
        return staged.baseline, staged.scorer, staged.threshold

    def _learn(self, screened: _Screened, i: int, score: float, staged: StageModel | None) -> None:
        """Learn window `i`, which nothing makes suspicious: its stage's and the pooled model.

        The pooled one is what a restarted monitor judges by until a stage comes.
        """
        features, vector = screened.windows[i], screened.vectors[i]
        # Samples made up for NaNs are not EEG; other faults on a minority of
        # channels barely move the medians the model sees.
        model = not screened.flagged["bad_values"][i] and screened.technical_share[i] < 0.25
        for judge in (None, staged) if staged is not None else (None,):
            baseline, scorer, threshold = self._judges(judge)
            if model:
                pooled = judge is None and staged is not None
                threshold.update(float(scorer.score_one(vector)) if pooled else score)
                scorer.learn_one(vector)
            baseline.learn(features.rms, features.line_length, ~screened.technical[i])
        if model:
            self._learned += 1
            if staged is not None:
                staged.learned += 1
