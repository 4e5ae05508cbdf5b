"""Does training the loop help the loop? Single-round GRPO vs multi-round (ITP) GRPO, both evaluated
with 3-round iterative perception, on the synthetic world's brief-evidence questions.

A brief-evidence question ("The big red square briefly changes colour. What colour does it turn?")
is built so that round 1's uniform frames never show the flash while a round-2 view focused on the
correct clue (the anchor interval) always does (data.synth.evidence). Single-round GRPO trains the
answer only on uniform views, where it is invisible; multi-round GRPO also trains it on the views its
own clues chose.

Recipe, all on a tiny Qwen3-VL built from scratch (its per-frame `<t seconds>` text makes focused
clips exact in time):
1. warm start, shared by both arms: supervised training on the sample's target in the videofocus
   protocol (`<think></think><clue>[(s, e)]</clue><answer>X</answer>`, `train.targets.sft_target`)
   over two views of each training sample: the loop's round-1 view and its round-2 view around the
   TRUE clue. Without it a random model never emits a parsable clue and both arms learn nothing; it
   is a plain teacher-forced loop over the trainer's own pieces (collate, completion_logprobs),
   because `train_sft` trains on round-1 views only.
2. arm "single": `train_grpo` with rollout_rounds=1; arm "itp": rollout_rounds=3. Same start, same
   prompts per step, same number of steps, so the itp arm sees 3x the completions (and costs ~3x).
3. evaluation of the warm start and both arms: `perceive_batch` with 3 rounds, greedy, on held-out
   test samples: per round, option accuracy, clue mIoU against the anchor, and the share of views
   that show the flash; and the most frequent final answer (a model that ignores the video and always
   answers one letter scores that letter's share of the test set).

Run: `python benchmarks/itp_training.py --out /tmp/itp_bench` (defaults: the recorded ~10-minute
size). Bigger: `--train 2000 --test 1000 --sft-steps 1500 --grpo-steps 200 --size medium`.
Prints the table and writes `results.json` under --out."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from videofocus.backends.hf import HFBackend
from videofocus.data.synth import generate_dataset
from videofocus.geometry import temporal_iou
from videofocus.media.pairs import focused_pair_indices
from videofocus.models import load_model
from videofocus.models.inputs import Prompt, encode_prompts
from videofocus.models.saved_settings import read_model_settings
from videofocus.models.tiny import TinySize, build_tiny_model
from videofocus.perception import PerceptionOptions, PerceptionResult, perceive_batch
from videofocus.perception.views import VideoSource, first_round_indices
from videofocus.schema import Sample, read_samples
from videofocus.tasks import get_task
from videofocus.train.batch import PromptInputs, collate
from videofocus.train.config import GRPOConfig, config_from_dict
from videofocus.train.evidence_gate import evidence_intervals, shows_evidence
from videofocus.train.grpo import train_grpo
from videofocus.train.logging import read_metrics
from videofocus.train.modeling import save_pretrained
from videofocus.train.policy import completion_logprobs
from videofocus.train.targets import sft_target

PROTOCOL = "videofocus"
FRAME = 56
FPS, MIN_FRAMES, MAX_FRAMES = 2.0, 4, 8      # round 1: 8 uniform frames of the 16-frame synth videos
SIZES = {"small": TinySize(text_hidden=128, text_intermediate=256, vision_hidden=64, vision_intermediate=128),
         "medium": TinySize(text_hidden=256, text_layers=4, text_heads=8, text_kv_heads=4, text_intermediate=512,
                            vision_hidden=64, vision_intermediate=128)}
MAX_TOKENS = 64                               # the target (with the synth rationale) is ~40 tokens
PIXELS = dict(video_min_pixels=FRAME * FRAME, video_max_pixels=FRAME * FRAME)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--train", type=int, default=192, help="training samples")
    parser.add_argument("--test", type=int, default=96, help="held-out test samples")
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--sft-steps", type=int, default=200)
    parser.add_argument("--grpo-steps", type=int, default=12)
    parser.add_argument("--prompts", type=int, default=4, help="prompts per GRPO step")
    parser.add_argument("--generations", type=int, default=8, help="G")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warm-start", type=Path, default=None,
                        help="a model that already reads the flash (e.g. the demo's shipped warm-up, "
                             "src/videofocus/demo/warmup_model) instead of building and warm-starting one here")
    parser.add_argument("--grpo-lr", type=float, default=5e-4, help="GRPO learning rate (constant)")
    parser.add_argument("--grpo-beta", type=float, default=0.0, help="GRPO's KL coefficient (0: no reference model)")
    parser.add_argument("--grpo-temperature", type=float, default=1.0, help="GRPO's sampling temperature")
    parser.add_argument("--early-answer-loss", action="store_true",
                        help="the multi-round arm also trains the answers of rounds before the last "
                             "(GRPOConfig.itp_early_answer_loss; before Dec 2026 it always did)")
    parser.add_argument("--answer-needs-evidence", action="store_true",
                        help="the multi-round arm earns no accuracy on final views without the flash "
                             "(GRPOConfig.itp_answer_needs_evidence)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--multi-round-only", action="store_true",
                      help="train and evaluate the multi-round arm only (the warm start and the single-round "
                           "arm are deterministic for a seed: a run without this flag gives their numbers)")
    only.add_argument("--single-round-only", action="store_true",
                      help="train and evaluate the single-round arm only (to add it to a --multi-round-only run)")
    args = parser.parse_args()
    torch.set_num_threads(1)   # tiny models on a shared CPU: one thread is much faster than two
    torch.manual_seed(args.seed)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    train_path = generate_dataset(args.out / "train", n=args.train, seed=args.seed, tasks=["brief_evidence"],
                                  split="train", overwrite=True)
    test_path = generate_dataset(args.out / "test", n=args.test, seed=args.seed + 1, tasks=["brief_evidence"],
                                 split="test", overwrite=True)
    timings["data"] = time.perf_counter() - started

    started = time.perf_counter()
    if args.warm_start is not None:
        warm = args.warm_start
    else:
        base = build_tiny_model(_fresh(args.out / "base"), arch="qwen3_vl", seed=args.seed, size=SIZES[args.size])
        warm = warm_start(base, train_path, _fresh(args.out / "warm"), steps=args.sft_steps, seed=args.seed)
    timings["model + warm start"] = time.perf_counter() - started

    trained_arms = [("single-round GRPO", 1), (f"{args.rounds}-round GRPO", args.rounds)]
    if args.multi_round_only:
        trained_arms = trained_arms[1:]
    if args.single_round_only:
        trained_arms = trained_arms[:1]
    arms = {} if args.multi_round_only or args.single_round_only else {"warm start": warm}
    training = {}
    for name, rounds in trained_arms:
        started = time.perf_counter()
        arms[name] = train_grpo(grpo_config(warm, train_path, _fresh(args.out / f"grpo_r{rounds}"), rounds, args))
        timings[name] = time.perf_counter() - started
        training[name] = read_metrics(arms[name] / "metrics.jsonl")

    test = list(read_samples(test_path))
    options = PerceptionOptions(rounds=args.rounds, fps=FPS, min_frames=MIN_FRAMES, max_frames=MAX_FRAMES,
                                protocol=PROTOCOL)
    report = {}
    for name, model_dir in arms.items():
        started = time.perf_counter()
        report[name] = evaluate(model_dir, test, test_path.parent, options)
        timings[f"eval {name}"] = time.perf_counter() - started
    print_table(report, test, args)
    for name, records in training.items():
        flat = statistics.fmean(record["zero_spread_share"] for record in records)
        print(f"{name}: training reward (mean credit) first step {records[0]['reward']:.3f}, last step "
              f"{records[-1]['reward']:.3f}; groups without spread {flat:.2f}")
    print("wall time: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items()))
    (args.out / "results.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                       "results": report, "training": training, "seconds": timings},
                                                      indent=1))


def _fresh(path: Path) -> Path:
    if path.exists() and any(path.iterdir()):
        raise SystemExit(f"{path} is not empty: give a new --out")
    return path


# ----- warm start ---------------------------------------------------------------------------------------


@dataclass
class _Target:
    prompt: PromptInputs
    ids: torch.Tensor


def warm_start(model_dir: Path, samples_path: Path, out_dir: Path, *, steps: int, seed: int,
               batch_size: int = 16, learning_rate: float = 3e-3) -> Path:
    """Teacher-forced training on the loop's round-1 view and its round-2 view around the true clue."""
    model, processor = load_model(model_dir, device="cpu", dtype="float32")
    stop = processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    targets = []
    for sample in read_samples(samples_path):
        source = VideoSource.open(sample.media.resolve(samples_path.parent))
        uniform = first_round_indices(source.info, None, FPS, MIN_FRAMES, MAX_FRAMES)
        focused = focused_pair_indices(source.info, len(uniform), sample.clue.intervals, 0.5, previous=uniform)
        text = get_task(sample.task).build_prompt(sample, protocol=PROTOCOL)
        ids = torch.tensor(processor.tokenizer(sft_target(sample, protocol=PROTOCOL),
                                               add_special_tokens=False).input_ids + [stop])
        for indices in (uniform, focused):
            encoded = encode_prompts(processor, [Prompt(text=text, video=source.clip(indices).clip)], **PIXELS)
            targets.append(_Target(PromptInputs.from_encoded(encoded), ids))
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / steps)
    rng = np.random.default_rng(seed)
    pad = processor.tokenizer.pad_token_id
    model.train()
    for step in range(steps):
        chosen = [targets[i] for i in rng.choice(len(targets), size=batch_size, replace=False)]
        batch = collate([t.prompt for t in chosen], [t.ids for t in chosen], pad_token_id=pad)
        logps, _ = completion_logprobs(model, batch)
        mask = batch.completion_mask.float()
        loss = -(logps * mask).sum() / mask.sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % 50 == 0 or step == steps - 1:
            print(f"warm start step {step + 1}/{steps}: loss {loss.item():.3f}", flush=True)
    save_pretrained(model, processor, out_dir)
    return out_dir


# ----- GRPO arms ----------------------------------------------------------------------------------------


def model_pixels(model_dir: Path) -> dict[str, int]:
    """The per-frame pixels a model was trained with (its videofocus.json), else this benchmark's."""
    saved = read_model_settings(model_dir)
    return {key: saved.get(key, PIXELS[key]) for key in PIXELS}


def grpo_config(model_dir: Path, samples_path: Path, out_dir: Path, rounds: int, args) -> GRPOConfig:
    """Both arms: the same prompts per step and steps; a step's completions = prompts × G × rounds."""
    completions = args.prompts * args.generations * rounds
    config = config_from_dict(GRPOConfig, dict(
        model=str(model_dir), output_dir=str(out_dir), datasets=[{"path": str(samples_path)}], protocol=PROTOCOL,
        video_fps=FPS, video_min_frames=MIN_FRAMES, video_max_frames=MAX_FRAMES, **model_pixels(model_dir),
        dtype="float32",
        num_generations=args.generations, per_device_batch_size=args.prompts * args.generations,
        gradient_accumulation_steps=completions // (args.prompts * args.generations), max_completion_length=MAX_TOKENS,
        temperature=args.grpo_temperature, learning_rate=args.grpo_lr, beta=args.grpo_beta, max_steps=args.grpo_steps,
        lr_scheduler="constant",
        rollout_rounds=rounds, itp_discount=1.0, itp_early_answer_loss=args.early_answer_loss,
        itp_answer_needs_evidence=args.answer_needs_evidence and rounds > 1, seed=args.seed,
        tensorboard=False, save_steps=0))
    config.validate()
    return config


# ----- evaluation ---------------------------------------------------------------------------------------


def evaluate(model_dir: Path, samples: list[Sample], media_root: Path, options: PerceptionOptions) -> dict:
    """Per round: option accuracy, clue mIoU, share of views showing the flash, share of views that fell
    back to uniform; and the most frequent final answer with its share (a model that always answers
    one letter scores that letter's share of the test set, whatever it sees)."""
    backend = HFBackend.from_pretrained(model_dir, device="cpu", dtype="float32", max_new_tokens=MAX_TOKENS,
                                        batch_size=32, **model_pixels(model_dir))
    results: list[PerceptionResult] = []
    for start in range(0, len(samples), 32):
        results += perceive_batch(samples[start:start + 32], backend, options, media_root=media_root)
    rounds = {}
    for number in range(1, options.rounds + 1):
        rows = [(sample, result.rounds[number - 1]) for sample, result in zip(samples, results)]
        rounds[number] = {
            "accuracy": statistics.fmean(float(r.option == s.answer) for s, r in rows),
            "clue_miou": statistics.fmean(temporal_iou(r.intervals, s.clue.intervals) for s, r in rows),
            "flash_shown": statistics.fmean(float(shows_evidence(r.view.timestamps, evidence_intervals(s)))
                                            for s, r in rows),
            "fallback": statistics.fmean(float(r.fallback is not None) for s, r in rows)}
    finals = Counter(result.final.option for result in results)
    letter, count = finals.most_common(1)[0]
    return {"rounds": rounds, "top_final_answer": [letter, count / len(results)]}


def print_table(report: dict, test: list[Sample], args) -> None:
    print(f"\n{args.test} test brief-evidence samples, {args.rounds}-round ITP (greedy); "
          f"acc = option accuracy (chance 0.25), mIoU = clue vs anchor, flash = share of views showing the flash")
    header = " | ".join(f"r{n} acc | r{n} mIoU | r{n} flash" for n in range(1, args.rounds + 1))
    print(f"| model | {header} | top final answer |")
    print("| --- |" + " --- |" * (3 * args.rounds + 1))
    for name, result in report.items():
        cells = " | ".join(f"{r['accuracy']:.3f} | {r['clue_miou']:.3f} | {r['flash_shown']:.2f}"
                           for r in result["rounds"].values())
        letter, share = result["top_final_answer"]
        print(f"| {name} | {cells} | {letter} {share:.2f} |")
    truth = Counter(sample.answer for sample in test)
    print("test answers: " + ", ".join(f"{letter} {count / len(test):.2f}" for letter, count in sorted(truth.items())))


if __name__ == "__main__":
    main()
