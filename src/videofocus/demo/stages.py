"""The demo's building blocks, each one call into the library: synthetic data, a model built from
scratch, an SFT or GRPO run, an evaluation with iterative perception. The demo pipeline and the
learning benchmark (benchmarks/learning.py) are both made of these.

Every block can be called again on its own output folder: the data generator reuses what it wrote,
a training run continues from its latest checkpoint, an evaluation skips the samples it has."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from videofocus.data.synth import KINDS, SAMPLES_FILE, TASK_NAMES, generate_dataset
from videofocus.demo.baselines import best_constant_interval, mean_interval_iou
from videofocus.errors import ConfigError
from videofocus.metrics import get_benchmark
from videofocus.models.tiny import TinySize, build_tiny_model
from videofocus.report import MetricRow
from videofocus.schema import Sample, read_samples, write_samples
from videofocus.tasks import get_task

# The metrics the demo's table shows per benchmark (others show the benchmark's first metric).
HEADLINE_METRICS = {"temporal_grounding": ("mIoU", "R@0.5"), "got10k": ("AO",), "refcoco": ("Acc@0.5",),
                    "nextgqa": ("Acc@QA",)}
# How the table names a selection (others: the selection with spaces).
SELECTION_LABELS = {"temporal_grounding": "temporal grounding", "tracking": "tracking",
                    "spatial_grounding": "spatial grounding", "brief_evidence": "brief evidence QA"}


def selection_task(selection: str) -> str:
    """The schema task of a synth selection (a task name, or a kind name)."""
    if selection in TASK_NAMES:
        return selection
    if selection in KINDS:
        return KINDS[selection].task
    raise ConfigError(f"unknown selection {selection!r}; choose synth tasks ({', '.join(TASK_NAMES)}) or kinds "
                      f"({', '.join(KINDS)})")


def selection_benchmark(selection: str) -> str:
    """The benchmark a selection is scored on: its task's usual one."""
    task = get_task(selection_task(selection))
    if not task.benchmarks:
        raise ConfigError(f"selection {selection!r} (task {task.name}) has no rule-based benchmark to score it on; "
                          "leave it out of the demo's tasks")
    return task.benchmarks[0]


def metric_rows(selections: Sequence[str]) -> list[MetricRow]:
    """The table rows of `selections`, in order: each selection's headline metrics."""
    rows = []
    for selection in selections:
        benchmark = selection_benchmark(selection)
        metrics = HEADLINE_METRICS.get(benchmark, get_benchmark(benchmark).metric_names[:1])
        title = SELECTION_LABELS.get(selection, selection.replace("_", " "))
        rows += [MetricRow(title, selection, benchmark, metric) for metric in metrics]
    return rows


def in_selection(sample: Sample, selection: str) -> bool:
    return sample.task == selection or (sample.meta or {}).get("kind") == selection


# ----- data -----------------------------------------------------------------------------------------

def make_split(folder: str | os.PathLike, *, split: str, n: int, seed: int, selections: Sequence[str],
               difficulty: str, overrides: Mapping[str, Any] | None = None) -> Path:
    """Generate `n` synthetic samples cycling through `selections` (the `difficulty` preset with some
    settings replaced by `overrides`); returns the samples file."""
    return generate_dataset(folder, n, seed, list(selections), difficulty, split=split, **(overrides or {}))


def split_by_selection(samples_file: str | os.PathLike, selections: Sequence[str]) -> dict[str, Path]:
    """Write one file per selection next to `samples_file` (so media paths stay valid); returns them."""
    samples = list(read_samples(samples_file))
    folder = Path(samples_file).parent
    files = {}
    for selection in selections:
        files[selection] = folder / f"{selection}.jsonl"
        chosen = [sample for sample in samples if in_selection(sample, selection)]
        if not chosen:
            raise ConfigError(f"{samples_file} holds no sample of {selection!r}")
        write_samples(files[selection], chosen)
    return files


def selection_file(folder: str | os.PathLike, selection: str) -> Path:
    """Where `split_by_selection` writes a selection's samples."""
    return Path(folder) / f"{selection}.jsonl"


def samples_file(folder: str | os.PathLike) -> Path:
    return Path(folder) / SAMPLES_FILE


def constant_interval_miou(train: Sequence[Sample], test: Sequence[Sample]) -> float:
    """What a grounding answer that ignores the video scores: the mIoU (%) on `test` of the one
    interval (ends on a half-second grid) with the best mean IoU on `train`."""
    return 100 * mean_interval_iou(best_constant_interval(train), test)


# ----- model ----------------------------------------------------------------------------------------

def build_model(folder: str | os.PathLike, *, arch: str, seed: int, size: TinySize) -> Path:
    """A randomly initialised model with its processor in `folder` (kept if already built there)."""
    folder = Path(folder)
    if (folder / "config.json").is_file():
        return folder
    return build_tiny_model(folder, arch=arch, seed=seed, size=size)


def parameter_count(model_dir: str | os.PathLike) -> int:
    from videofocus.models import load_model

    model, _ = load_model(model_dir, device="cpu")
    return sum(parameter.numel() for parameter in model.parameters())


# ----- training -------------------------------------------------------------------------------------

def training_values(*, model: str | os.PathLike, output_dir: str | os.PathLike, train_file: str | os.PathLike,
                    seed: int, frame_pixels: int, steps: int, learning_rate: float) -> dict[str, Any]:
    """Trainer settings shared by the demo's SFT and GRPO runs: a model trained from scratch (vision
    included), fixed small frames kept in memory after their first epoch, float32, a checkpoint every
    fifth of the run."""
    return dict(
        model=str(model), output_dir=str(output_dir), datasets=[{"path": str(train_file)}], seed=seed,
        video_min_pixels=frame_pixels, video_max_pixels=frame_pixels, image_min_pixels=frame_pixels,
        image_max_pixels=frame_pixels, cache_examples=True, freeze_vision_tower=False, freeze_projector=False,
        dtype="float32", max_steps=steps, learning_rate=learning_rate, save_steps=max(1, steps // 5),
        save_total_limit=1, tensorboard=False,
    )


def run_sft(values: dict[str, Any]) -> Path:
    """SFT with `values` (SFTConfig keys); continues the latest checkpoint in its output_dir."""
    from videofocus.train.config import SFTConfig, config_from_dict
    from videofocus.train.sft import train_sft

    config = config_from_dict(SFTConfig, values, source="demo SFT settings")
    config.validate()
    return train_sft(config, resume=_has_checkpoint(config.output_dir))


def run_grpo(values: dict[str, Any]) -> Path:
    """GRPO with `values` (GRPOConfig keys); continues the latest checkpoint in its output_dir."""
    from videofocus.train.config import GRPOConfig, config_from_dict
    from videofocus.train.grpo import train_grpo

    config = config_from_dict(GRPOConfig, values, source="demo GRPO settings")
    config.validate()
    return train_grpo(config, resume=_has_checkpoint(config.output_dir))


def _has_checkpoint(output_dir: str | os.PathLike) -> bool:
    from videofocus.train.checkpoint import latest_checkpoint

    return latest_checkpoint(output_dir) is not None


# ----- evaluation -----------------------------------------------------------------------------------

def load_backend(model_dir: str | os.PathLike, *, frame_pixels: int, batch_size: int, max_new_tokens: int):
    """A greedy transformers backend for `model_dir` that sizes frames and images as training did."""
    from videofocus.backends.hf import HFBackend

    return HFBackend.from_pretrained(model_dir, batch_size=batch_size, max_new_tokens=max_new_tokens,
                                     video_min_pixels=frame_pixels, video_max_pixels=frame_pixels,
                                     image_min_pixels=frame_pixels, image_max_pixels=frame_pixels)


def evaluate_selection(backend, model_dir: str | os.PathLike, annotations: str | os.PathLike,
                       output_dir: str | os.PathLike, *, selection: str, rounds: int, frames: int | None,
                       batch_size: int, seed: int, command: str | None = None) -> Path:
    """Evaluate one selection's held-out samples with `rounds` rounds of iterative perception at a
    budget of `frames` frames a round (None: 2 fps, as training samples); writes (and resumes) the
    evaluation folder and returns it."""
    from videofocus.evaluate import EvalSettings, evaluate
    from videofocus.perception import PerceptionOptions

    settings = EvalSettings(selection_benchmark(selection), rounds=tuple(range(1, rounds + 1)),
                            perception=PerceptionOptions(num_frames=frames), batch_size=batch_size, seed=seed)
    evaluate(annotations, output_dir, settings, model=model_dir, backend=backend, command=command)
    return Path(output_dir)
