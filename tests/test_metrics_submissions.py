"""Official submission files in and out (videofocus.submissions, `score --format/--export`)."""

from __future__ import annotations

import json

import pytest
from metrics_helpers import grounded_qa_sample, temporal_sample, write_jsonl, write_samples_jsonl
from typer.testing import CliRunner

from videofocus.cli import app
from videofocus.errors import ConfigError, DataError
from videofocus.parsing import Prediction
from videofocus.submissions import answers_path, official_key, read_submission, write_submission

runner = CliRunner()


def test_official_keys_drop_the_source_prefix_and_nextgqa_joins_with_an_underscore():
    assert official_key("qvhighlights/2579", "qvhighlights") == "2579"
    assert official_key("rextime/qvh_val241", "rextime") == "qvh_val241"
    assert official_key("nextgqa/4010069381#6", "nextgqa") == "4010069381_6"
    assert official_key("plain", "timechat") == "plain"


def test_reads_a_qvhighlights_submission_as_it_is(tmp_path):
    samples = [temporal_sample("qvhighlights/2579", [[0, 10]]), temporal_sample("qvhighlights/7", [[0, 10]])]
    path = write_jsonl(tmp_path / "sub.jsonl", [
        {"qid": 2579, "query": "q", "vid": "v", "pred_relevant_windows": [[0, 70, 0.99], [78, 146.5, 0.41]],
         "pred_saliency_scores": [-0.5, 0.25]},
        {"qid": 99, "pred_relevant_windows": []},
    ])
    warnings = []
    predictions = read_submission("qvhighlights", path, samples, warn=warnings.append)
    assert predictions == {"qvhighlights/2579": Prediction(raw="", intervals=[(0.0, 70.0), (78.0, 146.5)],
                                                           interval_scores=[0.99, 0.41], saliency=[-0.5, 0.25])}
    assert warnings == [f"{path}:2: no sample has the key '99'; entry ignored"]
    with pytest.raises(DataError, match="no sample has the key '99'"):
        read_submission("qvhighlights", path, samples, strict=True)


def test_a_malformed_submission_entry_names_file_line_and_entry(tmp_path):
    samples = [temporal_sample("rextime/a", [[0, 10]])]
    path = write_jsonl(tmp_path / "sub.jsonl", [{"qid": "a", "pred_relevant_windows": [[0, "x", 1]]}])
    with pytest.raises(DataError) as caught:
        read_submission("rextime", path, samples)
    assert (caught.value.path, caught.value.line) == (str(path), 1)
    assert caught.value.field.startswith("qid a") and "finite numbers" in str(caught.value)
    empty = tmp_path / "empty.json"
    empty.write_text("{}", encoding="utf-8")
    with pytest.raises(DataError, match="holds no predictions"):
        read_submission("timechat", empty, samples)


def test_reads_nextgqa_spans_with_the_answers_beside_them(tmp_path):
    samples = [grounded_qa_sample("nextgqa/4010069381#6", "B", [[0, 10]]),
               grounded_qa_sample("nextgqa/4010069381#7", "A", [[0, 10]]),
               grounded_qa_sample("nextgqa/55#1", "C", [[0, 10]])]
    spans = tmp_path / "test_ground.json"
    spans.write_text(json.dumps({"4010069381_6": [1.5, 4], "4010069381_7": [2, 3], "55_1": [0, 1]}), encoding="utf-8")
    answers_path(spans).write_text(json.dumps({"4010069381_6": 1, "4010069381_7": "A",
                                               "55_1": {"answer": 2, "prediction": 0}}), encoding="utf-8")
    predictions = read_submission("nextgqa", spans, samples)
    assert [predictions[sample.id].answer for sample in samples] == ["B", "A", "A"]
    assert predictions["nextgqa/4010069381#6"].intervals == [(1.5, 4.0)]
    assert answers_path(spans).name == "test_ground.answers.json"


def test_a_submission_whose_keys_name_no_sample_is_an_error_not_all_missing(tmp_path):
    samples = [temporal_sample("charades_sta/3MSZA#0", [[0, 10]])]
    path = tmp_path / "fmt.json"
    path.write_text(json.dumps({"0": {"timestamp": [[2, 8]]}}), encoding="utf-8")
    with pytest.raises(DataError, match="none of the 1 submission keys names a sample .* look like '3MSZA#0'"):
        read_submission("timechat", path, samples)


def test_reads_timechat_predictions(tmp_path):
    samples = [temporal_sample("charades/0", [[0, 10]]), temporal_sample("charades/1", [[0, 10]])]
    path = tmp_path / "fmt.json"
    path.write_text(json.dumps({"0": {"timestamp": [[2, 8], [1, 3]], "query": "x"}, "1": {"timestamp": [4, 6]}}),
                    encoding="utf-8")
    predictions = read_submission("timechat", path, samples)
    assert predictions["charades/0"].intervals == [(2.0, 8.0), (1.0, 3.0)]
    assert predictions["charades/1"].intervals == [(4.0, 6.0)]


@pytest.mark.parametrize("submission_format", ["qvhighlights", "rextime", "nextgqa", "timechat"])
def test_written_submissions_read_back_to_the_same_predictions(tmp_path, submission_format):
    samples = [grounded_qa_sample("src/12", "B", [[0, 10]]), grounded_qa_sample("src/v#3", "A", [[0, 10]])]
    predictions = {"src/12": Prediction(raw="", answer="B", intervals=[(1.0, 5.0), (6.0, 7.0)],
                                        interval_scores=[0.9, 0.1], saliency=[0.5, 1.5]),
                   "src/v#3": Prediction(raw="", answer="C", intervals=[(2.0, 3.0)])}
    written = write_submission(submission_format, tmp_path / "out.json", samples, predictions)
    back = read_submission(submission_format, written[0], samples)
    for sample_id, prediction in predictions.items():
        intervals = prediction.intervals[:1] if submission_format == "nextgqa" else prediction.intervals
        assert back[sample_id].intervals == intervals
        if submission_format in ("rextime", "nextgqa"):
            assert back[sample_id].answer == prediction.answer
    if submission_format == "qvhighlights":
        lines = [json.loads(line) for line in written[0].read_text(encoding="utf-8").splitlines()]
        assert lines[0]["qid"] == 12 and lines[1]["qid"] == "v#3"  # digits are numbers, as QVHighlights has them
        assert lines[0]["pred_relevant_windows"] == [[1.0, 5.0, 0.9], [6.0, 7.0, 0.1]]
        assert lines[0]["pred_saliency_scores"] == [0.5, 1.5]
        assert lines[1]["pred_relevant_windows"] == [[2.0, 3.0, 1.0]]  # without scores: rank order


def test_score_cli_reads_and_exports_official_files(tmp_path):
    annotations = write_samples_jsonl(tmp_path / "ann.jsonl", [
        grounded_qa_sample("rextime/a", "B", [[0, 10]]), grounded_qa_sample("rextime/b", "A", [[0, 10]])])
    submission = write_jsonl(tmp_path / "sub.jsonl", [
        {"qid": "a", "pred_relevant_windows": [[0, 5, 1]], "ans": "B"},
        {"qid": "b", "pred_relevant_windows": [[0, 10, 1]], "ans": "C"}])
    exported = tmp_path / "export.json"
    args = ["score", "--benchmark", "rextime", "--annotations", str(annotations), "--predictions", str(submission),
            "--format", "rextime", "--json"]
    result = runner.invoke(app, [*args, "--export", "nextgqa", "--export-file", str(exported)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["metrics"] == pytest.approx(
        {"Acc": 50.0, "mIoU": 75.0, "R@0.3": 100.0, "R@0.5": 100.0, "Acc@IoU0.5": 50.0})
    assert json.loads(exported.read_text(encoding="utf-8")) == {"a": [0.0, 5.0], "b": [0.0, 10.0]}
    assert json.loads(answers_path(exported).read_text(encoding="utf-8"))["a"] == {"prediction": "B", "answer": "B"}
    lone = runner.invoke(app, [*args, "--export", "nextgqa"])
    assert isinstance(lone.exception, ConfigError)
