"""Generation with vLLM (GPU only; `pip install "videofocus[vllm]"`), same results as `HFBackend`.

The model sees what `models.inputs.encode_prompts` gives the transformers model: frames padded to
whole temporal pairs and resized by the same functions, handed over with `do_resize=False`, and the
clip's true times:

- Qwen2.5-VL: the video as a (T, H, W, 3) array plus `mm_processor_kwargs={"fps": …}` chosen so
  that the processor's `second_per_grid_ts` (temporal patch / fps) equals
  `models.inputs.second_per_grid` of the clip's timestamps.
- Qwen3-VL: a `(frames, metadata)` pair, the metadata describing the clip on a millisecond timeline
  (`fps` 1000, `frames_indices` = round(t · 1000)), so vLLM prints each pair's real `<t seconds>`.
  vLLM expands the template's own `<|vision_start|><|video_pad|><|vision_end|>` itself, so the
  prompt keeps that triple (encode_prompts hands transformers the bare `<|video_pad|>` instead).

vLLM keeps its own caches (multimodal inputs by content, and prefix caching); there is no per-pair
vision-feature reuse here as in `HFBackend`.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from videofocus.backends.base import BoxConvention, Generation, box_convention_for
from videofocus.errors import ConfigError
from videofocus.models.inputs import (
    IMAGE_MAX_PIXELS,
    IMAGE_MIN_PIXELS,
    VIDEO_MAX_PIXELS,
    VIDEO_MIN_PIXELS,
    PixelLimits,
    render_prompt,
    second_per_grid,
    vision_token_ids,
)
# The same frame padding, resizing and time metadata as encode_prompts, so both backends see the
# same pixels and times.
from videofocus.models.inputs import _even_clip, _resize_frames, _resize_image, _video_metadata

if TYPE_CHECKING:
    from videofocus.media.video import Clip
    from videofocus.models.inputs import Prompt

# A logit bias that no token overcomes: vision placeholders must never be generated (SPEC).
_BANNED = -100.0


def _import_vllm():
    try:
        import vllm
    except ImportError as exc:
        raise ConfigError('the vLLM backend needs vLLM on a CUDA machine: pip install "videofocus[vllm]"') from exc
    return vllm


class VLLMBackend:
    """A vLLM engine behind the `Backend` protocol.

    Decoding is greedy unless `temperature` > 0. Pixel limits are per frame / per image, with
    `video_limits.total_pixels` an optional budget per clip, as in `HFBackend`. `engine_options` go
    to `vllm.LLM` (e.g. tensor_parallel_size, max_model_len, gpu_memory_utilization, dtype)."""

    def __init__(self, model: str | os.PathLike, *, max_new_tokens: int = 1024, temperature: float = 0.0,
                 top_p: float = 1.0, seed: int = 0, max_images: int = 4,
                 video_limits: PixelLimits = PixelLimits(VIDEO_MIN_PIXELS, VIDEO_MAX_PIXELS),
                 image_limits: PixelLimits = PixelLimits(IMAGE_MIN_PIXELS, IMAGE_MAX_PIXELS),
                 box_convention: BoxConvention | None = None, **engine_options: Any):
        vllm = _import_vllm()
        from transformers import AutoConfig, AutoProcessor

        self.processor = AutoProcessor.from_pretrained(str(model))
        model_type = AutoConfig.from_pretrained(str(model)).model_type
        self.box_convention = box_convention or box_convention_for(model_type)
        self.deterministic = temperature == 0.0
        self.requests = RequestBuilder(self.processor, model_type, video_limits, image_limits)
        self.llm = vllm.LLM(model=str(model), seed=seed, limit_mm_per_prompt={"video": 1, "image": max_images},
                            **engine_options)
        self._visual_ids = set(vision_token_ids(self.processor))
        self._sampling_args = dict(max_tokens=max_new_tokens, temperature=temperature, top_p=top_p, seed=seed,
                                   logit_bias={i: _BANNED for i in self._visual_ids})
        self.sampling = vllm.SamplingParams(**self._sampling_args)

    def with_decoding(self, *, max_new_tokens: int | None = None, temperature: float | None = None) -> VLLMBackend:
        """This backend (the same engine) with other sampling settings, as `HFBackend.with_decoding`."""
        overrides = {"max_tokens": max_new_tokens, "temperature": temperature}
        variant = copy.copy(self)
        variant._sampling_args = {**self._sampling_args,
                                  **{name: value for name, value in overrides.items() if value is not None}}
        variant.sampling = _import_vllm().SamplingParams(**variant._sampling_args)
        variant.deterministic = variant._sampling_args["temperature"] == 0.0
        return variant

    def generate(self, prompts: Sequence[Prompt], drafts: Sequence[str | None] | None = None) -> list[Generation]:
        """Completions for `prompts`, all submitted to the engine at once (`drafts` are not used:
        configure vLLM's own speculative decoding through `engine_options`)."""
        started = time.perf_counter()
        requests = [self.requests.build(prompt) for prompt in prompts]
        outputs = self.llm.generate([request for request, _ in requests], self.sampling, use_tqdm=False)
        seconds = (time.perf_counter() - started) / max(len(prompts), 1)
        return [Generation(text=output.outputs[0].text, prompt_tokens=len(output.prompt_token_ids),
                           completion_tokens=len(output.outputs[0].token_ids),
                           visual_tokens=sum(token in self._visual_ids for token in output.prompt_token_ids),
                           seconds=seconds, image_sizes=image_sizes)
                for output, (_, image_sizes) in zip(outputs, requests)]


class RequestBuilder:
    """Turns a `Prompt` into a vLLM prompt dict (needs no vLLM, so it is tested on CPU)."""

    def __init__(self, processor: Any, model_type: str, video_limits: PixelLimits, image_limits: PixelLimits):
        self.processor, self.video_limits, self.image_limits = processor, video_limits, image_limits
        self.qwen3 = model_type.startswith("qwen3")

    def build(self, prompt: Prompt) -> tuple[dict[str, Any], tuple[tuple[int, int], ...]]:
        """The vLLM prompt dict, and the sizes (width, height) its images were resized to."""
        text = render_prompt(self.processor, prompt)
        data: dict[str, Any] = {}
        kwargs: dict[str, Any] = {"do_resize": False}
        if prompt.video is not None:
            data["video"], fps = self._video(prompt.video)
            if self.qwen3:  # vLLM expands the template's own triple into per-pair blocks
                processor = self.processor
                wrapped = processor.vision_start_token + processor.video_token + processor.vision_end_token
                text = text.replace(processor.video_token, wrapped, 1)
            else:
                kwargs["fps"] = fps
        images = [_resize_image(self.processor, image, self.image_limits) for image in prompt.images]
        if images:
            data["image"] = images
        if not data:
            return {"prompt": text}, ()
        return ({"prompt": text, "multi_modal_data": data, "mm_processor_kwargs": kwargs},
                tuple(image.size for image in images))

    def _video(self, clip: Clip) -> tuple[Any, float]:
        """The video item, and (Qwen2.5-VL) the fps whose temporal patch / fps is the clip's
        seconds per temporal patch."""
        frames, times = _even_clip(clip, self.processor.video_processor.temporal_patch_size)
        resized = _resize_frames(self.processor, frames, self.video_limits)
        array = resized.permute(0, 2, 3, 1).contiguous().numpy()  # (T, H, W, 3) uint8
        if self.qwen3:
            metadata = {**_video_metadata(times), "video_backend": "pyav", "do_sample_frames": False}
            metadata["duration"] = metadata["total_num_frames"] / metadata["fps"]
            return [(array, metadata)], 0.0
        patch = self.processor.video_processor.temporal_patch_size
        seconds = second_per_grid(times, patch)
        return array, patch / seconds if seconds > 0 else float(patch)
