"""A synthetic world of coloured shapes with exact ground truth for every task: the project's
embedded default data and end-to-end test bed (`videofocus data synth`).

    from videofocus.data.synth import generate_dataset
    generate_dataset("out/synth", n=1000, seed=0, difficulty="medium", split="train")

Modules: settings (presets), world (scene description), render (pixels), scenes (random scene
building), grounding / questions (question kinds), kinds (registry), evidence (frame sampling and
brief-evidence placement), generate (files)."""

from videofocus.data.synth.evidence import (RULES, flash_hit_by_focus, flash_missed_by_uniform, interval_hit,
                                            round1_indices, round2_indices, uniform_frame_indices)
from videofocus.data.synth.generate import (SAMPLES_FILE, SCENES_FILE, SPLITS, WORLD_FILE, generate_dataset,
                                            split_label_jitter)
from videofocus.data.synth.kinds import KINDS, TASK_NAMES
from videofocus.data.synth.render import render
from videofocus.data.synth.settings import PRESETS, SynthSettings, make_settings
from videofocus.data.synth.world import PALETTE, SHAPES, Scene, SceneObject

__all__ = [
    "KINDS", "PALETTE", "PRESETS", "RULES", "SAMPLES_FILE", "SCENES_FILE", "SHAPES", "SPLITS", "TASK_NAMES",
    "WORLD_FILE", "Scene", "SceneObject", "SynthSettings", "flash_hit_by_focus", "flash_missed_by_uniform",
    "generate_dataset", "interval_hit", "make_settings", "render", "round1_indices", "round2_indices",
    "split_label_jitter", "uniform_frame_indices",
]
