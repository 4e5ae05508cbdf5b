"""Generating a synthetic dataset: counts and files, determinism, splits and label jitter, world.json,
resuming, bad arguments, and the `videofocus data synth` command."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from synth_helpers import decode_video, load_dataset
from videofocus.cli import main
from videofocus.cli.app import app
from videofocus.data.synth import KINDS, PALETTE, PRESETS, TASK_NAMES, generate_dataset, make_settings
from videofocus.errors import ConfigError
from videofocus.schema import read_samples


def test_every_kind_is_made_by_the_function_of_its_name():
    for name, kind in KINDS.items():
        assert kind.make.__name__ == name and kind.make.__module__ == f"videofocus.data.synth.{kind.module}"


def test_200_samples_of_every_task_with_their_files(tmp_path):
    path = generate_dataset(tmp_path, 200, seed=0)
    samples = list(read_samples(path))  # every line validates (schema.parse_sample)
    assert len(samples) == 200 and path == tmp_path / "samples.jsonl"
    assert {sample.task for sample in samples} == set(TASK_NAMES)
    assert [sample.task for sample in samples[:len(TASK_NAMES)]] == list(TASK_NAMES)  # tasks in turn
    media = {sample.media.path for sample in samples}
    assert len(media) == 200 and all((tmp_path / name).stat().st_size > 0 for name in media)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("*/*")) == sorted(media)
    assert {p.name for p in tmp_path.iterdir()} == {"samples.jsonl", "scenes.jsonl", "world.json", "videos", "images"}
    assert sum(1 for _ in (tmp_path / "scenes.jsonl").open()) == 200


def _media_bytes(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.glob("*/*")}


def test_same_seed_gives_identical_files_and_frames(tmp_path):
    first, second, other = (generate_dataset(tmp_path / name, 2 * len(KINDS), seed=seed, tasks=list(KINDS),
                                             difficulty="medium") for name, seed in (("a", 3), ("b", 3), ("c", 4)))
    for name in ("samples.jsonl", "scenes.jsonl", "world.json"):
        assert (first.parent / name).read_bytes() == (second.parent / name).read_bytes()
    assert first.read_bytes() != other.read_bytes()
    for sample in read_samples(first):
        if sample.media.type == "video":
            frames_a, times_a = decode_video(first.parent / sample.media.path)
            frames_b, times_b = decode_video(second.parent / sample.media.path)
            assert np.array_equal(frames_a, frames_b) and np.array_equal(times_a, times_b)
    assert _media_bytes(first.parent) == _media_bytes(second.parent)


def test_first_samples_do_not_depend_on_n(tmp_path):
    short = list(read_samples(generate_dataset(tmp_path / "short", 5, seed=2)))
    long = list(read_samples(generate_dataset(tmp_path / "long", 9, seed=2)))
    assert long[:5] == short


def test_train_and_test_from_different_seeds_share_no_sample(tmp_path):
    train = load_dataset(generate_dataset(tmp_path / "train", 30, seed=0).parent)
    test = load_dataset(generate_dataset(tmp_path / "test", 30, seed=1, split="test").parent)
    test_same_seed = load_dataset(generate_dataset(tmp_path / "test0", 30, seed=0, split="test").parent)
    train_scenes = {json.dumps(record["scene"], sort_keys=True) for _, record in train}
    for other in (test, test_same_seed):
        assert not {sample.id for sample, _ in train} & {sample.id for sample, _ in other}
        assert not train_scenes & {json.dumps(record["scene"], sort_keys=True) for _, record in other}
    train_media = set(_media_bytes(tmp_path / "train").values())
    assert not train_media & set(_media_bytes(tmp_path / "test").values())


def test_label_jitter_only_in_train_and_bounded(tmp_path):
    jitter = make_settings("medium").label_jitter
    for split in ("train", "test"):
        items = load_dataset(generate_dataset(tmp_path / split, 30, seed=5, tasks=["temporal_grounding", "grounded_qa"],
                                              difficulty="medium", split=split).parent)
        moved = []
        for sample, record in items:
            exact = np.array(record["clue"]["intervals"])
            labelled = np.array(sample.clue.intervals)
            moved.append(np.abs(labelled - exact).max())
            assert (labelled >= 0).all() and (labelled <= sample.media.duration).all()
        if split == "test":
            assert max(moved) == 0
        else:
            assert 0 < max(moved) <= jitter + 0.005 and sum(m > 0 for m in moved) > len(moved) / 2


def test_fixed_option_order_lists_colours_in_palette_order_and_changes_nothing_else(tmp_path):
    """The easy preset fixes the order (a colour's letter depends only on which others are offered);
    shuffling changes only the options' order and so the letters."""
    runs = {}
    for fixed in (True, False):
        runs[fixed] = list(read_samples(generate_dataset(tmp_path / str(fixed), 24, seed=2, tasks=["brief_evidence"],
                                                         fixed_option_order=fixed)))
    assert make_settings("easy").fixed_option_order and not make_settings("hard").fixed_option_order
    for fixed, shuffled in zip(runs[True], runs[False], strict=True):
        assert fixed.options == sorted(fixed.options, key=list(PALETTE).index)
        assert sorted(fixed.options) == sorted(shuffled.options) and fixed.clue == shuffled.clue
        assert fixed.options[ord(fixed.answer) - ord("A")] == shuffled.options[ord(shuffled.answer) - ord("A")]
    assert any(sample.options != sorted(sample.options, key=list(PALETTE).index) for sample in runs[False])


def test_rationales_come_with_multiple_choice_answers_only_and_can_be_turned_off(tmp_path):
    with_rationales = list(read_samples(generate_dataset(tmp_path / "on", 40, seed=3)))
    without = list(read_samples(generate_dataset(tmp_path / "off", 40, seed=3, rationales=False)))
    for sample, plain in zip(with_rationales, without, strict=True):
        assert (sample.think is not None) == (sample.options is not None)
        if sample.think is not None:
            assert sample.options[ord(sample.answer) - ord("A")] in sample.think
        assert plain.think is None
        assert plain.model_dump(exclude={"think"}) == sample.model_dump(exclude={"think"})


def test_world_json_records_settings_and_the_frame_budget(tmp_path):
    generate_dataset(tmp_path, 3, seed=1, tasks=["brief_evidence"], difficulty="hard", fps=2.0, round1_frames=8)
    world = json.loads((tmp_path / "world.json").read_text())
    assert world["settings"] == make_settings("hard", fps=2.0).to_json()
    assert (world["seed"], world["n"], world["split"], world["tasks"]) == (1, 3, "train", ["brief_evidence"])
    assert world["video"]["frames"] == 64
    assert world["brief_evidence"]["round1_frames"] == 8 and world["brief_evidence"]["key_ratio"] == 0.5
    assert set(world["brief_evidence"]["rules"]) == {"linspace", "centre", "videofocus"}
    for sample in read_samples(tmp_path / "samples.jsonl"):
        assert sample.source == "synth/brief_evidence" and sample.meta["round1_frames"] == 8


def test_rerun_reuses_media_and_other_settings_need_overwrite(tmp_path):
    generate_dataset(tmp_path, 4, seed=1)
    video = next((tmp_path / "videos").iterdir())
    os.utime(video, ns=(1, 1))  # a marker: rewriting the file would change it
    before = (tmp_path / "samples.jsonl").read_bytes()
    generate_dataset(tmp_path, 6, seed=1)  # same settings, more samples: resumes
    assert video.stat().st_mtime_ns == 1
    assert (tmp_path / "samples.jsonl").read_bytes().startswith(before)
    with pytest.raises(ConfigError, match="other settings"):
        generate_dataset(tmp_path, 6, seed=2)
    assert json.loads((tmp_path / "world.json").read_text())["seed"] == 1  # left as it was
    generate_dataset(tmp_path, 6, seed=2, overwrite=True)
    assert video.stat().st_mtime_ns != 1


def test_refuses_a_folder_holding_other_samples(tmp_path):
    (tmp_path / "samples.jsonl").write_text("{}\n")
    with pytest.raises(ConfigError, match="already holds a dataset"):
        generate_dataset(tmp_path, 2, seed=0)


@pytest.mark.parametrize("arguments, message", [
    ({"n": 0}, "need n >= 1"),
    ({"split": "val"}, "split in"),
    ({"tasks": ["tracking", "juggling"]}, "unknown synth task(s) juggling"),
    ({"tasks": ["brief_evidence"], "duration": 4.0}, "no brief-evidence flash fits 8 frames"),
    ({"tasks": ["tg_single"], "min_event": 9.0, "max_event": 9.0}, "do not fit in 16 frames"),
])
def test_bad_arguments_are_config_errors_and_write_nothing(tmp_path, arguments, message):
    arguments = {"n": 3, "seed": 0, **arguments}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        generate_dataset(tmp_path / "out", **arguments)
    assert not (tmp_path / "out").exists()


def test_cli_generates_with_overrides(tmp_path):
    result = CliRunner().invoke(app, ["data", "synth", "--out", str(tmp_path), "--n", "4", "--seed", "9",
                                      "--tasks", "tracking,spatial_grounding", "--difficulty", "medium",
                                      "--split", "test", "--size", "64", "--fps", "4", "--duration", "3",
                                      "--image-size", "40", "--set", "distractors=[0,0]", "--set", "noise=0"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "4 samples" in output and "synth/tracking 2" in output
    samples = list(read_samples(tmp_path / "samples.jsonl"))
    assert [sample.task for sample in samples] == ["tracking", "spatial_grounding"] * 2
    frames, times = decode_video(tmp_path / samples[0].media.path)
    assert frames.shape == (12, 64, 64, 3) and np.allclose(np.diff(times), 0.25)
    assert (samples[1].media.width, samples[1].media.height) == (40, 40)
    settings = json.loads((tmp_path / "world.json").read_text())["settings"]
    assert settings["distractors"] == [0, 0] and settings["noise"] == 0 and settings["similar_distractors"] is True


@pytest.mark.parametrize(("arguments", "notice"), [
    (["--tasks", "temporal_grounding", "--difficulty", "medium"], "±0.5 s"),
    (["--tasks", "temporal_grounding", "--difficulty", "hard"], "±1 s"),
    (["--tasks", "temporal_grounding", "--set", "label_jitter=0.25"], "±0.25 s"),
    (["--tasks", "temporal_grounding", "--difficulty", "medium", "--split", "test"], None),
    (["--tasks", "temporal_grounding"], None),  # easy: no jitter
    (["--tasks", "tracking", "--difficulty", "medium"], None),  # no intervals to jitter
])
def test_cli_says_when_train_labels_are_jittered(tmp_path, arguments, notice):
    result = CliRunner().invoke(app, ["data", "synth", "--out", str(tmp_path), "--n", "1", *arguments])
    assert result.exit_code == 0, result.output
    if notice is None:
        assert result.stderr == ""
        return
    [line] = result.stderr.strip().splitlines()
    assert notice in line and "interval end" in line and "--split test gives exact labels" in line
    world = json.loads((tmp_path / "world.json").read_text())
    assert f"±{world['label_jitter']['seconds']:g} s" == notice


def test_cli_help_says_which_split_is_jittered():
    result = CliRunner().invoke(app, ["data", "synth", "--help"], env={"COLUMNS": "200"})
    text = " ".join(result.output.replace("│", " ").split())
    assert "test labels are exact" in text
    assert all(f"{name} ±{PRESETS[name].label_jitter:g} s" in text for name in ("medium", "hard"))


def test_cli_bad_setting_is_one_red_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["videofocus", "data", "synth", "--out", str(tmp_path), "--n", "2",
                                      "--set", "fps=fast"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    stderr = capsys.readouterr().err
    assert stderr.strip().startswith("error:") and "fps must look like 2.0" in stderr
    assert len(stderr.strip().splitlines()) == 1 and not (tmp_path / "samples.jsonl").exists()
