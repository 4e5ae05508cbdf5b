"""Do the numbers mean something? The papers' two claims in miniature, on held-out synthetic data, in one run.

1. RL vs SFT (VideoChat-R1): from one SFT warm-up checkpoint, GRPO (the library rewards: format +
   temporal IoU, plus option accuracy on grounded QA) against continued SFT on the same number of
   training samples (GRPO: steps × prompts; SFT: the same steps with batches of that many samples),
   per difficulty level of the synthetic world. Metric: temporal-grounding mIoU on held-out samples,
   one round at the training frame rate. Target: GRPO >= continued SFT + 5 points on the hardest level
   that SFT does not saturate.
2. Test-time scaling (VideoChat-R1.5): on brief-evidence questions (the answer is visible only in a
   short flash that uniform frames never show), 3 rounds of iterative perception against 1 round with
   the same frame budget, for each model of 1. Target: >= +10 accuracy points.

Per level, in OUT/<level>/: data (training mix of temporal grounding and brief evidence, whose
answers come with the synth rationale, e.g. "The big red square turns blue."; held-out samples of
each), a 0.81 M-parameter Qwen3-VL built from scratch (the demo's), the warm-up, both continuations,
and one evaluation folder per model and question kind. Every stage is the demo's
(`videofocus.demo.stages`) and resumes: rerunning the same command finishes an interrupted run.

Run: `python benchmarks/learning.py --out runs/learning` (defaults: the recorded small-budget size).
Prints the tables and writes OUT/results.json and OUT/results.md."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from videofocus.cli.synth import parse_settings
from videofocus.data.synth import PRESETS as DIFFICULTIES
from videofocus.data.synth import make_settings
from videofocus.demo import DEMO_MODEL, stages
from videofocus.demo.pipeline import quiet_libraries, torch_threads
from videofocus.errors import ConfigError
from videofocus.models.tiny import ARCHS
from videofocus.schema import read_samples
from videofocus.storage import atomic_writer

SELECTIONS = ("temporal_grounding", "brief_evidence")
MODELS = ("warm-up", "GRPO", "SFT")   # SFT = the warm-up continued with supervised steps
FOLDERS = {"warm-up": "warmup", "GRPO": "grpo", "SFT": "sft_more"}


@dataclass(frozen=True)
class Budget:
    """Sizes and schedules (the command-line flags)."""

    levels: tuple[str, ...]
    synth: dict[str, Any]
    arch: str
    seed: int
    train_samples: int
    test_samples: int
    warmup_steps: int
    warmup_batch: int
    warmup_lr: float
    steps: int
    prompts_per_step: int
    generations: int
    grpo_lr: float
    grpo_beta: float
    sft_lr: float
    max_completion_length: int
    itp_frames: int
    loop_views: bool
    rounds: int
    eval_batch: int
    frame_pixels: int
    threads: int


def parse_budget(argv: list[str]) -> tuple[Path, Budget]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (rerun to resume)")
    parser.add_argument("--levels", default="easy,medium,hard", help="synth difficulty presets, comma-separated")
    parser.add_argument("--synth", action="append", default=[], metavar="KEY=VALUE",
                        help="replace a synth setting of every level, VALUE in JSON (e.g. flash_duration=[1.0,1.5]); "
                             "repeatable")
    parser.add_argument("--arch", choices=ARCHS, default="qwen3_vl",
                        help="model architecture (qwen2_5_vl: use --frame-pixels 3136 for 4 tokens a frame pair)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-samples", type=int, default=2000, help="training samples per level")
    parser.add_argument("--test-samples", type=int, default=100, help="held-out samples per kind and level")
    parser.add_argument("--warmup-steps", type=int, default=300, help="SFT warm-up steps")
    parser.add_argument("--warmup-batch", type=int, default=16, help="SFT warm-up samples per step")
    parser.add_argument("--warmup-lr", type=float, default=3e-3)
    parser.add_argument("--steps", type=int, default=40, help="GRPO steps = continued-SFT steps")
    parser.add_argument("--prompts-per-step", type=int, default=4,
                        help="GRPO prompts per step = continued-SFT samples per step")
    parser.add_argument("--generations", type=int, default=8, help="GRPO completions per prompt (G)")
    parser.add_argument("--grpo-lr", type=float, default=1e-4)
    parser.add_argument("--grpo-beta", type=float, default=0.0, help="KL coefficient")
    parser.add_argument("--sft-lr", type=float, default=3e-4, help="continued-SFT learning rate (linear decay)")
    parser.add_argument("--max-completion-length", type=int, default=64)
    parser.add_argument("--itp-frames", type=int, default=8, help="frame budget of every perception round")
    parser.add_argument("--loop-views", action="store_true",
                        help="SFT (warm-up and continued) also trains on the loop's views at --itp-frames "
                             "(SFTConfig.loop_view_frames)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--eval-batch", type=int, default=16)
    parser.add_argument("--frame-pixels", type=int, default=64 * 64, help="pixels of every frame as the model sees it")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    levels = tuple(level.strip() for level in args.levels.split(",") if level.strip())
    unknown = [level for level in levels if level not in DIFFICULTIES]
    if unknown or not levels:
        parser.error(f"--levels: choose from {', '.join(DIFFICULTIES)}")
    try:
        synth = parse_settings(args.synth)
        for level in levels:
            make_settings(level, **synth)
    except ConfigError as error:
        parser.error(f"--synth: {error}")
    values = {name: value for name, value in vars(args).items() if name not in ("out", "levels", "synth")}
    return args.out, Budget(levels=levels, synth=synth, **values)


def run_level(out: Path, level: str, budget: Budget) -> dict:
    """Data, warm-up, both continuations and their evaluations for one difficulty level."""
    started = time.perf_counter()
    train = stages.make_split(out / "data" / "train", split="train", n=budget.train_samples, seed=budget.seed,
                              selections=SELECTIONS, difficulty=level, overrides=budget.synth)
    test = stages.make_split(out / "data" / "test", split="test", n=budget.test_samples * len(SELECTIONS),
                             seed=budget.seed, selections=SELECTIONS, difficulty=level, overrides=budget.synth)
    stages.split_by_selection(test, SELECTIONS)
    stages.build_model(out / "model", arch=budget.arch, seed=budget.seed, size=DEMO_MODEL)
    trained = {name: out / folder for name, folder in FOLDERS.items()}
    views = {"loop_view_frames": budget.itp_frames if budget.loop_views else None}
    _train(stages.run_sft, out / "model", trained["warm-up"], train, budget, steps=budget.warmup_steps,
           learning_rate=budget.warmup_lr, per_device_batch_size=budget.warmup_batch, warmup_ratio=0.05, **views)
    _train(stages.run_grpo, trained["warm-up"], trained["GRPO"], train, budget, steps=budget.steps,
           learning_rate=budget.grpo_lr, per_device_batch_size=budget.prompts_per_step * budget.generations,
           num_generations=budget.generations, max_completion_length=budget.max_completion_length,
           beta=budget.grpo_beta)
    _train(stages.run_sft, trained["warm-up"], trained["SFT"], train, budget, steps=budget.steps,
           learning_rate=budget.sft_lr, per_device_batch_size=budget.prompts_per_step, **views)
    results = {"grounding_mIoU": {}, "brief_accuracy": {}, "brief_clue_mIoU": {},
               "blind": blind_baselines(train, out / "data" / "test")}
    for name, model_dir in trained.items():
        backend = stages.load_backend(model_dir, frame_pixels=budget.frame_pixels, batch_size=budget.eval_batch,
                                      max_new_tokens=budget.max_completion_length)
        grounding = _evaluate(backend, model_dir, out, name, "temporal_grounding", budget, rounds=1, frames=None)
        results["grounding_mIoU"][name] = grounding["1"]["mIoU"]
        brief = _evaluate(backend, model_dir, out, name, "brief_evidence", budget, rounds=budget.rounds,
                          frames=budget.itp_frames)
        results["brief_accuracy"][name] = {number: metrics["Acc@QA"] for number, metrics in brief.items()}
        results["brief_clue_mIoU"][name] = {number: metrics["mIoU"] for number, metrics in brief.items()}
    results["seconds"] = time.perf_counter() - started
    return results


def blind_baselines(train_file: Path, test_folder: Path) -> dict[str, float]:
    """What a model that ignores the video scores (%): the constant interval (on a half-second grid) of
    best training mIoU, scored on the held-out grounding samples; the held-out share of the most
    frequent training answer of the brief-evidence questions."""
    train = list(read_samples(train_file))
    grounding = [sample for sample in train if stages.in_selection(sample, "temporal_grounding")]
    held_out_grounding = list(read_samples(stages.selection_file(test_folder, "temporal_grounding")))
    answers = Counter(sample.answer for sample in train if stages.in_selection(sample, "brief_evidence"))
    held_out = list(read_samples(stages.selection_file(test_folder, "brief_evidence")))
    majority = answers.most_common(1)[0][0]
    return {"grounding_mIoU": stages.constant_interval_miou(grounding, held_out_grounding),
            "brief_accuracy": 100 * sum(sample.answer == majority for sample in held_out) / len(held_out)}


def _train(run, model: Path, output_dir: Path, train_file: Path, budget: Budget, *, steps: int, learning_rate: float,
           **extra) -> None:
    if (output_dir / "model.safetensors").is_file():   # the trainer saves the final model last
        return
    values = stages.training_values(model=model, output_dir=output_dir, train_file=train_file, seed=budget.seed,
                                    frame_pixels=budget.frame_pixels, steps=steps, learning_rate=learning_rate)
    run({**values, **extra})


def _evaluate(backend, model_dir: Path, out: Path, name: str, selection: str, budget: Budget, *, rounds: int,
              frames: int | None) -> dict[str, dict[str, float]]:
    folder = out / "eval" / FOLDERS[name] / selection
    stages.evaluate_selection(backend, model_dir, stages.selection_file(out / "data" / "test", selection), folder,
                              selection=selection, rounds=rounds, frames=frames, batch_size=budget.eval_batch,
                              seed=budget.seed)
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    return {number: entry["metrics"] for number, entry in metrics["rounds"].items()}


def tables(results: dict[str, dict], budget: Budget) -> str:
    """Both claims as markdown tables."""
    last = str(budget.rounds)
    lines = ["Claim 1: temporal-grounding mIoU (%), held-out, one round at the training frame rate",
             "", "| level | video-blind | warm-up | + GRPO | + SFT | GRPO - SFT |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for level, result in results.items():
        miou = result["grounding_mIoU"]
        lines.append(f"| {level} | {result['blind']['grounding_mIoU']:.1f} | {miou['warm-up']:.1f} | "
                     f"{miou['GRPO']:.1f} | {miou['SFT']:.1f} | {miou['GRPO'] - miou['SFT']:+.1f} |")
    blind = ", ".join(f"{level} {result['blind']['brief_accuracy']:.1f}" for level, result in results.items())
    lines += ["", f"Claim 2: brief-evidence accuracy (%), {budget.itp_frames} frames a round, 1 round vs "
                  f"{budget.rounds} rounds (clue mIoU in brackets); video-blind (the majority answer): {blind}", "",
              f"| level | model | r1 | r{last} | r{last} - r1 |", "| --- | --- | ---: | ---: | ---: |"]
    for level, result in results.items():
        for name in MODELS:
            accuracy, clue = result["brief_accuracy"][name], result["brief_clue_mIoU"][name]
            lines.append(f"| {level} | {name} | {accuracy['1']:.1f} ({clue['1']:.1f}) | {accuracy[last]:.1f} "
                         f"({clue[last]:.1f}) | {accuracy[last] - accuracy['1']:+.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    out, budget = parse_budget(argv)
    command = shlex.join(["python", "benchmarks/learning.py", *argv])
    results = {}
    with torch_threads(budget.threads), quiet_libraries():
        for level in budget.levels:
            print(f"== level {level}", flush=True)
            results[level] = run_level(out / level, level, budget)
            print(f"   {results[level]['seconds'] / 60:.1f} min", flush=True)
    text = tables(results, budget)
    print(text)
    with atomic_writer(out / "results.json") as handle:
        json.dump({"command": command, "budget": asdict(budget), "results": results}, handle, indent=1)
    with atomic_writer(out / "results.md") as handle:
        handle.write(f"Command: `{command}`\n\n{text}\n")


if __name__ == "__main__":
    main()
