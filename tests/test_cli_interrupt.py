"""Ctrl-C in a long command (eval, train, sft, demo): one line saying what is kept and the command
that goes on from there, exit status 130, no traceback."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from eval_helpers import RoundScript, grounding_script, interval_answer, synth_set

import videofocus.demo
import videofocus.train.grpo
import videofocus.train.sft
from videofocus.cli import run_app
from videofocus.evaluate import runner
from videofocus.train.checkpoint import STATE_FILE, checkpoint_root

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def _run(monkeypatch, capsys, *args: str) -> str:
    monkeypatch.setattr(sys, "argv", ["videofocus", *args])
    with pytest.raises(SystemExit) as exit_info:
        run_app()
    assert exit_info.value.code == 130
    message = capsys.readouterr().err
    assert "Traceback" not in message
    return " ".join(message.split())


def test_eval_says_how_many_samples_are_kept_and_how_to_resume(tmp_path, monkeypatch, capsys, tiny_qwen25_vl_path):
    annotations, samples = synth_set(tmp_path / "data", 4, ["temporal_grounding"])
    script = grounding_script(samples, lambda sample: [interval_answer(*sample.clue.intervals[0])])
    # One round per sample: interrupted while asking about the fourth.
    monkeypatch.setattr(runner, "build_backend", lambda *args, **kwargs: RoundScript(script, kill_after=3))
    out = tmp_path / "out"
    args = ["eval", "--model", str(tiny_qwen25_vl_path), "--benchmark", "temporal_grounding", "--annotations",
            str(annotations), "--rounds", "1", "--batch-size", "1", "--output", str(out), "--no-progress"]
    message = _run(monkeypatch, capsys, *args)
    assert message.startswith(f"interrupted: 3 sample(s) evaluated so far are kept in {out};")
    assert message.endswith(f"run the same command again: videofocus {' '.join(args)}")


@pytest.mark.parametrize("command, module, function", [("train", videofocus.train.grpo, "train_grpo"),
                                                       ("sft", videofocus.train.sft, "train_sft")])
def test_training_names_the_last_checkpoint_and_the_resume_command(command, module, function, tmp_path,
                                                                   monkeypatch, capsys):
    def stopped_after_a_checkpoint(config, resume):
        step = checkpoint_root(config.output_dir) / "step-00000004"
        step.mkdir(parents=True)
        (step / STATE_FILE).write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(module, function, stopped_after_a_checkpoint)
    args = [command, "--config", str(CONFIGS / f"tiny_demo_{'grpo' if command == 'train' else 'sft'}.yaml"),
            f"output_dir={tmp_path / 'run'}"]
    message = _run(monkeypatch, capsys, *args)
    assert message == (f"interrupted: the last checkpoint is {tmp_path / 'run' / 'checkpoints' / 'step-00000004'}; "
                       f"to continue from it: videofocus {' '.join(args)} --resume")


def test_training_stopped_before_any_checkpoint_says_so(tmp_path, monkeypatch, capsys):
    def stopped_at_once(config, resume):
        raise KeyboardInterrupt

    monkeypatch.setattr(videofocus.train.grpo, "train_grpo", stopped_at_once)
    message = _run(monkeypatch, capsys, "train", "--config", str(CONFIGS / "tiny_demo_grpo.yaml"),
                   f"output_dir={tmp_path / 'run'}")
    assert message.startswith(f"interrupted: no checkpoint in {tmp_path / 'run'} yet")


def test_demo_names_the_finished_stages(tmp_path, monkeypatch, capsys):
    def stopped_in_the_third_stage(out, settings, **kwargs):
        layout = videofocus.demo.DemoLayout(out)
        for finished_at, stage in enumerate(("model", "data")):  # not in name order
            layout.marker(stage).parent.mkdir(parents=True, exist_ok=True)
            layout.marker(stage).write_text("{}")
            os.utime(layout.marker(stage), ns=(finished_at * 10**9, finished_at * 10**9))
        raise KeyboardInterrupt

    monkeypatch.setattr(videofocus.demo, "run_demo", stopped_in_the_third_stage)
    message = _run(monkeypatch, capsys, "demo", "--out", str(tmp_path / "demo"), "--quick")
    assert message == (f"interrupted: finished stages (model, data) are kept in {tmp_path / 'demo'}; to go on from "
                       f"the stage it stopped in, run the same command again: videofocus demo --out "
                       f"{tmp_path / 'demo'} --quick")
