"""`videofocus data validate | stats | convert` through the command line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from data_helpers import mcq_record, read_jsonl, sample_record, write_jsonl, write_text
from typer.testing import CliRunner

from videofocus.cli import app
from videofocus.data.converters import CONVERTERS
from videofocus.errors import ConfigError, DataError

runner = CliRunner()


def test_validate_lists_errors_and_exits_1(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [sample_record(id="a"), mcq_record(id="b", answer="Z"),
                                              mcq_record(id="c", options=["x"], answer=None)])
    result = runner.invoke(app, ["data", "validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:2: answer 'Z' is not one of the option letters AB (field 'answer')" in result.output
    assert f"{path}:3:" in result.output
    assert f"{path}: 2 of 3 line(s) with errors (2 error(s) in all), 1 OK" in result.output


def test_validate_clean_file_and_error_cap(tmp_path):
    result = runner.invoke(app, ["data", "validate", str(write_jsonl(tmp_path / "ok.jsonl", [sample_record()]))])
    assert result.exit_code == 0 and "1 samples OK" in result.output
    bad = write_jsonl(tmp_path / "bad.jsonl", [mcq_record(id=f"q{i}", answer="Z") for i in range(5)])
    result = runner.invoke(app, ["data", "validate", str(bad), "--max-errors", "2"])
    assert result.exit_code == 1 and "... and 3 more error(s)" in result.output


def test_stats_prints_counts_and_plots(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [sample_record(id="a"), mcq_record(id="b")])
    plot = tmp_path / "hist.png"
    result = runner.invoke(app, ["data", "stats", str(path), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert "2 samples, 1 with an answer" in result.output and "temporal_iou" in result.output
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_convert_end_to_end(tmp_path):
    source = write_text(tmp_path / "charades_sta_test.txt", "AO8RW 0.0 6.9##a person puts a book away.\n")
    durations = write_text(tmp_path / "Charades_v1_test.csv", "id,length\nAO8RW,26.12\n")
    output = tmp_path / "out" / "charades.jsonl"
    result = runner.invoke(app, ["data", "convert", "--from", "charades_sta", "--input", str(source),
                                 "--durations", str(durations), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "1 samples written" in result.output
    assert read_jsonl(output)[0]["clue"] == {"intervals": [[0.0, 6.9]]}
    assert runner.invoke(app, ["data", "validate", str(output)]).exit_code == 0


def test_convert_skip_invalid_reports_skipped_records(tmp_path):
    source = write_text(tmp_path / "q.txt", "AO8RW 0.0 6.9##fine\nnot a line\n")
    result = runner.invoke(app, ["data", "convert", "--from", "charades_sta", "--input", str(source),
                                 "--output", str(tmp_path / "o.jsonl"), "--skip-invalid"])
    assert result.exit_code == 0
    assert "skipped:" in result.output and f"{source}:2:" in result.output
    assert "1 samples written" in result.output and "(1 bad record(s) skipped)" in result.output


def test_convert_help_lists_every_format_on_one_line():
    result = runner.invoke(app, ["data", "convert", "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0
    for name, converter in CONVERTERS.items():
        assert any(line.split()[:1] == [name] and converter.summary.split()[0] in line
                   for line in result.output.splitlines()), name


def test_convert_unknown_format_is_a_config_error(tmp_path):
    result = runner.invoke(app, ["data", "convert", "--from", "nope", "--input", "x", "--output", str(tmp_path / "o")])
    assert isinstance(result.exception, ConfigError) and "charades_sta" in str(result.exception)


def test_bad_input_prints_one_red_line_and_exits_1(tmp_path):
    source = write_text(tmp_path / "q.txt", "broken\n")
    completed = subprocess.run([sys.executable, "-c", "from videofocus.cli import main; main()", "data", "convert",
                                "--from", "charades_sta", "--input", str(source), "--output", str(tmp_path / "o")],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1
    message = " ".join(completed.stderr.split())  # rich wraps long lines at the terminal width
    assert message == f"error: {source}:1: expected 'VIDEO START END##sentence', got 'broken'"
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["validate", "stats"])
def test_an_empty_samples_file_is_an_error(tmp_path, command):
    empty = write_text(tmp_path / "empty.jsonl", "\n\n")
    result = runner.invoke(app, ["data", command, str(empty)])
    assert result.exit_code == 1
    message = str(result.exception) if isinstance(result.exception, DataError) else result.stderr
    assert "holds no samples" in message
