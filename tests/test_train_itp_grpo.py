"""Multi-round GRPO end to end on a tiny Qwen2.5-VL: with LoRA and gradient accumulation it resumes
after a crash to the same weights, micro-batches mixing rounds give the update of one large batch,
per-round metrics are logged, and a tracking sample (whose frames its track fixes) rolls out one round."""

from __future__ import annotations

import json

import pytest
import torch

import videofocus.train.grpo as grpo
import videofocus.train.itp as itp
from test_train_grpo import CrashAfter
from train_helpers import digit_reward, grpo_config, load_weights, one_torch_thread  # noqa: F401 (fixture)
from train_itp_helpers import FORCED_TEXT, forced_first_round, write_long_videos
from videofocus.models import load_model
from videofocus.train.loss import clipped_objective
from videofocus.train.token_masks import without_blocks
from videofocus.train.grpo import train_grpo
from videofocus.train.logging import read_metrics

ITP = dict(rollout_rounds=2, num_generations=2, max_completion_length=6)   # 2 prompts × 2 × 2 rounds per step


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    return write_long_videos(tmp_path_factory.mktemp("itp_grpo"), 6, seconds=8)


def test_lora_with_accumulation_resumes_after_a_crash_to_the_same_weights(tiny_qwen25_vl_path, videos, tmp_path):
    settings = dict(ITP, use_lora=True, lora_r=4, learning_rate=0.05, per_device_batch_size=4,
                    gradient_accumulation_steps=2, max_steps=3, save_steps=1)
    straight = train_grpo(grpo_config(tiny_qwen25_vl_path, tmp_path / "straight", [videos], **settings),
                          reward_fn=digit_reward)
    crashed = grpo_config(tiny_qwen25_vl_path, tmp_path / "crashed", [videos], **settings)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_grpo(crashed, reward_fn=CrashAfter(8 + 3))     # 8 scored rounds per step: dies in step 2
    resumed = train_grpo(crashed, resume=True, reward_fn=digit_reward)

    first, second = load_weights(straight), load_weights(resumed)
    assert all(torch.equal(first[name], second[name]) for name in first)
    query = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(first[query], load_weights(tiny_qwen25_vl_path)[query])   # the adapters were merged in
    metrics = read_metrics(straight / "metrics.jsonl")
    assert metrics == read_metrics(resumed / "metrics.jsonl")
    assert len(metrics) == 3 and {"itp/round1/reward", "itp/round2/reward", "itp/round2/fallback_share",
                                  "itp/round2/digits"} <= metrics[0].keys()
    # digit_reward has no clue reward, so both rounds are credited with the final round's total
    assert metrics[0]["reward"] == pytest.approx(metrics[0]["itp/round2/reward"])


def test_micro_batches_mixing_rounds_give_the_update_of_one_large_batch(tiny_qwen25_vl_path, videos, tmp_path):
    outputs = [train_grpo(grpo_config(tiny_qwen25_vl_path, tmp_path / f"ga{steps}", [videos], **ITP, max_steps=1,
                                      per_device_batch_size=8 // steps, gradient_accumulation_steps=steps),
                          reward_fn=digit_reward) for steps in (1, 2)]
    first, second = load_weights(outputs[0]), load_weights(outputs[1])
    assert max((first[name] - second[name]).abs().max().item() for name in first) < 1e-5


def test_a_tracking_sample_rolls_out_one_round_in_a_batch_with_looped_samples(tiny_qwen25_vl_path, tmp_path,
                                                                              monkeypatch):
    root = tmp_path / "mixed"
    looped = json.loads(write_long_videos(root, 1, seconds=8).read_text())
    track = {"id": "t/0", "task": "tracking", "question": "the square",
             "media": {"type": "video", "path": "long0_0.mp4", "duration": 8.0, "width": 56, "height": 56},
             "clue": {"track": [{"t": 0.0, "box": [1, 1, 9, 9]}, {"t": 1.0, "box": [2, 2, 10, 10]}]}}
    (root / "mixed.jsonl").write_text(json.dumps(looped) + "\n" + json.dumps(track) + "\n")
    sampled = []

    def recording(policy, examples):
        groups = real(policy, examples)
        sampled.extend((group.example.item.sample.task, group.round, len(group.completions)) for group in groups)
        return groups

    real = itp.IterativePolicy.sample_groups
    monkeypatch.setattr(itp.IterativePolicy, "sample_groups", recording)
    output = train_grpo(grpo_config(tiny_qwen25_vl_path, tmp_path / "out", [root / "mixed.jsonl"], **ITP,
                                    per_device_batch_size=8, gradient_accumulation_steps=1, max_steps=1),
                        reward_fn=digit_reward)

    assert sorted(sampled) == [("grounded_qa", 1, 2), ("grounded_qa", 2, 2), ("tracking", 1, 2)]
    metrics = read_metrics(output / "metrics.jsonl")[0]
    assert {"itp/round1/reward", "itp/round2/reward"} <= metrics.keys()


def test_an_early_round_answer_block_is_cut_out_to_the_token(tiny_qwen3_vl_path):
    tokenizer = load_model(tiny_qwen3_vl_path, device="cpu")[1].tokenizer
    text = "<think>It turns blue.</think><clue>[(3.0, 5.5)]</clue><answer>B</answer>"
    ids = torch.tensor(tokenizer(text, add_special_tokens=False).input_ids + [tokenizer.eos_token_id])
    mask = without_blocks(ids, tokenizer, ["answer"]).bool()
    assert tokenizer.decode(ids[~mask]) == "<answer>B</answer>"
    assert tokenizer.decode(ids[mask], skip_special_tokens=True) == text.removesuffix("<answer>B</answer>")
    assert mask[-1]                                                    # the stop token is still trained

    for kept_whole in ("<answer>[(3.0, 5.5)]</answer>",                # the answer is the clue
                       "<clue>[(3.0, 5.5)]</clue><answer>B"):          # no complete answer block
        assert without_blocks(torch.tensor(tokenizer(kept_whole).input_ids), tokenizer, ["answer"]) is None


@pytest.mark.parametrize("early_answer_loss", [False, True])
def test_rounds_before_the_last_train_their_answer_only_when_asked(early_answer_loss, tiny_qwen25_vl_path, videos,
                                                                   tmp_path, monkeypatch):
    tokenizer = load_model(tiny_qwen25_vl_path, device="cpu")[1].tokenizer
    forced = tokenizer(FORCED_TEXT, add_special_tokens=False).input_ids
    monkeypatch.setattr(itp, "generate_completions", forced_first_round(itp.generate_completions, tokenizer,
                                                                        tokenizer.eos_token_id))
    masks = []

    def recording(logps, old, advantages, mask, **kwargs):
        masks.append(mask.clone())
        return clipped_objective(logps, old, advantages, mask, **kwargs)

    monkeypatch.setattr(grpo, "clipped_objective", recording)
    settings = dict(ITP, max_completion_length=len(forced) + 1, max_steps=1, itp_early_answer_loss=early_answer_loss)
    config = grpo_config(tiny_qwen25_vl_path, tmp_path / "out", [videos], **settings)
    train_grpo(config, reward_fn=digit_reward)

    rows = [row for mask in masks for row in mask]
    ids = torch.tensor(forced + [tokenizer.eos_token_id])
    cut = without_blocks(ids, tokenizer, ["answer"])
    cut_rows = [row for row in rows if torch.equal(row[:len(ids)], cut) and not row[len(ids):].any()]
    assert len(rows) == 8 and len(cut_rows) == (0 if early_answer_loss else 4)   # round 1: 2 prompts × G = 2
