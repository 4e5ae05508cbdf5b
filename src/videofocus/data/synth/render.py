"""Rendering a Scene to pixels, vectorised over frames: one numpy pass per object.

A pixel belongs to a shape when its centre lies inside it. The shapes are defined so that each
touches all four sides of its box (the triangle's apex row is two pixels wide when the size is
even), which makes an object's box equal to the tight bounds of its pixels."""

from __future__ import annotations

import numpy as np

from videofocus.data.synth.world import PALETTE, Scene, SceneObject

# Guards the triangle's apex-row comparison against floating-point round-off.
_EPS = 1e-9


def shape_mask(shape: str, u: np.ndarray, v: np.ndarray, size: int) -> np.ndarray:
    """Inside test for pixel centres at (u, v), in units of the box side from its top-left
    corner; broadcasts. Points outside [0, 1) x [0, 1) are outside every shape."""
    in_box = (u > 0) & (u < 1) & (v > 0) & (v < 1)
    if shape == "square":
        return in_box
    if shape == "circle":
        return in_box & ((u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25)
    if shape == "triangle":  # apex up; row v has half-width (v + half a pixel) / 2
        return in_box & (np.abs(u - 0.5) <= (v + 0.5 / size) / 2 + _EPS)
    raise ValueError(f"unknown shape {shape!r}")


def background(scene: Scene) -> np.ndarray:
    """(T, H, W, 3) uint8 grey with per-pixel grey noise (one pattern, or a fresh one per frame)."""
    rng = np.random.default_rng(scene.noise_seed)
    noise_frames = scene.num_frames if scene.fresh_noise else 1
    grey = np.full((noise_frames, scene.height, scene.width, 1), float(scene.background), dtype=np.float32)
    if scene.noise > 0:
        grey += rng.normal(0.0, scene.noise, size=grey.shape).astype(np.float32)
    grey = np.clip(grey, 0, 255).round().astype(np.uint8)
    return np.broadcast_to(grey, (scene.num_frames, scene.height, scene.width, 3))


def box_masks(shape: str, size: int, boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """(len(boxes), height, width) bool: the shape's pixels when drawn in each box."""
    boxes = boxes.astype(np.float64)
    u = (np.arange(width) + 0.5)[None, None, :] - boxes[:, 0, None, None]
    v = (np.arange(height) + 0.5)[None, :, None] - boxes[:, 1, None, None]
    return shape_mask(shape, u / size, v / size, size)


def object_masks(obj: SceneObject, scene: Scene) -> np.ndarray:
    """(T, H, W) bool: the object's pixels in each frame (empty where it is not visible)."""
    masks = box_masks(obj.shape, obj.size, obj.boxes(scene.num_frames), scene.width, scene.height)
    return masks & obj.visibility(scene.num_frames)[:, None, None]


def render(scene: Scene) -> np.ndarray:
    """(T, H, W, 3) uint8 RGB frames of the scene."""
    frames = np.array(background(scene))
    for obj in scene.objects:
        boxes = obj.boxes(scene.num_frames)
        colours = np.array([PALETTE[name] for name in obj.colour_names(scene.num_frames)], dtype=np.uint8)
        for start, end in obj.spans:  # only the frames it is visible in, drawn in place
            masks = box_masks(obj.shape, obj.size, boxes[start:end], scene.width, scene.height)
            np.copyto(frames[start:end], colours[start:end, None, None, :], where=masks[..., None])
    return frames
