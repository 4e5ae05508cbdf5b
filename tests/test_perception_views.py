"""Focused re-sampling in temporal pairs, interval clipping, and image crops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from perception_helpers import synthetic_info, write_image
from PIL import Image

from videofocus.errors import MediaError
from videofocus.media.sampling import clue_mask, fps_indices, uniform_indices
from videofocus.media.pairs import focused_pair_indices
from videofocus.perception.views import ImageSource, clip_intervals

INFO = synthetic_info(num_frames=300, fps=10.0)  # 30 s


def pairs(indices) -> list[tuple[int, int]]:
    indices = list(indices)
    return [(indices[i], indices[min(i + 1, len(indices) - 1)]) for i in range(0, len(indices), 2)]


@st.composite
def focus_cases(draw):
    """A video, 1-3 clue intervals (short, at either end or anywhere), a budget that may be odd or
    exceed the video, and a key ratio in [0, 1]."""
    fps = draw(st.sampled_from([2.0, 4.0, 10.0, 30.0]))
    info = synthetic_info(num_frames=draw(st.integers(4, 900)), fps=fps)
    duration = info.duration

    def interval() -> tuple[float, float]:
        kind = draw(st.sampled_from(["short", "start", "end", "anywhere"]))
        length = draw(st.floats(0.0, 2.5 / fps) if kind == "short" else st.floats(0.01, duration))
        if kind == "start":
            return 0.0, length
        if kind == "end":
            return duration - length, duration
        start = draw(st.floats(0.0, duration, exclude_max=True))
        return start, min(duration, start + length)

    intervals = [interval() for _ in range(draw(st.integers(1, 3)))]
    budget = draw(st.integers(1, info.num_frames + 3))
    key_ratio = draw(st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0)))
    return info, intervals, budget, key_ratio


@settings(max_examples=150, deadline=None)
@given(case=focus_cases())
def test_focused_rounds_keep_the_budget_with_unique_time_ordered_frames(case):
    info, intervals, budget, key_ratio = case
    first = uniform_indices(info, budget)
    second = focused_pair_indices(info, len(first), intervals, key_ratio, first)
    third = focused_pair_indices(info, len(first), intervals, key_ratio, second)
    in_clue = clue_mask(info, intervals)
    runs = len(np.flatnonzero(np.diff(np.concatenate([[0], in_clue.astype(int), [0]])))) // 2
    wanted_inside = min(max(round(key_ratio * len(first)), len(first) - int((~in_clue).sum())), int(in_clue.sum()))
    for frames in (second, third):
        assert len(frames) == len(first) == min(budget, info.num_frames)
        assert np.all(np.diff(frames) > 0) and frames[0] >= 0 and frames[-1] < info.num_frames
        # the clue's share, to within the rounding to pairs and a neighbour borrowed per run of clue frames
        assert abs(int(in_clue[frames].sum()) - wanted_inside) <= 2 + runs
        if key_ratio == 1.0 and in_clue.sum() >= len(first):
            assert (~in_clue[frames]).sum() <= runs


def test_a_short_clue_leaves_its_unused_share_to_round_one_pairs_outside():
    info = synthetic_info(num_frames=5400, fps=30.0)  # 180 s, sampled at 2 fps: 360 frames
    first = fps_indices(info, fps=2.0, max_frames=768)
    second = focused_pair_indices(info, len(first), [(60.0, 62.0)], 0.5, first)
    in_clue = clue_mask(info, [(60.0, 62.0)])
    assert len(first) == len(second) == 360
    assert in_clue[second].sum() == in_clue.sum() == 61  # every frame of the 2 s clue
    old_pairs = set(pairs(first))
    outside = [pair for pair in pairs(second) if not in_clue[pair[0]:pair[1] + 1].any()]
    assert len(outside) == 360 // 2 - 31 and set(outside) <= old_pairs  # reused whole, aligned on pairs


def test_a_repeated_clue_gives_the_same_frames_again():
    first = uniform_indices(INFO, 40)
    for intervals in ([(10.0, 14.0)], [(0.0, 0.4)], [(3.0, 3.2), (20.0, 29.9)]):
        second = focused_pair_indices(INFO, 40, intervals, 0.5, first)
        np.testing.assert_array_equal(focused_pair_indices(INFO, 40, intervals, 0.5, second), second)


def test_a_video_within_the_budget_is_shown_whole():
    info = synthetic_info(num_frames=60, fps=2.0)
    frames = focused_pair_indices(info, 60, [(6.0, 12.0)], 0.5, np.arange(60))
    np.testing.assert_array_equal(frames, np.arange(60))


def test_dense_frames_are_evenly_spread_inside_the_clue():
    previous = uniform_indices(INFO, 32)
    frames = focused_pair_indices(INFO, 32, [(10.0, 14.0)], 0.5, previous)
    times = INFO.frame_times[frames]
    inside = times[(times >= 10.0) & (times <= 14.0)]
    assert len(inside) >= 16
    steps = np.diff(inside)
    assert steps.max() - steps.min() <= 0.11  # one frame (0.1 s) of rounding at most
    assert inside[0] == pytest.approx(10.0) and inside[-1] == pytest.approx(14.0)


def test_most_outside_frames_come_from_the_previous_round():
    previous = uniform_indices(INFO, 32)
    frames = focused_pair_indices(INFO, 32, [(10.0, 14.0)], 0.5, previous)
    times = INFO.frame_times[frames]
    outside = frames[(times < 10.0) | (times > 14.0)]
    assert np.isin(outside, previous).mean() == 1.0


def test_a_clue_outside_the_video_is_a_media_error():
    with pytest.raises(MediaError, match="outside the video"):
        focused_pair_indices(INFO, 16, [(40.0, 50.0)], 0.5, uniform_indices(INFO, 16))


def test_clip_intervals_keeps_only_the_parts_inside_the_video():
    assert clip_intervals([(-3.0, 2.0), (28.0, 35.0), (40.0, 41.0), (5.0, 5.0)], 30.0) == [(0.0, 2.0), (28.0, 30.0)]


def test_image_view_crops_each_box_with_its_margin(tmp_path):
    source = ImageSource.open(write_image(tmp_path / "a.png", width=400, height=300))
    view = source.view([[100, 100, 200, 150]], margin=0.1)
    assert len(view.images) == 2 and view.images[0].size == (400, 300)
    assert view.crops == [(90.0, 95.0, 210.0, 155.0)]
    assert view.images[1].size == (120, 60)
    expected = np.asarray(source.image.crop((90, 95, 210, 155)))
    np.testing.assert_array_equal(np.asarray(view.images[1]), expected)


def test_clip_boxes_drops_boxes_without_area_inside_the_image():
    source = ImageSource(Image.new("RGB", (100, 50)))
    assert source.clip_boxes([[-10, -10, 20, 20], [120, 10, 150, 40], [10, 60, 20, 70]]) == [[0.0, 0.0, 20, 20]]
