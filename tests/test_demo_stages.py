"""The demo's video-blind grounding baseline: the one interval that scores best on the training set."""

from __future__ import annotations

import pytest

from videofocus.demo.stages import constant_interval_miou
from videofocus.schema import parse_sample


def _grounding(index: int, interval: tuple[float, float], duration: float = 8.0):
    return parse_sample({"id": f"tg/{index}", "task": "temporal_grounding", "question": "the square",
                         "media": {"type": "video", "path": "v.mp4", "duration": duration},
                         "clue": {"intervals": [list(interval)]}}, path="<test>")


def test_the_constant_is_chosen_on_train_and_scored_on_test():
    train = [_grounding(0, (2.0, 4.0)), _grounding(1, (2.0, 4.0)), _grounding(2, (6.0, 7.0))]
    assert constant_interval_miou(train, [_grounding(3, (2.0, 4.0))]) == pytest.approx(100.0)
    # (2, 4) against (3, 5): overlap 1 s of a 3 s union.
    assert constant_interval_miou(train, [_grounding(4, (3.0, 5.0))]) == pytest.approx(100 / 3)


def test_the_constant_has_its_ends_on_a_half_second_grid():
    train = [_grounding(0, (1.2, 2.7), duration=3.0)]
    # Of the half-second intervals, (1.0, 2.5) fits (1.2, 2.7) best: IoU 1.3 / 1.7.
    assert constant_interval_miou(train, train) == pytest.approx(100 * 1.3 / 1.7)
