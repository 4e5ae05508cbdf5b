"""Load a Qwen2.5-VL / Qwen3-VL checkpoint and its processor, from a local directory or the Hub.

The same call serves `Qwen/Qwen2.5-VL-7B-Instruct` and a tiny model written by `build_tiny_model`:
`AutoModelForImageTextToText.from_pretrained` / `AutoProcessor.from_pretrained`, nothing custom.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import huggingface_hub
import torch
from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor
from transformers.utils import logging as hf_logging

from videofocus.errors import ConfigError, VideoFocusError

_DTYPES = {
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
    "float16": torch.float16, "fp16": torch.float16, "half": torch.float16,
    "float32": torch.float32, "fp32": torch.float32, "float": torch.float32,
}
# "org/name" or "name" as the Hub spells repository ids.
_HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")  # one of them names every checkpoint's weights


def load_model(path_or_id: str | Path, *, dtype: torch.dtype | str | None = None,
               device: torch.device | str | None = None,
               attn_implementation: str | None = None) -> tuple[torch.nn.Module, object]:
    """Load `(model, processor)` from a model directory or a Hugging Face Hub id.

    Defaults: the GPU when there is one, else the CPU; bfloat16 on GPU, float32 on CPU;
    `flash_attention_2` on GPU when the `flash_attn` package is installed, else `sdpa`. The
    processor's tokenizer pads on the left, as batched generation needs. The model is in eval mode.
    Raises VideoFocusError (one line, no traceback in the CLI) when nothing loadable is found.
    """
    device = torch.device(device) if device is not None else _default_device()
    dtype = _resolve_dtype(dtype, device)
    attn_implementation = attn_implementation or _default_attention(device, dtype)
    source = _resolve_source(path_or_id)
    try:
        # Reading weights already on disk is quick and needs no bar; a first download keeps its bars.
        with no_progress_bars() if _weights_on_disk(source) else nullcontext():
            config = AutoConfig.from_pretrained(source)
            processor = AutoProcessor.from_pretrained(source)
            model = AutoModelForImageTextToText.from_pretrained(
                source, config=config, dtype=dtype, attn_implementation=attn_implementation, device_map=str(device))
    except (OSError, ValueError) as exc:
        where = "from the directory" if Path(source).is_dir() else "from the Hugging Face Hub (not a local directory)"
        raise VideoFocusError(f"cannot load a model '{path_or_id}' {where}: {_first_line(exc)}") from exc
    processor.tokenizer.padding_side = "left"
    return model.eval(), processor


def _default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _resolve_dtype(dtype: torch.dtype | str | None, device: torch.device) -> torch.dtype | str:
    if dtype is None:
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if isinstance(dtype, torch.dtype) or dtype == "auto":
        return dtype
    if dtype not in _DTYPES:
        raise ConfigError(f"unknown dtype '{dtype}': use one of {', '.join(sorted(_DTYPES))} or 'auto'")
    return _DTYPES[dtype]


def _default_attention(device: torch.device, dtype: torch.dtype | str) -> str:
    flash_ready = (device.type == "cuda" and dtype in (torch.bfloat16, torch.float16)
                   and importlib.util.find_spec("flash_attn") is not None)
    return "flash_attention_2" if flash_ready else "sdpa"


def _resolve_source(path_or_id: str | Path) -> str:
    """A local directory as a path string, or a Hub id; fail at once on a path that is neither."""
    path = Path(path_or_id).expanduser()
    if path.is_dir():
        return str(path)
    text = str(path_or_id)
    if path.exists():
        raise VideoFocusError(f"'{text}' is a file; give the model directory (the one with config.json)")
    if isinstance(path_or_id, Path) or text.startswith((".", "/", "~")) or not _HUB_ID.match(text):
        raise VideoFocusError(f"no model directory at '{text}'")
    _check_hub_model(text)
    return text


def _check_hub_model(repo_id: str) -> None:
    """Fail at once when `repo_id` is neither in the local Hub cache nor on a Hub that answers;
    transformers would otherwise retry the download for half a minute before failing offline."""
    if isinstance(huggingface_hub.try_to_load_from_cache(repo_id, "config.json"), str):
        return
    neither = (f"'{repo_id}' is neither a local model folder nor a Hugging Face Hub model in the local cache, and "
               "{why}; check the name, or give the path of the model folder")
    if huggingface_hub.constants.HF_HUB_OFFLINE:
        raise VideoFocusError(neither.format(why="the Hub is switched off (HF_HUB_OFFLINE)"))
    try:
        found = huggingface_hub.HfApi().repo_exists(repo_id)
    except Exception as exc:  # whatever stops the Hub answering: no network, a proxy, a server error
        raise VideoFocusError(neither.format(why=f"the Hub cannot be reached ({_first_line(exc)})")) \
            from exc
    if not found:
        raise VideoFocusError(neither.format(why=f"the Hub has no model '{repo_id}'"))


def _weights_on_disk(source: str) -> bool:
    """Whether `source` is a model folder or a Hub model whose weights are in the local cache."""
    return Path(source).is_dir() or any(isinstance(huggingface_hub.try_to_load_from_cache(source, name), str)
                                        for name in _WEIGHT_FILES)


@contextmanager
def no_progress_bars() -> Iterator[None]:
    """No transformers or Hub progress bars inside the block (as they were after it)."""
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
