"""`videofocus score` end to end through typer's CliRunner."""

from __future__ import annotations

import json
import sys

import pytest
from metrics_helpers import grounded_qa_sample, temporal_sample, track_sample, write_jsonl, write_samples_jsonl
from typer.testing import CliRunner

from videofocus.cli import app, main
from videofocus.errors import ConfigError, DataError

runner = CliRunner()


@pytest.fixture
def temporal_files(tmp_path):
    annotations = write_samples_jsonl(tmp_path / "ann.jsonl", [
        temporal_sample("a", [[0, 10]]), temporal_sample("b", [[10, 20]]), temporal_sample("c", [[0, 4]])])
    predictions = write_jsonl(tmp_path / "pred.jsonl", [
        {"id": "a", "output": "<think>x</think><answer>0 to 5</answer>"},  # IoU 0.5
        {"id": "b", "intervals": [[10, 19]]},                              # IoU 0.9
        {"id": "stray", "intervals": [[0, 1]]},
    ])
    return annotations, predictions


def score(*args: str):
    return runner.invoke(app, ["score", *args])


def test_json_output_is_exactly_the_summary(temporal_files):
    annotations, predictions = temporal_files
    result = score("--benchmark", "temporal_grounding", "--predictions", str(predictions),
                   "--annotations", str(annotations), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    errors = summary.pop("standard_errors")
    assert summary == {"benchmark": "temporal_grounding", "n": 3, "missing": 1, "metrics": {
        "mIoU": pytest.approx(100 * 1.4 / 3), "R@0.3": pytest.approx(200 / 3), "R@0.5": pytest.approx(200 / 3),
        "R@0.7": pytest.approx(100 / 3)}}
    # two hits of three (or one): s / sqrt(n) = sqrt(1/3) / sqrt(3)
    assert errors["R@0.5"] == pytest.approx(100 / 3) and errors["R@0.7"] == pytest.approx(100 / 3)
    assert "pred.jsonl:3: id 'stray' has no annotation" in result.stderr


def test_table_output_lists_every_metric(temporal_files):
    annotations, predictions = temporal_files
    result = score("--benchmark", "temporal_grounding", "--predictions", str(predictions),
                   "--annotations", str(annotations))
    assert result.exit_code == 0, result.output
    assert "3 samples, 1 missing, 0 failed" in result.stdout
    for name, value in (("mIoU", "46.67"), ("R@0.3", "66.67"), ("R@0.7", "33.33")):
        assert any(name in line and value in line for line in result.stdout.splitlines()), name


def test_strict_fails_on_an_unannotated_id(temporal_files):
    annotations, predictions = temporal_files
    result = score("--benchmark", "temporal_grounding", "--predictions", str(predictions),
                   "--annotations", str(annotations), "--strict", "--json")
    assert result.exit_code == 1 and result.stdout == ""
    assert isinstance(result.exception, DataError)
    assert str(result.exception) == f"{predictions}:3: id 'stray' has no annotation (field 'id')"


def test_a_malformed_prediction_line_is_an_error_even_without_strict(tmp_path):
    annotations = write_samples_jsonl(tmp_path / "ann.jsonl", [temporal_sample("a", [[0, 10]])])
    predictions = write_jsonl(tmp_path / "pred.jsonl", [{"id": "a", "intervals": [[0]]}])
    result = score("--benchmark", "temporal_grounding", "--predictions", str(predictions),
                   "--annotations", str(annotations))
    assert result.exit_code == 1
    assert str(result.exception) == f"{predictions}:1: must be a list of 2 numbers (field 'intervals[0]')"


def test_an_annotation_the_benchmark_cannot_use_names_the_file(tmp_path):
    annotations = write_samples_jsonl(tmp_path / "ann.jsonl", [temporal_sample("a", [[0, 10]])])
    predictions = write_jsonl(tmp_path / "pred.jsonl", [{"id": "a", "answer": "A"}])
    result = score("--benchmark", "rextime", "--predictions", str(predictions), "--annotations", str(annotations))
    assert result.exit_code == 1
    assert str(result.exception).startswith(f"{annotations}: sample 'a' has no options and an answer")


def test_tracking_with_normalised_units(tmp_path):
    annotations = write_samples_jsonl(tmp_path / "ann.jsonl", [
        track_sample("t", [[0, 0, 10, 10], [20, 10, 60, 50], [0, 0, 100, 100]], width=200, height=100)])
    predictions = write_jsonl(tmp_path / "pred.jsonl", [
        {"id": "t", "output": "<answer>[[0, 0, 0.05, 0.1], [0.1, 0.1, 0.3, 0.5], [0, 0, 0.25, 1]]</answer>"}])
    args = ["--benchmark", "got10k", "--predictions", str(predictions), "--annotations", str(annotations), "--json"]
    by_default = json.loads(score(*args).stdout)  # normalised, as eval and the tracking prompts have it
    assert by_default["track_units"] == "normalised"
    assert by_default["metrics"] == pytest.approx({"AO": 100 * (1 + 0.5) / 2, "SR@0.5": 50.0, "SR@0.75": 50.0,
                                                   "mIoU(R1)": 100 * (1 + 1 + 0.5) / 3})
    as_pixels = score(*args, "--track-units", "pixels")
    assert json.loads(as_pixels.stdout)["metrics"]["AO"] < 1.0
    assert json.loads(as_pixels.stdout)["track_units"] == "pixels"
    assert "pass --track-units normalised" in as_pixels.stderr
    table = score(*args[:-1])
    assert "track boxes read as normalised 0-1 coordinates" in " ".join(table.stdout.split())


def test_pixel_tracks_scored_as_normalised_are_flagged(tmp_path):
    annotations = write_samples_jsonl(tmp_path / "ann.jsonl", [
        track_sample("t", [[0, 0, 10, 10], [20, 10, 60, 50]], width=200, height=100)])
    predictions = write_jsonl(tmp_path / "pred.jsonl", [{"id": "t", "track": [[0, 0, 10, 10], [20, 10, 60, 50]]}])
    args = ["--benchmark", "got10k", "--predictions", str(predictions), "--annotations", str(annotations), "--json"]
    as_pixels = score(*args, "--track-units", "pixels")
    assert json.loads(as_pixels.stdout)["metrics"]["AO"] == 100.0 and as_pixels.stderr == ""
    assert "a predicted track coordinate is 60" in score(*args).stderr


@pytest.mark.parametrize("track, units, message", [
    ([[0, 0, 0.05, 0.1], [0.1, 0.1, 0.3, 0.5]], "pixels", "pass --track-units normalised"),
    ([[0, 0, 10, 10], [20, 10, 60, 50]], "normalised", "a predicted track coordinate is 60"),
])
def test_strict_turns_the_track_units_warning_into_an_error(tmp_path, track, units, message):
    annotations = write_samples_jsonl(tmp_path / "ann.jsonl", [
        track_sample("t", [[0, 0, 10, 10], [20, 10, 60, 50], [0, 0, 100, 100]], width=200, height=100)])
    predictions = write_jsonl(tmp_path / "pred.jsonl", [{"id": "t", "track": track}])
    result = score("--benchmark", "got10k", "--predictions", str(predictions), "--annotations", str(annotations),
                   "--track-units", units, "--strict", "--json")
    assert result.exit_code == 1 and result.stdout == ""
    assert isinstance(result.exception, ConfigError) and message in str(result.exception)


def test_failed_predictions_count_as_wrong_but_not_missing(tmp_path):
    annotations = write_samples_jsonl(tmp_path / "ann.jsonl", [
        grounded_qa_sample("q1", "A", [[0, 10]]), grounded_qa_sample("q2", "B", [[0, 10]])])
    predictions = write_jsonl(tmp_path / "pred.jsonl", [
        {"id": "q1", "output": "<answer>A</answer><glue>[(0, 10)]</glue>"}, {"id": "q2", "error": "OOM"}])
    result = score("--benchmark", "nextgqa", "--predictions", str(predictions), "--annotations", str(annotations),
                   "--json")
    summary = json.loads(result.stdout)
    assert (summary["n"], summary["missing"]) == (2, 0)
    assert summary["metrics"]["Acc@QA"] == 50.0 and summary["metrics"]["Acc@GQA"] == 50.0


def test_an_unknown_benchmark_is_refused_by_the_parser(temporal_files):
    annotations, predictions = temporal_files
    result = score("--benchmark", "charades", "--predictions", str(predictions), "--annotations", str(annotations))
    assert result.exit_code == 2 and "charades" in result.stderr


def test_the_installed_entry_point_prints_one_red_line(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "nope.jsonl"
    monkeypatch.setattr(sys, "argv", ["videofocus", "score", "--benchmark", "mcq", "--predictions", str(missing),
                                      "--annotations", str(missing)])
    monkeypatch.delenv("VIDEOFOCUS_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "error:" in err and "nope.jsonl" in err and "file not found" in err and "Traceback" not in err


def test_an_empty_prediction_file_is_an_error_not_zeros(temporal_files, tmp_path):
    annotations, _ = temporal_files
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    result = score("--benchmark", "temporal_grounding", "--predictions", str(empty), "--annotations", str(annotations))
    assert isinstance(result.exception, DataError) and "holds no predictions" in str(result.exception)


def test_an_empty_annotation_file_is_said_once_before_any_prediction_warning(temporal_files, tmp_path):
    _, predictions = temporal_files
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    result = score("--benchmark", "temporal_grounding", "--predictions", str(predictions), "--annotations", str(empty))
    assert isinstance(result.exception, DataError)
    assert str(result.exception) == f"{empty}: the annotation file holds no samples to score against"
    assert "has no annotation" not in result.stderr
