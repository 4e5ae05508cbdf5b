"""`accelerate launch --num_processes 2` on CPU (gloo): two GRPO steps, and both processes end with the
same weights (accelerate's DDP keeps them in step; each process sampled its own prompts)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from train_helpers import load_weights, write_video_samples

SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path

    import torch
    from safetensors.torch import save_file

    from train_helpers import digit_reward, grpo_config
    from videofocus.train.grpo import train_grpo
    from videofocus.train.run import TrainingRun

    torch.set_num_threads(1)
    model, out, data = map(Path, sys.argv[1:4])
    finish = TrainingRun.finish

    def finish_and_dump(run):
        weights = {name: tensor.detach().contiguous() for name, tensor in run.unwrapped.state_dict().items()}
        save_file(weights, str(out / f"rank{run.accelerator.process_index}.safetensors"))
        return finish(run)

    TrainingRun.finish = finish_and_dump
    train_grpo(grpo_config(model, out, [data], max_steps=2), reward_fn=digit_reward)
""")


@pytest.mark.slow   # three Python processes start (launcher + 2 workers)
def test_two_cpu_processes_end_with_identical_weights(tiny_qwen25_vl_path, tmp_path):
    data = write_video_samples(tmp_path / "data", 6)
    script = tmp_path / "train_two.py"
    script.write_text(SCRIPT)
    out = tmp_path / "out"
    tests_dir = str(Path(__file__).resolve().parent)
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [tests_dir, os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
               "29517", str(script), str(tiny_qwen25_vl_path), str(out), str(data)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=420)
    assert result.returncode == 0, result.stderr[-4000:]

    first, second = load_weights_file(out / "rank0.safetensors"), load_weights_file(out / "rank1.safetensors")
    assert first.keys() == second.keys()
    assert all(torch.equal(first[name], second[name]) for name in first)
    initial = load_weights(tiny_qwen25_vl_path)
    saved = load_weights(out)
    assert any(not torch.equal(initial[name], saved[name]) for name in initial)   # it trained
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2            # one writer: the main process


def load_weights_file(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(path)
