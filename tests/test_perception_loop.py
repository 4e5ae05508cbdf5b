"""The round logic of iterative perception, driven by a scripted backend (chosen completions)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from perception_helpers import completion, image_sample, video_sample, write_image, write_ramp_video

from videofocus.backends import BoxConvention, Generation, ScriptedBackend
from videofocus.media import video as media_video
from videofocus.media.image import smart_resize
from videofocus.perception import PerceptionOptions, PerceptionResult, perceive, perceive_batch
from videofocus.perception import views
from videofocus.schema import Sample
from videofocus.tasks import get_task

BUDGET = 16


@pytest.fixture(scope="module")
def ramp_video(tmp_path_factory):
    """20 s at 10 fps (200 frames)."""
    return write_ramp_video(tmp_path_factory.mktemp("video") / "ramp.mp4")


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    return write_image(tmp_path_factory.mktemp("image") / "photo.png")


def options(**overrides) -> PerceptionOptions:
    return PerceptionOptions(num_frames=BUDGET, **overrides)


def test_round_one_is_uniform_and_round_two_is_dense_inside_the_clue(ramp_video):
    backend = ScriptedBackend([completion(interval=(12.0, 16.0)), completion(interval=(12.0, 16.0)),
                               completion(interval=(12.0, 16.0))])
    result = perceive(video_sample(ramp_video), backend, options())
    first, second = result.rounds[0].view, result.rounds[1].view
    gaps = np.diff(first.timestamps)
    assert len(first.timestamps) == BUDGET and gaps.max() - gaps.min() < 0.15  # uniform
    assert first.focus is None and second.focus == ((12.0, 16.0),)
    assert backend.drafts == [None, result.rounds[0].output]  # round 2 drafts from round 1 (round 3 repeats round 2)
    times = np.array(second.timestamps)
    assert len(times) == BUDGET and np.all(np.diff(times) >= 0)
    inside = (times >= 12.0) & (times <= 16.0)
    assert inside.sum() >= BUDGET * 0.4
    density_inside = inside.sum() / 4.0
    density_outside = (~inside).sum() / 16.0
    assert density_inside > 2 * density_outside
    # the prompt's clip carries the true timestamps of the frames it holds
    clip = backend.prompts[1].video
    np.testing.assert_allclose(clip.timestamps, times)
    np.testing.assert_allclose(clip.timestamps, clip.info.frame_times[clip.indices])


def test_a_tracking_sample_is_shown_the_frames_of_its_track_whatever_the_budget(ramp_video):
    track_times = [0.0, 2.5, 5.0, 7.5, 10.0, 12.5, 15.0, 17.5]
    sample = Sample(id="t1", task="tracking", question="the ball",
                    media={"type": "video", "path": str(ramp_video), "width": 64, "height": 48},
                    clue={"track": [{"t": t, "box": [1, 1, 9, 9]} for t in track_times]})
    reply = "<think>It moves right.</think><clue>" + str([[0.1, 0.1, 0.2, 0.2]] * 8) + "</clue>"
    for budget in (None, BUDGET):   # 2 fps (40 frames) or 16 uniform frames: neither is the track's
        backend = ScriptedBackend([reply] * 3)
        result = perceive(sample, backend, PerceptionOptions(num_frames=budget))
        for round_ in result.rounds:   # a tracking answer gives no interval: every round repeats the view
            np.testing.assert_allclose(round_.view.timestamps, track_times)
        assert len(backend.prompts) == 1 and "8 frames" in backend.prompts[0].text


def test_focused_round_keeps_previous_pairs_whole(ramp_video):
    backend = ScriptedBackend([completion(interval=(12.0, 16.0))] * 3)
    result = perceive(video_sample(ramp_video), backend, options())
    first, second = result.rounds[0].view.frame_indices, result.rounds[1].view.frame_indices
    old_pairs = {first[i]: first[i + 1] for i in range(0, len(first), 2)}
    new_pairs = [(second[i], second[i + 1]) for i in range(0, len(second), 2)]
    reused = [pair for pair in new_pairs if old_pairs.get(pair[0]) == pair[1]]
    assert len(reused) >= 2  # round-1 pairs outside the clue come back unchanged, aligned on pairs
    for a, b in reused:
        assert b / 10.0 < 12.0 or a / 10.0 > 16.0


def test_frames_are_decoded_once_per_video(ramp_video, monkeypatch):
    requested: list[int] = []
    real_read = views.read_frames

    def recording_read(info, indices, **kwargs):
        requested.extend(int(index) for index in indices)
        return real_read(info, indices, **kwargs)

    monkeypatch.setattr(views, "read_frames", recording_read)
    backend = ScriptedBackend([completion(interval=(12.0, 16.0)), completion(interval=(4.0, 6.0)),
                               completion(interval=(4.0, 6.0))])
    result = perceive(video_sample(ramp_video), backend, options())
    assert len(requested) == len(set(requested))
    seen = set()
    for round_ in result.rounds:
        new = set(round_.view.frame_indices) - seen
        assert round_.cost.decoded_frames == len(new)
        seen |= set(round_.view.frame_indices)
    # and the pixels are the frames asked for (frame i is grey level 10 + i)
    clip = backend.prompts[1].video
    np.testing.assert_allclose(clip.frames.reshape(len(clip.indices), -1).mean(1), 10 + clip.indices, atol=3)


@pytest.mark.parametrize("reply, reason", [
    ("<think>hmm</think><answer>A</answer>", "no readable time interval"),
    (completion(interval=(50.0, 60.0)), "outside the video"),
    (completion(interval=(5.0, 5.0)), "'s interval has zero length; round 1's frames"),
    ("<clue>[(5.0, 5.0), (50.0, 60.0)]</clue><answer>B</answer>", "has zero length or lies outside the video"),
    ("<clue>[(nan, 3)]</clue><answer>B</answer>", "no readable time interval"),
])
def test_a_bad_clue_falls_back_to_round_ones_frames(ramp_video, reply, reason):
    backend = ScriptedBackend([reply] * 3, deterministic=False)
    result = perceive(video_sample(ramp_video), backend, options())
    assert len(result.rounds) == 3 and len(backend.prompts) == 3
    for round_ in result.rounds[1:]:
        assert round_.view.frame_indices == result.rounds[0].view.frame_indices
        assert round_.view.focus is None
        assert reason in round_.fallback
    assert result.rounds[0].fallback is None


def test_repeated_input_reuses_the_output_under_greedy_decoding(ramp_video):
    backend = ScriptedBackend(["<answer>B</answer>"])  # one reply: a second model call would fail
    result = perceive(video_sample(ramp_video), backend, options())
    assert [round_.cost.reused for round_ in result.rounds] == [False, True, True]
    assert [round_.option for round_ in result.rounds] == ["B", "B", "B"]
    assert result.rounds[2].cost.visual_tokens == 0 and result.rounds[2].cost.decoded_frames == 0


def test_early_stop_when_clue_and_answer_stop_changing(ramp_video):
    replies = [completion(interval=(12.0, 16.0), answer="A"), completion(interval=(12.2, 16.0), answer="A")]
    result = perceive(video_sample(ramp_video), ScriptedBackend(replies), options(early_stop=True))
    assert len(result.rounds) == 2 and result.stop_reason == "converged"


@pytest.mark.parametrize("second", [completion(interval=(12.0, 16.0), answer="B"),
                                    completion(interval=(2.0, 5.0), answer="A")])
def test_no_early_stop_while_clue_or_answer_changes(ramp_video, second):
    replies = [completion(interval=(12.0, 16.0), answer="A"), second, second]
    result = perceive(video_sample(ramp_video), ScriptedBackend(replies), options(early_stop=True))
    assert len(result.rounds) == 3 and result.stop_reason == "rounds"


def test_without_early_stop_all_rounds_run(ramp_video):
    replies = [completion(interval=(12.0, 16.0))] * 3
    result = perceive(video_sample(ramp_video), ScriptedBackend(replies), options(rounds=3))
    assert len(result.rounds) == 3 and result.stop_reason == "rounds"


def test_prompts_come_from_the_task_and_history_is_carried_only_when_asked(ramp_video):
    sample = video_sample(ramp_video)
    replies = [completion(interval=(12.0, 16.0), think="the red ball rolls")] * 2
    plain = ScriptedBackend(replies)
    perceive(sample, plain, options(rounds=2, protocol="videochat_r1"))
    expected = get_task("grounded_qa").build_prompt(sample, protocol="videochat_r1")
    assert [prompt.text for prompt in plain.prompts] == [expected, expected]
    carried = ScriptedBackend(replies)
    perceive(sample, carried, options(rounds=2, carry_history=True))
    assert "the red ball rolls" not in carried.prompts[0].text
    assert "the red ball rolls" in carried.prompts[1].text and "12.00" in carried.prompts[1].text


def test_image_rounds_add_crops_of_the_box_mapped_from_resized_pixels(photo):
    max_pixels = 256 * 28 * 28
    height, width = smart_resize(600, 1000, factor=28, max_pixels=max_pixels)
    scale_x, scale_y = 1000 / width, 600 / height
    model_box = [100, 50, 300, 150]  # in the resized image the model saw
    backend = ScriptedBackend([completion(box=model_box)] * 3, box_convention=BoxConvention.RESIZED_PIXELS,
                              image_max_pixels=max_pixels)
    result = perceive(image_sample(photo), backend, PerceptionOptions(rounds=2, crop_margin=0.0))
    expected = [100 * scale_x, 50 * scale_y, 300 * scale_x, 150 * scale_y]
    np.testing.assert_allclose(result.rounds[0].boxes[0], expected, rtol=1e-6)
    assert len(backend.prompts[0].images) == 1 and len(backend.prompts[1].images) == 2
    crop = result.rounds[1].view.crops[0]
    np.testing.assert_allclose(crop, expected, atol=1.0)
    assert backend.prompts[1].images[1].size == pytest.approx((crop[2] - crop[0], crop[3] - crop[1]), abs=1.0)


def test_boxes_in_normalised_coordinates_are_mapped_to_pixels(photo):
    backend = ScriptedBackend([completion(box=[100, 200, 500, 600])], box_convention=BoxConvention.NORMALIZED_1000)
    result = perceive(image_sample(photo), backend, PerceptionOptions(rounds=1))
    assert result.final.boxes == [[100.0, 120.0, 500.0, 360.0]]


@pytest.mark.parametrize("reply, reason", [("<answer>a car</answer>", "no readable box"),
                                           (completion(box=[2000, 900, 2500, 1200]), "outside the image"),
                                           (completion(box=[100, 50, 100, 300]), "'s box has zero area; full")])
def test_a_bad_box_falls_back_to_the_full_image(photo, reply, reason):
    backend = ScriptedBackend([reply] * 2, deterministic=False)
    result = perceive(image_sample(photo), backend, PerceptionOptions(rounds=2))
    assert len(backend.prompts[1].images) == 1
    assert result.rounds[1].view.crops == () and reason in result.rounds[1].fallback


def test_result_survives_json(ramp_video, photo):
    video_result = perceive(video_sample(ramp_video), ScriptedBackend([completion(interval=(1.0, 3.0))] * 3),
                            options())
    image_result = perceive(image_sample(photo), ScriptedBackend([completion(box=[10, 10, 90, 90])] * 3),
                            PerceptionOptions(rounds=2))
    for result in (video_result, image_result):
        text = json.dumps(result.to_dict())
        assert PerceptionResult.from_dict(json.loads(text)) == result
    assert video_result.prediction() == {"id": "v1", "answer": "A", "intervals": [[1.0, 3.0]], "boxes": None,
                                         "track": None}


def test_batch_asks_once_per_round_for_the_samples_still_running(ramp_video):
    stable = completion(interval=(12.0, 16.0), answer="A")
    replies = {"steady": [stable, stable], "moving": [completion(interval=(1.0, 3.0), answer="A"),
                                                    completion(interval=(8.0, 9.0), answer="B"),
                                                    completion(interval=(8.0, 9.0), answer="C")]}
    counters = {"steady": 0, "moving": 0}

    def scripted(prompt):
        name = "steady" if "steady" in prompt.text else "moving"
        counters[name] += 1
        return replies[name][counters[name] - 1]

    steady = video_sample(ramp_video, sample_id="s").model_copy(update={"question": "steady"})
    moving = video_sample(ramp_video, sample_id="m").model_copy(update={"question": "moving"})
    backend = ScriptedBackend(scripted)
    results = perceive_batch([steady, moving], backend, options(early_stop=True))
    assert [len(call) for call in backend.calls] == [2, 2, 1]
    assert [len(result.rounds) for result in results] == [2, 3]
    assert results[0].stop_reason == "converged" and results[1].final.option == "C"


def test_on_round_reports_each_round_as_it_finishes(ramp_video):
    reported = []
    backend = ScriptedBackend(lambda prompt: completion(interval=(2.0, 4.0) if "first" in prompt.text else (6.0, 7.0),
                                                        answer="A"))
    first = video_sample(ramp_video, sample_id="a").model_copy(update={"question": "first"})
    second = video_sample(ramp_video, sample_id="b").model_copy(update={"question": "second"})

    def on_round(index, round_):
        reported.append((index, round_.round, len(backend.calls)))

    results = perceive_batch([first, second], backend, options(rounds=3), on_round=on_round)
    # Rounds 1 and 2 after their backend calls; round 3 repeats round 2's input and is reused.
    assert reported == [(0, 1, 1), (1, 1, 1), (0, 2, 2), (1, 2, 2), (0, 3, 2), (1, 3, 2)]
    assert [[round_.round for round_ in result.rounds] for result in results] == [[1, 2, 3], [1, 2, 3]]


def test_unreadable_media_raises_a_media_error(tmp_path):
    from videofocus.errors import MediaError

    with pytest.raises(MediaError, match="missing.mp4"):
        perceive(video_sample(tmp_path / "missing.mp4"), ScriptedBackend([]), options())


def test_probe_is_done_once_per_sample(ramp_video, monkeypatch):
    calls = []
    real_probe = media_video.probe
    monkeypatch.setattr(views, "probe", lambda path: calls.append(path) or real_probe(path))
    perceive(video_sample(ramp_video), ScriptedBackend([completion(interval=(1.0, 3.0))] * 3), options())
    assert len(calls) == 1


def test_backends_without_a_drafts_parameter_still_work(ramp_video):
    class Minimal:
        box_convention, deterministic = BoxConvention.ORIGINAL_PIXELS, True

        def __init__(self):
            self.calls = 0

        def generate(self, prompts):
            self.calls += 1
            return [Generation(text=completion(interval=(1.0 + self.calls, 3.0 + self.calls))) for _ in prompts]

    result = perceive(video_sample(ramp_video), Minimal(), options())
    assert [r.intervals for r in result.rounds] == [[(2.0, 4.0)], [(3.0, 5.0)], [(4.0, 6.0)]]
