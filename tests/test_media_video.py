"""probe and read_frames: true times from PTS across codecs and containers, rotation, seeking."""

from __future__ import annotations

import numpy as np
import pytest
from media_helpers import (HEIGHT, WIDTH, frame_index, index_frame, write_cfr_video,
                           write_timed_video)

import videofocus.media.video as video_module
from videofocus.errors import MediaError
from videofocus.media.video import probe, read_frames

# Irregular times (seconds) that do not start at 0: variable frame rate and a late first PTS.
VFR_TIMES = [5.0, 5.1, 5.15, 5.4, 6.0, 6.01, 7.5, 7.6, 8.0, 9.9]


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return tmp_path_factory.mktemp("media_video")


@pytest.fixture(scope="module")
def long_gop_video(media):
    """240 frames at 24 fps with a keyframe every 24 frames."""
    return write_cfr_video(media / "gop.mp4", 240, 24.0, gop=24)


def test_probe_reads_constant_frame_rate_video(media):
    info = probe(write_cfr_video(media / "cfr.mp4", 30, 10.0))
    assert (info.num_frames, info.width, info.height, info.rotation) == (30, WIDTH, HEIGHT, 0)
    assert info.fps == pytest.approx(10.0)
    assert info.duration == pytest.approx(3.0)
    assert info.start_time == 0.0
    np.testing.assert_allclose(info.frame_times, np.arange(30) / 10.0, rtol=0, atol=1e-9)


@pytest.mark.parametrize("name, codec", [
    ("vfr_h264.mp4", "libx264"),     # B-frames: packets arrive out of display order
    ("vfr_h264.mkv", "libx264"),
    ("vfr_vp9.webm", "libvpx-vp9"),
    ("vfr_hevc.mp4", "libx265"),
])
def test_variable_frame_rate_times_are_exact_and_decoded_frames_match(media, name, codec):
    info = probe(write_timed_video(media / name, VFR_TIMES, codec=codec))
    assert info.num_frames == len(VFR_TIMES)
    assert info.start_time == pytest.approx(5.0, abs=1e-9)
    expected = np.array(VFR_TIMES) - 5.0
    np.testing.assert_allclose(info.frame_times, expected, rtol=0, atol=1e-9)

    wanted = [9, 0, 5, 3]
    clip = read_frames(info, wanted)
    assert [frame_index(frame) for frame in clip.frames] == wanted
    np.testing.assert_allclose(clip.timestamps, expected[wanted], rtol=0, atol=1e-9)
    assert clip.indices.tolist() == wanted and clip.info is info


def test_read_frames_accepts_a_path_and_repeated_indices(media):
    path = write_cfr_video(media / "repeat.mkv", 12, 6.0)
    clip = read_frames(path, [4, 4, 11])
    assert [frame_index(frame) for frame in clip.frames] == [4, 4, 11]
    assert clip.frames.shape == (3, HEIGHT, WIDTH, 3) and clip.frames.dtype == np.uint8
    assert clip.timestamps.tolist() == pytest.approx([0.667, 0.667, 1.833], abs=1e-9)  # ms PTS


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_video_comes_out_in_display_orientation(media, rotation):
    raw = np.zeros((1, HEIGHT, WIDTH, 3), np.uint8)
    raw[0, :HEIGHT // 2, :WIDTH // 2] = 255  # bright top-left quadrant of the coded picture
    path = write_timed_video(media / f"rot{rotation}.mp4", [0.0], rotation=rotation, frames=raw)
    info = probe(path)
    assert info.rotation == rotation
    assert (info.height, info.width) == ((WIDTH, HEIGHT) if rotation in (90, 270) else (HEIGHT, WIDTH))
    frame = read_frames(info, [0]).frames[0].mean(axis=2)
    assert frame.shape == (info.height, info.width)
    # Turned clockwise, the coded top-left quadrant shows top-right (90), bottom-right (180) or
    # bottom-left (270): np.rot90 with negative k turns clockwise.
    expected = np.rot90(raw[0].mean(axis=2), k=-rotation // 90)
    assert np.abs(frame - expected).mean() < 8


def test_rotate_tag_is_used_when_there_is_no_display_matrix(media):
    info = probe(write_cfr_video(media / "tagged.mkv", 2, 5.0, tags={"rotate": "90"}))
    assert (info.rotation, info.width, info.height) == (90, HEIGHT, WIDTH)


def test_resize_while_decoding_keeps_display_orientation(media):
    info = probe(write_timed_video(media / "rot_resize.mp4", [0.0, 0.5], rotation=90))
    clip = read_frames(info, [1], size=(32, 24))
    assert clip.frames.shape == (1, 32, 24, 3)
    with pytest.raises(MediaError, match="cannot resize"):
        read_frames(info, [1], size=(0, 24))


def test_seeking_decodes_only_the_runs_it_needs(long_gop_video, monkeypatch):
    decoded, seeks = [], []
    original_frames, original_seek = video_module._Decoder._decoded_frames, video_module._Decoder._seek

    def counting_frames(self):
        for frame in original_frames(self):
            decoded.append(frame.pts)
            yield frame

    def counting_seek(self, pts):
        seeks.append(pts)
        original_seek(self, pts)

    monkeypatch.setattr(video_module._Decoder, "_decoded_frames", counting_frames)
    monkeypatch.setattr(video_module._Decoder, "_seek", counting_seek)
    info = probe(long_gop_video)
    wanted = [30, 33, 130, 200]  # 30 and 33 share a keyframe run: one seek serves both
    clip = read_frames(info, wanted)
    assert [frame_index(frame) for frame in clip.frames] == wanted
    assert len(seeks) == 3
    # From each keyframe (every 24 frames) to its target: at most a GOP per seek, not the file.
    assert len(decoded) <= 3 * 24 + 3 * 4  # a few frames of decoder look-ahead per run
    assert len(decoded) < info.num_frames / 3


def test_reuse_copies_frames_of_an_earlier_clip(long_gop_video):
    info = probe(long_gop_video)
    first = read_frames(info, [10, 100])
    first.frames[1] = 77  # mark: a reused frame comes from here, not from the decoder
    second = read_frames(info, [50, 100], reuse=first)
    assert frame_index(second.frames[0]) == 50
    assert (second.frames[1] == 77).all()
    fresh = read_frames(info, [100], reuse=read_frames(info, [100], size=(24, 32)))  # other size: decoded
    assert frame_index(fresh.frames[0]) == 100


def test_bad_frame_indices_are_refused(long_gop_video):
    info = probe(long_gop_video)
    for bad, message in [([240], "out of range"), ([-1], "out of range"), ([], "non-empty"),
                         ([1.5], "integers"), ([[1, 2]], "1-D")]:
        with pytest.raises(MediaError, match=message) as error:
            read_frames(info, bad)
        assert str(long_gop_video) in str(error.value)


def test_clip_too_large_for_memory_is_refused(long_gop_video, monkeypatch):
    monkeypatch.setattr(video_module, "MAX_CLIP_BYTES", 10 * HEIGHT * WIDTH * 3)
    info = probe(long_gop_video)
    assert len(read_frames(info, np.arange(10)).frames) == 10
    with pytest.raises(MediaError, match="sample fewer frames or pass a smaller size"):
        read_frames(info, np.arange(11))


def test_index_frames_survive_lossy_coding():
    assert [frame_index(index_frame(i)) for i in (0, 1, 77, 255)] == [0, 1, 77, 255]
