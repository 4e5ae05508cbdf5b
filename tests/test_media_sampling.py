"""Frame sampling (uniform, fps, clue-focused with reuse) and the Qwen pixel budget."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from media_helpers import info_from_times

from videofocus.media.budget import (FRAME_FACTOR, VIDEO_MAX_PIXELS, VIDEO_MIN_PIXELS, VIDEO_TOTAL_PIXELS,
                                     PixelBudget, clip_frame_size, frame_size, max_frames)
from videofocus.media.sampling import clue_mask, focused_indices, fps_indices, uniform_indices

CFR_30S = info_from_times(np.arange(300) / 10.0)  # 30 s at 10 fps


def _sorted_unique_in_range(indices, info):
    return (np.all(np.diff(indices) > 0) and indices.dtype == np.int64
            and indices.min() >= 0 and indices.max() < info.num_frames)


def test_uniform_on_constant_rate_matches_qwen_linspace():
    for count in (2, 7, 16, 64):
        positions = np.linspace(0, 299, count)
        picked = uniform_indices(CFR_30S, count)
        ties = np.isclose(positions % 1, 0.5)  # halfway between two frames: either is right
        assert picked[~ties].tolist() == positions[~ties].round().astype(int).tolist()
        assert np.all(np.abs(picked[ties] - positions[ties]) == 0.5)


def test_uniform_spaces_variable_frame_rate_by_time_not_by_index():
    # 100 frames crammed into the first second, then one frame a second up to 10 s.
    times = np.concatenate([np.arange(100) / 100.0, np.arange(1, 11, dtype=float)])
    info = info_from_times(times, duration=11.0)
    indices = uniform_indices(info, 11)
    assert len(indices) == 11 and _sorted_unique_in_range(indices, info)
    chosen = info.frame_times[indices]
    assert np.sum(chosen < 1.0) <= 2  # by index, 9 of the 11 would fall in the first second
    assert np.max(np.diff(chosen)) <= 1.0 + 1e-9


def test_uniform_gives_all_frames_of_a_short_video_and_fills_snapped_duplicates():
    info = info_from_times([0.0, 0.01, 0.02, 5.0, 10.0], duration=10.5)
    assert uniform_indices(info, 50).tolist() == [0, 1, 2, 3, 4]
    # Four evenly spaced targets snap to frames 0, 3 (twice) and 4: the duplicate is replaced.
    picked = uniform_indices(info, 4)
    assert len(picked) == 4 and _sorted_unique_in_range(picked, info)


def test_fps_follows_qwen_frame_count_rule():
    assert len(fps_indices(CFR_30S, fps=2.0)) == 60
    assert len(fps_indices(CFR_30S, fps=0.05)) == 4            # clamped up to min_frames
    assert len(fps_indices(CFR_30S, fps=2.0, max_frames=31)) == 30  # max rounded down to even
    assert len(fps_indices(CFR_30S, fps=0.25)) == 6            # 7.5 -> even 6
    assert len(fps_indices(info_from_times([0.0, 0.5, 1.0]), fps=2.0)) == 2  # never more than the video
    assert fps_indices(info_from_times([0.0]), fps=2.0).tolist() == [0]


def test_focused_puts_key_ratio_inside_and_spreads_the_rest_outside():
    indices = focused_indices(CFR_30S, 16, [(10.0, 15.0)], key_ratio=0.5)
    times = CFR_30S.frame_times[indices]
    assert len(indices) == 16 and _sorted_unique_in_range(indices, CFR_30S)
    inside = times[(times >= 10.0) & (times <= 15.0)]
    outside = times[(times < 10.0) | (times > 15.0)]
    assert len(inside) == 8 and inside[0] == 10.0 and inside[-1] == 15.0
    np.testing.assert_allclose(np.diff(inside), 5.0 / 7, atol=0.1)  # dense: every ~0.7 s, to a frame
    # Outside: 8 frames evenly over the 25 s that remain (gap of ~3.6 s, the clue cut out).
    cut = np.where(outside > 15.0, outside - 5.0, outside)
    np.testing.assert_allclose(np.diff(cut), 25.0 / 7, atol=0.1)


def test_focused_budget_moves_to_the_side_that_can_use_it():
    point = focused_indices(CFR_30S, 16, [(12.34, 12.34)])       # a point-like clue: one frame shows it
    assert len(point) == 16 and np.flatnonzero(clue_mask(CFR_30S, [(12.34, 12.34)])[point]).size == 1
    assert 123 in point.tolist()  # the frame at 12.3 s is on screen at 12.34 s
    everything = focused_indices(CFR_30S, 16, [(0.0, 30.0)])     # no frame outside: all 16 inside
    assert everything.tolist() == uniform_indices(CFR_30S, 16).tolist()
    assert not clue_mask(CFR_30S, [(10.0, 15.0)])[focused_indices(CFR_30S, 16, [(10.0, 15.0)], key_ratio=0.0)].any()
    assert clue_mask(CFR_30S, [(10.0, 15.0)])[focused_indices(CFR_30S, 16, [(10.0, 15.0)], key_ratio=1.0)].all()


def test_focused_splits_between_intervals_by_length_and_clips_to_the_video():
    indices = focused_indices(CFR_30S, 12, [(2.0, 4.0), (20.0, 24.0), (23.0, 24.0), (28.0, 99.0)],
                              key_ratio=1.0)
    times = CFR_30S.frame_times[indices]
    counts = [np.sum((times >= s) & (times <= e)) for s, e in [(2.0, 4.0), (20.0, 24.0), (28.0, 30.0)]]
    assert sum(counts) == 12 and counts == [3, 6, 3]  # 2 s : 4 s : 2 s (the last clipped at the end)


def test_clue_mask_marks_frames_shown_during_the_interval():
    mask = clue_mask(CFR_30S, [(1.05, 1.25)])
    assert np.flatnonzero(mask).tolist() == [10, 11, 12]  # 1.0 is still on screen at 1.05


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.floats(0.01, 2.0), min_size=1, max_size=120),
       count=st.integers(1, 150), ratio=st.floats(0.0, 1.0),
       start=st.floats(-5.0, 100.0), length=st.floats(0.0, 40.0))
def test_focused_always_gives_the_budget_sorted_and_unique(steps, count, ratio, start, length):
    info = info_from_times(np.concatenate([[0.0], np.cumsum(steps)]))
    if start >= info.duration or start + length < 0:
        return  # all outside: covered by the error tests
    indices = focused_indices(info, count, [(start, start + length)], key_ratio=ratio)
    assert len(indices) == min(count, info.num_frames)
    assert indices.size == 1 or _sorted_unique_in_range(indices, info)
    inside = clue_mask(info, [(start, start + length)])
    n_in = int(inside[indices].sum())
    target = round(ratio * len(indices))
    assert n_in == min(max(target, len(indices) - int((~inside).sum())), int(inside.sum()))


def _clue_at(where: str, at: float, fraction: float, duration: float) -> tuple[float, float]:
    """A clue `fraction` of the video long at its start, at its end, or starting `at` (a fraction)."""
    duration *= 1 - 1e-9  # a point clue must start before the end to catch a frame
    length = fraction * duration
    if where == "start":
        return 0.0, length
    if where == "end":
        return duration - length, duration
    return at * duration, min(duration, at * duration + length)


@settings(max_examples=60, deadline=None)
@given(num_frames=st.integers(2, 600), fps=st.sampled_from([2.0, 10.0, 30.0]), count=st.integers(1, 300),
       ratio=st.floats(0.0, 1.0), clues=st.lists(st.tuples(st.sampled_from(["start", "end", "inside"]),
                                                           st.floats(0.0, 1.0), st.floats(0.0, 0.3)),
                                                 min_size=1, max_size=3))
def test_focused_keeps_the_budget_for_short_edge_and_several_clues(num_frames, fps, count, ratio, clues):
    info = info_from_times(np.arange(num_frames) / fps, duration=num_frames / fps)
    intervals = [_clue_at(where, at, fraction, info.duration) for where, at, fraction in clues]
    indices = focused_indices(info, count, intervals, key_ratio=ratio)
    assert len(indices) == min(count, num_frames)
    assert indices.size == 1 or _sorted_unique_in_range(indices, info)


def test_budget_constants_and_frame_size_follow_qwen_vl_utils():
    vp = pytest.importorskip("qwen_vl_utils.vision_process")
    factor = 14 * vp.SPATIAL_MERGE_SIZE
    assert VIDEO_MIN_PIXELS == vp.VIDEO_MIN_TOKEN_NUM * factor**2
    assert VIDEO_MAX_PIXELS == vp.VIDEO_MAX_TOKEN_NUM * factor**2
    assert VIDEO_TOTAL_PIXELS == int(vp.MODEL_SEQ_LEN * factor**2 * 0.9)
    assert FRAME_FACTOR == vp.FRAME_FACTOR
    for (height, width), frames in [((720, 1280), 16), ((720, 1280), 768), ((1080, 1920), 300),
                                    ((360, 640), 2048), ((48, 64), 8), ((1920, 1080), 64)]:
        # fetch_video's rule, written out from its source.
        max_pixels = max(min(VIDEO_MAX_PIXELS, VIDEO_TOTAL_PIXELS / frames * vp.FRAME_FACTOR),
                         int(VIDEO_MIN_PIXELS * 1.05))
        expected = vp.smart_resize(height, width, factor=factor, min_pixels=VIDEO_MIN_PIXELS,
                                   max_pixels=max_pixels)
        assert frame_size(height, width, frames) == expected


def test_a_clip_with_an_odd_frame_count_is_sized_as_its_padded_pair_count():
    budget = PixelBudget(total_pixels=40 * VIDEO_MIN_PIXELS)
    for frames in (3, 7, 41):
        assert clip_frame_size(720, 1280, frames, budget) == frame_size(720, 1280, frames + 1, budget)
        assert clip_frame_size(720, 1280, frames + 1, budget) == frame_size(720, 1280, frames + 1, budget)
    assert frame_size(720, 1280, 41, budget) != frame_size(720, 1280, 42, budget)   # the padding matters here


def test_max_frames_is_the_largest_count_that_fits_the_total():
    budget = PixelBudget(total_pixels=40 * VIDEO_MIN_PIXELS)
    for height, width in [(720, 1280), (480, 640), (100, 3000)]:
        count = max_frames(height, width, budget)
        assert count % FRAME_FACTOR == 0

        def total(n):
            h, w = frame_size(height, width, n, budget)
            return math.ceil(n / FRAME_FACTOR) * h * w

        assert total(count) <= budget.total_pixels < total(count + FRAME_FACTOR)
