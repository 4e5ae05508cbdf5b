"""Demo settings: presets, overrides and the errors that name what to change."""

from __future__ import annotations

import pytest

from videofocus.demo import DEMO_MODEL, PRESETS, DemoSettings, demo_settings
from videofocus.errors import ConfigError
from videofocus.models import load_model
from videofocus.models.tiny import build_tiny_model


def test_the_demo_model_is_a_qwen3_vl_of_under_a_million_parameters(tmp_path):
    """~0.8 M parameters: text 128 hidden × 2 layers, vision 64 × 2."""
    model, _ = load_model(build_tiny_model(tmp_path / "m", arch=PRESETS["full"].arch, size=DEMO_MODEL), device="cpu")
    assert model.config.model_type == "qwen3_vl"
    assert 0.6e6 < sum(parameter.numel() for parameter in model.parameters()) < 0.9e6
    assert model.config.text_config.hidden_size == 128 and model.config.text_config.num_hidden_layers == 2
    assert model.config.vision_config.hidden_size == 64 and model.config.vision_config.depth == 2


def test_quick_is_smaller_than_full_and_tiny_smaller_still():
    full, quick, tiny = PRESETS["full"], PRESETS["quick"], PRESETS["tiny"]
    for name in ("test_samples_per_task", "grpo_steps"):
        assert getattr(full, name) > getattr(quick, name) > getattr(tiny, name), name
    assert full.model_size == quick.model_size == DEMO_MODEL
    assert full.rounds == 3 and full.eval_frames == 8
    assert full.test_samples_per_task >= 100      # one held-out sample is at most 1 point


def test_full_and_quick_start_from_the_shipped_warmup_built_by_the_warmup_preset():
    full, quick, scratch, warmup = (PRESETS[name] for name in ("full", "quick", "scratch", "warmup"))
    assert full.warmup == quick.warmup == "shipped" and scratch.warmup == warmup.warmup == "scratch"
    assert warmup.sft_steps * warmup.sft_batch_size > 2 * scratch.sft_steps * scratch.sft_batch_size
    assert warmup.stage2_steps and warmup.stage2_tracking_samples > warmup.stage2_train_samples
    assert scratch.stage2_steps == full.stage2_steps == 0
    assert (warmup.arch, warmup.model_size, warmup.frame_pixels, warmup.seed) == \
        (full.arch, full.model_size, full.frame_pixels, full.seed)


def test_overrides_replace_fields_of_the_preset():
    settings = demo_settings("quick", seed=3, threads=2)
    assert (settings.seed, settings.threads, settings.sft_steps) == (3, 2, PRESETS["quick"].sft_steps)
    assert settings.to_json()["tasks"] == list(settings.tasks)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: demo_settings("huge"), "unknown demo preset 'huge'; choose one of full, quick, scratch, warmup, tiny"),
    (lambda: demo_settings(tasks=("temporal_grounding",)), "budgeted_tasks must be among tasks, got brief_evidence"),
    (lambda: demo_settings(warmup="borrowed"), "warmup must be one of shipped, scratch, got 'borrowed'"),
    (lambda: demo_settings(sft_step=3), "unknown demo setting(s) sft_step"),
    (lambda: demo_settings(num_generations=1), "num_generations must be at least 2"),
    (lambda: demo_settings(grpo_steps=0), "grpo_steps must be at least 1, got 0"),
    (lambda: demo_settings(difficulty="brutal"), "difficulty must be one of easy, medium, hard"),
    (lambda: demo_settings(train_samples=10), "train_samples (10) must hold at least one batch"),
    (lambda: demo_settings(sft_micro_batch=5), "sft_micro_batch (5) must divide sft_batch_size (32)"),
    (lambda: demo_settings(tasks=("caption",)), "selection 'caption' (task caption) has no rule-based benchmark"),
    (lambda: DemoSettings(tasks=("temporal_grounding", "tg_wobbly")), "unknown selection 'tg_wobbly'"),
    (lambda: demo_settings(stage2_steps=10), "a warm-up's second stage is built here only (warmup='scratch')"),
    (lambda: demo_settings("warmup", stage2_train_samples=10, stage2_tracking_samples=0),
     "stage 2's samples (10 + 0 tracking) must hold at least one batch of 32"),
    (lambda: demo_settings("warmup", stage2_loop_view_frames=1), "stage2_loop_view_frames must be at least 2"),
])
def test_bad_settings_are_config_errors_naming_the_field(call, message):
    with pytest.raises(ConfigError) as error:
        call()
    assert message in str(error.value)
