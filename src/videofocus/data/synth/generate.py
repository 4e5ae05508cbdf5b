"""Writing a synthetic dataset: media, samples.jsonl, scenes.jsonl and world.json under one folder.

Layout of DIR:
  samples.jsonl  the samples (schema.Sample), media paths relative to DIR
  scenes.jsonl   per sample id: its kind, the full scene (re-renderable with render.render), the
                 exact clue before any label jitter, and extra facts (target object, flash time)
  world.json     the generation settings and the frame-budget assumptions behind the labels
  videos/NNNNNN.mp4, images/NNNNNN.png

Sample i is drawn from its own random stream, seeded by (seed, split, i): the same arguments
give byte-identical files, the first k samples do not depend on n, and different seeds or splits
share no stream. Re-running into a folder generated with the same settings (world.json) reuses
the media already written, so an interrupted run resumes; other settings need overwrite=True.

Speed (benchmarks/synth_generate.py, one process, all tasks, Nov 2026 on this 2-core machine shared
with other jobs at load average ~4): 1,000 samples take 9.4 s CPU / 17 s wall (easy: 16-frame
videos), 15.5 s CPU / 33 s wall (medium: 32 frames), 15 s CPU / 29 s wall (hard: 32 frames at
1 fps); most of it is libx264 and the fsync of each atomic write, so no multiprocessing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from videofocus.data.synth.kinds import KINDS, Kind, resolve_selection
from videofocus.data.synth.render import render
from videofocus.data.synth.scenes import Draft
from videofocus.data.synth.settings import SPLITS, SynthSettings, make_settings, split_label_jitter
from videofocus.data.synth.world import Scene
from videofocus.errors import ConfigError
from videofocus.jsonfiles import read_json_object
from videofocus.media.encode import write_video
from videofocus.schema import parse_sample, write_samples
from videofocus.storage import atomic_writer

SAMPLES_FILE, SCENES_FILE, WORLD_FILE = "samples.jsonl", "scenes.jsonl", "world.json"
FORMAT_VERSION = 1


def generate_dataset(out_dir: str | os.PathLike, n: int, seed: int, tasks: list[str] | None = None,
                     difficulty: str = "easy", *, split: str = "train", overwrite: bool = False,
                     **overrides: Any) -> Path:
    """Generate `n` samples into `out_dir` and return the path of its samples.jsonl.

    `tasks`: schema task names and/or kind names (kinds.KINDS), all tasks when None; samples cycle
    through them in order. `difficulty`: a settings preset (settings.PRESETS); `overrides` replace
    its fields (e.g. fps=1.0). `split`: "train" gets label jitter when the settings ask for it,
    "test" labels are always exact."""
    settings = make_settings(difficulty, **overrides)
    selection = resolve_selection(tasks)
    if n < 1 or seed < 0 or split not in SPLITS:
        raise ConfigError(f"need n >= 1, seed >= 0 and split in {SPLITS}; got n={n}, seed={seed}, split={split!r}")
    # Every scene is drawn before anything is written, so settings that cannot work fail cleanly.
    drafts = [_draft(index, seed, split, settings, selection) for index in range(n)]
    out = Path(out_dir)
    world = world_metadata(settings, seed=seed, split=split, n=n, difficulty=difficulty, selection=selection)
    reuse_media = _claim(out, world, overwrite)
    jitter = split_label_jitter(settings, split)
    samples, scenes = [], []
    for index, (kind, draft, rng) in enumerate(drafts):
        sample_id = f"synth/{split}/{seed}/{index:06d}"
        media = _write_media(out, index, draft.scene, settings.crf, reuse_media)
        samples.append(parse_sample({
            "id": sample_id, "task": draft.task, "source": kind.source, "media": media,
            "question": draft.question, "options": draft.options, "answer": draft.answer,
            "think": draft.think if settings.rationales else None, "clue": _labelled_clue(draft, rng, jitter),
            "meta": {"kind": kind.name, "difficulty": difficulty, **draft.meta},
        }, path=f"<synth sample {sample_id}>"))
        scenes.append({"id": sample_id, "kind": kind.name, "clue": draft.clue, "facts": draft.facts,
                       "scene": draft.scene.to_json()})
    with atomic_writer(out / SCENES_FILE) as handle:
        handle.writelines(json.dumps(record) + "\n" for record in scenes)
    write_samples(out / SAMPLES_FILE, samples)
    return out / SAMPLES_FILE


def world_metadata(settings: SynthSettings, *, seed: int, split: str, n: int, difficulty: str,
                   selection: list[str]) -> dict[str, Any]:
    """world.json: everything the labels assume, for whoever trains or evaluates on the data."""
    return {
        "generator": "videofocus.data.synth", "version": FORMAT_VERSION,
        "seed": seed, "split": split, "n": n, "difficulty": difficulty, "tasks": selection,
        "settings": settings.to_json(),
        "video": {"frames": settings.num_frames, "fps": settings.fps, "duration": settings.num_frames / settings.fps,
                  "size": settings.size, "frame_times": "frame i is shown at i / fps seconds",
                  "intervals": "[start, end) in seconds on frame times: visible in frames start*fps .. end*fps - 1"},
        "brief_evidence": {
            "round1_frames": settings.round1_frames, "key_ratio": settings.key_ratio,
            "round1": "round1_frames frames uniform over the whole video never show the flash",
            "round2": "the same budget with a key_ratio share spread over the clue (anchor) interval always shows it",
            "rules": {"linspace": "round(linspace(0, N - 1, n)); round 2: round(budget * key_ratio) frames by the "
                                  "same rule over the clue's frames",
                      "centre": "floor((i + 0.5) * N / n); round 2 likewise",
                      "videofocus": "videofocus.media.sampling.uniform_indices, then "
                                    "videofocus.media.pairs.second_round_indices"},
        },
        "tracking": {"frames": settings.track_frames, "rule": "linspace", "boxes": "pixels, [x0, y0, x1, y1] edges"},
        "label_jitter": {"seconds": split_label_jitter(settings, split),
                         "how": "train split only: each interval end + uniform(-j, j), clipped to the video, "
                                "2 decimals; scenes.jsonl keeps the exact clue"},
    }


def _claim(out: Path, world: dict[str, Any], overwrite: bool) -> bool:
    """Write world.json; True when `out` already holds this very generation (reuse its media)."""
    path = out / WORLD_FILE
    previous = read_json_object(path) if path.exists() else None
    same = previous is not None and _without_n(previous) == _without_n(world)
    if not same and not overwrite and (previous is not None or (out / SAMPLES_FILE).exists()):
        raise ConfigError(f"{out} already holds a dataset generated with other settings (see {path.name}); "
                          "choose another output folder or overwrite it (--overwrite)")
    with atomic_writer(path) as handle:
        json.dump(world, handle, indent=2)
    return same


def _without_n(world: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in world.items() if key != "n"}


def choose_kind(name: str, rng: np.random.Generator, settings: SynthSettings) -> Kind:
    """The kind named, or for a task one of its kinds drawn by the settings' weights."""
    if name in KINDS:
        return KINDS[name]
    members = [kind for kind in KINDS.values() if kind.task == name]
    weights = np.clip([kind.weight(settings) for kind in members], 0.0, None)  # 1 - a - b may round below 0
    if weights.sum() <= 0:
        raise ConfigError(f"synth settings give every kind of task {name} weight 0")
    return members[rng.choice(len(members), p=weights / weights.sum())]


def _draft(index: int, seed: int, split: str, settings: SynthSettings,
           selection: list[str]) -> tuple[Kind, Draft, np.random.Generator]:
    """Sample `index`'s kind and draft, and its random stream (which goes on to the label jitter)."""
    rng = np.random.default_rng([seed, SPLITS.index(split), index])
    kind = choose_kind(selection[index % len(selection)], rng, settings)
    return kind, kind.make(rng, settings), rng


def _labelled_clue(draft: Draft, rng: np.random.Generator, jitter: float) -> dict[str, Any] | None:
    """The clue as labelled: exact, or with jittered interval ends (training label noise)."""
    if draft.clue is None or "intervals" not in draft.clue or jitter <= 0:
        return draft.clue
    duration = draft.scene.duration
    intervals = []
    for start, end in draft.clue["intervals"]:
        noisy_start, noisy_end = (round(min(max(value + rng.uniform(-jitter, jitter), 0.0), duration), 2)
                                  for value in (start, end))
        intervals.append([noisy_start, noisy_end] if noisy_end > noisy_start else [start, end])
    return {"intervals": intervals}


def _write_media(out: Path, index: int, scene: Scene, crf: int, reuse: bool) -> dict[str, Any]:
    """Render and write the scene (unless reusing an existing file); the sample's media record."""
    is_image = scene.num_frames == 1
    relative = f"images/{index:06d}.png" if is_image else f"videos/{index:06d}.mp4"
    path = out / relative
    if not (reuse and path.exists()):
        frames = render(scene)
        if is_image:
            with atomic_writer(path, "wb") as handle:
                Image.fromarray(frames[0]).save(handle, format="PNG")
        else:
            write_video(path, frames, scene.fps, options={"crf": str(crf)})
    if is_image:
        return {"type": "image", "path": relative, "width": scene.width, "height": scene.height}
    return {"type": "video", "path": relative, "duration": scene.duration, "width": scene.width,
            "height": scene.height}
