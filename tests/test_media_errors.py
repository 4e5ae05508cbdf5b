"""Files that are not (good) videos, and absurd requests: a MediaError that names the file and
says what is wrong, never a raw PyAV/FFmpeg exception."""

from __future__ import annotations

import av
import numpy as np
import pytest
from media_helpers import write_audio_only, write_cfr_video
from PIL import Image

from videofocus.errors import MediaError
from videofocus.media.sampling import focused_indices, fps_indices, uniform_indices
from videofocus.media.video import probe, read_frames


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return tmp_path_factory.mktemp("media_errors")


@pytest.fixture(scope="module")
def good_video(media):
    return write_cfr_video(media / "good.mp4", 20, 10.0)


def _bad_files(media):
    """(file, what the message must say) for every kind of unreadable input."""
    empty = media / "empty.mp4"
    empty.write_bytes(b"")
    text = media / "notes.mp4"
    text.write_text("not a video\n" * 20)
    image = media / "still.png"
    Image.new("RGB", (32, 32), (200, 10, 10)).save(image)
    whole = write_cfr_video(media / "whole.mp4", 20, 10.0).read_bytes()  # moov atom at the end
    truncated = media / "truncated.mp4"
    truncated.write_bytes(whole[: len(whole) // 2])
    return [
        (media / "missing.mp4", "no such file"),
        (media, "not a file"),
        (empty, "the file is empty"),
        (text, "cannot be read as a video"),
        (truncated, "cannot be read as a video"),
        (image, "still image"),
        (write_audio_only(media / "audio.m4a"), "no video stream .*audio"),
        (write_audio_only(media / "no_frames.mkv", with_empty_video_stream=True),
         "no frame can be decoded .the stream has no frames"),
        (_with_garbage_payload(media / "garbage.mp4"), "no frame can be decoded"),
    ]


def _with_garbage_payload(path):
    """A valid mp4 index over packets of random bytes: every packet fails to decode."""
    data = bytearray(write_cfr_video(path, 20, 10.0).read_bytes())
    start = data.find(b"mdat") + 4
    end = data.find(b"moov")
    data[start:end] = np.random.default_rng(0).integers(0, 256, end - start, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def test_every_bad_file_gets_a_media_error_naming_it(media):
    for path, message in _bad_files(media):
        with pytest.raises(MediaError, match=message) as error:
            probe(path)
        assert str(error.value).startswith(f"{path}:"), error.value
        assert not isinstance(error.value, av.FFmpegError)


def test_truncated_webm_keeps_the_frames_before_the_cut(media):
    whole = write_cfr_video(media / "whole.webm", 40, 10.0, codec="libvpx-vp9").read_bytes()
    cut = media / "cut.webm"
    cut.write_bytes(whole[: len(whole) * 3 // 4])
    info = probe(cut)
    assert 0 < info.num_frames < 40
    assert len(read_frames(info, [0, info.num_frames // 2]).frames) == 2


def test_truncated_fast_start_mp4_fails_to_decode_with_a_clear_error(media):
    """moov first, so the index lists frames whose bytes are gone."""
    path = media / "faststart.mp4"
    with av.open(str(path), mode="w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        rng = np.random.default_rng(1)
        for _ in range(40):  # noise: every frame is large, so the cut removes many
            pixels = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    info = probe(path)
    assert len(read_frames(info, [0]).frames) == 1
    with pytest.raises(MediaError, match="damaged or truncated") as error:
        read_frames(info, [info.num_frames - 1])
    assert str(path) in str(error.value)


@pytest.mark.parametrize("count, message", [
    (0, "at least 1"), (-3, "at least 1"), (10**9, "more than any model takes"), (2.5, "integer"),
    (True, "integer"),
])
def test_absurd_frame_counts_are_refused(good_video, count, message):
    info = probe(good_video)
    for sample in (lambda: uniform_indices(info, count), lambda: focused_indices(info, count, [(0.5, 1.0)])):
        with pytest.raises(MediaError, match=message) as error:
            sample()
        assert str(good_video) in str(error.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"fps": 0.0}, "positive"), ({"fps": float("nan")}, "positive"),
    ({"min_frames": 0}, "min_frames"), ({"min_frames": 8, "max_frames": 4}, "max_frames"),
])
def test_bad_fps_sampling_is_refused(good_video, kwargs, message):
    with pytest.raises(MediaError, match=message):
        fps_indices(probe(good_video), **kwargs)


@pytest.mark.parametrize("intervals, message", [
    ([(5.0, 9.0)], "outside the video"),          # the video is 2 s long
    ([(-4.0, -1.0), (3.0, 4.0)], "outside the video"),
    ([], "outside the video"),
    ([(1.5, 0.5)], "not a time range"),
    ([(float("nan"), 1.0)], "not a time range"),
    ([(1.0,)], "two numbers"),
])
def test_bad_focus_intervals_are_refused(good_video, intervals, message):
    with pytest.raises(MediaError, match=message) as error:
        focused_indices(probe(good_video), 8, intervals)
    assert str(good_video) in str(error.value)


def test_bad_focus_arguments_are_refused(good_video):
    info = probe(good_video)
    with pytest.raises(MediaError, match="key_ratio"):
        focused_indices(info, 8, [(0.5, 1.0)], key_ratio=1.5)
