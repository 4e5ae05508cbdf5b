"""Rollouts with video: the log-probs the loss computes are the ones the sampler used; stop tokens end
completions; vision special tokens are never sampled; sharing the vision encoding changes nothing."""

from __future__ import annotations

import pytest
import torch

from train_helpers import grpo_config, one_torch_thread, write_image_samples, write_video_samples  # noqa: F401
from videofocus.models import load_model
from videofocus.train.batch import collate
from videofocus.train.data import load_training_samples, make_example
from videofocus.train.policy import completion_logprobs, encode_visual
from videofocus.train.rollout import SamplingParams, SpecialTokens, generate_completions

PARAMS = SamplingParams(num_generations=3, max_completion_length=10, temperature=0.8)


@pytest.fixture(scope="module")
def examples_factory(tmp_path_factory):
    """Examples (videos of 4 to 12 frames, so different lengths, and an image) for a model directory."""
    root = tmp_path_factory.mktemp("rollout_data")
    videos = write_video_samples(root, 3, seed=3)
    images = write_image_samples(root, 1, seed=3)

    def build(model_path, processor):
        config = grpo_config(model_path, root / "out", [videos, images])
        items = load_training_samples(config.datasets)
        return [make_example(item, processor, config, "cpu") for item in items]

    return build


def _stop_everywhere_but(tokenizer, keep: int) -> SpecialTokens:
    """Stop tokens that a random tiny model samples often, so completions end at different lengths."""
    tokens = SpecialTokens.from_tokenizer(tokenizer)
    frequent = tuple(range(300, 300 + keep))
    return SpecialTokens(pad=tokens.pad, stop=tokens.stop + frequent, suppressed=tokens.suppressed)


@pytest.mark.parametrize("arch", ["qwen2_5_vl", "qwen3_vl"])
@pytest.mark.parametrize("share", [False, True], ids=["per-completion", "shared-encoding"])
def test_training_logprobs_equal_rollout_logprobs_with_video(arch, share, examples_factory, request):
    model_path = request.getfixturevalue(f"tiny_{arch.replace('2_5', '25')}_path")
    model, processor = load_model(model_path, device="cpu")
    examples = examples_factory(model_path, processor)
    prompts = [example.inputs for example in examples]
    assert len({int(p.visual["video_grid_thw"][0, 0]) for p in prompts if "video_grid_thw" in p.visual}) > 1
    if share:
        encode_visual(model, prompts)
    tokens = _stop_everywhere_but(processor.tokenizer, 40)
    torch.manual_seed(0)
    completions = generate_completions(model, prompts, PARAMS, tokens, with_logprobs=True)

    assert len({len(c.ids) for c in completions}) > 1   # completions of different lengths in one batch
    batch = collate([c.prompt for c in completions], [c.ids for c in completions], pad_token_id=tokens.pad,
                    use_features=share)
    with torch.no_grad():
        logps, _ = completion_logprobs(model, batch, temperature=PARAMS.temperature)
    for row, completion in enumerate(completions):
        torch.testing.assert_close(logps[row, :len(completion.ids)], completion.sampling_logps, atol=1e-4, rtol=0)
        assert (logps[row, len(completion.ids):] == 0).all()


def test_shared_encoding_samples_the_same_completions(tiny_qwen25_vl_path, examples_factory):
    model, processor = load_model(tiny_qwen25_vl_path, device="cpu")
    prompts = [example.inputs for example in examples_factory(tiny_qwen25_vl_path, processor)]
    tokens = SpecialTokens.from_tokenizer(processor.tokenizer, model.generation_config)
    torch.manual_seed(0)
    per_completion = generate_completions(model, prompts, PARAMS, tokens, encode_per_completion=True)
    encode_visual(model, prompts)
    torch.manual_seed(0)
    shared = generate_completions(model, prompts, PARAMS, tokens)
    assert [c.ids.tolist() for c in per_completion] == [c.ids.tolist() for c in shared]
    assert [c.group for c in shared] == [i // PARAMS.num_generations for i in range(len(shared))]


class _LogitBias(torch.nn.Module):
    """lm_head followed by a fixed bias on some tokens' logits."""

    def __init__(self, head: torch.nn.Module, token_ids: list[int], bias: float):
        super().__init__()
        self.head, self.weight = head, head.weight
        self.register_buffer("bias", torch.zeros(head.weight.shape[0]))
        self.bias[token_ids] = bias

    def forward(self, hidden):
        return self.head(hidden) + self.bias


def test_stop_token_ends_completion_and_is_kept(tiny_qwen25_vl_path, examples_factory):
    model, processor = load_model(tiny_qwen25_vl_path, device="cpu")
    prompts = [example.inputs for example in examples_factory(tiny_qwen25_vl_path, processor)][:2]
    tokens = SpecialTokens.from_tokenizer(processor.tokenizer, model.generation_config)
    eos = processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.lm_head = _LogitBias(model.lm_head, [eos], 3.5)   # a few per cent per token
    torch.manual_seed(0)
    completions = generate_completions(model, prompts, PARAMS, tokens)
    finished = [c for c in completions if not c.truncated]
    assert finished and len(finished) < len(completions)
    assert len({len(c.ids) for c in finished}) > 1
    for completion in finished:
        assert int(completion.ids[-1]) == eos
        assert not (completion.ids[:-1] == eos).any()
    for completion in completions:
        if completion.truncated:
            assert len(completion.ids) == PARAMS.max_completion_length
            assert not (completion.ids == eos).any()


def test_vision_special_tokens_are_never_sampled(tiny_qwen25_vl_path, examples_factory):
    model, processor = load_model(tiny_qwen25_vl_path, device="cpu")
    prompts = [example.inputs for example in examples_factory(tiny_qwen25_vl_path, processor)][:2]
    tokens = SpecialTokens.from_tokenizer(processor.tokenizer, model.generation_config)
    vision = [processor.tokenizer.convert_tokens_to_ids(t)
              for t in ("<|video_pad|>", "<|image_pad|>", "<|vision_start|>", "<|vision_end|>")]
    assert sorted(tokens.suppressed) == sorted(vision)
    model.lm_head = _LogitBias(model.lm_head, vision, 10.0)   # the model now prefers them by far
    unsuppressed = SpecialTokens(pad=tokens.pad, stop=tokens.stop, suppressed=())
    torch.manual_seed(0)
    sampled = torch.cat([c.ids for c in generate_completions(model, prompts, PARAMS, unsuppressed)])
    assert torch.isin(sampled, torch.tensor(vision)).float().mean() > 0.5
    torch.manual_seed(0)
    sampled = torch.cat([c.ids for c in generate_completions(model, prompts, PARAMS, tokens)])
    assert not torch.isin(sampled, torch.tensor(vision)).any()
