"""Credit assignment of multi-round rollouts, checked by hand: r_j = clue_j + γ^(k−j)·(total_k − clue_k)."""

from __future__ import annotations

import pytest

from videofocus.parsing import parse_completion
from videofocus.rewards import RewardResult, compute_rewards, resolve_weights
from videofocus.schema import parse_sample
from videofocus.train.itp_credit import clue_reward, round_credits

GQA = parse_sample({"id": "g", "task": "grounded_qa", "question": "What colour?", "options": ["red", "blue"],
                    "answer": "B", "media": {"type": "video", "path": "v.mp4", "duration": 10.0},
                    "clue": {"intervals": [[2.0, 6.0]]}})
MCQ = parse_sample({"id": "m", "task": "mcq", "question": "What colour?", "options": ["red", "blue"],
                    "answer": "B", "media": {"type": "video", "path": "v.mp4", "duration": 10.0}})


def _result(values: dict[str, float]) -> RewardResult:
    return RewardResult(values=values, total=sum(values.values()), prediction=parse_completion(""))


def test_each_round_gets_its_own_clue_and_the_discounted_final_outcome():
    rounds = [_result({"format": 0.0, "temporal_iou": 0.2, "accuracy": 0.0}),
              _result({"format": 1.0, "temporal_iou": 0.5, "accuracy": 0.0}),
              _result({"format": 1.0, "temporal_iou": 0.8, "accuracy": 1.0})]
    credits = round_credits(rounds, {}, "grounded_qa", discount=0.5)
    # final outcome = format 1 + accuracy 1 = 2
    assert credits == pytest.approx([0.2 + 0.25 * 2.0, 0.5 + 0.5 * 2.0, 0.8 + 2.0])
    assert credits[-1] == pytest.approx(rounds[-1].total)


def test_one_round_is_single_round_grpo():
    result = _result({"format": 1.0, "temporal_iou": 0.3, "accuracy": 1.0})
    assert round_credits([result], {}, "grounded_qa", discount=0.0) == [pytest.approx(result.total)]


def test_without_a_clue_annotation_every_round_gets_the_outcome_only():
    texts = ["<think>a</think><answer>A</answer>", "<think>b</think><answer>B</answer>"]
    rounds = [compute_rewards(MCQ, text) for text in texts]
    assert "temporal_iou" not in rounds[0].values
    assert clue_reward(rounds[0], {}, "mcq") == 0.0
    assert round_credits(rounds, {}, "mcq", discount=0.9) == pytest.approx([0.9 * rounds[1].total, rounds[1].total])


def test_weights_scale_clue_and_outcome_as_in_the_totals():
    weights = {"temporal_iou": 2.0, "grounded_qa.accuracy": 3.0}
    texts = ["<think>a</think><clue>[(2.0, 4.0)]</clue><answer>A</answer>",
             "<think>b</think><clue>[(2.0, 6.0)]</clue><answer>B</answer>"]
    rounds = [compute_rewards(GQA, text, weights=weights) for text in texts]
    assert rounds[0].values["temporal_iou"] == pytest.approx(0.5)
    outcome = rounds[1].values["format"] + 3.0 * rounds[1].values["accuracy"]
    assert outcome == pytest.approx(4.0)
    credits = round_credits(rounds, resolve_weights(weights), "grounded_qa", discount=1.0)
    assert credits == pytest.approx([2.0 * 0.5 + outcome, rounds[1].total])


def test_an_empty_trajectory_is_refused():
    with pytest.raises(ValueError):
        round_credits([], {}, "grounded_qa", discount=1.0)
