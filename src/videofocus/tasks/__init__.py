"""Tasks registered by name: `get_task("temporal_grounding").build_prompt(sample)`. Importing this
package registers every task module below."""

from videofocus.tasks.spec import PROTOCOLS, Protocol, TaskSpec, get_task, register_task, task_names
from videofocus.tasks import (caption, classification, grounded_qa, mcq, spatial_grounding,  # noqa: F401
                              temporal_grounding, tracking)

__all__ = ["PROTOCOLS", "Protocol", "TaskSpec", "get_task", "register_task", "task_names"]
