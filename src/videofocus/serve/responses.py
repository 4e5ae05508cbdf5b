"""Chat completion bodies and stream chunks in OpenAI's shape, each with a `videofocus` field that
carries the perception trace: the media, every round (view with frames and true timestamps or
crops, think, clue, answer, tokens, seconds, fallback reason) and why the loop stopped. A text-only
request is answered by one model call (a Generation) and has no trace."""

from __future__ import annotations

from typing import Any

from videofocus.backends.base import Generation
from videofocus.perception import PerceptionResult
from videofocus.schema import Sample


def answer_text(result: PerceptionResult | Generation) -> str:
    """The message content: the final round's answer (its option letter when the question has
    options); for a grounding question, whose clue is the answer, the clue ("[(2.00, 4.00)]" or
    "[[x0, y0, x1, y1]]"); the whole output when nothing could be read from it."""
    if isinstance(result, Generation):
        return result.text
    final = result.final
    answer = final.option if final.option is not None else final.answer
    if answer is not None:
        return answer
    if final.intervals:
        return "[" + ", ".join(f"({start:.2f}, {end:.2f})" for start, end in final.intervals) + "]"
    if final.boxes:
        return "[" + ", ".join("[" + ", ".join(f"{value:.0f}" for value in box) + "]" for box in final.boxes) + "]"
    return final.output


def media_info(sample: Sample) -> dict[str, Any]:
    media = sample.media
    return {"type": media.type, "duration": media.duration, "width": media.width, "height": media.height}


def usage(result: PerceptionResult | Generation) -> dict[str, int]:
    """Tokens over all rounds (a round reused from the previous one counts none)."""
    costs = [result] if isinstance(result, Generation) else [round_.cost for round_ in result.rounds]
    prompt = sum(cost.prompt_tokens for cost in costs)
    completion = sum(cost.completion_tokens for cost in costs)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


class CompletionWriter:
    """Writes one request's completion, or its stream chunks, under one id and timestamp (`sample`:
    the question about media; None for a text-only request)."""

    def __init__(self, completion_id: str, created: int, model: str, sample: Sample | None):
        self.id, self.created, self.model, self.sample = completion_id, created, model, sample

    def completion(self, result: PerceptionResult | Generation, rounds: list[dict[str, Any]]) -> dict[str, Any]:
        body = {
            "id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer_text(result)},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": usage(result),
        }
        if isinstance(result, PerceptionResult):
            body["videofocus"] = {**self._summary(result), "media": media_info(self.sample), "rounds": rounds}
        return body

    def first_chunk(self) -> dict[str, Any]:
        """Opens the stream: the assistant role and the media the rounds refer to."""
        extension = {"media": media_info(self.sample), "task": self.sample.task} if self.sample else None
        return self._chunk({"role": "assistant", "content": ""}, None, extension)

    def round_chunk(self, round_: dict[str, Any]) -> dict[str, Any]:
        """One finished round; the message content stays empty until the final answer."""
        return self._chunk({}, None, {"round": round_})

    def final_chunk(self, result: PerceptionResult | Generation) -> dict[str, Any]:
        extension = self._summary(result) if isinstance(result, PerceptionResult) else None
        chunk = self._chunk({"content": answer_text(result)}, "stop", extension)
        chunk["usage"] = usage(result)
        return chunk

    def _summary(self, result: PerceptionResult) -> dict[str, Any]:
        return {"task": result.task, "stop_reason": result.stop_reason, "seconds": result.seconds}

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None,
               extension: dict[str, Any] | None) -> dict[str, Any]:
        chunk = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}
        if extension is not None:
            chunk["videofocus"] = extension
        return chunk
