"""Previous-round drafting: speculative decoding whose draft is the previous perception round's output.

Round k+1 of iterative perception usually says much of what round k said (the same reasoning, a
slightly moved clue, the same answer). Instead of generating those tokens one forward pass at a
time, the model checks the previous output in one pass and keeps the longest prefix it agrees with
(transformers' assisted decoding, with the draft as candidate source). Under greedy decoding the
result is the model's own greedy output: a draft token is kept only where it is the argmax, after
the logits processors (up to floating-point ties between a one-token and a many-token forward).
When the output departs from the draft, drafting resumes from the next place where the last few
generated tokens occur in the draft (as prompt-lookup decoding does), so a changed number in the
clue costs a few extra passes, not the rest of the answer.

Transformers runs assisted decoding for one sequence at a time, so drafted prompts are generated
one by one.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.generation.candidate_generator import CandidateGenerator
from transformers.generation.utils import GenerationMixin

# Longest run of generated tokens looked up in the draft to resume drafting after a mismatch.
_MAX_MATCH = 3


class PreviousOutputCandidates(CandidateGenerator):
    """Proposes the continuation of `draft` (token ids) that follows what was generated so far."""

    requires_model_outputs = False

    def __init__(self, draft: list[int], prompt_length: int, max_candidates: int = 64):
        self.draft, self.prompt_length, self.max_candidates = draft, prompt_length, max_candidates
        self.accepted = 0

    def get_candidates(self, input_ids: torch.LongTensor, **_: Any) -> tuple[torch.LongTensor, None]:
        start = self._resume_at(input_ids[0, self.prompt_length:].tolist())
        proposal = self.draft[start:start + self.max_candidates] if start is not None else []
        if not proposal:
            return input_ids, None
        return torch.cat([input_ids, input_ids.new_tensor([proposal])], dim=1), None

    def update_candidate_strategy(self, input_ids: torch.LongTensor, scores: torch.FloatTensor,
                                  num_matches: int) -> None:
        self.accepted += num_matches

    def _resume_at(self, generated: list[int]) -> int | None:
        """Where in the draft the generation continues: right after `generated` when it is a prefix
        of the draft, else after the latest place where its last tokens occur in the draft."""
        if self.draft[:len(generated)] == generated:
            return len(generated)
        for size in range(min(_MAX_MATCH, len(generated)), 0, -1):
            tail = generated[-size:]
            for start in range(len(self.draft) - size, -1, -1):
                if self.draft[start:start + size] == tail:
                    return start + size
        return None


def drafted_decoding(candidates: PreviousOutputCandidates):
    """A `custom_generate` callable for `model.generate`: assisted decoding with `candidates`."""

    def decode(model, input_ids, logits_processor, stopping_criteria, generation_config, synced_gpus=False,
               streamer=None, **model_kwargs):
        model._get_candidate_generator = lambda **_: candidates  # what _assisted_decoding asks for
        try:
            return GenerationMixin._assisted_decoding(model, input_ids, logits_processor, stopping_criteria,
                                                      generation_config, synced_gpus, streamer, **model_kwargs)
        finally:
            del model._get_candidate_generator

    return decode
