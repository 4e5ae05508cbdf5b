"""Images (EXIF orientation, smart resize, box mapping, crops) and contact sheets."""

from __future__ import annotations

import numpy as np
import pytest
from media_helpers import info_from_times
from PIL import Image

from videofocus.errors import MediaError
from videofocus.media.image import ResizeMap, crop_box, load_image, smart_resize
from videofocus.media.sheet import contact_sheet
from videofocus.media.video import Clip


def _marked_image(width=40, height=20) -> Image.Image:
    """Black, with a red block at the top-left corner."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:5, :5] = (255, 0, 0)
    return Image.fromarray(pixels)


def test_load_image_applies_exif_orientation(tmp_path):
    path = tmp_path / "rotated.png"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    _marked_image().save(path, exif=exif)
    image = load_image(path)
    assert image.mode == "RGB" and image.size == (20, 40)
    pixels = np.asarray(image)
    assert tuple(pixels[1, -2]) == (255, 0, 0)  # top-left turned clockwise lands top-right
    assert tuple(pixels[1, 1]) == (0, 0, 0)


def test_load_image_puts_transparency_on_white(tmp_path):
    path = tmp_path / "clear.png"
    Image.new("RGBA", (8, 8), (10, 20, 30, 0)).save(path)
    assert np.asarray(load_image(path)).min() == 255


def test_load_image_errors_name_the_file(tmp_path, monkeypatch):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    cut = tmp_path / "cut.png"
    full = tmp_path / "full.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(full)
    cut.write_bytes(full.read_bytes()[:400])
    for path, message in [(tmp_path / "missing.png", "no such file"), (tmp_path, "not a file"),
                          (text, "not an image"), (cut, "cannot be decoded")]:
        with pytest.raises(MediaError, match=message) as error:
            load_image(path)
        assert str(path) in str(error.value)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64x64 is then a "decompression bomb"
    with pytest.raises(MediaError, match="too large"):
        load_image(full)


def test_smart_resize_matches_qwen_vl_utils():
    vp = pytest.importorskip("qwen_vl_utils.vision_process")
    rng = np.random.default_rng(0)
    sizes = [(h, w) for h, w in rng.integers(1, 4000, size=(300, 2)) if max(h, w) / min(h, w) <= 200]
    for height, width in sizes + [(28, 28), (1, 200), (56, 5600)]:
        for min_pixels, max_pixels in [(4 * 784, 768 * 784), (128 * 784, 768 * 784), (3136, 12845056)]:
            expected = vp.smart_resize(height, width, factor=28, min_pixels=min_pixels, max_pixels=max_pixels)
            if min(expected) > 0:
                assert smart_resize(height, width, 28, min_pixels, max_pixels) == expected, (height, width)


def test_smart_resize_refuses_impossible_requests():
    with pytest.raises(MediaError, match="aspect ratio"):
        smart_resize(10, 2100)
    with pytest.raises(MediaError, match="pixels"):
        smart_resize(0, 100)
    with pytest.raises(MediaError, match="below min_pixels"):
        smart_resize(100, 100, min_pixels=1000, max_pixels=10)


def test_resize_map_scales_boxes_exactly_both_ways_and_clamps():
    mapping = ResizeMap(orig_w=1000, orig_h=500, model_w=560, model_h=280)
    assert mapping.to_model([500, 250, 1000, 500]) == (280.0, 140.0, 560.0, 280.0)
    assert mapping.to_original([28, 14, 56, 28]) == pytest.approx((50.0, 25.0, 100.0, 50.0))
    box = (123.4, 56.7, 789.0, 432.1)
    assert mapping.to_original(mapping.to_model(box)) == pytest.approx(box)
    assert mapping.to_original([-30, -5, 600, 300]) == (0.0, 0.0, 1000.0, 500.0)
    for bad in ([1, 2, 3], [5, 5, 1, 1], ["a", 0, 1, 1], [0, 0, float("inf"), 1]):
        with pytest.raises(MediaError, match="box"):
            mapping.to_original(bad)


def test_resize_map_follows_the_pixels_of_the_resized_image():
    """A block drawn in the original lands where to_model says in the model-input image."""
    pixels = np.zeros((300, 600, 3), np.uint8)
    pixels[60:180, 150:450] = 255
    original = Image.fromarray(pixels)
    mapping = ResizeMap.for_size(600, 300, min_pixels=4 * 784, max_pixels=64 * 784)
    assert (mapping.model_h, mapping.model_w) == smart_resize(300, 600, 28, 4 * 784, 64 * 784)
    resized = np.asarray(mapping.resize(original).convert("L")) > 127
    rows, cols = np.flatnonzero(resized.any(axis=1)), np.flatnonzero(resized.any(axis=0))
    x0, y0, x1, y1 = mapping.to_model([150, 60, 450, 180])
    assert abs(cols[0] - x0) <= 1 and abs(cols[-1] + 1 - x1) <= 1
    assert abs(rows[0] - y0) <= 1 and abs(rows[-1] + 1 - y1) <= 1


def test_crop_box_widens_by_margin_and_clamps_to_the_image():
    image = Image.fromarray(np.arange(100 * 200 * 3, dtype=np.uint32).reshape(100, 200, 3).astype(np.uint8))
    crop, region = crop_box(image, [20, 10, 120, 60], margin=0.1)
    assert region == (10, 5, 130, 65)
    assert crop.size == (120, 60)
    np.testing.assert_array_equal(np.asarray(crop), np.asarray(image)[5:65, 10:130])
    assert crop_box(image, [150, 80, 210, 120], margin=0.5)[1] == (120, 60, 200, 100)
    assert crop_box(image, [50, 50, 50, 50], margin=0.0)[1] == (50, 50, 51, 51)  # at least one pixel
    with pytest.raises(MediaError, match="outside"):
        crop_box(image, [300, 10, 400, 20])
    with pytest.raises(MediaError, match="margin"):
        crop_box(image, [0, 0, 10, 10], margin=-1)


def test_contact_sheet_grid_shows_each_frame_with_its_time(tmp_path):
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = np.stack([np.full((40, 80, 3), colour, np.uint8) for colour in colours])
    info = info_from_times([0.0, 1.25, 2.5])
    clip = Clip(frames=frames, timestamps=np.array([0.0, 1.25, 2.5]), indices=np.arange(3), info=info)
    path = contact_sheet(clip, tmp_path / "sheet.png", thumb_width=80)
    sheet = np.asarray(Image.open(path).convert("RGB"))
    pad = 4
    assert sheet.shape == (2 * (40 + pad) + pad, 2 * (80 + pad) + pad, 3)  # 2 x 2 grid for 3 frames
    for k, colour in enumerate(colours):
        row, column = divmod(k, 2)
        top, left = pad + row * (40 + pad), pad + column * (80 + pad)
        thumb = sheet[top:top + 40, left:left + 80]
        assert tuple(thumb[2, -3]) == colour                       # picture above the label
        label = thumb[-12:, :40]
        assert (label.min(axis=2) > 200).any() and (label.max(axis=2) == 0).any()  # light text on black
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.png"]  # no temp file left behind
