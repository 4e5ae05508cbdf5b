"""Interval and box geometry against values worked out by hand, plus range properties."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from videofocus.geometry import (box_area, box_iou, frame_ious, intersection_length, merge_intervals,
                                 temporal_iop, temporal_iou, total_length, track_iou, valid_box)


def test_merge_sorts_and_joins_overlapping_and_touching_intervals():
    assert merge_intervals([(5, 7), (0, 2), (1, 3), (3, 4)]) == [(0.0, 4.0), (5.0, 7.0)]


def test_merge_keeps_zero_length_points_unless_covered():
    assert merge_intervals([(2, 2), (0, 1)]) == [(0.0, 1.0), (2.0, 2.0)]
    assert merge_intervals([(0.5, 0.5), (0, 1)]) == [(0.0, 1.0)]


@pytest.mark.parametrize("bad", [(3, 1), (0, math.nan), (0, math.inf), (1,), (1, 2, 3), "12", None, ("a", "b")])
def test_merge_drops_invalid_pairs(bad):
    assert merge_intervals([bad, (0, 1)]) == [(0.0, 1.0)]


def test_iou_of_single_intervals():
    assert temporal_iou([(0, 10)], [(5, 15)]) == pytest.approx(5 / 15)
    assert temporal_iou([(0, 10)], [(0, 10)]) == 1.0
    assert temporal_iou([(0, 1)], [(2, 3)]) == 0.0


def test_touching_intervals_do_not_overlap():
    assert temporal_iou([(0, 2)], [(2, 4)]) == 0.0


def test_multi_interval_iou_merges_each_side_first():
    # pred covers [0, 3] (two overlapping pieces) and [6, 8]; gt covers [2, 7].
    # ∩ = [2, 3] + [6, 7] = 2; ∪ = [0, 8] = 8.
    pred, gt = [(0, 2), (1, 3), (6, 8)], [(2, 5), (4, 7)]
    assert intersection_length(pred, gt) == pytest.approx(2.0)
    assert temporal_iou(pred, gt) == pytest.approx(2 / 8)
    # Without merging, the duplicated overlap would be counted twice.
    assert temporal_iou([(0, 4), (0, 4)], [(0, 4)]) == 1.0


def test_zero_length_intervals_score_zero():
    assert temporal_iou([(3, 3)], [(3, 3)]) == 0.0
    assert temporal_iou([(3, 3)], [(0, 10)]) == 0.0
    assert temporal_iop([(3, 3)], [(0, 10)]) == 0.0


def test_iop_is_overlap_over_prediction():
    assert temporal_iop([(0, 4)], [(2, 10)]) == pytest.approx(0.5)
    assert temporal_iop([(2, 3)], [(0, 10)]) == 1.0


@pytest.mark.parametrize("empty", [None, [], [(2, 1)], [(math.nan, 1)]])
def test_empty_or_invalid_input_scores_zero(empty):
    assert temporal_iou(empty, [(0, 1)]) == 0.0
    assert temporal_iou([(0, 1)], empty) == 0.0
    assert temporal_iop(empty, [(0, 1)]) == 0.0
    assert total_length(empty) == 0.0


def test_box_iou_by_hand():
    assert box_iou([0, 0, 2, 2], [1, 1, 3, 3]) == pytest.approx(1 / 7)
    assert box_iou([0, 0, 2, 2], [0, 0, 2, 2]) == 1.0
    assert box_iou([0, 0, 4, 4], [1, 1, 3, 3]) == pytest.approx(4 / 16)


def test_boxes_that_do_not_overlap_or_only_touch_score_zero():
    assert box_iou([0, 0, 1, 1], [5, 5, 6, 6]) == 0.0
    assert box_iou([0, 0, 1, 1], [1, 0, 2, 1]) == 0.0


@pytest.mark.parametrize("degenerate", [[1, 1, 1, 1], [0, 0, 0, 5], [2, 0, 1, 1], [0, 0, 1], [0, 0, math.inf, 1], "0123"])
def test_degenerate_or_invalid_boxes_score_zero(degenerate):
    assert box_iou(degenerate, [0, 0, 2, 2]) == 0.0
    assert box_iou(degenerate, degenerate) == 0.0


def test_valid_box_and_area():
    assert valid_box((1, 2, 3, 4)) == [1.0, 2.0, 3.0, 4.0]
    assert valid_box([3, 0, 1, 1]) is None
    assert box_area([0, 0, 2, 3]) == 6.0
    assert box_area([2, 0, 1, 1]) == 0.0


def test_track_iou_counts_missing_frames_as_zero_and_ignores_extra_ones():
    gt = [[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 2, 2]]
    pred = [[0, 0, 2, 2], [1, 1, 3, 3]]
    assert frame_ious(pred, gt) == pytest.approx([1.0, 1 / 7, 0.0, 0.0])
    assert track_iou(pred, gt) == pytest.approx((1 + 1 / 7) / 4)
    assert track_iou(gt + [[9, 9, 10, 10]] * 3, gt) == 1.0
    assert track_iou(None, gt) == 0.0
    assert track_iou(pred, []) == 0.0


numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                    st.floats(-1e6, 1e6), st.integers(-10**30, 10**30))
intervals = st.lists(st.tuples(numbers, numbers), max_size=6)
boxes = st.lists(numbers, min_size=0, max_size=5)


@given(intervals, intervals)
def test_interval_scores_stay_in_unit_range(pred, gt):
    for score in (temporal_iou(pred, gt), temporal_iop(pred, gt)):
        assert 0.0 <= score <= 1.0


@given(intervals)
def test_merged_intervals_are_sorted_and_disjoint(pred):
    merged = merge_intervals(pred)
    for (start, end), (next_start, _) in zip(merged, merged[1:]):
        assert start <= end < next_start


@given(boxes, boxes)
def test_box_iou_stays_in_unit_range_and_is_symmetric(a, b):
    assert 0.0 <= box_iou(a, b) <= 1.0
    assert box_iou(a, b) == box_iou(b, a)
