"""A backend that answers from a script instead of a model: for tests of the loop (random tiny
models only emit garbage) and for replaying recorded completions through the loop."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from videofocus.backends.base import BoxConvention, Generation
from videofocus.media.image import smart_resize

if TYPE_CHECKING:
    from videofocus.models.inputs import Prompt


class ScriptedBackend:
    """Answers each prompt with the next completion of `replies`, or with `replies(prompt)`.

    `calls` keeps the prompts of every `generate` call, `drafts` the drafts it was given. With
    `image_max_pixels` the images count as seen at the size the Qwen processors resize them to
    (`media.image.smart_resize`, factor `image_factor`), so boxes in `resized_pixels` can be
    tested; otherwise at their own size."""

    def __init__(self, replies: Sequence[str] | Callable[[Prompt], str], *,
                 box_convention: BoxConvention = BoxConvention.ORIGINAL_PIXELS, deterministic: bool = True,
                 image_max_pixels: int | None = None, image_factor: int = 28):
        self._reply = replies if callable(replies) else _in_order(replies)
        self.box_convention = box_convention
        self.deterministic = deterministic
        self.image_max_pixels, self.image_factor = image_max_pixels, image_factor
        self.calls: list[list[Prompt]] = []
        self.drafts: list[str | None] = []

    @property
    def prompts(self) -> list[Prompt]:
        """Every prompt received, in order."""
        return [prompt for call in self.calls for prompt in call]

    def generate(self, prompts: Sequence[Prompt], drafts: Sequence[str | None] | None = None) -> list[Generation]:
        self.calls.append(list(prompts))
        self.drafts.extend(drafts if drafts is not None else [None] * len(prompts))
        return [Generation(text=self._reply(prompt),
                           image_sizes=tuple(self._seen_size(image) for image in prompt.images))
                for prompt in prompts]

    def _seen_size(self, image) -> tuple[int, int]:
        if self.image_max_pixels is None:
            return image.size
        height, width = smart_resize(image.height, image.width, factor=self.image_factor,
                                     max_pixels=self.image_max_pixels)
        return width, height


def _in_order(replies: Sequence[str]) -> Callable[[Prompt], str]:
    remaining: Iterator[str] = iter(list(replies))

    def reply(_prompt: Prompt) -> str:
        try:
            return next(remaining)
        except StopIteration:
            raise RuntimeError("ScriptedBackend ran out of replies") from None

    return reply
