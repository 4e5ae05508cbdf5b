"""Helpers for the multi-round (ITP) training tests: long videos whose frames all differ, and a stand-in
sampler that makes the first round's completions say a chosen clue."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from videofocus.media.encode import write_video
from videofocus.train.batch import Completion

FRAME = 56
CLUE = (6.0, 9.0)          # seconds; the videos below are 20 s long
FORCED_TEXT = "<think>the square</think><clue>[(6.0, 9.0)]</clue><answer>A</answer>"


def write_long_videos(root: Path, count: int, *, seconds: int = 20, fps: int = 2, seed: int = 0) -> Path:
    """`count` grounded-QA samples over noise videos of `seconds` s at `fps`, every frame different;
    returns the JSONL path (media paths relative to `root`)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    records = []
    for index in range(count):
        frames = rng.integers(0, 255, (seconds * fps, FRAME, FRAME, 3), dtype=np.uint8)
        write_video(root / f"long{seed}_{index}.mp4", frames, fps=fps)
        records.append({"id": f"itp/{seed}/{index}", "task": "grounded_qa", "question": "Which colour flashes?",
                        "options": ["red", "green"], "answer": "A", "clue": {"intervals": [list(CLUE)]},
                        "media": {"type": "video", "path": f"long{seed}_{index}.mp4", "duration": float(seconds)}})
    path = root / "long.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def forced_first_round(real: Callable, tokenizer, stop_id: int, text: str = FORCED_TEXT) -> Callable:
    """A stand-in for `generate_completions` whose FIRST call answers every prompt with `text` (then
    the stop token); later calls sample with `real`."""
    calls = []

    def generate(model, prompts, params, tokens, **kwargs) -> list[Completion]:
        calls.append(len(prompts))
        if len(calls) > 1:
            return real(model, prompts, params, tokens, **kwargs)
        ids = torch.tensor(tokenizer(text, add_special_tokens=False).input_ids + [stop_id])
        return [Completion(prompt=prompt, ids=ids.clone(), group=row, truncated=False)
                for row, prompt in enumerate(prompts)]

    return generate
