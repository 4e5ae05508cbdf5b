"""The evaluation progress bar: named by the samples' task, and a rate that is the mean since the
start (rich's windowed speed reads thousands of samples/s when a batch finishes at once)."""

from __future__ import annotations

from eval_helpers import RoundScript, grounding_script, interval_answer, synth_set
from rich.progress import Progress

from videofocus.evaluate import EvalSettings, evaluate, runner


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_and_time_left_are_the_mean_since_the_start():
    clock = Clock()
    progress = Progress(get_time=clock, auto_refresh=False, disable=True)
    task_id = progress.add_task("x", total=8)
    task = progress.tasks[0]
    assert str(runner._RateColumn().render(task)) == "- samples/s"
    clock.now = 10.0  # a first batch of 4 takes 10 s (model warm-up and all), then its lines land at once
    for _ in range(4):
        progress.advance(task_id)
        clock.now += 0.001
    assert str(runner._RateColumn().render(task)) == "0.40 samples/s"
    assert str(runner._RemainingColumn().render(task)) == "0:00:10"
    clock.now = 30.0
    for _ in range(4):
        progress.advance(task_id)
    clock.now = 500.0  # long after the end: the rate is the run's
    assert str(runner._RateColumn().render(task)) == "0.27 samples/s"


def test_the_bar_is_named_by_the_samples_task(tmp_path, capsys):
    annotations, samples = synth_set(tmp_path / "data", 2, ["grounded_qa"])
    script = grounding_script(samples, lambda sample: [interval_answer(*sample.clue.intervals[0], sample.answer)])
    evaluate(annotations, tmp_path / "out", EvalSettings("nextgqa", rounds=(1,)), backend=RoundScript(script),
             progress=True)
    bar = capsys.readouterr().err
    assert "grounded_qa" in bar and "nextgqa" not in bar
