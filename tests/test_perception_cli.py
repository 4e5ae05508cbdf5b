"""`videofocus infer` on a tiny model: every round in the JSON with its timestamps, plots, errors."""

from __future__ import annotations

import json

import pytest
from perception_helpers import one_torch_thread, write_image, write_noise_video  # noqa: F401 (fixture)
from PIL import Image
from typer.testing import CliRunner

from videofocus.backends import ScriptedBackend
from videofocus.backends import hf
from videofocus.cli import app
from videofocus.errors import ConfigError, VideoFocusError
from videofocus.media.video import probe

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SMALL = ["--min-pixels", str(16 * 28 * 28), "--max-pixels", str(24 * 28 * 28), "--max-new-tokens", "6"]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_noise_video(tmp_path_factory.mktemp("cli") / "clip.mp4", seconds=4.0, fps=4)


def invoke(*args: str):
    return CliRunner().invoke(app, ["infer", *args, *SMALL])


@pytest.mark.parametrize("arch_fixture", ["tiny_qwen25_vl_path", "tiny_qwen3_vl_path"])
def test_json_has_every_round_with_true_timestamps(arch_fixture, request, video, tmp_path):
    model = request.getfixturevalue(arch_fixture)
    plot = tmp_path / "timeline.png"
    result = invoke("--model", str(model), "--video", str(video), "--question", "a dog runs", "--rounds", "3",
                    "--num-frames", "8", "--json", "--plot", str(plot))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    info = probe(video)
    assert data["task"] == "temporal_grounding" and len(data["rounds"]) == 3
    for number, round_ in enumerate(data["rounds"], start=1):
        view = round_["view"]
        assert round_["round"] == number and len(view["timestamps"]) == 8
        assert view["timestamps"] == [float(info.frame_times[i]) for i in view["frame_indices"]]
        assert isinstance(round_["output"], str) and "seconds" in round_["cost"]
    assert data["rounds"][0]["cost"]["visual_tokens"] > 0
    assert Image.open(plot).format == "PNG"


def test_table_for_an_image_with_options(tiny_qwen25_vl_path, tmp_path):
    image = write_image(tmp_path / "photo.png", width=160, height=120)
    plot = tmp_path / "boxes.png"
    result = invoke("--model", str(tiny_qwen25_vl_path), "--image", str(image), "--question", "Which colour?",
                    "--options", "A. red", "--options", "B. blue", "--rounds", "2", "--plot", str(plot))
    assert result.exit_code == 0, result.output
    assert "mcq" in result.stdout and "full image" in result.stdout
    assert Image.open(plot).size[0] > 0


@pytest.mark.parametrize("args, error, message", [
    (["--question", "q"], ConfigError, "exactly one of --video and --image"),
    (["--question", "q", "--video", "missing.mp4"], VideoFocusError, "missing.mp4"),
])
def test_bad_arguments_are_one_line_errors(args, error, message, tmp_path):
    result = CliRunner().invoke(app, ["infer", "--model", str(tmp_path), *args])
    assert isinstance(result.exception, error) and message in str(result.exception)


def test_an_unknown_task_is_a_config_error(tiny_qwen25_vl_path, video):
    result = invoke("--model", str(tiny_qwen25_vl_path), "--video", str(video), "--question", "q",
                    "--task", "juggling")
    assert isinstance(result.exception, ConfigError) and "juggling" in str(result.exception)


def test_options_may_follow_one_flag_as_users_type_them(tmp_path, monkeypatch):
    backend = ScriptedBackend(["<answer>D</answer>"])
    monkeypatch.setattr(hf.HFBackend, "from_pretrained", classmethod(lambda cls, *args, **kwargs: backend))
    image = write_image(tmp_path / "photo.png", width=160, height=120)
    result = CliRunner().invoke(app, ["infer", "--model", "unused", "--image", str(image), "--question", "Which?",
                                      "--options", "A. red", "B. blue", "--option", "(C) green", "D. grey",
                                      "--rounds", "1", "--json"])
    assert result.exit_code == 0, result.output
    prompt = backend.prompts[0].text
    assert all(f"{letter}. {text}" in prompt for letter, text in zip("ABCD", ["red", "blue", "green", "grey"]))
    assert json.loads(result.stdout)["rounds"][0]["option"] == "D"  # a fourth option exists


def test_a_stray_word_outside_the_options_is_still_an_error(tmp_path):
    result = CliRunner().invoke(app, ["infer", "--model", "unused", "--image", "photo.png", "--question", "a", "dog",
                                      "--options", "A. red"])
    assert result.exit_code != 0 and "unexpected extra argument" in result.output


def test_help_shows_examples():
    result = CliRunner().invoke(app, ["infer", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output and '--options "A. red" "B. blue"' in result.output


@pytest.mark.parametrize("budget_args, total", [([], None), (["--total-pixels", "90000"], 90000)])
def test_total_pixels_reaches_the_backend(monkeypatch, video, budget_args, total):
    options = {}

    def from_pretrained(cls, model, **kwargs):
        options.update(kwargs)
        return ScriptedBackend(["<answer>A</answer>"])

    monkeypatch.setattr(hf.HFBackend, "from_pretrained", classmethod(from_pretrained))
    result = invoke("--model", "unused", "--video", str(video), "--question", "q", "--rounds", "1", *budget_args)
    assert result.exit_code == 0, result.output
    assert options["video_total_pixels"] == total


def test_plot_title_shows_the_cut_question_and_each_rounds_answer(video, tmp_path, monkeypatch):
    import videofocus.plots

    backend = ScriptedBackend(["<clue>[(0.5, 1.5)]</clue><answer>B</answer>",
                               "<clue>[(1.0, 9.0)]</clue><answer>C</answer>"])
    monkeypatch.setattr(hf.HFBackend, "from_pretrained", classmethod(lambda cls, *args, **kwargs: backend))
    drawn = {}
    monkeypatch.setattr(videofocus.plots, "plot_timeline",
                        lambda rows, duration, path, **kw: drawn.update(kw, duration=duration))
    question = "Which colour does the small square show just before the large circle stops moving left?"
    result = CliRunner().invoke(app, ["infer", "--model", "unused", "--video", str(video), "--question", question,
                                      "--options", "A. red", "B. blue", "C. green", "--rounds", "2",
                                      "--num-frames", "4", "--plot", str(tmp_path / "t.png")])
    assert result.exit_code == 0, result.output
    assert drawn["title"] == f'"{question[:59]}…" rounds B → C'
    assert drawn["duration"] == pytest.approx(probe(video).duration)


def test_a_refused_question_reads_without_pydantic_prefixes(tmp_path):
    image = write_image(tmp_path / "photo.png", width=160, height=120)
    result = CliRunner().invoke(app, ["infer", "--model", "unused", "--image", str(image), "--question", "Which?",
                                      "--options", "A. red"])
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception) == "cannot ask this: options must list 2..26 texts, got 1"
