"""Evaluation under faults, on a tiny random Qwen2.5-VL (CPU, a few minutes):

  1. `videofocus eval` with sampling (--do-sample, batches of 4, 3 rounds) killed with SIGKILL at
     >= 10 random points and rerun each time ends with a folder identical to an uninterrupted run's
     (all files; in predictions.jsonl the wall-clock fields aside, in run.json the software
     environment, and timing.json);
  2. a second `videofocus eval` into the folder of one still running (held with SIGSTOP while the
     second starts) is refused with one clear error line, and the first one's folder is still
     identical to the uninterrupted run's.

    PYTHONPATH=src python benchmarks/reliability_eval.py [--dir DIR] [--kills 12] [--seed 0]

Each run is a subprocess started from its own folder with the same relative paths, so the command
lines recorded in run.json are the same."""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from videofocus.data.synth import generate_dataset
from videofocus.models.tiny import build_tiny_model
from videofocus.perception.result import without_run_dependent_costs

CLI = [sys.executable, "-c", "from videofocus.cli import main; main()"]
# The subprocesses run from other folders: a relative PYTHONPATH (e.g. src) must still find this videofocus.
_PATHS = [os.path.abspath(entry) for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(_PATHS)}
ARGS = ["eval", "--model", "../model", "--benchmark", "temporal_grounding", "--annotations", "../synth/samples.jsonl",
        "--output", "out", "--rounds", "1,2,3", "--do-sample", "--batch-size", "4", "--max-new-tokens", "24",
        "--device", "cpu", "--no-progress", "--video-min-pixels", "3136", "--video-max-pixels", "3136"]
SAMPLES = 56


def setup(folder: Path) -> None:
    if not (folder / "model").exists():
        build_tiny_model(folder / "model", arch="qwen2_5_vl", seed=0)
    if not (folder / "synth" / "samples.jsonl").exists():
        generate_dataset(folder / "synth", n=SAMPLES, seed=1, tasks=["temporal_grounding"], split="test")


def start(workdir: Path, log: Path) -> subprocess.Popen:
    workdir.mkdir(exist_ok=True)
    with log.open("a") as handle:
        return subprocess.Popen([*CLI, *ARGS], cwd=workdir, stdout=handle, stderr=subprocess.STDOUT,
                                env=ENV)


def finished_lines(out: Path) -> int:
    return sum(len(path.read_bytes().split(b"\n")) - 1 for path in (out / "shards").glob("*.jsonl")) \
        if (out / "shards").is_dir() else 0


def killed_run(workdir: Path, kills: int, rng: random.Random) -> int:
    """Run to the end, SIGKILLing the first `kills` attempts once each has finished a sample of its
    own and a random moment more has passed; returns the number of kills."""
    log, out, done = workdir / "eval.log", workdir / "out", 0
    while True:
        process = start(workdir, log)
        if done < kills and _wait_to_kill(process, out, rng):
            process.send_signal(signal.SIGKILL)
            process.wait()
            done += 1
            continue
        if process.wait() != 0:
            sys.exit(f"an attempt failed (exit {process.returncode}); see {log}")
        return done


def _wait_to_kill(process: subprocess.Popen, out: Path, rng: random.Random) -> bool:
    before = finished_lines(out)
    while finished_lines(out) <= before:
        if process.poll() is not None:
            return False
        time.sleep(0.01)
    deadline = time.monotonic() + rng.uniform(0.0, 0.8)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        time.sleep(0.005)
    return True


def folder_files(out: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(out.rglob("*")):
        name = path.relative_to(out).as_posix()
        if not path.is_file() or name == "timing.json":
            continue
        if name == "run.json":   # the software environment (versions, git commit) is not part of the run's identity
            files[name] = json.dumps({key: value for key, value in json.loads(path.read_text(encoding="utf-8")).items()
                                      if key != "environment"}).encode()
        elif name == "predictions.jsonl":
            lines = [json.dumps(without_run_dependent_costs(json.loads(line)))
                     for line in path.read_text(encoding="utf-8").splitlines()]
            files[name] = "\n".join(lines).encode()
        else:
            files[name] = path.read_bytes()
    return files


def differing(first: Path, second: Path) -> list[str]:
    a, b = folder_files(first), folder_files(second)
    return sorted(name for name in a.keys() | b.keys() if a.get(name) != b.get(name))


def two_evaluations(workdir: Path, reference: Path) -> None:
    first = start(workdir, workdir / "first.log")
    while not (workdir / "out" / "run.json").exists() and first.poll() is None:
        time.sleep(0.01)
    first.send_signal(signal.SIGSTOP)   # hold the first one mid-run (a slow model) while the second starts
    try:
        second = subprocess.run([*CLI, *ARGS], cwd=workdir, capture_output=True, text=True,
                                env=ENV)
    finally:
        first.send_signal(signal.SIGCONT)
    refused = second.returncode == 1 and "in use by another evaluation" in " ".join(second.stderr.split()) \
        and "Traceback" not in second.stderr
    first_ok = first.wait() == 0
    message = second.stderr.strip().splitlines()[-1] if second.stderr.strip() else "no message"
    identical = first_ok and not differing(reference, workdir / "out")
    print(f"a second eval into a folder in use: refused with one clear line, no traceback: {refused} ({message}); "
          f"the first finished and its folder is identical to the uninterrupted one: {identical}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "videofocus_reliability_eval")
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    setup(args.dir)
    runs = {name: args.dir / name for name in ("reference", "killed", "locked")}
    for workdir in runs.values():
        shutil.rmtree(workdir, ignore_errors=True)
    started = time.monotonic()
    if start(runs["reference"], runs["reference"] / "eval.log").wait() != 0:
        sys.exit(f"the uninterrupted run failed; see {runs['reference'] / 'eval.log'}")
    print(f"uninterrupted: {SAMPLES} samples, 3 rounds, sampling, batches of 4, in {time.monotonic() - started:.0f} s")
    kills = killed_run(runs["killed"], args.kills, random.Random(args.seed))
    different = differing(runs["reference"] / "out", runs["killed"] / "out")
    print(f"SIGKILLed {kills} times and rerun: folder identical to the uninterrupted run's: {not different}"
          + (f" (differ: {different})" if different else ""))
    two_evaluations(runs["locked"], runs["reference"] / "out")


if __name__ == "__main__":
    main()
