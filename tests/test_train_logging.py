"""metrics.jsonl on resume: records after the checkpoint's step are dropped, and so is a last line that a
kill left half-written, so the resumed run appends clean records; any other bad line names its place."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from videofocus.errors import DataError
from videofocus.train.logging import METRICS_FILE, MetricsLogger, read_metrics


def _resume(out, *, start_step: int, steps: list[int]) -> None:
    logger = MetricsLogger(out, total_steps=10, start_step=start_step, tensorboard=False,
                           console=Console(file=io.StringIO()))
    for step in steps:
        logger.log(step, {"loss": 0.5})
    logger.close()


def _records(*steps: int) -> str:
    return "".join(json.dumps({"step": step, "loss": 1.0}) + "\n" for step in steps)


def test_resume_drops_a_half_written_last_line(tmp_path):
    (tmp_path / METRICS_FILE).write_text(_records(1, 2, 3) + '{"step": 4, "lo')
    assert [record["step"] for record in read_metrics(tmp_path / METRICS_FILE)] == [1, 2, 3]
    _resume(tmp_path, start_step=3, steps=[4, 5])
    assert [record["step"] for record in read_metrics(tmp_path / METRICS_FILE)] == [1, 2, 3, 4, 5]
    assert read_metrics(tmp_path / METRICS_FILE)[3]["loss"] == 0.5       # the resumed run's record


def test_a_complete_record_without_its_newline_is_kept_and_the_next_starts_a_line(tmp_path):
    (tmp_path / METRICS_FILE).write_text(_records(1) + '{"step": 2, "loss": 1.0}')
    _resume(tmp_path, start_step=2, steps=[3])
    assert [record["step"] for record in read_metrics(tmp_path / METRICS_FILE)] == [1, 2, 3]


@pytest.mark.parametrize(("content", "message"), [
    (_records(1) + "{oops\n" + _records(2), r"metrics.jsonl:2: not a JSON metrics record"),
    (_records(1) + '{"loss": 1.0}\n', r"metrics.jsonl:2: a metrics record needs an integer step \(field 'step'\)"),
])
def test_a_bad_line_elsewhere_names_the_file_and_line(tmp_path, content, message):
    (tmp_path / METRICS_FILE).write_text(content)
    with pytest.raises(DataError, match=message):
        _resume(tmp_path, start_step=1, steps=[])


def test_output_to_a_pipe_gets_a_plain_line_every_twentieth_of_the_run(tmp_path):
    piped = io.StringIO()
    logger = MetricsLogger(tmp_path, total_steps=40, tensorboard=False, console=Console(file=piped))
    for step in range(1, 41):
        logger.log(step, {"loss": 1 / step}) if step % 4 == 0 else logger.advance(step)
    logger.close()
    lines = [line for line in piped.getvalue().splitlines() if line.startswith("train step")]
    assert [line.split()[2] for line in lines] == [f"{step}/40" for step in range(2, 41, 2)]
    assert lines[-1] == "train step 40/40  loss 0.025"
