"""The end-to-end demo on the embedded default (`videofocus demo`): synthetic data, the shipped warm-up
model (or one built from scratch), GRPO and continued SFT from it, evaluation with iterative
perception beside video-blind baselines, and a report that says whether the targets were met.

    from videofocus.demo import demo_settings, run_demo
    result = run_demo("runs/demo", demo_settings("quick"))
    print(result.report)

Modules: settings (what runs; presets), stages (the building blocks, shared with the learning
benchmark), warmup (the shipped warm-up model), baselines (video-blind answers), targets (what the
demo must show), pipeline (the stages in order, resumable, with progress)."""

from videofocus.demo.pipeline import DemoLayout, DemoResult, build_warmup, run_demo
from videofocus.demo.settings import DEMO_MODEL, DEMO_TASKS, PRESETS, DemoSettings, demo_settings

__all__ = ["DEMO_MODEL", "DEMO_TASKS", "PRESETS", "DemoLayout", "DemoResult", "DemoSettings", "build_warmup",
           "demo_settings", "run_demo"]
