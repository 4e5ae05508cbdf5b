"""QVHighlights moment retrieval mAP and highlight detection, against values worked out by hand
from the official logic (jayleicn/moment_detr standalone_eval/eval.py and utils.py). The whole
benchmark was also checked against the official script's own numbers on its sample submission
(docs/metrics.md, benchmarks/qvhighlights_official_check.py)."""

from __future__ import annotations

import pytest
from metrics_helpers import highlight_sample, temporal_sample

from videofocus.errors import DataError
from videofocus.metrics import score_predictions
from videofocus.parsing import Prediction
from videofocus.ranking_metrics import (MR_IOU_THRESHOLDS, hit_at_one, mean_window_ap, saliency_average_precision,
                                        window_average_precision)

GT = [[0.0, 10.0], [20.0, 30.0]]


def test_window_ap_ranks_by_score_and_interpolates_precision():
    # ranked: [20, 30] hit, [0, 4] miss (IoU 0.4), [0, 10] hit → P 1, 1/2, 2/3 at R 1/2, 1/2, 1
    windows, scores = [(0.0, 4.0), (20.0, 30.0), (0.0, 10.0)], [0.8, 0.9, 0.7]
    assert window_average_precision(windows, scores, GT, 0.5) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert window_average_precision(windows, scores, GT, 0.3) == pytest.approx(1.0)  # IoU 0.4 now hits


def test_a_ground_truth_window_matches_once_and_order_without_scores_is_the_rank():
    assert window_average_precision([(0, 10), (0, 10)], [0.9, 0.8], [[0, 10]], 0.5) == 1.0  # 2nd is a miss
    # the miss first: P 0 then 1/2 at R 0 then 1 → 0.5
    assert window_average_precision([(0, 4), (0, 10)], [0.0, -1.0], [[0, 10]], 0.5) == pytest.approx(0.5)
    assert window_average_precision([(0, 4), (0, 10)], [0.1, 0.9], [[0, 10]], 0.5) == 1.0


def test_only_the_first_ten_windows_are_ranked_and_reversed_windows_miss():
    wrong = [(20.0 + i, 21.0 + i) for i in range(10)]
    assert set(mean_window_ap([*wrong, (0.0, 10.0)], [1.0] * 11, [[0, 10]]).values()) == {0.0}
    assert set(mean_window_ap([(10.0, 0.0)], [1.0], [[0, 10]]).values()) == {0.0}
    assert tuple(mean_window_ap([(0.0, 10.0)], [1.0], [[0, 10]])) == MR_IOU_THRESHOLDS
    assert MR_IOU_THRESHOLDS[0] == 0.5 and MR_IOU_THRESHOLDS[-1] == 0.95 and len(MR_IOU_THRESHOLDS) == 10


@pytest.mark.parametrize("labels, scores, ap", [
    ([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], (2 / 3 + 1) / 2),
    # get_ap's running max runs from the full-recall end: 2/3 at both recall levels, not (1/2 + 2/3) / 2
    ([0, 1, 1], [0.9, 0.8, 0.7], 2 / 3),
    ([1, 0], [0.5, 0.5], 0.5),       # tied scores are one threshold
    ([1, 1], [0.1, 0.2], 1.0),       # every clip positive
    ([0, 0], [0.1, 0.2], 0.0),       # no positive clip
])
def test_saliency_ap_follows_get_ap(labels, scores, ap):
    assert saliency_average_precision(labels, scores) == pytest.approx(ap)


def test_hit_at_one_takes_the_first_maximum_and_misses_past_the_video():
    assert hit_at_one([0.1, 0.9, 0.9], [[0, 1, 0], [0, 0, 0]]) == 1.0
    assert hit_at_one([0.1, 0.9, 0.9], [[0, 0, 1]]) == 0.0
    assert hit_at_one([0.1, 0.2, 0.9], [[1, 1]]) == 0.0  # the top clip lies past the video's two clips


def test_qvhighlights_benchmark_by_hand():
    # 10 s → 5 clips; clip 1 scored (4, 2, 0), clip 2 (2, 3, 1) by the three annotators
    sample = highlight_sample("q", [[0, 10], [20, 50]], duration=10.0, clip_ids=[1, 2], scores=[[4, 2, 0], [2, 3, 1]])
    # 7 saliency scores for 5 clips: AP reads the first 5, HIT@1 the top one (index 6, past the video)
    prediction = Prediction(raw="", intervals=[(20.0, 50.0), (0.0, 10.0)], interval_scores=[0.2, 0.9],
                            saliency=[0, 5, 4, 3, 2, 1, 9])
    metrics = score_predictions("qvhighlights", [sample], {"q": prediction}).metrics
    assert metrics["MR-full-R1@0.5"] == 100.0  # the top-1 window as given, [20, 50], is a GT window
    assert metrics["MR-full-mAP"] == metrics["MR-full-mAP@0.75"] == 100.0
    # a length range keeps the GT windows of that length and ranks every predicted window against them:
    # short (0, 10] → [0, 10], matched by the top-scored window; middle (10, 30] → [20, 50], matched
    # only by the second window after a miss (AP 1/2)
    assert metrics["MR-short-mAP"] == 100.0 and metrics["MR-middle-mAP"] == 50.0
    assert metrics["MR-long-mAP"] == 0.0  # no query has a window over 30 s
    # Fair (≥ 2): annotators 0 and 1 label clips 1, 2 (ranked first: AP 1), annotator 2 none (AP 0)
    assert metrics["HL-min-Fair-mAP"] == pytest.approx(100 * 2 / 3)
    # Good (≥ 3): annotator 0 labels clip 1 (ranked 1st: AP 1), annotator 1 clip 2 (2nd: AP 1/2)
    assert metrics["HL-min-Good-mAP"] == pytest.approx(100 * 1.5 / 3)
    assert metrics["HL-min-Fair-Hit1"] == metrics["HL-min-Good-Hit1"] == 0.0


def test_qvhighlights_without_scores_or_saliency():
    sample = highlight_sample("q", [[0, 10]], clip_ids=[0], scores=[[4, 4, 4]])
    metrics = score_predictions("qvhighlights", [sample], {"q": Prediction(raw="", intervals=[(0.0, 10.0)])}).metrics
    assert metrics["MR-full-mAP"] == 100.0  # windows rank in the order given
    assert metrics["HL-min-VeryGood-mAP"] == metrics["HL-min-VeryGood-Hit1"] == 0.0  # no saliency: no highlights
    hit = score_predictions("qvhighlights", [sample], {"q": Prediction(raw="", saliency=[1.0, 0.0])}).metrics
    assert hit["HL-min-VeryGood-Hit1"] == 100.0 and hit["HL-min-VeryGood-mAP"] == 100.0


def test_qvhighlights_needs_saliency_annotations():
    with pytest.raises(DataError, match="saliency") as caught:
        score_predictions("qvhighlights", [temporal_sample("q", [[0, 10]])], {})
    assert caught.value.field == "clue.saliency"
