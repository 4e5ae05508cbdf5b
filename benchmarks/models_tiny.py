"""How fast the tiny test models are: build (target: a few seconds), load, encode and generate.

Run: `python benchmarks/models_tiny.py`. Prints wall times measured in this run and their ratio to
the targets (build <= 5 s; a generate call of 8 tokens from an 8-frame video prompt <= 1 s on CPU)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from videofocus.models import load_model
from videofocus.models.inputs import Prompt, encode_prompts, vision_token_ids
from videofocus.models.tiny import ARCHS, build_tiny_model

BUILD_TARGET_S = 5.0
GENERATE_TARGET_S = 1.0
REPEATS = 5


class _Clip:
    """Just the attributes encode_prompts reads from a media Clip."""

    def __init__(self, num_frames: int):
        self.frames = np.random.default_rng(0).integers(0, 256, (num_frames, 56, 56, 3), dtype=np.uint8)
        self.timestamps = np.arange(num_frames) * 0.5


def _best_of(run, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    torch.set_num_threads(2)
    print(f"torch threads {torch.get_num_threads()}, python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as scratch:
        for arch in ARCHS:
            counter = iter(range(1000))
            build = _best_of(lambda: build_tiny_model(Path(scratch) / f"{arch}{next(counter)}", arch=arch))
            path = Path(scratch) / f"{arch}0"
            load = _best_of(lambda: load_model(path))
            model, processor = load_model(path)
            prompt = Prompt("When does the square appear?", video=_Clip(8))
            limits = dict(video_min_pixels=56 * 56, video_max_pixels=56 * 56)
            encode = _best_of(lambda: encode_prompts(processor, [prompt], **limits))
            batch = encode_prompts(processor, [prompt], **limits)
            banned = [[i] for i in vision_token_ids(processor)]
            generate = _best_of(lambda: model.generate(**batch, max_new_tokens=8, do_sample=False,
                                                       bad_words_ids=banned))
            print(f"{arch}: build {build:.2f} s ({build / BUILD_TARGET_S:.2f} x target), load {load:.2f} s, "
                  f"encode {encode * 1000:.0f} ms, generate 8 tokens {generate:.2f} s "
                  f"({generate / GENERATE_TARGET_S:.2f} x target)")


if __name__ == "__main__":
    main()
