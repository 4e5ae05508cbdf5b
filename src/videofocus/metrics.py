"""Benchmark metrics, defined as the official evaluation code defines them; each benchmark's scoring
function names the repository and file it follows. Reported values are percentages (0–100) under the
names in SPEC "Benchmarks and metrics"; per-sample values are fractions in [0, 1].

Conventions shared by every benchmark:

- Every annotated sample counts (`n`). A sample with no prediction (`missing`) or a failed one
  (`predictions.FailedPrediction`) scores as wrong: IoU 0, answer wrong. (The official NExT-GQA
  script skips questions it has no prediction for; a run that lost samples must not look better.)
- Temporal: the FIRST predicted interval is scored, the top-1 window that moment-DETR's R1@k and
  the released VideoChat-R1.5 evaluation (`pred_glue[0]`) score. With several ground-truth
  intervals the best-matching one counts (max over ground truth, as moment-DETR and NExT-GQA do).
  Predicted intervals are scored as written (no official script clips): a prediction starting
  before 0 or running past the end is penalised by its larger union. Each window is judged alone: a
  reversed top-1 window scores 0, a reversed lower-ranked one does not touch window 1 (moment_detr,
  ReXTime). Ground truth is scored as annotated too (converters keep raw ends by default).
- Boxes: the FIRST predicted box is scored (Qwen-VL's RefCOCO evaluation takes the first match),
  against the best-matching ground-truth box. Boxes are in the sample format's units: pixels of the
  original image (SPEC). Only tracking clips boxes to the frame, because the GOT-10k toolkit does.
- Answers: the option letter that `parsing.parse_option` reads from the prediction's answer must
  equal the sample's answer.

Bugs of the released VideoChat-R1 evaluation not repeated here: its accumulators reset per item, its
recall is never incremented, its GQA IoU is 1.0 when both sides are empty; IoP, Acc@GQA, AO/SR and
Acc@0.5 are implemented. Its tracking average, which includes the given first box, is reported
under its own name next to the toolkit's AO (GOT-10k `mIoU(R1)`), to compare with the paper.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Literal

from videofocus.errors import ConfigError, DataError
from videofocus.geometry import box_iou, frame_ious, temporal_iop, temporal_iou, track_iou, valid_box
from videofocus.parsing import Prediction, parse_option
from videofocus.predictions import FailedPrediction, PredictionLike
from videofocus.ranking_metrics import clip_labels, fit_to_clips, hit_at_one, mean_window_ap, saliency_average_precision
if TYPE_CHECKING:
    from videofocus.judge import CaptionJudge
    from videofocus.schema import Sample, TrackPoint

TrackUnits = Literal["pixels", "normalised"]
# The one default of `score`, `eval` and score_predictions: the tracking prompts ask for 0-1 boxes.
DEFAULT_TRACK_UNITS: TrackUnits = "normalised"
_NOTHING = Prediction(raw="")


@dataclass(frozen=True)
class SampleScore:
    """One sample's values (fractions in [0, 1]; which keys depends on the benchmark) and what
    happened to its prediction: `missing` (none given) or `error` (the run's failure message)."""

    id: str
    values: dict[str, float]
    missing: bool = False
    error: str | None = None
    group: str | None = None

    @property
    def failed(self) -> bool:
        return self.missing or self.error is not None


@dataclass(frozen=True)
class ScoreReport:
    """A benchmark's metrics over `n` samples, `missing` of which had no prediction."""

    benchmark: str
    n: int
    missing: int
    metrics: dict[str, float]
    per_sample: list[SampleScore]
    track_units: TrackUnits | None = None  # the units predicted track boxes were read in (tracking only)

    @property
    def failed(self) -> int:
        """Samples whose prediction is a FailedPrediction."""
        return sum(score.error is not None for score in self.per_sample)

    def as_dict(self) -> dict:
        """The JSON summary `videofocus score --json` prints."""
        summary = {"benchmark": self.benchmark, "n": self.n, "missing": self.missing, "metrics": dict(self.metrics)}
        if self.track_units is not None:
            summary["track_units"] = self.track_units
        return summary


SampleScorer = Callable[["Sample", Prediction, TrackUnits], dict[str, float]]
Aggregator = Callable[[list[SampleScore]], dict[str, float]]


@dataclass(frozen=True)
class Benchmark:
    """How one benchmark scores: the annotations every sample needs ("answer", "intervals",
    "boxes", "track"; keys of `_NEEDS`), those at least one sample needs, the per-sample scorer, and
    the aggregation into named percentages."""

    name: str
    needs: tuple[str, ...]
    metric_names: tuple[str, ...]
    score_sample: SampleScorer
    aggregate: Aggregator
    needs_some: tuple[str, ...] = ()
    needs_judge: bool = False  # score_sample takes `judge=` (an LLM caption judge)


def score_predictions(benchmark: str, samples: Iterable[Sample], predictions: Mapping[str, PredictionLike],
                      *, track_units: TrackUnits = DEFAULT_TRACK_UNITS,
                      annotations: str | os.PathLike | None = None, judge: CaptionJudge | None = None) -> ScoreReport:
    """Score `predictions` (by sample id) against `samples` on `benchmark` (a name in BENCHMARKS).

    Predictions whose id is not a sample are ignored (the caller warns about them). `track_units`:
    predicted tracking boxes in original-frame pixels, or normalised 0–1 (what the tracking prompts
    ask for), which needs media.width/height. `annotations` names the samples' file in errors.
    `judge` is the LLM caption judge the caption benchmark (dream1k) asks. DataError when a sample
    lacks what the benchmark needs, or there are no samples."""
    spec = get_benchmark(benchmark)
    samples = list(samples)
    _check_annotations(spec, samples, track_units, annotations)
    score_sample = spec.score_sample
    if spec.needs_judge:
        if judge is None:
            raise ConfigError(f"{spec.name} is scored by an LLM caption judge: videofocus score --judge-url URL "
                              "--judge-model NAME")
        score_sample = partial(score_sample, judge=judge)
    per_sample = []
    for sample in samples:
        prediction = predictions.get(sample.id)
        failure = prediction.error if isinstance(prediction, FailedPrediction) else None
        usable = _NOTHING if prediction is None or failure is not None else prediction
        per_sample.append(SampleScore(id=sample.id, values=score_sample(sample, usable, track_units),
                                      missing=prediction is None, error=failure, group=source_group(sample)))
    return ScoreReport(benchmark=spec.name, n=len(samples), missing=sum(s.missing for s in per_sample),
                       metrics=spec.aggregate(per_sample), per_sample=per_sample,
                       track_units=track_units if "track" in spec.needs else None)


def get_benchmark(name: str) -> Benchmark:
    """The Benchmark called `name`; ConfigError listing the known ones otherwise."""
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise ConfigError(f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}") from None


def source_group(sample: Sample) -> str | None:
    """The sub-group a sample reports under: what follows the first "/" of its `source`
    (`"source": "videomme/short"` → "short"), or None. MCQ reports `Acc/<group>` for each group."""
    if sample.source and "/" in sample.source:
        return sample.source.split("/", 1)[1] or None
    return None


# ----- per-sample quantities ---------------------------------------------------------------------

def first_interval(prediction: Prediction) -> tuple[float, float] | None:
    """The top-1 predicted interval (the first one the prediction states)."""
    return prediction.intervals[0] if prediction.intervals else None


def best_temporal_iou(interval: tuple[float, float] | None, gt_intervals: Sequence[Sequence[float]]) -> float:
    """IoU of one predicted interval with its best-matching ground-truth interval (0 without a
    prediction). moment_detr standalone_eval/eval.py `compute_mr_r1`: the GT window of highest IoU."""
    if interval is None:
        return 0.0
    return max((temporal_iou([interval], [gt]) for gt in gt_intervals), default=0.0)


def nextgqa_iop(interval: tuple[float, float], gt: Sequence[float]) -> float:
    """Intersection over prediction, doc-doc/NExT-GQA code/TempGQA/eval_ground.py `get_tIoU`,
    including its rule for a zero-length prediction: IoP 1 when the point lies inside the ground
    truth (ends included), else 0."""
    start, end = interval
    if start == end:
        return 1.0 if gt[0] <= start <= gt[1] else 0.0
    return temporal_iop([interval], [gt])


def best_nextgqa_iop(interval: tuple[float, float] | None, gt_intervals: Sequence[Sequence[float]]) -> float:
    """`nextgqa_iop` with the best-matching ground-truth interval (eval_ground.py takes the max over
    the question's locations, separately from the IoU's max)."""
    if interval is None:
        return 0.0
    return max((nextgqa_iop(interval, gt) for gt in gt_intervals), default=0.0)


def answer_correct(sample: Sample, prediction: Prediction) -> bool:
    """Whether the option the prediction's answer names is the sample's answer."""
    return sample.answer is not None and parse_option(prediction.answer, sample.options) == sample.answer


def got10k_frame_ious(pred_track: Sequence[Sequence[float]] | None, gt_track: Sequence[TrackPoint], *,
                      width: float | None = None, height: float | None = None) -> list[float]:
    """Box IoU on every annotated frame but the first, as got-10k/toolkit got10k/experiments/got10k.py
    `report` scores `rect_iou(boxes[1:], anno[1:], bound=resolution)`.

    Alignment: predicted box i belongs to annotation point i (the toolkit's result file has one row
    per annotated frame, the given initial box first); point 0 is the given box and is not scored. A
    frame the prediction lacks scores 0; predicted boxes beyond the annotation are ignored. With a
    frame size, both boxes are clipped to the frame first (`bound` in got10k/utils/metrics.py
    `rect_iou`). The toolkit also drops frames whose target is invisible (`cover == 0`); the sample
    format has no visibility flag, so every annotated frame counts."""
    gt_boxes = [point.box for point in gt_track]
    pred_boxes = list(pred_track or [])[: len(gt_boxes)]
    if width is not None and height is not None:
        gt_boxes = [clip_box_like_got10k(box, width, height) for box in gt_boxes]
        pred_boxes = [clip_box_like_got10k(box, width, height) for box in pred_boxes]
    return frame_ious(pred_boxes, gt_boxes)[1:]


def clip_box_like_got10k(box: Sequence[float], width: float, height: float) -> Sequence[float]:
    """got10k/utils/metrics.py `rect_iou` bound clipping, in corner form: the top-left corner is
    clipped into the frame, then width and height are clipped to what remains of the frame from that
    corner. Its size is not reduced by a part cut off on the left or top (toolkit behaviour). An
    invalid box is returned unchanged (it scores 0)."""
    numbers = valid_box(box)
    if numbers is None:
        return box
    x0, y0, x1, y1 = numbers
    left, top = min(max(x0, 0.0), width), min(max(y0, 0.0), height)
    box_width = min(max(x1 - x0, 0.0), width - left)
    box_height = min(max(y1 - y0, 0.0), height - top)
    return [left, top, left + box_width, top + box_height]


# ----- benchmarks ----------------------------------------------------------------------------------

def _score_temporal_grounding(sample: Sample, prediction: Prediction, _units: TrackUnits) -> dict[str, float]:
    """Charades-STA / ActivityNet Captions / QVHighlights moment retrieval, R1@k: jayleicn/moment_detr
    standalone_eval/eval.py `compute_mr_r1` (top-1 window, best GT window, IoU ≥ threshold)."""
    return {"iou": best_temporal_iou(first_interval(prediction), sample.clue.intervals)}


def _aggregate_temporal_grounding(scores: list[SampleScore]) -> dict[str, float]:
    ious = _column(scores, "iou")
    return {"mIoU": _mean_percent(ious), **{f"R@{t}": _share_percent(ious, t) for t in (0.3, 0.5, 0.7)}}


def _score_nextgqa(sample: Sample, prediction: Prediction, _units: TrackUnits) -> dict[str, float]:
    """NExT-GQA: doc-doc/NExT-GQA code/TempGQA/eval_ground.py `eval_ground`. Per question the max IoU
    and the max IoP over its ground-truth locations; Acc@GQA counts a question when IoP ≥ 0.5 and
    the answer is right. Acc@QA covers every question; the grounding metrics cover the questions
    with locations (the official grounded subset, gsub_*.json)."""
    values = {"correct": float(answer_correct(sample, prediction))}
    if sample.clue is not None and sample.clue.intervals:
        interval = first_interval(prediction)
        values["iou"] = best_temporal_iou(interval, sample.clue.intervals)
        values["iop"] = best_nextgqa_iop(interval, sample.clue.intervals)
    return values


def _aggregate_nextgqa(scores: list[SampleScore]) -> dict[str, float]:
    grounded = [score for score in scores if "iou" in score.values]
    ious, iops = _column(grounded, "iou"), _column(grounded, "iop")
    grounded_correct = [s.values["correct"] if s.values["iop"] >= 0.5 else 0.0 for s in grounded]
    return {"Acc@QA": _mean_percent(_column(scores, "correct")), "Acc@GQA": _mean_percent(grounded_correct),
            "mIoP": _mean_percent(iops), "IoP@0.3": _share_percent(iops, 0.3), "IoP@0.5": _share_percent(iops, 0.5),
            "mIoU": _mean_percent(ious), "IoU@0.3": _share_percent(ious, 0.3), "IoU@0.5": _share_percent(ious, 0.5)}


def _score_rextime(sample: Sample, prediction: Prediction, _units: TrackUnits) -> dict[str, float]:
    """ReXTime: ReXTime/ReXTime evaluation/rextime_eval.py `compute_gqa_r1` (top-1 window, GT window
    of highest IoU, R1 at IoU ≥ t) and evaluation/utils.py `compute_gqa_accuracy` (Acc@IoU0.5: IoU ≥
    0.5 and the answer right); Acc is `eval_vqa`'s plain accuracy."""
    return {"correct": float(answer_correct(sample, prediction)),
            "iou": best_temporal_iou(first_interval(prediction), sample.clue.intervals)}


def _aggregate_rextime(scores: list[SampleScore]) -> dict[str, float]:
    ious = _column(scores, "iou")
    correct_and_grounded = [s.values["correct"] if s.values["iou"] >= 0.5 else 0.0 for s in scores]
    return {"Acc": _mean_percent(_column(scores, "correct")), "mIoU": _mean_percent(ious),
            "R@0.3": _share_percent(ious, 0.3), "R@0.5": _share_percent(ious, 0.5),
            "Acc@IoU0.5": _mean_percent(correct_and_grounded)}


# moment_detr eval.py `eval_moment_retrieval`: ground-truth window lengths (min, max], in seconds.
MR_LENGTH_RANGES = {"short": (0.0, 10.0), "middle": (10.0, 30.0), "long": (30.0, 150.0)}
# eval.py `eval_highlight`: a clip is positive for an annotator from this score on.
HL_MIN_SCORES = {"Fair": 2, "Good": 3, "VeryGood": 4}


def _score_qvhighlights(sample: Sample, prediction: Prediction, _units: TrackUnits) -> dict[str, float]:
    """QVHighlights moment retrieval and highlight detection: jayleicn/moment_detr
    standalone_eval/eval.py. R1 as `compute_mr_r1` (top-1 window, best GT window); mAP as
    `compute_mr_ap` (ranking.mean_window_ap per query, over all GT windows and over those of each
    length range, a query counting in a range when it has a GT window there); HL-mAP and HIT@1 as
    `eval_highlight` per positive-score level. Windows rank by the prediction's `interval_scores`,
    else in the order given; a prediction without saliency scores scores 0 on highlights."""
    gt_windows = sample.clue.intervals
    windows = prediction.intervals or []
    window_scores = prediction.interval_scores or [-float(rank) for rank in range(len(windows))]
    full = mean_window_ap(windows, window_scores, gt_windows)
    values = {"iou": best_temporal_iou(first_interval(prediction), gt_windows), "ap/full": _mean(list(full.values())),
              "ap@0.5": full[0.5], "ap@0.75": full[0.75]}
    for name, (shortest, longest) in MR_LENGTH_RANGES.items():
        in_range = [window for window in gt_windows if shortest < window[1] - window[0] <= longest]
        if in_range:
            values[f"ap/{name}"] = _mean(list(mean_window_ap(windows, window_scores, in_range).values()))
    return {**values, **_highlight_values(sample, prediction)}


def _highlight_values(sample: Sample, prediction: Prediction) -> dict[str, float]:
    saliency = sample.clue.saliency
    num_clips = int(sample.media.duration / saliency.clip_length)  # eval.py `mk_gt_scores`
    values = {}
    for level, min_score in HL_MIN_SCORES.items():
        labels = [clip_labels(saliency.clip_ids, saliency.scores, num_clips, annotator, min_score)
                  for annotator in range(saliency.annotators)]
        if not prediction.saliency:
            values[f"hl_ap/{level}"], values[f"hit1/{level}"] = 0.0, 0.0
            continue
        fitted = fit_to_clips(prediction.saliency, num_clips)
        values[f"hl_ap/{level}"] = _mean([saliency_average_precision(row, fitted) for row in labels])
        values[f"hit1/{level}"] = hit_at_one(prediction.saliency, labels)
    return values


def _aggregate_qvhighlights(scores: list[SampleScore]) -> dict[str, float]:
    """eval.py's brief metrics; a length range without any query reports 0."""
    ious = _column(scores, "iou")
    metrics = {"MR-full-R1@0.5": _share_percent(ious, 0.5), "MR-full-R1@0.7": _share_percent(ious, 0.7),
               "MR-full-mAP": _mean_percent(_column(scores, "ap/full")),
               "MR-full-mAP@0.5": _mean_percent(_column(scores, "ap@0.5")),
               "MR-full-mAP@0.75": _mean_percent(_column(scores, "ap@0.75"))}
    for name in MR_LENGTH_RANGES:
        metrics[f"MR-{name}-mAP"] = _mean_percent([s.values[f"ap/{name}"] for s in scores if f"ap/{name}" in s.values])
    for level in HL_MIN_SCORES:
        metrics[f"HL-min-{level}-mAP"] = _mean_percent(_column(scores, f"hl_ap/{level}"))
        metrics[f"HL-min-{level}-Hit1"] = _mean_percent(_column(scores, f"hit1/{level}"))
    return metrics


SR_THRESHOLDS = (0.5, 0.75)


def _score_got10k(sample: Sample, prediction: Prediction, units: TrackUnits) -> dict[str, float]:
    """GOT-10k: got-10k/toolkit got10k/experiments/got10k.py `report` and `_evaluate` (see
    `got10k_frame_ious`). SR counts frames with IoU strictly above the threshold (`ious > 0.5`).

    `mIoU(R1)` is a separate number, the one VideoChat-R1 reports (43.8 for the 7B model): per clip
    the mean box IoU over ALL annotated frames, the given first box included and nothing clipped to
    the frame (geometry.track_iou), then the mean over clips. It is not the toolkit's AO."""
    width, height = sample.media.width, sample.media.height
    track = prediction.track
    if units == "normalised" and track:  # the frame size is there: _check_annotations made sure
        track = [[x0 * width, y0 * height, x1 * width, y1 * height] for x0, y0, x1, y1 in track]
    ious = got10k_frame_ious(track, sample.clue.track, width=width, height=height)
    return {"frames": float(len(ious)), "ao": _mean(ious),
            **{f"sr@{t}": _mean([float(iou > t) for iou in ious]) for t in SR_THRESHOLDS},
            "r1_miou": track_iou(track, [point.box for point in sample.clue.track])}


def _aggregate_got10k(scores: list[SampleScore]) -> dict[str, float]:
    """The toolkit's overall AO/SR pool the frames of all sequences (`np.concatenate` then mean), so
    each sequence weighs by its scored frames."""
    frames = sum(score.values["frames"] for score in scores)

    def pooled(key: str) -> float:
        return 100.0 * sum(s.values[key] * s.values["frames"] for s in scores) / frames if frames else 0.0

    return {"AO": pooled("ao"), **{f"SR@{t}": pooled(f"sr@{t}") for t in SR_THRESHOLDS},
            "mIoU(R1)": _mean_percent(_column(scores, "r1_miou"))}


def _score_refcoco(sample: Sample, prediction: Prediction, _units: TrackUnits) -> dict[str, float]:
    """RefCOCO / + / g: QwenLM/Qwen-VL eval_mm/evaluate_grounding.py (first predicted box, correct
    when IoU ≥ 0.5; an unreadable box counts as wrong)."""
    box = prediction.boxes[0] if prediction.boxes else None
    iou = max((box_iou(box, gt) for gt in sample.clue.boxes), default=0.0) if box is not None else 0.0
    return {"iou": iou}


def _aggregate_refcoco(scores: list[SampleScore]) -> dict[str, float]:
    return {"Acc@0.5": _share_percent(_column(scores, "iou"), 0.5)}


def _score_dream1k(sample: Sample, prediction: Prediction, _units: TrackUnits, *,
                   judge: CaptionJudge) -> dict[str, float]:
    """Dream-1k caption events (DREAM-1K's AutoDQ, as VideoChat-R1 reports it): the judge splits the
    reference and the predicted caption into events; recall is the share of reference events the
    prediction entails, precision the share of predicted events the reference entails. A missing or
    empty caption scores 0 on both, without asking the judge."""
    caption = (prediction.answer or "").strip()
    if not caption:
        return {"precision": 0.0, "recall": 0.0}
    recall = _mean([float(entailed) for entailed in judge.entailment(judge.extract_events(sample.answer), caption)])
    precision = _mean([float(entailed) for entailed in judge.entailment(judge.extract_events(caption), sample.answer)])
    return {"precision": precision, "recall": recall}


def _aggregate_dream1k(scores: list[SampleScore]) -> dict[str, float]:
    """Mean precision and recall over captions; F1 the harmonic mean of those two means."""
    precision, recall = _mean_percent(_column(scores, "precision")), _mean_percent(_column(scores, "recall"))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"F1": f1, "Precision": precision, "Recall": recall}


def _score_mcq(sample: Sample, prediction: Prediction, _units: TrackUnits) -> dict[str, float]:
    """Multiple-choice video QA (MVBench, PerceptionTest, VideoMME, …): accuracy of the option letter."""
    return {"correct": float(answer_correct(sample, prediction))}


def _aggregate_mcq(scores: list[SampleScore]) -> dict[str, float]:
    """Acc, then `Acc/<group>` for each source group (VideoMME short/medium/long), in first-seen order."""
    metrics = {"Acc": _mean_percent(_column(scores, "correct"))}
    for group in dict.fromkeys(score.group for score in scores if score.group):
        metrics[f"Acc/{group}"] = _mean_percent(_column([s for s in scores if s.group == group], "correct"))
    return metrics


BENCHMARKS: dict[str, Benchmark] = {spec.name: spec for spec in (
    Benchmark("temporal_grounding", ("intervals",), ("mIoU", "R@0.3", "R@0.5", "R@0.7"),
              _score_temporal_grounding, _aggregate_temporal_grounding),
    Benchmark("nextgqa", ("answer",),
              ("Acc@QA", "Acc@GQA", "mIoP", "IoP@0.3", "IoP@0.5", "mIoU", "IoU@0.3", "IoU@0.5"),
              _score_nextgqa, _aggregate_nextgqa, needs_some=("intervals",)),
    Benchmark("qvhighlights", ("intervals", "saliency", "duration"),
              ("MR-full-R1@0.5", "MR-full-R1@0.7", "MR-full-mAP", "MR-full-mAP@0.5", "MR-full-mAP@0.75",
               *(f"MR-{name}-mAP" for name in MR_LENGTH_RANGES),
               *(f"HL-min-{level}-{kind}" for level in HL_MIN_SCORES for kind in ("mAP", "Hit1"))),
              _score_qvhighlights, _aggregate_qvhighlights),
    Benchmark("rextime", ("answer", "intervals"), ("Acc", "mIoU", "R@0.3", "R@0.5", "Acc@IoU0.5"),
              _score_rextime, _aggregate_rextime),
    Benchmark("got10k", ("track",), ("AO", "SR@0.5", "SR@0.75", "mIoU(R1)"), _score_got10k, _aggregate_got10k),
    Benchmark("refcoco", ("boxes",), ("Acc@0.5",), _score_refcoco, _aggregate_refcoco),
    Benchmark("mcq", ("answer",), ("Acc",), _score_mcq, _aggregate_mcq),
    Benchmark("dream1k", ("caption",), ("F1", "Precision", "Recall"), _score_dream1k, _aggregate_dream1k,
              needs_judge=True),
)}


# ----- helpers -----------------------------------------------------------------------------------

_NEEDS = {  # annotation → (field named in errors, test, what it is)
    "answer": ("answer", lambda s: bool(s.options) and s.answer is not None, "options and an answer"),
    "intervals": ("clue.intervals", lambda s: s.clue is not None and bool(s.clue.intervals), "clue intervals"),
    "boxes": ("clue.boxes", lambda s: s.clue is not None and bool(s.clue.boxes), "clue boxes"),
    "saliency": ("clue.saliency", lambda s: s.clue is not None and s.clue.saliency is not None,
                 "clip saliency scores (clue.saliency; the QVHighlights converter writes them)"),
    "duration": ("media.duration", lambda s: s.media.duration is not None, "a video duration"),
    "caption": ("answer", lambda s: s.task == "caption" and bool(s.answer and s.answer.strip()),
                "a reference caption (a caption sample's answer)"),
    "track": ("clue.track", lambda s: s.clue is not None and len(s.clue.track or []) >= 2,
              "a clue track of at least 2 points (the given first box, then the frames to score)"),
    "frame_size": ("media.width", lambda s: s.media.width is not None and s.media.height is not None,
                   "media.width and media.height (to scale normalised track boxes)"),
}


def _check_annotations(spec: Benchmark, samples: list[Sample], track_units: TrackUnits,
                       annotations: str | os.PathLike | None) -> None:
    """DataError (naming the file) for no samples, a repeated id, or a missing annotation."""
    path = _path(annotations)
    if not samples:
        raise DataError("no samples to score", path=path)
    needs = spec.needs + (("frame_size",) if "track" in spec.needs and track_units == "normalised" else ())
    seen: set[str] = set()
    for sample in samples:
        if sample.id in seen:
            raise DataError(f"duplicate sample id {sample.id!r}", path=path, field="id")
        seen.add(sample.id)
        for need in needs:
            field, present, what = _NEEDS[need]
            if not present(sample):
                raise DataError(f"sample {sample.id!r} has no {what}, which {spec.name} needs", path=path,
                                field=field)
    for need in spec.needs_some:
        field, present, what = _NEEDS[need]
        if not any(present(sample) for sample in samples):
            raise DataError(f"none of the {len(samples)} samples has {what}, which {spec.name} needs on "
                            "some", path=path, field=field)


def _path(annotations: str | os.PathLike | None) -> str | None:
    return None if annotations is None else str(annotations)


def _column(scores: Iterable[SampleScore], key: str) -> list[float]:
    return [score.values[key] for score in scores]


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _mean_percent(values: Sequence[float]) -> float:
    return 100.0 * _mean(values)


def _share_percent(values: Sequence[float], threshold: float) -> float:
    """Percentage of values ≥ threshold (moment-DETR, NExT-GQA, ReXTime and Qwen-VL all use ≥)."""
    return 100.0 * _mean([float(value >= threshold) for value in values])
