"""The report: the results table read from evaluation folders, its markdown, the figures, the report
file; and the demo's rows (which metric of which benchmark each selection shows)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from videofocus.demo.stages import metric_rows, split_by_selection
from videofocus.errors import ConfigError, DataError
from videofocus.report import (Cell, CurvePanel, Figure, MetricRow, plot_example_timelines, plot_rounds,
                               plot_training_curves, read_results, table_markdown, write_report)
from videofocus.schema import parse_sample, read_samples, write_samples

TG_MIOU = MetricRow("temporal grounding", "temporal_grounding", "temporal_grounding", "mIoU")
TG_R05 = MetricRow("temporal grounding", "temporal_grounding", "temporal_grounding", "R@0.5")
TRACK_AO = MetricRow("tracking", "tracking", "got10k", "AO")


def write_metrics(folder: Path, benchmark: str, by_round: dict[int, dict[str, float]]) -> Path:
    """A metrics.json as videofocus.evaluate writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": benchmark, "n": 10, "track_units": "normalised", "failed": [],
            "rounds": {str(number): {"benchmark": benchmark, "n": 10, "missing": 0, "metrics": metrics,
                                     "standard_errors": {name: value / 10 for name, value in metrics.items()}}
                       for number, metrics in by_round.items()}}
    (folder / "metrics.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


@pytest.fixture
def eval_dirs(tmp_path):
    """Two models × two selections, every value distinct."""
    dirs = {}
    for offset, model in ((0, "SFT"), (50, "SFT+GRPO")):
        dirs[model] = {
            "temporal_grounding": write_metrics(tmp_path / model / "tg", "temporal_grounding", {
                number: {"mIoU": offset + number, "R@0.3": 0.0, "R@0.5": offset + 10 + number, "R@0.7": 0.0}
                for number in (1, 2, 3)}),
            "tracking": write_metrics(tmp_path / model / "track", "got10k", {
                number: {"AO": offset + 20 + number, "SR@0.5": 0.0, "SR@0.75": 0.0} for number in (1, 2, 3)}),
        }
    return dirs


def test_the_table_holds_each_folders_value_for_each_round(eval_dirs):
    table = read_results(eval_dirs, [TG_MIOU, TG_R05, TRACK_AO], [1, 2, 3])
    assert table.value(TG_MIOU, "SFT", 2) == 2.0
    assert table.value(TG_R05, "SFT+GRPO", 3) == 63.0
    assert table.value(TRACK_AO, "SFT+GRPO", 1) == 71.0
    assert table.cell(TRACK_AO, "SFT+GRPO", 1) == Cell(71.0, 7.1)
    assert table.columns[:2] == [("SFT", 1), ("SFT", 2)] and len(table.columns) == 6
    saved = table.to_json()
    assert saved["rows"][2]["values"]["SFT"]["3"] == 23.0 and saved["rows"][0]["benchmark"] == "temporal_grounding"
    assert saved["rows"][2]["errors"]["SFT"]["3"] == pytest.approx(2.3) and saved["rows"][2]["baseline"] is None


def test_markdown_puts_the_baseline_first_then_a_row_per_model_and_round(eval_dirs):
    table = read_results(eval_dirs, [TG_MIOU, TRACK_AO], [1, 3])
    lines = table_markdown(table.with_baselines({TG_MIOU.label: Cell(2.0, 0.5)})).splitlines()
    assert lines[0] == "| model | round | temporal grounding mIoU | tracking AO |"
    assert lines[2] == "| video-blind | – | 2.0 ± 0.5 |  |"
    # SFT r1: 1.0 is below 2.0; SFT r3: 3.0 - 2.0 = 1.0 is not above its error 0.3 + ... (0.3): above
    assert lines[3] == "| SFT | r1 | 1.0 ± 0.1° | 21.0 ± 2.1 |"
    assert lines[4] == "| SFT | r3 | 3.0 ± 0.3 | 23.0 ± 2.3 |"
    assert lines[6] == "| SFT+GRPO | r3 | 53.0 ± 5.3 | 73.0 ± 7.3 |"


def test_a_value_beats_its_baseline_only_by_more_than_its_standard_error(eval_dirs):
    table = read_results(eval_dirs, [TG_MIOU], [1, 2, 3])
    assert table.beats_baseline(TG_MIOU, "SFT", 3) is None    # no baseline row
    table = table.with_baselines({TG_MIOU.label: Cell(2.75, 1.0)})
    assert [table.beats_baseline(TG_MIOU, "SFT", number) for number in (1, 2, 3)] == [False, False, False]
    assert table.beats_baseline(TG_MIOU, "SFT+GRPO", 1) is True   # 51 ± 5.1 against 2.75


def test_a_missing_round_or_metric_names_the_file_and_field(eval_dirs):
    with pytest.raises(DataError) as error:
        read_results(eval_dirs, [TG_MIOU], [1, 4])
    assert "rounds.4.metrics.mIoU" in str(error.value) and "tg/metrics.json" in str(error.value)
    other = MetricRow("temporal grounding", "temporal_grounding", "temporal_grounding", "Acc")
    with pytest.raises(DataError, match="field 'rounds.1.metrics.Acc'"):
        read_results(eval_dirs, [other], [1])
    path = eval_dirs["SFT"]["temporal_grounding"] / "metrics.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["rounds"]["2"]["standard_errors"]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DataError, match="field 'rounds.2.standard_errors.mIoU'"):
        read_results(eval_dirs, [TG_MIOU], [1, 2])


def test_a_wrong_benchmark_broken_or_absent_file_is_a_data_error(eval_dirs, tmp_path):
    swapped = {"SFT": {"temporal_grounding": eval_dirs["SFT"]["tracking"]}}
    with pytest.raises(DataError, match="benchmark 'got10k', expected 'temporal_grounding'"):
        read_results(swapped, [TG_MIOU], [1])
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "metrics.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="not valid JSON"):
        read_results({"SFT": {"temporal_grounding": tmp_path / "broken"}}, [TG_MIOU], [1])
    with pytest.raises(DataError, match="has the evaluation finished"):
        read_results({"SFT": {"temporal_grounding": tmp_path / "absent"}}, [TG_MIOU], [1])
    with pytest.raises(DataError, match="no evaluation folder of 'tracking'"):
        read_results({"SFT": {"temporal_grounding": tmp_path / "absent"}}, [TRACK_AO], [1])


def assert_png(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.verify()
        return image.size


def test_training_curves_and_rounds_figures_are_pngs(eval_dirs, tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text("".join(json.dumps({"step": step, "reward": step / 10, "loss": None}) + "\n"
                               for step in range(1, 6)), encoding="utf-8")
    curves = plot_training_curves([CurvePanel("GRPO", metrics, ("reward", "loss", "kl"))], tmp_path / "c.png")
    rounds = plot_rounds(read_results(eval_dirs, [TG_MIOU, TG_R05, TRACK_AO], [1, 2, 3]), tmp_path / "r.png")
    assert assert_png(curves)[0] > 100 and assert_png(rounds)[0] > 100


def test_a_training_record_without_a_step_names_its_line(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text('{"step": 1, "loss": 2.0}\n{"loss": 1.0}\n', encoding="utf-8")
    with pytest.raises(DataError) as error:
        plot_training_curves([CurvePanel("SFT", metrics, ("loss",))], tmp_path / "c.png")
    assert "metrics.jsonl:2" in str(error.value) and "field 'step'" in str(error.value)
    assert not (tmp_path / "c.png").exists()


def _round(number: int, frames: list[float], interval: list[float] | None, option: str | None) -> dict:
    return {"round": number, "output": "", "option": option, "intervals": [interval] if interval else None,
            "view": {"media_type": "video", "frame_indices": [int(t * 2) for t in frames], "timestamps": frames,
                     "focus": None if number == 1 else [[3.0, 6.0]]}}


def test_timelines_are_drawn_for_video_samples_with_a_ground_truth_interval(tmp_path):
    video = {"media": {"type": "video", "path": "v.mp4", "duration": 8.0}, "options": ["red", "blue"]}
    samples = [
        parse_sample({"id": "failed", "task": "grounded_qa", "question": "q", "answer": "A",
                      "clue": {"intervals": [[1.0, 2.0]]}, **video}),
        parse_sample({"id": "image", "task": "spatial_grounding", "question": "the square",
                      "media": {"type": "image", "path": "i.png", "width": 56, "height": 56},
                      "clue": {"boxes": [[1.0, 1.0, 9.0, 9.0]]}}),
        parse_sample({"id": "brief", "task": "grounded_qa", "question": "What colour does it turn?", "answer": "B",
                      "clue": {"intervals": [[3.0, 6.0]]}, "meta": {"flash_start": 4.0, "flash_end": 4.5},
                      **video}),
        parse_sample({"id": "later", "task": "grounded_qa", "question": "q", "answer": "A",
                      "clue": {"intervals": [[0.0, 2.0]]}, **video}),
    ]
    write_samples(tmp_path / "samples.jsonl", samples)
    lines = [{"id": "failed", "task": "grounded_qa", "error": "MediaError: broken"},
             {"id": "image", "task": "spatial_grounding", "media_type": "image",
              "rounds": [{"round": 1, "output": "", "view": {"media_type": "image", "image_size": [56, 56]}}]},
             {"id": "brief", "task": "grounded_qa", "media_type": "video",
              "rounds": [_round(1, [0.0, 1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 7.5], [3.0, 6.0], "A"),
                         _round(2, [0.0, 3.0, 3.5, 4.0, 5.0, 5.5, 6.5, 7.5], [3.0, 5.5], "B")]},
             {"id": "later", "task": "grounded_qa", "media_type": "video",
              "rounds": [_round(1, [0.0, 1.0], None, None)]}]
    (tmp_path / "predictions.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")

    drawn = plot_example_timelines(tmp_path, tmp_path / "figures", count=1, prefix="tl")
    assert [path.name for path in drawn] == ["tl_1.png"]
    assert assert_png(drawn[0])[1] > 150  # truth, flash and two rounds: a taller figure than one row
    both = plot_example_timelines(tmp_path, tmp_path / "figures", count=5, prefix="tl")
    assert [path.name for path in both] == ["tl_1.png", "tl_2.png"]  # the error and the image are skipped


def test_the_report_links_figures_relative_to_itself(eval_dirs, tmp_path):
    table = read_results(eval_dirs, [TG_MIOU, TRACK_AO], [1, 2, 3])
    figure = tmp_path / "out" / "figures" / "rounds.png"
    report = write_report(tmp_path / "out" / "report.md", title="demo", summary=["- data: synthetic"], table=table,
                          table_note="Values in %.", figures=[Figure("Metric against round", figure)],
                          sections=[("Files", ["- eval: `somewhere`"])])
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# demo\n\n- data: synthetic\n\n## Results\n")
    assert "| SFT+GRPO | r2 | 52.0 ± 5.2 | 72.0 ± 7.2 |" in text
    assert "![Metric against round](figures/rounds.png)" in text
    assert text.index("## Results") < text.index("figures/rounds.png") < text.index("## Files")


def test_each_selection_shows_the_headline_metrics_of_its_benchmark():
    rows = metric_rows(["temporal_grounding", "tracking", "spatial_grounding", "brief_evidence", "mcq"])
    assert [(row.benchmark, row.metric) for row in rows] == [
        ("temporal_grounding", "mIoU"), ("temporal_grounding", "R@0.5"), ("got10k", "AO"), ("refcoco", "Acc@0.5"),
        ("nextgqa", "Acc@QA"), ("mcq", "Acc")]
    assert rows[4].label == "brief evidence QA Acc@QA"
    with pytest.raises(ConfigError, match="no rule-based benchmark"):
        metric_rows(["caption"])


def test_held_out_samples_are_split_by_task_or_kind(tmp_path):
    records = [{"id": f"s{index}", "task": "grounded_qa" if index % 2 else "temporal_grounding", "question": "q",
                "media": {"type": "video", "path": "v.mp4"}, "clue": {"intervals": [[0.0, 1.0]]},
                **({"options": ["a", "b"], "answer": "A", "meta": {"kind": "brief_evidence"}} if index % 2 else {})}
               for index in range(5)]
    write_samples(tmp_path / "samples.jsonl", [parse_sample(record) for record in records])
    files = split_by_selection(tmp_path / "samples.jsonl", ["brief_evidence", "temporal_grounding"])
    assert [sample.id for sample in read_samples(files["brief_evidence"])] == ["s1", "s3"]
    assert [sample.id for sample in read_samples(files["temporal_grounding"])] == ["s0", "s2", "s4"]
    with pytest.raises(ConfigError, match="holds no sample of 'tracking'"):
        split_by_selection(tmp_path / "samples.jsonl", ["tracking"])
