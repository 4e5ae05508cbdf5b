"""Model backends the perception loop (and evaluation) call: transformers, vLLM, scripted replies.

`hf` and `vllm` import their heavy dependencies only when used."""

from videofocus.backends.base import Backend, BoxConvention, Generation, box_convention_for
from videofocus.backends.scripted import ScriptedBackend

__all__ = ["Backend", "BoxConvention", "Generation", "ScriptedBackend", "box_convention_for"]
