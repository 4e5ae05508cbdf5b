"""benchmarks/gpu_check.sh --dry-run: the GPU check's whole code path (trainer cases, FSDP launch,
ITP, report) on the CPU at tiny shapes, through the same command the GPU run uses, so that the
prepared check still runs when a GPU machine comes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from gpu_check import CASES, TINY  # noqa: E402


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("gpu_check")
    env = {**os.environ, "OUT": str(out), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--dry-run"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return json.loads((out / "gpu_check.json").read_text()), (out / "gpu_check.md").read_text()


@pytest.mark.slow   # three Python processes (single cases, the FSDP launcher and its worker)
def test_every_trainer_case_runs_two_timed_steps(dry_run):
    report, _ = dry_run
    assert set(report["cases"]) == {case.name for case in CASES}
    for case in CASES:
        result = report["cases"][case.name]
        if case.launch == "zero2" and report["versions"]["deepspeed"] is None:
            assert result["status"] == "skipped"
            continue
        assert result["status"] == "ok", (case.name, result)
        if case.kind != "grpo":
            continue
        assert len(result["steps"]) == 2
        for step in result["steps"]:
            sections = step["rollout"] + step["reference"] + step["policy"]
            # Each of the four values is rounded to 1 ms in the report: the sum may pass the total by 2 ms.
            assert 0 < sections <= step["step_s"] + 2e-3
            assert 0 < step["completion_tokens"] <= TINY.generations * TINY.completion_length
        # The memory formula's idea of what is trained and how large the model is matches the trainer's.
        assert result["trainable_parameters"] == result["trainable_parameters_formula"], case.name
        assert result["parameters"] == result["parameters_formula"], case.name


@pytest.mark.slow
def test_itp_rounds_and_headline_ratios_are_reported(dry_run):
    report, markdown = dry_run
    itp = report["cases"]["itp-7b"]
    assert itp["rounds_run"] == {"1 round": 1, "3 rounds, reuse + early stop": 2,
                                 "3 rounds, reuse, no early stop": 3, "3 rounds, no reuse": 3}
    assert itp["over_one_round"]["3 rounds, no reuse"] > 1.0
    assert set(report["summary"]["shared_vision_ratio"]) == {"step_s", "rollout", "reference", "policy"}
    for case in CASES:
        assert f"| {case.name} |" in markdown
