"""`evaluate`: run iterative perception over a benchmark's samples and write the run folder.

The folder (see the package docstring for every file) is resumable: each finished sample is one
fsynced line of its process's shard, a rerun with the same arguments skips the samples already
there, and a rerun with different settings is refused. Under `accelerate launch --multi_gpu
--num_processes N` (its torchrun launcher; on a machine without GPUs too, where the processes talk
over gloo: accelerate's `--cpu` launcher starts one process unless given an MPI hostfile) every process
takes the samples whose index modulo the number of processes is its rank; after a barrier the
main process merges the shards in annotation order and writes the derived files, so the folder
equals a single-process run's.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn,
                           TimeElapsedColumn)
from rich.text import Text

from videofocus.backends.base import Backend
from videofocus.errors import ConfigError, DataError, MediaError
from videofocus.evaluate import report
from videofocus.evaluate.manifest import build_manifest, check_same_run, model_found_locally, write_json
from videofocus.evaluate.settings import EvalSettings, GenerationSettings
from videofocus.evaluate.store import PredictionStore
from videofocus.metrics import ScoreReport, score_predictions
from videofocus.perception import PerceptionOptions, perceive_batch
from videofocus.schema import Sample, read_samples, write_samples
from videofocus.storage import atomic_writer, reporting_full_disk

RUN_FILE = "run.json"
# Locked (flock) while an evaluation writes the folder; the empty file stays, and a killed run's lock goes with it.
LOCK_FILE = ".videofocus-eval.lock"


@dataclass(frozen=True)
class EvalResult:
    """What an evaluation produced: the folder, each reported round's ScoreReport, the samples that
    failed, and how many samples this call evaluated (the rest were there from an earlier run)."""

    output_dir: Path
    reports: dict[int, ScoreReport]
    failures: list[report.Failure]
    evaluated_now: int

    @property
    def metrics(self) -> dict[int, dict[str, float]]:
        """Metric values (%) by round."""
        return {number: dict(score.metrics) for number, score in self.reports.items()}


def evaluate(annotations: str | os.PathLike, output_dir: str | os.PathLike, settings: EvalSettings, *,
             model: str | os.PathLike | None = None, backend: Backend | None = None,
             media_root: str | os.PathLike | None = None, device: str | None = None, progress: bool = True,
             command: str | None = None, allow_media_outside_root: bool = False) -> EvalResult | None:
    """Evaluate a model on the samples of `annotations` (the one sample format) and write the run
    folder `output_dir`; resumes a run already there.

    model: a model directory or Hub id; loaded per `settings.generation` unless `backend` is given,
        and then only recorded (its hashes identify the weights in run.json). A Hub id not yet in
        the local cache is loaded before the folder is prepared, so run.json records its revision.
    backend: a ready Backend (e.g. one the caller already built, or a ScriptedBackend).
    media_root: where relative media paths start (default: the annotation file's folder).
    device: where a backend built here runs (default: this process's accelerate device).
    command: the command line to record in run.json.
    allow_media_outside_root: let relative media paths lead outside `media_root` with "..".
    Returns the result on the main process and None on the others. Raises ConfigError when the
    folder holds a run with other settings or vLLM is asked for under several processes, DataError
    for bad annotations or a broken folder, DiskFullError when the folder's disk fills up."""
    if model is None and backend is None:
        raise ConfigError("evaluate needs a model (path or Hub id) or a ready backend")
    started = time.perf_counter()
    state = _process_state(device)
    if backend is None:
        _refuse_vllm_in_several_processes(settings.generation, state.num_processes)
        settings = _with_explicit_dtype(settings, device or _device_name(state.device))
    samples = _read_samples(annotations, settings.limit)
    # The benchmark's annotation checks, before any model time is spent.
    score_predictions(settings.benchmark, samples, {}, track_units=settings.track_units, annotations=annotations)
    media_root = Path(media_root) if media_root is not None else Path(annotations).parent
    _check_media_paths(samples, annotations, media_root, allow_outside=allow_media_outside_root)
    load = partial(build_backend, model, settings.generation, batch_size=settings.batch_size,
                   device=device or _device_name(state.device), seed=settings.seed)
    # Loading is what fetches an uncached Hub model; identified before that, run.json would hold no
    # revision or hashes and the rerun, which finds the model cached, would be refused.
    loaded = load() if backend is None and not model_found_locally(model) else None
    manifest = _json_ready(build_manifest(settings, annotations=annotations, samples=samples, media_root=media_root,
                                          model=model, backend=backend, command=command))
    folder = Path(output_dir)
    with reporting_full_disk(folder), _only_evaluation_in(folder, lock=state.is_main_process):
        store = PredictionStore(folder)
        if state.is_main_process:
            _prepare_folder(folder, manifest, samples, store)
        state.wait_for_everyone()

        finished_before = set(store.lines())
        mine = [(index, sample) for index, sample in enumerate(samples)
                if index % state.num_processes == state.process_index and sample.id not in finished_before]
        if mine:
            backend = backend or loaded or load()
            # Named by what the samples ask (the benchmark only says how they are scored).
            tasks = settings.perception.task or ", ".join(dict.fromkeys(sample.task for _, sample in mine))
            label = tasks + (f" (process {state.process_index + 1} of {state.num_processes})"
                             if state.num_processes > 1 else "")
            _run_samples(mine, backend, settings, media_root, store, state.process_index,
                         show=progress and state.is_main_process, label=label)
        state.wait_for_everyone()
        if not state.is_main_process:
            return None
        lines = [json.loads(text) for text in store.merge([sample.id for sample in samples])]
        evaluated_now = sum(line["id"] not in finished_before for line in lines)
        invocation = {"seconds": time.perf_counter() - started, "samples": evaluated_now,
                      "processes": state.num_processes}
        return _write_outputs(folder, lines, samples, settings, manifest, annotations, invocation)


def build_backend(model: str | os.PathLike | None, generation: GenerationSettings, *, batch_size: int,
                  device: str | None, seed: int = 0) -> Backend:
    """The backend `generation` asks for, loaded from `model`. (vLLM batches by itself and picks its
    GPU itself; `batch_size` and `device` only apply to transformers.)"""
    if model is None:
        raise ConfigError("a backend can only be built from a model path or Hub id")
    if generation.backend == "vllm":
        try:
            from videofocus.backends.vllm import VLLMBackend
        except ImportError as exc:
            raise ConfigError(f"--backend vllm is not available here ({exc}); it needs the vllm package and a "
                              "GPU; use --backend hf") from None
        from videofocus.models.inputs import PixelLimits

        return VLLMBackend(
            model, max_new_tokens=generation.max_new_tokens, top_p=generation.top_p, seed=seed,
            temperature=generation.temperature if generation.do_sample else 0.0,  # vLLM: 0 means greedy
            video_limits=PixelLimits(generation.video_min_pixels, generation.video_max_pixels,
                                     generation.video_total_pixels),
            image_limits=PixelLimits(generation.image_min_pixels, generation.image_max_pixels),
            **({"dtype": generation.dtype} if generation.dtype else {}))
    from videofocus.backends.hf import HFBackend

    return HFBackend.from_pretrained(
        model, dtype=generation.dtype, device=device, batch_size=batch_size,
        max_new_tokens=generation.max_new_tokens, do_sample=generation.do_sample,
        temperature=generation.temperature, top_p=generation.top_p,
        video_min_pixels=generation.video_min_pixels, video_max_pixels=generation.video_max_pixels,
        video_total_pixels=generation.video_total_pixels,
        image_min_pixels=generation.image_min_pixels, image_max_pixels=generation.image_max_pixels,
        time_positions=generation.time_positions)


def evaluate_batch(samples: Sequence[Sample], backend: Backend, options: PerceptionOptions,
                   media_root: str | os.PathLike | None) -> list[dict[str, Any]]:
    """One predictions.jsonl line per sample: its perception result, or `{"id", "task", "error"}`
    when its media cannot be read (MediaError) or it cannot be asked (DataError). A failing batch
    is retried sample by sample so one bad video costs only its own line."""
    try:
        return [result.to_dict() for result in perceive_batch(samples, backend, options, media_root=media_root)]
    except (MediaError, DataError) as error:
        if len(samples) > 1:
            return [line for sample in samples for line in evaluate_batch([sample], backend, options, media_root)]
        return [{"id": samples[0].id, "task": samples[0].task, "error": f"{type(error).__name__}: {error}"}]


# ----- steps ----------------------------------------------------------------------------------------

def _read_samples(annotations: str | os.PathLike, limit: int | None) -> list[Sample]:
    samples = list(read_samples(annotations))
    if not samples:
        raise DataError("no samples to evaluate", path=str(annotations))
    return samples[:limit] if limit is not None else samples


def _check_media_paths(samples: Sequence[Sample], annotations: str | os.PathLike, media_root: Path, *,
                       allow_outside: bool) -> None:
    """DataError naming the first sample whose relative media path leads outside `media_root`."""
    for sample in samples:
        try:
            sample.media.resolve(media_root, allow_outside=allow_outside)
        except DataError as error:
            raise DataError(f"sample {sample.id!r}: {error.reason} (pass --allow-media-outside-root to allow it)",
                            path=str(annotations), field=error.field) from None


def _prepare_folder(folder: Path, manifest: dict[str, Any], samples: Sequence[Sample],
                    store: PredictionStore) -> None:
    """Start a run folder, or check that it holds this run and cut its half-written lines."""
    run_file = folder / RUN_FILE
    if run_file.exists():
        try:
            existing = json.loads(run_file.read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as exc:   # not JSON, not UTF-8, nested too deeply
            raise DataError(f"cannot read the run description ({type(exc).__name__}: {exc})",
                            path=str(run_file)) from None
        check_same_run(existing, manifest, folder)
        store.repair()
        for leftover in folder.glob(".*.tmp"):   # atomic_writer's temporary file of a killed run
            leftover.unlink()
    elif store.holds_predictions():
        raise ConfigError(f"{folder} holds predictions but no {RUN_FILE}, so their settings are unknown; "
                          "choose another --output")
    else:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_writer(run_file) as handle:
            write_json(handle, manifest)
    write_samples(folder / report.SAMPLES_FILE, samples)


@contextmanager
def _only_evaluation_in(folder: Path, *, lock: bool):
    """Hold the folder's lock for the block (main process only: the others write only their shards, after
    the main process has prepared the folder); ConfigError when another evaluation holds it."""
    if not lock:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    held = FileLock(folder / LOCK_FILE, blocking=False)
    try:
        held.acquire()
    except Timeout:
        raise ConfigError(f"{folder} is in use by another evaluation (it holds the lock {LOCK_FILE}); wait for "
                          "that one to finish, or choose another --output") from None
    try:
        yield
    finally:
        held.release()


def _run_samples(indexed: Sequence[tuple[int, Sample]], backend: Backend, settings: EvalSettings,
                 media_root: Path, store: PredictionStore, rank: int, *, show: bool, label: str) -> None:
    """Evaluate `indexed` (annotation index, sample) in batches, appending each line as it is done."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), _RateColumn(),
                  TextColumn("ETA"), _RemainingColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), disable=not show) as bar:
        task = bar.add_task(label, total=len(indexed))
        # A sampling backend draws a batch's samples from one random stream, so a sample's result would
        # depend on which samples share its batch, and a resume after a kill inside a batch regroups
        # them: such a backend gets one sample at a time, seeded by the sample's index.
        size = settings.batch_size if backend.deterministic else 1
        for start in range(0, len(indexed), size):
            batch = indexed[start:start + size]
            _seed_everything(settings.seed + batch[0][0])
            for line in evaluate_batch([sample for _, sample in batch], backend, settings.perception, media_root):
                store.append(rank, line)
                bar.advance(task)


def _write_outputs(folder: Path, lines: list[dict[str, Any]], samples: Sequence[Sample], settings: EvalSettings,
                   manifest: Mapping[str, Any], annotations: str | os.PathLike,
                   invocation: dict[str, Any]) -> EvalResult:
    paths = report.write_round_predictions(folder, lines, settings.rounds)
    reports = report.score_round_files(settings.benchmark, samples, paths, track_units=settings.track_units,
                                       annotations=annotations)
    failed = report.failures(lines)
    report.write_metrics(folder, reports, track_units=settings.track_units, failed=failed)
    report.write_results_markdown(folder, reports, manifest, lines, failed)
    report.plot_metrics_vs_rounds(folder, reports)
    seconds = invocation["seconds"]
    report.write_timing(folder, lines, settings.rounds,
                        {**invocation, "samples_per_second": invocation["samples"] / seconds if seconds else 0.0})
    return EvalResult(output_dir=folder, reports=reports, failures=failed, evaluated_now=invocation["samples"])


# ----- helpers --------------------------------------------------------------------------------------

def _process_state(device: str | None):
    """accelerate's view of the processes. Without a GPU (or with --device cpu) the processes talk over
    gloo: accelerate's PartialState only sees a CPU launch as distributed when told `cpu=True`."""
    import torch
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env

    cpu = (device is not None and device.startswith("cpu")) or not torch.cuda.is_available() \
        or parse_flag_from_env("ACCELERATE_USE_CPU")
    return PartialState(cpu=cpu)


def _refuse_vllm_in_several_processes(generation: GenerationSettings, num_processes: int) -> None:
    """ConfigError for vLLM under a multi-process launch: each process would start its own engine,
    and nothing here pins a process to its GPU before CUDA starts, so all would share GPU 0."""
    if generation.backend == "vllm" and num_processes > 1:
        raise ConfigError(
            f"--backend vllm cannot run as {num_processes} processes: each would start its own vLLM engine on "
            "GPU 0. Run one process, and for several GPUs use vLLM's own tensor / data parallelism (a "
            "VLLMBackend built with tensor_parallel_size or data_parallel_size, handed to evaluate), or use "
            "--backend hf, which runs one process per GPU")


def _with_explicit_dtype(settings: EvalSettings, device: str) -> EvalSettings:
    """`settings` with load_model's default dtype (bf16 on GPU, fp32 on CPU) written out, so run.json
    states it and a resume on the other kind of device is refused."""
    if settings.generation.dtype is not None:
        return settings
    dtype = "float32" if device.startswith("cpu") else "bfloat16"
    return replace(settings, generation=replace(settings.generation, dtype=dtype))


def _device_name(device) -> str:
    """accelerate's device as load_model takes it ("cpu", "cuda:1")."""
    return "cpu" if device.type == "cpu" else str(device)


def _json_ready(data: dict[str, Any]) -> dict[str, Any]:
    """`data` as it reads back from run.json (tuples become lists), so it compares with a loaded one."""
    return json.loads(json.dumps(data))


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _mean_rate(task: Task) -> float | None:
    """Samples per second since the bar started. (rich's own speed looks only at the last updates: a
    batch finishing at once makes it huge at the start, and it is stale at the end.)"""
    elapsed = task.finished_time if task.finished else task.elapsed
    return task.completed / elapsed if task.completed and elapsed else None


class _RateColumn(ProgressColumn):
    """Samples per second, the mean since the start."""

    def render(self, task: Task) -> Text:
        rate = _mean_rate(task)
        return Text(f"{rate:.2f} samples/s" if rate else "- samples/s", style="progress.data.speed")


class _RemainingColumn(ProgressColumn):
    """Time left at the mean rate since the start."""

    def render(self, task: Task) -> Text:
        rate = _mean_rate(task)
        if task.total is None or rate is None:
            return Text("-:--:--", style="progress.remaining")
        seconds = round((task.total - task.completed) / rate)
        return Text(str(timedelta(seconds=seconds)), style="progress.remaining")
