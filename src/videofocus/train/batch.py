"""The units the trainer moves around, and how they become model inputs.

`PromptInputs` is one prompt exactly as the processor encoded it (its token ids and its own visual
tensors). `Completion` is one sampled continuation of one prompt: the unit the loss consumes, carrying
the visual input the rollout saw. A later multi-round rollout adds completions whose prompts hold
re-sampled clips; nothing downstream changes. `collate` turns a list of them into one padded model
batch: prompts LEFT-padded (so every completion starts at the same column), completions RIGHT-padded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from transformers.utils import ModelOutput

TEXT_KEYS = ("input_ids", "attention_mask", "mm_token_type_ids")
# Processor outputs that carry pixels; the rest of the visual keys (grids, second_per_grid_ts) are
# cheap metadata the model needs for positions even when the encoder outputs are cached.
PIXEL_KEYS = ("pixel_values", "pixel_values_videos")
MODALITY_PIXEL_KEYS = {"image": ("pixel_values", "image_grid_thw"), "video": ("pixel_values_videos", "video_grid_thw")}


@dataclass(frozen=True)
class VisualFeatures:
    """One prompt's vision-encoder outputs per modality ("image", "video"): the merged embeddings (one
    tensor per image / video) and, for Qwen3-VL, the deepstack features (per layer, one tensor per item).
    This is what a Qwen-VL forward reads from `mm_encoder_outputs` instead of running the encoder."""

    outputs: dict[str, ModelOutput]


@dataclass
class PromptInputs:
    """One prompt's model inputs as the processor made them, without padding."""

    input_ids: torch.Tensor                         # (L,) token ids
    mm_token_type_ids: torch.Tensor | None          # (L,) 0 text, 1 image, 2 video; None for text-only models
    visual: dict[str, torch.Tensor] = field(default_factory=dict)  # pixel values, grids, second_per_grid_ts
    features: VisualFeatures | None = None          # cached encoder outputs, set when the vision module is frozen

    @classmethod
    def from_encoded(cls, encoded: Mapping[str, Any]) -> PromptInputs:
        """Build from a processor output holding exactly ONE prompt (batch of one); strips its padding."""
        input_ids = encoded["input_ids"]
        if input_ids.dim() != 2 or input_ids.shape[0] != 1:
            raise ValueError(f"expected the encoding of one prompt, got input_ids of shape {tuple(input_ids.shape)}")
        keep = encoded["attention_mask"][0].bool() if "attention_mask" in encoded else torch.ones_like(input_ids[0], dtype=torch.bool)
        token_types = encoded.get("mm_token_type_ids")
        visual = {key: value for key, value in encoded.items()
                  if key not in TEXT_KEYS and isinstance(value, torch.Tensor)}
        return cls(input_ids=input_ids[0][keep], visual=visual,
                   mm_token_type_ids=None if token_types is None else token_types[0][keep])

    @property
    def has_visual(self) -> bool:
        return any(key in self.visual for key in PIXEL_KEYS)

    def to(self, device: torch.device | str) -> PromptInputs:
        return replace(self, input_ids=self.input_ids.to(device),
                       mm_token_type_ids=None if self.mm_token_type_ids is None else self.mm_token_type_ids.to(device),
                       visual={key: value.to(device) for key, value in self.visual.items()})


@dataclass
class Completion:
    """One sampled completion of one prompt: the unit the loss consumes."""

    prompt: PromptInputs
    ids: torch.Tensor               # (C,) sampled tokens up to and including the stop token
    group: int                      # index of its prompt in the rollout; a group's completions share the prompt
    truncated: bool                 # reached max_completion_length without a stop token
    sampling_logps: torch.Tensor | None = None  # (C,) log-probs the sampler gave these tokens, when asked for
    trained_tokens: torch.Tensor | None = None  # (C,) 1 on the tokens that enter the loss; None: all of them


@dataclass
class ModelBatch:
    """A padded batch ready for the model: `inputs` are forward kwargs; completions start at column
    `prompt_length` and `completion_mask` marks their real tokens."""

    inputs: dict[str, Any]
    prompt_length: int
    completion_mask: torch.Tensor   # (B, C)

    @property
    def completion_ids(self) -> torch.Tensor:
        return self.inputs["input_ids"][:, self.prompt_length:]

    def __len__(self) -> int:
        return self.inputs["input_ids"].shape[0]


def collate(prompts: Sequence[PromptInputs], completions: Sequence[torch.Tensor] | None = None, *,
            pad_token_id: int, use_features: bool = False,
            trained_tokens: Sequence[torch.Tensor | None] | None = None) -> ModelBatch:
    """Pad prompts on the left and `completions` (one per prompt, or None for generation) on the right.
    `trained_tokens[i]`, a 0/1 mask of completion i's tokens (None: all), narrows its `completion_mask`
    to the tokens that enter the loss.

    Visual tensors are concatenated in row order (one copy per row: a prompt with G completions
    appears G times). With `use_features` every prompt must carry cached `features`: the batch then
    passes `mm_encoder_outputs` and only the grids, and the vision encoder does not run."""
    if completions is not None and len(completions) != len(prompts):
        raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
    device = prompts[0].input_ids.device
    prompt_length = max(len(prompt.input_ids) for prompt in prompts)
    completion_length = max((len(ids) for ids in completions), default=0) if completions is not None else 0
    rows, masks, types = [], [], []
    completion_mask = torch.zeros(len(prompts), completion_length, dtype=torch.long, device=device)
    for row, prompt in enumerate(prompts):
        left = prompt_length - len(prompt.input_ids)
        completion = completions[row] if completions is not None else prompt.input_ids[:0]
        right = completion_length - len(completion)
        rows.append(torch.cat([_full(left, pad_token_id, device), prompt.input_ids, completion,
                               _full(right, pad_token_id, device)]))
        masks.append(torch.cat([_full(left, 0, device), _full(len(prompt.input_ids), 1, device),
                                _full(len(completion), 1, device), _full(right, 0, device)]))
        trained = None if trained_tokens is None else trained_tokens[row]
        completion_mask[row, :len(completion)] = 1 if trained is None else trained.to(completion_mask)
        if prompt.mm_token_type_ids is not None:
            types.append(torch.cat([_full(left, 0, device), prompt.mm_token_type_ids.long(),
                                    _full(len(completion) + right, 0, device)]))
    inputs: dict[str, Any] = {"input_ids": torch.stack(rows), "attention_mask": torch.stack(masks)}
    if types:
        if len(types) != len(prompts):
            raise ValueError("either every prompt has mm_token_type_ids or none does")
        inputs["mm_token_type_ids"] = torch.stack(types)
    inputs.update(_visual_inputs(prompts, use_features))
    return ModelBatch(inputs=inputs, prompt_length=prompt_length, completion_mask=completion_mask)


def _full(length: int, value: int, device: torch.device) -> torch.Tensor:
    return torch.full((length,), value, dtype=torch.long, device=device)


def _visual_inputs(prompts: Sequence[PromptInputs], use_features: bool) -> dict[str, Any]:
    keys = sorted({key for prompt in prompts for key in prompt.visual})
    if use_features:
        keys = [key for key in keys if key not in PIXEL_KEYS]
    inputs: dict[str, Any] = {key: torch.cat([p.visual[key] for p in prompts if key in p.visual]) for key in keys}
    if use_features:
        with_visual = [prompt for prompt in prompts if prompt.has_visual]
        if any(prompt.features is None for prompt in with_visual):
            raise ValueError("use_features needs every prompt's visual features encoded (encode_visual)")
        if with_visual:
            inputs["mm_encoder_outputs"] = merge_features([prompt.features for prompt in with_visual])
    return inputs


def merge_features(features: Sequence[VisualFeatures]) -> dict[str, ModelOutput]:
    """Concatenate per-prompt encoder outputs in row order into fresh `mm_encoder_outputs` (fresh because
    `generate` rewrites the objects it is given)."""
    merged: dict[str, ModelOutput] = {}
    for modality in ("image", "video"):
        outputs = [item.outputs[modality] for item in features if modality in item.outputs]
        if not outputs:
            continue
        fields = {"pooler_output": tuple(tensor for output in outputs for tensor in output.pooler_output)}
        deepstack = getattr(outputs[0], "deepstack_features", None)
        if deepstack is not None:
            fields["deepstack_features"] = [tuple(tensor for output in outputs for tensor in output.deepstack_features[layer])
                                            for layer in range(len(deepstack))]
        merged[modality] = type(outputs[0])(**fields)
    return merged
