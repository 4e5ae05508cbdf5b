"""SFT targets: for every task and protocol, the target matches the task's format and earns every reward
its sample supports (it is what a perfect model writes)."""

from __future__ import annotations

import pytest

from videofocus.errors import DataError
from videofocus.rewards import compute_rewards
from videofocus.schema import parse_sample
from videofocus.tasks import get_task
from videofocus.train.targets import sft_target

VIDEO = {"type": "video", "path": "v.mp4", "duration": 12.0, "width": 64, "height": 48}
IMAGE = {"type": "image", "path": "i.png", "width": 640, "height": 480}
TRACK = [{"t": 0.5 * k, "box": [10.0 + k, 8.0, 30.0 + k, 20.0]} for k in range(8)]
SAMPLES = [
    {"id": "tg", "task": "temporal_grounding", "media": VIDEO, "question": "a door opens",
     "think": "It opens after the light.", "clue": {"intervals": [[2.5, 6.75]]}},
    {"id": "gqa", "task": "grounded_qa", "media": VIDEO, "question": "What opens?", "options": ["door", "box"],
     "answer": "A", "clue": {"intervals": [[1.0, 2.0], [4.0, 5.5]]}},
    {"id": "igqa", "task": "grounded_qa", "media": IMAGE, "question": "What is red?", "options": ["cup", "car"],
     "answer": "B", "clue": {"boxes": [[100.0, 50.0, 300.0, 200.0]]}},
    {"id": "mcq", "task": "mcq", "media": VIDEO, "question": "How many?", "options": ["1", "2", "3"], "answer": "C"},
    {"id": "track", "task": "tracking", "media": VIDEO, "question": "the ball", "clue": {"track": TRACK}},
    {"id": "ref", "task": "spatial_grounding", "media": IMAGE, "question": "the red car",
     "clue": {"boxes": [[100.0, 50.0, 300.0, 200.0]]}},
]


def _seen_at_half_size(box):   # a model that saw the 640 x 480 image at 320 x 240 writes boxes in those pixels
    return [value / 2 for value in box]


@pytest.mark.parametrize("protocol", ["videofocus", "videochat_r1", "videochat_r1_5"])
@pytest.mark.parametrize("record", SAMPLES, ids=[record["id"] for record in SAMPLES])
def test_target_has_the_format_and_earns_every_reward(record, protocol):
    sample = parse_sample(record)
    target = sft_target(sample, protocol=protocol, box_to_model=_seen_at_half_size)
    assert get_task(sample.task).format_ok(sample, target, protocol)
    if sample.media.type == "image":   # the reward wants original pixels back, as the trainer maps them
        target = target.replace("50.00, 25.00, 150.00, 100.00", "100.00, 50.00, 300.00, 200.00")
    result = compute_rewards(sample, target, protocol=protocol)
    assert min(result.values.values()) > 0.99, (target, result.values)
    if sample.think and protocol != "videochat_r1_5":
        assert f"<think>{sample.think}</think>" in target


def test_a_format_that_needs_a_clue_the_sample_lacks_gets_the_whole_video():
    sample = parse_sample(SAMPLES[3])
    assert sft_target(sample, protocol="videofocus") == "<think></think><clue>[(0.00, 12.00)]</clue><answer>C</answer>"


def test_a_sample_without_what_the_format_needs_is_a_data_error():
    record = {**SAMPLES[0], "clue": None}
    with pytest.raises(DataError, match="sample 'tg' has no annotation"):
        sft_target(parse_sample(record), protocol="videofocus")
