"""Does a tiny model trained from scratch read the video? One architecture against the other.

Per architecture, in OUT/<arch>/: temporal-grounding-only synthetic data on the easy level (one shape on
noisy grey, 8 s at 2 fps), a model of the demo's size built from scratch (0.68 M or 0.81 M parameters), SFT with the
project's trainer, then on the held-out samples:
- mIoU (%) of its greedy answers, one round at the training frame rate (the evaluation pipeline);
- the video gain: the mean per-token loss of the reference answers when every sample is shown another
  sample's video, minus the loss with its own video. 0 means the answers do not depend on the video.
Both are compared with the best constant interval of the training set (what a video-blind model can
reach). Frames are sized so that both architectures see 4 tokens a frame pair.

Run: `python benchmarks/reads_video.py --out runs/reads_video` (rerun to resume). Prints a table and
writes OUT/results.json."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import torch

from videofocus.backends.base import box_convention_for
from videofocus.demo import DEMO_MODEL, stages
from videofocus.demo.pipeline import quiet_libraries, torch_threads
from videofocus.models import load_model
from videofocus.models.tiny import ARCHS
from videofocus.schema import read_samples
from videofocus.storage import atomic_writer
from videofocus.train.batch import collate
from videofocus.train.config import SFTConfig, config_from_dict
from videofocus.train.data import load_training_samples, make_example
from videofocus.train.policy import completion_logprobs
from videofocus.train.sft import target_ids

TASK = "temporal_grounding"
FRAME_PIXELS = {"qwen2_5_vl": 56 * 56, "qwen3_vl": 64 * 64}   # 14- and 16-pixel patches, 2x2 merged


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (rerun to resume)")
    parser.add_argument("--archs", default=",".join(ARCHS), help="architectures, comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-samples", type=int, default=2000)
    parser.add_argument("--test-samples", type=int, default=200)
    parser.add_argument("--steps", type=int, default=800, help="SFT steps")
    parser.add_argument("--batch", type=int, default=32, help="SFT samples per step")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak SFT learning rate (linear decay)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    args.archs = [arch.strip() for arch in args.archs.split(",") if arch.strip()]
    if not args.archs or any(arch not in ARCHS for arch in args.archs):
        parser.error(f"--archs: choose from {', '.join(ARCHS)}")
    return args


def run_arch(out: Path, arch: str, args: argparse.Namespace) -> dict[str, float]:
    train = stages.make_split(out / "data" / "train", split="train", n=args.train_samples, seed=args.seed,
                              selections=(TASK,), difficulty="easy")
    test = stages.make_split(out / "data" / "test", split="test", n=args.test_samples, seed=args.seed,
                             selections=(TASK,), difficulty="easy")
    stages.build_model(out / "model", arch=arch, seed=args.seed, size=DEMO_MODEL)
    pixels = FRAME_PIXELS[arch]
    values = {**stages.training_values(model=out / "model", output_dir=out / "sft", train_file=train, seed=args.seed,
                                       frame_pixels=pixels, steps=args.steps, learning_rate=args.lr),
              "per_device_batch_size": args.batch}
    if not (out / "sft" / "model.safetensors").is_file():   # the trainer saves the final model last
        stages.run_sft(values)
    backend = stages.load_backend(out / "sft", frame_pixels=pixels, batch_size=16, max_new_tokens=48)
    folder = stages.evaluate_selection(backend, out / "sft", test, out / "eval", selection=TASK, rounds=1,
                                       frames=None, batch_size=16, seed=args.seed)
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))["rounds"]["1"]["metrics"]
    own, swapped = answer_losses(out / "sft", test, {**values, "model": str(out / "sft")})
    return {"mIoU": metrics["mIoU"], "loss": own, "loss_other_video": swapped, "video_gain": swapped - own,
            "blind_mIoU": stages.constant_interval_miou(list(read_samples(train)), list(read_samples(test)))}


@torch.no_grad()
def answer_losses(model_dir: Path, samples_file: Path, values: dict, batch: int = 32) -> tuple[float, float]:
    """Mean per-token loss of the reference answers with each sample's own video, and with the next
    sample's video (the prompts encoded as in training)."""
    config = config_from_dict(SFTConfig, {**values, "datasets": [{"path": str(samples_file)}]}, source="reads_video")
    model, processor = load_model(model_dir, device="cpu")
    model.eval()
    convention = box_convention_for(model.config.model_type)
    examples = [make_example(item, processor, config, "cpu") for item in load_training_samples(config.datasets)]
    targets = [target_ids(example, processor.tokenizer, config.protocol, convention) for example in examples]
    prompts = [example.inputs for example in examples]
    others = [replace(prompt, visual=prompts[(row + 1) % len(prompts)].visual) for row, prompt in enumerate(prompts)]
    return tuple(_mean_loss(model, shown, targets, processor.tokenizer.pad_token_id, batch) for shown in (prompts, others))


def _mean_loss(model, prompts, targets, pad: int, batch: int) -> float:
    total, tokens = 0.0, 0
    for start in range(0, len(prompts), batch):
        model_batch = collate(prompts[start:start + batch], targets[start:start + batch], pad_token_id=pad)
        logps, _ = completion_logprobs(model, model_batch)
        total -= (logps * model_batch.completion_mask).sum().item()
        tokens += int(model_batch.completion_mask.sum())
    return total / tokens


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    results = {}
    with torch_threads(args.threads), quiet_libraries():
        for arch in args.archs:
            print(f"== {arch}", flush=True)
            results[arch] = run_arch(args.out / arch, arch, args)
    lines = ["| arch | held-out mIoU | best constant | answer loss | with another video | video gain |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {arch} | {r['mIoU']:.1f} | {r['blind_mIoU']:.1f} | {r['loss']:.3f} | {r['loss_other_video']:.3f} | "
              f"{r['video_gain']:+.3f} |" for arch, r in results.items()]
    print("\n".join(lines))
    command = shlex.join(["python", "benchmarks/reads_video.py", *argv])
    with atomic_writer(args.out / "results.json") as handle:
        json.dump({"command": command, "args": {**vars(args), "out": str(args.out)}, "results": results}, handle,
                  indent=1)


if __name__ == "__main__":
    main()
