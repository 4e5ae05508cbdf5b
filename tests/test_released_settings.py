"""The released scripts' settings: `videofocus eval --released-budget`, the shipped recipes, `--time-positions`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from videofocus.cli import app
from videofocus.errors import ConfigError
from videofocus.media.budget import RELEASED_BUDGETS, released_budget
from videofocus.train.config import GRPOConfig, load_config

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
runner = CliRunner()


def test_released_budget_reaches_the_recorded_settings(monkeypatch):
    ran = {}
    monkeypatch.setattr("videofocus.evaluate.evaluate", lambda annotations, folder, settings, **_: ran.update(
        settings=settings.to_dict()))
    result = runner.invoke(app, ["eval", "--model", "m", "--benchmark", "mcq", "--annotations", "a.jsonl",
                                 "--num-frames", "64", "--released-budget", "r1.5-videomme"])
    assert result.exit_code == 0, result.output
    generation, perception = ran["settings"]["generation"], ran["settings"]["perception"]
    assert (generation["video_total_pixels"], generation["video_min_pixels"], generation["video_max_pixels"]) == \
        (128 * 108 * 28 * 28, 128 * 28 * 28, 768 * 28 * 28)
    assert (perception["num_frames"], perception["fps"], perception["max_frames"]) == (None, 2.0, 512)


def test_unknown_released_budget_names_the_known_ones(monkeypatch):
    monkeypatch.setattr("videofocus.evaluate.evaluate", lambda *args, **kwargs: pytest.fail("evaluated"))
    result = runner.invoke(app, ["eval", "--model", "m", "--benchmark", "mcq", "--annotations", "a.jsonl",
                                 "--released-budget", "r2"])
    assert isinstance(result.exception, ConfigError) and "r1.5-mvbench" in str(result.exception)


@pytest.mark.parametrize("recipe, budget", [("videochat_r1_7b.yaml", "r1"), ("videochat_r1_5_7b.yaml", "r1.5-train"),
                                            ("videochat_r1_5_3b.yaml", "r1.5-train")])
def test_recipes_use_their_releases_training_budget(recipe, budget):
    config, released = load_config(GRPOConfig, CONFIGS / recipe), released_budget(budget)
    assert (config.video_total_pixels, config.video_min_pixels, config.video_max_pixels, config.video_max_frames,
            config.video_fps) == (released.total_pixels, released.min_pixels, released.max_pixels,
                                  released.max_frames, released.fps)


def test_every_released_budget_names_its_source_file():
    assert all(".py" in budget.source and "@" in budget.source for budget in RELEASED_BUDGETS.values())


def test_time_positions_option_reaches_the_recorded_settings(monkeypatch):
    ran = {}
    monkeypatch.setattr("videofocus.evaluate.evaluate", lambda annotations, folder, settings, **_: ran.update(
        settings=settings.to_dict()))
    base = ["eval", "--model", "m", "--benchmark", "mcq", "--annotations", "a.jsonl"]
    assert runner.invoke(app, [*base, "--time-positions", "exact"]).exit_code == 0
    assert ran["settings"]["generation"]["time_positions"] == "exact"
    refused = runner.invoke(app, [*base, "--time-positions", "exact", "--backend", "vllm"])
    assert isinstance(refused.exception, ConfigError) and "hf backend only" in str(refused.exception)
