"""Recipes and overrides: typed, checked, every knob documented, and errors that say what to change."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from videofocus.errors import ConfigError
from videofocus.train.config import DatasetConfig, GRPOConfig, SFTConfig, TrainConfig, load_config

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
BASE = ["model=m", "output_dir=o", "datasets=[d.jsonl]"]


def test_recipe_and_overrides_are_typed(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model: m\noutput_dir: o\ndatasets:\n  - {path: a.jsonl, media_root: media, task: tracking}\n"
                      "learning_rate: 1e-6\nnum_generations: 4\nper_device_batch_size: 4\n")
    config = load_config(GRPOConfig, recipe, ["beta=0", "reward_weights={format: 0.5}", "epsilon_high=0.28",
                                              "lora_target_modules=[q_proj]", "max_steps=10"])
    assert config.learning_rate == 1e-6 and isinstance(config.learning_rate, float)  # YAML reads 1e-6 as a string
    assert config.datasets == [DatasetConfig(path="a.jsonl", media_root="media", task="tracking")]
    assert (config.beta, config.reward_weights, config.upper_epsilon) == (0.0, {"format": 0.5}, 0.28)
    assert config.lora_target_modules == ["q_proj"] and config.max_steps == 10
    assert load_config(GRPOConfig, None, BASE + ["reward_weights=videochat_r1_5"]).reward_weights == "videochat_r1_5"


@pytest.mark.parametrize(("overrides", "message"), [
    (["learnig_rate=1e-5"], "unknown key 'learnig_rate'; did you mean 'learning_rate'"),
    (["learning_rate=fast"], "'learning_rate': expected float"),
    (["loss_type=ppo"], "'loss_type': 'ppo' is not one of"),
    (["num_generations=3"], "not a multiple of num_generations = 3"),
    (["per_device_batch_size=6", "gradient_accumulation_steps=1"], "6 completions per device"),
    (["num_generations=1", "per_device_batch_size=1"], "'num_generations': GRPO compares completions"),
    (["num_iterations=2", "save_steps=3"], "'save_steps': must be a multiple of num_iterations"),
    (["use_lora=true", "freeze_vision_tower=false"], "set freeze_vision_tower=true"),
    (["temperature=0"], "'temperature': must be > 0"),
    (["datasets=[{path: a.jsonl, colour: red}]"], "unknown key 'colour'"),
    (["judge_url=http://x:8000"], "set judge_url and judge_model together"),
    (["max_steps=0"], "'max_steps': must be at least 1"),
    (["video_total_pixels=0"], "'video_total_pixels': must be at least 1"),
    (["dtype=bfloat16"], "'mixed_precision': dtype=bfloat16 needs autocast"),
    (["dtype=float16"], "'mixed_precision': dtype=float16 needs autocast"),
    (["tracking_frames=8"], "unknown key 'tracking_frames'"),
])
def test_bad_configs_say_what_to_change(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_config(GRPOConfig, None, BASE + overrides)


def test_missing_required_keys_and_files(tmp_path):
    with pytest.raises(ConfigError, match="'model': set it"):
        load_config(GRPOConfig, None, ["output_dir=o", "datasets=[d.jsonl]"])
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(GRPOConfig, tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="a recipe is a mapping"):
        load_config(GRPOConfig, tmp_path / "list.yaml")
    with pytest.raises(ConfigError, match="is not key=value"):
        load_config(GRPOConfig, None, BASE + ["beta"])


def test_weights_load_in_the_autocast_dtype_unless_dtype_is_set():
    assert load_config(GRPOConfig, None, BASE).load_dtype == "float32"
    assert load_config(GRPOConfig, None, BASE + ["mixed_precision=bf16"]).load_dtype == "bfloat16"
    assert load_config(GRPOConfig, None, BASE + ["mixed_precision=bf16", "dtype=float32"]).load_dtype == "float32"


@pytest.mark.parametrize(("overrides", "launch", "message"), [
    ([], ("FSDP", None), "'share_visual_features': FSDP cannot run the vision encoder"),
    (["share_visual_features=false", "use_lora=true"], ("FSDP", None), "'use_lora': LoRA is not supported with FSDP"),
    (["use_lora=true"], ("DEEPSPEED", 3), "'use_lora': LoRA is not supported with DeepSpeed ZeRO-3"),
])
def test_launches_that_cannot_run_say_what_to_change(overrides, launch, message):
    config = load_config(GRPOConfig, None, BASE + overrides)
    distributed_type, zero_stage = launch
    with pytest.raises(ConfigError, match=message):
        config.validate_launch(distributed_type, zero_stage=zero_stage)


@pytest.mark.parametrize(("overrides", "launch"), [
    (["share_visual_features=false"], ("FSDP", None)),
    (["freeze_vision_tower=false"], ("FSDP", None)),          # vision trained: features are not shared anyway
    (["use_lora=true"], ("DEEPSPEED", 2)),
    (["use_lora=true"], ("MULTI_GPU", None)),
    ([], ("DEEPSPEED", 3)),
])
def test_launches_that_can_run_pass(overrides, launch):
    distributed_type, zero_stage = launch
    load_config(GRPOConfig, None, BASE + overrides).validate_launch(distributed_type, zero_stage=zero_stage)


@pytest.mark.parametrize("config_class", [TrainConfig, GRPOConfig, DatasetConfig])
def test_every_knob_is_documented(config_class):
    documented = "".join(cls.__doc__ for cls in config_class.__mro__ if cls.__doc__)
    for field in dataclasses.fields(config_class):
        assert f"    {field.name}: " in documented, f"{config_class.__name__}.{field.name} is not documented"


@pytest.mark.parametrize("recipe", sorted(path.name for path in CONFIGS.glob("*.yaml")
                                          if not path.name.startswith("accelerate_")))
def test_shipped_recipes_are_valid(recipe):
    config_class = SFTConfig if "sft" in recipe else GRPOConfig
    config = load_config(config_class, CONFIGS / recipe)
    assert config.datasets and config.model and config.output_dir


def prompts_per_step_on_8_gpus(config: GRPOConfig) -> int:
    return config.per_device_batch_size * config.gradient_accumulation_steps * 8 // config.num_generations


def test_paper_recipes_carry_the_released_scripts_settings():
    """As the released training scripts run (docs/protocols.md lists where the papers differ)."""
    r1 = load_config(GRPOConfig, CONFIGS / "videochat_r1_7b.yaml")
    assert (r1.learning_rate, r1.beta, r1.num_generations, r1.temperature, r1.max_completion_length) == \
        (1e-6, 0.04, 8, 1.0, 1024)
    assert r1.single_task_batches and {d.task for d in r1.datasets} == {"temporal_grounding", "tracking",
                                                                        "grounded_qa"}
    assert (r1.protocol, r1.top_k, r1.top_p, prompts_per_step_on_8_gpus(r1)) == ("videochat_r1", 50, 1.0, 8)
    assert (r1.video_min_pixels, r1.video_total_pixels, r1.video_max_frames) == (16 * 28 * 28, 3584 * 28 * 28, 768)
    assert not (r1.freeze_vision_tower or r1.freeze_projector)
    for name in ("videochat_r1_5_7b.yaml", "videochat_r1_5_3b.yaml"):
        r15 = load_config(GRPOConfig, CONFIGS / name)
        assert (r15.learning_rate, r15.weight_decay, r15.warmup_ratio, r15.lr_scheduler, r15.num_train_epochs) == \
            (1e-6, 0.0, 0.0, "linear", 1)  # the script's lr; the paper's Table 11 says 2e-6
        assert (r15.protocol, r15.top_k, r15.top_p, prompts_per_step_on_8_gpus(r15)) == ("videochat_r1_5", 50, 1.0, 8)
        assert (r15.video_fps, r15.video_min_frames, r15.video_max_frames) == (2.0, 4, 512)
        assert (r15.video_min_pixels, r15.video_max_pixels, r15.video_total_pixels) == \
            (128 * 28 * 28, 768 * 28 * 28, 8192 * 28 * 28)
        assert (r15.image_min_pixels, r15.image_max_pixels) == (4 * 28 * 28, 768 * 28 * 28)
        assert not (r15.freeze_vision_tower or r15.freeze_projector)
