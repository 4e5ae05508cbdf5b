"""What iterative perception costs: 3 rounds against 1, with and without reuse across rounds.

    python benchmarks/itp_cost.py [--repeats 7] [--threads 1] [--dir DIR]

VideoChat-R1.5 reports 2.3x the single-pass time for 3 rounds (VideoMME 13.2 s -> 30.1 s) and
names "no caching across rounds" as its limitation. This script measures, in one run and on one
machine, the wall time of `perceive` on one video question:

  reuse:    3 rounds with the per-video frame cache, the vision-feature cache of `HFBackend`,
            previous-round drafting and early stopping (clue IoU >= 0.9 and the same answer);
            divided by 1 round.
  no reuse: 3 rounds that decode every frame, encode every frame pair and decode every token
            again each round, no early stopping (the paper's inference); divided by 1 round.
  (also: reuse without early stopping, 3 rounds run in full.)

The model is a fixed random Qwen2.5-VL of realistic shape, scaled down to run on a CPU (see SIZE):
per visual token the vision tower costs about 0.8x the language model, between Qwen2.5-VL-3B
(~0.9x) and -7B (~0.4x), and both are wide enough that the encoder and the prefill dominate.
A random model writes garbage, so the completions are scripted: a logits processor forces the
tokens of a realistic answer (think, clue, answer; ~60 tokens) while the model still runs every
decoding step. Round 1 points at 60-90 s, round 2 at 61-90 s with the same answer (so early
stopping ends after round 2), round 3 repeats round 2.

The video is what benchmarks meet in practice: 640x360 H.264, 30 fps, 3 minutes, a keyframe
every 250 frames (generated once into DIR). 32 frames are sampled (16 temporal pairs), each resized
to 448x252 (144 visual tokens a pair).
"""

from __future__ import annotations

import argparse
import statistics
import functools
import tempfile
import time
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from unittest import mock

import av
import numpy as np
import torch
from transformers import LogitsProcessor, LogitsProcessorList

from videofocus.backends.hf import HFBackend
from videofocus.models import load_model
from videofocus.models.tiny import TinySize, build_tiny_model
from videofocus.perception import PerceptionOptions, PerceptionResult, loop, perceive
from videofocus.perception.views import VideoSource
from videofocus.schema import Sample
from videofocus.storage import atomic_writer

WIDTH, HEIGHT, FPS, SECONDS, GOP = 640, 360, 30, 180, 250
FRAME_PIXELS = 448 * 252
# Per layer and token: vision 4d^2 + 3 d d_ff over 4 patches a token, text 2d^2 + 2 d d_kv + 3 d d_ff.
SIZE = TinySize(text_hidden=512, text_layers=8, text_heads=8, text_kv_heads=2, text_intermediate=2048,
                vision_hidden=256, vision_depth=8, vision_heads=4, vision_intermediate=684, vocab_size=1024)
THINK = ("The person walks to the table, picks up the red cup and drinks from it, then puts it back "
         "next to the laptop.")
SCRIPT = [f"<think>{THINK}</think><clue>[(60.0, 90.0)]</clue><answer>B</answer>",
          f"<think>{THINK}</think><clue>[(61.0, 90.0)]</clue><answer>B</answer>",
          f"<think>{THINK}</think><clue>[(61.0, 90.0)]</clue><answer>B</answer>"]


def make_video(folder: Path) -> Path:
    """The benchmark video: a moving gradient with a bright square, generated on first use."""
    path = folder / f"itp_{HEIGHT}p_{SECONDS}s_{FPS}fps_gop{GOP}.mp4"
    if path.exists():
        return path
    print(f"generating {path} (once) ...", flush=True)
    base = (np.add.outer(np.arange(HEIGHT), np.arange(WIDTH)) // 4).astype(np.uint8)
    chroma = np.full((HEIGHT // 2, WIDTH), 128, np.uint8)
    with atomic_writer(path, "wb") as handle, av.open(handle, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(GOP), "keyint_min": str(GOP), "sc_threshold": "0"}
        for index in range(FPS * SECONDS):
            luma = base + np.uint8(2 * index % 256)
            x = (index * 3) % (WIDTH - 40)
            luma[160:200, x:x + 40] = 250
            frame = av.VideoFrame.from_ndarray(np.concatenate([luma, chroma]), format="yuv420p")
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


class ForcedTokens(LogitsProcessor):
    """Make greedy decoding emit `tokens` (then stop): every step still runs the full model."""

    def __init__(self, tokens: list[int], prompt_length: int):
        self.tokens, self.prompt_length = tokens, prompt_length

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        step = min(input_ids.shape[1] - self.prompt_length, len(self.tokens) - 1)
        forced = torch.full_like(scores, float("-inf"))
        forced[:, self.tokens[step]] = 0.0
        return forced


class Timers:
    """Seconds spent in the vision tower, counted around `get_video_features`."""

    def __init__(self):
        self.vision = 0.0

    @contextmanager
    def vision_timer(self, model):
        original = model.model.get_video_features

        @functools.wraps(original)  # generate reads the signature
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.vision += time.perf_counter() - started

        with mock.patch.object(model.model, "get_video_features", timed):
            yield


@contextmanager
def scripted(model, processor):
    """Each `generate` call (one round) is forced to write the next completion of SCRIPT."""
    original, rounds = model.generate, iter(SCRIPT)
    eos = processor.tokenizer.convert_tokens_to_ids("<|im_end|>")

    def generate(*args, **kwargs):
        tokens = processor.tokenizer(next(rounds), add_special_tokens=False)["input_ids"] + [eos]
        forced = ForcedTokens(tokens, kwargs["input_ids"].shape[1])
        return original(*args, logits_processor=LogitsProcessorList([forced]), **kwargs)

    with mock.patch.object(model, "generate", generate):
        yield


class FreshDecodeSource(VideoSource):
    """A VideoSource that forgets its frames before every round: each round decodes all it shows."""

    def clip(self, indices):
        self._frames.clear()
        return super().clip(indices)


def run(model, processor, sample: Sample, *, rounds: int, reuse: bool, early_stop: bool) -> tuple[float, float,
                                                                                                   PerceptionResult]:
    """(wall seconds, vision-tower seconds, result) of one `perceive` call."""
    backend = HFBackend(model, processor, max_new_tokens=200, cache_vision_features=reuse, use_drafts=reuse,
                        video_min_pixels=FRAME_PIXELS, video_max_pixels=FRAME_PIXELS)
    options = PerceptionOptions(rounds=rounds, num_frames=32, early_stop=early_stop)
    timers = Timers()
    source_class = VideoSource if reuse else FreshDecodeSource
    with scripted(model, processor), timers.vision_timer(model), mock.patch.object(loop, "VideoSource", source_class):
        started = time.perf_counter()
        result = perceive(sample, backend, options)
        return time.perf_counter() - started, timers.vision, result


# name: (rounds, reuse, early stop). One round does the same work with or without reuse (nothing
# to reuse yet), so one single-round measurement is the reference for every ratio.
CONFIGS = {
    "1 round": (1, True, False),
    "3 rounds, reuse + early stop": (3, True, True),
    "3 rounds, reuse, no early stop": (3, True, False),
    "3 rounds, no reuse": (3, False, False),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: on a shared 2-core machine 2 threads run ~2x slower and noisier)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "videofocus_bench")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    video = make_video(args.dir)
    with tempfile.TemporaryDirectory() as model_dir:
        model, processor = load_model(build_tiny_model(Path(model_dir) / "model", size=SIZE, seed=0), device="cpu")
    params = {part: sum(p.numel() for p in module.parameters()) / 1e6
              for part, module in (("vision", model.model.visual), ("text", model.model.language_model))}
    print(f"model: vision {params['vision']:.1f} M, text {params['text']:.1f} M parameters; "
          f"torch threads {torch.get_num_threads()}")
    sample = Sample(id="bench", task="grounded_qa", media={"type": "video", "path": str(video)},
                    question="What does the person drink from?", options=["a bottle", "a red cup", "a glass"])
    run(model, processor, sample, rounds=1, reuse=True, early_stop=False)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in CONFIGS}
    vision: dict[str, list[float]] = {name: [] for name in CONFIGS}
    results: dict[str, PerceptionResult] = {}
    for _ in range(args.repeats):  # interleaved, so load changes hit every configuration alike
        for name, (rounds, reuse, early_stop) in CONFIGS.items():
            seconds, vision_seconds, results[name] = run(model, processor, sample, rounds=rounds, reuse=reuse,
                                                         early_stop=early_stop)
            times[name].append(seconds)
            vision[name].append(vision_seconds)
    # Other jobs on a shared machine only ever add time: report each configuration's best run, and
    # the ratios of each repeat (whose runs are back to back) with their median.
    best = {name: min(values) for name, values in times.items()}
    print(f"\nbest of {args.repeats} runs:")
    print("| configuration | rounds run | wall s | vision tower s | video decode s | frames decoded | "
          "visual tokens from cache | completion tokens drafted |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, result in results.items():
        decode = sum(r.cost.decode_seconds for r in result.rounds)
        decoded = sum(r.cost.decoded_frames for r in result.rounds)
        cached = sum(r.cost.cached_visual_tokens for r in result.rounds)
        total = sum(r.cost.visual_tokens for r in result.rounds)
        drafted = sum(r.cost.accepted_draft_tokens for r in result.rounds)
        completion = sum(r.cost.completion_tokens for r in result.rounds)
        print(f"| {name} | {len(result.rounds)} | {best[name]:.2f} | {min(vision[name]):.2f} | "
              f"{decode:.2f} | {decoded} | {cached}/{total} | {drafted}/{completion} |")
    print("\n3 rounds / 1 round, per repeat -> median (ratio of best runs):")
    for name in list(CONFIGS)[1:]:
        ratios = [three / one for three, one in zip(times[name], times["1 round"])]
        print(f"  {name}: {' '.join(f'{r:.2f}' for r in ratios)} -> {statistics.median(ratios):.2f}x "
              f"({best[name] / best['1 round']:.2f}x)")
    print("target for reuse + early stop: <= 1.6x; the paper's 3 rounds: 2.3x")


if __name__ == "__main__":
    main()
