"""Rewards for GRPO (SPEC "Rewards"): each reward scores one completion of one sample in [0, 1], and
a sample gets exactly the rewards its annotations support ("dynamic selection"), so one batch can mix
tasks.

    result = compute_rewards(sample, completion, weights="videochat_r1_5", judge=judge)
    result.values   # {"format": 1.0, "temporal_iou": 0.62, "accuracy": 1.0}
    result.total    # weighted sum

Units: intervals in seconds; boxes in the sample's units (original pixels), so a caller whose model
saw a resized image parses the completion, maps the boxes back (media.image.ResizeMap.to_original)
and passes the Prediction instead of the text; tracking boxes normalised 0–1 (the task's prompt
says so), the ground truth being divided by media.width/height.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from videofocus.errors import ConfigError
from videofocus.geometry import matched_box_iou, temporal_iou, track_iou
from videofocus.judge import CaptionJudge
from videofocus.parsing import Prediction, parse_completion, parse_option, same_text
from videofocus.schema import Sample
from videofocus.tasks import TaskSpec, get_task
from videofocus.tasks.tracking import normalised_track

# VideoChat-R1: task sums with every weight 1 (tg/tracking = format + IoU, MCQ = format + accuracy, …).
VIDEOCHAT_R1_WEIGHTS: dict[str, float] = {}
# VideoChat-R1.5 released code: an image clue box counts 0.2 (λ0), the rest 1; the box of a
# spatial-grounding sample is its answer, not a clue, and keeps weight 1.
VIDEOCHAT_R1_5_WEIGHTS: dict[str, float] = {"box_iou": 0.2, "spatial_grounding.box_iou": 1.0}
WEIGHT_PRESETS: dict[str, dict[str, float]] = {"videochat_r1": VIDEOCHAT_R1_WEIGHTS,
                                               "videochat_r1_5": VIDEOCHAT_R1_5_WEIGHTS}

Weights = Mapping[str, float] | str | None


@dataclass(frozen=True)
class RewardContext:
    """What a reward may look at besides the prediction."""

    sample: Sample
    task: TaskSpec
    protocol: str
    judge: CaptionJudge | None


@dataclass(frozen=True)
class Reward:
    """A named reward: `applies(sample)` says whether the sample's annotations support it."""

    name: str
    applies: Callable[[Sample], bool]
    score: Callable[[Prediction, RewardContext], float]


@dataclass(frozen=True)
class RewardResult:
    """The rewards one completion earned (only those its sample supports) and their weighted sum."""

    values: dict[str, float]
    total: float
    prediction: Prediction


def format_reward(prediction: Prediction, context: RewardContext) -> float:
    """1 when the whole completion matches the task's template for the protocol."""
    return float(context.task.format_ok(context.sample, prediction.raw, context.protocol))


def temporal_iou_reward(prediction: Prediction, context: RewardContext) -> float:
    return temporal_iou(prediction.intervals, context.sample.clue.intervals)


def box_iou_reward(prediction: Prediction, context: RewardContext) -> float:
    return matched_box_iou(prediction.boxes, context.sample.clue.boxes)


def tracking_reward(prediction: Prediction, context: RewardContext) -> float:
    """Mean IoU over the ground-truth frames (normalised boxes); a missing frame counts 0."""
    return track_iou(prediction.track, normalised_track(context.sample))


def accuracy_reward(prediction: Prediction, context: RewardContext) -> float:
    """1 when the answer names the right option (or equals a free-text label, case-insensitive)."""
    sample = context.sample
    if sample.options:
        return float(parse_option(prediction.answer, sample.options) == sample.answer)
    return float(prediction.answer is not None and same_text(prediction.answer, sample.answer or ""))


def caption_recall_reward(prediction: Prediction, context: RewardContext) -> float:
    """Event recall of the predicted caption against the reference, by the LLM judge."""
    if context.judge is None:
        raise ConfigError("caption samples need an LLM judge for the caption_recall reward "
                          "(pass judge=CaptionJudge(url, model))")
    return context.judge.recall(context.sample.answer or "", prediction.answer or "")


def _has_clue(kind: str) -> Callable[[Sample], bool]:
    return lambda sample: sample.clue is not None and bool(getattr(sample.clue, kind))


REWARD_FUNCTIONS: dict[str, Reward] = {reward.name: reward for reward in (
    Reward("format", lambda sample: True, format_reward),
    Reward("temporal_iou", _has_clue("intervals"), temporal_iou_reward),
    Reward("box_iou", _has_clue("boxes"), box_iou_reward),
    Reward("tracking", _has_clue("track"), tracking_reward),
    Reward("accuracy", lambda sample: sample.answer is not None and sample.task != "caption", accuracy_reward),
    Reward("caption_recall", lambda sample: sample.task == "caption" and bool(sample.answer), caption_recall_reward),
)}


def applicable_rewards(sample: Sample) -> list[str]:
    """The rewards this sample earns: those its task can use and its annotations support."""
    return [name for name in get_task(sample.task).reward_names if REWARD_FUNCTIONS[name].applies(sample)]


def resolve_weights(weights: Weights) -> Mapping[str, float]:
    """A weight mapping from a preset name, a mapping, or None (VideoChat-R1: all 1)."""
    if weights is None:
        return VIDEOCHAT_R1_WEIGHTS
    if isinstance(weights, str):
        if weights not in WEIGHT_PRESETS:
            raise ConfigError(f"unknown reward weight preset {weights!r}; choose one of {', '.join(WEIGHT_PRESETS)}")
        return WEIGHT_PRESETS[weights]
    return weights


def reward_weight(weights: Mapping[str, float], task: str, reward: str) -> float:
    """The weight of `reward` on a `task` sample: key "task.reward", else "reward", else 1."""
    return float(weights.get(f"{task}.{reward}", weights.get(reward, 1.0)))


def compute_rewards(sample: Sample, completion: str | Prediction, *, weights: Weights = None,
                    judge: CaptionJudge | None = None, protocol: str = "videofocus") -> RewardResult:
    """Score one completion of `sample`: the applicable rewards and their weighted sum.

    `completion` is the raw text, or a Prediction already parsed (and its boxes mapped to the
    sample's units). `protocol` picks the format template. Raises ConfigError for a caption sample
    without a judge, JudgeUnavailable when the judge is down."""
    prediction = completion if isinstance(completion, Prediction) else parse_completion(completion)
    context = RewardContext(sample, get_task(sample.task), protocol, judge)
    weight_map = resolve_weights(weights)
    values = {name: _clamp(REWARD_FUNCTIONS[name].score(prediction, context)) for name in applicable_rewards(sample)}
    total = sum(reward_weight(weight_map, sample.task, name) * value for name, value in values.items())
    return RewardResult(values=values, total=total, prediction=prediction)


def compute_group_rewards(sample: Sample, completions: Sequence[str | Prediction], *, weights: Weights = None,
                          judge: CaptionJudge | None = None, protocol: str = "videofocus") -> list[RewardResult]:
    """`compute_rewards` for the G completions of one sample (the judge extracts the reference
    caption's events once and reuses them)."""
    return [compute_rewards(sample, completion, weights=weights, judge=judge, protocol=protocol)
            for completion in completions]


def _clamp(value: float) -> float:
    """Guard the [0, 1] contract (every reward already stays inside it; NaN becomes 0)."""
    return min(1.0, max(0.0, value)) if value == value else 0.0
