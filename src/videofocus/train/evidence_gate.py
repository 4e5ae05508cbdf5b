"""No accuracy credit for an answer whose view could not show the evidence.

In a multi-round rollout, a trajectory's final view may still miss what the question asks about
(the loop re-samples around the model's own clue, which can be wrong). Its answer is then a guess,
and the accuracy reward grades the guess: among the G trajectories of a question, the ones whose
guess happened to be right get a positive advantage, and the policy drifts to favourite letters
(benchmarks/RESULTS.md, runs H, J, L, M: 39-54 % of final answers one letter).

With `GRPOConfig.itp_answer_needs_evidence`, a round whose video frames do not reach the sample's
evidence earns 0 accuracy, right or wrong. The trajectory still earns its clue and format rewards,
and the loop's outcome credit still rewards earlier rounds for views that did show the evidence.

The evidence of a sample is, in order: the interval in which the answer is visible when the
annotation says so (`meta.flash_start` / `meta.flash_end`, as the synthetic brief-evidence
questions and the report's timelines use), else its clue intervals (the grounded span of
NExT-GQA-style data). A sample with neither, and every image sample, is never gated.

Measured on the synthetic brief-evidence questions (benchmarks/RESULTS.md): from a warm start that
reads the evidence only half the time it sees it (run N), the gate did not help (round-3 accuracy
43.2 -> 39.6, the letter drift remained); from one that reads it on the loop's views (run Q, 5 seeds)
it removed the drift and kept round 3 at the warm start's level (48.1 vs 47.5; 46.7 ungated) over 60
steps, but over 180 steps it held the reading back (run R: round 3 49.2 gated, 52.7 ungated)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from videofocus.perception.result import View
from videofocus.rewards import RewardResult, reward_weight
from videofocus.schema import Sample

GATED_REWARD = "accuracy"


def evidence_intervals(sample: Sample) -> list[tuple[float, float]] | None:
    """Where the sample's answer can be seen (seconds), or None when the annotation does not say."""
    meta = sample.meta or {}
    start, end = meta.get("flash_start"), meta.get("flash_end")
    if isinstance(start, (int, float)) and isinstance(end, (int, float)):
        return [(float(start), float(end))]
    if sample.clue is not None and sample.clue.intervals:
        return [tuple(interval) for interval in sample.clue.intervals]
    return None


def shows_evidence(timestamps: Sequence[float], intervals: Sequence[tuple[float, float]]) -> bool:
    """Whether a frame shown at one of `timestamps` lies in one of `intervals` ([start, end))."""
    return any(start <= time < end for time in timestamps for start, end in intervals)


def withhold_unseen_accuracy(sample: Sample, view: View, result: RewardResult,
                             weights: Mapping[str, float]) -> RewardResult:
    """`result` with its accuracy set to 0 (and the total lowered by what it contributed) when `view`
    is a video view that misses the sample's evidence; otherwise `result` itself. `weights` are the
    resolved weights (`rewards.resolve_weights`) the total was computed with."""
    intervals = evidence_intervals(sample)
    earned = result.values.get(GATED_REWARD)
    if (not earned or intervals is None or view.media_type != "video"
            or shows_evidence(view.timestamps, intervals)):
        return result
    total = result.total - reward_weight(weights, sample.task, GATED_REWARD) * earned
    return replace(result, values={**result.values, GATED_REWARD: 0.0}, total=total)
