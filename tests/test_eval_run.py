"""`evaluate` with scripted backends on synthetic data: per-round predictions and metrics, early
stop carry-over, failed samples, box mapping, run.json."""

from __future__ import annotations

import json
import re
import sys
import types
from dataclasses import replace

import numpy as np
import pytest
from eval_helpers import RoundScript, grounding_script, interval_answer, read_jsonl, synth_set
from PIL import Image
from typer.testing import CliRunner

from videofocus.backends import BoxConvention, ScriptedBackend
from videofocus.cli import app
from videofocus.errors import ConfigError
from videofocus.evaluate import EvalSettings, GenerationSettings, build_backend, evaluate, parse_rounds
from videofocus.media.image import smart_resize
from videofocus.perception import PerceptionOptions
from videofocus.schema import Sample, write_samples
from videofocus.tasks import get_task


def three_round_answers(sample: Sample) -> list[str]:
    """Round 1 misses (IoU 0), round 2 is exact (IoU 1), round 3 covers 60 % of the truth (IoU 0.6)."""
    start, end = sample.clue.intervals[0]
    return [interval_answer(*miss(sample)), interval_answer(start, end),
            interval_answer(start, start + 0.6 * (end - start))]


def miss(sample: Sample) -> tuple[float, float]:
    """An interval inside the 8 s video that does not touch the sample's truth."""
    start, end = sample.clue.intervals[0]
    assert start >= 0.5 or end <= 7.5
    return (0.0, 0.5) if start >= 0.5 else (7.5, 8.0)


@pytest.fixture(scope="module")
def grounding_set(tmp_path_factory):
    return synth_set(tmp_path_factory.mktemp("tg"), 4, ["temporal_grounding"])


@pytest.fixture(scope="module")
def three_round_run(grounding_set, tmp_path_factory):
    annotations, samples = grounding_set
    out = tmp_path_factory.mktemp("run") / "out"
    result = evaluate(annotations, out, EvalSettings("temporal_grounding", rounds=(1, 2, 3)),
                      backend=RoundScript(grounding_script(samples, three_round_answers)), progress=False)
    return result, out, annotations, samples


def test_metrics_after_each_round_follow_each_rounds_parse(three_round_run):
    result, out, _, samples = three_round_run
    assert result.metrics[1] == {"mIoU": 0.0, "R@0.3": 0.0, "R@0.5": 0.0, "R@0.7": 0.0}
    assert result.metrics[2] == {"mIoU": 100.0, "R@0.3": 100.0, "R@0.5": 100.0, "R@0.7": 100.0}
    assert result.metrics[3] == pytest.approx({"mIoU": 60.0, "R@0.3": 100.0, "R@0.5": 100.0, "R@0.7": 0.0})
    assert [line["intervals"] for line in read_jsonl(out / "predictions_round1.jsonl")] == [
        [list(miss(sample))] for sample in samples]
    assert [line["id"] for line in read_jsonl(out / "predictions_round2.jsonl")] == [s.id for s in samples]
    lines = read_jsonl(out / "predictions.jsonl")
    assert [len(line["rounds"]) for line in lines] == [3, 3, 3, 3]
    assert lines[0]["rounds"][1]["output"] == three_round_answers(samples[0])[1]


@pytest.mark.parametrize("annotations_file", ["samples.jsonl", "original"])
def test_metrics_json_equals_what_videofocus_score_computes(three_round_run, annotations_file):
    _, out, annotations, _ = three_round_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert sorted(metrics["rounds"]) == ["1", "2", "3"]
    for number, summary in metrics["rounds"].items():
        scored = CliRunner().invoke(app, [
            "score", "--json", "--benchmark", "temporal_grounding",
            "--predictions", str(out / f"predictions_round{number}.jsonl"),
            "--annotations", str(out / annotations_file if annotations_file != "original" else annotations)])
        assert scored.exit_code == 0, scored.output
        assert json.loads(scored.stdout) == summary
        assert set(summary["standard_errors"]) == set(summary["metrics"])


def test_results_table_and_plot(three_round_run):
    _, out, _, _ = three_round_run
    text = (out / "results.md").read_text()
    assert "| round | mIoU | R@0.3 | R@0.5 | R@0.7 |" in text
    assert "| 3 | 60.00 ± 0.00 | 100.00 ± 0.00 | 100.00 ± 0.00 | 0.00 ± 0.00 |" in text  # every IoU 0.6
    assert "videofocus score --benchmark temporal_grounding --predictions predictions_round3.jsonl" in text
    with Image.open(out / "metrics_vs_rounds.png") as plot:
        assert plot.format == "PNG" and plot.size == (600, 400)
        assert len(np.unique(np.asarray(plot.convert("RGB")).reshape(-1, 3), axis=0)) > 10  # something is drawn


def test_run_json_says_how_the_run_was_made(three_round_run):
    _, out, annotations, samples = three_round_run
    run = json.loads((out / "run.json").read_text())
    assert run["settings"]["rounds"] == [1, 2, 3] and run["settings"]["perception"]["rounds"] == 3
    assert run["settings"]["perception"]["fps"] == 2.0 and run["settings"]["seed"] == 0
    assert run["annotations"]["path"] == str(annotations) and len(run["annotations"]["sha256"]) == 64
    assert run["generation"]["backend"] == "eval_helpers.RoundScript"
    prompt = run["prompts"]["temporal_grounding"]
    assert prompt["sample"] == samples[0].id
    assert prompt["text"] == get_task("temporal_grounding").build_prompt(samples[0])
    packages = run["environment"]["packages"]
    assert {"videofocus", "torch", "transformers", "av", "accelerate"} <= packages.keys()
    assert packages["videofocus"] and packages["torch"] and packages["av"]
    assert re.fullmatch(r"[0-9a-f]{40}", run["environment"]["git"]["commit"])  # tests run from the checkout


def test_model_directory_is_identified_by_hashes(grounding_set, tmp_path):
    annotations, samples = grounding_set
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text('{"model_type": "qwen2_5_vl"}')
    (model_dir / "model.safetensors").write_bytes(b"0" * 100)
    settings = EvalSettings("temporal_grounding", rounds=(1,), limit=1)
    backend = RoundScript(grounding_script(samples, three_round_answers))
    evaluate(annotations, tmp_path / "a", settings, model=model_dir, backend=backend, progress=False)
    (model_dir / "model.safetensors").write_bytes(b"0" * 101)  # re-saved weights
    evaluate(annotations, tmp_path / "b", settings, model=model_dir, backend=backend, progress=False)
    first, second = (json.loads((tmp_path / name / "run.json").read_text())["model"] for name in "ab")
    assert first["name"] == str(model_dir) and first["config_sha256"] == second["config_sha256"]
    assert first["files_sha256"] != second["files_sha256"]


def test_a_loop_that_stops_early_carries_its_last_round_over(grounding_set, tmp_path):
    annotations, samples = grounding_set

    def answers(sample: Sample) -> list[str]:
        start, end = sample.clue.intervals[0]
        if sample.id == samples[0].id:  # the same answer twice: converged after round 2
            return [interval_answer(start, end)]
        return three_round_answers(sample)

    settings = EvalSettings("temporal_grounding", rounds=(1, 2, 3), perception=PerceptionOptions(early_stop=True))
    result = evaluate(annotations, tmp_path, settings, backend=RoundScript(grounding_script(samples, answers)),
                      progress=False)
    first = read_jsonl(tmp_path / "predictions.jsonl")[0]
    assert first["stop_reason"] == "converged" and len(first["rounds"]) == 2
    round2, round3 = (read_jsonl(tmp_path / f"predictions_round{k}.jsonl")[0] for k in (2, 3))
    assert round3 == round2 and round3["intervals"] == [list(samples[0].clue.intervals[0])]
    # Sample 0 keeps IoU 1 in round 3; the other three have 0.6.
    assert result.metrics[3]["mIoU"] == pytest.approx((100 + 3 * 60) / 4)
    assert "1 sample(s) stopped early" in (tmp_path / "results.md").read_text()


def test_a_sample_whose_video_cannot_be_read_fails_alone(tmp_path):
    annotations, samples = synth_set(tmp_path / "data", 3, ["temporal_grounding"])
    broken = samples[1]
    (annotations.parent / broken.media.path).write_bytes(b"this is not a video")
    script = grounding_script(samples, lambda s: [interval_answer(*s.clue.intervals[0])])
    result = evaluate(annotations, tmp_path / "out", EvalSettings("temporal_grounding", rounds=(1, 2), batch_size=3),
                      backend=RoundScript(script), progress=False)
    out = tmp_path / "out"
    line = read_jsonl(out / "predictions.jsonl")[1]
    assert line["id"] == broken.id and line["task"] == "temporal_grounding" and line["error"].startswith("MediaError")
    assert read_jsonl(out / "predictions_round2.jsonl")[1] == {"id": broken.id, "error": line["error"]}
    assert [failure.id for failure in result.failures] == [broken.id]
    assert result.metrics[2]["mIoU"] == pytest.approx(200 / 3)  # the failure counts as wrong
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["failed"] == [{"id": broken.id, "error": line["error"]}] and metrics["rounds"]["2"]["n"] == 3
    assert f"- `{broken.id}`: MediaError" in (out / "results.md").read_text()


def test_boxes_reach_the_round_files_in_original_pixels(tmp_path):
    """A Qwen2.5-VL-style model answers in the pixels of the resized image it saw."""
    width, height, truth = 1000, 600, [100.0, 100.0, 400.0, 300.0]
    Image.fromarray(np.full((height, width, 3), 90, np.uint8)).save(tmp_path / "photo.png")
    sample = Sample(id="img", task="spatial_grounding", question="the grey wall", clue={"boxes": [truth]},
                    media={"type": "image", "path": "photo.png", "width": width, "height": height})
    write_samples(tmp_path / "ann.jsonl", [sample])
    max_pixels = 200 * 28 * 28
    seen_h, seen_w = smart_resize(height, width, factor=28, max_pixels=max_pixels)
    seen_box = [truth[0] * seen_w / width, truth[1] * seen_h / height, truth[2] * seen_w / width,
                truth[3] * seen_h / height]
    backend = ScriptedBackend(lambda _prompt: f"<clue>{seen_box}</clue><answer>here</answer>",
                              box_convention=BoxConvention.RESIZED_PIXELS, image_max_pixels=max_pixels)
    result = evaluate(tmp_path / "ann.jsonl", tmp_path / "out", EvalSettings("refcoco", rounds=(1,)),
                      backend=backend, progress=False)
    assert result.metrics[1] == {"Acc@0.5": 100.0}
    assert read_jsonl(tmp_path / "out" / "predictions_round1.jsonl")[0]["boxes"][0] == pytest.approx(truth)


def test_settings_validation():
    assert parse_rounds("3,1,2") == (3, 1, 2)
    assert EvalSettings("mcq", rounds=(3, 1, 3)).rounds == (1, 3)
    assert EvalSettings("mcq", rounds=(1, 2), perception=PerceptionOptions(rounds=7)).perception.rounds == 2
    for bad in ("1,,2", "0,1", "one"):
        with pytest.raises(ConfigError, match="--rounds"):
            parse_rounds(bad)
    with pytest.raises(ConfigError, match="unknown benchmark 'charades'"):
        EvalSettings("charades")
    with pytest.raises(ConfigError, match="batch_size"):
        EvalSettings("mcq", batch_size=0)
    for bad in (0, -5):
        with pytest.raises(ConfigError, match="video_total_pixels must be at least 1"):
            GenerationSettings(video_total_pixels=bad)


def test_an_annotation_file_the_benchmark_cannot_score_fails_before_any_model_call(grounding_set, tmp_path):
    annotations, samples = grounding_set
    backend = RoundScript(grounding_script(samples, three_round_answers), kill_after=0)
    with pytest.raises(Exception, match="sample '.*' has no"):
        evaluate(annotations, tmp_path / "out", EvalSettings("mcq"), backend=backend, progress=False)
    assert not (tmp_path / "out").exists()


def test_grounded_qa_scores_the_option_letter_of_each_round_on_the_first_n(tmp_path):
    annotations, samples = synth_set(tmp_path / "data", 3, ["grounded_qa"])

    def answers(sample: Sample) -> list[str]:
        wrong = next(letter for letter in "ABCD" if letter != sample.answer)
        interval = sample.clue.intervals[0]
        return [interval_answer(*interval, answer=f"({wrong})"), interval_answer(*interval, answer=sample.answer)]

    result = evaluate(annotations, tmp_path / "out", EvalSettings("nextgqa", rounds=(1, 2), limit=2),
                      backend=RoundScript(grounding_script(samples, answers)), progress=False)
    assert result.metrics[1]["Acc@QA"] == 0.0 and result.metrics[2]["Acc@QA"] == 100.0
    assert result.metrics[2]["Acc@GQA"] == 100.0 and result.reports[2].n == 2
    assert [line["answer"] for line in read_jsonl(tmp_path / "out" / "predictions_round2.jsonl")] == [
        sample.answer for sample in samples[:2]]
    assert len(read_jsonl(tmp_path / "out" / "samples.jsonl")) == 2


def test_tracking_is_scored_in_the_normalised_units_the_prompt_asks_for(tmp_path):
    annotations, samples = synth_set(tmp_path / "data", 2, ["tracking"])

    def answers(sample: Sample) -> list[str]:
        width, height = sample.media.width, sample.media.height
        track = [[p.box[0] / width, p.box[1] / height, p.box[2] / width, p.box[3] / height] for p in sample.clue.track]
        return [f"<think>follow it</think><clue>{track}</clue>"]

    out = tmp_path / "out"
    result = evaluate(annotations, out, EvalSettings("got10k", rounds=(1,)),
                      backend=RoundScript(grounding_script(samples, answers)), progress=False)
    assert result.metrics[1] == pytest.approx({"AO": 100.0, "SR@0.5": 100.0, "SR@0.75": 100.0, "mIoU(R1)": 100.0})
    command = next(line.strip() for line in (out / "results.md").read_text().splitlines()
                   if line.strip().startswith("videofocus score"))
    assert command.endswith("--track-units normalised")
    args = [str(out / word) if word.endswith(".jsonl") else word for word in command.split()[1:]]
    scored = CliRunner().invoke(app, [*args, "--json"])
    saved = json.loads((out / "metrics.json").read_text())["rounds"]["1"]
    assert json.loads(scored.stdout) == saved
    assert saved["standard_errors"] == {"AO": 0.0, "SR@0.5": 0.0, "SR@0.75": 0.0, "mIoU(R1)": 0.0}  # all right


def test_the_progress_bar_shows_samples_per_second_and_eta(grounding_set, tmp_path, capsys):
    annotations, samples = grounding_set
    evaluate(annotations, tmp_path, EvalSettings("temporal_grounding", rounds=(1,)),
             backend=RoundScript(grounding_script(samples, three_round_answers)), progress=True)
    shown = capsys.readouterr().err
    assert "4/4" in shown and "samples/s" in shown and "ETA" in shown


def test_vllm_backend_missing_is_a_config_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "videofocus.backends.vllm", None)  # makes the import fail
    with pytest.raises(ConfigError, match="--backend vllm is not available"):
        build_backend("some/model", GenerationSettings(backend="vllm"), batch_size=1, device=None)


def test_the_total_pixel_budget_reaches_both_backends(monkeypatch, tiny_qwen25_vl_path):
    generation = GenerationSettings(video_total_pixels=500_000)
    hf_backend = build_backend(tiny_qwen25_vl_path, generation, batch_size=1, device="cpu")
    assert hf_backend.pixel_limits["video_total_pixels"] == 500_000
    built = {}
    monkeypatch.setitem(sys.modules, "videofocus.backends.vllm",
                        types.SimpleNamespace(VLLMBackend=lambda model, **options: built.update(options)))
    build_backend("some/model", replace(generation, backend="vllm"), batch_size=1, device=None)
    assert built["video_limits"].total_pixels == 500_000 and built["image_limits"].total_pixels is None
