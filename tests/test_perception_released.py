"""The released VideoChat-R1.5 loop (`--protocol videochat_r1_5`): a clue asked for in every round
but the last, a missing clue keeping the previous one, the released key-frame rule; and
`videofocus frames --focus` showing exactly the loop's round 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from perception_helpers import synthetic_info, video_sample, write_ramp_video

from videofocus.backends import ScriptedBackend
from videofocus.cli import main
from videofocus.media.sampling import released_key_frames, uniform_indices
from videofocus.media.video import probe
from videofocus.perception import PerceptionOptions, perceive
from videofocus.tasks import get_task

BUDGET = 16
CLUE = (12.0, 16.0)


@pytest.fixture(scope="module")
def ramp_video(tmp_path_factory):
    """20 s at 10 fps (200 frames)."""
    return write_ramp_video(tmp_path_factory.mktemp("video") / "ramp.mp4")


def released_answer(letter: str, clue: tuple[float, float] | None = None) -> str:
    glue = f"<glue>[({clue[0]}, {clue[1]})]</glue>" if clue else ""
    return f"<think>I look.</think><answer>{letter}</answer>{glue}"


def test_released_loop_asks_for_a_clue_until_the_last_round_and_keeps_a_missing_one(ramp_video):
    sample = video_sample(ramp_video, task="mcq")
    backend = ScriptedBackend([released_answer("A", CLUE), released_answer("B"), released_answer("B")])
    result = perceive(sample, backend, PerceptionOptions(num_frames=BUDGET, protocol="videochat_r1_5"))
    task = get_task("mcq")
    asking = task.build_prompt(sample, protocol="videochat_r1_5", last_round=False)
    final = task.build_prompt(sample, protocol="videochat_r1_5", last_round=True)
    assert [prompt.text for prompt in backend.prompts] == [asking, asking, final]
    assert "<glue>" in asking and "<glue>" not in final
    assert all(prompt.media_first for prompt in backend.prompts)
    info = probe(ramp_video)
    focused = tuple(int(i) for i in released_key_frames(info, BUDGET, [CLUE]))
    assert result.rounds[0].view.frame_indices == tuple(int(i) for i in uniform_indices(info, BUDGET))
    # round 2 answered without a clue: round 3 keeps round 1's, sampled by the released rule
    assert result.rounds[1].view.frame_indices == result.rounds[2].view.frame_indices == focused
    assert result.rounds[2].view.focus == (CLUE,) and result.rounds[2].fallback is None


def test_an_unreadable_clue_resets_the_kept_one_as_the_release_does(ramp_video):
    backend = ScriptedBackend([released_answer("A", CLUE), "<answer>B</answer><glue>[(twelve, 16)]</glue>",
                               released_answer("B")])
    result = perceive(video_sample(ramp_video, task="mcq"), backend,
                      PerceptionOptions(num_frames=BUDGET, protocol="videochat_r1_5"))
    assert result.rounds[1].view.focus == (CLUE,)
    assert result.rounds[2].view.frame_indices == result.rounds[0].view.frame_indices
    assert result.rounds[2].view.focus is None


def test_without_keep_last_clue_a_round_without_clue_falls_back_to_uniform(ramp_video):
    backend = ScriptedBackend([released_answer("A", CLUE), released_answer("B"), released_answer("B")])
    result = perceive(video_sample(ramp_video, task="mcq"), backend,
                      PerceptionOptions(num_frames=BUDGET, protocol="videochat_r1_5", keep_last_clue=False))
    assert result.rounds[2].view.frame_indices == result.rounds[0].view.frame_indices
    assert "no readable time interval" in result.rounds[2].fallback


def test_released_key_frames_weigh_the_clue_one_and_a_half_times():
    info = synthetic_info(num_frames=200, fps=10.0)
    indices = released_key_frames(info, 40, [(5.0, 10.0)])
    inside = (indices >= 50) & (indices <= 100)  # int(5.0 * 10) .. int(10.0 * 10)
    density_ratio = (inside.sum() / 51) / ((~inside).sum() / (199 - 51))
    assert len(indices) == 40 and 1.3 < density_ratio < 1.7
    assert indices.max() < 199  # the release shares the first num_frames - 1 frames only


def test_released_key_frames_drop_duplicates_and_show_fewer_frames():
    info = synthetic_info(num_frames=20, fps=10.0)
    indices = released_key_frames(info, 20, [(0.5, 0.8)])  # 4 clue frames get 6 of the 20
    assert len(indices) < 20 and np.all(np.diff(indices) > 0)
    assert set(range(5, 9)) <= set(indices.tolist())


def frames_cli(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.argv", ["videofocus", "frames", *map(str, args)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


@pytest.mark.parametrize("protocol, frames_args", [
    ("videofocus", ["-n", str(BUDGET)]),
    ("videofocus", ["--fps", "1", "--min-frames", "4", "--max-frames", "64"]),
    ("videochat_r1_5", ["-n", str(BUDGET), "--sampling", "released"]),
])
def test_frames_focus_shows_exactly_the_loops_round_two(monkeypatch, capsys, ramp_video, protocol, frames_args):
    by_fps = "--fps" in frames_args
    options = PerceptionOptions(num_frames=None if by_fps else BUDGET, fps=1.0, min_frames=4, max_frames=64,
                                protocol=protocol)
    backend = ScriptedBackend([released_answer("A", CLUE)] * 2 if protocol != "videofocus" else
                              [f"<think>x</think><clue>[{CLUE}]</clue><answer>A</answer>"] * 2)
    result = perceive(video_sample(ramp_video, task="grounded_qa"), backend, options)
    code, out, _ = frames_cli(monkeypatch, capsys, ramp_video, *frames_args, "--focus", "12-16", "--json")
    assert code == 0 and result.rounds[1].view.focus == (CLUE,)
    np.testing.assert_allclose(json.loads(out)["timestamps"], result.rounds[1].view.timestamps)


def test_frames_focus_says_when_the_request_cannot_be_met(monkeypatch, capsys, ramp_video):
    code, _, err = frames_cli(monkeypatch, capsys, ramp_video, "-n", "8", "--focus", "12-12.2", "--key-ratio", "0.75")
    assert code == 0 and "asks for 6 frames inside the clue; it is shown by" in " ".join(err.split())
    code, _, err = frames_cli(monkeypatch, capsys, ramp_video, "--focus", "30-40")
    assert code == 1 and "cannot focus" in err and "round-1 frames again" in " ".join(err.split())


def test_a_segment_sample_is_shown_only_its_segment(ramp_video):
    """MVBench's bounded tasks: the loop sees [start, end) only, its times counted from start."""
    sample = video_sample(ramp_video, task="mcq")
    sample = sample.model_copy(update={"media": sample.media.model_copy(update={"start": 5.0, "end": 9.0})})
    backend = ScriptedBackend([released_answer("A", (1.0, 2.0))] * 2)
    result = perceive(sample, backend, PerceptionOptions(num_frames=8, rounds=2))
    first = backend.prompts[0].video
    assert first.info.duration == pytest.approx(4.0) and first.info.num_frames == 40
    assert min(first.timestamps) >= 0.0 and max(first.timestamps) < 4.0
    levels = first.frames[:, 0, 0, 0].astype(int)
    np.testing.assert_allclose(levels, 10 + 50 + first.indices, atol=2)  # frame i of the segment is frame 50 + i
    assert result.rounds[1].view.focus == ((1.0, 2.0),)  # a clue in segment time


def test_trim_refuses_a_segment_without_frames(ramp_video):
    from videofocus.errors import MediaError
    from videofocus.media.video import trim

    with pytest.raises(MediaError, match="no frame in the segment"):
        trim(probe(ramp_video), 25.0, 30.0)


def test_a_segment_needs_both_ends_in_order():
    from videofocus.errors import DataError
    from videofocus.schema import parse_sample

    base = {"id": "s", "task": "mcq", "question": "q", "options": ["a", "b"], "answer": "A"}
    for media, field in (({"start": 1.0}, "start"), ({"start": 3.0, "end": 2.0}, "end")):
        with pytest.raises(DataError, match=field):
            parse_sample({**base, "media": {"type": "video", "path": "v.mp4", **media}})


def test_itp_training_asks_every_round_with_the_training_prompt(ramp_video):
    """ITP training rewards the training prompt's format, so its rounds are asked with that prompt."""
    from videofocus.train.config import GRPOConfig
    from videofocus.train.itp import perception_options

    sample = video_sample(ramp_video, task="mcq")
    config = GRPOConfig(model="m", output_dir="o", datasets=[{"path": "d.jsonl"}], protocol="videochat_r1_5",
                        rollout_rounds=3, num_generations=2, per_device_batch_size=6)
    backend = ScriptedBackend([released_answer("A", CLUE)] * 3)
    perceive(sample, backend, perception_options(config))
    training = get_task("mcq").build_prompt(sample, protocol="videochat_r1_5", stage="train")
    # round 3 repeats round 2's input exactly, so the deterministic backend is not asked again
    assert [prompt.text for prompt in backend.prompts] == [training] * 2
