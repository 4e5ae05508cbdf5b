"""Task registry: prompts per protocol, format regexes, clue kinds, and the ITP `previous` round."""

import pytest
from scoring_helpers import make_sample

from videofocus.errors import ConfigError, DataError
from videofocus.parsing import Prediction, parse_completion
from videofocus.schema import TASKS
from videofocus.tasks import PROTOCOLS, get_task, task_names

# A well-formed completion for each (task, protocol, media type), written the way the prompt asks.
GOOD = {
    ("temporal_grounding", "videofocus", "video"): "<think>late</think>\n<clue>[(6.00, 11.90), (20.5, 22)]</clue>",
    ("temporal_grounding", "videochat_r1", "video"): "<think>x <timestep>6.00 to 8.00</timestep></think><answer>6.00 to 11.90</answer>",
    ("temporal_grounding", "videochat_r1_5", "video"): "<answer>[(6.0, 11.9)]</answer>",
    ("grounded_qa", "videofocus", "video"): "<think>t</think><clue>[(2.0, 6.0)]</clue><answer>B</answer>",
    ("grounded_qa", "videofocus", "image"): "<think>t</think><clue>[10, 20, 30, 40]</clue><answer>(B)</answer>",
    ("grounded_qa", "videochat_r1", "video"): "<think>t</think><answer>B</answer><glue>[(2.0, 6.0)]</glue>",
    ("grounded_qa", "videochat_r1_5", "video"): "<answer>B</answer> <glue>[(2.0, 6.0)]</glue>",
    ("grounded_qa", "videochat_r1_5", "image"): "<answer>B</answer><glue>[10, 20, 30, 40]</glue>",
    ("mcq", "videofocus", "video"): "<think>t</think><clue>[(2, 6)]</clue><answer>C</answer>",
    ("mcq", "videochat_r1", "video"): "<think>t</think><answer>C.</answer>",
    ("mcq", "videochat_r1_5", "video"): "<answer>C</answer>",
    ("tracking", "videofocus", "video"): "<think>t</think><clue>[[0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1]]</clue>",
    ("tracking", "videochat_r1", "video"): "<think>t</think><answer>[[0.1, 0.5, 0.3, 0.55]]</answer>",
    ("tracking", "videochat_r1_5", "video"): "<answer>[[0.1, 0.5, 0.3, 0.55], [0.1, 0.5, 0.3, 0.55]]</answer>",
    ("spatial_grounding", "videofocus", "image"): "<think>t</think><clue>[100, 100, 300, 200]</clue>",
    ("spatial_grounding", "videochat_r1", "image"): "<think>t</think><answer>[100, 100, 300, 200]</answer>",
    ("caption", "videofocus", "video"): "<think>events</think><answer>A man walks in.</answer>",
    ("caption", "videochat_r1_5", "video"): "<answer>A man walks in.</answer>",
    ("classification", "videofocus", "video"): "<think>t</think><answer>yes</answer>",
}


def sample_for(task, medium):
    if medium == "image" and task in ("grounded_qa", "mcq"):
        return make_sample(task, media={"type": "image", "path": "i.jpg", "width": 64, "height": 64},
                           clue={"boxes": [[10, 20, 30, 40]]})
    return make_sample(task)


def test_every_schema_task_is_registered_with_every_protocol():
    assert task_names() == sorted(TASKS)
    for name in TASKS:
        task = get_task(name)
        assert task.name == name and set(PROTOCOLS) <= set(task.protocols)
        assert task.reward_names[0] == "format"


def test_tasks_name_benchmarks_that_the_metrics_define():
    from videofocus.metrics import BENCHMARKS

    for name in TASKS:
        assert set(get_task(name).benchmarks) <= set(BENCHMARKS)
    assert get_task("tracking").benchmarks == ("got10k",)


def test_unknown_task_and_protocol_are_config_errors():
    with pytest.raises(ConfigError, match="unknown task 'dance'.*temporal_grounding"):
        get_task("dance")
    with pytest.raises(ConfigError, match="unknown prompt protocol"):
        get_task("mcq").build_prompt(make_sample("mcq"), protocol="llava")


@pytest.mark.parametrize("key", sorted(GOOD), ids="-".join)
def test_well_formed_completions_match_the_format(key):
    task, protocol, medium = key
    assert get_task(task).format_ok(sample_for(task, medium), GOOD[key], protocol)


@pytest.mark.parametrize("completion", [
    "<clue>[(6.0, 11.9)]</clue>",                                  # no think
    "<think>x</think><clue>[(6.0, 11.9)]</clue> and more",           # trailing text
    "<clue>[(6.0, 11.9)]</clue><think>x</think>",                    # wrong order
    "<think>x</think><clue>6.0 to 11.9</clue>",                      # wrong clue notation
    "<think>x</think><clue>[(6.0, 11.9)]",                           # truncated
    "<think>x <think>y</think><clue>[(6.0, 11.9)]</clue>",           # nested tag in think
    "<think>x</think><clue>[(6.0, nan)]</clue>",
])
def test_malformed_completions_do_not_match(completion):
    assert not get_task("temporal_grounding").format_ok(make_sample("temporal_grounding"), completion)


def test_the_canonical_format_pattern_is_exposed_for_video():
    task = get_task("grounded_qa")
    assert task.format_pattern.fullmatch(GOOD[("grounded_qa", "videofocus", "video")])
    assert not task.format_pattern.fullmatch(GOOD[("grounded_qa", "videochat_r1", "video")])


@pytest.mark.parametrize("garbage", [
    "<think>" + " " * 1_000_000,
    "<think>x</think>" + " " * 500_000 + "<clue>" + " " * 500_000,
    "<think>x</think><clue>[(1, 2)" + ", (1, 2)" * 120_000 + " x",
    "<think>x</think><clue>[" + "[1, 2, 3, 4], " * 80_000,
    ("<think>" + "</think>" * 50_000) * 2,
], ids=["spaces", "spaces-between", "long-interval-list", "long-box-list", "many-closers"])
def test_format_regexes_stay_fast_on_a_megabyte_of_garbage(garbage):
    # Catastrophic backtracking would take minutes here; completing at all is the assertion.
    for name in ("temporal_grounding", "tracking", "grounded_qa"):
        assert not get_task(name).format_ok(make_sample(name), garbage)


def test_canonical_prompts_state_the_units():
    assert "seconds" in get_task("temporal_grounding").build_prompt(make_sample("temporal_grounding"))
    assert "30.00 seconds long" in get_task("temporal_grounding").build_prompt(make_sample("temporal_grounding"))
    assert "pixels of the image you see" in get_task("spatial_grounding").build_prompt(make_sample("spatial_grounding"))
    tracking_prompt = get_task("tracking").build_prompt(make_sample("tracking"))
    assert "normalised" in tracking_prompt and "4 frames" in tracking_prompt
    # The initial box [0, 0, 100, 50] of a 200x100 frame, normalised.
    assert "[0.00, 0.00, 0.50, 0.50]" in tracking_prompt


def test_prompts_carry_question_and_options():
    sample = make_sample("grounded_qa")
    canonical = get_task("grounded_qa").build_prompt(sample)
    assert "Why did he stop?" in canonical and "B. to eat" in canonical and "<clue>" in canonical
    released = get_task("grounded_qa").build_prompt(sample, protocol="videochat_r1")
    assert "Select the answer from :['(A) to rest', '(B) to eat', '(C) to call', '(D) to read']" in released
    assert "<glue>" in released and "<think>" in released
    r15_training = get_task("grounded_qa").build_prompt(sample, protocol="videochat_r1_5", stage="train")
    assert "<glue>" in r15_training and "<think>" not in r15_training
    assert "<think>" in get_task("grounded_qa").build_prompt(sample, protocol="videochat_r1_5")  # its NExT-GQA eval


def test_videochat_r1_prompts_ask_for_the_released_answer_forms():
    tg = get_task("temporal_grounding")
    sample = make_sample("temporal_grounding")
    assert '"start time to end time"' in tg.build_prompt(sample, protocol="videochat_r1")
    assert "[(s1, e1), (s2, e2), ...]" in tg.build_prompt(sample, protocol="videochat_r1_5")
    tracking_prompt = get_task("tracking").build_prompt(make_sample("tracking"), protocol="videochat_r1")
    assert "list containing 4 sublists" in tracking_prompt and "normalized coordinates" in tracking_prompt


def test_image_samples_get_box_clues():
    task = get_task("grounded_qa")
    image_sample = sample_for("grounded_qa", "image")
    assert task.clue_kind == "temporal" and task.clue_kind_for(image_sample) == "spatial"
    assert task.clue_kind_for(make_sample("grounded_qa")) == "temporal"
    assert "[x0, y0, x1, y1]" in task.build_prompt(image_sample)
    assert "content of the image" in task.build_prompt(image_sample, protocol="videochat_r1_5")


def test_caption_and_classification_prompts():
    assert get_task("caption").build_prompt(make_sample("caption")).startswith("Describe this video in detail.")
    mcq_like = make_sample("classification", options=["sharp", "blurry"], answer="B")
    assert "B. blurry" in get_task("classification").build_prompt(mcq_like)
    assert "class label" in get_task("classification").build_prompt(make_sample("classification"))


def test_previous_round_is_quoted_for_iterative_perception():
    task = get_task("grounded_qa")
    sample = make_sample("grounded_qa")
    previous = parse_completion("<think>He stops near the fridge.</think><clue>[(2.5, 7.25)]</clue><answer>B</answer>")
    prompt = task.build_prompt(sample, previous=previous)
    assert prompt.startswith(task.build_prompt(sample))
    assert "<think>He stops near the fridge.</think><clue>[(2.50, 7.25)]</clue><answer>B</answer>" in prompt
    assert "re-sampled" in prompt
    unreadable = task.build_prompt(sample, previous=Prediction(raw="???"))
    assert "(no readable output)" in unreadable


def test_previous_box_clue_is_quoted_in_protocol_notation():
    prompt = get_task("spatial_grounding").build_prompt(
        make_sample("spatial_grounding"), previous=parse_completion("<clue>[1, 2, 3.5, 4]</clue>"))
    assert "<clue>[1.00, 2.00, 3.50, 4.00]</clue>" in prompt


def test_tracking_prompt_needs_the_frame_size_and_a_start_box():
    no_size = make_sample("tracking", media={"type": "video", "path": "v.mp4"})
    with pytest.raises(DataError, match="media.width"):
        get_task("tracking").build_prompt(no_size)
    with pytest.raises(DataError, match="clue.track"):
        get_task("tracking").build_prompt(make_sample("tracking", clue=None))
