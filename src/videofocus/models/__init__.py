"""Models: loading checkpoints (`load_model`), tiny random checkpoints for tests and demos
(`videofocus.models.tiny`), and turning prompts with clips or images into model inputs
(`videofocus.models.inputs`)."""

from typing import TYPE_CHECKING

from videofocus.lazy import lazy_attributes

if TYPE_CHECKING:
    from videofocus.models.loading import load_model

# Loading imports transformers: only when used.
__getattr__ = lazy_attributes(__name__, {"load_model": "videofocus.models.loading"})

__all__ = ["load_model"]
