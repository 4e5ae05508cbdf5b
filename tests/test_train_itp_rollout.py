"""Multi-round rollouts: round j+1 sees the clip re-sampled around round j's own clue, and the loss
forward of round j's completions, fed round j's visual input, gives the log-probs its rollout sampled
them with."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import videofocus.train.itp as itp
from train_helpers import digit_reward, grpo_config, one_torch_thread, write_image_samples  # noqa: F401 (fixture)
from train_itp_helpers import CLUE, FORCED_TEXT, forced_first_round, write_long_videos
from videofocus.backends.base import box_convention_for
from videofocus.media.video import read_frames
from videofocus.models import load_model
from videofocus.models.inputs import Prompt, encode_prompts
from videofocus.parsing import Prediction
from videofocus.rewards import RewardResult, resolve_weights
from videofocus.schema import Sample
from videofocus.train.batch import PromptInputs, collate
from videofocus.train.data import load_training_samples
from videofocus.train.evidence_gate import withhold_unseen_accuracy
from videofocus.train.policy import completion_logprobs
from videofocus.train.rollout import SpecialTokens

ROUNDS = 3
G = 2


@pytest.fixture(scope="module")
def long_videos(tmp_path_factory):
    return write_long_videos(tmp_path_factory.mktemp("itp_videos"), 2)


def _rollout(model_path, data, tmp_path, monkeypatch, *, share: bool, text: str = FORCED_TEXT,
             reward_fn=digit_reward, gate=None):
    """Three rounds for each sample × G trajectories; round 1 says `text`, rounds 2-3 are sampled."""
    model, processor = load_model(model_path, device="cpu")
    config = grpo_config(model_path, tmp_path / "out", [data], num_generations=G, per_device_batch_size=G * ROUNDS,
                         gradient_accumulation_steps=2, max_completion_length=8, temperature=0.8,
                         rollout_rounds=ROUNDS)
    tokens = SpecialTokens.from_tokenizer(processor.tokenizer, model.generation_config)
    monkeypatch.setattr(itp, "generate_completions",
                        forced_first_round(itp.generate_completions, processor.tokenizer, tokens.stop[0], text))
    backend = itp.RolloutBackend(model, processor, config, tokens, box_convention_for(model.config.model_type),
                                 share_features=share, device="cpu", with_logprobs=True)
    torch.manual_seed(0)
    groups = itp.sample_trajectories(backend, load_training_samples(config.datasets), itp.perception_options(config),
                                     reward_fn, gate=gate)
    return model, processor, config, tokens, groups


def _logps(model, completions, prompts: list[PromptInputs], pad: int, share: bool) -> torch.Tensor:
    batch = collate(prompts, [c.ids for c in completions], pad_token_id=pad, use_features=share)
    with torch.no_grad():
        return completion_logprobs(model, batch, temperature=0.8)[0]


@pytest.mark.parametrize("arch,share", [("qwen2_5_vl", True), ("qwen3_vl", False)])
def test_round_logprobs_match_the_rollout_with_their_own_visual_input(arch, share, long_videos, tmp_path,
                                                                     monkeypatch, request):
    model_path = request.getfixturevalue(f"tiny_{arch.replace('2_5', '25')}_path")
    model, _, _, tokens, groups = _rollout(model_path, long_videos, tmp_path, monkeypatch, share=share)
    trajectories = [t for group in groups for t in group]
    assert len(trajectories) == 2 * G and all(len(t.completions) == ROUNDS for t in trajectories)

    # All sampled rounds of all trajectories in ONE batch, as a micro-batch mixes them.
    sampled = [c for t in trajectories for c in t.completions[1:]]
    logps = _logps(model, sampled, [c.prompt for c in sampled], tokens.pad, share)
    for row, completion in enumerate(sampled):
        torch.testing.assert_close(logps[row, :len(completion.ids)], completion.sampling_logps, atol=1e-4, rtol=0)

    # The same round-2 completions read with round 1's visual input get other log-probs: the check
    # above would fail if the loss fed round 1's input.
    second = [t.completions[1] for t in trajectories]
    wrong = _logps(model, second, [t.completions[0].prompt for t in trajectories], tokens.pad, share)
    right = _logps(model, second, [c.prompt for c in second], tokens.pad, share)
    assert not torch.allclose(wrong, right, atol=1e-3)


def test_round_two_sees_a_clip_dense_inside_round_one_clue(tiny_qwen25_vl_path, long_videos, tmp_path, monkeypatch):
    _, processor, config, _, groups = _rollout(tiny_qwen25_vl_path, long_videos, tmp_path, monkeypatch, share=True)
    trajectory = groups[0][0]
    first, second = trajectory.perception.rounds[:2]
    assert first.intervals == [CLUE] and second.fallback is None and second.view.focus == (CLUE,)

    def inside(view) -> np.ndarray:
        times = np.array(view.timestamps)
        return times[(times >= CLUE[0]) & (times <= CLUE[1])]

    assert len(first.view.timestamps) == len(second.view.timestamps) == 8   # the same frame budget
    assert len(inside(second.view)) >= 4 > len(inside(first.view))
    assert np.diff(inside(second.view)).max() < np.diff(np.array(first.view.timestamps)).min()

    # The tensors round 2 was sampled from are exactly those frames, and differ from round 1's.
    round1, round2 = (c.prompt.visual for c in trajectory.completions[:2])
    clip = read_frames(str(load_training_samples(config.datasets)[0].media_path), list(second.view.frame_indices))
    expected = encode_prompts(processor, [Prompt(text="x", video=clip)], video_min_pixels=config.video_min_pixels,
                              video_max_pixels=config.video_max_pixels)
    torch.testing.assert_close(round2["pixel_values_videos"], expected["pixel_values_videos"])
    torch.testing.assert_close(round2["second_per_grid_ts"], expected["second_per_grid_ts"])
    assert not torch.equal(round1["pixel_values_videos"], round2["pixel_values_videos"])


def test_round_one_prompts_of_a_sample_are_encoded_once(tiny_qwen25_vl_path, long_videos, tmp_path, monkeypatch):
    _, _, _, _, groups = _rollout(tiny_qwen25_vl_path, long_videos, tmp_path, monkeypatch, share=True)
    for group in groups:
        firsts = {id(t.completions[0].prompt) for t in group}
        seconds = {id(t.completions[1].prompt) for t in group}
        assert len(firsts) == 1                       # one shared PromptInputs, features encoded once
        assert firsts.isdisjoint(seconds)
        assert group[0].completions[0].prompt.features is not None


def test_image_rounds_show_the_full_image_and_a_crop_of_the_previous_box(tiny_qwen25_vl_path, tmp_path, monkeypatch):
    images = write_image_samples(tmp_path / "images", 1)
    box = [4.0, 8.0, 30.0, 40.0]     # the samples' own box: round 1 is exactly right
    _, _, _, _, groups = _rollout(tiny_qwen25_vl_path, images, tmp_path, monkeypatch, share=True,
                                  text=f"<think>x</think><answer>{box}</answer>")
    trajectory = groups[0][0]
    first, second = (c.prompt.visual["image_grid_thw"] for c in trajectory.completions[:2])
    assert len(first) == 1 and len(second) == 2                   # full image, then full image + crop
    assert trajectory.perception.rounds[1].view.crops and trajectory.perception.rounds[1].fallback is None
    assert trajectory.rewards[0].prediction.boxes == [box]        # 56 x 56 seen at 56 x 56: original pixels


def always_right(sample: Sample, prediction: Prediction) -> RewardResult:
    return RewardResult(values={"format": 1.0, "accuracy": 1.0}, total=2.0, prediction=prediction)


def test_the_gate_takes_accuracy_from_exactly_the_rounds_whose_frames_miss_the_evidence(tiny_qwen25_vl_path,
                                                                                      long_videos, tmp_path,
                                                                                      monkeypatch):
    flash = (6.0, 7.0)       # 2 frames at 2 fps inside round 1's clue (6-9 s): uniform frames step over them
    records = [json.loads(line) for line in long_videos.read_text().splitlines()]
    flashing = long_videos.with_name("flashing.jsonl")
    flashing.write_text("".join(json.dumps({**record, "meta": {"flash_start": flash[0], "flash_end": flash[1]}}) + "\n"
                                for record in records))
    weights = resolve_weights(None)
    _, _, _, _, groups = _rollout(tiny_qwen25_vl_path, flashing, tmp_path, monkeypatch, share=True,
                                  reward_fn=always_right,
                                  gate=lambda sample, view, result: withhold_unseen_accuracy(sample, view, result,
                                                                                             weights))
    shown = []
    for trajectory in (t for group in groups for t in group):
        for round_, reward in zip(trajectory.perception.rounds, trajectory.rewards):
            seen = any(flash[0] <= time < flash[1] for time in round_.view.timestamps)
            shown.append((round_.round, seen))
            assert reward.values["accuracy"] == float(seen) and reward.total == 1.0 + seen
    assert {seen for number, seen in shown if number == 1} == {False}     # uniform frames never show the flash
    assert {seen for number, seen in shown if number == 2} == {True}      # round 2 is dense inside the clue
