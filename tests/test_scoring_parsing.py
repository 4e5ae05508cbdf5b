"""Completion parsing: every documented output form, the deliberate edge-case decisions, and
never raising on adversarial text."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from videofocus.parsing import MAX_CLUE_NUMBERS, Prediction, parse_completion, parse_option


def test_canonical_completion_with_temporal_clue():
    text = "<think>The box appears late.</think><clue>[(6.0, 11.9), (20, 22.5)]</clue><answer>B</answer>"
    prediction = parse_completion(text)
    assert prediction == Prediction(raw=text, think="The box appears late.", answer="B",
                                    intervals=[(6.0, 11.9), (20.0, 22.5)])
    assert prediction.has_clue


@pytest.mark.parametrize("clue", ["12.54 to 17.83", "from 12.54 to 17.83 seconds", "12.54s - 17.83s",
                                  "[12.54, 17.83]", "[(12.54, 17.83)]", "[[12.54, 17.83]]"])
def test_temporal_clue_spellings(clue):
    assert parse_completion(f"<clue>{clue}</clue>").intervals == [(12.54, 17.83)]


def test_released_glue_tag_is_a_clue():
    assert parse_completion("<glue>[(1, 2)]</glue><answer>A</answer>").intervals == [(1.0, 2.0)]


def test_videochat_r1_grounding_answer_gives_intervals():
    prediction = parse_completion("<think>...</think> <answer>12.54 to 17.83</answer>")
    assert prediction.answer == "12.54 to 17.83"
    assert prediction.intervals == [(12.54, 17.83)]


def test_answer_that_is_not_a_pure_clue_gives_no_intervals():
    prediction = parse_completion("<answer>There were 2 to 3 people</answer>")
    assert prediction.answer == "There were 2 to 3 people"
    assert prediction.intervals is None


def test_box_and_box_list_and_track():
    one = parse_completion("<clue>[334.72, 298.08, 522.88, 450.24]</clue>")
    assert one.boxes == [[334.72, 298.08, 522.88, 450.24]]
    many = parse_completion("<clue>[[0.1, 0.2, 0.3, 0.4], [0.15, 0.2, 0.35, 0.4]]</clue>")
    assert many.boxes == [[0.1, 0.2, 0.3, 0.4], [0.15, 0.2, 0.35, 0.4]]
    assert many.track == many.boxes
    assert many.intervals is None


def test_qwen_json_grounding_inside_answer():
    prediction = parse_completion('<answer>[{"bbox_2d": [10, 20, 30, 40], "label": "cat 2"}]</answer>')
    # "bbox_2d" holds no number and the label's "2" sits outside the innermost box group.
    assert prediction.boxes == [[10.0, 20.0, 30.0, 40.0]]


def test_reversed_intervals_are_dropped_and_negative_starts_clipped():
    prediction = parse_completion("<clue>[(-1.5, 3), (9, 4), (-5, -2)]</clue>")
    assert prediction.intervals == [(0.0, 3.0)]
    assert parse_completion("<clue>[(9, 4)]</clue>").intervals is None


def test_reversed_box_is_dropped_from_boxes_but_keeps_its_frame_in_the_track():
    prediction = parse_completion("<clue>[[0, 0, 1, 1], [5, 5, 2, 2], [0, 0, 2, 2]]</clue>")
    assert prediction.boxes == [[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0]]
    assert prediction.track == [[0.0, 0.0, 1.0, 1.0], [5.0, 5.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0]]


@pytest.mark.parametrize("clue", ["[1, nan]", "[(0, inf)]", "[(0, 1e8)]", "[(0, 1e400)]", "[(1, 2, 3)]",
                                  "[(1, 2), (3,)]", "1 2 3", "no numbers here", ""])
def test_unreadable_clues_parse_to_nothing(clue):
    prediction = parse_completion(f"<clue>{clue}</clue><answer>A</answer>")
    assert (prediction.intervals, prediction.boxes, prediction.track) == (None, None, None)
    assert prediction.answer == "A"


def test_clue_size_is_bounded():
    boxes = ", ".join(["[0, 0, 1, 1]"] * (MAX_CLUE_NUMBERS // 4))
    assert len(parse_completion(f"<clue>[{boxes}]</clue>").track) == MAX_CLUE_NUMBERS // 4
    assert parse_completion(f"<clue>[{boxes}, [0, 0, 1, 1]]</clue>").track is None


def test_last_complete_block_wins():
    text = "<think>I will write <answer>A</answer>.</think><answer>C</answer>"
    assert parse_completion(text).answer == "C"
    assert parse_completion("<answer><answer>B</answer></answer>").answer == "B"
    assert parse_completion("<answer>A</answer><answer>B").answer == "A"
    assert parse_completion("<ANSWER> D </Answer>").answer == "D"


def test_untagged_text_is_the_answer_but_truncated_tags_are_not():
    assert parse_completion("  B  ").answer == "B"
    truncated = parse_completion("<think>the person opens the")
    assert (truncated.think, truncated.answer) == (None, None)
    assert parse_completion("").answer is None


def test_non_string_input_parses_to_nothing():
    assert parse_completion(None) == Prediction(raw="")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["B", "(B)", "[B]", "B.", "B:", "B)", "b", "B. the red car", "(B) the red car",
                                  "The answer is B", "The answer is (B).", "Answer: B", "I pick option B",
                                  "the red car", "The Red Car!", "Option A is wrong, so the answer is B."])
def test_option_spellings(text):
    assert parse_option(text, ["a blue bus", "the red car", "a cat", "a dog"]) == "B"


@pytest.mark.parametrize("text", ["", "   ", "E", "the green van", "A or B", "option A and option B", None,
                                  "The answer is a dog"])
def test_option_not_named_or_out_of_range_or_ambiguous(text):
    assert parse_option(text, ["a blue bus", "the red car", "a cat", "a bird"]) is None


def test_option_without_option_texts_accepts_any_letter():
    assert parse_option("E.") == "E"
    assert parse_option("the red car") is None


def test_duplicate_option_texts_are_ambiguous():
    assert parse_option("yes", ["yes", "yes", "no"]) is None


adversarial = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", "<clue>", "</clue>", "<glue>",
                              "</glue>", "[", "]", "(", ")", ",", " to ", "nan", "inf", "-", "1e999", "12.5",
                              "-3", "1e7", "99999999", "B", "The answer is ", "option ", "<", ">", "/"]),
             max_size=60).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(adversarial)
def test_parse_never_raises_and_returns_finite_well_formed_values(text):
    prediction = parse_completion(text)
    assert prediction.raw == text
    for start, end in prediction.intervals or []:
        assert 0.0 <= start <= end <= 1e7
    for box in (prediction.boxes or []) + (prediction.track or []):
        assert len(box) == 4 and all(math.isfinite(value) and abs(value) <= 1e7 for value in box)
    for box in prediction.boxes or []:
        assert box[0] <= box[2] and box[1] <= box[3]
    assert parse_option(prediction.answer, ["x", "y"]) in (None, "A", "B")
    assert parse_option(text) is None or len(parse_option(text)) == 1


@pytest.mark.parametrize("garbage", [
    "< " * 500_000,
    "answer" + " " * 1_000_000 + "x",
    "<answer>" + "[(" * 300_000,
    "<clue>" + "[1," * 300_000 + "</clue>",
    "<think>" * 100_000 + "</answer>" * 10_000,
    "9" * 1_000_000 + " to 1",
    "<answer>" + "1 to " * 200_000 + "</answer>",
    "answer is " * 100_000,
], ids=["lone-brackets", "spaces-after-answer", "open-brackets", "unclosed-number-list", "stray-tags",
        "huge-digit-run", "many-to", "answer-is-repeated"])
def test_a_megabyte_of_garbage_parses_to_nothing_without_backtracking_blowup(garbage):
    # Quadratic regex backtracking on any of these would take hours, not the fraction of a second it takes.
    prediction = parse_completion(garbage)
    assert prediction.intervals is None and prediction.boxes is None
    parse_option(garbage, ["a", "b"])
