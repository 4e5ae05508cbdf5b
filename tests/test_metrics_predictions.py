"""Reading prediction files: the three line forms, malformed lines, duplicates and unknown ids."""

from __future__ import annotations

import pytest
from metrics_helpers import box_sample, temporal_sample, write_jsonl

from videofocus.errors import DataError
from videofocus.metrics import score_predictions
from videofocus.parsing import Prediction
from videofocus.predictions import FailedPrediction, load_predictions, prediction_from_record, read_predictions


def test_raw_parsed_and_failed_lines(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [
        {"id": "raw", "output": "<think>t</think><answer>B</answer><clue>[(1.5, 3)]</clue>"},
        {"id": "parsed", "answer": "C", "intervals": [[1, 2.5]], "boxes": [[0, 0, 4, 4]],
         "track": [[0, 0, 1, 1], [1, 1, 2, 2]], "think": None},
        {"id": "failed", "error": "undecodable video", "output": "partial"},
        "",
        {"id": "empty_lists", "intervals": [], "answer": None},
    ])
    records = list(read_predictions(path))
    assert [(record.id, record.line) for record in records] == [
        ("raw", 1), ("parsed", 2), ("failed", 3), ("empty_lists", 5)]
    raw, parsed, failed, empty = (record.prediction for record in records)
    assert (raw.answer, raw.think, raw.intervals) == ("B", "t", [(1.5, 3.0)])
    assert parsed == Prediction(raw="", answer="C", intervals=[(1.0, 2.5)], boxes=[[0.0, 0.0, 4.0, 4.0]],
                                track=[[0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 2.0, 2.0]])
    assert failed == FailedPrediction("undecodable video")
    assert empty == Prediction(raw="")


@pytest.mark.parametrize("record, field, message", [
    ({"output": "x"}, "id", "non-empty string"),
    ({"id": 7, "output": "x"}, "id", "non-empty string"),
    ({"id": "a"}, None, "needs 'output', 'error'"),
    ({"id": "a", "interval": [[1, 2]]}, "interval", "unknown key"),
    ({"id": "a", "output": "x", "answer": "B"}, "output", "both 'output' and parsed"),
    ({"id": "a", "output": 3}, "output", "must be a string"),
    ({"id": "a", "error": ""}, "error", "non-empty"),
    ({"id": "a", "answer": 2}, "answer", "string or null"),
    ({"id": "a", "intervals": [1, 2]}, "intervals[0]", "list of 2 numbers"),
    ({"id": "a", "intervals": [[1, 2], [3]]}, "intervals[1]", "list of 2 numbers"),
    ({"id": "a", "intervals": [[1, True]]}, "intervals[0]", "finite numbers"),
    ({"id": "a", "boxes": [[0, 0, "1", 1]]}, "boxes[0]", "finite numbers"),
    ({"id": "a", "track": "[[0, 0, 1, 1]]"}, "track", "list of"),
])
def test_malformed_records_name_the_field(tmp_path, record, field, message):
    path = write_jsonl(tmp_path / "p.jsonl", [{"id": "ok", "answer": "A"}, record])
    with pytest.raises(DataError, match=message) as info:
        list(read_predictions(path))
    assert (info.value.path, info.value.line, info.value.field) == (str(path), 2, field)


def test_non_finite_numbers_and_broken_json_are_errors(tmp_path):
    path = write_jsonl(tmp_path / "nan.jsonl", ['{"id": "a", "intervals": [[NaN, 2]]}'])
    with pytest.raises(DataError, match="finite"):
        list(read_predictions(path))
    path = write_jsonl(tmp_path / "broken.jsonl", [{"id": "a", "answer": "A"}, '{"id": "b", "answer": '])
    with pytest.raises(DataError, match=r"broken.jsonl:2: not valid JSON"):
        list(read_predictions(path))


def test_duplicates_and_unknown_ids_warn_and_keep_the_first(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [
        {"id": "a", "answer": "A"}, {"id": "stray", "answer": "A"}, {"id": "a", "answer": "B"}])
    warnings: list[str] = []
    predictions = load_predictions(path, known_ids={"a", "b"}, warn=warnings.append)
    assert predictions == {"a": Prediction(raw="", answer="A")}
    assert warnings == [f"{path}:2: id 'stray' has no annotation (field 'id'); line ignored",
                        f"{path}:3: duplicate id 'a' (first at line 1) (field 'id'); line ignored"]


def test_strict_turns_the_warnings_into_errors(tmp_path):
    duplicate = write_jsonl(tmp_path / "dup.jsonl", [{"id": "a", "answer": "A"}, {"id": "a", "answer": "B"}])
    with pytest.raises(DataError, match=r"dup.jsonl:2: duplicate id 'a'"):
        load_predictions(duplicate, strict=True)
    stray = write_jsonl(tmp_path / "stray.jsonl", [{"id": "b", "answer": "A"}])
    with pytest.raises(DataError, match=r"stray.jsonl:1: id 'b' has no annotation"):
        load_predictions(stray, known_ids={"a"}, strict=True)
    assert load_predictions(stray, strict=True) == {"b": Prediction(raw="", answer="A")}  # no ids to check


def test_a_raw_output_is_parsed_like_a_completion():
    prediction = prediction_from_record({"id": "a", "output": "<answer>12.54 to 17.83</answer>"})
    assert prediction.intervals == [(12.54, 17.83)]


@pytest.mark.parametrize("raw_clue, parsed, miou", [
    ("[(-5, 5)]", {"intervals": [[-5, 5]]}, 100 * 5 / 15),          # not clipped: union [-5, 10]
    ("[(9, 4), (0, 10)]", {"intervals": [[9, 4], [0, 10]]}, 0.0),   # the reversed top-1 is not replaced
    ("[(0, 10), (9, 4)]", {"intervals": [[0, 10], [9, 4]]}, 100.0),  # window 1 scored alone
])
def test_raw_and_parsed_intervals_are_normalised_alike(raw_clue, parsed, miou):
    sample = temporal_sample("a", [[0, 10]])
    raw = prediction_from_record({"id": "a", "output": f"<answer>{raw_clue}</answer>"})
    as_parsed = prediction_from_record({"id": "a", **parsed})
    assert raw.intervals == as_parsed.intervals
    for prediction in (raw, as_parsed):
        assert score_predictions("temporal_grounding", [sample], {"a": prediction}).metrics["mIoU"] == \
            pytest.approx(miou)


def test_raw_and_parsed_boxes_are_normalised_alike():
    sample = box_sample("a", [[0, 0, 100, 100]])
    boxes = [[50, 50, 0, 0], [0, 0, 100, 100]]
    raw = prediction_from_record({"id": "a", "output": f"<answer>{boxes}</answer>"})
    as_parsed = prediction_from_record({"id": "a", "boxes": boxes})
    assert raw.boxes is None and as_parsed.boxes is None
    for prediction in (raw, as_parsed):
        assert score_predictions("refcoco", [sample], {"a": prediction}).metrics["Acc@0.5"] == 0.0
