"""Benchmark metrics against values worked out by hand, edge cases included."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from metrics_helpers import (box_sample, grounded_qa_sample, highlight_sample, mcq_sample, temporal_sample,
                             track_sample)

from videofocus.errors import ConfigError, DataError
from videofocus.metrics import (BENCHMARKS, best_nextgqa_iop, best_temporal_iou, clip_box_like_got10k,
                                got10k_frame_ious, score_predictions)
from videofocus.parsing import Prediction, parse_completion
from videofocus.predictions import FailedPrediction
from videofocus.schema import Sample


def interval(start: float, end: float) -> Prediction:
    return Prediction(raw="", intervals=[(start, end)])


def test_temporal_grounding_by_hand():
    samples = [
        temporal_sample("half", [[0, 10]]),
        temporal_sample("inside", [[10, 20]]),
        temporal_sample("two_gt", [[0, 4], [20, 30]]),
        temporal_sample("missing", [[0, 10]]),
        temporal_sample("point", [[0, 10]]),
        temporal_sample("past_end", [[20, 30]], duration=30.0),
        temporal_sample("second_interval_right", [[10, 20]]),
        temporal_sample("close", [[10, 20]]),
    ]
    predictions = {
        "half": interval(0, 5),                     # 5 / 10 = 0.5
        "inside": interval(12, 18),                 # 6 / 10 = 0.6
        "two_gt": interval(18, 28),                 # best GT [20, 30]: 8 / 12
        "point": interval(5, 5),                    # zero length: 0
        "past_end": interval(25, 40),               # not clipped to the video: 5 / 20 = 0.25
        "second_interval_right": Prediction(raw="", intervals=[(0, 2), (10, 20)]),  # top-1 only: 0
        "close": parse_completion("<answer>10 to 19</answer>"),  # 9 / 10
    }
    report = score_predictions("temporal_grounding", samples, predictions)
    ious = [0.5, 0.6, 8 / 12, 0.0, 0.0, 0.25, 0.0, 0.9]
    assert report.n == 8 and report.missing == 1
    assert list(report.metrics) == ["mIoU", "R@0.3", "R@0.5", "R@0.7"]
    assert report.metrics["mIoU"] == pytest.approx(100 * sum(ious) / 8)
    assert report.metrics["R@0.3"] == pytest.approx(100 * 4 / 8)
    assert report.metrics["R@0.5"] == pytest.approx(100 * 4 / 8)  # an IoU of exactly 0.5 counts
    assert report.metrics["R@0.7"] == pytest.approx(100 * 1 / 8)
    assert [score.values["iou"] for score in report.per_sample] == pytest.approx(ious)
    assert [score.id for score in report.per_sample if score.missing] == ["missing"]


def test_nextgqa_by_hand():
    samples = [
        grounded_qa_sample("s1", "B", [[0, 10]]),
        grounded_qa_sample("s2", "A", [[0, 10]]),
        grounded_qa_sample("s3", "C", [[0, 20], [6, 10]]),
        grounded_qa_sample("s4", "D", [[3, 9]]),
        grounded_qa_sample("s5", "A", None),  # QA only: counts for Acc@QA, not for grounding
        grounded_qa_sample("s6", "B", [[0, 10]]),
    ]
    predictions = {
        "s1": Prediction(raw="", answer="B", intervals=[(2, 6)]),   # IoU 0.4, IoP 1, right
        "s2": Prediction(raw="", answer="B", intervals=[(5, 15)]),  # IoU 1/3, IoP 0.5, wrong
        # best IoU with [6, 10] (0.8), best IoP with [0, 20] (1.0): each maxed on its own
        "s3": parse_completion("<answer>C</answer><clue>[(5, 10)]</clue>"),
        "s4": Prediction(raw="", answer="(D)", intervals=[(5, 5)]),  # point inside GT: IoU 0, IoP 1
        "s5": Prediction(raw="", answer="A"),
    }
    report = score_predictions("nextgqa", samples, predictions)
    assert report.n == 6 and report.missing == 1
    expected = {
        "Acc@QA": 100 * 4 / 6,
        "Acc@GQA": 100 * 3 / 5,          # s1, s3, s4: right and IoP >= 0.5 (s2 has IoP 0.5 but is wrong)
        "mIoP": 100 * (1 + 0.5 + 1 + 1 + 0) / 5,
        "IoP@0.3": 80.0, "IoP@0.5": 80.0,
        "mIoU": 100 * (0.4 + 1 / 3 + 0.8 + 0 + 0) / 5,
        "IoU@0.3": 60.0, "IoU@0.5": 20.0,
    }
    assert list(report.metrics) == list(expected)
    assert report.metrics == pytest.approx(expected)


def test_rextime_by_hand():
    samples = [grounded_qa_sample("r1", "A", [[0, 10]]), grounded_qa_sample("r2", "B", [[0, 10]]),
               grounded_qa_sample("r3", "C", [[10, 20]]), grounded_qa_sample("r4", "D", [[0, 10]])]
    predictions = {
        "r1": Prediction(raw="", answer="A", intervals=[(0, 5)]),    # right, IoU 0.5
        "r2": Prediction(raw="", answer="B", intervals=[(0, 2)]),    # right, IoU 0.2
        "r3": Prediction(raw="", answer="A", intervals=[(10, 20)]),  # wrong, IoU 1
        "r4": FailedPrediction("undecodable video"),
    }
    report = score_predictions("rextime", samples, predictions)
    assert report.metrics == pytest.approx(
        {"Acc": 50.0, "mIoU": 100 * 1.7 / 4, "R@0.3": 50.0, "R@0.5": 50.0, "Acc@IoU0.5": 25.0})
    assert report.missing == 0 and report.failed == 1
    assert report.per_sample[3].error == "undecodable video"


def test_got10k_excludes_the_given_box_uses_strict_sr_and_pools_frames():
    samples = [
        track_sample("t1", [[10, 10, 20, 20], [10, 10, 20, 20], [20, 20, 40, 40], [0, 0, 10, 10]]),
        track_sample("t2", [[0, 0, 10, 10], [50, 50, 60, 60], [50, 50, 60, 60]]),
    ]
    predictions = {
        # the first box is the given one: a wrong first box costs nothing
        "t1": Prediction(raw="", track=[[90, 90, 95, 95], [10, 10, 20, 20], [20, 20, 40, 30], [0, 0, 10, 8]]),
        "t2": Prediction(raw="", track=[[0, 0, 10, 10], [50, 50, 60, 60]]),  # last frame missing: 0
    }
    report = score_predictions("got10k", samples, predictions, track_units="pixels")
    # frames scored: t1 → 1, 0.5, 0.8; t2 → 1, 0. Pooled over the 5 frames as the toolkit does.
    assert report.metrics["AO"] == pytest.approx(100 * 3.3 / 5)
    assert report.metrics["SR@0.5"] == pytest.approx(100 * 3 / 5)  # IoU 0.5 is not above 0.5
    assert report.metrics["SR@0.75"] == pytest.approx(100 * 3 / 5)
    assert report.per_sample[0].values["ao"] == pytest.approx(2.3 / 3)
    assert report.per_sample[1].values["frames"] == 2


def test_got10k_clips_both_boxes_to_the_frame_as_the_toolkit_does():
    gt = track_sample("t", [[0, 0, 5, 5], [80, 80, 100, 100], [0, 0, 20, 20]]).clue.track
    pred = [[0, 0, 5, 5], [80, 80, 120, 120], [-10, 0, 10, 20]]
    # past the right/bottom edge: cut off; past the left edge: shifted, not shrunk (rect_iou `bound`)
    assert got10k_frame_ious(pred, gt, width=100, height=100) == pytest.approx([1.0, 1.0])
    assert got10k_frame_ious(pred, gt) == pytest.approx([400 / 1600, 200 / 600])
    assert clip_box_like_got10k([-10, -5, 10, 20], 100, 100) == [0.0, 0.0, 20.0, 25.0]
    assert clip_box_like_got10k([5, 5, 1, 1], 100, 100) == [5, 5, 1, 1]  # invalid stays invalid


def test_got10k_normalised_track_units_scale_by_the_frame_size():
    sample = track_sample("t", [[0, 0, 10, 10], [20, 10, 60, 50]], width=200, height=100)
    prediction = parse_completion("<answer>[[0, 0, 0.05, 0.1], [0.1, 0.1, 0.3, 0.5]]</answer>")
    assert score_predictions("got10k", [sample], {"t": prediction}, track_units="normalised").metrics["AO"] \
        == pytest.approx(100.0)
    assert score_predictions("got10k", [sample], {"t": prediction}, track_units="pixels").metrics["AO"] < 1.0
    unsized = track_sample("u", [[0, 0, 10, 10], [20, 10, 60, 50]], width=None, height=None)
    with pytest.raises(DataError, match="media.width"):
        score_predictions("got10k", [unsized], {}, track_units="normalised")


def test_refcoco_first_box_and_inclusive_threshold():
    samples = [box_sample(name, [[0, 0, 10, 10]]) for name in ("q1", "q2", "q3", "q4")]
    predictions = {
        "q1": Prediction(raw="", boxes=[[0, 0, 10, 5]]),       # IoU 0.5: counts
        "q2": Prediction(raw="", boxes=[[0, 0, 10, 4.9]]),     # IoU 0.49
        "q3": parse_completion("<clue>[0, 0, 1, 1]</clue> <clue>x</clue>"),
        "q4": parse_completion("<answer>[0, 0, 1, 1], [0, 0, 10, 10]</answer>"),  # first box only
    }
    report = score_predictions("refcoco", samples, predictions)
    assert report.metrics == {"Acc@0.5": pytest.approx(25.0)}


def test_mcq_accuracy_with_source_groups():
    samples = [mcq_sample("m1", "A", source="videomme/short"), mcq_sample("m2", "B", source="videomme/short"),
               mcq_sample("m3", "C", source="videomme/long"), mcq_sample("m4", "A", source="videomme")]
    predictions = {"m1": Prediction(raw="", answer="A"), "m2": parse_completion("The answer is C"),
                   "m3": parse_completion("<think>hm</think><answer>(C) a bird</answer>")}
    report = score_predictions("mcq", samples, predictions)
    assert report.metrics == pytest.approx({"Acc": 50.0, "Acc/short": 50.0, "Acc/long": 100.0})
    assert list(report.metrics) == ["Acc", "Acc/short", "Acc/long"]
    assert report.as_dict() == {"benchmark": "mcq", "n": 4, "missing": 1, "metrics": report.metrics}


class NothingEntailed:
    """A caption judge that finds one event in every caption and entails none."""

    def extract_events(self, caption: str) -> list[str]:
        return [caption]

    def entailment(self, events: list[str], description: str) -> list[bool]:
        return [False] * len(events)


def test_every_benchmark_reports_its_named_metrics_and_zero_for_nothing():
    samples = {
        "temporal_grounding": [temporal_sample("x", [[0, 1]])],
        "nextgqa": [grounded_qa_sample("x", "A", [[0, 1]])],
        "rextime": [grounded_qa_sample("x", "A", [[0, 1]])],
        "qvhighlights": [highlight_sample("x", [[0, 1]])],
        "got10k": [track_sample("x", [[0, 0, 1, 1], [0, 0, 1, 1]])],
        "refcoco": [box_sample("x", [[0, 0, 1, 1]])],
        "mcq": [mcq_sample("x", "A")],
        "dream1k": [Sample.model_validate({"id": "x", "task": "caption", "answer": "A man walks in.",
                                           "media": {"type": "video", "path": "x.mp4"}})],
    }
    assert set(samples) == set(BENCHMARKS)
    for name, benchmark in BENCHMARKS.items():
        for predictions in ({}, {"x": FailedPrediction("boom")}, {"x": parse_completion("garbage")}):
            report = score_predictions(name, samples[name], predictions, judge=NothingEntailed())
            assert tuple(report.metrics) == benchmark.metric_names
            assert set(report.metrics.values()) == {0.0}, (name, predictions)


@pytest.mark.parametrize("benchmark_name, sample, field", [
    ("temporal_grounding", mcq_sample("x", "A"), "clue.intervals"),
    ("rextime", temporal_sample("x", [[0, 1]]), "answer"),
    ("got10k", track_sample("x", [[0, 0, 1, 1]]), "clue.track"),  # only the given box: nothing to score
    ("refcoco", temporal_sample("x", [[0, 1]]), "clue.boxes"),
    ("nextgqa", mcq_sample("x", "A"), "clue.intervals"),  # no sample grounded at all
])
def test_a_sample_without_the_needed_annotation_is_a_data_error(benchmark_name, sample, field):
    with pytest.raises(DataError) as info:
        score_predictions(benchmark_name, [sample], {}, annotations="ann.jsonl")
    assert info.value.field == field and info.value.path == "ann.jsonl"


def test_no_samples_duplicate_ids_and_unknown_benchmark():
    with pytest.raises(DataError, match="no samples"):
        score_predictions("mcq", [], {})
    with pytest.raises(DataError, match="duplicate sample id 'x'"):
        score_predictions("mcq", [mcq_sample("x", "A"), mcq_sample("x", "B")], {})
    with pytest.raises(ConfigError, match="temporal_grounding"):
        score_predictions("charades", [mcq_sample("x", "A")], {})


def test_predictions_for_unknown_ids_are_ignored():
    report = score_predictions("mcq", [mcq_sample("x", "A")], {"x": Prediction(raw="", answer="A"),
                                                             "y": Prediction(raw="", answer="B")})
    assert report.n == 1 and report.metrics["Acc"] == 100.0


# ----- the official formulas, restated from the reference scripts, against ours ---------------------

def hull_iou(pred, gt):
    """moment_detr `compute_temporal_iou_batch_paired` for one pair: union taken as the hull."""
    inter = max(0.0, min(pred[1], gt[1]) - max(pred[0], gt[0]))
    union = max(pred[1], gt[1]) - min(pred[0], gt[0])
    return inter / union if union != 0 else 0.0


def nextgqa_reference(pred, gt):
    """NExT-GQA eval_ground.py `get_tIoU(loc=gt, span=pred)` → (IoU, IoP); negatives lose to the 0
    the caller's max starts from."""
    if pred[0] == pred[1]:
        return 0.0, 1.0 if gt[0] <= pred[0] <= gt[1] else 0.0
    inter = min(pred[1], gt[1]) - max(pred[0], gt[0])
    union = max(pred[1], gt[1]) - min(pred[0], gt[0])
    return max(0.0, inter / union if union > 0 else 0.0), max(0.0, inter / (pred[1] - pred[0]))


times = st.integers(min_value=0, max_value=400).map(lambda tenths: tenths / 10)
spans = st.tuples(times, times).map(sorted).map(tuple)


@settings(max_examples=300, deadline=None)
@given(pred=spans, gts=st.lists(spans, min_size=1, max_size=3))
def test_interval_metrics_match_the_reference_formulas(pred, gts):
    assert best_temporal_iou(pred, gts) == pytest.approx(max(hull_iou(pred, gt) for gt in gts))
    assert best_temporal_iou(pred, gts) == pytest.approx(max(nextgqa_reference(pred, gt)[0] for gt in gts))
    assert best_nextgqa_iop(pred, gts) == pytest.approx(max(nextgqa_reference(pred, gt)[1] for gt in gts))


def nextgqa_get_tiou(pred, gt):
    """NExT-GQA eval_ground.py `get_tIoU(loc=gt, span=pred)` as written, for any pair: IoP is 0 when
    the prediction does not end after it starts; the caller's max starts from 0."""
    if pred[0] == pred[1]:
        return 0.0, 1.0 if gt[0] <= pred[0] <= gt[1] else 0.0
    inter = min(pred[1], gt[1]) - max(pred[0], gt[0])
    union = max(pred[1], gt[1]) - min(pred[0], gt[0])
    iou = inter / union if union > 0 else 0.0
    iop = inter / (pred[1] - pred[0]) if pred[1] > pred[0] else 0.0
    return max(0.0, iou), max(0.0, iop)


signed_times = st.integers(min_value=-100, max_value=400).map(lambda tenths: tenths / 10)


@settings(max_examples=300, deadline=None)
@given(pred=st.tuples(signed_times, signed_times), gts=st.lists(spans, min_size=1, max_size=3))
def test_unclipped_and_reversed_predictions_score_as_the_official_scripts(pred, gts):
    """Negative starts and reversed windows as they are: no official script clips or swaps."""
    assert best_temporal_iou(pred, gts) == pytest.approx(max(hull_iou(pred, gt) for gt in gts))
    assert best_nextgqa_iop(pred, gts) == pytest.approx(max(nextgqa_get_tiou(pred, gt)[1] for gt in gts))
    if pred[0] != pred[1]:
        assert best_temporal_iou(pred, gts) == pytest.approx(max(nextgqa_get_tiou(pred, gt)[0] for gt in gts))


def test_the_issue_examples_negative_start_and_reversed_second_window():
    gt = [[0.0, 5.0]]
    assert best_temporal_iou((-2.0, 4.0), gt) == pytest.approx(4 / 7)  # clipped, it would be 0.8
    assert best_nextgqa_iop((-2.0, 4.0), gt) == pytest.approx(4 / 6)
    window_one_alone = parse_completion("<answer>[(0, 5), (4, 3)]</answer>")
    report = score_predictions("temporal_grounding", [temporal_sample("a", gt)], {"a": window_one_alone})
    assert report.metrics["mIoU"] == 100.0


def test_got10k_reports_videochat_r1_mean_iou_over_all_frames_as_its_own_metric():
    samples = [
        track_sample("t1", [[10, 10, 20, 20], [10, 10, 20, 20], [20, 20, 40, 40], [0, 0, 10, 10]]),
        track_sample("t2", [[0, 0, 10, 10], [50, 50, 60, 60], [50, 50, 60, 60]]),
    ]
    predictions = {
        "t1": Prediction(raw="", track=[[90, 90, 95, 95], [10, 10, 20, 20], [20, 20, 40, 30], [0, 0, 10, 8]]),
        "t2": Prediction(raw="", track=[[0, 0, 10, 10], [50, 50, 60, 60]]),
    }
    metrics = score_predictions("got10k", samples, predictions, track_units="pixels").metrics
    # per clip over every frame, the given first one included (t1: 0 + 1 + 0.5 + 0.8; t2: 1 + 1 + 0),
    # then the mean over clips, not over pooled frames; the toolkit's AO is unchanged beside it
    assert metrics["mIoU(R1)"] == pytest.approx(100 * (2.3 / 4 + 2 / 3) / 2)
    assert metrics["AO"] == pytest.approx(100 * 3.3 / 5)
    past_the_edge = track_sample("e", [[0, 0, 10, 10], [80, 80, 100, 100]])
    unclipped = {"e": Prediction(raw="", track=[[0, 0, 10, 10], [80, 80, 120, 120]])}
    metrics = score_predictions("got10k", [past_the_edge], unclipped, track_units="pixels").metrics
    assert metrics["mIoU(R1)"] == pytest.approx(100 * (1 + 400 / 1600) / 2)  # no frame clipping
    assert metrics["AO"] == pytest.approx(100.0)  # the toolkit clips to the frame
