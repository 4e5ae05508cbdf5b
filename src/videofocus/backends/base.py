"""What the perception loop needs from a model: the `Backend` protocol, the `Generation` it returns,
and the box coordinate conventions of the model families.

A backend turns prompts (text plus a video clip or images, `videofocus.models.inputs.Prompt`) into
completions. The loop does not know whether it talks to transformers, vLLM or a script; it only
needs the completion text, what the call cost, the size at which each image reached the model, and
how the model writes boxes (`BoxConvention`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from videofocus.errors import ConfigError

if TYPE_CHECKING:
    from videofocus.models.inputs import Prompt


class BoxConvention(str, Enum):
    """How a model writes the boxes in its output.

    - `original_pixels`: pixels of the image file (what the samples' ground truth uses).
    - `resized_pixels`: pixels of the resized image the model saw (Qwen2-VL / Qwen2.5-VL).
    - `normalized_1000`: 0–1000 on both axes, whatever the size (Qwen3-VL).
    """

    ORIGINAL_PIXELS = "original_pixels"
    RESIZED_PIXELS = "resized_pixels"
    NORMALIZED_1000 = "normalized_1000"

    def to_original(self, box: Sequence[float], original_size: tuple[int, int],
                    model_size: tuple[int, int]) -> list[float]:
        """`box` [x0, y0, x1, y1] in this convention → pixels of the original image.

        Sizes are (width, height); `model_size` is the size of the image as the model saw it."""
        orig_w, orig_h = original_size
        if self is BoxConvention.ORIGINAL_PIXELS:
            scale_x = scale_y = 1.0
        elif self is BoxConvention.RESIZED_PIXELS:
            scale_x, scale_y = orig_w / model_size[0], orig_h / model_size[1]
        else:
            scale_x, scale_y = orig_w / 1000.0, orig_h / 1000.0
        x0, y0, x1, y1 = (float(value) for value in box)
        return [x0 * scale_x, y0 * scale_y, x1 * scale_x, y1 * scale_y]


# model_type (config.json) → how that family writes boxes.
_BOX_CONVENTIONS = {
    "qwen2_vl": BoxConvention.RESIZED_PIXELS,
    "qwen2_5_vl": BoxConvention.RESIZED_PIXELS,
    "qwen3_vl": BoxConvention.NORMALIZED_1000,
    "qwen3_vl_moe": BoxConvention.NORMALIZED_1000,
}


def box_convention_for(model_type: str) -> BoxConvention:
    """The box convention of a model family, from its config's `model_type`."""
    try:
        return _BOX_CONVENTIONS[model_type]
    except KeyError:
        known = ", ".join(sorted(_BOX_CONVENTIONS))
        raise ConfigError(f"no box convention known for model type {model_type!r} (known: {known}); "
                          "pass box_convention= to the backend") from None


@dataclass(frozen=True)
class Generation:
    """One completion and what producing it cost.

    `seconds` is this prompt's share of the call (a batched call's time split evenly over its
    prompts). `visual_tokens` counts the video/image tokens the language model read;
    `cached_visual_tokens` how many of them came from the vision-feature cache instead of the
    encoder; `accepted_draft_tokens` how many completion tokens were taken from the draft (the
    previous round's output) in a verification pass instead of being decoded one by one.
    `image_sizes` gives (width, height) of each of the prompt's images as the model saw
    them, in order, so boxes in `resized_pixels` can be mapped back; empty when the backend cannot
    tell (the loop then treats the image as seen at its original size)."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    visual_tokens: int = 0
    cached_visual_tokens: int = 0
    accepted_draft_tokens: int = 0
    seconds: float = 0.0
    image_sizes: tuple[tuple[int, int], ...] = ()


@runtime_checkable
class Backend(Protocol):
    """A model the perception loop can ask.

    `deterministic` is True when the same prompt always gives the same completion (greedy
    decoding): the loop then reuses a round's output instead of asking again when the next round
    would show the model exactly the same thing."""

    box_convention: BoxConvention
    deterministic: bool

    def generate(self, prompts: Sequence[Prompt], drafts: Sequence[str | None] | None = None) -> list[Generation]:
        """One completion per prompt, in order. `drafts` (per prompt, or None) is text the completion
        will likely repeat, the previous round's output: a backend may use it to decode faster
        (speculative decoding), never to change what it generates. The parameter is optional:
        the loop passes drafts only to backends whose `generate` has it."""
        ...
