"""videofocus inside lmms-eval (docs/lmms-eval.md), without forking it.

- `--model videofocus`: `VideoFocusLMM` (`videofocus.lmms_eval.model`) runs iterative perception on
  each request and answers with its last round; registered through the `lmms_eval.models` entry point
  (`model_manifest`).
- Task templates in `tasks/` (temporal grounding, NExT-GQA, ReXTime) over annotation files in the one
  sample format, scored by `videofocus.metrics` (`videofocus.lmms_eval.task_functions`);
  `python -m videofocus.lmms_eval` writes the task file that points one of them at your annotations.

Nothing here imports lmms-eval until lmms-eval itself loads the plugin.
"""

from __future__ import annotations

from pathlib import Path

TASKS_DIR = Path(__file__).parent / "tasks"
MODEL_NAME = "videofocus"


def model_manifest():
    """The `lmms_eval.models` entry point: lmms-eval's manifest for `--model videofocus`."""
    from lmms_eval.models.registry_v2 import ModelManifest

    return ModelManifest(model_id=MODEL_NAME, simple_class_path="videofocus.lmms_eval.model.VideoFocusLMM")
