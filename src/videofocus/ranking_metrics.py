"""Ranked-retrieval metrics of one query, as QVHighlights' official evaluation defines them
(jayleicn/moment_detr standalone_eval/eval.py and utils.py), restated in plain Python:

- moment retrieval average precision (`compute_average_precision_detection`, the ActivityNet /
  MMAction2 detection AP): ranked windows against ground-truth windows at a tIoU threshold;
- highlight detection (`compute_hl_ap` / `get_ap`, `compute_hl_hit1`): clip saliency scores against
  one annotator's binarised clip labels.

The official script averages these per-query values over queries (metrics.py does the same).
"""

from __future__ import annotations

from collections.abc import Sequence

from videofocus.geometry import temporal_iou

# moment_detr `compute_mr_ap`: thresholds np.linspace(0.5, 0.95, 10) rounded to 2 decimals.
MR_IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * step, 2) for step in range(10))
MAX_RANKED_WINDOWS = 10  # `max_pred_windows`: only the first 10 windows of a prediction are ranked


def window_average_precision(windows: Sequence[tuple[float, float]], scores: Sequence[float],
                             gt_windows: Sequence[Sequence[float]], threshold: float) -> float:
    """AP of one query's ranked `windows` (confidence `scores`) against `gt_windows` at `threshold`.

    Windows are taken by decreasing score (ties keep their order, Python's sort being stable like
    the reference's list.sort). Each window matches the unmatched ground truth of highest IoU when
    that IoU ≥ threshold (ties between ground-truth windows go to the later one, as the reference's
    `argsort()[::-1]` has it), else it is a false positive. AP is the area under the precision-
    recall curve with precision made monotone from the right (`interpolated_precision_recall`).
    A reversed window has IoU 0."""
    if not windows or not gt_windows:
        return 0.0
    ranked = sorted(zip(windows, scores), key=lambda pair: -pair[1])
    matched: set[int] = set()
    hits = []
    for window, _ in ranked:
        ious = [temporal_iou([window], [gt]) for gt in gt_windows]
        hit = False
        for index in sorted(range(len(ious)), key=lambda i: (ious[i], i), reverse=True):
            if ious[index] < threshold:
                break
            if index not in matched:
                matched.add(index)
                hit = True
                break
        hits.append(hit)
    return _interpolated_ap(hits, len(gt_windows))


def _interpolated_ap(hits: Sequence[bool], positives: int) -> float:
    """VOC-2011 style AP of a ranked list of hits/misses with `positives` ground-truth items."""
    precisions, recalls, true_positives = [], [], 0
    for rank, hit in enumerate(hits, start=1):
        true_positives += hit
        precisions.append(true_positives / rank)
        recalls.append(true_positives / positives)
    precision = [0.0, *precisions, 0.0]
    recall = [0.0, *recalls, 1.0]
    for index in range(len(precision) - 2, -1, -1):
        precision[index] = max(precision[index], precision[index + 1])
    return sum((recall[i] - recall[i - 1]) * precision[i] for i in range(1, len(recall)) if recall[i] != recall[i - 1])


def mean_window_ap(windows: Sequence[tuple[float, float]], scores: Sequence[float],
                   gt_windows: Sequence[Sequence[float]]) -> dict[float, float]:
    """`window_average_precision` at each of MR_IOU_THRESHOLDS, over the first MAX_RANKED_WINDOWS."""
    windows, scores = list(windows)[:MAX_RANKED_WINDOWS], list(scores)[:MAX_RANKED_WINDOWS]
    return {threshold: window_average_precision(windows, scores, gt_windows, threshold)
            for threshold in MR_IOU_THRESHOLDS}


def saliency_average_precision(labels: Sequence[int], scores: Sequence[float]) -> float:
    """moment_detr utils.py `get_ap` (interpolate=True, not 11-point) of clip `scores` against 0/1
    `labels`: 1.0 when every label is 1, 0.0 when every label is 0. Otherwise the precision-recall
    curve at each distinct score (sklearn `precision_recall_curve` semantics), each precision
    replaced by the best precision at equal or HIGHER recall (the reference's running max from the
    full-recall end), averaged over the points where recall first reaches each of its values."""
    if len(set(labels)) <= 1:
        return float(bool(labels) and labels[0] != 0)
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    points = []  # (true positives, false positives) at each distinct score, highest score first
    true_positives = false_positives = 0
    for rank, index in enumerate(order):
        true_positives += labels[index]
        false_positives += 1 - labels[index]
        if rank == len(order) - 1 or scores[order[rank + 1]] != scores[index]:
            points.append((true_positives, false_positives))
    positives = true_positives
    # sklearn's order: from the lowest threshold (full recall) up, then the (precision 1, recall 0) end.
    precision = [tp / (tp + fp) for tp, fp in reversed(points)] + [1.0]
    recall = [tp / positives for tp, _ in reversed(points)] + [0.0]
    for index in range(1, len(precision)):
        precision[index] = max(precision[index - 1], precision[index])
    chosen = [precision[i] for i in range(len(recall) - 1) if recall[i + 1] != recall[i]]
    return sum(chosen) / len(chosen)


def clip_labels(saliency_clip_ids: Sequence[int], saliency_scores: Sequence[Sequence[float]], num_clips: int,
                annotator: int, min_score: float) -> list[int]:
    """One annotator's 0/1 label of every clip of the video (`mk_gt_scores` then `>= min_score`):
    unlisted clips score 0."""
    labels = [0] * num_clips
    for clip, row in zip(saliency_clip_ids, saliency_scores):
        if clip < num_clips:
            labels[clip] = int(row[annotator] >= min_score)
    return labels


def fit_to_clips(scores: Sequence[float], num_clips: int) -> list[float]:
    """Predicted saliency cut or zero-padded to the video's clips (`compute_ap_from_tuple`)."""
    return [*scores[:num_clips], *[0.0] * (num_clips - len(scores))]


def hit_at_one(scores: Sequence[float], labels_by_annotator: Sequence[Sequence[int]]) -> float:
    """`compute_hl_hit1`: 1 when the top-scored clip (the first of equal maxima) is positive for any
    annotator; 0 when it lies past the video's clips."""
    top = max(range(len(scores)), key=lambda i: (scores[i], -i))
    return float(any(labels[top] for labels in labels_by_annotator if top < len(labels)))
