"""Interval and box geometry for rewards and metrics: merging, IoU, IoP. Pure Python, no torch.

Intervals are (start, end) pairs in seconds; boxes are [x0, y0, x1, y1]. Every function takes
untrusted values (parsed model output) and never raises on them: a pair or box that is not made of
finite numbers, or whose end lies before its start, is invalid. Invalid intervals are dropped
before merging; an invalid box scores 0. Empty or all-invalid input scores 0.0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

Interval = tuple[float, float]


def _finite_numbers(values: object, count: int) -> list[float] | None:
    """`values` as `count` finite floats, or None when it is anything else."""
    if isinstance(values, (str, bytes)):  # iterating "12" would read as the pair (1, 2)
        return None
    try:
        numbers = [float(value) for value in values]  # type: ignore[union-attr]
    except (TypeError, ValueError, OverflowError):
        return None
    if len(numbers) != count or not all(math.isfinite(number) for number in numbers):
        return None
    return numbers


def _valid_interval(pair: object) -> Interval | None:
    numbers = _finite_numbers(pair, 2)
    if numbers is None or numbers[1] < numbers[0]:
        return None
    return numbers[0], numbers[1]


def merge_intervals(intervals: Iterable[object] | None) -> list[Interval]:
    """Sorted union of the valid intervals: overlapping or touching ones become one.

    Zero-length intervals are kept (they are valid points in time) unless another interval covers
    them. Invalid pairs (non-finite, end < start, not two numbers) are dropped."""
    valid = sorted(pair for pair in map(_valid_interval, intervals or []) if pair is not None)
    merged: list[Interval] = []
    for start, end in valid:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def total_length(intervals: Iterable[object] | None) -> float:
    """Length of the union of the intervals (overlaps counted once)."""
    return sum(end - start for start, end in merge_intervals(intervals))


def _intersection_length(a: Sequence[Interval], b: Sequence[Interval]) -> float:
    """Overlap between two merged (sorted, disjoint) interval lists, by a linear sweep."""
    overlap, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        overlap += max(0.0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return overlap


def intersection_length(pred: Iterable[object] | None, gt: Iterable[object] | None) -> float:
    """|pred ∩ gt| in seconds, each side merged first."""
    return _intersection_length(merge_intervals(pred), merge_intervals(gt))


def temporal_iou(pred: Iterable[object] | None, gt: Iterable[object] | None) -> float:
    """|pred ∩ gt| / |pred ∪ gt| of the merged interval sets; 0.0 when the union has no length."""
    merged_pred, merged_gt = merge_intervals(pred), merge_intervals(gt)
    overlap = _intersection_length(merged_pred, merged_gt)
    union = total_length(merged_pred) + total_length(merged_gt) - overlap
    return _ratio(overlap, union)


def temporal_iop(pred: Iterable[object] | None, gt: Iterable[object] | None) -> float:
    """Intersection over prediction |pred ∩ gt| / |pred| (NExT-GQA); 0.0 when pred has no length."""
    merged_pred = merge_intervals(pred)
    return _ratio(_intersection_length(merged_pred, merge_intervals(gt)), total_length(merged_pred))


def valid_box(box: object) -> list[float] | None:
    """`box` as [x0, y0, x1, y1] floats when it is four finite numbers with x0 <= x1, y0 <= y1."""
    numbers = _finite_numbers(box, 4)
    if numbers is None or numbers[2] < numbers[0] or numbers[3] < numbers[1]:
        return None
    return numbers


def box_area(box: object) -> float:
    """Area of a valid box, 0.0 for an invalid one."""
    numbers = valid_box(box)
    return 0.0 if numbers is None else (numbers[2] - numbers[0]) * (numbers[3] - numbers[1])


def box_iou(a: object, b: object) -> float:
    """Intersection over union of two boxes; 0.0 when either is invalid or the union has no area."""
    return _valid_box_iou(valid_box(a), valid_box(b))


def _valid_box_iou(a: list[float] | None, b: list[float] | None) -> float:
    """`box_iou` of two boxes already checked by `valid_box` (None: invalid)."""
    if a is None or b is None:
        return 0.0
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    overlap = max(0.0, width) * max(0.0, height)
    return _ratio(overlap, (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap)


def matched_box_iou(pred_boxes: Sequence[object] | None, gt_boxes: Sequence[object] | None) -> float:
    """IoU of box sets: greedy one-to-one matching by IoU, the matched IoUs summed and divided by the
    larger of the two counts, so extra or missing boxes cost. One box each: plain `box_iou`."""
    pred_boxes, gt_boxes = list(pred_boxes or []), list(gt_boxes or [])
    if not pred_boxes or not gt_boxes:
        return 0.0
    valid_pred, valid_gt = [valid_box(box) for box in pred_boxes], [valid_box(box) for box in gt_boxes]
    pairs = sorted(((_valid_box_iou(pred, gt), i, j) for i, pred in enumerate(valid_pred)
                    for j, gt in enumerate(valid_gt)), reverse=True)
    used_pred, used_gt, total = set(), set(), 0.0
    for iou, i, j in pairs:
        if iou > 0 and i not in used_pred and j not in used_gt:
            used_pred.add(i)
            used_gt.add(j)
            total += iou
    return _ratio(total, max(len(pred_boxes), len(gt_boxes)))


def frame_ious(pred_track: Sequence[object] | None, gt_track: Sequence[object]) -> list[float]:
    """Box IoU for each ground-truth frame, matched by position; a missing predicted frame scores 0.
    Predicted frames beyond the ground truth are ignored."""
    pred_track = list(pred_track or [])
    return [box_iou(pred_track[i], gt_box) if i < len(pred_track) else 0.0
            for i, gt_box in enumerate(gt_track)]


def track_iou(pred_track: Sequence[object] | None, gt_track: Sequence[object]) -> float:
    """Mean of `frame_ious` over the ground-truth frames; 0.0 for an empty ground truth."""
    ious = frame_ious(pred_track, gt_track)
    return sum(ious) / len(ious) if ious else 0.0


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator clamped to [0, 1]; 0.0 for a non-positive or non-finite denominator."""
    if not denominator > 0 or not math.isfinite(denominator):
        return 0.0
    return min(1.0, max(0.0, numerator / denominator))
