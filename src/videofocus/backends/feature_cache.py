"""Vision-encoder outputs kept across calls, so iterative perception does not encode a frame pair or
an image twice.

Why this is exact: the Qwen2.5-VL and Qwen3-VL vision towers attend within one temporal patch
(two consecutive frames; `transformers.vision_utils.get_vision_cu_seqlens` splits attention per
temporal index, and Qwen2.5-VL's windows are cut inside each temporal index too), and their
position embeddings depend only on the patch grid. A pair's features are therefore a function of
its two frames and their resized size alone, whatever else the video holds (tests check this
against whole-video encoding). Units are keyed accordingly: a video pair by (video, its two frame
indices, grid size), an image by a digest of its pixels and its grid size.

The features are handed to `generate` as `mm_encoder_outputs`, the transformers 5.x hook for
pre-encoded vision inputs (the models merge them into `inputs_embeds` exactly as they merge their
own encoder's output, deepstack features of Qwen3-VL included).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from videofocus.models.inputs import Prompt

_PIXEL_KEYS = {"video": "pixel_values_videos", "image": "pixel_values"}
_GRID_KEYS = {"video": "video_grid_thw", "image": "image_grid_thw"}


@dataclass(frozen=True)
class _Unit:
    """One independently encoded piece of a batch: a video's temporal pair or one image."""

    modality: str
    key: tuple
    item: int        # which video / image of the batch (in placeholder order) it belongs to
    rows: slice      # its rows of the batch's pixel tensor
    grid: tuple[int, int, int]


@dataclass
class _Features:
    pooled: torch.Tensor
    deepstack: list[torch.Tensor]

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.pooled, *self.deepstack))


class VisionFeatureCache:
    """Least-recently-used store of per-unit vision features for one model, up to `max_bytes`.

    `encode` returns `mm_encoder_outputs` for a processed batch, encoding only the units not held.
    The model's weights must not change while the cache is in use (`clear()` otherwise)."""

    def __init__(self, model: Any, max_bytes: int = 1 << 30):
        self.model, self.max_bytes = model, max_bytes
        self._store: OrderedDict[tuple, _Features] = OrderedDict()
        self._bytes = 0
        self._output_types: dict[str, type] = {}
        self._merge = model.config.vision_config.spatial_merge_size ** 2

    def clear(self) -> None:
        self._store.clear()
        self._bytes = 0

    def encode(self, inputs: dict[str, torch.Tensor], prompts: Sequence[Prompt]) -> tuple[dict[str, Any], list[int]]:
        """(`mm_encoder_outputs` for `inputs`, visual tokens per prompt that came from the cache)."""
        outputs: dict[str, Any] = {}
        cached_tokens = [0] * len(prompts)
        for modality in ("video", "image"):
            if inputs.get(_PIXEL_KEYS[modality]) is None:
                continue
            units, owners = _units(modality, inputs[_GRID_KEYS[modality]], prompts)
            held = {unit.key: self._take(unit.key) for unit in units if unit.key in self._store}
            fresh = self._encode(modality, [unit for unit in units if unit.key not in held],
                                 inputs[_PIXEL_KEYS[modality]])
            for unit, owner in zip(units, owners):
                if unit.key in held:
                    cached_tokens[owner] += _tokens(unit.grid, self._merge)
            features = {**fresh, **held}
            outputs[modality] = self._assemble(modality, units, [features[unit.key] for unit in units])
        return outputs, cached_tokens

    def _encode(self, modality: str, units: list[_Unit], pixels: torch.Tensor) -> dict[tuple, _Features]:
        """Run the vision tower on `units` (each once), store and return their features by key.

        Units of one grid size go in as one grid of their temporal patches (attention stays within
        each patch), so the tower runs once per size rather than once per unit."""
        unique = list({unit.key: unit for unit in units}.values())
        by_size: dict[tuple[int, int], list[_Unit]] = {}
        for unit in unique:
            by_size.setdefault(unit.grid[1:], []).append(unit)
        encoded: dict[tuple, _Features] = {}
        encoder = getattr(self.model.model, f"get_{modality}_features")
        for (height, width), group in by_size.items():
            patches = sum(unit.grid[0] for unit in group)
            rows = torch.cat([pixels[unit.rows] for unit in group])
            grid = torch.tensor([[patches, height, width]], device=pixels.device)
            with torch.inference_mode():
                output = encoder(rows, grid, return_dict=True)
            self._output_types[modality] = type(output)
            sizes = [unit.grid[0] * height * width // self._merge for unit in group]
            pooled = output.pooler_output[0].split(sizes)
            deepstack = [layer[0].split(sizes) for layer in getattr(output, "deepstack_features", None) or []]
            # Clones, so a kept unit does not pin the whole batch's output (and its size is what it costs).
            for position, unit in enumerate(group):
                encoded[unit.key] = _Features(pooled[position].clone(),
                                              [layer[position].clone() for layer in deepstack])
        for key, features in encoded.items():
            self._put(key, features)
        return encoded

    def _take(self, key: tuple) -> _Features:
        features = self._store[key]
        self._store.move_to_end(key)
        return features

    def _put(self, key: tuple, features: _Features) -> None:
        self._store[key] = features
        self._bytes += features.nbytes
        while self._bytes > self.max_bytes and len(self._store) > 1:
            _, evicted = self._store.popitem(last=False)
            self._bytes -= evicted.nbytes

    def _assemble(self, modality: str, units: list[_Unit], features: list[_Features]):
        items: dict[int, list[_Features]] = {}
        for unit, feature in zip(units, features):
            items.setdefault(unit.item, []).append(feature)
        per_item = [items[item] for item in sorted(items)]
        pooled = tuple(torch.cat([f.pooled for f in parts]) for parts in per_item)
        fields: dict[str, Any] = {"pooler_output": pooled}
        layers = len(features[0].deepstack) if features else 0
        if layers:
            fields["deepstack_features"] = [tuple(torch.cat([f.deepstack[layer] for f in parts]) for parts in per_item)
                                            for layer in range(layers)]
        return self._output_types[modality](**fields)


def _tokens(grid: tuple[int, int, int], merge: int) -> int:
    t, h, w = grid
    return t * h * w // merge


def _units(modality: str, grid_thw: torch.Tensor, prompts: Sequence[Prompt]) -> tuple[list[_Unit], list[int]]:
    """The units of a batch in pixel-row order, and the prompt each belongs to."""
    units, owners, row, item = [], [], 0, 0
    sources = _media_in_order(modality, prompts)
    for (owner, source), (t, h, w) in zip(sources, grid_thw.tolist()):
        if modality == "video":
            pairs = _pair_indices(source.indices, t)
            identity = (source.info.path, source.info.num_frames)
            for first, second in pairs:
                units.append(_Unit(modality, ("video", identity, first, second, h, w), item,
                                   slice(row, row + h * w), (1, h, w)))
                owners.append(owner)
                row += h * w
        else:
            units.append(_Unit(modality, ("image", _digest(source), h, w), item,
                               slice(row, row + t * h * w), (t, h, w)))
            owners.append(owner)
            row += t * h * w
        item += 1
    return units, owners


def _media_in_order(modality: str, prompts: Sequence[Prompt]) -> list[tuple[int, Any]]:
    if modality == "video":
        return [(owner, prompt.video) for owner, prompt in enumerate(prompts) if prompt.video is not None]
    return [(owner, image) for owner, prompt in enumerate(prompts) for image in prompt.images]


def _pair_indices(indices, pairs: int) -> list[tuple[int, int]]:
    """Frame indices of each temporal pair; the processors pad an odd clip with its last frame."""
    indices = [int(index) for index in indices]
    return [(indices[2 * j], indices[min(2 * j + 1, len(indices) - 1)]) for j in range(pairs)]


def _digest(image) -> str:
    digest = hashlib.blake2b(f"{image.mode}{image.size}".encode(), digest_size=16)
    digest.update(image.tobytes())
    return digest.hexdigest()
