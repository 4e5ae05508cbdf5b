"""videofocus: reinforcement fine-tuning and iterative perception for video multimodal LLMs."""

from videofocus.errors import ConfigError, DataError, MediaError, VideoFocusError

__version__ = "0.1.0"

__all__ = ["ConfigError", "DataError", "MediaError", "VideoFocusError", "__version__"]
