"""The GPU path in one short run: real-size random-weight Qwen2.5-VL-3B/-7B and Qwen3-VL-8B through the
project's own GRPO trainer (full fine-tuning and LoRA; one process plain, under FSDP and under
DeepSpeed ZeRO-2), iterative perception at 7B, and the memory formula checked against measured peaks.

    bash benchmarks/gpu_check.sh --build-wheels     # here, once: the wheels the GPU machine lacks -> wheels/
    bash benchmarks/gpu_check.sh                    # there (carry wheels/): JSON + markdown in $OUT
    bash benchmarks/gpu_check.sh --dry-run          # any CPU, tiny shapes, the same code path (tests run it)

What runs (CASES, in priority order; a case starts only while the --budget lasts, and a case the
memory formula says cannot fit on the device is skipped with its estimate):

- GRPO cases: 2 optimisation steps of `train_grpo` each (G = 8 completions of one prompt per step, 128
  new tokens, beta 0.04 so the reference forward runs, bf16 autocast with float32 trained weights,
  gradient checkpointing, sdpa attention) on 32-frame 448x252 clips (the recipes' frame size range).
  Weights are random: the model is built from the published config on the GPU instead of loaded
  (`random_weights`); everything else is the trainer as users run it. Each step is split into rollout
  (sampling + rewards), reference forward and policy forward-backward + update; peak memory is
  `torch.cuda.max_memory_allocated`. Nothing is saved at the end (saving is tested on the CPU).
- shared vision encoding: the 7B LoRA step with the encoder run once per prompt against once per
  completion (TRL's way); the CPU estimate for 7B proportions was 0.8-0.85.
- ITP: `perceive` at 7B on benchmarks/itp_cost.py's 3-minute video and scripted completions, 3 rounds
  against 1, with and without reuse (the CPU result: 1.49x with reuse + early stop, 2.60x without).

The cases of one launch kind that follow each other run in one process (`--group`, started by the
orchestrator `main`); FSDP and ZeRO-2 run under `accelerate launch --num_processes 1`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections import defaultdict
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from unittest import mock

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STEPS = 2


@dataclass(frozen=True)
class Case:
    name: str
    model: str                     # a key of videofocus.models.published.PUBLISHED
    lora: bool = False
    launch: str = "single"         # "single" (one plain process), "fsdp" or "zero2"
    share: bool = True             # share_visual_features
    kind: str = "grpo"             # "grpo" or "itp"


CASES = (
    Case("7b-lora", "Qwen2.5-VL-7B", lora=True),
    Case("7b-lora-unshared", "Qwen2.5-VL-7B", lora=True, share=False),
    Case("3b-full", "Qwen2.5-VL-3B"),
    Case("3b-full-fsdp", "Qwen2.5-VL-3B", launch="fsdp", share=False),   # FSDP cannot run the encoder alone
    Case("3b-full-zero2", "Qwen2.5-VL-3B", launch="zero2"),
    Case("8b-lora", "Qwen3-VL-8B", lora=True),
    Case("itp-7b", "Qwen2.5-VL-7B", kind="itp"),
    Case("3b-lora", "Qwen2.5-VL-3B", lora=True),
    Case("7b-full", "Qwen2.5-VL-7B"),
    Case("8b-full", "Qwen3-VL-8B"),
)


@dataclass(frozen=True)
class Scale:
    """Workload sizes, and the model shapes: the published ones (real) or scaled down (dry run)."""

    frames: int
    height: int
    width: int
    generations: int
    completion_length: int
    itp_repeats: int
    shrink: dict = field(default_factory=dict)    # arch -> {"text": {...}, "vision": {...}} overrides


REAL = Scale(frames=32, height=252, width=448, generations=8, completion_length=128, itp_repeats=2)
_TINY_TEXT = dict(vocab_size=1024, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2)
_TINY_VISION = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2)
TINY = Scale(frames=4, height=56, width=56, generations=4, completion_length=8, itp_repeats=1, shrink={
    "qwen2_5_vl": {"text": dict(_TINY_TEXT, rope_parameters={"rope_type": "default", "rope_theta": 1e6,
                                                               "mrope_section": [2, 3, 3]}),
                   "vision": dict(_TINY_VISION, fullatt_block_indexes=[1])},
    "qwen3_vl": {"text": dict(_TINY_TEXT, head_dim=16, rope_parameters={
                     "rope_type": "default", "rope_theta": 5e6, "mrope_section": [2, 3, 3], "mrope_interleaved": True}),
                 "vision": dict(_TINY_VISION, deepstack_visual_indexes=[0])},
})


# ----- orchestrator -------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or "out/gpu_check"),
                        help="where gpu_check.json and gpu_check.md go (default: $OUT)")
    parser.add_argument("--dry-run", action="store_true", help="tiny shapes on the CPU: the same code path")
    parser.add_argument("--budget", type=float, default=390.0, help="seconds after which no further case starts")
    parser.add_argument("--only", nargs="*", help="run only these cases (names from CASES)")
    parser.add_argument("--group", nargs="*", help=argparse.SUPPRESS)      # internal: run these cases here
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.group is not None:
        run_group([case_named(name) for name in args.group], args.work, args.deadline, dry_run=args.dry_run)
        return
    started = time.time()
    deadline = started + args.budget
    cases = [case for case in CASES if not args.only or case.name in args.only]
    if args.only and len(cases) != len(args.only):
        parser.error(f"--only: unknown case among {args.only}; cases: {', '.join(c.name for c in CASES)}")
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"dry_run": args.dry_run, "device": device_info(), "versions": versions(),
              "scale": asdict(TINY if args.dry_run else REAL), "cases": {}}
    with tempfile.TemporaryDirectory(prefix="gpu_check.") as scratch:
        work = Path(scratch)
        for index, group in enumerate(launch_groups(cases, by_priority=not args.dry_run)):
            log = args.out / f"group{index}_{group[0].launch}.log"
            results = launch_group(group, work, deadline, dry_run=args.dry_run, log=log)
            report["cases"].update(results)
            report["elapsed_s"] = round(time.time() - started, 1)
            report["summary"] = summarise(report["cases"])
            write_report(report, args.out)
    print(markdown(report))


def case_named(name: str) -> Case:
    return next(case for case in CASES if case.name == name)


def launch_groups(cases: list[Case], *, by_priority: bool) -> list[list[Case]]:
    """The cases split into groups of one launch kind, each run by one process: runs of consecutive
    cases (`by_priority`: the budget goes to the first cases first), else one group per kind (fewer
    process starts: the dry run)."""
    groups: list[list[Case]] = []
    for case in cases:
        joinable = groups[-1:] if by_priority else groups
        group = next((group for group in joinable if group[0].launch == case.launch), None)
        if group is None:
            groups.append([case])
        else:
            group.append(case)
    return groups


def launch_group(cases: list[Case], work: Path, deadline: float, *, dry_run: bool, log: Path) -> dict[str, dict]:
    """Run `cases` in a child process (under `accelerate launch` for FSDP / ZeRO-2), keep its output in
    `log` and collect the result file each case writes; a case without one gets the child's error output."""
    launch = cases[0].launch
    if launch == "zero2" and not _importable("deepspeed"):
        return {case.name: {"status": "skipped", "reason": "deepspeed is not installed"} for case in cases}
    if time.time() > deadline:
        return {case.name: {"status": "not run", "reason": "time budget spent"} for case in cases}
    script = [str(Path(__file__).resolve()), "--group", *(c.name for c in cases), "--work", str(work),
              "--deadline", str(deadline)] + (["--dry-run"] if dry_run else [])
    env = {**os.environ, "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True", "TOKENIZERS_PARALLELISM": "false"}
    if launch == "single":
        command = [sys.executable, *script]
    else:
        config = REPO / "configs" / ("accelerate_fsdp.yaml" if launch == "fsdp" else "accelerate_zero2.yaml")
        command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config),
                   "--num_processes", "1", "--mixed_precision", "bf16", "--main_process_port", str(_free_port()),
                   *script]
        if dry_run:
            env["ACCELERATE_USE_CPU"] = "1"
    print(f"[gpu_check] {launch}: {', '.join(c.name for c in cases)}", flush=True)
    timeout = max(deadline - time.time(), 0) + 240
    try:
        child = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
        output, code = child.stdout + child.stderr, child.returncode
    except subprocess.TimeoutExpired as exc:
        output, code = f"{exc.stdout or ''}{exc.stderr or ''}\ntimed out after {timeout:.0f} s", "timeout"
    log.write_text(output)
    if code != 0:
        print(output[-3000:], flush=True)
    results = {}
    for case in cases:
        path = work / f"{case.name}.json"
        results[case.name] = (json.loads(path.read_text()) if path.exists() else
                              {"status": "error", "reason": f"process exited with {code}", "log_tail": output[-2000:]})
    return results


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def device_info() -> dict:
    if not torch.cuda.is_available():
        return {"name": "cpu", "memory_gib": None}
    properties = torch.cuda.get_device_properties(0)
    return {"name": properties.name, "memory_gib": round(properties.total_memory / 2 ** 30, 1),
            "capability": f"{properties.major}.{properties.minor}"}


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("torch", "transformers", "accelerate", "peft", "deepspeed", "av", "tokenizers", "pydantic"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


# ----- one group of cases, in its own process -----------------------------------------------------

def run_group(cases: list[Case], work: Path, deadline: float, *, dry_run: bool) -> None:
    scale = TINY if dry_run else REAL
    for case in cases:
        if time.time() > deadline:
            result = {"status": "not run", "reason": "time budget spent"}
        else:
            try:
                result = run_itp(case, work, scale) if case.kind == "itp" else run_grpo(case, work, scale)
            except Exception as exc:   # one failing case must not stop the others: record it
                result = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"[:2000],
                          "traceback": traceback.format_exc()[-4000:]}
                print(result["traceback"], file=sys.stderr, flush=True)
        if _is_main_process():
            (work / f"{case.name}.json").write_text(json.dumps(result, indent=1, default=str))
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def model_dir(work: Path, name: str, scale: Scale) -> Path:
    """Config + processor folder of `name` at this scale (written once per work folder)."""
    from videofocus.models.published import PUBLISHED, write_config_dir

    folder = work / "models" / name.replace(".", "_")
    if not folder.exists():
        shrink = scale.shrink.get(PUBLISHED[name]["arch"], {})
        write_config_dir(folder, name, text=shrink.get("text"), vision=shrink.get("vision"))
    return folder


@contextmanager
def random_weights(counted: dict):
    """Make the project's `load_model` build the model from its folder's config with random weights,
    straight on the target device (no 15 GB checkpoint to write and read back); the rest of loading
    is as `videofocus.models.load_model` does it. `counted` gets each built model's parameter count."""
    from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor, GenerationConfig

    def build(path_or_id, *, dtype=None, device=None, attn_implementation=None):
        config = AutoConfig.from_pretrained(path_or_id)
        processor = AutoProcessor.from_pretrained(path_or_id)
        processor.tokenizer.padding_side = "left"
        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        torch.manual_seed(0)       # policy and reference start equal, as from one checkpoint
        with torch.device(device):
            model = AutoModelForImageTextToText.from_config(
                config, dtype=getattr(torch, dtype) if isinstance(dtype, str) else dtype,
                attn_implementation=attn_implementation or "sdpa")
        model.generation_config = GenerationConfig.from_pretrained(path_or_id)
        counted["parameters"] = sum(p.numel() for p in model.parameters())
        return model.eval(), processor

    with mock.patch("videofocus.models.load_model", build):
        yield


def write_clips(folder: Path, scale: Scale, count: int) -> Path:
    """`count` noise clips of `scale.frames` frames at 2 fps with temporal-grounding samples (written
    once per work folder)."""
    from videofocus.media.encode import write_video

    path = folder / "samples.jsonl"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    records = []
    for index in range(count):
        frames = rng.integers(0, 255, (scale.frames, scale.height, scale.width, 3), dtype=np.uint8)
        write_video(folder / f"{index}.mp4", frames, fps=2.0)
        records.append({"id": str(index), "task": "temporal_grounding", "question": "the person opens the door",
                        "media": {"type": "video", "path": f"{index}.mp4", "duration": scale.frames / 2},
                        "clue": {"intervals": [[1.0, 3.0]]}})
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


class StepTimer:
    """Seconds per optimisation step in rollout, reference forward and policy forward-backward +
    update, by wrapping those methods of the trainer (device synchronised around each)."""

    def __init__(self):
        self.steps: list[dict] = []
        self.current: dict = defaultdict(float)
        self.trainable = None
        self._step_started = None

    @staticmethod
    def _sync() -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def _timed(self, section: str, method):
        timer = self

        def timed(policy, *args, **kwargs):
            timer._sync()
            started = time.perf_counter()
            timer._step_started = timer._step_started or started
            result = method(policy, *args, **kwargs)
            timer._sync()
            timer.current[section] += time.perf_counter() - started
            if section == "rollout" and result is not None:
                timer.current["completion_tokens"] += sum(len(c.ids) for c in result.completions)
                timer.current["prompt_tokens"] += sum(int(g.example.inputs.input_ids.shape[-1]) for g in result.groups)
            if section == "policy" and timer.trainable is None:
                timer.trainable = sum(p.numel() for p in policy.run.model.parameters() if p.requires_grad)
            return result

        return timed

    def _end_step(self, method):
        timer = self

        def end_step(run, metrics):
            timer._sync()
            step = {key: round(value, 3) for key, value in timer.current.items()}
            step["step_s"] = round(time.perf_counter() - timer._step_started, 3)
            step["tokens_per_s"] = round(step.get("completion_tokens", 0) / max(step.get("rollout", 0), 1e-9), 1)
            step["loss"] = metrics.get("loss")
            timer.steps.append(step)
            timer.current, timer._step_started = defaultdict(float), None
            return method(run, metrics)

        return end_step

    @contextmanager
    def attached(self):
        from videofocus.train.grpo import Policy
        from videofocus.train.run import TrainingRun

        with ExitStack() as stack:
            for attribute, section in (("rollout", "rollout"), ("_reference_logps", "reference"),
                                       ("optimise", "policy")):
                stack.enter_context(mock.patch.object(Policy, attribute, self._timed(section, getattr(Policy, attribute))))
            stack.enter_context(mock.patch.object(TrainingRun, "end_step", self._end_step(TrainingRun.end_step)))
            # Two steps prove the path; the final save (a checkpoint of 50+ GB at this size) is tested on the CPU.
            stack.enter_context(mock.patch.object(TrainingRun, "finish", lambda run: Path(run.config.output_dir)))
            yield


def grpo_config(case: Case, model: Path, data: Path, output_dir: Path, scale: Scale):
    from videofocus.train.config import GRPOConfig, config_from_dict

    pixels = scale.height * scale.width
    config = config_from_dict(GRPOConfig, dict(
        model=str(model), output_dir=str(output_dir), datasets=[{"path": str(data)}],
        num_generations=scale.generations, per_device_batch_size=scale.generations, gradient_accumulation_steps=1,
        generation_batch_size=1, max_completion_length=scale.completion_length, beta=0.04, learning_rate=1e-6,
        max_steps=STEPS, share_visual_features=case.share, use_lora=case.lora, gradient_checkpointing=True,
        video_fps=2.0, video_min_frames=scale.frames, video_max_frames=scale.frames, video_min_pixels=pixels,
        video_max_pixels=pixels, dtype="bfloat16", mixed_precision="bf16", attn_implementation="sdpa",
        tensorboard=False, save_steps=0))
    config.validate()
    return config


def estimate(case: Case, model: Path, scale: Scale):
    """(the memory formula's estimate for this case, the formula's parameter counts)."""
    from transformers import AutoConfig

    from videofocus.train.memory import Workload, estimate_memory, parameter_counts

    config = AutoConfig.from_pretrained(model)
    counts = parameter_counts(config)
    workload = Workload(frames=scale.frames, frame_height=scale.height, frame_width=scale.width,
                        num_generations=scale.generations, completion_length=scale.completion_length,
                        share_visual_features=case.share)
    return estimate_memory(config, workload, lora=case.lora, strategy=case.launch, counts=counts), counts


def run_grpo(case: Case, work: Path, scale: Scale) -> dict:
    from videofocus.train.grpo import train_grpo

    model = model_dir(work, case.model, scale)
    predicted, counts = estimate(case, model, scale)
    result = {"status": "ok", "model": case.model, "training": "LoRA" if case.lora else "full", "launch": case.launch,
              "shared_vision": case.share, "predicted_gib": predicted.as_gib(),
              "trainable_parameters_formula": counts.lora if case.lora else counts.language_model,
              "parameters_formula": counts.total}
    capacity = torch.cuda.get_device_properties(0).total_memory if torch.cuda.is_available() else None
    if capacity is not None and predicted.peak > 0.95 * capacity:
        return {**result, "status": "skipped",
                "reason": f"the memory formula predicts {predicted.peak / 2 ** 30:.0f} GiB, over this device's "
                          f"{capacity / 2 ** 30:.0f} GiB"}
    data = write_clips(work / "clips", scale, count=STEPS)
    output_dir = work / "runs" / case.name
    counted: dict = {}
    timer = StepTimer()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    baseline = torch.cuda.memory_allocated() if torch.cuda.is_available() else 0
    started = time.perf_counter()
    with random_weights(counted), timer.attached():
        train_grpo(grpo_config(case, model, data, output_dir, scale))
    result.update(wall_s=round(time.perf_counter() - started, 1), steps=timer.steps, parameters=counted.get("parameters"),
                  trainable_parameters=timer.trainable)
    if torch.cuda.is_available():
        measured = torch.cuda.max_memory_allocated() - baseline
        result.update(peak_gib=round(measured / 2 ** 30, 2), baseline_gib=round(baseline / 2 ** 30, 2),
                      peak_reserved_gib=round(torch.cuda.max_memory_reserved() / 2 ** 30, 2),
                      measured_over_predicted=round(measured / predicted.peak, 3))
    return result


def run_itp(case: Case, work: Path, scale: Scale) -> dict:
    """3 rounds / 1 round of `perceive` with benchmarks/itp_cost.py's settings, on this model."""
    sys.path.insert(0, str(HERE))
    import itp_cost

    import videofocus.models
    from videofocus.schema import Sample

    counted: dict = {}
    with random_weights(counted):   # patches the module attribute: look it up inside
        model, processor = videofocus.models.load_model(model_dir(work, case.model, scale), dtype="bfloat16")
    video = itp_cost.make_video(work) if scale is REAL else short_video(work)
    sample = Sample(id="bench", task="grounded_qa", media={"type": "video", "path": str(video)},
                    question="What does the person drink from?", options=["a bottle", "a red cup", "a glass"])
    itp_cost.run(model, processor, sample, rounds=1, reuse=True, early_stop=False)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in itp_cost.CONFIGS}
    rounds_run = {}
    for _ in range(scale.itp_repeats):
        for name, (rounds, reuse, early_stop) in itp_cost.CONFIGS.items():
            seconds, vision, outcome = itp_cost.run(model, processor, sample, rounds=rounds, reuse=reuse,
                                                    early_stop=early_stop)
            times[name].append(seconds)
            rounds_run[name] = len(outcome.rounds)
    one = min(times["1 round"])
    return {"status": "ok", "model": case.model, "parameters": counted.get("parameters"),
            "best_s": {name: round(min(values), 3) for name, values in times.items()}, "rounds_run": rounds_run,
            "over_one_round": {name: round(min(values) / one, 3) for name, values in times.items()}}


def short_video(work: Path) -> Path:
    """A 100 s clip at 1 fps and 64x36 (the scripted clues point at 60-90 s): the dry run's video."""
    from videofocus.media.encode import write_video

    frames = np.random.default_rng(0).integers(0, 255, (100, 36, 64, 3), dtype=np.uint8)
    return write_video(work / "itp_short.mp4", frames, fps=1.0)


# ----- report -------------------------------------------------------------------------------------

def summarise(cases: dict[str, dict]) -> dict:
    """The headline ratios: shared / per-completion vision encoding (7B LoRA, last step) and ITP."""
    summary: dict = {}
    shared, unshared = cases.get("7b-lora", {}), cases.get("7b-lora-unshared", {})
    if shared.get("status") == "ok" and unshared.get("status") == "ok":
        last_shared, last_unshared = shared["steps"][-1], unshared["steps"][-1]
        summary["shared_vision_ratio"] = {section: round(last_shared[section] / last_unshared[section], 3)
                                          for section in ("step_s", "rollout", "reference", "policy")
                                          if last_unshared.get(section)}
    itp = cases.get("itp-7b", {})
    if itp.get("status") == "ok":
        summary["itp_over_one_round"] = itp["over_one_round"]
    summary["memory_measured_over_predicted"] = {name: case["measured_over_predicted"] for name, case in cases.items()
                                                 if "measured_over_predicted" in case}
    return summary


def markdown(report: dict) -> str:
    device = report["device"]
    lines = [f"# GPU check ({'dry run, ' if report['dry_run'] else ''}{device['name']}"
             f"{', %s GiB' % device['memory_gib'] if device['memory_gib'] else ''})", "",
             "versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
             f"elapsed: {report.get('elapsed_s')} s", "",
             "| case | status | step 1 s | step 2 s (rollout / reference / policy) | rollout tok/s | peak GiB "
             "| predicted GiB | measured / predicted |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, case in report["cases"].items():
        steps = case.get("steps") or []
        if "best_s" in case:
            lines.append(f"| {name} | ok: perceive, 1 round {case['best_s']['1 round']:.1f} s (ratios below) | | | | | | |")
            continue
        if case.get("status") != "ok" or not steps:
            detail = case.get("reason", "")
            predicted = case.get("predicted_gib", {}).get("peak", "")
            lines.append(f"| {name} | {case.get('status')}: {detail[:160]} | | | | | {predicted} | |")
            continue
        last = steps[-1]
        lines.append(f"| {name} | ok | {steps[0]['step_s']:.1f} | {last['step_s']:.1f} ({last.get('rollout', 0):.1f} / "
                     f"{last.get('reference', 0):.1f} / {last.get('policy', 0):.1f}) | {last['tokens_per_s']:.0f} | "
                     f"{case.get('peak_gib', '')} | {case['predicted_gib']['peak']} | {case.get('measured_over_predicted', '')} |")
    summary = report.get("summary", {})
    if "shared_vision_ratio" in summary:
        lines += ["", "shared vision encoding / one per completion (7B LoRA, step 2): "
                  + ", ".join(f"{k} {v}" for k, v in summary["shared_vision_ratio"].items())]
    if "itp_over_one_round" in summary:
        itp = report["cases"]["itp-7b"]
        lines += ["", "ITP at 7B, best time / 1 round: " + ", ".join(
            f"{name} {ratio}x ({itp['rounds_run'][name]} rounds)" for name, ratio in summary["itp_over_one_round"].items())]
    return "\n".join(lines) + "\n"


def write_report(report: dict, out: Path) -> None:
    from videofocus.storage import atomic_writer

    with atomic_writer(out / "gpu_check.json", "w") as handle:
        handle.write(json.dumps(report, indent=1, default=str))
    with atomic_writer(out / "gpu_check.md", "w") as handle:
        handle.write(markdown(report))


if __name__ == "__main__":
    main()
