"""`videofocus demo --tiny` end to end: every stage writes what it should, in a form the next stage and
a reader can use; a rerun skips finished stages, an interrupted one resumes, other settings are refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from videofocus.cli import app
from videofocus.data.validate import validate_file
from videofocus.demo import PRESETS
from videofocus.demo.pipeline import MODELS, held_out_size_note
from videofocus.demo.stages import metric_rows
from videofocus.errors import ConfigError
from videofocus.models import load_model
from videofocus.schema import read_samples

runner = CliRunner()
TINY = PRESETS["tiny"]
STAGES = ("data", "model", "warmup", "grpo", "sft", "evaluate")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    result = runner.invoke(app, ["demo", "--tiny", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.stdout


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_data_validates_and_each_task_file_holds_its_task(demo_run):
    out, _ = demo_run
    for split, count in (("train", TINY.train_samples), ("test", TINY.test_samples_per_task * len(TINY.tasks))):
        report = validate_file(out / "data" / split / "samples.jsonl")
        assert report.ok, report.errors
        assert len(list(read_samples(out / "data" / split / "samples.jsonl"))) == count
    for selection in TINY.tasks:
        samples = list(read_samples(out / "data" / "test" / f"{selection}.jsonl"))
        assert len(samples) == TINY.test_samples_per_task
        assert all(selection in (sample.task, (sample.meta or {}).get("kind")) for sample in samples)


def test_the_built_and_trained_models_load(demo_run):
    out, _ = demo_run
    built, _ = load_model(out / "model", device="cpu")
    for key in MODELS.values():
        trained, processor = load_model(out / key, device="cpu")
        assert trained.config.text_config.hidden_size == built.config.text_config.hidden_size
        assert processor.tokenizer.padding_side == "left"


def test_trainer_metrics_are_json_lines_with_the_expected_keys(demo_run):
    out, _ = demo_run
    warmup, sft = jsonl(out / "warmup" / "metrics.jsonl"), jsonl(out / "sft" / "metrics.jsonl")
    grpo = jsonl(out / "grpo" / "metrics.jsonl")
    assert [record["step"] for record in warmup] == list(range(1, TINY.sft_steps + 1))
    assert [record["step"] for record in sft] == list(range(1, TINY.grpo_steps + 1))   # as many samples as GRPO
    assert [record["step"] for record in grpo] == list(range(1, TINY.grpo_steps + 1))
    assert all({"loss", "learning_rate"} <= set(record) for record in warmup + sft)
    assert all({"reward", "loss", "zero_spread_share", "rewards/format/mean"} <= set(record) for record in grpo)
    last_round = f"itp/round{TINY.grpo_rollout_rounds}/reward"    # GRPO's rollouts ran the perception loop
    assert TINY.grpo_rollout_rounds > 1 and all(last_round in record for record in grpo)


def test_every_evaluation_has_all_rounds_and_the_table_reads_them(demo_run):
    out, _ = demo_run
    results = json.loads((out / "report" / "results.json").read_text(encoding="utf-8"))
    rows = {row["label"]: row for row in results["table"]["rows"]}
    for key, label in ((key, label) for label, key in MODELS.items()):
        for selection in TINY.tasks:
            folder = out / "eval" / key / selection
            metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
            assert sorted(metrics["rounds"]) == ["1", "2", "3"]
            assert all(len(line["rounds"]) == 3 for line in jsonl(folder / "predictions.jsonl"))
            for row in metric_rows([selection]):
                for number in ("1", "2", "3"):
                    assert rows[row.label]["values"][label][number] == metrics["rounds"][number]["metrics"][row.metric]


def test_the_report_and_the_printed_table_show_every_row(demo_run):
    out, stdout = demo_run
    report = (out / "report" / "report.md").read_text(encoding="utf-8")
    rows = metric_rows(TINY.tasks)
    header = "| model | round | " + " | ".join(f"{row.title} {row.metric}" for row in rows) + " |"
    assert header in report
    cells = rf"( [\d.]+ ± [\d.]+°? \|){{{len(rows)}}}$"
    assert re.search(rf"^\| video-blind \| – \|{cells}", report, re.MULTILINE)
    for label in MODELS:
        for number in range(1, TINY.rounds + 1):
            assert re.search(rf"^\| {re.escape(label)} \| r{number} \|{cells}", report, re.MULTILINE), label
    for row in rows:
        assert row.metric in stdout and row.title.split()[0] in stdout, row.label
    # One line a model and round, every cell on it, in an 80-column terminal (the runner's width).
    row_line = rf"\sr\d(\s+[\d.]+±[\d.]+°?){{{len(rows)}}}\s*$"
    printed = [line for line in stdout.splitlines() if re.search(row_line, line)]
    assert len(printed) == len(MODELS) * TINY.rounds and max(len(line) for line in printed) <= 80
    for name in re.findall(r"!\[[^]]*\]\(([^)]+)\)", report):
        with Image.open(out / "report" / name) as image:
            assert image.format == "PNG"
            image.verify()
    figures = sorted(path.name for path in (out / "report").glob("*.png"))
    assert "training_curves.png" in figures and "rounds.png" in figures
    assert len([name for name in figures if name.startswith("timeline_")]) == TINY.timeline_examples


def test_the_report_says_first_whether_the_targets_were_met(demo_run):
    out, stdout = demo_run
    report = (out / "report" / "report.md").read_text(encoding="utf-8").splitlines()
    assert report[2].startswith(("**Targets: all met.**", "**Targets missed: "))
    results = json.loads((out / "report" / "results.json").read_text(encoding="utf-8"))
    assert [target["met"] for target in results["targets"]] == [
        f"- met: {target['goal']}" in "\n".join(report[:8]) for target in results["targets"]]
    assert len(results["targets"]) == 3 and all(row["baseline"] is not None for row in results["table"]["rows"])
    assert stdout.count("MISSED") + stdout.count("met:") == 3
    # The tiny run's single held-out sample per task cannot judge the targets, and both outputs say so.
    note = f"With {TINY.test_samples_per_task} held-out samples per task a cell's standard error reaches 50 points"
    assert report[3].startswith(note) and note in " ".join(stdout.split())
    assert held_out_size_note(PRESETS["full"]) is None


def test_each_model_folder_carries_the_pixel_settings_it_was_trained_with(demo_run):
    out, _ = demo_run
    for key in MODELS.values():
        saved = json.loads((out / key / "videofocus.json").read_text(encoding="utf-8"))
        assert saved["video_min_pixels"] == saved["video_max_pixels"] == TINY.frame_pixels
        assert saved["image_min_pixels"] == saved["image_max_pixels"] == TINY.frame_pixels


def test_only_the_budgeted_tasks_are_evaluated_at_the_frame_budget(demo_run):
    out, _ = demo_run
    for selection in TINY.tasks:
        run = json.loads((out / "eval" / "grpo" / selection / "run.json").read_text(encoding="utf-8"))
        frames = run["settings"]["perception"]["num_frames"]
        assert frames == (TINY.eval_frames if selection in TINY.budgeted_tasks else None), selection


def test_a_rerun_skips_every_finished_stage(demo_run):
    out, _ = demo_run
    weights = out / "grpo" / "model.safetensors"
    before = weights.stat().st_mtime_ns
    again = runner.invoke(app, ["demo", "--tiny", "--out", str(out), "--threads", "2"])  # machine knob: allowed
    assert again.exit_code == 0, again.output
    assert again.stdout.count("skipped") == len(STAGES)
    assert weights.stat().st_mtime_ns == before


def test_an_interrupted_training_stage_continues_from_its_checkpoint(demo_run):
    out, _ = demo_run
    (out / ".stages" / "warmup.json").unlink()
    (out / "warmup" / "model.safetensors").unlink()   # as if it stopped after its last checkpoint
    again = runner.invoke(app, ["demo", "--tiny", "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert again.stdout.count("skipped") == len(STAGES) - 1
    assert (out / "warmup" / "model.safetensors").is_file()
    steps = [record["step"] for record in jsonl(out / "warmup" / "metrics.jsonl")]
    assert steps == list(range(1, TINY.sft_steps + 1))


def test_other_settings_or_an_unrelated_folder_are_refused(demo_run, tmp_path):
    out, _ = demo_run
    other = runner.invoke(app, ["demo", "--tiny", "--out", str(out), "--seed", "1"])
    assert other.exit_code == 1 and isinstance(other.exception, ConfigError)
    assert "holds a demo run with other settings (seed: 0 there, 1 now)" in str(other.exception)
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    unrelated = runner.invoke(app, ["demo", "--tiny", "--out", str(tmp_path)])
    assert unrelated.exit_code == 1 and "is not empty and holds no demo run" in str(unrelated.exception)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]
