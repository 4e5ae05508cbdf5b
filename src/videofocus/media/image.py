"""Images: loading with EXIF orientation, Qwen's smart resize, the exact box mapping between
model-input pixels and original pixels, and crops around a box. PIL is imported where pixels are
touched: the resize rule and its limits serve the command line's start-up, which must stay light."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from videofocus.errors import MediaError

if TYPE_CHECKING:
    from PIL import Image

Box = tuple[float, float, float, float]

IMAGE_MIN_PIXELS = 4 * 28 * 28
IMAGE_MAX_PIXELS = 768 * 28 * 28
MAX_RATIO = 200


def load_image(path: str | os.PathLike) -> Image.Image:
    """Open an image as RGB, turned upright by its EXIF orientation; transparency goes on white."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened)
            image.load()
    except Image.DecompressionBombError as exc:
        raise MediaError(f"{path}: the image is too large to load ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise MediaError(f"{path}: not an image file PIL can read") from exc
    except OSError as exc:
        raise MediaError(f"{path}: the image cannot be decoded ({exc})") from exc
    return _to_rgb(image)


def _to_rgb(image: Image.Image) -> Image.Image:
    from PIL import Image

    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def smart_resize(height: int, width: int, factor: int = 28, min_pixels: int = IMAGE_MIN_PIXELS,
                 max_pixels: int = IMAGE_MAX_PIXELS, max_ratio: float = MAX_RATIO) -> tuple[int, int]:
    """Qwen-VL's resize rule: (height, width) as multiples of `factor`, with height * width in
    [min_pixels, max_pixels] and the aspect ratio kept as closely as possible."""
    if height <= 0 or width <= 0:
        raise MediaError(f"cannot resize an image of {width}x{height} pixels")
    if max_pixels < min_pixels:
        raise MediaError(f"max_pixels ({max_pixels}) is below min_pixels ({min_pixels})")
    if max(height, width) / min(height, width) > max_ratio:
        raise MediaError(f"aspect ratio of {width}x{height} is above {max_ratio}")
    new_h = max(factor, round(height / factor) * factor)
    new_w = max(factor, round(width / factor) * factor)
    if new_h * new_w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        new_h = max(factor, math.floor(height / beta / factor) * factor)
        new_w = max(factor, math.floor(width / beta / factor) * factor)
    elif new_h * new_w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        new_h = math.ceil(height * beta / factor) * factor
        new_w = math.ceil(width * beta / factor) * factor
    return new_h, new_w


@dataclass(frozen=True)
class ResizeMap:
    """The mapping between an original image and the resized one the model sees.

    Boxes are [x0, y0, x1, y1] in pixel-edge coordinates (0 is the left edge of the first pixel,
    width the right edge of the last), so a resize scales them exactly; results are clamped to
    the target image."""

    orig_w: int
    orig_h: int
    model_w: int
    model_h: int

    @classmethod
    def for_size(cls, width: int, height: int, *, factor: int = 28, min_pixels: int = IMAGE_MIN_PIXELS,
                 max_pixels: int = IMAGE_MAX_PIXELS) -> ResizeMap:
        """The map for an image of `width` x `height` resized by `smart_resize`."""
        model_h, model_w = smart_resize(height, width, factor, min_pixels, max_pixels)
        return cls(width, height, model_w, model_h)

    def resize(self, image: Image.Image) -> Image.Image:
        """The model-input image."""
        from PIL import Image

        return image.resize((self.model_w, self.model_h), Image.Resampling.BICUBIC)

    def to_model(self, box) -> Box:
        """A box in original pixels -> model-input pixels."""
        return _scale(box, self.model_w / self.orig_w, self.model_h / self.orig_h, self.model_w, self.model_h)

    def to_original(self, box) -> Box:
        """A box in model-input pixels (what the model answers) -> original pixels."""
        return _scale(box, self.orig_w / self.model_w, self.orig_h / self.model_h, self.orig_w, self.orig_h)


def _checked_box(box) -> Box:
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        raise MediaError(f"a box is four numbers [x0, y0, x1, y1], got {box!r}") from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or x1 < x0 or y1 < y0:
        raise MediaError(f"box {box!r} is not [x0, y0, x1, y1] with x0 <= x1 and y0 <= y1")
    return x0, y0, x1, y1


def _scale(box, sx: float, sy: float, width: int, height: int) -> Box:
    x0, y0, x1, y1 = _checked_box(box)
    return (min(max(x0 * sx, 0.0), width), min(max(y0 * sy, 0.0), height),
            min(max(x1 * sx, 0.0), width), min(max(y1 * sy, 0.0), height))


def crop_box(image: Image.Image, box, margin: float = 0.1) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """Crop `box` (original pixels) widened by `margin` of its width/height on each side.

    Returns the crop and its box in original pixels (whole pixels, clamped to the image, at
    least one pixel each way). MediaError if the box misses the image."""
    x0, y0, x1, y1 = _checked_box(box)
    if margin < 0:
        raise MediaError(f"crop margin must be >= 0, got {margin}")
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    left, top = max(math.floor(x0 - dx), 0), max(math.floor(y0 - dy), 0)
    right, bottom = min(math.ceil(x1 + dx), image.width), min(math.ceil(y1 + dy), image.height)
    if left >= image.width or top >= image.height or right <= 0 or bottom <= 0:
        raise MediaError(f"box {list(box)} lies outside the {image.width}x{image.height} image")
    right, bottom = max(right, left + 1), max(bottom, top + 1)
    crop_region = (left, top, right, bottom)
    return image.crop(crop_region), crop_region
