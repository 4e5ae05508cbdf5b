"""The synthetic world's pure parts: settings presets, scene description, renderer, frame rules and
brief-evidence placement."""

from __future__ import annotations

import dataclasses
import itertools
import re

import numpy as np
import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from videofocus.data.synth import (PALETTE, PRESETS, RULES, SHAPES, Scene, SceneObject, flash_hit_by_focus,
                                   flash_missed_by_uniform, interval_hit, make_settings, round1_indices,
                                   round2_indices, uniform_frame_indices)
from videofocus.data.synth.evidence import flash_placements
from videofocus.data.synth.render import object_masks, render
from videofocus.data.synth.world import random_spans
from videofocus.errors import ConfigError


# ----- settings -------------------------------------------------------------------------------

def test_presets_get_harder_in_the_knobs_the_learning_benchmark_needs():
    easy, medium, hard = PRESETS["easy"], PRESETS["medium"], PRESETS["hard"]
    assert (easy.size, easy.fps, easy.num_frames, easy.distractors) == (56, 2.0, 16, (0, 0))
    assert easy.label_jitter == 0 and easy.relational_share == 0 and easy.ordinal_share == 0
    for harder in (medium, hard):
        assert harder.distractors[1] > 0 and harder.similar_distractors
        assert harder.relational_share > 0 and harder.ordinal_share > 0 and harder.label_jitter > 0
    assert hard.duration > medium.duration > easy.duration and hard.fps < easy.fps


def test_overrides_replace_fields_with_the_preset_types():
    settings = make_settings("hard", fps=2, distractors=[1, 3], similar_distractors=False)
    assert settings.fps == 2.0 and isinstance(settings.fps, float)
    assert settings.distractors == (1, 3) and settings.num_frames == 64
    assert settings.noise == PRESETS["hard"].noise  # untouched fields keep the preset's value


@pytest.mark.parametrize("difficulty, overrides, message", [
    ("nightmare", {}, "unknown difficulty 'nightmare'"),
    ("easy", {"colour_count": 3}, "unknown synth setting(s) colour_count"),
    ("easy", {"size": 57}, "size must be an even number"),
    ("easy", {"size": 12.5}, "synth setting size must look like 56"),
    ("easy", {"distractors": [3, 1]}, "distractors must be a (min, max) pair"),
    ("easy", {"similar_distractors": "yes"}, "similar_distractors must look like False"),
    ("easy", {"duration": 2.0}, "at least 8 are needed"),
    ("easy", {"ordinal_share": 0.7, "relational_share": 0.7}, "ordinal_share + relational_share"),
])
def test_bad_settings_name_the_problem(difficulty, overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        make_settings(difficulty, **overrides)


def test_settings_json_round_trips_through_overrides():
    settings = PRESETS["medium"]
    assert make_settings("easy", **settings.to_json()) == settings


# ----- scenes and rendering ---------------------------------------------------------------------

@hypothesis_settings(max_examples=60, deadline=None)
@given(shape=st.sampled_from(SHAPES), size=st.integers(6, 28), x=st.integers(0, 20), y=st.integers(0, 20))
def test_every_shape_touches_all_four_sides_of_its_box(shape, size, x, y):
    scene = Scene(width=48, height=48, num_frames=1, fps=1.0, noise_seed=0,
                  objects=(SceneObject(shape, "red", size, ((0, 1),), ((x, y),)),))
    mask = object_masks(scene.objects[0], scene)[0]
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = scene.objects[0].boxes(1)[0].tolist()
    assert [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1] == box == [x, y, x + size, y + size]


def test_shapes_differ_in_how_much_of_the_box_they_fill():
    scene = Scene(width=32, height=32, num_frames=1, fps=1.0, noise_seed=0,
                  objects=tuple(SceneObject(shape, "red", 16, ((0, 1),), ((0, 0),)) for shape in SHAPES))
    fill = {obj.shape: object_masks(obj, scene)[0].mean() * 4 for obj in scene.objects}
    assert fill["square"] == 1.0 and 0.7 < fill["circle"] < 0.9 and 0.5 < fill["triangle"] < 0.65


def test_render_shows_objects_only_in_their_spans_with_their_colour_changes():
    obj = SceneObject("square", "red", 10, ((2, 6),), ((4, 4), (30, 20)), recolours=((4, 5, "blue"),))
    scene = Scene(width=48, height=48, num_frames=8, fps=2.0, objects=(obj,), noise_seed=3, noise=0.0)
    frames = render(scene)
    boxes = obj.boxes(8)
    assert boxes[0].tolist() == [4, 4, 14, 14] and boxes[-1].tolist() == [30, 20, 40, 30]
    for index, frame in enumerate(frames):
        x0, y0, x1, y1 = boxes[index]
        inside = frame[y0:y1, x0:x1].reshape(-1, 3)
        expected = {2: "red", 3: "red", 4: "blue", 5: "red"}.get(index)
        if expected is None:
            assert (inside == 128).all()
        else:
            assert (inside == PALETTE[expected]).all()
        outside = frame.copy()
        outside[y0:y1, x0:x1] = 128
        assert (outside == 128).all()


def test_noise_is_static_unless_fresh_and_seeded():
    scene = Scene(width=16, height=16, num_frames=3, fps=1.0, objects=(), noise_seed=5, noise=10.0)
    frames = render(scene)
    assert frames.std() > 5 and (frames[0] == frames[1]).all() and (frames[..., 0] == frames[..., 2]).all()
    fresh = render(dataclasses.replace(scene, fresh_noise=True))
    assert not (fresh[0] == fresh[1]).all()
    assert (render(scene) == frames).all() and not (render(dataclasses.replace(scene, noise_seed=6)) == frames).all()


def test_scene_json_round_trip():
    obj = SceneObject("triangle", "cyan", 9, ((0, 3), (5, 8)), ((1, 2), (3, 4), (5, 6)), ((1, 2, "red"),))
    scene = Scene(width=32, height=32, num_frames=8, fps=2.0, objects=(obj,), noise_seed=9, noise=4.0)
    assert Scene.from_json(scene.to_json()) == scene


@hypothesis_settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), count=st.integers(1, 4), min_len=st.integers(1, 4), gap=st.integers(1, 3))
def test_random_spans_are_disjoint_ordered_and_inside_the_video(seed, count, min_len, gap):
    spans = random_spans(np.random.default_rng(seed), 32, count, min_len, min_len + 3, gap)
    assert spans is not None and len(spans) == count
    assert spans[0][0] >= 0 and spans[-1][1] <= 32
    assert all(end - start >= min_len for start, end in spans)
    assert all(nxt[0] - cur[1] >= gap for cur, nxt in itertools.pairwise(spans))


def test_random_spans_say_when_they_cannot_fit():
    assert random_spans(np.random.default_rng(0), 10, 4, 2, 3, 2) is None


# ----- frame rules and brief evidence ------------------------------------------------------------

def test_uniform_rules_on_known_grids():
    assert uniform_frame_indices(32, 8, "linspace").tolist() == [0, 4, 9, 13, 18, 22, 27, 31]
    assert uniform_frame_indices(32, 8, "centre").tolist() == [2, 6, 10, 14, 18, 22, 26, 30]
    assert uniform_frame_indices(8, 4, "centre", start=6).tolist() == [7, 9, 11, 13]
    assert uniform_frame_indices(3, 8).tolist() == [0, 1, 2]
    round1 = round1_indices(32, 2.0, 8)
    assert set(round1) == set(RULES) and len(round1["videofocus"]) == 8
    assert round1["videofocus"][0] == 0 and round1["videofocus"][-1] == 31  # ends included


def test_flash_checks_on_a_hand_made_case():
    # 16 s at 2 fps, 8 round-1 frames: linspace shows frames 0,4,9,13,18,22,27,31, centre 2,6,...,30.
    assert flash_missed_by_uniform((5.5, 6.5), duration=16, fps=2, budget=8)       # frames 11, 12
    assert not flash_missed_by_uniform((4.5, 5.5), duration=16, fps=2, budget=8)   # frame 9 (linspace)
    assert not flash_missed_by_uniform((3.0, 3.5), duration=16, fps=2, budget=8)   # frame 6 (centre)
    # Anchor 3.0-7.0 s (frames 6..13): 4 linspace frames 6,8,11,13 and centre frames 7,9,11,13.
    assert flash_hit_by_focus((5.5, 6.5), (3.0, 7.0), duration=16, fps=2, budget=8)
    assert not flash_hit_by_focus((4.5, 5.0), (3.0, 7.0), duration=16, fps=2, budget=8)  # frame 9: centre only
    assert interval_hit((5.5, 6.0), [5.0, 5.5]) and not interval_hit((5.5, 6.0), [5.0, 6.0])


@pytest.mark.parametrize("difficulty", list(PRESETS))
def test_every_preset_has_brief_evidence_placements_that_keep_the_promise(difficulty):
    s = PRESETS[difficulty]
    placements = flash_placements(s.num_frames, s.fps, (s.frames(s.anchor_duration[0]), s.frames(s.anchor_duration[1])),
                                  (s.frames(s.flash_duration[0]), s.frames(s.flash_duration[1])),
                                  s.round1_frames, s.key_ratio)
    assert placements
    gap = s.duration / s.round1_frames
    for anchor, flash in placements:
        flash_s, anchor_s = (flash[0] / s.fps, flash[1] / s.fps), (anchor[0] / s.fps, anchor[1] / s.fps)
        assert anchor_s[0] < flash_s[0] and flash_s[1] < anchor_s[1]
        assert flash_s[1] - flash_s[0] < gap  # shorter than one round-1 sampling gap
        assert flash_missed_by_uniform(flash_s, duration=s.duration, fps=s.fps, budget=s.round1_frames)
        assert flash_hit_by_focus(flash_s, anchor_s, duration=s.duration, fps=s.fps, budget=s.round1_frames,
                                  key_ratio=s.key_ratio)
        round2 = round2_indices(s.num_frames, s.fps, s.round1_frames, s.key_ratio, anchor)["videofocus"]
        assert len(round2) == s.round1_frames  # the same budget, re-spread
