"""A synthetic world of coloured shapes with exact ground truth for every task: the project's
embedded default data and end-to-end test bed (`videofocus data synth`).

    from videofocus.data.synth import generate_dataset
    generate_dataset("out/synth", n=1000, seed=0, difficulty="medium", split="train")

Modules: settings (presets), world (scene description), render (pixels), scenes (random scene
building), grounding / questions (question kinds), kinds (registry), evidence (frame sampling and
brief-evidence placement), generate (files)."""

from typing import TYPE_CHECKING

from videofocus.data.synth.kinds import KINDS, TASK_NAMES
from videofocus.data.synth.settings import PRESETS, SPLITS, SynthSettings, make_settings, split_label_jitter
from videofocus.lazy import lazy_attributes

if TYPE_CHECKING:
    from videofocus.data.synth.evidence import (RULES, flash_hit_by_focus, flash_missed_by_uniform, interval_hit,
                                                round1_indices, round2_indices, uniform_frame_indices)
    from videofocus.data.synth.generate import SAMPLES_FILE, SCENES_FILE, WORLD_FILE, generate_dataset
    from videofocus.data.synth.world import PALETTE, SHAPES, Scene, SceneObject

# The rest needs numpy, and the media stack (PyAV) for frame sampling and encoding: imported when
# used, so that the settings and the kinds (the command line's help) come without them. (`render`,
# a function named like its module, is imported from videofocus.data.synth.render: the import of
# that module would replace a lazy attribute of the same name.)
__getattr__ = lazy_attributes(__name__, {
    **dict.fromkeys(("RULES", "flash_hit_by_focus", "flash_missed_by_uniform", "interval_hit", "round1_indices",
                     "round2_indices", "uniform_frame_indices"), "videofocus.data.synth.evidence"),
    **dict.fromkeys(("SAMPLES_FILE", "SCENES_FILE", "WORLD_FILE", "generate_dataset"),
                    "videofocus.data.synth.generate"),
    **dict.fromkeys(("PALETTE", "SHAPES", "Scene", "SceneObject"), "videofocus.data.synth.world"),
})

__all__ = [
    "KINDS", "PALETTE", "PRESETS", "RULES", "SAMPLES_FILE", "SCENES_FILE", "SHAPES", "SPLITS", "TASK_NAMES",
    "WORLD_FILE", "Scene", "SceneObject", "SynthSettings", "flash_hit_by_focus", "flash_missed_by_uniform",
    "generate_dataset", "interval_hit", "make_settings", "round1_indices", "round2_indices",
    "split_label_jitter", "uniform_frame_indices",
]
