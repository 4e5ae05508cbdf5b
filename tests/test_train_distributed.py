"""`accelerate launch --num_processes 2` on CPU (gloo): two GRPO steps, single-round and multi-round, and
both processes end with the same weights (accelerate's DDP keeps them in step; each process sampled its
own prompts); a multi-round rollout that fails on one process fails on both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from train_helpers import load_weights, write_video_samples

SCRIPT = textwrap.dedent("""
    import dataclasses
    import json
    import os
    import sys
    from pathlib import Path

    import torch
    from safetensors.torch import save_file

    import videofocus.train.itp as itp
    from train_helpers import digit_reward, grpo_config
    from videofocus.train.grpo import train_grpo
    from videofocus.train.run import TrainingRun

    torch.set_num_threads(1)
    model, out, data = map(Path, sys.argv[1:4])
    overrides, failing_rank = json.loads(sys.argv[4]), int(sys.argv[5])
    finish = TrainingRun.finish

    def finish_and_dump(run):
        weights = {name: tensor.detach().contiguous() for name, tensor in run.unwrapped.state_dict().items()}
        save_file(weights, str(out / f"rank{run.accelerator.process_index}.safetensors"))
        return finish(run)

    def one_round_short(samples, backend, options):
        return perceive_batch(samples, backend, dataclasses.replace(options, rounds=options.rounds - 1))

    TrainingRun.finish = finish_and_dump
    rank = int(os.environ["RANK"])
    if rank == failing_rank:
        perceive_batch, itp.perceive_batch = itp.perceive_batch, one_round_short
    try:
        train_grpo(grpo_config(model, out, [data], **overrides), reward_fn=digit_reward)
    except RuntimeError as exc:
        (out / f"rank{rank}.error").write_text(str(exc))
        raise
""")

MULTI_ROUND = dict(rollout_rounds=2, num_generations=4)   # per process and step: 1 prompt × G=4 × 2 rounds


def _launch(model: Path, tmp_path: Path, overrides: dict, *, port: int, failing_rank: int = -1):
    data = write_video_samples(tmp_path / "data", 6)
    script = tmp_path / "train_two.py"
    script.write_text(SCRIPT)
    out = tmp_path / "out"
    out.mkdir()
    tests_dir = str(Path(__file__).resolve().parent)
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [tests_dir, os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
               str(port), str(script), str(model), str(out), str(data), json.dumps(overrides), str(failing_rank)]
    return out, subprocess.run(command, env=env, capture_output=True, text=True, timeout=420)


@pytest.mark.slow   # three Python processes start (launcher + 2 workers)
@pytest.mark.parametrize(("overrides", "port"), [({}, 29517), (MULTI_ROUND, 29518)], ids=["single", "multi_round"])
def test_two_cpu_processes_end_with_identical_weights(tiny_qwen25_vl_path, tmp_path, overrides, port):
    out, result = _launch(tiny_qwen25_vl_path, tmp_path, dict(overrides, max_steps=2), port=port)
    assert result.returncode == 0, result.stderr[-4000:]

    first, second = load_weights_file(out / "rank0.safetensors"), load_weights_file(out / "rank1.safetensors")
    assert first.keys() == second.keys()
    assert all(torch.equal(first[name], second[name]) for name in first)
    initial = load_weights(tiny_qwen25_vl_path)
    saved = load_weights(out)
    assert any(not torch.equal(initial[name], saved[name]) for name in initial)   # it trained
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 2                                                     # one writer: the main process
    assert ("itp/round2/reward" in records[0]) == ("rollout_rounds" in overrides)


@pytest.mark.slow
def test_a_rollout_that_skips_a_round_on_one_process_fails_on_both(tiny_qwen25_vl_path, tmp_path):
    out, result = _launch(tiny_qwen25_vl_path, tmp_path, dict(MULTI_ROUND, max_steps=1), port=29519, failing_rank=1)
    assert result.returncode != 0
    for rank in (0, 1):
        assert "skipped rounds" in (out / f"rank{rank}.error").read_text(), result.stderr[-4000:]


def load_weights_file(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(path)
