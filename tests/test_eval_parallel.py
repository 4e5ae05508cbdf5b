"""`videofocus eval` under `accelerate launch` with 2 CPU processes writes the files a single
process writes (tiny random Qwen2.5-VL, a few synthetic videos)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from eval_helpers import folder_files, manifest_without, read_jsonl, synth_set

from videofocus.errors import ConfigError
from videofocus.evaluate import EvalSettings, GenerationSettings, evaluate, runner
from videofocus.perception import PerceptionOptions


def launch_eval(folder: Path, *eval_args: str) -> subprocess.CompletedProcess:
    """`videofocus eval` on CPU under `accelerate launch` with 2 processes."""
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               str(Path(sys.executable).parent / "videofocus"), "eval", *eval_args, "--device", "cpu",
               "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=folder)


def test_two_processes_write_what_one_process_writes(tiny_qwen25_vl_path, tmp_path):
    annotations, samples = synth_set(tmp_path / "data", 3, ["temporal_grounding", "grounded_qa"])
    settings = EvalSettings("temporal_grounding", rounds=(1, 2), batch_size=1, limit=3,
                            perception=PerceptionOptions(num_frames=4),
                            generation=GenerationSettings(max_new_tokens=8))
    single = tmp_path / "single"
    evaluate(annotations, single, settings, model=str(tiny_qwen25_vl_path), device="cpu", progress=False)

    parallel = tmp_path / "parallel"
    done = launch_eval(tmp_path, "--model", str(tiny_qwen25_vl_path), "--benchmark", "temporal_grounding",
                       "--annotations", str(annotations), "--output", str(parallel), "--rounds", "1,2",
                       "--limit", "3", "--batch-size", "1", "--num-frames", "4", "--max-new-tokens", "8")
    assert done.returncode == 0, done.stderr[-3000:]

    assert folder_files(parallel) == folder_files(single) | {"run.json": (parallel / "run.json").read_bytes()}
    assert manifest_without(parallel / "run.json", "command", "environment") == \
        manifest_without(single / "run.json", "command", "environment")
    assert [line["id"] for line in read_jsonl(parallel / "predictions.jsonl")] == [s.id for s in samples]
    assert all(len(line["rounds"]) == 2 for line in read_jsonl(parallel / "predictions.jsonl"))
    assert not (parallel / "shards").exists()
    assert json.loads((parallel / "timing.json").read_text())["invocation"]["processes"] == 2


def test_vllm_under_two_processes_is_refused_before_any_loading(tmp_path, monkeypatch):
    annotations, _ = synth_set(tmp_path / "data", 1, ["temporal_grounding"])
    two_processes = SimpleNamespace(num_processes=2, process_index=0, device="cpu", is_main_process=True)
    monkeypatch.setattr(runner, "_process_state", lambda device: two_processes)
    settings = EvalSettings("temporal_grounding", generation=GenerationSettings(backend="vllm"))
    with pytest.raises(ConfigError, match="--backend vllm cannot run as 2 processes.*--backend hf"):
        evaluate(annotations, tmp_path / "out", settings, model="org/not-loaded", device="cpu", progress=False)
    assert not (tmp_path / "out").exists()
