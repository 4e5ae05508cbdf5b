"""The GRPO recipe end to end on a tiny Qwen2.5-VL: exact resumption after a crash, gradient
accumulation and shared visual features that do not change the result, several iterations per
rollout, freezing, LoRA, dynamic sampling (single-task steps included), a launch it cannot run refused up
front, and an output folder that from_pretrained loads."""

from __future__ import annotations

import json

import pytest
import torch

from train_helpers import (digit_reward, grpo_config, load_weights, one_torch_thread,  # noqa: F401
                           write_image_samples, write_video_samples)
from videofocus.errors import ConfigError
from videofocus.train.data import BatchOrder, load_training_samples
from videofocus.train.grpo import train_grpo
from videofocus.train.logging import read_metrics


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Videos of different lengths, and images whose JSONL lives apart from the media (media_root)."""
    root = tmp_path_factory.mktemp("grpo_data")
    videos = write_video_samples(root / "videos", 6)
    images = write_image_samples(root / "images", 2)
    listing = root / "lists" / "images.jsonl"
    listing.parent.mkdir()
    listing.write_text(images.read_text())
    return [{"path": str(videos)}, {"path": str(listing), "media_root": str(root / "images")}]


def _config(model, out, data, **overrides):
    return grpo_config(model, out, data, **overrides)


def _max_difference(first: dict, second: dict) -> float:
    return max((first[name] - second[name]).abs().max().item() for name in first)


class CrashAfter:
    """A reward that raises after `calls` completions, like a run killed mid-step."""

    def __init__(self, calls: int):
        self.calls = calls

    def __call__(self, sample, prediction):
        self.calls -= 1
        if self.calls < 0:
            raise RuntimeError("simulated crash")
        return digit_reward(sample, prediction)


def test_resume_after_crash_ends_with_the_same_weights(tiny_qwen25_vl_path, data, tmp_path):
    settings = dict(max_steps=3, save_steps=1)
    straight = train_grpo(_config(tiny_qwen25_vl_path, tmp_path / "straight", data, **settings),
                          reward_fn=digit_reward)

    crashed = _config(tiny_qwen25_vl_path, tmp_path / "crashed", data, **settings)
    completions_per_step = 8
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_grpo(crashed, reward_fn=CrashAfter(completions_per_step + 3))   # dies in step 2
    assert sorted(p.name for p in (tmp_path / "crashed" / "checkpoints").iterdir()) == ["step-00000001"]
    assert not (tmp_path / "crashed" / "model.safetensors").exists()
    with pytest.raises(ConfigError, match="--resume"):
        train_grpo(crashed, reward_fn=digit_reward)
    resumed = train_grpo(crashed, resume=True, reward_fn=digit_reward)

    first, second = load_weights(straight), load_weights(resumed)
    assert all(torch.equal(first[name], second[name]) for name in first)
    assert _max_difference(first, load_weights(tiny_qwen25_vl_path)) > 1e-4   # training did change them
    assert read_metrics(straight / "metrics.jsonl") == read_metrics(resumed / "metrics.jsonl")


@pytest.mark.parametrize("loss_type", ["grpo", "dapo"])
def test_gradient_accumulation_matches_one_large_micro_batch(tiny_qwen25_vl_path, data, tmp_path, loss_type):
    """8 completions per step as 2 micro-batches of 4 or 1 of 8: the same update."""
    outputs = [train_grpo(_config(tiny_qwen25_vl_path, tmp_path / f"ga{steps}", data, loss_type=loss_type,
                                  per_device_batch_size=8 // steps, gradient_accumulation_steps=steps,
                                  max_steps=1),
                          reward_fn=digit_reward) for steps in (1, 2)]
    assert _max_difference(load_weights(outputs[0]), load_weights(outputs[1])) < 1e-5


def test_shared_visual_features_train_like_per_completion_encoding(tiny_qwen25_vl_path, data, tmp_path):
    outputs = [train_grpo(_config(tiny_qwen25_vl_path, tmp_path / str(share), data, share_visual_features=share,
                                  max_steps=1),
                          reward_fn=digit_reward) for share in (False, True)]
    assert _max_difference(load_weights(outputs[0]), load_weights(outputs[1])) < 1e-5


def test_gradient_checkpointing_gives_the_same_update_and_bf16_autocast_trains(tiny_qwen25_vl_path, data, tmp_path):
    plain, checkpointed = (train_grpo(_config(tiny_qwen25_vl_path, tmp_path / str(flag), data, max_steps=1,
                                              gradient_checkpointing=flag), reward_fn=digit_reward)
                           for flag in (False, True))
    assert _max_difference(load_weights(plain), load_weights(checkpointed)) < 1e-6
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state()   # one process keeps one mixed-precision setting unless reset
    try:
        bf16 = train_grpo(_config(tiny_qwen25_vl_path, tmp_path / "bf16", data, max_steps=1, mixed_precision="bf16"),
                          reward_fn=digit_reward)
    finally:
        AcceleratorState._reset_state()
    assert 0 < _max_difference(load_weights(plain), load_weights(bf16)) < 0.01


def test_second_iteration_on_a_rollout_has_importance_ratios_away_from_one(tiny_qwen25_vl_path, data, tmp_path):
    out = train_grpo(_config(tiny_qwen25_vl_path, tmp_path / "mu", data, num_iterations=2, learning_rate=0.05,
                             epsilon=0.01), reward_fn=digit_reward)
    first, second = read_metrics(out / "metrics.jsonl")
    assert first["reward"] == second["reward"]        # one rollout for both steps
    assert first["clip_fraction"] == 0.0              # π_θ = π_old on the first step
    assert second["clip_fraction"] > 0.0


def test_frozen_vision_stays_and_the_rest_learns(tiny_qwen25_vl_path, data, tmp_path):
    before = load_weights(tiny_qwen25_vl_path)
    out = train_grpo(_config(tiny_qwen25_vl_path, tmp_path / "tower", data, freeze_vision_tower=False,
                             freeze_projector=True, max_steps=1), reward_fn=digit_reward)
    after = load_weights(out)
    changed = {name for name in before if not torch.equal(before[name], after[name])}   # names as saved on disk
    assert any(name.startswith("visual.blocks.") for name in changed)
    assert not any(name.startswith("visual.merger.") for name in changed)
    assert any(name.startswith("model.layers.") for name in changed)


def test_lora_trains_adapters_against_the_base_and_saves_a_merged_model(tiny_qwen25_vl_path, data, tmp_path):
    from transformers import AutoModelForImageTextToText

    out = train_grpo(_config(tiny_qwen25_vl_path, tmp_path / "lora", data, use_lora=True, lora_r=4,
                             learning_rate=0.05), reward_fn=digit_reward)
    first, second = read_metrics(out / "metrics.jsonl")
    assert first["kl"] == 0.0 < second["kl"]         # the reference is the base: equal until the adapters move
    assert (out / "adapter" / "adapter_config.json").is_file()
    assert AutoModelForImageTextToText.from_pretrained(out).config.model_type == "qwen2_5_vl"
    before, after = load_weights(tiny_qwen25_vl_path), load_weights(out)
    assert before.keys() == after.keys()   # merged: plain weights, no adapter tensors
    assert not torch.equal(before["model.layers.0.self_attn.q_proj.weight"], after["model.layers.0.self_attn.q_proj.weight"])
    assert all(torch.equal(before[name], after[name]) for name in before if name.startswith("visual."))


def test_beta_zero_loads_no_reference_and_logs_no_kl(tiny_qwen25_vl_path, data, tmp_path, monkeypatch):
    import videofocus.models

    loads = []
    original = videofocus.models.load_model
    monkeypatch.setattr(videofocus.models, "load_model", lambda *a, **k: loads.append(a) or original(*a, **k))
    out = train_grpo(_config(tiny_qwen25_vl_path, tmp_path / "beta0", data, beta=0.0, max_steps=1),
                     reward_fn=digit_reward)
    assert len(loads) == 1
    assert "kl" not in read_metrics(out / "metrics.jsonl")[0]


def test_fsdp_with_shared_visual_features_is_refused_before_the_model_loads(tiny_qwen25_vl_path, data, tmp_path,
                                                                           monkeypatch):
    from accelerate import Accelerator
    from accelerate.utils import DistributedType

    import videofocus.models

    monkeypatch.setattr(Accelerator, "distributed_type", property(lambda self: DistributedType.FSDP))
    monkeypatch.setattr(videofocus.models, "load_model", lambda *args, **kwargs: pytest.fail("the model loaded"))
    with pytest.raises(ConfigError, match="'share_visual_features': FSDP cannot"):
        train_grpo(_config(tiny_qwen25_vl_path, tmp_path / "fsdp", data), reward_fn=digit_reward)


class FlatAtFirst:
    """digit_reward, except that the first `calls` completions all earn 0.5 (their groups carry no
    signal); records the task of every sample it scores."""

    def __init__(self, calls: int):
        self.calls, self.tasks = calls, []

    def __call__(self, sample, prediction):
        self.tasks.append(sample.task)
        result = digit_reward(sample, prediction)
        return result if len(self.tasks) > self.calls else type(result)({}, 0.5, prediction)


DYNAMIC = dict(per_device_batch_size=8, gradient_accumulation_steps=1, dynamic_sampling=True,
               dynamic_sampling_max_rounds=3)
ROLLOUT = 8     # completions per rollout: 2 prompts × G=4


def test_dynamic_sampling_keeps_groups_with_reward_spread(tiny_qwen25_vl_path, data, tmp_path):
    plain = train_grpo(_config(tiny_qwen25_vl_path, tmp_path / "plain", data, **dict(DYNAMIC, dynamic_sampling=False),
                               max_steps=1),
                       reward_fn=FlatAtFirst(ROLLOUT))
    (record,) = read_metrics(plain / "metrics.jsonl")
    assert record["zero_spread_share"] == 1.0 and "rollouts" not in record
    dynamic = train_grpo(_config(tiny_qwen25_vl_path, tmp_path / "dynamic", data, **DYNAMIC, max_steps=2),
                         reward_fn=FlatAtFirst(ROLLOUT))
    records = read_metrics(dynamic / "metrics.jsonl")
    assert all(record["zero_spread_share_kept"] == 0.0 for record in records)
    assert records[0]["zero_spread_share"] == 1.0 and records[0]["rollouts"] > 1


def test_dynamic_sampling_refills_a_single_task_step_from_its_task(tiny_qwen25_vl_path, data, tmp_path):
    config = _config(tiny_qwen25_vl_path, tmp_path / "single", data, **DYNAMIC, single_task_batches=True, seed=1,
                     max_steps=1)
    tasks = [item.sample.task for item in load_training_samples(config.datasets)]
    batches = BatchOrder(tasks, 2, seed=1, single_task_batches=True).epoch(0)
    assert tasks[batches[0][0]] != tasks[batches[1][0]]     # the next global batch is of another task
    reward = FlatAtFirst(ROLLOUT)
    out = train_grpo(config, reward_fn=reward)
    (record,) = read_metrics(out / "metrics.jsonl")
    assert record["rollouts"] > 1 and record["zero_spread_share_kept"] == 0.0
    assert set(reward.tasks) == {tasks[batches[0][0]]}


def test_output_folder_loads_and_logs_every_metric(tiny_qwen25_vl_path, data, tmp_path):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    out = train_grpo(_config(tiny_qwen25_vl_path, tmp_path / "run", data, tensorboard=True, max_steps=1),
                     reward_fn=digit_reward)
    model = AutoModelForImageTextToText.from_pretrained(out)
    AutoProcessor.from_pretrained(out)
    assert model.config.model_type == "qwen2_5_vl"
    # The rollout's left padding is not saved as the tokenizer's default: its file is the base model's.
    assert (out / "tokenizer.json").read_bytes() == (tiny_qwen25_vl_path / "tokenizer.json").read_bytes()
    (record,) = read_metrics(out / "metrics.jsonl")
    for name in ("reward", "reward_std", "rewards/digits/mean", "rewards/digits/std", "rewards/format/mean", "kl",
                 "clip_fraction", "entropy", "completion_length", "zero_spread_share", "loss", "learning_rate"):
        assert name in record, name
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert json.loads(json.dumps(record)) == record


def test_image_loop_views_become_prompts_of_their_own(tiny_qwen25_vl_path, tmp_path, monkeypatch):
    import videofocus.train.grpo as grpo

    images_seen = []
    original = grpo.Policy.sample_groups

    def recording(self, examples):
        images_seen.extend((e.item.sample.id, len(e.inputs.visual["image_grid_thw"])) for e in examples)
        return original(self, examples)

    monkeypatch.setattr(grpo.Policy, "sample_groups", recording)
    data = write_image_samples(tmp_path / "images", 2)
    settings = dict(num_generations=2, per_device_batch_size=4, max_completion_length=4, max_steps=2,
                    image_loop_views=True)
    train_grpo(grpo_config(tiny_qwen25_vl_path, tmp_path / "out", [data], **settings), reward_fn=digit_reward)
    ids = sorted({sample_id for sample_id, _ in images_seen})
    # Each image as itself and as the loop's round-2 view: the full image plus a crop of its box.
    assert len(ids) == 2 and set(images_seen) == {(sample_id, count) for sample_id in ids for count in (1, 2)}
    with pytest.raises(ConfigError, match="image_loop_views"):
        grpo_config(tiny_qwen25_vl_path, tmp_path / "multi", [data], **settings, rollout_rounds=2).validate()
