"""Which tokens of a completion or target enter the loss, when a round's view cannot support all of
what it says: a round before the last answers before it has seen the view its clue chooses
(multi-round GRPO), and a round-1 loop view hides what a brief-evidence rationale and answer name
(SFT loop views). Both keep the clue, which is what such a round contributes."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import torch

from videofocus.parsing import block_span


def without_blocks(ids: torch.Tensor, tokenizer, kinds: Sequence[str]) -> torch.Tensor | None:
    """A (C,) 0/1 mask of `ids` without the tokens of its `kinds` blocks ("think", "answer"), when the
    text writes its clue in a block of its own (an answer that is the clue, as in temporal grounding,
    stays in); None when nothing is left out.

    Token t covers characters [L(t), L(t+1)) of the decoded text, L(i) being the decoded length of the
    first i tokens, which grows with i: each block's first and last tokens are found by bisection on L."""
    text = tokenizer.decode(ids, skip_special_tokens=True)
    spans = [span for span in (block_span(text, kind) for kind in kinds) if span is not None]
    if not spans or block_span(text, "clue") is None:
        return None
    prefixes = range(len(ids) + 1)

    def decoded_length(count: int) -> int:
        return len(tokenizer.decode(ids[:count], skip_special_tokens=True))

    mask = torch.ones(len(ids))
    for start, end in spans:
        first = bisect.bisect_right(prefixes, start, key=decoded_length) - 1
        last = bisect.bisect_left(prefixes, end, key=decoded_length) - 1
        mask[first:last + 1] = 0.0
    return mask
