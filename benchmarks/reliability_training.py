"""Training under faults, on a tiny random Qwen2.5-VL (CPU, a few minutes):

  1. SFT killed with SIGKILL at >= 20 points (half at a random moment after the attempt made
     progress, half while a checkpoint is being written) and resumed each time ends with weights
     bit-identical to an uninterrupted run's;
  2. a truncated latest checkpoint: the resume falls back to the previous one with a message and
     still ends bit-identical; with every checkpoint damaged, one clear error line and no traceback;
  3. a full disk (a small tmpfs; needs root to mount it, else skipped): one clear error line, no
     traceback, the checkpoints already written intact.

    PYTHONPATH=src python benchmarks/reliability_training.py [--dir DIR] [--kills 24] [--seed 0]

Every run is a `videofocus sft` subprocess, as a user would start it (with `--resume` once a
checkpoint exists)."""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml
from safetensors.torch import load_file

from videofocus.data.synth import generate_dataset
from videofocus.models.tiny import build_tiny_model
from videofocus.train.checkpoint import checkpoint_problem, checkpoint_root, latest_checkpoint

CLI = [sys.executable, "-c", "from videofocus.cli import main; main()"]
# The subprocesses run from other folders: a relative PYTHONPATH (e.g. src) must still find this videofocus.
_PATHS = [os.path.abspath(entry) for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(_PATHS)}
STEPS = 120


def setup(folder: Path) -> Path:
    """The tiny model, 24 synthetic temporal-grounding samples and an SFT recipe; returns the recipe."""
    model = folder / "model"
    if not model.exists():
        build_tiny_model(model, arch="qwen2_5_vl", seed=0)
    data = folder / "synth" / "samples.jsonl"
    if not data.exists():
        generate_dataset(folder / "synth", n=24, seed=0, tasks=["temporal_grounding"])
    recipe = dict(model=str(model), datasets=[{"path": str(data)}], video_fps=2.0, video_min_frames=4,
                  video_max_frames=8, video_min_pixels=3136, video_max_pixels=3136, image_min_pixels=3136,
                  image_max_pixels=3136, learning_rate=1e-3, max_steps=STEPS, per_device_batch_size=4,
                  gradient_accumulation_steps=1, dtype="float32", mixed_precision="no", save_steps=1,
                  save_total_limit=3, tensorboard=False, logging_steps=1, seed=0)
    path = folder / "sft.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def start(recipe: Path, output: Path, log: Path) -> subprocess.Popen:
    resume = ["--resume"] if latest_checkpoint(output) is not None else []
    with log.open("a") as handle:
        return subprocess.Popen([*CLI, "sft", "--config", str(recipe), f"output_dir={output}", *resume],
                                stdout=handle, stderr=subprocess.STDOUT, env=ENV)


def newest_step(output: Path) -> int:
    found = latest_checkpoint(output)
    return int(found.name.split("-")[1]) if found else 0


def staging(output: Path) -> list[Path]:
    root = checkpoint_root(output)
    return list(root.glob(".staging-*")) if root.is_dir() else []


def killed_run(recipe: Path, output: Path, kills: int, rng: random.Random) -> dict[str, int]:
    """Run to the end, SIGKILLing `kills` attempts; returns counts of kills by kind."""
    log = output.with_suffix(".log")
    counts = {"random moment": 0, "checkpoint write": 0, "left a half-written checkpoint": 0}
    while True:
        process = start(recipe, output, log)
        done_before = newest_step(output)
        done_kills = counts["random moment"] + counts["checkpoint write"]
        if done_kills < kills:
            kind = "checkpoint write" if done_kills % 2 else "random moment"
            if _wait_to_kill(process, output, done_before, kind, rng):
                process.send_signal(signal.SIGKILL)
                process.wait()
                counts[kind] += 1
                counts["left a half-written checkpoint"] += bool(staging(output))
                continue
        if process.wait() != 0:
            sys.exit(f"an attempt failed (exit {process.returncode}); see {log}")
        return counts


def _wait_to_kill(process: subprocess.Popen, output: Path, done_before: int, kind: str, rng: random.Random) -> bool:
    """Wait until this attempt wrote a checkpoint of its own, then for the kill moment; False if the
    run ended first."""
    while newest_step(output) <= done_before:
        if process.poll() is not None:
            return False
        time.sleep(0.01)
    if kind == "random moment":
        deadline = time.monotonic() + rng.uniform(0.0, 1.5)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            time.sleep(0.005)
        return True
    time.sleep(rng.uniform(0.0, 0.3))
    while not staging(output):
        if process.poll() is not None:
            return False
        time.sleep(0.001)
    time.sleep(rng.uniform(0.0, 0.02))   # somewhere inside the write
    return process.poll() is None


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "model.safetensors")


def identical(first: Path, second: Path) -> bool:
    a, b = weights(first), weights(second)
    return a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)


def run_once(recipe: Path, output: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "sft", "--config", str(recipe), f"output_dir={output}", *extra],
                          capture_output=True, text=True, env=ENV)


def one_clear_line(done: subprocess.CompletedProcess, words: str) -> bool:
    return done.returncode == 1 and words in " ".join(done.stderr.split()) and "Traceback" not in done.stderr


def truncated_checkpoints(recipe: Path, finished: Path, reference: Path, folder: Path) -> None:
    damaged = folder / "truncated"
    shutil.rmtree(damaged, ignore_errors=True)
    shutil.copytree(finished, damaged)
    (damaged / "model.safetensors").unlink()
    latest = latest_checkpoint(damaged)
    model_file = latest / "model.safetensors"
    model_file.write_bytes(model_file.read_bytes()[: model_file.stat().st_size // 2])
    done = run_once(recipe, damaged, "--resume")
    fell_back = done.returncode == 0 and f"{latest.name} is damaged" in " ".join(done.stderr.split())
    print(f"truncated latest checkpoint ({latest.name}): resumed from the previous one with a message: "
          f"{fell_back}; final weights bit-identical: {fell_back and identical(reference, damaged)}")
    for checkpoint in checkpoint_root(damaged).glob("step-*"):
        (checkpoint / "trainer_state.json").write_text("")
    done = run_once(recipe, damaged, "--resume")
    print(f"every checkpoint damaged: one clear error line, no traceback: "
          f"{one_clear_line(done, 'no intact checkpoint')} ({done.stderr.strip().splitlines()[-1]})")


def full_disk(recipe: Path, folder: Path) -> None:
    mount = folder / "small_disk"
    mount.mkdir(exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mount)], capture_output=True)
    if mounted.returncode != 0:
        print("full disk: skipped (mounting a 12 MB tmpfs needs root)")
        return
    try:
        output = mount / "run"
        done = run_once(recipe, output, "save_total_limit=null")   # keep every checkpoint: the disk fills
        checkpoints = sorted(checkpoint_root(output).glob("step-*"))
        intact = checkpoints and all(checkpoint_problem(path) is None for path in checkpoints)
        print(f"full disk (12 MB): one clear error line, no traceback: {one_clear_line(done, 'no space left on')}; "
              f"{len(checkpoints)} earlier checkpoints all intact: {bool(intact)}; no staging folder left: "
              f"{not staging(output)}\n  the error: {done.stderr.strip().splitlines()[-1]}")
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "videofocus_reliability")
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    recipe = setup(args.dir)
    reference, killed = args.dir / "reference", args.dir / "killed"
    for output in (reference, killed):
        shutil.rmtree(output, ignore_errors=True)
    started = time.monotonic()
    if run_once(recipe, reference).returncode != 0:
        sys.exit("the uninterrupted run failed")
    print(f"uninterrupted: {STEPS} SFT steps, a checkpoint every step, in {time.monotonic() - started:.0f} s")
    counts = killed_run(recipe, killed, args.kills, random.Random(args.seed))
    print(f"SIGKILLed {counts['random moment'] + counts['checkpoint write']} times ({counts['random moment']} at a "
          f"random moment, {counts['checkpoint write']} while writing a checkpoint; "
          f"{counts['left a half-written checkpoint']} left a half-written checkpoint): final weights bit-identical "
          f"to the uninterrupted run's: {identical(reference, killed)}")
    truncated_checkpoints(recipe, killed, reference, args.dir)
    full_disk(recipe, args.dir)


if __name__ == "__main__":
    main()
