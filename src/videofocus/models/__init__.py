"""Models: loading checkpoints (`load_model`), tiny random checkpoints for tests and demos
(`videofocus.models.tiny`), and turning prompts with clips or images into model inputs
(`videofocus.models.inputs`)."""

from videofocus.models.loading import load_model

__all__ = ["load_model"]
