"""Completion parsing: every documented output form, the deliberate edge-case decisions, and
never raising on adversarial text."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from videofocus.parsing import MAX_CLUE_NUMBERS, Prediction, parse_completion, parse_option, same_text


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


def test_negative_starts_are_kept_as_the_model_wrote_them():
    # No official evaluation clips a prediction: [-1.5, 3] is penalised by its larger union.
    assert parse_completion("<clue>[(-1.5, 3), (2, 4)]</clue>").intervals == [(-1.5, 3.0), (2.0, 4.0)]


@pytest.mark.parametrize("clue, intervals", [
    ("[(9, 4), (1, 3)]", [(9.0, 4.0), (1.0, 3.0)]),
    ("[(1, 3), (9, 4)]", [(1.0, 3.0), (9.0, 4.0)]),
    ("[(-5, -2)]", [(-5.0, -2.0)]),
    ("9 to 4", [(9.0, 4.0)]),
])
def test_a_reversed_interval_stays_in_its_place_neither_swapped_nor_dropped(clue, intervals):
    # Dropping (9, 4) would make (1, 3) the top-1 interval the metrics score; swapping would reward it.
    assert parse_completion(f"<clue>{clue}</clue>").intervals == intervals


def test_a_reversed_box_leaves_no_boxes_but_keeps_its_frame_in_the_track():
    prediction = parse_completion("<clue>[[0, 0, 1, 1], [5, 5, 2, 2], [0, 0, 2, 2]]</clue>")
    assert prediction.boxes is None
    assert prediction.track == [[0.0, 0.0, 1.0, 1.0], [5.0, 5.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0]]


@pytest.mark.parametrize("clue, intervals", [
    ("12.5 to 17.0 and 20 to 25", [(12.5, 17.0), (20.0, 25.0)]),
    ("12.5s - 17s, 20s - 25s", [(12.5, 17.0), (20.0, 25.0)]),
    ("from 1 to 2; from 3 to 4; from 5 to 6", [(1.0, 2.0), (3.0, 4.0), (5.0, 6.0)]),
    ("0:12 to 0:17", [(12.0, 17.0)]),
    ("1:02.5-1:10", [(62.5, 70.0)]),
    ("[(0:12, 0:17), (1:00:00, 1:00:30)]", [(12.0, 17.0), (3600.0, 3630.0)]),
])
def test_bare_ranges_and_timestamps_are_intervals_in_seconds(clue, intervals):
    prediction = parse_completion(f"<clue>{clue}</clue>")
    assert (prediction.intervals, prediction.boxes, prediction.track) == (intervals, None, None)


def test_a_timestamp_answer_is_a_temporal_clue():
    assert parse_completion("<answer>0:12 to 0:17</answer>").intervals == [(12.0, 17.0)]


@pytest.mark.parametrize("clue", ["12 to 17 and 20", "1 to 2 3 4", "1 2 to 3 4",
                                  "0:01 0:02 0:03 0:04", "[0:01, 0:02, 0:03, 0:04]",
                                  "1:5 to 1:10", "0:75 to 1:00", "1:02:03:04 to 1:02:03:05"])
def test_a_mix_of_ranges_and_loose_numbers_or_a_malformed_time_is_unreadable(clue):
    prediction = parse_completion(f"<clue>{clue}</clue>")
    assert (prediction.intervals, prediction.boxes, prediction.track) == (None, None, None)


def test_four_bare_numbers_without_ranges_are_still_a_box():
    assert parse_completion("<clue>10 20 30 40</clue>").boxes == [[10.0, 20.0, 30.0, 40.0]]


@pytest.mark.parametrize("clue", ["[1, nan]", "[(0, inf)]", "[(0, 1e8)]", "[(0, 1e400)]", "[(1, 2, 3)]",
                                  "[(1, 2), (3,)]", "1 2 3", "no numbers here", ""])
def test_unreadable_clues_parse_to_nothing(clue):
    prediction = parse_completion(f"<clue>{clue}</clue><answer>A</answer>")
    assert (prediction.intervals, prediction.boxes, prediction.track) == (None, None, None)
    assert prediction.answer == "A"


@pytest.mark.parametrize("clue, intervals", [
    ("[1, [2, 3], 4]", [(2.0, 3.0)]),              # only the innermost group counts
    ("]] [1, 2] ]", [(1.0, 2.0)]),                 # a closing bracket with none open closes nothing
    ("[1, 2) (3, 4]", [(1.0, 2.0), (3.0, 4.0)]),   # any opening bracket pairs with any closing one
    ("[5, [] 6] 1 to 2", [(1.0, 2.0)]),            # an empty pair still makes its group hold a group
    ("[1, 2] 3 to 4", [(1.0, 2.0)]),               # bare numbers count only without bracketed groups
    ("1 [2 [] 3] - 4", [(1.0, 4.0)]),              # bracketed numbers between two bare ones: no range
    ("1 - 2 3 - 4", [(1.0, 2.0), (3.0, 4.0)]),
    ("1 #- 2 3 - 4", None),                        # "#- " joins no range: a mix of ranges and loose numbers
    ("[1 # 2] # [3, 4]", [(1.0, 2.0), (3.0, 4.0)]),
    ("1 $ 2", [(1.0, 2.0)]),
])
def test_brackets_and_separators_group_numbers(clue, intervals):
    assert parse_completion(f"<clue>{clue}</clue>").intervals == intervals


def test_a_clue_block_with_numbers_but_no_clue_is_not_replaced_by_the_answer():
    assert parse_completion("<clue>1 [2 3 - 4</clue><answer>5 to 6</answer>").intervals is None
    assert parse_completion("<clue>no numbers</clue><answer>5 to 6</answer>").intervals == [(5.0, 6.0)]


def test_clue_size_is_bounded():
    boxes = ", ".join(["[0, 0, 1, 1]"] * (MAX_CLUE_NUMBERS // 4))
    assert len(parse_completion(f"<clue>[{boxes}]</clue>").track) == MAX_CLUE_NUMBERS // 4
    assert parse_completion(f"<clue>[{boxes}, [0, 0, 1, 1]]</clue>").track is None


def test_long_and_pathological_text_reads_as_short_text_does():
    junk = "".join(chr(0x4E00 + index % 2000) for index in range(100_000))   # 100 kB, no clue, no option
    prediction = parse_completion(junk)
    assert prediction.answer == junk and not prediction.has_clue
    assert parse_option(junk, ["a", "b"]) is None
    assert parse_option(junk + " The answer is B.", ["a", "b"]) == "B"
    qwen_boxes = ", ".join('{"bbox_2d": [1, 2, 3, 4], "label": "x"}' for _ in range(2000))
    assert parse_completion(f"<answer>[{qwen_boxes}]</answer>").boxes == [[1.0, 2.0, 3.0, 4.0]] * 2000
    nested = "(" * 50_000 + "1, 2" + ")" * 50_000
    assert parse_completion(f"<clue>{nested}</clue>").intervals == [(1.0, 2.0)]


def test_letters_that_fold_to_ascii_read_as_before():
    # Case-insensitive matching folds "ſ" to "s" and "ı" to "i": the fast pre-scans must too.
    assert parse_completion("<answer>from 12.5 to 17.8 ſeconds.</answer>").intervals == [(12.5, 17.8)]
    assert parse_option("I chooſe B") == "B" and parse_option("ſelect C.") == "C"
    assert parse_completion("<clue>[(1, ınf)]</clue>").intervals is None


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


OPTIONS = ["a blue bus", "the red car", "a cat", "a dog"]


@pytest.mark.parametrize("text", ["B", "(B)", "[B]", "B.", "B:", "B)", "b", "B. the red car", "(B) the red car",
                                  "The answer is B", "The answer is (B).", "Answer: B", "I pick option B",
                                  "the red car", "The Red Car!", "Option A is wrong, so the answer is B.",
                                  "**B**", "**B.** the red car", "B, the red car", "B - the red car",
                                  "b the red car", "answer: b", "b) the red car", "(b) the red car",
                                  "The correct option is B.", "I choose B.", "The answer is B, because it is red.",
                                  "The answer is B\nbecause it is red", "The answer is: the red car.",
                                  "I choose the red car", "The answer is A. No: the answer is B the red car"])
def test_option_spellings(text):
    assert parse_option(text, OPTIONS) == "B"


@pytest.mark.parametrize("text", ["", "   ", "E", "the green van", "A or B", "option A and option B", None,
                                  "The answer is a dog", "I think a dog is sleeping", "I choose a dog",
                                  "The answer is B because it is red", "The answer is A or B.", "A, B",
                                  "B, the blue bus", "B - a cat"])
def test_option_not_named_or_out_of_range_or_ambiguous(text):
    assert parse_option(text, ["a blue bus", "the red car", "a cat", "a bird"]) is None


@pytest.mark.parametrize("text", ["The answer is A dog sleeping.", "Answer: A dog sleeping", "A dog sleeping"])
@pytest.mark.parametrize("option_a", ["a cat", "dog sleeping"])
def test_an_option_text_wins_over_a_letter_read_out_of_it(text, option_a):
    assert parse_option(text, [option_a, "A dog sleeping", "a bird"]) == "B"


def test_a_letter_after_a_cue_counts_with_its_own_option_text():
    assert parse_option("The answer is A dog sleeping", ["dog sleeping", "a cat"]) == "A"


def test_option_without_option_texts_accepts_any_letter():
    assert parse_option("E.") == "E"
    assert parse_option("the red car") is None


def test_long_answers_compare_with_option_texts_as_short_ones_do():
    padding = "!?" * 25_000
    assert parse_option(padding + "Red car" + padding, ["a cat", "red car"]) == "B"
    assert parse_option("The answer is " + padding + "red car", ["a cat", "red car"]) == "B"
    assert parse_option("red car " * 10_000, ["red car", "a cat"]) is None
    assert parse_option("İ", ["i̇", "İ"]) == "B"   # "İ" lower-cases to two characters, "i" and a dot


def test_same_text_ignores_case_and_punctuation_only():
    assert same_text("..." * 30_000 + "Dancing!" + "..." * 30_000, "dancing")
    assert not same_text("dancing " * 20_000, "dancing")
    assert same_text("", "!!") and not same_text("a", "")


def test_duplicate_option_texts_are_ambiguous():
    assert parse_option("yes", ["yes", "yes", "no"]) is None


adversarial = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", "<clue>", "</clue>", "<glue>",
                              "</glue>", "[", "]", "(", ")", ",", " to ", "nan", "inf", "-", "1e999", "12.5",
                              "-3", "1e7", "99999999", "B", "The answer is ", "option ", "<", ">", "/", ":", "0:12",
                              "1:02:03", " and ", "**", "b) ", "I choose ", "a "]),
             max_size=60).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(adversarial)
def test_parse_never_raises_and_returns_finite_well_formed_values(text):
    prediction = parse_completion(text)
    assert prediction.raw == text
    for interval in prediction.intervals or []:  # kept as written: negative or reversed ones too
        assert len(interval) == 2 and all(math.isfinite(value) and abs(value) <= 1e7 for value in interval)
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
    "answer a " * 100_000,
    "<clue>" + "1:" * 500_000 + "1</clue>",
    "<clue>" + "9" * 100_000 + ":00 to 0:01</clue>",
], ids=["lone-brackets", "spaces-after-answer", "open-brackets", "unclosed-number-list", "stray-tags",
        "huge-digit-run", "many-to", "answer-is-repeated", "answer-letter-repeated", "colon-run", "huge-minutes"])
def test_a_megabyte_of_garbage_parses_to_nothing_without_backtracking_blowup(garbage):
    # Quadratic regex backtracking on any of these would take hours, not the fraction of a second it takes.
    prediction = parse_completion(garbage)
    assert prediction.intervals is None and prediction.boxes is None
    parse_option(garbage, ["a", "b"])
