"""Focused re-sampling in temporal pairs, interval clipping, and image crops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from perception_helpers import synthetic_info, write_image
from PIL import Image

from videofocus.errors import MediaError
from videofocus.media.sampling import uniform_indices
from videofocus.perception.views import ImageSource, clip_intervals, focused_pair_indices

INFO = synthetic_info(num_frames=300, fps=10.0)  # 30 s


def pairs(indices) -> list[tuple[int, int]]:
    indices = list(indices)
    return [(indices[i], indices[min(i + 1, len(indices) - 1)]) for i in range(0, len(indices), 2)]


intervals_strategy = st.lists(
    st.tuples(st.floats(0, 29), st.floats(0.3, 12)).map(lambda pair: (pair[0], min(30.0, pair[0] + pair[1]))),
    min_size=1, max_size=3)


@settings(max_examples=60, deadline=None)
@given(budget=st.integers(4, 64), intervals=intervals_strategy, key_ratio=st.sampled_from([0.25, 0.5, 0.75]))
def test_focused_frames_are_time_ordered_pairs_that_keep_previous_pairs_whole(budget, intervals, key_ratio):
    previous = uniform_indices(INFO, budget)
    frames = focused_pair_indices(INFO, budget, intervals, key_ratio, previous)
    assert len(frames) % 2 == 0 and len(frames) <= 2 * -(-budget // 2)
    assert np.all(np.diff(frames) >= 0) and frames.min() >= 0 and frames.max() < INFO.num_frames
    # every old pair that lies wholly outside the clue and was chosen is an aligned pair
    outside_old = {pair for pair in pairs(previous)
                   if not any(INFO.frame_times[pair[0]] <= e and s <= INFO.frame_times[pair[1]] for s, e in intervals)}
    chosen = set(pairs(frames))
    firsts = {first for first, _ in pairs(frames)}
    for pair in outside_old:
        if pair[0] in firsts:
            assert pair in chosen


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
