"""`videofocus eval` end to end through typer's CliRunner on a tiny random Qwen2.5-VL."""

from __future__ import annotations

import hashlib
import json

import pytest
from eval_helpers import read_jsonl, synth_set
from typer.testing import CliRunner

from videofocus.cli import app
from videofocus.errors import ConfigError
from videofocus.evaluate import EvalSettings, evaluate
from videofocus.perception import PerceptionOptions

runner = CliRunner()


@pytest.fixture(scope="module")
def cli_run(tiny_qwen25_vl_path, tmp_path_factory):
    """One run on 3 synthetic videos, the second of which is not a video."""
    folder = tmp_path_factory.mktemp("cli")
    annotations, samples = synth_set(folder / "data", 3, ["temporal_grounding"])
    (annotations.parent / samples[1].media.path).write_bytes(b"\x00" * 64)
    args = ["eval", "--model", str(tiny_qwen25_vl_path), "--benchmark", "temporal_grounding",
            "--annotations", str(annotations), "--output", str(folder / "out"), "--rounds", "1,2",
            "--num-frames", "4", "--max-new-tokens", "8", "--device", "cpu", "--no-progress"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result, args, folder / "out", samples


def test_the_run_lists_its_failure_and_keeps_going(cli_run):
    result, _, out, samples = cli_run
    assert f"failed {samples[1].id}: MediaError" in result.stdout
    assert "3 samples, 1 failed" in result.stdout
    lines = read_jsonl(out / "predictions.jsonl")
    assert [len(line.get("rounds", [])) for line in lines] == [2, 0, 2]
    assert lines[0]["rounds"][0]["view"]["frame_indices"] == [0, 5, 10, 15]  # --num-frames 4 of 16 frames


def test_metrics_json_equals_the_score_command_on_each_round_file(cli_run):
    _, _, out, _ = cli_run
    metrics = json.loads((out / "metrics.json").read_text())
    for number in ("1", "2"):
        scored = runner.invoke(app, ["score", "--json", "--benchmark", "temporal_grounding", "--predictions",
                                     str(out / f"predictions_round{number}.jsonl"),
                                     "--annotations", str(out / "samples.jsonl")])
        assert scored.exit_code == 0, scored.output
        assert json.loads(scored.stdout) == metrics["rounds"][number]


def test_the_printed_table_gives_each_metric_with_its_standard_error(cli_run):
    result, _, out, _ = cli_run
    saved = json.loads((out / "metrics.json").read_text())["rounds"]["2"]
    miou, error = saved["metrics"]["mIoU"], saved["standard_errors"]["mIoU"]
    assert f"{miou:.2f} ± {error:.2f}" in result.stdout and "standard error" in result.stdout


def test_run_json_records_the_command_model_and_settings(cli_run, tiny_qwen25_vl_path):
    _, _, out, _ = cli_run
    run = json.loads((out / "run.json").read_text())
    assert run["command"].startswith(f"videofocus eval --model {tiny_qwen25_vl_path} --benchmark temporal_grounding")
    assert "--num-frames 4" in run["command"] and "--no-early-stop" in run["command"]
    config_hash = hashlib.sha256((tiny_qwen25_vl_path / "config.json").read_bytes()).hexdigest()
    assert run["model"]["name"] == str(tiny_qwen25_vl_path) and run["model"]["config_sha256"] == config_hash
    assert run["generation"]["backend"] == "hf" and run["generation"]["max_new_tokens"] == 8
    assert run["generation"]["dtype"] == "float32"  # load_model's CPU default, written out
    assert run["settings"]["perception"]["num_frames"] == 4 and run["settings"]["rounds"] == [1, 2]


def test_rerun_resumes_and_other_settings_are_refused(cli_run):
    _, args, out, _ = cli_run
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "0 evaluated now" in again.stdout
    changed = runner.invoke(app, [*args, "--key-ratio", "0.25"])
    assert changed.exit_code == 1 and isinstance(changed.exception, ConfigError)
    assert "settings.perception.key_ratio: 0.5 there, 0.25 now" in str(changed.exception)


def test_bad_rounds_are_a_config_error(tmp_path):
    result = runner.invoke(app, ["eval", "--model", "m", "--benchmark", "mcq", "--annotations", "a.jsonl",
                                 "--rounds", "1,two"])
    assert result.exit_code == 1 and isinstance(result.exception, ConfigError)
    assert "--rounds takes comma-separated round numbers" in str(result.exception)


def test_a_ready_transformers_backend_is_described_in_run_json(tiny_qwen25_vl_path, tmp_path):
    """The end-to-end demo's route: it hands evaluate the backend it already built."""
    from videofocus.backends.hf import HFBackend

    annotations, _ = synth_set(tmp_path / "data", 1, ["temporal_grounding"])
    backend = HFBackend.from_pretrained(tiny_qwen25_vl_path, device="cpu", max_new_tokens=6, batch_size=2)
    settings = EvalSettings("temporal_grounding", rounds=(1,), perception=PerceptionOptions(num_frames=4))
    result = evaluate(annotations, tmp_path / "out", settings, backend=backend, progress=False)
    assert result.reports[1].n == 1 and not result.failures
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["generation"]["backend"] == "videofocus.backends.hf.HFBackend"
    assert (run["generation"]["max_new_tokens"], run["generation"]["do_sample"], run["generation"]["batch_size"]) == \
        (6, False, 2)
    assert run["model"]["model_type"] == "qwen2_5_vl" and len(run["model"]["config_sha256"]) == 64
    completion_tokens = read_jsonl(tmp_path / "out" / "predictions.jsonl")[0]["rounds"][0]["cost"]["completion_tokens"]
    assert 1 <= completion_tokens <= 6


def test_video_total_pixels_option_reaches_the_recorded_settings(monkeypatch):
    ran = {}

    def evaluate_nothing(annotations, folder, settings, **options):
        ran["settings"] = settings  # returns None, as a process other than the main one does

    monkeypatch.setattr("videofocus.evaluate.evaluate", evaluate_nothing)
    base = ["eval", "--model", "m", "--benchmark", "mcq", "--annotations", "a.jsonl"]
    for extra, total in (([], None), (["--video-total-pixels", "500000"], 500_000)):
        result = runner.invoke(app, [*base, *extra])
        assert result.exit_code == 0, result.output
        assert ran.pop("settings").to_dict()["generation"]["video_total_pixels"] == total
    refused = runner.invoke(app, [*base, "--video-total-pixels", "0"])
    assert refused.exit_code == 2 and "--video-total-pixels" in refused.output
