"""Generated labels against the generated pixels: decode each mp4 / PNG and check that the ground
truth is what the pixels show (medium difficulty: look-alike distractors, ordinal and relational
queries; test split, so labels are exact)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from synth_helpers import (COLOURS, colour_at, decode_video, load_dataset, load_image, perfect_completion, runs,
                           scene_of, shape_from_pixels, visible_runs)
from videofocus.data.synth import KINDS, PALETTE, generate_dataset, uniform_frame_indices
from videofocus.data.synth.render import render
from videofocus.data.synth.scenes import ORDINALS
from videofocus.media.sampling import uniform_indices
from videofocus.media.video import probe
from videofocus.media.pairs import second_round_indices
from videofocus.rewards import compute_rewards

N_SAMPLES = 8 * len(KINDS)  # the kinds in turn: 8 of each


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth_medium")
    generate_dataset(out, N_SAMPLES, seed=7, tasks=list(KINDS), difficulty="medium", split="test")
    return out


@pytest.fixture(scope="module")
def items(dataset):
    return load_dataset(dataset)


@pytest.fixture(scope="module")
def decoded(dataset):
    """Decoded frames and times of a sample's video, cached."""
    by_path = cache(lambda path: decode_video(dataset / path))
    return lambda sample: by_path(sample.media.path)


def of_kind(items, kind):
    chosen = [(sample, record) for sample, record in items if record["kind"] == kind]
    assert chosen, f"no {kind} sample generated"
    return chosen


def target_boxes(record, num_frames):
    return scene_of(record).objects[record["facts"]["target"]].boxes(num_frames)


def test_samples_validate_and_match_their_scene_records(dataset, items):
    assert len(items) == N_SAMPLES
    assert [record["kind"] for _, record in items[:len(KINDS)]] == list(KINDS)
    for sample, record in items:
        assert sample.source == f"synth/{record['kind']}" and sample.meta["kind"] == record["kind"]
        assert sample.clue is None or sample.clue.model_dump(mode="json", exclude_none=True) == _json(record["clue"])


def _json(clue):
    """A clue record as pydantic dumps it (floats for numbers)."""
    if "track" in clue:
        return {"track": [{"t": float(p["t"]), "box": [float(v) for v in p["box"]]} for p in clue["track"]]}
    key = next(iter(clue))
    return {key: [[float(v) for v in item] for item in clue[key]]}


def test_videos_decode_to_the_rendered_scene_at_frame_times(dataset, items, decoded):
    for sample, record in items:
        if sample.media.type != "video":
            continue
        scene = scene_of(record)
        frames, times = decoded(sample)
        assert frames.shape == (scene.num_frames, sample.media.height, sample.media.width, 3)
        assert np.allclose(times, np.arange(scene.num_frames) / scene.fps)
        assert np.abs(frames.astype(int) - render(scene)).mean() < 4  # lossy, but the same picture


@pytest.mark.parametrize("kind", ["tg_single", "gqa_attribute"])
def test_single_event_clue_is_exactly_when_the_object_is_visible(items, decoded, kind):
    for sample, record in of_kind(items, kind):
        frames, times = decoded(sample)
        target = scene_of(record).objects[record["facts"]["target"]]
        shown = visible_runs(frames, times, sample.media.duration, target_boxes(record, len(frames)), {target.colour})
        assert shown == [tuple(sample.clue.intervals[0])]


def test_ordinal_clue_is_the_asked_appearance(items, decoded):
    for sample, record in of_kind(items, "tg_ordinal"):
        frames, times = decoded(sample)
        target = scene_of(record).objects[record["facts"]["target"]]
        shown = visible_runs(frames, times, sample.media.duration, target_boxes(record, len(frames)), {target.colour})
        which = next(k for k, word in enumerate(ORDINALS) if f"for the {word} time" in sample.question)
        assert len(shown) >= 2 and shown[which] == tuple(sample.clue.intervals[0])


def test_relational_clue_is_the_appearance_after_or_before_the_reference(items, decoded):
    for sample, record in of_kind(items, "tg_relational"):
        frames, times = decoded(sample)
        scene = scene_of(record)
        target, reference = (scene.objects[record["facts"][key]] for key in ("target", "reference"))
        boxes = {obj.description: obj.boxes(len(frames)) for obj in (target, reference)}
        shown = visible_runs(frames, times, sample.media.duration, boxes[target.description], {target.colour})
        [(ref_start, ref_end)] = visible_runs(frames, times, sample.media.duration, boxes[reference.description],
                                              {reference.colour})
        assert f"the {reference.description}" in sample.question
        if "after" in sample.question:
            expected = next(run for run in shown if run[0] >= ref_end)
        else:
            expected = [run for run in shown if run[1] <= ref_start][-1]
        assert tuple(sample.clue.intervals[0]) == expected


def test_tracking_boxes_are_the_target_in_the_sampled_frames(items, decoded):
    for sample, record in of_kind(items, "tracking"):
        frames, times = decoded(sample)
        scene = scene_of(record)
        target = scene.objects[record["facts"]["target"]]
        rendered = render(scene)
        track = sample.clue.track
        assert len(track) == 8 and track[0].t == 0.0 and track[-1].t == times[-1]
        assert [round(p.t * scene.fps) for p in track] == uniform_frame_indices(len(frames), 8).tolist()
        for point in track:
            index = int(np.flatnonzero(np.isclose(times, point.t))[0])
            x0, y0, x1, y1 = (int(v) for v in point.box)
            # Exact: the target (drawn on top) fills its box edge to edge in the rendered frame.
            mine = (rendered[index] == PALETTE[target.colour]).all(axis=2)
            assert mine[y0:y1, x0].any() and mine[y0:y1, x1 - 1].any()
            assert mine[y0, x0:x1].any() and mine[y1 - 1, x0:x1].any()
            # Decoded: the box's core shows the target's colour.
            assert colour_at(frames[index], point.box) == target.colour


def test_tracking_box_is_tight_around_the_decoded_pixels(tmp_path):
    generate_dataset(tmp_path, 6, seed=1, tasks=["tracking"], split="test", waypoints=3)
    for sample, record in load_dataset(tmp_path):
        frames, times = decode_video(tmp_path / sample.media.path)
        colour = np.array(COLOURS[scene_of(record).objects[0].colour])
        for point in sample.clue.track:
            frame = frames[int(np.flatnonzero(np.isclose(times, point.t))[0])].astype(float)
            near = ((frame - colour) ** 2).sum(axis=2) < ((frame - 128.0) ** 2).sum(axis=2)
            rows, cols = np.flatnonzero(near.any(axis=1)), np.flatnonzero(near.any(axis=0))
            found = np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1])
            assert np.abs(found - np.array(point.box)).max() <= 1  # chroma subsampling blurs edges by a pixel


def test_spatial_box_is_tight_around_the_target_pixels(dataset, items):
    for sample, record in of_kind(items, "spatial"):
        image = load_image(dataset / sample.media.path)
        scene = scene_of(record)
        target = scene.objects[record["facts"]["target"]]
        assert image.shape == (sample.media.height, sample.media.width, 3)
        x0, y0, x1, y1 = (int(v) for v in sample.clue.boxes[0])
        window = np.zeros(image.shape[:2], dtype=bool)
        window[max(y0 - 1, 0):y1 + 1, max(x0 - 1, 0):x1 + 1] = True  # other objects stay >= 1 px away
        mine = (image == PALETTE[target.colour]).all(axis=2) & window
        rows, cols = np.flatnonzero(mine.any(axis=1)), np.flatnonzero(mine.any(axis=0))
        assert [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1] == [x0, y0, x1, y1]
        assert sample.question == target.description
        assert sum(obj.description == target.description for obj in scene.objects) == 1


def test_brief_evidence_flash_is_missed_by_round_one_and_seen_in_round_two(dataset, items, decoded):
    for sample, record in of_kind(items, "brief_evidence"):
        frames, times = decoded(sample)
        anchor = scene_of(record).objects[record["facts"]["target"]]
        flash_colour = sample.options["ABCD".index(sample.answer)]
        seen = [colour_at(frame, anchor.boxes(1)[0]) for frame in frames]
        clue_start, clue_end = sample.clue.intervals[0]
        inside = np.flatnonzero((times >= clue_start) & (times < clue_end))
        # The anchor is on screen exactly during the clue, and flashes only briefly inside it.
        assert runs([name != "grey" for name in seen], times, sample.media.duration) == [(clue_start, clue_end)]
        flash = [i for i in inside if seen[i] == flash_colour]
        assert flash and set(seen[i] for i in inside) == {anchor.colour, flash_colour}
        assert sample.think == f"The big {anchor.colour} square turns {flash_colour}."
        fps = scene_of(record).fps
        assert len(flash) / fps < sample.media.duration / sample.meta["round1_frames"]  # shorter than a round-1 gap
        assert (sample.meta["flash_start"], sample.meta["flash_end"]) == (times[flash[0]], times[flash[-1]] + 0.5)
        # Round 1 with the project's sampler and both textbook rules: never the flash colour.
        info = probe(dataset / sample.media.path)
        budget = sample.meta["round1_frames"]
        round1 = {*uniform_indices(info, budget).tolist(), *uniform_frame_indices(len(frames), budget, "linspace"),
                  *uniform_frame_indices(len(frames), budget, "centre")}
        assert all(seen[i] != flash_colour for i in round1)
        # Round 2 as the perception loop samples it after that round 1, and dense sampling inside the clue.
        loop_round2 = second_round_indices(info, budget, [(clue_start, clue_end)], sample.meta["key_ratio"])
        assert any(seen[i] == flash_colour for i in loop_round2)
        assert any(seen[i] == flash_colour for i in inside)


def test_counting_answer_is_the_number_of_appearances(items, decoded):
    for sample, record in of_kind(items, "mcq_count"):
        frames, times = decoded(sample)
        target = scene_of(record).objects[record["facts"]["target"]]
        shown = visible_runs(frames, times, sample.media.duration, target_boxes(record, len(frames)), {target.colour})
        assert sample.options[ord(sample.answer) - ord("A")] == str(len(shown))
        assert sample.think == f"The {target.description} appears {len(shown)} time{'s' if len(shown) > 1 else ''}."


def test_recolour_answer_is_the_colour_it_turns_into(items, decoded):
    for sample, record in of_kind(items, "mcq_recolour"):
        frames, times = decoded(sample)
        target = scene_of(record).objects[record["facts"]["target"]]
        seen = [colour_at(frame, box) for frame, box in zip(frames, target_boxes(record, len(frames)), strict=True)]
        shown = [name for name in seen if name != "grey"]
        answer = sample.options[ord(sample.answer) - ord("A")]
        assert shown[0] == target.colour and shown[-1] == answer and answer != target.colour
        assert target.colour not in sample.options
        assert sample.think == f"The {target.description} turns {answer}."


def test_order_answer_is_the_first_or_last_to_appear(items, decoded):
    for sample, record in of_kind(items, "mcq_order"):
        frames, times = decoded(sample)
        scene = scene_of(record)
        first_seen = {}
        for option in sample.options:
            obj = next(obj for obj in scene.objects if obj.description == option)
            shown = visible_runs(frames, times, sample.media.duration, obj.boxes(len(frames)), {obj.colour})
            first_seen[option] = shown[0][0]
        which = "first" if sample.question.endswith("first?") else "last"
        answer = sample.options[ord(sample.answer) - ord("A")]
        assert answer == (min if which == "first" else max)(first_seen, key=first_seen.get)
        assert sample.think == f"The {answer} appears {which}."
        assert len(set(first_seen.values())) == len(first_seen)  # no ties


def test_attribute_answer_is_the_colour_or_shape_in_the_pixels(items, decoded):
    for sample, record in of_kind(items, "gqa_attribute"):
        frames, times = decoded(sample)
        scene = scene_of(record)
        target = scene.objects[record["facts"]["target"]]
        start, _ = sample.clue.intervals[0]
        index = int(np.flatnonzero(times == start)[0])
        answer = sample.options[ord(sample.answer) - ord("A")]
        box = target.boxes(len(frames))[index]
        if sample.question.startswith("What colour"):
            assert colour_at(frames[index], box) == answer
            assert sum(obj.shape == target.shape for obj in scene.objects) == 1  # "the triangle" is one object
            assert sample.think == f"The {target.shape} is {answer}."
        else:
            assert shape_from_pixels(render(scene)[index], box, target.colour) == answer
            assert sum(obj.colour == target.colour for obj in scene.objects) == 1
            assert sample.think == f"The {target.colour} object is a {answer}."


def test_caption_lists_the_visible_events_in_time_order(items, decoded):
    for sample, record in of_kind(items, "caption"):
        frames, times = decoded(sample)
        scene = scene_of(record)
        events = []
        for position, index in enumerate(record["facts"]["objects"]):
            obj = scene.objects[index]
            shown = visible_runs(frames, times, sample.media.duration, obj.boxes(len(frames)), {obj.colour})
            for repeat, (start, end) in enumerate(shown):
                events.append((start, 1, position, f"A {obj.description} appears." if repeat == 0
                               else f"The {obj.description} appears again."))
                if end < sample.media.duration:
                    events.append((end, 0, position, f"The {obj.description} disappears."))
        assert sample.answer == " ".join(sentence for *_, sentence in sorted(events))


def test_the_labels_earn_full_reward_from_the_project_rewards(items):
    """Clues are in the units the rewards expect: seconds, image pixels, tracks per sampled frame."""
    for sample, record in items:
        if sample.task == "caption":
            continue  # scored by an LLM judge
        values = compute_rewards(sample, perfect_completion(sample)).values
        assert values and all(value == 1.0 for value in values.values()), (record["kind"], values)
