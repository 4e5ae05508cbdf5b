"""The end-to-end demo on the embedded default (`videofocus demo`): synthetic data, a tiny model built
from scratch, SFT, GRPO, evaluation with iterative perception, and a report.

    from videofocus.demo import demo_settings, run_demo
    result = run_demo("videofocus-demo", demo_settings("quick"))
    print(result.report)

Modules: settings (what runs; presets), stages (the building blocks, shared with the learning
benchmark), pipeline (the stages in order, resumable, with progress)."""

from videofocus.demo.pipeline import DemoLayout, DemoResult, run_demo
from videofocus.demo.settings import DEMO_MODEL, DEMO_TASKS, PRESETS, DemoSettings, demo_settings

__all__ = ["DEMO_MODEL", "DEMO_TASKS", "PRESETS", "DemoLayout", "DemoResult", "DemoSettings", "demo_settings",
           "run_demo"]
