"""Rollouts: G sampled completions per prompt with HF `generate`.

Sampling is pure (temperature, optional top-p/top-k; the checkpoint's own generation defaults — Qwen's
are near-greedy — are overridden), stops at any stop token, and never emits the vision special tokens:
a sampled `<|video_pad|>` would make the next forward fail ("video features and video tokens do not
match"), so they are suppressed (SPEC, library facts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from videofocus.train.batch import Completion, PromptInputs, collate
from videofocus.train.policy import token_logprobs

VISION_SPECIAL_TOKENS = ("<|video_pad|>", "<|image_pad|>", "<|vision_start|>", "<|vision_end|>")


@dataclass(frozen=True)
class SpecialTokens:
    """Token ids the rollout needs from the tokenizer."""

    pad: int
    stop: tuple[int, ...]          # any of these ends a completion (kept as its last token)
    suppressed: tuple[int, ...]    # never sampled

    @classmethod
    def from_tokenizer(cls, tokenizer, generation_config=None) -> SpecialTokens:
        """Stop on the tokenizer's EOS and every EOS the model's generation config declares (Qwen:
        `<|im_end|>` and `<|endoftext|>`); suppress the vision tokens the vocabulary has."""
        stop = [tokenizer.eos_token_id]
        declared = getattr(generation_config, "eos_token_id", None)
        stop += declared if isinstance(declared, list) else [declared] if declared is not None else []
        vocab = tokenizer.get_vocab()
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        return cls(pad=pad, stop=tuple(dict.fromkeys(token for token in stop if token is not None)),
                   suppressed=tuple(vocab[token] for token in VISION_SPECIAL_TOKENS if token in vocab))


@dataclass(frozen=True)
class SamplingParams:
    num_generations: int
    max_completion_length: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0                 # 0: no top-k cut


@torch.no_grad()
def generate_completions(model, prompts: Sequence[PromptInputs], params: SamplingParams, tokens: SpecialTokens, *,
                         encode_per_completion: bool = False, with_logprobs: bool = False,
                         first_group: int = 0) -> list[Completion]:
    """Sample `params.num_generations` completions for each prompt, grouped: completion i belongs to
    prompt i // G, numbered as group `first_group + i // G`. `model` is the unwrapped policy (in eval
    mode, under the caller's autocast).

    Prompts carrying cached `features` skip the vision encoder. Otherwise each prompt is encoded once
    and expanded to its G rows, unless `encode_per_completion` repeats the prompt G times before
    generation (one encoding per completion, as TRL does; kept for comparison and benchmarks).
    `with_logprobs` also returns the sampler's log-probs of the chosen tokens (raw logits at the
    sampling temperature, before the suppression mask)."""
    group_size = params.num_generations
    rows = [prompt for prompt in prompts for _ in range(group_size)] if encode_per_completion else list(prompts)
    use_features = all(prompt.features is not None for prompt in rows if prompt.has_visual)
    batch = collate(rows, pad_token_id=tokens.pad, use_features=use_features)
    output = model.generate(
        **batch.inputs, do_sample=True, num_beams=1, temperature=params.temperature, top_p=params.top_p,
        top_k=params.top_k, repetition_penalty=1.0, max_new_tokens=params.max_completion_length,
        num_return_sequences=1 if encode_per_completion else group_size, eos_token_id=list(tokens.stop),
        pad_token_id=tokens.pad, suppress_tokens=list(tokens.suppressed) or None,
        return_dict_in_generate=True, output_logits=with_logprobs)
    sampled = output.sequences[:, batch.prompt_length:]
    logps = None
    if with_logprobs:
        logps, _ = token_logprobs(torch.stack(output.logits, dim=1), sampled, temperature=params.temperature)
    completions = []
    for row, ids in enumerate(sampled):
        length, truncated = _completion_length(ids, tokens.stop)
        completions.append(Completion(prompt=prompts[row // group_size], ids=ids[:length].clone(),
                                      group=first_group + row // group_size, truncated=truncated,
                                      sampling_logps=None if logps is None else logps[row, :length]))
    return completions


def _completion_length(ids: torch.Tensor, stop: Sequence[int]) -> tuple[int, bool]:
    """Tokens up to and including the first stop token; (all of them, True) when none was sampled."""
    is_stop = torch.isin(ids, torch.tensor(stop, device=ids.device))
    if is_stop.any():
        return int(is_stop.nonzero()[0, 0]) + 1, False
    return len(ids), True
