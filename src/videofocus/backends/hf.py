"""Generation with Hugging Face transformers (CPU or GPU), batched over prompts.

Greedy by default. The vision special tokens are suppressed during generation: a sampled
`<|video_pad|>` / `<|image_pad|>` would break the next forward pass ("video features and video
tokens do not match", SPEC library facts). Vision features are reused across calls through
`VisionFeatureCache` (see there for why that is exact), and under greedy decoding a prompt that
comes with a draft (the previous round's output) is decoded by verifying the draft
(`backends.drafting`): together they make rounds 2+ of iterative perception cheap.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

import torch
from transformers import GenerationConfig

from videofocus.backends.base import BoxConvention, Generation, box_convention_for
from videofocus.backends.drafting import PreviousOutputCandidates, drafted_decoding
from videofocus.backends.feature_cache import VisionFeatureCache
from videofocus.errors import ConfigError

if TYPE_CHECKING:
    from videofocus.models.inputs import Prompt

_PIXEL_KEYS = ("pixel_values", "pixel_values_videos")
_VISION_TOKENS = ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>")


class HFBackend:
    """A transformers model and its processor behind the `Backend` protocol.

    max_new_tokens / do_sample / temperature / top_p: decoding (greedy unless `do_sample`).
    batch_size: prompts per `generate` call of the model.
    video_min_pixels / video_max_pixels / image_min_pixels / image_max_pixels: per-frame /
        per-image pixel limits for `encode_prompts` (None: its defaults, the papers' settings).
    video_total_pixels: `encode_prompts`' pixel budget for all the frames of a clip (None: none).
    cache_vision_features / feature_cache_bytes: reuse vision-encoder outputs across calls.
    use_drafts: under greedy decoding, decode prompts that come with a draft by verifying it.
        Transformers verifies one prompt at a time, which can cost more than batched decoding
        when the draft is poor, so None (the default) drafts only calls with a single prompt
        (one sample, as `videofocus infer`); True drafts every prompt, False none.
    box_convention: how the model writes boxes; None reads it from the model type.
    time_positions: Qwen2.5-VL video time positions: "mean" (one spacing per clip, the mean of its
        patches') or "exact" (each patch at its true time, `models.time_positions`). Qwen3-VL
        states the times as text and ignores it.
    """

    def __init__(self, model: Any, processor: Any, *, max_new_tokens: int = 1024, do_sample: bool = False,
                 temperature: float = 1.0, top_p: float = 1.0, batch_size: int = 4,
                 video_min_pixels: int | None = None, video_max_pixels: int | None = None,
                 video_total_pixels: int | None = None,
                 image_min_pixels: int | None = None, image_max_pixels: int | None = None,
                 cache_vision_features: bool = True, feature_cache_bytes: int = 1 << 30,
                 use_drafts: bool | None = None, box_convention: BoxConvention | None = None,
                 time_positions: str = "mean"):
        if batch_size < 1 or max_new_tokens < 1:
            raise ConfigError("HFBackend: batch_size and max_new_tokens must be at least 1")
        if time_positions not in ("mean", "exact"):
            raise ConfigError(f"HFBackend: time_positions must be 'mean' or 'exact', got {time_positions!r}")
        self.exact_times = time_positions == "exact" and model.config.model_type == "qwen2_5_vl"
        self.model, self.processor = model.eval(), processor
        self.batch_size = batch_size
        self.box_convention = box_convention or box_convention_for(model.config.model_type)
        limits = {"video_min_pixels": video_min_pixels, "video_max_pixels": video_max_pixels,
                  "video_total_pixels": video_total_pixels, "image_min_pixels": image_min_pixels,
                  "image_max_pixels": image_max_pixels}
        self.pixel_limits = {name: value for name, value in limits.items() if value is not None}
        self.features = VisionFeatureCache(model, feature_cache_bytes) if cache_vision_features else None
        self.use_drafts, self.deterministic = use_drafts, not do_sample
        tokenizer = processor.tokenizer
        self._vision_token_ids = [tokenizer.convert_tokens_to_ids(token) for token in _VISION_TOKENS]
        self._visual_ids = torch.tensor(self._vision_token_ids[:2])
        self.generation_config = self._generation_config(max_new_tokens, do_sample, temperature, top_p)

    @classmethod
    def from_pretrained(cls, path_or_id: str | os.PathLike, *, dtype: str | torch.dtype | None = None,
                        device: str | None = None, attn_implementation: str | None = None,
                        **options: Any) -> HFBackend:
        """Load with `videofocus.models.load_model` (bf16 and the fastest attention on GPU) and wrap."""
        from videofocus.models import load_model

        model, processor = load_model(path_or_id, dtype=dtype, device=device,
                                      attn_implementation=attn_implementation)
        return cls(model, processor, **options)

    def with_decoding(self, *, max_new_tokens: int | None = None, temperature: float | None = None) -> HFBackend:
        """This backend (sharing model, processor and feature cache) with other decoding settings:
        `max_new_tokens` per completion; temperature 0 decodes greedily, above 0 samples. None keeps
        the current setting. A server applies each request's settings this way."""
        if max_new_tokens is not None and max_new_tokens < 1:
            raise ConfigError("HFBackend: max_new_tokens must be at least 1")
        current = self.generation_config
        do_sample = current.do_sample if temperature is None else temperature > 0
        temperature = temperature if temperature else (current.temperature or 1.0)
        variant = copy.copy(self)
        variant.generation_config = self._generation_config(max_new_tokens or current.max_new_tokens, do_sample,
                                                            temperature, current.top_p or 1.0)
        variant.deterministic = not do_sample
        return variant

    def video_decode_size(self, height: int, width: int) -> tuple[int, int] | None:
        """The size the perception loop decodes this model's video frames at (`models.inputs.video_decode_size`)."""
        from videofocus.models.inputs import VIDEO_MAX_PIXELS, VIDEO_MIN_PIXELS, PixelLimits, video_decode_size

        limits = PixelLimits(self.pixel_limits.get("video_min_pixels", VIDEO_MIN_PIXELS),
                             self.pixel_limits.get("video_max_pixels", VIDEO_MAX_PIXELS))
        return video_decode_size(self.processor, height, width, limits)

    def _generation_config(self, max_new_tokens: int, do_sample: bool, temperature: float,
                           top_p: float) -> GenerationConfig:
        base = self.model.generation_config.to_dict() if self.model.generation_config else {}
        sampling = {"temperature": temperature, "top_p": top_p} if do_sample else \
            {"temperature": None, "top_p": None, "top_k": None}
        base.update(max_new_tokens=max_new_tokens, do_sample=do_sample, suppress_tokens=self._vision_token_ids,
                    **sampling)
        if base.get("pad_token_id") is None:
            base["pad_token_id"] = self.processor.tokenizer.pad_token_id
        return GenerationConfig(**base)

    def generate(self, prompts: Sequence[Prompt], drafts: Sequence[str | None] | None = None) -> list[Generation]:
        """Completions for `prompts`: drafted ones one by one, the others `batch_size` at a time."""
        drafting = self.deterministic and drafts is not None and (
            self.use_drafts or (self.use_drafts is None and len(prompts) == 1))
        drafts = list(drafts) if drafting else [None] * len(prompts)
        results: list[Generation | None] = [None] * len(prompts)
        plain = [i for i, draft in enumerate(drafts) if not draft]
        for start in range(0, len(plain), self.batch_size):
            batch = plain[start:start + self.batch_size]
            for i, generation in zip(batch, self._generate_batch([prompts[i] for i in batch])):
                results[i] = generation
        for i, draft in enumerate(drafts):
            if draft:
                results[i] = self._generate_batch([prompts[i]], draft=draft)[0]
        return results

    def _generate_batch(self, prompts: Sequence[Prompt], draft: str | None = None) -> list[Generation]:
        from videofocus.models.inputs import encode_prompts, video_patch_times
        from videofocus.models.time_positions import exact_time_positions

        started = time.perf_counter()
        inputs = encode_prompts(self.processor, list(prompts), **self.pixel_limits).to(self.model.device)
        cached = [0] * len(prompts)
        kwargs = dict(inputs)
        if self.features is not None and any(key in inputs for key in _PIXEL_KEYS):
            encoder_outputs, cached = self.features.encode(inputs, prompts)
            kwargs = {key: value for key, value in kwargs.items() if key not in _PIXEL_KEYS}
            kwargs["mm_encoder_outputs"] = encoder_outputs
        candidates = None
        if draft:
            tokens = self.processor.tokenizer(draft, add_special_tokens=False)["input_ids"]
            candidates = PreviousOutputCandidates(tokens, prompt_length=inputs["input_ids"].shape[1])
            kwargs["custom_generate"] = drafted_decoding(candidates)
        times = exact_time_positions(self.model, video_patch_times(self.processor, list(prompts))) \
            if self.exact_times and "video_grid_thw" in inputs else nullcontext()
        with torch.inference_mode(), times:
            output = self.model.generate(**kwargs, generation_config=self.generation_config)
        completions = output[:, inputs["input_ids"].shape[1]:]
        texts = self.processor.batch_decode(completions, skip_special_tokens=True)
        seconds = (time.perf_counter() - started) / len(prompts)
        visual = torch.isin(inputs["input_ids"], self._visual_ids.to(inputs["input_ids"].device)).sum(1).tolist()
        prompt_tokens = inputs["attention_mask"].sum(1).tolist()
        image_sizes = self._image_sizes(inputs, prompts)
        return [Generation(text=text, prompt_tokens=int(prompt_tokens[i]),
                           completion_tokens=self._completion_length(completions[i]),
                           visual_tokens=int(visual[i]), cached_visual_tokens=int(cached[i]),
                           accepted_draft_tokens=candidates.accepted if candidates else 0, seconds=seconds,
                           image_sizes=image_sizes[i])
                for i, text in enumerate(texts)]

    def _completion_length(self, tokens: torch.Tensor) -> int:
        """Generated tokens up to and including the first end-of-sequence token."""
        stops = self.generation_config.eos_token_id
        stops = [stops] if isinstance(stops, int) else list(stops or [])
        ends = torch.isin(tokens, torch.tensor(stops, device=tokens.device)).nonzero()
        return int(ends[0, 0]) + 1 if len(ends) else int(tokens.shape[0])

    def _image_sizes(self, inputs: Any, prompts: Sequence[Prompt]) -> list[tuple[tuple[int, int], ...]]:
        """(width, height) of each prompt's images as resized by the processor, from their grids."""
        grids = inputs.get("image_grid_thw")
        rows = iter(grids.tolist() if grids is not None else [])
        patch = self.model.config.vision_config.patch_size
        return [tuple((w * patch, h * patch) for _, h, w in (next(rows) for _ in prompt.images))
                for prompt in prompts]
