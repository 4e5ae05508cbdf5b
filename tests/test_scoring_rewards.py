"""Rewards: values computed by hand, dynamic selection, weights, and [0, 1] for any completion."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scoring_helpers import BASE_SAMPLES, make_sample

from videofocus.errors import ConfigError, DataError
from videofocus.parsing import parse_completion
from videofocus.rewards import (REWARD_FUNCTIONS, VIDEOCHAT_R1_5_WEIGHTS, applicable_rewards,
                                compute_group_rewards, compute_rewards)


class ScriptedJudge:
    """Stands in for CaptionJudge where HTTP is not the point (test_scoring_judge covers HTTP)."""

    def __init__(self, recall: float):
        self.value, self.calls = recall, []

    def recall(self, reference: str, prediction: str) -> float:
        self.calls.append((reference, prediction))
        return self.value


def test_temporal_grounding_by_hand():
    sample = make_sample("temporal_grounding", clue={"intervals": [[2.0, 5.0], [4.0, 7.0]]})
    # gt merges to [2, 7]; pred [0, 3] ∪ [6, 8]: ∩ = 1 + 1 = 2, ∪ = [0, 8] = 8.
    result = compute_rewards(sample, "<think>x</think><clue>[(0, 3), (6, 8)]</clue>")
    assert result.values == {"format": 1.0, "temporal_iou": pytest.approx(0.25)}
    assert result.total == pytest.approx(1.25)


def test_touching_and_zero_length_predictions_score_zero_iou():
    sample = make_sample("temporal_grounding", clue={"intervals": [[6.0, 12.0]]})
    assert compute_rewards(sample, "<think>x</think><clue>[(0, 6)]</clue>").values["temporal_iou"] == 0.0
    assert compute_rewards(sample, "<think>x</think><clue>[(8, 8)]</clue>").values["temporal_iou"] == 0.0


def test_videochat_r1_grounding_answer_is_scored():
    sample = make_sample("temporal_grounding", clue={"intervals": [[10.0, 20.0]]})
    result = compute_rewards(sample, "<think>x</think><answer>15.00 to 25.00</answer>", protocol="videochat_r1")
    assert result.values == {"format": 1.0, "temporal_iou": pytest.approx(5 / 15)}
    # The same text is not the canonical format.
    assert compute_rewards(sample, result.prediction.raw).values["format"] == 0.0


@pytest.mark.parametrize("zero", [0x660, 0xFF10, 0x966], ids=["Arabic-Indic", "fullwidth", "Devanagari"])
def test_non_ascii_digits_earn_neither_format_nor_iou(zero):
    sample = make_sample("temporal_grounding", clue={"intervals": [[2.0, 5.0]]})
    text = "<think>x</think><clue>[(2, 5)]</clue>"
    assert compute_rewards(sample, text).values == {"format": 1.0, "temporal_iou": 1.0}
    foreign = text.translate({ord(str(digit)): chr(zero + digit) for digit in range(10)})
    assert compute_rewards(sample, foreign).values == {"format": 0.0, "temporal_iou": 0.0}


def test_unparsable_clue_scores_zero_but_format_still_counts_separately():
    sample = make_sample("temporal_grounding")
    result = compute_rewards(sample, "<think>x</think><clue>somewhere in the middle</clue>")
    assert result.values == {"format": 0.0, "temporal_iou": 0.0}


def test_grounded_qa_gets_format_iou_and_accuracy():
    result = compute_rewards(make_sample("grounded_qa"), "<think>t</think><clue>[(3, 6)]</clue><answer>B</answer>")
    assert result.values == {"format": 1.0, "temporal_iou": pytest.approx(0.75), "accuracy": 1.0}
    assert result.total == pytest.approx(2.75)
    wrong = compute_rewards(make_sample("grounded_qa"), "<think>t</think><clue>[(3, 6)]</clue><answer>A</answer>")
    assert wrong.values["accuracy"] == 0.0


@pytest.mark.parametrize("answer", ["C", "(C)", "C.", "C. green", "The answer is C", "green"])
def test_accuracy_accepts_the_usual_spellings(answer):
    result = compute_rewards(make_sample("mcq"), f"<think>t</think><answer>{answer}</answer>", protocol="videochat_r1")
    assert result.values["accuracy"] == 1.0


def test_free_text_classification_matches_case_and_punctuation_insensitively():
    sample = make_sample("classification")
    assert compute_rewards(sample, "<think>t</think><answer>Yes.</answer>").values == {"format": 1.0, "accuracy": 1.0}
    assert compute_rewards(sample, "<think>t</think><answer>no</answer>").values["accuracy"] == 0.0
    assert compute_rewards(sample, "<think>t</think>").values["accuracy"] == 0.0


def test_dynamic_selection_follows_the_annotations():
    assert applicable_rewards(make_sample("mcq")) == ["format", "accuracy"]
    with_clue = make_sample("mcq", clue={"intervals": [[1.0, 2.0]]})
    assert applicable_rewards(with_clue) == ["format", "accuracy", "temporal_iou"]
    no_answer = make_sample("grounded_qa", answer=None)
    assert applicable_rewards(no_answer) == ["format", "temporal_iou"]
    no_clue = make_sample("temporal_grounding", clue=None)
    assert applicable_rewards(no_clue) == ["format"]
    assert compute_rewards(no_clue, "<think>x</think><clue>[(1, 2)]</clue>").values == {"format": 1.0}


def test_one_batch_can_mix_tasks():
    batch = [(make_sample("temporal_grounding"), "<think>x</think><clue>[(6.0, 11.9)]</clue>"),
             (make_sample("mcq"), "<think>t</think><clue>[(1, 2)]</clue><answer>C</answer>"),
             (make_sample("spatial_grounding"), "<think>t</think><clue>[100, 100, 300, 200]</clue>")]
    totals = [compute_rewards(sample, text).total for sample, text in batch]
    assert totals == [pytest.approx(2.0), pytest.approx(2.0), pytest.approx(2.0)]


def test_box_iou_by_hand_and_for_boxes_that_miss():
    sample = make_sample("spatial_grounding", clue={"boxes": [[0, 0, 2, 2]]})
    assert compute_rewards(sample, "<think>t</think><clue>[1, 1, 3, 3]</clue>").values["box_iou"] == pytest.approx(1 / 7)
    assert compute_rewards(sample, "<think>t</think><clue>[5, 5, 6, 6]</clue>").values["box_iou"] == 0.0
    assert compute_rewards(sample, "<think>t</think><clue>[1, 1, 1, 1]</clue>").values["box_iou"] == 0.0


def test_extra_predicted_boxes_cost():
    sample = make_sample("spatial_grounding", clue={"boxes": [[0, 0, 2, 2]]})
    spam = "<think>t</think><clue>[[0, 0, 2, 2], [5, 5, 6, 6], [7, 7, 8, 8], [9, 9, 10, 10]]</clue>"
    assert compute_rewards(sample, spam).values["box_iou"] == pytest.approx(1 / 4)


def test_tracking_by_hand_with_missing_and_extra_frames():
    sample = make_sample("tracking")  # 4 frames; normalised gt: [0,0,.5,.5] [.5,.5,1,1] [.25,.25,.75,.75] [0,.5,.5,1]
    two_frames = "<think>t</think><clue>[[0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1]]</clue>"
    assert compute_rewards(sample, two_frames).values["tracking"] == pytest.approx(0.5)
    six_frames = ("<think>t</think><clue>[[0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1], [0.25, 0.25, 0.75, 0.75], "
                  "[0, 0.5, 0.5, 1], [0, 0, 1, 1], [0, 0, 1, 1]]</clue>")
    assert compute_rewards(sample, six_frames).values["tracking"] == 1.0
    reversed_frame = "<think>t</think><clue>[[0.5, 0.5, 0, 0], [0.5, 0.5, 1, 1]]</clue>"
    assert compute_rewards(sample, reversed_frame).values["tracking"] == pytest.approx(0.25)


def test_tracking_ground_truth_needs_the_frame_size():
    sample = make_sample("tracking", media={"type": "video", "path": "v.mp4"})
    with pytest.raises(DataError, match="media.width"):
        compute_rewards(sample, "<answer>[[0, 0, 1, 1]]</answer>")


def test_default_weights_are_the_videochat_r1_task_sums():
    result = compute_rewards(make_sample("grounded_qa"), "<think>t</think><clue>[(2, 6)]</clue><answer>B</answer>")
    assert result.total == 3.0


def test_videochat_r1_5_preset_weights_an_image_clue_at_0_2():
    sample = make_sample("grounded_qa", media={"type": "image", "path": "i.jpg"}, clue={"boxes": [[0, 0, 10, 10]]})
    text = "<answer>B</answer><glue>[0, 0, 10, 10]</glue>"
    result = compute_rewards(sample, text, weights="videochat_r1_5", protocol="videochat_r1_5")
    assert result.values == {"format": 1.0, "box_iou": 1.0, "accuracy": 1.0}
    assert result.total == pytest.approx(2.2)
    grounding = compute_rewards(make_sample("spatial_grounding"), "<think>t</think><clue>[100, 100, 300, 200]</clue>",
                                weights=VIDEOCHAT_R1_5_WEIGHTS)
    assert grounding.total == pytest.approx(2.0)  # the box is the answer here, weight 1


def test_custom_weights_override_by_reward_name():
    result = compute_rewards(make_sample("temporal_grounding"), "<think>x</think><clue>[(6.0, 11.9)]</clue>",
                             weights={"format": 0.5, "temporal_iou": 2.0})
    assert result.total == pytest.approx(2.5)
    with pytest.raises(ConfigError, match="unknown reward weight preset"):
        compute_rewards(make_sample("mcq"), "C", weights="r2")


def test_a_prediction_mapped_to_original_pixels_can_be_passed_instead_of_text():
    sample = make_sample("spatial_grounding", clue={"boxes": [[100, 100, 300, 200]]})
    seen_by_model = parse_completion("<think>t</think><clue>[50, 50, 150, 100]</clue>")  # a half-size image
    mapped = dataclasses.replace(seen_by_model, boxes=[[2 * v for v in box] for box in seen_by_model.boxes])
    assert compute_rewards(sample, mapped).values == {"format": 1.0, "box_iou": 1.0}


def test_caption_reward_uses_the_judge_and_requires_one():
    sample = make_sample("caption")
    judge = ScriptedJudge(0.5)
    result = compute_rewards(sample, "<think>t</think><answer>A man walks in.</answer>", judge=judge)
    assert result.values == {"format": 1.0, "caption_recall": 0.5}
    assert judge.calls == [(BASE_SAMPLES["caption"]["answer"], "A man walks in.")]
    with pytest.raises(ConfigError, match="judge"):
        compute_rewards(sample, "<answer>x</answer>")


def test_group_form_scores_each_completion():
    sample = make_sample("temporal_grounding", clue={"intervals": [[0.0, 10.0]]})
    completions = ["<think>x</think><clue>[(0, 10)]</clue>", "<think>x</think><clue>[(0, 5)]</clue>", "garbage"]
    results = compute_group_rewards(sample, completions)
    assert [r.values["temporal_iou"] for r in results] == [1.0, 0.5, 0.0]
    assert [r.total for r in results] == [2.0, 1.5, 0.0]


completion_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", "<clue>", "</clue>", "<glue>",
                              "</glue>", "[", "]", "(", ")", ", ", " to ", "nan", "inf", "-1", "1e9", "0.5", "3",
                              "150", "A", "B", "C", "The answer is ", "yes", "x"]), max_size=40).map("".join),
)


@settings(max_examples=150, deadline=None)
@given(task=st.sampled_from(sorted(BASE_SAMPLES)), text=completion_text,
       protocol=st.sampled_from(["videofocus", "videochat_r1", "videochat_r1_5"]))
def test_every_reward_is_in_unit_range_for_any_completion(task, text, protocol):
    result = compute_rewards(make_sample(task), text, judge=ScriptedJudge(1.0), protocol=protocol)
    assert set(result.values) <= set(REWARD_FUNCTIONS)
    assert all(0.0 <= value <= 1.0 for value in result.values.values())
    assert 0.0 <= result.total <= len(result.values)
