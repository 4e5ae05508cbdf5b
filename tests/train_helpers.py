"""Helpers for the trainer tests: tiny datasets written on the spot, a small config, a reward with spread
for random models, and comparing model weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from videofocus.media.encode import write_video
from videofocus.parsing import Prediction
from videofocus.rewards import RewardResult
from videofocus.schema import Sample
from videofocus.train.config import GRPOConfig, SFTConfig, config_from_dict

FRAME = 56        # frames and images are 56 × 56: with the pixel limits below, 4 tokens per frame pair


def write_video_samples(root: Path, count: int, *, seed: int = 0, task: str = "temporal_grounding",
                        name: str = "videos.jsonl") -> Path:
    """`count` short noise videos at 2 fps (2 to 6 s, so different lengths) with temporal grounding or
    grounded-QA samples; returns the JSONL path (media paths relative to `root`)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    records = []
    for index in range(count):
        frames = int(rng.integers(4, 13))
        write_video(root / f"v{seed}_{index}.mp4", rng.integers(0, 255, (frames, FRAME, FRAME, 3), dtype=np.uint8), fps=2)
        duration = frames / 2
        start = float(rng.uniform(0, duration / 2))
        record = {"id": f"{task}/{seed}/{index}", "task": task, "question": "the square moves",
                  "media": {"type": "video", "path": f"v{seed}_{index}.mp4", "duration": duration},
                  "clue": {"intervals": [[round(start, 2), round(start + duration / 3, 2)]]},
                  "think": "The square starts to move, then stops."}
        if task == "grounded_qa":
            record.update(options=["red", "green"], answer="A", question="Which colour moves?")
        records.append(record)
    path = root / name
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def write_image_samples(root: Path, count: int, *, seed: int = 0, name: str = "images.jsonl") -> Path:
    """`count` noise images with spatial grounding samples; returns the JSONL path."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    records = []
    for index in range(count):
        Image.fromarray(rng.integers(0, 255, (FRAME, FRAME, 3), dtype=np.uint8)).save(root / f"i{seed}_{index}.png")
        records.append({"id": f"img/{seed}/{index}", "task": "spatial_grounding", "question": "the red square",
                        "media": {"type": "image", "path": f"i{seed}_{index}.png", "width": FRAME, "height": FRAME},
                        "clue": {"boxes": [[4.0, 8.0, 30.0, 40.0]]}, "think": "It is on the left."})
    path = root / name
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


TINY_SETTINGS = dict(
    video_min_pixels=FRAME * FRAME, video_max_pixels=FRAME * FRAME, image_min_pixels=FRAME * FRAME,
    image_max_pixels=FRAME * FRAME, video_max_frames=8, dtype="float32", tensorboard=False,
)


def _datasets(datasets: list[Path | dict]) -> list[dict]:
    return [dataset if isinstance(dataset, dict) else {"path": str(dataset)} for dataset in datasets]


def grpo_config(model: Path, output_dir: Path, datasets: list[Path | dict], **overrides) -> GRPOConfig:
    """A GRPO config for a tiny model: 2 prompts × G=4 per step, short completions, learning rate
    high enough that a few steps change the weights. `datasets`: JSONL paths or dataset mappings."""
    values = dict(model=str(model), output_dir=str(output_dir), datasets=_datasets(datasets),
                  num_generations=4, per_device_batch_size=4, gradient_accumulation_steps=2,
                  max_completion_length=12, learning_rate=1e-3, beta=0.04, max_steps=2, **TINY_SETTINGS)
    values.update(overrides)
    config = config_from_dict(GRPOConfig, values)
    config.validate()
    return config


def sft_config(model: Path, output_dir: Path, datasets: list[Path | dict], **overrides) -> SFTConfig:
    values = dict(model=str(model), output_dir=str(output_dir), datasets=_datasets(datasets),
                  per_device_batch_size=2, gradient_accumulation_steps=1, learning_rate=1e-3, max_steps=2,
                  **TINY_SETTINGS)
    values.update(overrides)
    config = config_from_dict(SFTConfig, values)
    config.validate()
    return config


def digit_reward(sample: Sample, prediction: Prediction) -> RewardResult:
    """Share of the completion's characters that are digits or brackets: a random tiny model's
    completions differ in it, so groups have reward spread."""
    text = prediction.raw
    share = sum(char.isdigit() or char in "[]()," for char in text) / max(len(text), 1)
    return RewardResult(values={"digits": share, "format": float(text.startswith("<"))}, total=share,
                        prediction=prediction)


def state_dicts_equal(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> bool:
    return first.keys() == second.keys() and all(torch.equal(first[name], second[name]) for name in first)


def load_weights(model_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    weights = {}
    for shard in sorted(Path(model_dir).glob("*.safetensors")):
        weights.update(load_file(shard))
    return weights


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Import this fixture into a test module. One intra-op thread: on a shared 2-core machine, two
    spinning threads per process make the tiny models ~30x slower than one."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
