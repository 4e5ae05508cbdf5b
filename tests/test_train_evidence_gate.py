"""The evidence gate of multi-round GRPO: a round whose frames miss the sample's evidence earns no
accuracy (train/evidence_gate.py)."""

from __future__ import annotations

import pytest

from videofocus.errors import ConfigError
from videofocus.parsing import parse_completion
from videofocus.perception.result import View
from videofocus.rewards import RewardResult, resolve_weights
from videofocus.schema import Sample
from videofocus.train.config import GRPOConfig, config_from_dict
from videofocus.train.evidence_gate import evidence_intervals, withhold_unseen_accuracy


def _sample(*, meta=None, clue=((10.0, 20.0),), media="video") -> Sample:
    return Sample.model_validate({
        "id": "s", "task": "grounded_qa", "question": "What colour?", "options": ["red", "blue"], "answer": "A",
        "clue": {"intervals": [list(span) for span in clue]} if clue else None, "meta": meta,
        "media": {"type": media, "path": "x.mp4" if media == "video" else "x.png"}})


def _earned(accuracy: float, *, weight: float = 1.0) -> RewardResult:
    values = {"format": 1.0, "temporal_iou": 0.5, "accuracy": accuracy}
    return RewardResult(values=values, total=1.5 + weight * accuracy, prediction=parse_completion("<answer>A</answer>"))


def _video(*times: float) -> View:
    return View(media_type="video", frame_indices=tuple(range(len(times))), timestamps=times)


def test_the_answer_visible_interval_comes_before_the_clue():
    assert evidence_intervals(_sample(meta={"flash_start": 12.0, "flash_end": 12.5})) == [(12.0, 12.5)]
    assert evidence_intervals(_sample()) == [(10.0, 20.0)]
    assert evidence_intervals(_sample(clue=None, meta={"flash_start": "12"})) is None


@pytest.mark.parametrize("times,gated", [((0.0, 11.9, 12.5, 30.0), True),    # the interval is half-open
                                         ((0.0, 12.0, 30.0), False), ((12.49,), False)])
def test_a_right_answer_counts_only_where_a_frame_shows_the_evidence(times, gated):
    sample = _sample(meta={"flash_start": 12.0, "flash_end": 12.5})
    weights = resolve_weights({"grounded_qa.accuracy": 2.0})
    result = withhold_unseen_accuracy(sample, _video(*times), _earned(1.0, weight=2.0), weights)
    assert result.values == {"format": 1.0, "temporal_iou": 0.5, "accuracy": 0.0 if gated else 1.0}
    assert result.total == pytest.approx(1.5 if gated else 3.5)


def test_wrong_answers_images_and_samples_without_evidence_pass_unchanged():
    weights = resolve_weights(None)
    unseen = _video(0.0, 30.0)
    wrong = _earned(0.0)
    assert withhold_unseen_accuracy(_sample(), unseen, wrong, weights) is wrong
    right = _earned(1.0)
    assert withhold_unseen_accuracy(_sample(clue=None), unseen, right, weights) is right
    image_view = View(media_type="image", image_size=(64, 64))
    image = _sample(media="image", clue=None, meta={"flash_start": 1.0, "flash_end": 2.0})
    assert withhold_unseen_accuracy(image, image_view, right, weights) is right


def test_the_gate_needs_the_loop():
    values = dict(model="m", output_dir="o", datasets=[{"path": "d.jsonl"}], num_generations=2,
                  per_device_batch_size=6, itp_answer_needs_evidence=True)
    with pytest.raises(ConfigError, match="itp_answer_needs_evidence"):
        config_from_dict(GRPOConfig, {**values, "rollout_rounds": 1}).validate()
    config_from_dict(GRPOConfig, {**values, "rollout_rounds": 3}).validate()
