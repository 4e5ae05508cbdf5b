"""Model-side pieces of the trainer: per-token log-probs of completions under exactly the visual input
the rollout saw, and the vision encoder run once per prompt (shared by its G completions)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from videofocus.train.batch import MODALITY_PIXEL_KEYS, ModelBatch, PromptInputs, VisualFeatures


@torch.no_grad()
def encode_visual(model: torch.nn.Module, prompts: Sequence[PromptInputs]) -> None:
    """Run the vision encoder once over all `prompts` (one batched call per modality) and store each
    prompt's share in `prompt.features`. Only valid while the vision module is frozen: the features
    are reused, detached, by every later forward of the step."""
    for modality, (pixel_key, grid_key) in MODALITY_PIXEL_KEYS.items():
        owners = [prompt for prompt in prompts if pixel_key in prompt.visual]
        if not owners:
            continue
        encode = getattr(model, f"get_{modality}_features")
        output = encode(torch.cat([p.visual[pixel_key] for p in owners]),
                        torch.cat([p.visual[grid_key] for p in owners]), return_dict=True)
        deepstack = getattr(output, "deepstack_features", None)
        start = 0
        for prompt in owners:
            count = len(prompt.visual[grid_key])
            items = slice(start, start + count)
            fields = {"pooler_output": tuple(output.pooler_output[items])}
            if deepstack is not None:
                fields["deepstack_features"] = [tuple(layer[items]) for layer in deepstack]
            known = prompt.features.outputs if prompt.features is not None else {}
            prompt.features = VisualFeatures({**known, modality: type(output)(**fields)})
            start += count


def completion_logprobs(model: torch.nn.Module, batch: ModelBatch, *, temperature: float = 1.0,
                        with_entropy: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probs (B, C) of the completion tokens under `model` at `temperature`, and optionally the
    entropy of each position's distribution (no gradient). Padding positions hold 0.

    Only the completion positions go through the LM head. Positions: the model builds its 3-D
    (mRoPE) positions from the grids and `mm_token_type_ids`, exactly as `generate` does; a batch
    without visual input gets attention-mask positions, again as `generate` does."""
    completion_length = batch.completion_mask.shape[1]
    inputs = dict(batch.inputs)
    if not any(key in inputs for key in ("image_grid_thw", "video_grid_thw")):
        mask = inputs["attention_mask"]
        inputs["position_ids"] = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)
    logits = model(**inputs, use_cache=False, logits_to_keep=completion_length + 1).logits[:, :-1]
    logps, entropy = token_logprobs(logits, batch.completion_ids, temperature=temperature, with_entropy=with_entropy)
    mask = batch.completion_mask.bool()
    return logps.masked_fill(~mask, 0.0), None if entropy is None else entropy.masked_fill(~mask, 0.0)


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor, *, temperature: float = 1.0,
                   with_entropy: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """log softmax(logits / T)[target] per position, computed one row at a time in float32 so the
    (B, C, vocab) float32 tensor is never built whole."""
    logps, entropies = [], []
    for row_logits, row_targets in zip(logits, targets):
        scaled = row_logits.float() / temperature
        normaliser = torch.logsumexp(scaled, dim=-1)
        logps.append(scaled.gather(-1, row_targets.unsqueeze(-1)).squeeze(-1) - normaliser)
        if with_entropy:
            with torch.no_grad():
                probs = torch.softmax(scaled, dim=-1)
                entropies.append(normaliser - (probs * scaled).sum(-1))
    return torch.stack(logps), torch.stack(entropies) if with_entropy else None
