"""`videofocus sft` then `videofocus train` on the synthetic world with the shipped demo recipes, and a
bad recipe failing before any model loads with a one-line message."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from train_helpers import one_torch_thread  # noqa: F401
from videofocus.cli import app, run_app
from videofocus.train.logging import read_metrics

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.fixture(scope="module")
def synth_samples(tmp_path_factory):
    from videofocus.data.synth import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("synth"), n=8, seed=0, tasks=["temporal_grounding"])


def test_demo_recipes_run_sft_then_grpo(tiny_qwen25_vl_path, synth_samples, tmp_path):
    from transformers import AutoModelForImageTextToText

    runner = CliRunner()
    sft_out, grpo_out = tmp_path / "sft", tmp_path / "grpo"
    data = f"datasets=[{{path: {synth_samples}}}]"
    result = runner.invoke(app, ["sft", "--config", str(CONFIGS / "tiny_demo_sft.yaml"), f"model={tiny_qwen25_vl_path}",
                                 f"output_dir={sft_out}", data, "per_device_batch_size=4", "max_steps=4",
                                 "tensorboard=false", "save_steps=0", "video_max_frames=8"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    losses = [record["loss"] for record in read_metrics(sft_out / "metrics.jsonl")]
    assert len(losses) == 4 and losses[-1] < losses[0]     # two passes over 8 samples: it learns them

    result = runner.invoke(app, ["train", "--config", str(CONFIGS / "tiny_demo_grpo.yaml"), f"model={sft_out}",
                                 f"output_dir={grpo_out}", data, "per_device_batch_size=8", "num_generations=4",
                                 "max_steps=1", "max_completion_length=8", "tensorboard=false",
                                 "video_max_frames=8"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert f"saved in {grpo_out}" in result.output.replace("\n", "")
    (record,) = read_metrics(grpo_out / "metrics.jsonl")
    assert {"rewards/format/mean", "rewards/temporal_iou/mean", "zero_spread_share"} <= record.keys()
    assert AutoModelForImageTextToText.from_pretrained(grpo_out).config.model_type == "qwen2_5_vl"


def test_bad_recipe_fails_before_loading_with_one_line(tmp_path, monkeypatch, capsys):
    import videofocus.models

    monkeypatch.setattr(videofocus.models, "load_model", lambda *a, **k: pytest.fail("loaded a model"))
    monkeypatch.setattr(sys, "argv", ["videofocus", "train", "--config", str(CONFIGS / "tiny_demo_grpo.yaml"),
                                      "num_generations=3"])
    with pytest.raises(SystemExit) as exit_info:
        run_app()
    assert exit_info.value.code == 1
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and "num_generations" in message and "Traceback" not in message

    monkeypatch.setattr(sys, "argv", ["videofocus", "train", "--config", str(CONFIGS / "tiny_demo_grpo.yaml"),
                                      f"datasets=[{{path: {tmp_path / 'missing.jsonl'}}}]",
                                      f"output_dir={tmp_path / 'out'}"])
    with pytest.raises(SystemExit):
        run_app()
    assert "datasets[0].path: no such file" in capsys.readouterr().err
