"""GRPO step time with the vision encoding shared by a prompt's G completions, divided by the step
time with one encoding per completion (as TRL does), in one run.

    python benchmarks/grpo_step.py [--steps 5] [--repeats 2] [--threads 2]

The model is a random Qwen2.5-VL from `build_tiny_model` with a wide vision tower (so that encoding
matters, as it does for real checkpoints: the 7B's tower is 32 blocks of 1280), frozen as in the
recipes; the data are 16-frame 112 x 112 noise videos with temporal grounding samples (G = 8, two
prompts per step, beta = 0.04 so the reference forward runs too, completions of up to 32 tokens).
Both settings run the real `train_grpo` recipe with the same seed, so they sample the same
completions; a step's time is the wall time between two optimisation steps (rollout, reference
forward, policy forward and backward, update), in wall and in process CPU time (CPU time is what
survives a machine shared with other jobs). The first step of each run is a warm-up and is not
counted; runs alternate between the settings to spread machine-load drift. Target: ratio <= 0.6."""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from videofocus.media.encode import write_video
from videofocus.models.tiny import TinySize, build_tiny_model
from videofocus.train.config import GRPOConfig, config_from_dict
from videofocus.train.grpo import train_grpo
from videofocus.train.run import TrainingRun

FRAMES, SIZE, FPS = 16, 112, 4.0
MODEL_SIZE = TinySize(text_hidden=256, text_layers=4, text_heads=4, text_kv_heads=2, text_intermediate=768,
                      vision_hidden=256, vision_depth=4, vision_heads=4, vision_intermediate=1024)
TARGET = 0.6


def write_dataset(folder: Path, count: int) -> Path:
    rng = np.random.default_rng(0)
    records = []
    for index in range(count):
        write_video(folder / f"{index}.mp4", rng.integers(0, 255, (FRAMES, SIZE, SIZE, 3), dtype=np.uint8), fps=FPS)
        records.append({"id": str(index), "task": "temporal_grounding", "question": "the square moves",
                        "media": {"type": "video", "path": f"{index}.mp4", "duration": FRAMES / FPS},
                        "clue": {"intervals": [[1.0, 2.5]]}})
    path = folder / "samples.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def step_times(model: Path, data: Path, output_dir: Path, *, share: bool, steps: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each optimisation step of one `train_grpo` run, the warm-up step left out."""
    ends: list[tuple[float, float]] = []
    end_step = TrainingRun.end_step

    def timed_end_step(run, metrics):
        ends.append((time.perf_counter(), time.process_time()))
        end_step(run, metrics)

    config = config_from_dict(GRPOConfig, dict(
        model=str(model), output_dir=str(output_dir), datasets=[{"path": str(data)}], num_generations=8,
        per_device_batch_size=16, gradient_accumulation_steps=1, max_completion_length=32, beta=0.04,
        learning_rate=1e-5, max_steps=steps, share_visual_features=share, video_fps=FPS, video_max_frames=FRAMES,
        video_min_pixels=SIZE * SIZE, video_max_pixels=SIZE * SIZE, dtype="float32", tensorboard=False))
    config.validate()
    TrainingRun.end_step = timed_end_step
    try:
        train_grpo(config)
    finally:
        TrainingRun.end_step = end_step
    return [(later[0] - earlier[0], later[1] - earlier[1]) for earlier, later in zip(ends, ends[1:])]


def parameter_counts(model: Path) -> tuple[int, int]:
    from transformers import AutoModelForImageTextToText

    loaded = AutoModelForImageTextToText.from_pretrained(model)
    vision = sum(p.numel() for name, p in loaded.named_parameters() if ".visual." in name)
    return vision, sum(p.numel() for p in loaded.parameters()) - vision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="steps per run (the first is a warm-up)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per setting, alternating")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        model = build_tiny_model(root / "model", size=MODEL_SIZE)
        data = write_dataset(root / "data", 2 * args.steps)
        times: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for repeat in range(args.repeats):
            for share in (False, True):
                times[share] += step_times(model, data, root / f"run{repeat}{share}", share=share, steps=args.steps)
        vision, text = parameter_counts(model)
    print(f"steps timed per setting: {len(times[False])}; vision tower {vision / 1e6:.1f} M parameters, "
          f"language model {text / 1e6:.1f} M; torch threads {args.threads}")
    print("| setting | median step (wall) | median step (CPU) | wall per step |\n| --- | --- | --- | --- |")
    medians = {}
    for share, label in ((False, "one encoding per completion"), (True, "shared per prompt")):
        wall, cpu = ([step[k] for step in times[share]] for k in (0, 1))
        medians[share] = statistics.median(wall), statistics.median(cpu)
        print(f"| {label} | {medians[share][0]:.2f} s | {medians[share][1]:.2f} s | "
              f"{' '.join(f'{value:.1f}' for value in wall)} |")
    wall_ratio, cpu_ratio = (medians[True][k] / medians[False][k] for k in (0, 1))
    verdict = "met" if wall_ratio <= TARGET else "MISSED"
    print(f"step time shared / per-completion: wall {wall_ratio:.3f} (target <= {TARGET}: {verdict}), CPU {cpu_ratio:.3f}")


if __name__ == "__main__":
    main()
