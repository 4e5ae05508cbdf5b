"""What an answer that never looks at the video scores: the demo's video-blind baseline rows.

Each baseline is chosen on the training samples only and then scored on the held-out samples with
the benchmark's own scorer, so it is a prediction like any model's:
  temporal grounding   the one interval (ends on a half-second grid) with the best training mIoU;
  tracking             the given first box held still in every frame (the prompt states it);
  spatial grounding    the one training box with the best training Acc@0.5;
  multiple choice      the most frequent training answer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from videofocus.errors import ConfigError
from videofocus.geometry import box_iou
from videofocus.metrics import ScoreReport, best_temporal_iou, score_predictions
from videofocus.parsing import Prediction
from videofocus.schema import Sample

DESCRIPTIONS = {
    "temporal_grounding": "the best constant interval of the training set",
    "got10k": "the given first box held still",
    "refcoco": "the best constant box of the training set",
    "nextgqa": "the most frequent training answer",
    "rextime": "the most frequent training answer and the best constant interval",
    "mcq": "the most frequent training answer",
}
# Boxes tried as the constant spatial answer (training boxes, evenly picked): enough to find a
# good one, few enough that choosing stays well under a second.
_BOX_CANDIDATES = 400


def video_blind_report(benchmark: str, train: Sequence[Sample], test: Sequence[Sample]) -> ScoreReport:
    """The video-blind baseline of `benchmark` chosen on `train`, scored on `test` (tracks in
    normalised units, as the tracking prompts ask)."""
    predict = {"temporal_grounding": _constant_interval, "got10k": _held_first_box, "refcoco": _constant_box,
               "nextgqa": _majority_answer, "mcq": _majority_answer, "rextime": _answer_and_interval}.get(benchmark)
    if predict is None:
        raise ConfigError(f"no video-blind baseline for benchmark {benchmark!r}")
    predictions = predict(train, test)
    return score_predictions(benchmark, test, predictions, track_units="normalised")


def best_constant_interval(train: Sequence[Sample]) -> tuple[float, float]:
    """The interval with ends on a half-second grid whose mean IoU over `train` is highest."""
    longest = max(sample.media.duration or 0.0 for sample in train)
    grid = [step / 2 for step in range(int(longest * 2) + 1)]
    return max(((start, end) for start in grid for end in grid if end > start),
               key=lambda interval: mean_interval_iou(interval, train))


def mean_interval_iou(interval: tuple[float, float], samples: Sequence[Sample]) -> float:
    return sum(best_temporal_iou(interval, sample.clue.intervals) for sample in samples) / len(samples)


def _constant_interval(train: Sequence[Sample], test: Sequence[Sample]) -> dict[str, Prediction]:
    interval = best_constant_interval([sample for sample in train if sample.clue and sample.clue.intervals])
    return {sample.id: Prediction(raw="", intervals=[interval]) for sample in test}


def _held_first_box(_train: Sequence[Sample], test: Sequence[Sample]) -> dict[str, Prediction]:
    predictions = {}
    for sample in test:
        x0, y0, x1, y1 = sample.clue.track[0].box
        width, height = sample.media.width, sample.media.height
        box = [x0 / width, y0 / height, x1 / width, y1 / height]
        predictions[sample.id] = Prediction(raw="", track=[box] * len(sample.clue.track))
    return predictions


def _constant_box(train: Sequence[Sample], test: Sequence[Sample]) -> dict[str, Prediction]:
    boxes = [sample.clue.boxes[0] for sample in train if sample.clue and sample.clue.boxes]
    if not boxes:
        raise ConfigError("no training sample with a box to choose a constant box from")
    candidates = boxes[::max(1, len(boxes) // _BOX_CANDIDATES)]
    best = max(candidates, key=lambda box: sum(box_iou(box, other) >= 0.5 for other in boxes))
    return {sample.id: Prediction(raw="", boxes=[list(best)]) for sample in test}


def _majority_answer(train: Sequence[Sample], test: Sequence[Sample]) -> dict[str, Prediction]:
    answers = Counter(sample.answer for sample in train if sample.answer is not None)
    if not answers:
        raise ConfigError("no training sample with an answer to take the most frequent one from")
    letter = answers.most_common(1)[0][0]
    return {sample.id: Prediction(raw="", answer=letter) for sample in test}


def _answer_and_interval(train: Sequence[Sample], test: Sequence[Sample]) -> dict[str, Prediction]:
    answers, intervals = _majority_answer(train, test), _constant_interval(train, test)
    return {key: Prediction(raw="", answer=answers[key].answer, intervals=intervals[key].intervals) for key in answers}
