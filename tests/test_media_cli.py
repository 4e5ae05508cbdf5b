"""`videofocus frames`: table, JSON, contact sheet, and one-line errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from media_helpers import index_frame, write_audio_only, write_cfr_video, write_timed_video
from PIL import Image
from transformers import AutoProcessor

from videofocus.cli import main
from videofocus.cli.app import err_console
from videofocus.evaluate import GenerationSettings
from videofocus.media.video import probe, read_frames
from videofocus.models.inputs import Prompt, encode_prompts

VFR_TIMES = [2.0, 2.1, 2.15, 2.4, 3.0, 3.01, 4.5, 4.6, 5.0, 6.9]


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return tmp_path_factory.mktemp("media_cli")


@pytest.fixture(scope="module")
def vfr_video(media):
    return write_timed_video(media / "vfr.mp4", VFR_TIMES)


@pytest.fixture(scope="module")
def cfr_video(media):
    return write_cfr_video(media / "cfr.mkv", 100, 10.0)  # 10 s


def run(monkeypatch, capsys, *args):
    monkeypatch.setattr("sys.argv", ["videofocus", *map(str, args)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def test_json_prints_exactly_the_promised_keys_with_true_times(monkeypatch, capsys, vfr_video):
    code, out, _ = run(monkeypatch, capsys, "frames", vfr_video, "--num-frames", "16", "--json")
    assert code == 0
    result = json.loads(out)
    assert list(result) == ["duration", "fps", "width", "height", "timestamps"]
    assert (result["width"], result["height"]) == (64, 48)
    np.testing.assert_allclose(result["timestamps"], np.array(VFR_TIMES) - 2.0, atol=1e-9)


def test_fps_and_focus_choose_the_frames(monkeypatch, capsys, cfr_video):
    _, out, _ = run(monkeypatch, capsys, "frames", cfr_video, "--fps", "1", "--json")
    assert len(json.loads(out)["timestamps"]) == 10
    _, out, _ = run(monkeypatch, capsys, "frames", cfr_video, "-n", "8", "--focus", "6-8",
                    "--key-ratio", "0.75", "--json")
    times = np.array(json.loads(out)["timestamps"])
    assert len(times) == 8 and np.sum((times >= 6.0) & (times <= 8.0)) == 6


def test_table_lists_frames_and_marks_the_focus(monkeypatch, capsys, cfr_video):
    code, out, _ = run(monkeypatch, capsys, "frames", cfr_video, "-n", "4", "--focus", "4.5-5.5")
    assert code == 0
    assert "10.00s, 100 frames at 10.000 fps, 64x48" in out
    rows = [line for line in out.splitlines() if line.count("│") >= 4]
    assert len(rows) == 4
    assert sum("yes" in row for row in rows) == 2
    # the loop's round 2 keeps a whole round-1 pair outside the clue (frames 66 and 99 of 0, 33, 66, 99)
    assert any("6.600" in row for row in rows) and any("9.900" in row for row in rows)


def test_sheet_writes_a_png_of_the_sampled_frames(monkeypatch, capsys, media, cfr_video):
    sheet = media / "sheet.png"
    code, out, _ = run(monkeypatch, capsys, "frames", cfr_video, "-n", "6", "--sheet", sheet)
    assert code == 0 and "wrote contact sheet" in out
    assert Image.open(sheet).size == (3 * (256 + 4) + 4, 2 * (192 + 4) + 4)  # 3 x 2 thumbnails of 256 x 192


def test_help_explains_the_options(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "frames", "--help")
    assert code == 0
    for option in ("--num-frames", "--fps", "--focus", "--key-ratio", "--json", "--sheet", "PTS"):
        assert option in out


@pytest.mark.parametrize("make_args, message", [
    (lambda media: [media / "missing.mp4"], "no such file"),
    (lambda media: [write_audio_only(media / "sound.m4a")], "no video stream"),
    (lambda media: [write_cfr_video(media / "short.mp4", 10, 10.0), "--focus", "30-40"], "outside the video"),
    (lambda media: [write_cfr_video(media / "short.mp4", 10, 10.0), "-n", "0"], "at least 1"),
])
def test_bad_input_exits_non_zero_with_one_line(monkeypatch, capsys, media, make_args, message):
    # A wide terminal: rich wraps at 80 columns when piped, and tmp paths are long (cli/app.py
    # prints the error without soft_wrap).
    monkeypatch.setattr(err_console, "width", 400)
    args = make_args(media)
    code, out, err = run(monkeypatch, capsys, "frames", *args)
    assert code == 1 and out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0] and str(args[0]) in lines[0]
    assert "Traceback" not in err


def test_malformed_focus_is_a_usage_error(monkeypatch, capsys, cfr_video):
    code, _, err = run(monkeypatch, capsys, "frames", cfr_video, "--focus", "twelve")
    assert code == 2 and "START-END" in err and "Traceback" not in err


@pytest.mark.parametrize("make_sheet_arg, message", [
    (lambda media: f"{media / 'sheet_folder'}/", "is a folder"),
    (lambda media: str(media), "is a folder"),
    (lambda media: str(media / "vfr.mp4" / "sheets" / "sheet.png"), "cannot write the contact sheet (Not a directory"),
])
def test_a_sheet_path_that_cannot_be_a_png_file_is_one_line(monkeypatch, capsys, media, vfr_video,
                                                            make_sheet_arg, message):
    monkeypatch.setattr(err_console, "width", 400)
    sheet = make_sheet_arg(media)
    code, _, err = run(monkeypatch, capsys, "frames", vfr_video, "-n", "2", "--sheet", sheet)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and "Traceback" not in err
    assert message in lines[0] and sheet in lines[0]
    assert not (media / "sheet_folder").exists()  # no file named after the folder


@pytest.fixture(scope="module")
def hd_video(media):
    """400 frames of 1280x720: enough frames that qwen-vl-utils' default total pixel budget would
    shrink them, which the pipeline applies only when given one (--video-total-pixels)."""
    frames = np.broadcast_to(index_frame(5, 720, 1280), (400, 720, 1280, 3))
    return write_timed_video(media / "hd.mp4", [i / 30 for i in range(400)], frames=frames)


def _size_the_model_gets(model_path, video, num_frames=2, **pixel_limits) -> str:
    """WxH of the frames of a `num_frames` clip encode_prompts hands the model, read from its video grid."""
    processor = AutoProcessor.from_pretrained(model_path)
    clip = read_frames(probe(video), list(range(num_frames)))
    batch = encode_prompts(processor, [Prompt("When?", video=clip)], **pixel_limits)
    _, grid_h, grid_w = batch.video_grid_thw[0].tolist()
    patch = processor.video_processor.patch_size
    return f"{grid_w * patch}x{grid_h * patch}"


def _printed_size(out: str, num_frames: int = 400) -> str:
    return re.search(rf"^{num_frames} frames; the model sees each at (\d+x\d+) ", out, re.MULTILINE)[1]


@pytest.mark.parametrize("model, frames_args", [
    ("tiny_qwen25_vl_path", []),
    ("tiny_qwen3_vl_path", ["--patch-factor", "32"]),
])
def test_table_states_the_frame_size_the_pipeline_gives_the_model(monkeypatch, capsys, hd_video, request,
                                                                  model, frames_args):
    eval_defaults = GenerationSettings()
    expected = _size_the_model_gets(request.getfixturevalue(model), hd_video,
                                    video_min_pixels=eval_defaults.video_min_pixels,
                                    video_max_pixels=eval_defaults.video_max_pixels)
    code, out, _ = run(monkeypatch, capsys, "frames", hd_video, "-n", "400", *frames_args)
    assert code == 0 and _printed_size(out) == expected


def test_pixel_limit_options_change_the_stated_size_as_they_change_the_model_input(
        monkeypatch, capsys, hd_video, tiny_qwen25_vl_path):
    limits = dict(video_min_pixels=32 * 28 * 28, video_max_pixels=64 * 28 * 28)
    expected = _size_the_model_gets(tiny_qwen25_vl_path, hd_video, **limits)
    assert expected != _size_the_model_gets(tiny_qwen25_vl_path, hd_video)
    code, out, _ = run(monkeypatch, capsys, "frames", hd_video, "-n", "400",
                       "--video-min-pixels", limits["video_min_pixels"],
                       "--video-max-pixels", limits["video_max_pixels"])
    assert code == 0 and _printed_size(out) == expected


@pytest.mark.parametrize("model, frames_args", [
    ("tiny_qwen25_vl_path", []),
    ("tiny_qwen3_vl_path", ["--patch-factor", "32"]),
])
def test_a_total_pixel_budget_changes_the_stated_size_as_it_changes_the_model_input(
        monkeypatch, capsys, hd_video, request, model, frames_args):
    # 7 frames are padded to 8 before they share the total, which then binds (1280x720 frames).
    path, total = request.getfixturevalue(model), 1_000_000
    expected = _size_the_model_gets(path, hd_video, num_frames=7, video_total_pixels=total)
    assert expected != _size_the_model_gets(path, hd_video, num_frames=7)
    code, out, _ = run(monkeypatch, capsys, "frames", hd_video, "-n", "7", "--video-total-pixels", total,
                       *frames_args)
    assert code == 0 and _printed_size(out, 7) == expected
